// Users: the table (search as you type, filters, sorting, paging) and the "add user" dialog.
// At most one query is in flight; while it runs, further typing only records the latest
// wish, which is sent when it returns. Stale answers are never shown.

import { call, session, names } from "../api.js";
import {
  h, replace, field, checklist, checkedValues, formError, showErrors, openDialog, notify,
  badge, ago,
} from "../dom.js";
import { revealToken } from "../secret.js";
import { importUsers, exportUsers } from "./transfer.js";

const COLUMNS = [
  ["userName", "User name"],
  ["displayName", "Display name"],
  ["email", "E-mail"],
  ["status", "Status"],
  [null, "Roles"],
  ["lastLoginTime", "Last sign-in"],
];

/**
 * Timings the desktop benchmark (benches/desktop.rs) reads: when the first rows appeared, and
 * for each search or page change the time from the user's input to its rows on screen.
 */
const metrics = (window.keywardMetrics ??= { firstRows: null, loads: [] });

// Filters and page survive a visit to a user's page and back.
const state = { q: "", status: "", role: "", group: "", sort: "userName", page: 1, pageSize: 50 };
let reloadList = null;

export function render(view) {
  const search = h("input", {
    type: "search", id: "user-search", "data-search": true, value: state.q,
    placeholder: "Search name or e-mail   ( / )", "aria-label": "Search users", autocomplete: "off",
  });
  const select = (name, label, options) => {
    const control = h("select", { id: `filter-${name}`, "aria-label": label },
      h("option", { value: "" }, label),
      options.map(([value, text]) => h("option", { value, selected: state[name] === value }, text)));
    control.addEventListener("change", () => { state[name] = control.value; state.page = 1; reload(); });
    return control;
  };
  const toolbar = h("div", { class: "toolbar" },
    search,
    select("status", "Any status", [["ACTIVE", "Active"], ["INVITED", "Invited"], ["INACTIVE", "Deactivated"]]),
    names.roles.length ? select("role", "Any role", names.roles.map((r) => [r.id, r.name])) : null,
    names.groups.length ? select("group", "Any group", names.groups.map((g) => [g.id, g.name])) : null,
    h("span", { class: "spacer" }),
    session.can("CREATE_USER")
      ? h("button", { type: "button", class: "primary", id: "new-user", title: "Ctrl+N", onclick: () => newUser() }, "New user")
      : null);
  const head = h("tr", {});
  const body = h("tbody", {});
  const table = h("table", { class: "list", id: "users-table", "aria-label": "Users" }, h("thead", {}, head), body);
  const summary = h("span", { class: "muted", id: "users-summary", role: "status" });
  const pager = h("div", { class: "pager" });
  const error = h("p", { class: "form-error", role: "alert" });

  replace(view,
    h("div", { class: "page-head" }, h("h1", {}, "Users"), h("span", { class: "spacer" }),
      session.can("CREATE_USER")
        ? h("button", { type: "button", id: "import-users", onclick: () => importUsers(() => reload()) }, "Import…")
        : null,
      h("button", { type: "button", id: "export-users", onclick: () => exportUsers() }, "Export…")),
    toolbar, error,
    h("div", { class: "table-wrap" }, table),
    h("div", { class: "table-foot" }, summary, pager));

  function renderHead() {
    const [key, descending] = state.sort.startsWith("-") ? [state.sort.slice(1), true] : [state.sort, false];
    replace(head, COLUMNS.map(([column, label]) => {
      if (!column) return h("th", { scope: "col" }, label);
      const sorted = column === key;
      return h("th", { scope: "col", "aria-sort": sorted ? (descending ? "descending" : "ascending") : "none" },
        h("button", {
          type: "button", class: "sort",
          onclick: () => {
            state.sort = sorted && !descending ? `-${column}` : column;
            state.page = 1;
            reload();
          },
        }, label, sorted ? (descending ? " ▾" : " ▴") : ""));
    }));
  }

  function row(user) {
    const open = () => { location.hash = `#/users/${encodeURIComponent(user.id)}`; };
    return h("tr", {
      tabindex: 0, "data-user": user.userName, onclick: open,
      onkeydown: (e) => { if (e.key === "Enter") open(); },
    },
    h("td", { class: "strong" }, user.userName),
    h("td", {}, user.displayName),
    h("td", {}, user.email),
    h("td", {}, badge(user.status)),
    h("td", { class: "muted" }, user.roles.map((id) => names.role(id)).join(", ")),
    h("td", { class: "muted" }, ago(user.lastLoginTime)));
  }

  function renderPage(page, asked) {
    const { page: number, totalPages, totalElements, pageSize } = page.pageInfo;
    replace(body, page.items.length
      ? page.items.map(row)
      : h("tr", {}, h("td", { colspan: COLUMNS.length, class: "empty" }, state.q ? `No user matches “${state.q}”.` : "No users.")));
    const first = totalElements ? (number - 1) * pageSize + 1 : 0;
    const last = Math.min(number * pageSize, totalElements);
    summary.textContent = `${first.toLocaleString()}–${last.toLocaleString()} of ${totalElements.toLocaleString()} users`;
    const go = (n) => { state.page = n; reload("page"); };
    replace(pager,
      h("button", { type: "button", disabled: number <= 1, onclick: () => go(1), "aria-label": "First page" }, "«"),
      h("button", { type: "button", disabled: number <= 1, onclick: () => go(number - 1), id: "prev-page" }, "Previous"),
      h("span", { class: "muted" }, `Page ${number.toLocaleString()} of ${Math.max(totalPages, 1).toLocaleString()}`),
      h("button", { type: "button", disabled: number >= totalPages, onclick: () => go(number + 1), id: "next-page" }, "Next"),
      h("button", { type: "button", disabled: number >= totalPages, onclick: () => go(totalPages), "aria-label": "Last page" }, "»"));
    table.dataset.query = state.q;
    metrics.firstRows ??= performance.now();
    if (asked) metrics.loads.push({ kind: asked.kind, q: state.q, page: number, ms: performance.now() - asked.at });
  }

  let wanted = 0;
  let pumping = false;
  // The input that asked for the rows now awaited: {kind, at}.
  let asked;
  async function pump() {
    pumping = true;
    for (;;) {
      const ticket = wanted;
      const answering = asked;
      const query = {
        page: state.page, pageSize: state.pageSize, sort: state.sort,
        q: state.q || null, status: state.status || null, role: state.role || null, group: state.group || null,
      };
      try {
        const page = await call("list_users", { query });
        if (ticket !== wanted) continue;
        error.textContent = "";
        renderHead();
        renderPage(page, answering);
        asked = undefined;
      } catch (failure) {
        if (ticket !== wanted) continue;
        error.textContent = failure.message;
      }
      break;
    }
    pumping = false;
  }
  function reload(kind) {
    if (kind) asked = { kind, at: performance.now() };
    wanted += 1;
    if (!pumping) pump();
  }
  reloadList = reload;

  search.addEventListener("input", () => {
    state.q = search.value.trim();
    state.page = 1;
    reload("search");
  });
  renderHead();
  reload();
  search.focus();
  return () => { reloadList = null; };
}

/** The roles a user may be given, with those the signed-in user cannot grant disabled. */
export function roleItems() {
  const held = new Set(session.me?.permissions ?? []);
  return names.roles.map((role) => {
    const grantable = role.permissions.every((p) => held.has(p));
    return [role.id, role.name, grantable ? {} : { disabled: true, title: "You cannot grant permissions you do not hold yourself." }];
  });
}

/** The "add user" dialog (also Ctrl+N). */
export function newUser() {
  return openDialog({
    title: "New user",
    wide: true,
    render: (close) => {
      const how = h("fieldset", { class: "field choice", "data-field": "status" },
        h("legend", {}, "How will they sign in?"),
        [["invite", `Send an invitation: they choose their own password with a one-time ${session.connection.remote ? "link" : "code"} (valid 7 days)`],
          ["password", "Set a password now"],
          ["service", "API keys only: no password and no console sign-in (give them a role without Sign in, such as API User)"]]
          .map(([value, text], i) => h("label", { class: "check" },
            h("input", { type: "radio", name: "how", value, checked: i === 0 }), text)),
        h("p", { class: "field-error" }));
      const password = field({ label: "Password", name: "password", type: "password", autocomplete: "new-password",
        hint: `At least ${session.settings?.passwordMinLength ?? 15} characters; not the user name or e-mail.` });
      password.hidden = true;
      const form = h("form", { id: "new-user-form", novalidate: true },
        h("div", { class: "columns" },
          h("div", {},
            field({ label: "User name", name: "userName", required: true, autofocus: true, autocomplete: "off", hint: "Unique, no spaces." }),
            field({ label: "Display name", name: "displayName", autocomplete: "off" }),
            field({ label: "E-mail", name: "email", type: "email", required: true, autocomplete: "off" }),
            field({ label: "Identity", name: "type", type: "select", options: [["NATIVE", "Managed here"], ["EXTERNAL", "Managed elsewhere (external)"]],
              hint: "External users get no password here; their roles are set where they are managed." }),
            how, password),
          h("div", {},
            names.roles.length ? checklist({ legend: "Roles", name: "roles", items: roleItems() }) : null,
            names.groups.length ? checklist({ legend: "Groups", name: "groups", items: names.groups.map((g) => [g.id, g.name]) }) : null)),
        formError(),
        h("div", { class: "actions" },
          h("button", { type: "button", onclick: () => close() }, "Cancel"),
          h("button", { type: "submit", class: "primary" }, "Add user")));
      form.addEventListener("change", () => {
        // External identities have no password here: nothing to invite them to, or to set.
        const external = form.querySelector("[name=type]").value === "EXTERNAL";
        how.hidden = external;
        password.hidden = external || form.querySelector("input[name=how]:checked")?.value !== "password";
      });
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const data = new FormData(form);
        const choice = data.get("type") === "EXTERNAL" ? "external" : data.get("how");
        const user = {
          userName: data.get("userName"), displayName: data.get("displayName"), email: data.get("email"),
          type: data.get("type"),
          password: choice === "password" ? data.get("password") : null,
          status: choice === "service" ? "ACTIVE" : null,
          roles: checkedValues(form, "roles"), groups: checkedValues(form, "groups"),
        };
        try {
          const created = await call("create_user", { user });
          close();
          reloadList?.();
          notify(`Added ${created.user.userName}.`);
          if (created.invitation) {
            await revealToken({
              title: `Invitation for ${created.user.userName}`,
              issued: created.invitation, purpose: "invitation", person: created.user.displayName,
            });
          }
        } catch (error) {
          showErrors(form, error);
        }
      });
      return form;
    },
  });
}
