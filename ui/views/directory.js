// Connections: the saved profiles (local files and servers), the file open now, opening or
// creating a file, recent files. Connecting elsewhere signs out of the current directory.
// A self-signed server certificate is trusted only after the administrator has seen its
// fingerprint and chosen to pin it.

import { call, session } from "../api.js";
import { h, replace, field, formError, showErrors, clearErrors, openDialog, confirmAction, notify } from "../dom.js";
import { backupSection } from "./transfer.js";

export function render(view, { onOpened }) {
  const connection = session.connection;
  const problem = h("p", { class: "form-error", id: "connect-error", role: "alert" });

  const opened = (info) => {
    session.connection = info;
    location.hash = "";
    onOpened();
  };
  const open = async (form, path, create) => {
    try {
      opened(await call("open_directory", { path, create }));
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
  const connect = async (profile, button) => {
    problem.textContent = "";
    button.disabled = true;
    button.textContent = "Connecting…";
    try {
      opened(await call("open_profile", { id: profile.id }));
    } catch (error) {
      button.disabled = false;
      button.textContent = "Connect";
      const message = error.errors ? Object.values(error.errors).flat().join(" ") : "";
      problem.textContent = `${profile.name}: ${message || error.message}`;
    }
  };

  const fileForm = h("form", { id: "directory-form", novalidate: true },
    field({ label: "File path", name: "path", autocomplete: "off", class: "mono", placeholder: "/home/me/keyward.db",
      hint: "A Keyward directory is one SQLite file. It works offline; keep it where your backups reach." }),
    formError(),
    h("div", { class: "actions start-aligned" },
      h("button", { type: "submit", value: "open", id: "open-file" }, "Open"),
      h("button", { type: "submit", value: "create", id: "create-file" }, "Create new"),
      h("span", { class: "spacer" }),
      h("button", { type: "button", onclick: () => browse(fileForm, false) }, "Browse…"),
      h("button", { type: "button", onclick: () => browse(fileForm, true) }, "New file…")));
  fileForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const create = event.submitter?.value === "create";
    open(fileForm, new FormData(fileForm).get("path"), create);
  });

  const profiles = connection.profiles ?? [];
  const rows = profiles.map((profile) => {
    const button = h("button", { type: "button", class: "primary connect" }, "Connect");
    button.addEventListener("click", () => connect(profile, button));
    const where = profile.kind === "remote" ? profile.url : profile.path;
    return h("tr", { "data-profile": profile.name },
      h("td", {}, profile.name),
      h("td", {}, profile.kind === "remote" ? "Server" : "File"),
      h("td", { class: "mono" }, where),
      h("td", {}, profile.kind !== "remote" ? "—"
        : profile.fingerprint ? h("span", { title: profile.fingerprint }, "Pinned certificate") : "System roots"),
      h("td", { class: "row-actions" },
        button,
        h("button", { type: "button", class: "edit", onclick: () => editProfile(profile, () => refreshList()) }, "Edit"),
        h("button", { type: "button", class: "remove", onclick: () => removeProfile(profile) }, "Remove")));
  });

  const refreshList = async () => {
    session.connection = { ...session.connection, profiles: (await call("connection")).profiles };
    render(view, { onOpened });
  };
  const removeProfile = async (profile) => {
    const sure = await confirmAction({
      title: `Remove the connection ${profile.name}?`,
      message: "Only the saved connection goes; the directory itself (the file or the server) is not touched.",
      confirm: "Remove",
    });
    if (!sure) return;
    try {
      await call("delete_profile", { id: profile.id });
      await refreshList();
    } catch (error) {
      notify(error.message, "error");
    }
  };

  const recent = (connection.recent ?? []).filter((p) => p !== connection.place);
  replace(view,
    h("div", { class: "page-head" },
      h("h1", {}, "Connections"),
      h("span", { class: "spacer" }),
      h("button", { type: "button", class: "primary", id: "new-profile", onclick: () => editProfile(null, refreshList) }, "Add connection")),
    connection.place
      ? h("p", {}, connection.remote ? "Connected to the server " : "Open now: ",
        h("span", { class: "mono", id: "open-now" }, connection.place),
        session.me ? h("span", { class: "muted" }, ` — signed in as ${session.me.userName}. Connecting elsewhere signs you out.`) : null,
        " ", h("a", { href: "#/" }, "Back"))
      : h("p", { class: "form-error" }, connection.problem || "No directory is open."),
    h("section", { class: "section" },
      h("h2", {}, "Saved connections"),
      profiles.length
        ? h("table", { class: "list", id: "profiles-table" },
          h("thead", {}, h("tr", {}, ["Name", "Kind", "Where", "Certificate", ""].map((t) => h("th", {}, t)))),
          h("tbody", {}, rows))
        : h("p", { class: "muted" }, "None yet. Add your team's server, or the files you open often."),
      problem),
    connection.place && !connection.remote
      ? backupSection({ onRestored: (info) => { opened(info); notify("Restored from the backup. Sign in again."); } })
      : null,
    h("section", { class: "section" }, h("h2", {}, "Open a directory file"), fileForm),
    recent.length ? h("section", { class: "section" }, h("h2", {}, "Recent files"),
      h("ul", { class: "recent" }, recent.map((path) => h("li", {},
        h("button", { type: "button", class: "link mono", onclick: () => open(fileForm, path, false) }, path))))) : null);
}

/** Adds (`profile` null) or edits a connection profile. */
function editProfile(profile, saved) {
  return openDialog({
    title: profile ? `Edit ${profile.name}` : "Add a connection",
    wide: true,
    render: (close) => {
      const kind = profile?.kind ?? "remote";
      const certificate = h("div", { id: "certificate-info", class: "certificate", "aria-live": "polite" });
      const form = h("form", { id: "profile-form", novalidate: true },
        field({ label: "Name", name: "name", value: profile?.name ?? "", required: true, autofocus: true,
          hint: "How the connection is listed, e.g. “Team server” or “Laptop copy”." }),
        h("fieldset", { class: "field", "data-field": "kind" },
          h("legend", {}, "Kind"),
          h("label", { class: "check" }, h("input", { type: "radio", name: "kind", value: "remote", checked: kind === "remote" }), "A Keyward server"),
          h("label", { class: "check" }, h("input", { type: "radio", name: "kind", value: "local", checked: kind === "local" }), "A directory file on this computer"),
          h("p", { class: "field-error" })),
        h("div", { class: "for-remote" },
          field({ label: "Server address", name: "url", value: profile?.url ?? "", class: "mono", autocomplete: "url",
            placeholder: "https://keyward.example.com", hint: "The address of the team's `keyward serve`." }),
          field({ label: "Pinned certificate (SHA-256 fingerprint)", name: "fingerprint", value: profile?.fingerprint ?? "", class: "mono",
            hint: "Only for a server with a self-signed certificate. Leave empty when your system trusts the server's certificate." }),
          h("div", { class: "actions start-aligned" },
            h("button", { type: "button", id: "check-certificate", onclick: () => checkCertificate(form, certificate) }, "Check the server's certificate")),
          certificate),
        h("div", { class: "for-local" },
          field({ label: "File path", name: "path", value: profile?.path ?? "", class: "mono", placeholder: "/home/me/keyward.db" })),
        formError(),
        h("div", { class: "actions" },
          h("button", { type: "button", onclick: () => close() }, "Cancel"),
          h("button", { type: "submit", class: "primary", id: "save-profile" }, "Save")));
      const showKind = () => {
        const remote = form.querySelector("[name=kind]:checked")?.value === "remote";
        form.querySelector(".for-remote").hidden = !remote;
        form.querySelector(".for-local").hidden = remote;
      };
      form.addEventListener("change", showKind);
      showKind();
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        clearErrors(form);
        const data = new FormData(form);
        try {
          await call("save_profile", { profile: {
            id: profile?.id ?? null, name: data.get("name"), kind: data.get("kind"),
            path: data.get("path"), url: data.get("url"), fingerprint: data.get("fingerprint"),
          } });
          close();
          saved();
        } catch (error) {
          showErrors(form, error);
        }
      });
      return form;
    },
  });
}

/** Shows the certificate the server presents; pinning it is a separate, explicit step. */
async function checkCertificate(form, holder) {
  clearErrors(form);
  replace(holder, h("p", { class: "muted" }, "Asking the server…"));
  try {
    const url = new FormData(form).get("url");
    const presented = await call("server_certificate", { url });
    if (presented.trustedBySystem) {
      replace(holder, h("p", {}, "Your system already trusts this server's certificate: nothing needs pinning."));
      return;
    }
    const pin = h("button", { type: "button", id: "trust-certificate" }, "Trust this certificate");
    pin.addEventListener("click", () => {
      form.querySelector("[name=fingerprint]").value = presented.fingerprint;
      replace(holder, h("p", {}, "Pinned. Save to keep it: this connection will accept this certificate and no other."));
    });
    replace(holder,
      h("p", { class: "warning" }, "This server's certificate is not trusted by your system (it is probably self-signed). Compare its fingerprint with the one your server's administrator gave you before trusting it:"),
      h("p", { class: "mono fingerprint", id: "presented-fingerprint" }, presented.fingerprint),
      pin);
  } catch (error) {
    replace(holder);
    showErrors(form, error);
  }
}
