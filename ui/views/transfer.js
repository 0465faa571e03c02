// Import and export of users (CSV or JSON files), and backups of a directory file. Every file
// is named in a field, filled by "Browse…" (the system's file dialog) or typed; the work
// itself is the core's, the same as `keyward users import|export` and `keyward backup|restore`.

import { call } from "../api.js";
import { h, replace, field, formError, showErrors, clearErrors, openDialog, confirmAction, notify } from "../dom.js";

/** A path field with a Browse… button that opens the system's dialog for `kind`. */
function pathField({ label, name, kind, create, hint }) {
  const wrapper = field({ label, name, class: "mono", autocomplete: "off", hint });
  const input = wrapper.querySelector("input");
  const browse = h("button", { type: "button", class: "browse" }, "Browse…");
  browse.addEventListener("click", async () => {
    try {
      const chosen = await call("choose_file", { create, kind });
      if (chosen) input.value = chosen;
    } catch (error) {
      notify(error.message, "error");
    }
  });
  input.after(browse);
  return wrapper;
}

function busy(message) {
  return h("p", { class: "busy", id: "transfer-busy" }, h("progress", { "aria-label": message }), " ", message);
}

/** Checks a file (dry run), shows every refused line or the count, then imports on request. */
export function importUsers(onImported) {
  return openDialog({
    title: "Import users",
    wide: true,
    render: (close) => {
      const result = h("div", { id: "import-result", "aria-live": "polite" });
      const form = h("form", { id: "import-form", novalidate: true },
        pathField({ label: "File (CSV or JSON)", name: "path", kind: "users", create: false,
          hint: "CSV as Excel saves it (comma, semicolon or tab; UTF-8 or Windows-1252): a header row with userName and email, and optionally displayName, status, type, roles and groups (names separated by ;). JSON: as exported." }),
        pathField({ label: "Save the invitations to (CSV)", name: "invitesOut", kind: "invitations", create: true,
          hint: "Imported users arrive invited; their one-time invitations are written here. Keep the file private." }),
        formError(),
        result,
        h("div", { class: "actions" },
          h("button", { type: "button", onclick: () => close() }, "Close"),
          h("button", { type: "submit", value: "check", id: "import-check" }, "Check the file"),
          h("button", { type: "submit", value: "import", class: "primary", id: "import-confirm", disabled: true }, "Import")));
      let checked = null;
      form.path.addEventListener("input", () => { checked = null; form.querySelector("#import-confirm").disabled = true; });
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        clearErrors(form);
        const dryRun = event.submitter?.value !== "import";
        const path = form.path.value.trim();
        if (!path) return showErrors(form, { errors: { path: ["Choose a file to import."] } });
        if (!dryRun && !form.invitesOut.value.trim()) {
          return showErrors(form, { errors: { invitesOut: ["Choose where the invitations go: nobody could sign in otherwise."] } });
        }
        const buttons = form.querySelectorAll("button[type=submit]");
        buttons.forEach((b) => { b.disabled = true; });
        replace(result, busy(dryRun ? "Checking every row…" : `Importing ${checked ?? ""} users…`));
        try {
          const outcome = await call("import_users_file", { path, dryRun, invitesOut: form.invitesOut.value.trim() || null });
          const note = outcome.note ? h("p", { class: "hint", id: "import-note" }, outcome.note) : null;
          if (outcome.problems.length) {
            checked = null;
            replace(result, note,
              h("p", { class: "form-error" }, `${outcome.problems.length} problem(s) in the file; nothing was imported. Fix them and check again.`),
              h("ul", { class: "problems mono", id: "import-problems" }, outcome.problems.map((p) => h("li", {}, p))));
          } else if (outcome.dryRun) {
            checked = outcome.count;
            replace(result, note, h("p", { class: "ok", id: "import-ready" }, `${outcome.count} users are ready to import. They arrive invited.`));
          } else {
            checked = null;
            replace(result, note, h("p", { class: "ok", id: "import-done" }, `Imported ${outcome.count} users (${outcome.invited} invited). Their invitations are in ${form.invitesOut.value.trim()}.`));
            onImported?.();
            notify(`Imported ${outcome.count} users.`);
          }
        } catch (error) {
          replace(result);
          showErrors(form, error);
        } finally {
          form.querySelector("#import-check").disabled = false;
          form.querySelector("#import-confirm").disabled = checked === null;
        }
      });
      return form;
    },
  });
}

/** Writes every user to a CSV or JSON file (by its extension). */
export function exportUsers() {
  return openDialog({
    title: "Export users",
    render: (close) => {
      const form = h("form", { id: "export-form", novalidate: true },
        pathField({ label: "File (.csv or .json)", name: "path", kind: "users", create: true,
          hint: "Every user with roles and groups by name. Never a password hash or a secret." }),
        formError(),
        h("div", { class: "actions" },
          h("button", { type: "button", onclick: () => close() }, "Cancel"),
          h("button", { type: "submit", class: "primary", id: "export-confirm" }, "Export")));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        clearErrors(form);
        try {
          const count = await call("export_users_file", { path: form.path.value.trim() });
          close();
          notify(`Exported ${count} users to ${form.path.value.trim()}.`);
        } catch (error) {
          showErrors(form, error);
        }
      });
      return form;
    },
  });
}

/** Back up the open file, or replace it with a backup: for the Connections screen. */
export function backupSection({ onRestored }) {
  const backup = h("form", { id: "backup-form", novalidate: true },
    pathField({ label: "Back up to", name: "path", kind: "backup", create: true,
      hint: "A safe copy while the directory is in use (SQLite online backup)." }),
    formError(),
    h("div", { class: "actions start-aligned" }, h("button", { type: "submit", id: "backup-confirm" }, "Back up")));
  backup.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(backup);
    try {
      await call("backup_directory", { path: backup.path.value.trim() });
      notify(`Backed up to ${backup.path.value.trim()}.`);
    } catch (error) {
      showErrors(backup, error);
    }
  });
  const restore = h("form", { id: "restore-form", novalidate: true },
    pathField({ label: "Restore from a backup", name: "path", kind: "backup", create: false,
      hint: "Replaces this directory file with the backup (checked first). Everyone working on this file is signed out." }),
    formError(),
    h("div", { class: "actions start-aligned" }, h("button", { type: "submit", class: "danger", id: "restore-confirm" }, "Restore…")));
  restore.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(restore);
    const sure = await confirmAction({
      title: "Replace this directory with the backup?",
      message: "Every change made since the backup is lost, and you are signed out.",
      confirm: "Restore",
    });
    if (!sure) return;
    try {
      onRestored(await call("restore_directory", { path: restore.path.value.trim() }));
    } catch (error) {
      showErrors(restore, error);
    }
  });
  return h("section", { class: "section" }, h("h2", {}, "Backups"), backup, restore);
}
