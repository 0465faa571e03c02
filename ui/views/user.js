// One user: edit the details, roles, groups and status (with the version read, so a
// concurrent change is refused, not overwritten), reset the password, send a new invitation,
// delete, and the user's API keys.

import { call, session, names } from "../api.js";
import {
  h, replace, field, checklist, checkedValues, formError, showErrors, clearErrors, confirmAction,
  notify, badge, formatTime,
} from "../dom.js";
import { revealToken } from "../secret.js";
import { roleItems } from "./users.js";
import { keyTable, newKey, mayCreateFor } from "./keys.js";

/** The roles a user holds directly and through their groups. */
function heldRoles(user) {
  const roleIds = new Set(user.roles);
  for (const group of names.groups) if (user.groups.includes(group.id)) group.roles.forEach((r) => roleIds.add(r));
  return names.roles.filter((role) => roleIds.has(role.id));
}

/** Whether the user holds SIGN_IN through their roles or groups; unknown (true) without VIEW_ROLE. */
function canSignIn(user) {
  if (!names.roles.length) return true;
  return heldRoles(user).some((role) => role.permissions.includes("SIGN_IN"));
}

/**
 * The core's rule, mirrored to hide what it would refuse: nobody manages a user holding a
 * permission they lack themselves (so an Administrator never manages a SuperAdmin).
 */
function mayManage(user) {
  const held = new Set(session.me.permissions);
  return heldRoles(user).every((role) => role.permissions.every((p) => held.has(p)));
}

/** What became of the last invitation or reset e-mailed to the user: a tone and one line. */
function mailLine(mail) {
  const what = mail.kind === "PASSWORD_RESET" ? "Password reset" : "Invitation";
  if (mail.status === "SENT") return ["sent", `${what} e-mailed to ${mail.to} at ${formatTime(mail.time)}.`];
  if (mail.status === "SENDING") return ["sending", `${what} to ${mail.to}: sending…`];
  if (mail.status === "NOT_SENT") return ["not-sent", `${what} to ${mail.to} not sent: ${mail.reason ?? "no longer needed"}.`];
  const retry = mail.nextAttemptTime
    ? ` Trying again at ${formatTime(mail.nextAttemptTime)}.`
    : ` For a new link to copy, use “${what === "Invitation" ? "Send new invite" : "Reset password"}”.`;
  return ["failed", `${what} to ${mail.to} could not be delivered: ${mail.reason ?? "no reason given"} — copy the link instead.${retry}`];
}

/** Is a message still on its way (so that its line is worth refreshing)? */
function pending(mail) {
  return mail && (mail.status === "SENDING" || (mail.status === "FAILED" && mail.nextAttemptTime));
}

export function render(view, { id }) {
  let alive = true;

  /** The e-mail line, refreshed every few seconds while the message is on its way. */
  function mailStatus(user) {
    const line = h("p", { id: "mail-delivery", class: "mail-status", role: "status" });
    const fill = (mail) => {
      const [tone, text] = mailLine(mail);
      line.dataset.tone = tone;
      line.textContent = text;
    };
    fill(user.mail);
    // Every 2 s while sending; while waiting for a retry, until its time (at most a minute).
    const delay = (mail) => mail.status === "SENDING" ? 2000
      : Math.min(60000, Math.max(2000, new Date(mail.nextAttemptTime).getTime() - Date.now() + 1000));
    const refresh = async () => {
      if (!alive || !line.isConnected) return;
      let next = 10000; // after an error: keep trying, less often
      try {
        const fresh = await call("get_user", { id: user.id });
        if (fresh.mail) fill(fresh.mail);
        if (!pending(fresh.mail)) return;
        next = delay(fresh.mail);
      } catch {
        // The line says what it knew; the next try may know more.
      }
      setTimeout(refresh, next);
    };
    if (pending(user.mail)) setTimeout(refresh, delay(user.mail));
    return line;
  }

  // Groups the identity provider sets for external users at each sign-in (SPEC 11).
  let mapped = new Set();

  async function load() {
    let user;
    try {
      user = await call("get_user", { id });
      if (user.type === "EXTERNAL") {
        const settings = await call("get_settings");
        mapped = new Set((settings.providerGroups ?? []).map((line) => line.groupId));
      }
    } catch (error) {
      replace(view, h("p", {}, h("a", { href: "#/users" }, "← Users")), h("p", { class: "form-error" }, error.message));
      return;
    }
    if (alive) show(user);
  }

  function show(user) {
    const self = user.id === session.me.id;
    const manageable = self || mayManage(user);
    const mayEdit = session.can("EDIT_USER") && manageable;
    const external = user.type === "EXTERNAL";
    const statusField = field({ label: "Status", name: "status", type: "select", value: user.status, disabled: !mayEdit,
      options: [
        ["ACTIVE", "Active"],
        ["INACTIVE", "Deactivated: cannot sign in, keys stop working"],
        ...(user.status !== "ACTIVE" ? [["INVITED", "Invited: sets a password with an invitation code"]] : []),
      ] });
    const form = h("form", { id: "user-form", novalidate: true },
      h("div", { class: "columns" },
        h("div", {},
          field({ label: "User name", name: "userName", value: user.userName, disabled: !mayEdit, autocomplete: "off" }),
          field({ label: "Display name", name: "displayName", value: user.displayName, disabled: !mayEdit, autocomplete: "off" }),
          field({ label: "E-mail", name: "email", type: "email", value: user.email, disabled: !mayEdit, autocomplete: "off" }),
          statusField),
        h("div", {},
          names.roles.length ? checklist({
            legend: "Roles", name: "roles", items: roleItems(), selected: user.roles, disabled: !mayEdit || external,
            hint: external ? "An external user keeps the roles given when it was added; they cannot be changed here. Give more through groups." : null,
          }) : null,
          names.groups.length ? checklist({
            legend: "Groups", name: "groups", selected: user.groups, disabled: !mayEdit,
            items: names.groups.map((g) => external && mapped.has(g.id)
              ? [g.id, `${g.name} (from the identity provider)`, { disabled: true, title: "Set from the identity provider at each sign-in" }]
              : [g.id, g.name]),
            hint: external && mapped.size
              ? "Members also hold the roles of their groups. Groups marked \u201cfrom the identity provider\u201d are set at each sign-in through it."
              : "Members also hold the roles of their groups.",
          }) : null)),
      formError(),
      mayEdit ? h("div", { class: "actions" },
        h("button", { type: "reset", onclick: (e) => { e.preventDefault(); load(); } }, "Discard changes"),
        h("button", { type: "submit", class: "primary", id: "save-user" }, "Save")) : null);

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const update = {
        userName: data.get("userName"), displayName: data.get("displayName"), email: data.get("email"),
        updateVersion: user.updateVersion,
      };
      // Only lists the editor was shown are sent: an absent list leaves memberships alone.
      if (form.querySelector("[data-field=groups]")) update.groups = checkedValues(form, "groups");
      if (!external && form.querySelector("[data-field=roles]")) update.roles = checkedValues(form, "roles");
      if (data.get("status")) update.status = data.get("status");
      if (update.status === "INACTIVE" && user.status !== "INACTIVE") {
        const sure = await confirmAction({
          title: `Deactivate ${user.userName}?`,
          message: "Their sessions end at once and their API keys stop working until they are activated again.",
          confirm: "Deactivate",
        });
        if (!sure) return;
      }
      clearErrors(form);
      try {
        const saved = await call("update_user", { id: user.id, update });
        notify(`Saved ${saved.userName}.`);
        show(saved);
      } catch (error) {
        if (error.code === "VERSION_CONFLICT") {
          showErrors(form, { errors: {}, message: "Someone else changed this user meanwhile. Nothing was saved: reload to see their change, then make yours again." });
          form.querySelector(".form-error").append(" ",
            h("button", { type: "button", class: "link", onclick: load }, "Reload"));
        } else {
          showErrors(form, error);
        }
      }
    });

    const actions = h("div", { class: "head-actions" },
      user.status === "INVITED" && session.can("CREATE_USER") && manageable
        ? h("button", { type: "button", id: "send-invite", onclick: () => invite(user) }, "Send new invite") : null,
      user.type === "NATIVE" && user.status === "ACTIVE" && session.can("RESET_PASSWORD") && manageable
        ? h("button", { type: "button", id: "reset-password", onclick: () => resetPassword(user) }, "Reset password") : null,
      user.secondFactor && !self && session.can("RESET_PASSWORD") && manageable
        ? h("button", { type: "button", id: "remove-two-step", onclick: () => removeSecondFactor(user) }, "Remove two-step sign-in") : null,
      session.can("DELETE_USER") && !self && manageable
        ? h("button", { type: "button", class: "danger-text", id: "delete-user", onclick: () => remove(user) }, "Delete") : null);

    const keysSection = h("section", { class: "section" });
    replace(view,
      h("p", { class: "crumbs" }, h("a", { href: "#/users" }, "← Users")),
      h("div", { class: "page-head" },
        h("div", {},
          h("h1", {}, user.displayName, " ", badge(user.status)),
          h("p", { class: "muted" }, `${user.userName} · ${user.type === "NATIVE" ? "managed here" : "external"} · created ${formatTime(user.createdTime)} · last sign-in ${formatTime(user.lastLoginTime)}`),
          h("p", { class: "muted", id: "two-step-status" }, `Two-step sign-in: ${user.secondFactor ? "on" : "off"}`)),
        actions),
      user.mail ? mailStatus(user) : null,
      form, keysSection);
    if (self || session.can("VIEW_KEYS")) showKeys(user, keysSection);
  }

  async function showKeys(user, section) {
    try {
      const keys = await call("list_user_keys", { userId: user.id });
      replace(section,
        h("div", { class: "section-head" }, h("h2", {}, "API keys"),
          mayCreateFor(user) && user.status === "ACTIVE" ? h("button", { type: "button", id: "new-key-for-user", onclick: () => newKey({ owner: user, onCreated: () => showKeys(user, section) }) }, "New key") : null),
        keyTable(keys, { ownerCanSignIn: canSignIn(user), reload: () => showKeys(user, section) }));
    } catch (error) {
      replace(section, h("p", { class: "form-error" }, error.message));
    }
  }

  async function invite(user) {
    try {
      const issued = await call("send_invitation", { id: user.id });
      await revealToken({
        title: `New invitation for ${user.userName}`,
        issued, purpose: "invitation", person: user.displayName, replaced: true,
      });
      if (issued.mail) load();
    } catch (error) {
      notify(error.message, "error");
    }
  }

  async function resetPassword(user) {
    const sure = await confirmAction({
      title: `Reset the password of ${user.userName}?`,
      message: `You get a one-time ${session.connection.remote ? "link" : "code"}, valid one hour, with which they set a new password. Their current password keeps working until then.`,
      confirm: session.connection.remote ? "Get reset link" : "Get reset code", danger: false,
    });
    if (!sure) return;
    try {
      const issued = await call("reset_password", { id: user.id });
      await revealToken({
        title: `Password reset for ${user.userName}`,
        issued, purpose: "reset", person: user.displayName,
      });
      if (issued.mail) load();
    } catch (error) {
      notify(error.message, "error");
    }
  }

  async function removeSecondFactor(user) {
    const sure = await confirmAction({
      title: `Remove two-step sign-in of ${user.userName}?`,
      message: ["For a lost phone: they then sign in with their password alone, and set up a new authenticator where the directory requires one.",
        "Make sure it is really them asking."],
      confirm: "Remove two-step sign-in",
    });
    if (!sure) return;
    try {
      const saved = await call("remove_second_factor", { id: user.id });
      notify(`Two-step sign-in removed for ${saved.userName}.`);
      show(saved);
    } catch (error) {
      notify(error.message, "error");
    }
  }

  async function remove(user) {
    const sure = await confirmAction({
      title: `Delete ${user.userName}?`,
      message: ["Their API keys and sessions are deleted with them. The audit log keeps their history.",
        "To keep the account but stop its access, deactivate it instead."],
      confirm: "Delete user",
    });
    if (!sure) return;
    try {
      await call("delete_user", { id: user.id });
      notify(`Deleted ${user.userName}.`);
      location.hash = "#/users";
    } catch (error) {
      notify(error.message, "error");
    }
  }

  load();
  return () => { alive = false; };
}
