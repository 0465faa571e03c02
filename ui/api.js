// Every call into Rust goes through here; errors arrive as one shape: {code, message, errors}.
// The session lives on the Rust side: the webview never holds a token.

const tauri = window.__TAURI__;
const sessionEndedListeners = [];
const reachabilityListeners = [];
// Commands that reach another server than the one connected: their failures say nothing
// about the current connection.
const ELSEWHERE = new Set(["open_profile", "server_certificate"]);

export async function call(command, args = {}) {
  try {
    return await tauri.core.invoke(command, args);
  } catch (raw) {
    const error = raw && typeof raw === "object" && "code" in raw
      ? raw
      : { code: "INTERNAL", message: String(raw), errors: {} };
    if (error.code === "UNAUTHENTICATED") sessionEndedListeners.forEach((listener) => listener());
    if (error.code === "UNAVAILABLE" && !ELSEWHERE.has(command)) {
      reachabilityListeners.forEach((listener) => listener(error));
    }
    throw error;
  }
}

/**
 * Called with the error when the directory (a server) cannot be reached. Forms keep what was
 * typed: they only show the error, so the same submit works once the server is back.
 */
export function onUnreachable(listener) {
  reachabilityListeners.push(listener);
}

/** Called when any command finds that the session has ended (expired, or the user deactivated). */
export function onSessionEnded(listener) {
  sessionEndedListeners.push(listener);
}

/** Who is signed in, on which directory, with which settings: filled by the shell. */
export const session = {
  connection: null,
  get me() {
    return this.connection?.me ?? null;
  },
  get settings() {
    return this.connection?.settings ?? null;
  },
  /** The UI hides what the signed-in user may not do; the core refuses it anyway. */
  can(...permissions) {
    const held = this.me?.permissions ?? [];
    return permissions.every((p) => held.includes(p));
  },
  canAny(...permissions) {
    const held = this.me?.permissions ?? [];
    return permissions.some((p) => held.includes(p));
  },
};

/**
 * Creates (`existing` null) or updates a role or group (`kind`), the update carrying the version
 * read so that a concurrent change is refused, not overwritten.
 */
export function save(kind, existing, fields) {
  return existing
    ? call(`update_${kind}`, { id: existing.id, update: { ...fields, updateVersion: existing.updateVersion } })
    : call(`create_${kind}`, { [kind]: fields });
}

/** Role and group names by id, for showing lists of ids; refreshed when they change. */
export const names = {
  roles: [],
  groups: [],
  async load() {
    const [roles, groups] = await Promise.all([
      session.can("VIEW_ROLE") ? call("list_roles") : [],
      session.can("VIEW_GROUP") ? call("list_groups") : [],
    ]);
    this.roles = roles;
    this.groups = groups;
  },
  role(id) {
    return this.roles.find((r) => r.id === id)?.name ?? id;
  },
  group(id) {
    return this.groups.find((g) => g.id === id)?.name ?? id;
  },
};

/** The permissions, grouped as the role editor shows them. */
export const PERMISSION_GROUPS = [
  ["Users", ["VIEW_USER", "CREATE_USER", "EDIT_USER", "DELETE_USER", "RESET_PASSWORD"]],
  ["Roles and groups", ["VIEW_ROLE", "MANAGE_ROLE", "VIEW_GROUP", "MANAGE_GROUP"]],
  ["API keys", ["USE_API_KEYS", "VIEW_KEYS", "MANAGE_KEYS"]],
  ["Audit and settings", ["VIEW_AUDIT", "MANAGE_SETTINGS"]],
  ["Console", ["SIGN_IN"]],
];

export const PERMISSION_TEXT = {
  VIEW_USER: "See users",
  CREATE_USER: "Add and invite users",
  EDIT_USER: "Edit users, their roles and status",
  DELETE_USER: "Delete users",
  RESET_PASSWORD: "Reset passwords",
  VIEW_ROLE: "See roles",
  MANAGE_ROLE: "Create, edit and delete custom roles",
  VIEW_GROUP: "See groups",
  MANAGE_GROUP: "Create, edit and delete groups",
  USE_API_KEYS: "Use own API keys",
  VIEW_KEYS: "See everyone's API keys",
  MANAGE_KEYS: "Create and revoke keys for others",
  VIEW_AUDIT: "Read the audit log",
  MANAGE_SETTINGS: "Change settings",
  SIGN_IN: "Sign in to the console",
};
