// Two-step sign-in in the window: setting up an authenticator (QR code drawn from the path Rust
// computed, and the secret as text with Copy), the ten recovery codes shown once (Copy, Save to
// file…), and the Account dialog to set it up, get new recovery codes or turn it off. Signing
// in with a code lives in start.js; the rules are the core's.

import { call, session } from "../api.js";
import { h, replace, field, formError, showErrors, clearErrors, openDialog, confirmAction, notify } from "../dom.js";

const SVG = "http://www.w3.org/2000/svg";

/** The QR code of a set-up: its dark modules as one path, drawn with SVG elements. */
function qrCode(qr) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${qr.size} ${qr.size}`);
  svg.setAttribute("class", "qr");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "QR code for your authenticator app");
  svg.setAttribute("shape-rendering", "crispEdges");
  const back = document.createElementNS(SVG, "rect");
  back.setAttribute("width", qr.size);
  back.setAttribute("height", qr.size);
  back.setAttribute("fill", "#fff");
  const modules = document.createElementNS(SVG, "path");
  modules.setAttribute("d", qr.path);
  modules.setAttribute("fill", "#000");
  svg.append(back, modules);
  return svg;
}

async function copy(text) {
  try {
    const { clearsInSeconds } = await call("copy_secret", { secret: text });
    notify(clearsInSeconds > 0 ? `Copied — clears in ${clearsInSeconds} s.` : "Copied.");
  } catch (error) {
    notify(error.message, "error");
  }
}

/** The code field of a form: six digits from the authenticator (or a recovery code). */
export function codeField({ label = "Code from your authenticator app", hint } = {}) {
  return field({
    label, name: "code", autocomplete: "one-time-code", inputmode: "numeric", required: true,
    autofocus: true, class: "mono otp", spellcheck: "false", hint,
  });
}

/**
 * A set-up in progress: the QR code and the secret as text, then a code to confirm it with.
 * `confirm(code)` does the confirming and resolves with the recovery codes.
 */
export function setupPanel(totp, { confirm, onCancel }) {
  const form = h("form", { id: "totp-confirm-form", novalidate: true },
    codeField({ hint: "Enter the six digits your app shows now, to check that it is set up right." }),
    formError(),
    h("div", { class: "actions" },
      onCancel ? h("button", { type: "button", onclick: onCancel }, "Cancel") : null,
      h("button", { type: "submit", class: "primary", id: "totp-confirm" }, "Turn on two-step sign-in")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const button = form.querySelector("#totp-confirm");
    button.disabled = true;
    try {
      await confirm(new FormData(form).get("code").trim());
    } catch (error) {
      button.disabled = false;
      form.querySelector("[name=code]").value = "";
      showErrors(form, error);
    }
  });
  return h("div", { class: "totp-setup" },
    h("ol", { class: "steps" },
      h("li", {}, "Open an authenticator app on your phone (Microsoft Authenticator, Google Authenticator, 1Password, …) and add an account."),
      h("li", {}, "Scan this QR code, or type the key below into the app.")),
    h("div", { class: "qr-row" },
      qrCode(totp.qr),
      h("div", { class: "secret-text" },
        h("p", { class: "hint" }, "Key (if you cannot scan):"),
        h("p", { class: "mono", id: "totp-secret" }, totp.secret.replace(/(.{4})/g, "$1 ").trim()),
        h("button", { type: "button", id: "totp-secret-copy", onclick: () => copy(totp.secret) }, "Copy key"))),
    form);
}

/**
 * The recovery codes, shown this once, with Copy and Save to file…; `onDone` when the person
 * has kept them.
 */
export function recoveryPanel(codes, { onDone, done = "Done" }) {
  const pathInput = h("input", { name: "path", class: "mono", autocomplete: "off", id: "recovery-path", "aria-label": "File for the recovery codes" });
  const saveForm = h("form", { id: "recovery-save-form", novalidate: true },
    h("div", { class: "field", "data-field": "path" },
      h("label", { for: "recovery-path" }, "Save to a file"),
      h("div", { class: "path-row" }, pathInput,
        h("button", { type: "button", class: "browse", onclick: async () => {
          try {
            const chosen = await call("choose_file", { create: true, kind: "recovery" });
            if (chosen) pathInput.value = chosen;
          } catch (error) {
            notify(error.message, "error");
          }
        } }, "Browse…"),
        h("button", { type: "submit", id: "recovery-save" }, "Save to file…")),
      h("p", { class: "field-error", "aria-live": "polite" })),
    formError());
  saveForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(saveForm);
    const path = pathInput.value.trim();
    if (!path) return showErrors(saveForm, { errors: { path: ["Choose a file, or use Browse…."] } });
    try {
      await call("save_recovery_codes", { path, codes });
      notify(`Recovery codes saved to ${path}.`);
    } catch (error) {
      showErrors(saveForm, error);
    }
  });
  return h("div", { class: "recovery" },
    h("p", {}, "Each recovery code signs you in once, in place of a code, if you lose your phone."),
    h("p", { class: "warning" }, "Keep them somewhere safe now: Keyward shows them this once."),
    h("ol", { class: "recovery-codes mono", id: "recovery-codes" }, codes.map((code) => h("li", {}, code))),
    h("div", { class: "actions start-aligned" },
      h("button", { type: "button", id: "recovery-copy", onclick: () => copy(codes.join("\n")) }, "Copy all")),
    saveForm,
    h("div", { class: "actions" },
      h("button", { type: "button", class: "primary", id: "recovery-done", onclick: onDone }, done)));
}

/** A form asking for a current code before `act(code)`, e.g. new recovery codes. */
function withCode({ id, intro, button, danger = false, act }) {
  const form = h("form", { id, novalidate: true },
    h("p", {}, intro),
    codeField({ label: "Code from your authenticator app, or a recovery code" }),
    formError(),
    h("div", { class: "actions start-aligned" },
      h("button", { type: "submit", class: danger ? "danger" : "" }, button)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      await act(new FormData(form).get("code").trim());
    } catch (error) {
      form.querySelector("[name=code]").value = "";
      showErrors(form, error);
    }
  });
  return form;
}

/** Account → Two-step sign-in: set it up, or (when on) new recovery codes and turning it off. */
export function twoStepDialog({ onChanged }) {
  // Set once the account's second step changed (on, new codes, off).
  let changed = false;
  return openDialog({
    title: "Two-step sign-in",
    wide: true,
    // However it closes (Done, Close, Esc), the account is read again if it changed; a
    // dialog closed unchanged reads nothing (it may be closing for a sign-out).
    onClose: () => { if (changed) onChanged?.(); },
    render: (close) => {
      const body = h("div", { id: "two-step" });
      const finished = () => close();
      const showOff = () => replace(body,
        h("p", {}, "Two-step sign-in is off. With it on, signing in takes your password and a code from an authenticator app on your phone, so a stolen password alone is not enough."),
        h("div", { class: "actions" },
          h("button", { type: "button", onclick: () => close() }, "Close"),
          h("button", { type: "button", class: "primary", id: "totp-start", onclick: start }, "Set up…")));
      async function start() {
        try {
          const totp = await call("enroll_second_factor");
          replace(body, setupPanel(totp, {
            onCancel: () => close(),
            confirm: async (code) => {
              const codes = await call("confirm_second_factor", { code });
              changed = true;
              replace(body, h("p", { class: "ok" }, "Two-step sign-in is on."), recoveryPanel(codes, { onDone: finished }));
            },
          }));
        } catch (error) {
          notify(error.message, "error");
        }
      }
      const showOn = () => replace(body,
        h("p", { class: "ok", id: "two-step-on" }, "Two-step sign-in is on: signing in asks for a code from your authenticator app."),
        h("section", { class: "section" }, h("h3", {}, "New recovery codes"),
          withCode({
            id: "recovery-new-form", button: "Get new recovery codes",
            intro: "Your earlier recovery codes stop working.",
            act: async (code) => {
              const codes = await call("new_recovery_codes", { code });
              changed = true;
              replace(body, recoveryPanel(codes, { onDone: finished }));
            },
          })),
        h("section", { class: "section" }, h("h3", {}, "Turn off"),
          withCode({
            id: "totp-off-form", button: "Turn off two-step sign-in", danger: true,
            intro: "Signing in then takes your password alone.",
            act: async (code) => {
              const sure = await confirmAction({
                title: "Turn off two-step sign-in?",
                message: "A stolen password would then be enough to sign in as you.",
                confirm: "Turn off",
              });
              if (!sure) return;
              await call("turn_off_second_factor", { code });
              changed = true;
              notify("Two-step sign-in is off.");
              finished();
            },
          })),
        h("div", { class: "actions" }, h("button", { type: "button", onclick: () => close() }, "Close")));
      if (session.me?.secondFactor) showOn(); else showOff();
      return body;
    },
  });
}
