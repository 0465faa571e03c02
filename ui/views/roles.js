// Roles: the built-in ones (read-only) and custom ones with a permission checklist.

import { save, session, names, PERMISSION_GROUPS, PERMISSION_TEXT } from "../api.js";
import {
  h, replace, field, checkedValues, formError, showSaveError, openDialog, notify, badge,
} from "../dom.js";
import { editorActions } from "./editor.js";

function permissionChecklist(selected, disabled) {
  const held = new Set(session.me.permissions);
  const chosen = new Set(selected);
  return h("fieldset", { class: "field permissions", "data-field": "permissions" },
    h("legend", {}, "Permissions"),
    PERMISSION_GROUPS.map(([group, permissions]) => h("div", { class: "permission-group" },
      h("h3", {}, group),
      permissions.map((p) => {
        const id = `perm-${p}`;
        const cannot = !held.has(p);
        return h("div", { class: "check" },
          h("input", { type: "checkbox", id, name: "permissions", value: p, checked: chosen.has(p), disabled: disabled || (cannot && !chosen.has(p)),
            title: cannot ? "You cannot grant a permission you do not hold." : null }),
          h("label", { for: id }, PERMISSION_TEXT[p], h("span", { class: "code" }, p)));
      }))),
    h("p", { class: "field-error" }));
}

function editRole(role, onSaved) {
  // A role carrying a permission one lacks cannot be changed by one (the core refuses).
  const beyond = role && role.permissions.some((p) => !session.me.permissions.includes(p));
  const readOnly = role?.builtin || beyond || !session.can("MANAGE_ROLE");
  return openDialog({
    title: role ? (role.builtin ? `${role.name} (built-in)` : `Role ${role.name}`) : "New role",
    wide: true,
    render: (close) => {
      const form = h("form", { id: "role-form", novalidate: true },
        role?.builtin ? h("p", { class: "hint" }, "Built-in roles cannot be changed or deleted. Create a custom role for a different set of permissions.") : null,
        !role?.builtin && beyond ? h("p", { class: "hint" }, "This role carries permissions you do not hold, so you cannot change it.") : null,
        field({ label: "Name", name: "name", value: role?.name ?? "", disabled: readOnly, required: true, autofocus: !readOnly, autocomplete: "off" }),
        field({ label: "Description", name: "description", type: "textarea", value: role?.description ?? "", disabled: readOnly }),
        permissionChecklist(role?.permissions ?? ["SIGN_IN"], readOnly),
        formError(),
        editorActions({ kind: "role", existing: role, readOnly, form: () => form, close,
          warning: "Users and groups holding it lose its permissions at once." }));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const data = new FormData(form);
        const fields = { name: data.get("name"), description: data.get("description"), permissions: checkedValues(form, "permissions") };
        try {
          await save("role", role, fields);
          close(true);
          notify(`Saved ${fields.name}.`);
        } catch (error) {
          showSaveError(form, error, "this role");
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
    const roles = names.roles;
    replace(list, h("table", { class: "list", id: "roles-table", "aria-label": "Roles" },
      h("thead", {}, h("tr", {}, ["Role", "Description", "Permissions"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, roles.map((role) => h("tr", {
        tabindex: 0, "data-role": role.name, onclick: () => editRole(role, load),
        onkeydown: (e) => { if (e.key === "Enter") editRole(role, load); },
      },
      h("td", { class: "strong" }, role.name, role.builtin ? [" ", badge("built-in", "builtin")] : null),
      h("td", { class: "muted" }, role.description),
      h("td", { class: "muted" }, role.permissions.length === 15 ? "all" : role.permissions.join(" · ")))))));
  }
  replace(view,
    h("div", { class: "page-head" }, h("h1", {}, "Roles"),
      session.can("MANAGE_ROLE") ? h("button", { type: "button", class: "primary", id: "new-role", onclick: () => editRole(null, load) }, "New role") : null),
    h("p", { class: "muted" }, "A user holds the permissions of all their roles, and of their groups' roles."),
    list);
  load().catch((error) => replace(list, h("p", { class: "form-error" }, error.message)));
}
