// The shell: which directory is open and who is signed in, the navigation, the routes
// (#/users, #/users/ID, #/roles, …) and the keyboard shortcuts.

import { call, onSessionEnded, onUnreachable, session, names } from "./api.js";
import { h, replace, notify } from "./dom.js";
import * as start from "./views/start.js";
import * as users from "./views/users.js";
import * as user from "./views/user.js";
import * as roles from "./views/roles.js";
import * as groups from "./views/groups.js";
import * as keys from "./views/keys.js";
import * as audit from "./views/audit.js";
import * as settings from "./views/settings.js";
import * as directory from "./views/directory.js";
import * as account from "./views/account.js";
import { twoStepDialog } from "./views/twostep.js";

const view = document.getElementById("view");
const nav = document.getElementById("nav");
const where = document.getElementById("where");
const accountArea = document.getElementById("account");

const SECTIONS = [
  { path: "users", label: "Users", visible: () => session.can("VIEW_USER"), view: users },
  { path: "roles", label: "Roles", visible: () => session.can("VIEW_ROLE"), view: roles },
  { path: "groups", label: "Groups", visible: () => session.can("VIEW_GROUP"), view: groups },
  { path: "keys", label: "API keys", visible: () => session.canAny("USE_API_KEYS", "VIEW_KEYS"), view: keys },
  { path: "audit", label: "Audit log", visible: () => session.can("VIEW_AUDIT"), view: audit },
  { path: "settings", label: "Settings", visible: () => true, view: settings },
];

/** Re-reads the connection (file, signed-in user, settings) and shows the right screen. */
export async function refresh() {
  try {
    session.connection = await call("connection");
  } catch (error) {
    session.connection = { place: null, problem: error.message, recent: [], profiles: [] };
  }
  if (session.connection.unreachable) {
    showUnreachable(session.connection.problem);
  } else {
    clearInterval(retryTimer);
    banner.hidden = true;
  }
  if (session.me) {
    try {
      await names.load();
    } catch (error) {
      notify(error.message, "error");
    }
  }
  renderChrome();
  route();
}

function renderChrome() {
  const { place, problem } = session.connection;
  where.textContent = place ?? "no directory open";
  where.title = problem ?? `${place}: open another directory file`;
  const me = session.me;
  nav.hidden = !me;
  replace(nav, me ? SECTIONS.filter((s) => s.visible()).map((s) =>
    h("a", { href: `#/${s.path}`, "data-section": s.path }, s.label)) : []);
  replace(accountArea, me ? [
    h("span", { class: "who", id: "signed-in-as", title: me.email }, me.displayName, h("span", { class: "muted" }, ` (${me.userName})`)),
    // An external user's password and second step are the identity provider's.
    me.type === "EXTERNAL" ? null
      : h("button", { type: "button", class: "link", id: "change-password-link", onclick: () => account.changePassword() }, "Change password"),
    session.connection.withKey || me.type === "EXTERNAL" ? null
      : h("button", { type: "button", class: "link", id: "two-step-link", onclick: () => twoStepDialog({ onChanged: refresh }) }, "Two-step sign-in"),
    h("button", { type: "button", id: "sign-out", onclick: signOut }, "Sign out"),
  ] : []);
}

async function signOut() {
  session.connection = await call("sign_out");
  location.hash = "";
  renderChrome();
  route();
}

function firstSection() {
  return SECTIONS.find((s) => s.visible())?.path ?? "keys";
}

let cleanup = null;

/** Shows the screen the address asks for, or the start screen when nobody is signed in. */
function route() {
  cleanup?.();
  cleanup = null;
  const [section, id] = location.hash.replace(/^#\/?/, "").split("/");
  const connection = session.connection;
  for (const link of nav.querySelectorAll("a")) {
    link.toggleAttribute("aria-current", link.dataset.section === section);
    if (link.dataset.section === section) link.setAttribute("aria-current", "page");
  }
  if (section === "directory" || !connection.place) {
    cleanup = directory.render(view, { onOpened: refresh });
    return;
  }
  if (!session.me) {
    cleanup = start.render(view, { onSignedIn: refresh });
    return;
  }
  if (section === "users" && id) {
    cleanup = user.render(view, { id: decodeURIComponent(id) });
    return;
  }
  const chosen = SECTIONS.find((s) => s.path === section && s.visible());
  if (!chosen) {
    location.replace(`#/${firstSection()}`);
    return;
  }
  cleanup = chosen.view.render(view, {});
}

// A server that cannot be reached: a banner says so and retries; nothing on screen is thrown
// away, so a form filled in meanwhile is submitted again as it is once the server is back.
const banner = document.getElementById("connection-banner");
let retryTimer = null;

function showUnreachable(message) {
  document.getElementById("connection-banner-text").textContent =
    `Connection lost — ${message} What you typed is kept.`;
  banner.hidden = false;
  clearInterval(retryTimer);
  retryTimer = setInterval(checkConnection, 5000);
}

async function checkConnection() {
  try {
    const connection = await call("connection");
    if (connection.unreachable) return;
    clearInterval(retryTimer);
    banner.hidden = true;
    const wasSignedIn = Boolean(session.me);
    session.connection = connection;
    // Only re-render when the session ended meanwhile; otherwise keep the screen as it is.
    if (wasSignedIn && !session.me) {
      renderChrome();
      route();
    }
  } catch {
    // Still away: the banner stays.
  }
}

onUnreachable((error) => showUnreachable(error.message));
document.getElementById("connection-retry").addEventListener("click", checkConnection);

window.addEventListener("hashchange", route);
where.addEventListener("click", () => { location.hash = "#/directory"; });

onSessionEnded(async () => {
  if (!session.me) return;
  session.connection = { ...session.connection, me: null, settings: null };
  for (const dialog of document.querySelectorAll("dialog")) dialog.close();
  notify("Your session has ended. Sign in again.", "error");
  // Rust forgets the dead session too: the title, and a copied secret, go with it.
  session.connection = await call("sign_out").catch(() => session.connection);
  renderChrome();
  route();
});

// Keyboard: "/" focuses the search of the screen, Ctrl+N adds a user. Esc closes dialogs
// (the browser's own <dialog> behaviour).
document.addEventListener("keydown", (event) => {
  const typing = event.target.closest?.("input, textarea, select, [contenteditable]");
  if (event.key === "/" && !typing && !document.querySelector("dialog[open]")) {
    const search = view.querySelector("[data-search]");
    if (search) {
      event.preventDefault();
      search.focus();
      search.select();
    }
  } else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "n") {
    event.preventDefault();
    if (session.can("CREATE_USER") && !document.querySelector("dialog[open]")) {
      users.newUser();
    }
  }
});

refresh();
