// Groups: name, description, members and the roles its members hold through it.

import { call, save, session, names } from "../api.js";
import {
  h, replace, field, checklist, checkedValues, formError, showSaveError, openDialog, notify,
} from "../dom.js";
import { editorActions } from "./editor.js";
import { roleItems } from "./users.js";

/** Shows at most this many members by name in the editor; the Users screen filters by group. */
const MEMBERS_SHOWN = 500;

function editGroup(group, onSaved) {
  // A group carrying a role beyond one's own permissions cannot be changed by one.
  const held = new Set(session.me.permissions);
  const beyond = (group?.roles ?? []).some((id) => names.roles.find((r) => r.id === id)?.permissions.some((p) => !held.has(p)));
  const readOnly = !session.can("MANAGE_GROUP") || beyond;
  return openDialog({
    title: group ? `Group ${group.name}` : "New group",
    wide: true,
    render: (close) => {
      // Members by id, with the names of those loaded.
      const members = new Map((group?.members ?? []).map((id) => [id, id]));
      const memberList = h("ul", { class: "members", "aria-label": "Members" });
      const showMembers = () => replace(memberList, members.size === 0
        ? h("li", { class: "muted" }, "No members yet.")
        : [...members].slice(0, MEMBERS_SHOWN).map(([id, label]) => h("li", {}, label,
          readOnly ? null : h("button", { type: "button", class: "small", "aria-label": `Remove ${label}`, onclick: () => { members.delete(id); showMembers(); } }, "Remove"))));
      if (group && members.size) {
        call("list_users", { query: { group: group.id, pageSize: MEMBERS_SHOWN } }).then((page) => {
          for (const u of page.items) members.set(u.id, `${u.userName} — ${u.displayName}`);
          showMembers();
        }).catch(() => {});
      }
      const add = h("input", { type: "search", "aria-label": "Add a member", placeholder: "Add a member: search users", autocomplete: "off" });
      const found = h("ul", { class: "picker" });
      let ticket = 0;
      add.addEventListener("input", async () => {
        const mine = ++ticket;
        const q = add.value.trim();
        if (!q) { replace(found); return; }
        const page = await call("list_users", { query: { q, pageSize: 8 } }).catch(() => ({ items: [] }));
        if (mine !== ticket) return;
        replace(found, page.items.filter((u) => !members.has(u.id)).map((u) => h("li", {},
          h("button", { type: "button", class: "link", onclick: () => {
            members.set(u.id, `${u.userName} — ${u.displayName}`);
            add.value = "";
            replace(found);
            showMembers();
            add.focus();
          } }, `${u.userName} — ${u.displayName}`))));
      });
      const form = h("form", { id: "group-form", novalidate: true },
        h("div", { class: "columns" },
          h("div", {},
            field({ label: "Name", name: "name", value: group?.name ?? "", disabled: readOnly, required: true, autofocus: !readOnly, autocomplete: "off" }),
            field({ label: "Description", name: "description", type: "textarea", value: group?.description ?? "", disabled: readOnly }),
            names.roles.length ? checklist({ legend: "Roles its members hold", name: "roles", items: roleItems(), selected: group?.roles ?? [], disabled: readOnly }) : null),
          h("div", { class: "field", "data-field": "members" },
            h("span", { class: "label" }, `Members (${members.size})`),
            readOnly ? null : add, found, memberList,
            h("p", { class: "field-error" }))),
        formError(),
        editorActions({ kind: "group", existing: group, readOnly, form: () => form, close,
          warning: "Its members stay; they lose the roles they held through it." }));
      showMembers();
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const data = new FormData(form);
        const fields = { name: data.get("name"), description: data.get("description"), roles: checkedValues(form, "roles"), members: [...members.keys()] };
        try {
          await save("group", group, fields);
          close(true);
          notify(`Saved ${fields.name}.`);
        } catch (error) {
          showSaveError(form, error, "this group");
        }
      });
      return form;
    },
  }).then((changed) => { if (changed) onSaved(); });
}

export function render(view) {
  const list = h("div", {});
  async function load() {
    await names.load();
    replace(list, h("table", { class: "list", id: "groups-table", "aria-label": "Groups" },
      h("thead", {}, h("tr", {}, ["Group", "Description", "Members", "Roles"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, names.groups.length === 0
        ? h("tr", {}, h("td", { colspan: 4, class: "empty" }, "No groups yet."))
        : names.groups.map((group) => h("tr", {
          tabindex: 0, "data-group": group.name, onclick: () => editGroup(group, load),
          onkeydown: (e) => { if (e.key === "Enter") editGroup(group, load); },
        },
        h("td", { class: "strong" }, group.name),
        h("td", { class: "muted" }, group.description),
        h("td", {}, group.members.length.toLocaleString()),
        h("td", { class: "muted" }, group.roles.map((id) => names.role(id)).join(", ")))))));
  }
  replace(view,
    h("div", { class: "page-head" }, h("h1", {}, "Groups"),
      session.can("MANAGE_GROUP") ? h("button", { type: "button", class: "primary", id: "new-group", onclick: () => editGroup(null, load) }, "New group") : null),
    h("p", { class: "muted" }, "Groups organise users; members also hold the roles a group carries."),
    list);
  load().catch((error) => replace(list, h("p", { class: "form-error" }, error.message)));
}
