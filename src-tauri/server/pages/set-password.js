// The invitation and reset page: reads the one-time token from the link's fragment (which the
// browser never sends to a server), asks for a new password and posts both to the API. The
// password policy is the server's; its answers are shown on the field they concern.

const purpose = document.body.dataset.purpose;
const endpoint = purpose === "invite" ? "/api/auth/accept-invitation" : "/api/auth/complete-reset";
const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
// The token leaves the address bar (and the history) at once.
history.replaceState(null, "", location.pathname);

const form = document.getElementById("password-form");
const fields = { password: document.getElementById("password"), confirm: document.getElementById("confirm") };

function show(id, message) {
  const holder = document.getElementById(id);
  holder.textContent = message || "";
  holder.hidden = !message;
}

function clear() {
  for (const [name, input] of Object.entries(fields)) {
    input.removeAttribute("aria-invalid");
    show(`${name}-error`, "");
  }
  show("form-error", "");
}

function fieldError(name, message) {
  fields[name].setAttribute("aria-invalid", "true");
  show(`${name}-error`, message);
  fields[name].focus();
}

// The link itself cannot be used: say why, and take the form away (nothing typed would help).
function refuseLink(message) {
  form.after(document.getElementById("form-error"));
  form.hidden = true;
  show("form-error", message);
}

if (!token) {
  refuseLink("This link is incomplete. Copy the whole link you were sent, or ask your administrator for a new one.");
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clear();
  const password = fields.password.value;
  if (!password) return fieldError("password", "Choose a password.");
  if (password !== fields.confirm.value) return fieldError("confirm", "The two passwords differ.");
  const button = document.getElementById("submit");
  button.disabled = true;
  try {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token, password }),
    });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      form.hidden = true;
      document.getElementById("intro").hidden = true;
      const done = document.getElementById("done");
      done.textContent = `Your password is set. You can now sign in to Keyward as ${body.userName}.`;
      done.hidden = false;
      return;
    }
    const errors = body.errors || {};
    if (errors.token) return refuseLink(errors.token.join(" "));
    if (errors.password) return fieldError("password", errors.password.join(" "));
    const messages = Object.values(errors).flat();
    show("form-error", messages.length ? messages.join(" ") : body.detail || "The password could not be set.");
  } catch {
    show("form-error", "The server cannot be reached. Check your connection and try again.");
  } finally {
    button.disabled = false;
  }
});
