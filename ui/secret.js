// The one-time reveal: a secret (API key, invitation or reset code) shown once, masked by
// default, with show/hide and copy. Copy goes through Rust, which clears the clipboard again
// after the configured delay. When the dialog closes the secret is dropped from the page.

import { call } from "./api.js";
import { h, openDialog, notify, formatTime } from "./dom.js";

let countdown = null;

/** Shows the countdown of the last copy in the status bar, whichever dialog made it. */
function startCountdown(seconds) {
  clearInterval(countdown);
  const bar = document.getElementById("clipboard-status");
  if (seconds <= 0) {
    bar.textContent = "Copied — the clipboard is not cleared automatically (see Settings).";
    for (const el of document.querySelectorAll(".copy-status")) el.textContent = bar.textContent;
    return;
  }
  let left = seconds;
  const show = () => {
    bar.textContent = left > 0 ? `Copied — clears in ${left} s` : "Clipboard cleared.";
    for (const el of document.querySelectorAll(".copy-status")) el.textContent = bar.textContent;
  };
  show();
  countdown = setInterval(() => {
    left -= 1;
    show();
    if (left <= 0) {
      clearInterval(countdown);
      setTimeout(() => { if (!countdown || left <= 0) bar.textContent = ""; }, 3000);
    }
  }, 1000);
}

/**
 * Opens the reveal dialog. `kind` words the warning; `expiresTime` is shown for codes.
 */
export function revealSecret({ title, secret, intro, expiresTime, label = "Secret" }) {
  let value = secret;
  return openDialog({
    title,
    onClose: () => { value = null; },
    render: (close) => {
      const input = h("input", {
        id: "secret-value", class: "secret mono", type: "password", readonly: true, value,
        "aria-label": label, spellcheck: "false", autocomplete: "off",
      });
      const toggle = h("button", {
        type: "button", id: "secret-toggle", "aria-pressed": "false",
        onclick: () => {
          const hidden = input.type === "password";
          input.type = hidden ? "text" : "password";
          toggle.textContent = hidden ? "Hide" : "Show";
          toggle.setAttribute("aria-pressed", String(hidden));
        },
      }, "Show");
      const status = h("p", { class: "copy-status", role: "status" });
      const copy = h("button", {
        type: "button", class: "primary", id: "secret-copy",
        onclick: async () => {
          try {
            const { clearsInSeconds } = await call("copy_secret", { secret: value });
            startCountdown(clearsInSeconds);
          } catch (error) {
            notify(error.message, "error");
          }
        },
      }, "Copy");
      return h("div", { class: "reveal" },
        h("p", {}, intro),
        h("p", { class: "warning" }, "Copy it now: Keyward shows it this once and cannot show it again."),
        h("div", { class: "secret-row" }, input, toggle, copy),
        status,
        expiresTime ? h("p", { class: "hint" }, `Valid until ${formatTime(expiresTime)}.`) : null,
        h("div", { class: "actions" },
          h("button", { type: "button", id: "secret-done", onclick: () => close(), autofocus: true }, "Done")));
    },
  });
}

/**
 * Shows an invitation or reset once: a server hands out a link to its page, a local file a
 * code that the person enters in Keyward ("I have an invitation or reset code").
 */
export function revealToken({ title, issued, purpose, person, replaced = false }) {
  const what = purpose === "invitation" ? "invitation" : "reset";
  const link = issued.link ?? null;
  const before = replaced ? `The previous ${what} no longer works. ` : "";
  const mailed = issued.mail
    ? `Keyward is e-mailing this link to ${issued.mail.to}; the user's page says when it is delivered. You can also copy it and send it yourself: `
    : "Send this link to " + person + ": ";
  const intro = link
    ? `${before}${mailed}it opens a page where they choose their password.`
    : `${before}Give this code to ${person}. In Keyward they choose “I have an invitation or reset code” on the sign-in screen.`;
  return revealSecret({
    title, intro,
    secret: link ?? issued.token,
    expiresTime: issued.expiresTime,
    label: `${purpose === "invitation" ? "Invitation" : "Reset"} ${link ? "link" : "code"}`,
  });
}
