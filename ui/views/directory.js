// The directory file: which one is open, open another, create a new one, recent files.
// Opening another file signs out of the current one.

import { call, session } from "../api.js";
import { h, replace, field, formError, showErrors } from "../dom.js";

export function render(view, { onOpened }) {
  const connection = session.connection;
  const open = async (form, path, create) => {
    try {
      session.connection = await call("open_directory", { path, create });
      location.hash = "";
      onOpened();
    } catch (error) {
      showErrors(form, error);
    }
  };
  const browse = async (form, create) => {
    try {
      const path = await call("choose_file", { create });
      if (path) await open(form, path, create);
    } catch (error) {
      showErrors(form, error);
    }
  };
  const form = h("form", { id: "directory-form", novalidate: true },
    field({ label: "File path", name: "path", autocomplete: "off", class: "mono", placeholder: "/home/me/keyward.db",
      hint: "A Keyward directory is one SQLite file. It works offline; keep it where your backups reach." }),
    formError(),
    h("div", { class: "actions start-aligned" },
      h("button", { type: "submit", class: "primary", value: "open", id: "open-file" }, "Open"),
      h("button", { type: "submit", value: "create", id: "create-file" }, "Create new"),
      h("span", { class: "spacer" }),
      h("button", { type: "button", onclick: () => browse(form, false) }, "Browse…"),
      h("button", { type: "button", onclick: () => browse(form, true) }, "New file…")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const create = event.submitter?.value === "create";
    open(form, new FormData(form).get("path"), create);
  });
  const recent = (connection.recent ?? []).filter((p) => p !== connection.place);
  replace(view,
    h("div", { class: "page-head" }, h("h1", {}, "Directory file")),
    connection.place
      ? h("p", {}, "Open now: ", h("span", { class: "mono" }, connection.place),
        session.me ? h("span", { class: "muted" }, ` — signed in as ${session.me.userName}. Opening another file signs you out.`) : null,
        " ", h("a", { href: "#/" }, "Back"))
      : h("p", { class: "form-error" }, connection.problem || "No directory is open."),
    form,
    recent.length ? h("section", { class: "section" }, h("h2", {}, "Recent files"),
      h("ul", { class: "recent" }, recent.map((path) => h("li", {},
        h("button", { type: "button", class: "link mono", onclick: () => open(form, path, false) }, path))))) : null);
  form.querySelector("[name=path]").focus();
}
