// API keys: my keys, everyone's (VIEW_KEYS), creating a key (for oneself: ENABLED with its
// secret shown once; for someone else: PENDING), download, regenerate and revoke. The key
// table is shared with the user page.

import { call, session } from "../api.js";
import {
  h, replace, field, formError, showErrors, openDialog, confirmAction, notify, badge, ago,
  formatDate, formatTime,
} from "../dom.js";
import { revealSecret } from "../secret.js";

const DAY = 86400000;

function expiresSoon(key) {
  return key.status === "ENABLED" && key.expiresTime && new Date(key.expiresTime) - Date.now() < 14 * DAY;
}

async function showIssued(issued, verb) {
  await revealSecret({
    title: `${verb}: ${issued.name}`,
    intro: `The key for ${issued.ownerUserName}. Services send it as “Authorization: Bearer <key>”.`,
    secret: issued.key,
    label: "API key",
  });
}

/**
 * What the signed-in user may do to `key`; the core decides again when asked. Someone else's
 * secret is only ever seen by an admin when its owner cannot sign in (an API-only account).
 */
function allowed(key, ownerCanSignIn) {
  const mine = key.ownerId === session.me.id;
  const manage = session.can("MANAGE_KEYS");
  const seeSecret = mine || (manage && ownerCanSignIn === false);
  const live = key.status === "ENABLED" || key.status === "PENDING";
  return {
    download: key.status === "PENDING" && seeSecret,
    regenerate: key.status === "ENABLED" && seeSecret,
    revoke: live && (mine || manage),
  };
}

async function revoke(key) {
  const recently = key.lastUsedTime && Date.now() - new Date(key.lastUsedTime) < 7 * DAY;
  const confirmed = await confirmAction({
    title: `Revoke ${key.name}?`,
    message: [
      `The key ${key.prefix ?? ""}… of ${key.ownerUserName} stops working at once. This cannot be undone.`,
      recently ? `Careful: it was used ${ago(key.lastUsedTime)}. Services still using it will be refused.` : null,
    ].filter(Boolean),
    confirm: "Revoke key",
  });
  if (!confirmed) return false;
  await call("revoke_key", { id: key.id });
  notify(`Revoked ${key.name}.`);
  return true;
}

async function regenerate(key) {
  const grace = await openDialog({
    title: `Regenerate ${key.name}?`,
    render: (close) => {
      const form = h("form", {},
        h("p", {}, "A new secret replaces the current one. Services must be given the new key."),
        field({ label: "The old key keeps working for", name: "grace", type: "select",
          options: [[0, "no time: it stops now"], [3600, "1 hour"], [86400, "24 hours"], [604800, "7 days"]] }),
        h("div", { class: "actions" },
          h("button", { type: "button", onclick: () => close(null), autofocus: true }, "Cancel"),
          h("button", { type: "submit", class: "danger" }, "Regenerate")));
      form.addEventListener("submit", (e) => { e.preventDefault(); close(Number(new FormData(form).get("grace"))); });
      return form;
    },
  });
  if (grace === null || grace === undefined) return false;
  const issued = await call("regenerate_key", { id: key.id, graceSeconds: grace });
  await showIssued(issued, "New secret");
  return true;
}

async function download(key) {
  const issued = await call("download_key", { id: key.id });
  await showIssued(issued, "Downloaded");
  return true;
}

/**
 * A table of keys with the actions the signed-in user may take; `reload` after a change.
 * `ownerCanSignIn` is known on a user's page; elsewhere it is assumed.
 */
export function keyTable(keys, { showOwner = false, ownerCanSignIn = true, reload }) {
  const act = (work, key) => async (event) => {
    event.stopPropagation();
    try {
      if (await work(key)) reload();
    } catch (error) {
      notify(error.message, "error");
      reload();
    }
  };
  return h("table", { class: "list keys", "aria-label": "API keys" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Name"),
      showOwner ? h("th", { scope: "col" }, "Owner") : null,
      h("th", { scope: "col" }, "Key"),
      h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col" }, "Expires"),
      h("th", { scope: "col" }, "Last used"),
      h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
    h("tbody", {}, keys.length === 0
      ? h("tr", {}, h("td", { colspan: showOwner ? 7 : 6, class: "empty" }, "No API keys."))
      : keys.map((key) => {
        const may = allowed(key, ownerCanSignIn);
        return h("tr", { "data-key": key.name },
          h("td", { class: "strong", title: key.description || null }, key.name),
          showOwner ? h("td", {}, key.ownerUserName) : null,
          h("td", { class: "mono" }, key.prefix ? `${key.prefix}…` : h("span", { class: "muted" }, "not downloaded")),
          h("td", {}, badge(key.status)),
          h("td", { class: expiresSoon(key) ? "soon" : "muted", title: key.expiresTime ? formatTime(key.expiresTime) : null },
            formatDate(key.expiresTime), expiresSoon(key) ? " · expires soon" : ""),
          h("td", { class: "muted", title: key.lastUsedTime ? formatTime(key.lastUsedTime) : null }, ago(key.lastUsedTime)),
          h("td", { class: "row-actions" },
            may.download ? h("button", { type: "button", class: "primary small", onclick: act(download, key) }, "Download") : null,
            may.regenerate ? h("button", { type: "button", class: "small", onclick: act(regenerate, key) }, "Regenerate") : null,
            may.revoke ? h("button", { type: "button", class: "small danger-text", onclick: act(revoke, key) }, "Revoke") : null));
      })));
}

/** Whether the signed-in user may create a key for `owner` (a user, or null for oneself). */
export function mayCreateFor(owner) {
  if (!owner || owner.id === session.me.id) return session.can("USE_API_KEYS");
  return session.can("MANAGE_KEYS");
}

/** The "new key" dialog. Without `owner`, for oneself; with MANAGE_KEYS, for anyone. */
export function newKey({ owner = null, onCreated }) {
  return openDialog({
    title: owner && owner.id !== session.me.id ? `New API key for ${owner.userName}` : "New API key",
    render: (close) => {
      const custom = field({ label: "Expires on", name: "expiresTime", type: "date" });
      const cap = session.settings?.maxKeyLifetimeDays;
      const lifetimes = [[30, "30 days"], [90, "90 days"], [180, "180 days"], [365, "1 year"]]
        .filter(([days]) => !cap || days <= cap);
      const form = h("form", { id: "new-key-form", novalidate: true },
        field({ label: "Name", name: "name", required: true, autofocus: true, autocomplete: "off", hint: "What uses it, e.g. “billing-export”. Unique per owner." }),
        field({ label: "Description", name: "description", type: "textarea" }),
        field({ label: "Lifetime", name: "lifetime", type: "select", value: lifetimes.at(-1)?.[0] ?? "custom",
          options: [...lifetimes, ["custom", "Until a date…"], ...(cap ? [] : [["never", "Never expires"]])],
          hint: cap ? `Settings cap keys at ${cap} days.` : null }),
        custom,
        owner && owner.id !== session.me.id
          ? h("p", { class: "hint" }, `The key is created pending: no secret exists until ${owner.userName} downloads it.`)
          : null,
        formError(),
        h("div", { class: "actions" },
          h("button", { type: "button", onclick: () => close() }, "Cancel"),
          h("button", { type: "submit", class: "primary" }, "Create key")));
      const lifetime = form.querySelector("[name=lifetime]");
      custom.hidden = lifetime.value !== "custom";
      lifetime.addEventListener("change", () => { custom.hidden = lifetime.value !== "custom"; });
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const data = new FormData(form);
        let expiresTime = null;
        if (data.get("lifetime") === "custom") {
          const date = data.get("expiresTime");
          if (!date) {
            showErrors(form, { errors: { expiresTime: ["Choose the day the key expires."] } });
            return;
          }
          expiresTime = new Date(`${date}T23:59:59`).toISOString();
        } else if (data.get("lifetime") !== "never") {
          expiresTime = new Date(Date.now() + Number(data.get("lifetime")) * DAY).toISOString();
        }
        try {
          const issued = await call("create_key", {
            ownerId: owner?.id ?? session.me.id,
            key: { name: data.get("name"), description: data.get("description"), expiresTime },
          });
          close();
          onCreated?.();
          if (issued.key) await showIssued(issued, "Created");
          else notify(`Created ${issued.name} for ${issued.ownerUserName}: pending until downloaded.`);
        } catch (error) {
          showErrors(form, error);
        }
      });
      return form;
    },
  });
}

async function pickOwner() {
  return openDialog({
    title: "Create a key for…",
    render: (close) => {
      const results = h("ul", { class: "picker", role: "listbox", "aria-label": "Users" });
      const search = h("input", { type: "search", autofocus: true, "aria-label": "Search users", placeholder: "User name, name or e-mail" });
      let ticket = 0;
      const find = async () => {
        const mine = ++ticket;
        const page = await call("list_users", { query: { q: search.value.trim() || null, pageSize: 20 } })
          .catch((error) => ({ items: [], error }));
        if (mine !== ticket) return;
        if (page.error) notify(page.error.message, "error");
        replace(results, page.items.map((u) => h("li", {},
          h("button", { type: "button", class: "link", onclick: () => close(u) }, `${u.userName} — ${u.displayName}`))));
      };
      search.addEventListener("input", find);
      find();
      return h("div", {}, search, results,
        h("div", { class: "actions" }, h("button", { type: "button", onclick: () => close(null) }, "Cancel")));
    },
  });
}

export function render(view) {
  const canAll = session.can("VIEW_KEYS");
  const state = { tab: session.can("USE_API_KEYS") ? "mine" : "all", q: "", status: "", page: 1 };
  const content = h("div", {});
  const tabs = h("div", { class: "tabs", role: "tablist" });

  async function show() {
    replace(tabs,
      session.can("USE_API_KEYS") ? tab("mine", "My keys") : null,
      canAll ? tab("all", "All keys") : null);
    try {
      if (state.tab === "mine") {
        const keys = await call("list_user_keys", { userId: session.me.id });
        replace(content,
          h("p", { class: "muted" }, "Keys that act as you. A key is shown once when created; afterwards only its first characters."),
          keyTable(keys, { reload: show }));
      } else {
        await showAll();
      }
    } catch (error) {
      replace(content, h("p", { class: "form-error" }, error.message));
    }
  }

  function tab(name, label) {
    return h("button", {
      type: "button", role: "tab", "aria-selected": String(state.tab === name),
      onclick: () => { state.tab = name; show(); },
    }, label);
  }

  async function showAll() {
    const search = h("input", { type: "search", "data-search": true, value: state.q, "aria-label": "Search keys",
      placeholder: "Key name, prefix or owner   ( / )" });
    const status = h("select", { "aria-label": "Status" },
      [["", "Any status"], ["ENABLED", "Enabled"], ["PENDING", "Pending"], ["REVOKED", "Revoked"], ["EXPIRED", "Expired"]]
        .map(([v, t]) => h("option", { value: v, selected: state.status === v }, t)));
    const list = h("div", {});
    let ticket = 0;
    const load = async () => {
      const mine = ++ticket;
      let page;
      try {
        page = await call("list_keys", { query: { page: state.page, pageSize: 50, q: state.q || null, status: state.status || null } });
      } catch (error) {
        if (mine === ticket) replace(list, h("p", { class: "form-error" }, error.message));
        return;
      }
      if (mine !== ticket) return;
      const { totalElements, totalPages, page: n } = page.pageInfo;
      replace(list, keyTable(page.items, { showOwner: true, reload: load }),
        h("div", { class: "table-foot" },
          h("span", { class: "muted" }, `${totalElements.toLocaleString()} keys`),
          h("div", { class: "pager" },
            h("button", { type: "button", disabled: n <= 1, onclick: () => { state.page -= 1; load(); } }, "Previous"),
            h("span", { class: "muted" }, `Page ${n} of ${Math.max(1, totalPages)}`),
            h("button", { type: "button", disabled: n >= totalPages, onclick: () => { state.page += 1; load(); } }, "Next"))));
    };
    search.addEventListener("input", () => { state.q = search.value.trim(); state.page = 1; load(); });
    status.addEventListener("change", () => { state.status = status.value; state.page = 1; load(); });
    replace(content, h("div", { class: "toolbar" }, search, status), list);
    await load();
  }

  const actions = h("div", { class: "head-actions" },
    session.can("USE_API_KEYS")
      ? h("button", { type: "button", class: "primary", id: "new-key", onclick: () => newKey({ onCreated: show }) }, "New key")
      : null,
    session.can("MANAGE_KEYS")
      ? h("button", { type: "button", id: "new-key-for", onclick: async () => {
        const owner = await pickOwner();
        if (owner) newKey({ owner, onCreated: show });
      } }, "New key for a user…")
      : null);
  replace(view, h("div", { class: "page-head" }, h("h1", {}, "API keys"), actions), tabs, content);
  show();
}
