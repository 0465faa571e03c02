import { call } from "./api.js";

const where = document.getElementById("where");
const status = document.getElementById("status");

try {
  const info = await call("directory_status");
  where.textContent = info.path;
  status.textContent = info.needsSetup
    ? "This directory is new: it has no SuperAdmin yet."
    : "This directory is ready.";
} catch (error) {
  where.textContent = "no directory";
  status.textContent = error.message;
  status.classList.add("error");
}
