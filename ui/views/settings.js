// Settings of the directory: key authentication, key lifetime cap, password length, clipboard
// delay, session lifetime, lock-out threshold, who must use two-step sign-in. Read-only without MANAGE_SETTINGS. Below them,
// whether the server sends e-mail, with a test message for those who may change settings.

import { call, session } from "../api.js";
import { h, replace, field, formError, showErrors, showSaveError, clearErrors, notify } from "../dom.js";

export function render(view) {
  // The groups to map provider groups to (none listed without VIEW_GROUP).
  let groups = [];

  async function load() {
    try {
      const settings = await call("get_settings");
      groups = session.can("VIEW_GROUP") ? await call("list_groups") : [];
      show(settings);
    } catch (error) {
      replace(view, h("h1", {}, "Settings"), h("p", { class: "form-error" }, error.message));
    }
  }

  function show(settings) {
    const readOnly = !session.can("MANAGE_SETTINGS");
    const number = (label, name, hint, extra = {}) =>
      field({ label, name, type: "number", value: settings[name] ?? "", hint, disabled: readOnly, min: 0, ...extra });
    const form = h("form", { id: "settings-form", class: "narrow", novalidate: true },
      h("fieldset", { class: "group" }, h("legend", {}, "API keys"),
        h("div", { class: "check field", "data-field": "apiKeyAuthEnabled" },
          h("input", { type: "checkbox", id: "apiKeyAuthEnabled", name: "apiKeyAuthEnabled", checked: settings.apiKeyAuthEnabled, disabled: readOnly }),
          h("label", { for: "apiKeyAuthEnabled" }, "API key authentication enabled"),
          h("p", { class: "hint" }, "When off, every key is refused (AUTH_DISABLED) until it is switched on again."),
          h("p", { class: "field-error" })),
        number("Longest key lifetime (days)", "maxKeyLifetimeDays", "Empty: no cap. With a cap, longer and never-expiring keys are refused.", { min: 1, placeholder: "no cap" })),
      h("fieldset", { class: "group" }, h("legend", {}, "Passwords and sessions"),
        number("Minimum password length", "passwordMinLength", "At least 8; 15 is recommended (NIST SP 800-63B).", { min: 8 }),
        number("Session lifetime (minutes)", "sessionLifetimeMinutes", "How long a sign-in lasts.", { min: 1 }),
        number("Failed sign-ins before delays", "lockoutThreshold", "After this many failures for one user name, each further attempt waits longer.", { min: 1 }),
        field({ label: "Two-step sign-in", name: "secondFactor", type: "select", value: settings.secondFactor ?? "OPTIONAL", disabled: readOnly,
          hint: "Who must sign in with a code from an authenticator app after the password. Those who have none yet set it up at their next sign-in.",
          options: [
            ["OPTIONAL", "Optional: everyone chooses"],
            ["REQUIRED_FOR_ADMINS", "Required for administrators (anyone who can change users, roles, groups, others' keys or settings)"],
            ["REQUIRED", "Required for everyone who signs in"],
          ] })),
      h("fieldset", { class: "group" }, h("legend", {}, "Clipboard"),
        number("Clear a copied secret after (seconds)", "clipboardClearSeconds", "0: never clear. The clipboard is only cleared if it still holds the secret.")),
      providerGroups(settings, readOnly),
      formError(),
      readOnly
        ? h("p", { class: "hint" }, "Only administrators with the Change settings permission can change these.")
        : h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "save-settings" }, "Save settings")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const whole = (name) => {
        const text = String(data.get(name) ?? "").trim();
        return text === "" ? null : Number(text);
      };
      const update = {
        apiKeyAuthEnabled: form.querySelector("[name=apiKeyAuthEnabled]").checked,
        maxKeyLifetimeDays: whole("maxKeyLifetimeDays"),
        passwordMinLength: whole("passwordMinLength"),
        sessionLifetimeMinutes: whole("sessionLifetimeMinutes"),
        lockoutThreshold: whole("lockoutThreshold"),
        clipboardClearSeconds: whole("clipboardClearSeconds"),
        secondFactor: data.get("secondFactor"),
        updateVersion: settings.updateVersion,
      };
      // Without VIEW_GROUP the mapping is shown but not sent: its groups cannot be listed.
      if (session.can("VIEW_GROUP")) {
        update.providerGroups = [...form.querySelectorAll(".mapping-line")]
          .map((line) => ({ claim: line.querySelector("[name=claim]").value, groupId: line.querySelector("[name=groupId]").value }))
          .filter((line) => line.claim.trim() !== "" || line.groupId !== "");
      }
      const bad = Object.entries(update).filter(([name, v]) => !["updateVersion", "apiKeyAuthEnabled", "secondFactor", "providerGroups"].includes(name)
        && (form.querySelector(`[name=${name}]`).validity.badInput || (typeof v === "number" && (!Number.isInteger(v) || v < 0))));
      if (bad.length) {
        showErrors(form, { errors: Object.fromEntries(bad.map(([name]) => [name, ["Enter a whole number."]])) });
        return;
      }
      for (const name of ["passwordMinLength", "sessionLifetimeMinutes", "lockoutThreshold", "clipboardClearSeconds"]) {
        if (update[name] === null) delete update[name];
      }
      clearErrors(form);
      try {
        const saved = await call("update_settings", { update });
        session.connection.settings = saved;
        notify("Settings saved.");
        show(saved);
      } catch (error) {
        showSaveError(form, error, "the settings");
      }
    });
    // A card like the settings above (a form that never submits: its button only sends a test).
    const mail = h("form", { id: "mail-setup", class: "narrow", novalidate: true },
      h("fieldset", { class: "group" }, h("legend", {}, "E-mail"), h("p", { class: "hint" }, "Checking…")));
    mail.addEventListener("submit", (event) => event.preventDefault());
    replace(view, h("div", { class: "page-head" }, h("h1", {}, "Settings")), form, mail);
    showMail(mail);
  }

  // The group mapping of sign-in through the identity provider (SPEC 11): one line per
  // provider group, each naming the Keyward group its members are put in.
  function providerGroups(settings, readOnly) {
    readOnly ||= !session.can("VIEW_GROUP");
    const known = new Set(groups.map((g) => g.id));
    const options = [["", "Choose a group…"], ...groups.map((g) => [g.id, g.name]),
      ...(settings.providerGroups ?? []).filter((l) => !known.has(l.groupId)).map((l) => [l.groupId, l.groupId])];
    const lines = h("div", { class: "mapping-lines" });
    const addLine = (claim = "", groupId = "") => {
      const line = h("div", { class: "mapping-line" },
        h("input", { name: "claim", value: claim, placeholder: "the provider's group, e.g. keyward-admins", "aria-label": "Group at the identity provider", disabled: readOnly }),
        h("span", { "aria-hidden": "true" }, "→"),
        h("select", { name: "groupId", "aria-label": "Keyward group", disabled: readOnly },
          options.map(([v, text]) => h("option", { value: v, selected: v === groupId }, text))),
        readOnly ? null : h("button", { type: "button", class: "link", onclick: () => line.remove() }, "Remove"));
      lines.append(line);
    };
    for (const line of settings.providerGroups ?? []) addLine(line.claim, line.groupId);
    return h("fieldset", { class: "group", id: "provider-groups" }, h("legend", {}, "Identity provider groups"),
      h("p", { class: "hint" }, "For servers whose external users sign in through an identity provider (keyward serve --oidc-issuer). "
        + "At each sign-in, an external user is put in the Keyward group of every provider group they are in, and taken out of the mapped groups they are no longer in. "
        + "Other groups are left alone."),
      lines,
      h("div", { class: "field", "data-field": "providerGroups" }, h("p", { class: "field-error", "aria-live": "polite" })),
      readOnly ? null : h("div", { class: "actions" },
        h("button", { type: "button", id: "add-mapping", onclick: () => addLine() }, "Add a provider group")));
  }

  async function showMail(card) {
    const section = (...parts) => replace(card, h("fieldset", { class: "group" }, h("legend", {}, "E-mail"), ...parts));
    let setup;
    try {
      setup = await call("mail_setup");
    } catch (error) {
      section(h("p", { class: "form-error" }, error.message));
      return;
    }
    if (!setup.configured) {
      section(
        h("p", { id: "mail-status" }, "Not configured: invitation and reset links are handed to you to pass on."),
        h("p", { class: "hint" }, "A server sends e-mail when it is started with --smtp-url and --mail-from."));
      return;
    }
    const result = h("p", { id: "mail-test-result", role: "status" });
    const parts = [h("p", { id: "mail-status" }, `Sent through ${setup.description}.`)];
    if (session.can("MANAGE_SETTINGS")) {
      const button = h("button", { type: "button", id: "send-test-mail" }, "Send a test message");
      button.addEventListener("click", async () => {
        button.disabled = true;
        result.textContent = "Sending…";
        try {
          const sent = await call("send_test_mail", { to: null });
          result.textContent = sent.delivered
            ? `Delivered to ${sent.to}: ${sent.answer}`
            : `Could not be delivered to ${sent.to}: ${sent.answer}`;
          result.className = sent.delivered ? "" : "form-error";
        } catch (error) {
          result.textContent = error.message;
          result.className = "form-error";
        } finally {
          button.disabled = false;
        }
      });
      parts.push(h("div", { class: "actions" }, button), result);
    }
    section(...parts);
  }

  load();
}
