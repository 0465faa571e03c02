// Every call into Rust goes through here; errors arrive as one shape: {code, message, errors}.
const tauri = window.__TAURI__;

export async function call(command, args = {}) {
  try {
    return await tauri.core.invoke(command, args);
  } catch (error) {
    if (error && typeof error === "object" && "code" in error) throw error;
    throw { code: "INTERNAL", message: String(error), errors: {} };
  }
}
