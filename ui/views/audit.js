// The audit log: who did what to what, when, and whether it was allowed; filtered and paged.

import { call } from "../api.js";
import { h, replace, badge, formatTime, showErrors, formError, clearErrors } from "../dom.js";

const ACTIONS = [
  ["", "Any action"], ["auth", "Sign-in and sign-out"], ["user", "Users"], ["role", "Roles"],
  ["group", "Groups"], ["key", "API keys"], ["settings", "Settings"],
];

export function render(view) {
  const state = { actor: "", action: "", since: "", page: 1 };
  const form = h("form", { class: "toolbar", id: "audit-filters", novalidate: true },
    h("div", { class: "field inline", "data-field": "actor" },
      h("input", { name: "actor", type: "search", "data-search": true, "aria-label": "Actor (user name)", placeholder: "Actor user name   ( / )" }),
      h("p", { class: "field-error" })),
    h("div", { class: "field inline", "data-field": "action" },
      h("select", { name: "action", "aria-label": "Action" }, ACTIONS.map(([v, t]) => h("option", { value: v }, t)))),
    h("div", { class: "field inline", "data-field": "since" },
      h("label", { class: "inline-label" }, "Since ", h("input", { name: "since", type: "date", "aria-label": "Since" })),
      h("p", { class: "field-error" })),
    formError());
  const body = h("tbody", {});
  const foot = h("div", { class: "table-foot" });
  replace(view,
    h("div", { class: "page-head" }, h("h1", {}, "Audit log")),
    h("p", { class: "muted" }, "Every change and every refused attempt, newest first. Nobody can edit this log."),
    form,
    h("div", { class: "table-wrap" }, h("table", { class: "list", id: "audit-table", "aria-label": "Audit log" },
      h("thead", {}, h("tr", {}, ["Time", "Actor", "Action", "Target", "Outcome", "Detail"].map((t) => h("th", { scope: "col" }, t)))),
      body)),
    foot);

  let ticket = 0;
  async function load() {
    const mine = ++ticket;
    clearErrors(form);
    const query = {
      page: state.page, pageSize: 50, actor: state.actor || null, action: state.action || null,
      since: state.since ? new Date(`${state.since}T00:00:00`).toISOString() : null,
    };
    try {
      const page = await call("list_audit", { query });
      if (mine !== ticket) return;
      replace(body, page.items.length === 0
        ? h("tr", {}, h("td", { colspan: 6, class: "empty" }, "No entries."))
        : page.items.map((e) => h("tr", {},
          h("td", { class: "muted nowrap" }, formatTime(e.time)),
          h("td", {}, e.actorName ?? "—"),
          h("td", { class: "mono" }, e.action),
          h("td", {}, e.targetName ?? e.targetId ?? "—", e.targetType ? h("span", { class: "muted" }, ` (${e.targetType})`) : null),
          h("td", {}, badge(e.outcome)),
          h("td", { class: "muted" }, e.detail ?? ""))));
      const { page: n, totalPages, totalElements } = page.pageInfo;
      replace(foot,
        h("span", { class: "muted" }, `${totalElements.toLocaleString()} entries`),
        h("div", { class: "pager" },
          h("button", { type: "button", disabled: n <= 1, onclick: () => { state.page -= 1; load(); } }, "Newer"),
          h("span", { class: "muted" }, `Page ${n} of ${Math.max(1, totalPages)}`),
          h("button", { type: "button", disabled: n >= totalPages, onclick: () => { state.page += 1; load(); } }, "Older")));
    } catch (error) {
      if (mine === ticket) showErrors(form, error);
    }
  }
  form.addEventListener("input", () => {
    const data = new FormData(form);
    Object.assign(state, { actor: data.get("actor").trim(), action: data.get("action"), since: data.get("since"), page: 1 });
    load();
  });
  form.addEventListener("submit", (e) => e.preventDefault());
  load();
}
