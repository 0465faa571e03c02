// Before anyone is signed in: first-run setup of a new directory (its first SuperAdmin),
// sign-in, and setting a password with an invitation or reset code.

import { call, session } from "../api.js";
import { h, replace, field, formError, showErrors, clearErrors, repeatDiffers, notify } from "../dom.js";
import { codeField, setupPanel, recoveryPanel } from "./twostep.js";

export function render(view, { onSignedIn }) {
  const show = (screen) => replace(view, screen());

  const card = (title, intro, form, footer) =>
    h("section", { class: "start" },
      h("div", { class: "card" },
        h("p", { class: "brand-mark", "aria-hidden": "true" }, "Keyward"),
        h("h1", {}, title),
        intro ? h("p", { class: "muted" }, intro) : null,
        form,
        footer ? h("div", { class: "card-footer" }, footer) : null));

  const otherFile = h("a", { href: "#/directory", id: "connections-link" }, "Other connections and files");

  function setup() {
    const form = h("form", { id: "setup-form", novalidate: true },
      field({ label: "User name", name: "userName", autocomplete: "username", required: true, autofocus: true }),
      field({ label: "Display name", name: "displayName", autocomplete: "name", hint: "How the name appears in lists; defaults to the user name." }),
      field({ label: "E-mail", name: "email", type: "email", autocomplete: "email", required: true }),
      field({
        label: "Password", name: "password", type: "password", autocomplete: "new-password", required: true,
        hint: `At least ${session.settings?.passwordMinLength ?? 15} characters. A few unrelated words make a strong, memorable password.`,
      }),
      field({ label: "Repeat the password", name: "repeat", type: "password", autocomplete: "new-password", required: true }),
      formError(),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create the SuperAdmin")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      if (repeatDiffers(form)) return;
      clearErrors(form);
      try {
        await call("set_up", { admin: {
          userName: data.get("userName"), displayName: data.get("displayName"),
          email: data.get("email"), password: data.get("password"),
        } });
        onSignedIn();
      } catch (error) {
        showErrors(form, error);
      }
    });
    return card("Set up this directory",
      "This directory is new. Create its first SuperAdmin: the account that can do everything, including adding the other administrators.",
      form, otherFile);
  }

  /**
   * Signing in through the server's identity providers (SPEC 11): a button for each, and
   * what stopped the last attempt. On a local file, why external users cannot sign in here.
   */
  function providerChoices(providerError) {
    if (!session.connection.remote) {
      return h("p", { class: "muted small", id: "external-note" },
        "External users, whose accounts live in your organisation's identity provider, sign in on a Keyward server, not on a local file.");
    }
    const error = h("p", { class: "form-error", id: "provider-error", role: "alert" }, providerError ?? "");
    const section = h("div", { class: "providers", id: "providers", hidden: !providerError }, error);
    call("sign_in_providers").then((providers) => {
      if (!providers.length) return;
      section.prepend(
        h("p", { class: "or", "aria-hidden": "true" }, "or"),
        ...providers.map((provider) => h("button", {
          type: "button", class: "provider", "data-provider": provider.id,
          onclick: () => show(() => throughProvider(provider)),
        }, `Sign in with ${provider.name}`)));
      section.hidden = false;
    }, () => { /* The server is away: the banner says so, and the password form stays. */ });
    return section;
  }

  /**
   * Waiting while the person signs in at the provider in the system browser. The trip has an
   * id: Cancel ends that trip only. Once this card is gone (another screen, another trip), a
   * late failure changes nothing on screen; a late success still signs in, since it did.
   */
  function throughProvider(provider) {
    let trip = null;
    let cancelled = false;
    const status = h("p", { class: "busy", id: "provider-waiting" }, "Opening your browser…");
    const address = h("div", { id: "provider-address" });
    const cancel = h("button", {
      type: "button", id: "provider-cancel",
      onclick: () => {
        cancelled = true;
        if (trip) call("cancel_provider_sign_in", { id: trip.id }).catch(() => {});
        show(signIn);
      },
    }, "Cancel");
    const screen = card(`Sign in with ${provider.name}`,
      `${provider.name} checks who you are in your browser; this server then signs you in to Keyward. The browser tab can be closed afterwards.`,
      h("div", { id: "provider-trip" }, status, address, h("div", { class: "actions" }, cancel)), null);
    (async () => {
      try {
        trip = await call("start_provider_sign_in", { id: provider.id });
        if (cancelled) {
          await call("cancel_provider_sign_in", { id: trip.id });
          return;
        }
        status.textContent = trip.browserOpened
          ? "Waiting for you to sign in, in the browser window that opened…"
          : "No browser could be opened. Open this address in one:";
        const link = h("input", { class: "mono", id: "provider-url", readonly: true, value: trip.url, "aria-label": "Sign-in address" });
        link.addEventListener("focus", () => link.select());
        replace(address, trip.browserOpened
          ? h("details", {}, h("summary", {}, "No browser window?"),
            h("p", { class: "muted" }, "Open this address in your browser:"), link)
          : link);
        await call("await_provider_sign_in", { id: trip.id });
        onSignedIn();
      } catch (error) {
        if (!cancelled && screen.isConnected) show(() => signIn(error.errors?.provider?.join(" ") ?? error.message));
      }
    })();
    return screen;
  }

  function signIn(providerError) {
    const form = h("form", { id: "sign-in-form", novalidate: true },
      field({ label: "User name", name: "userName", autocomplete: "username", required: true, autofocus: true }),
      field({ label: "Password", name: "password", type: "password", autocomplete: "current-password", required: true }),
      formError(),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Sign in")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      clearErrors(form);
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const reply = await call("sign_in", { userName: data.get("userName"), password: data.get("password") });
        if (reply.step === "SECOND_FACTOR") show(secondStep);
        else if (reply.step === "ENROLLMENT") show(enrolment);
        else onSignedIn();
      } catch (error) {
        button.disabled = false;
        form.querySelector("[name=password]").value = "";
        showErrors(form, error);
      }
    });
    return card("Sign in", session.connection.remote ? `to ${session.connection.place}` : null,
      h("div", {}, form, providerChoices(providerError)), [
      h("a", { href: "#", id: "have-code", onclick: (e) => { e.preventDefault(); show(redeem); } }, "I have an invitation or reset code"),
      h("a", { href: "#", id: "use-key", onclick: (e) => { e.preventDefault(); show(withKey); } }, "Use an API key instead"),
      otherFile,
    ]);
  }

  /** The password was right: a code from the authenticator (or a recovery code) follows. */
  function secondStep() {
    let recovery = false;
    const holder = h("div", {});
    const form = h("form", { id: "code-form", novalidate: true }, holder, formError(),
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => show(signIn) }, "Back"),
        h("button", { type: "submit", class: "primary" }, "Sign in")));
    const toggle = h("a", { href: "#", id: "use-recovery" });
    const mode = () => {
      replace(holder, recovery
        ? field({ label: "Recovery code", name: "code", autocomplete: "off", required: true, autofocus: true, class: "mono", spellcheck: "false",
          hint: "One of the codes you kept when you set up two-step sign-in. Each works once." })
        : codeField({ hint: "The six digits your authenticator app shows for Keyward now." }));
      toggle.textContent = recovery ? "Use a code from the app instead" : "Use a recovery code";
      holder.querySelector("input").focus();
    };
    toggle.addEventListener("click", (e) => { e.preventDefault(); recovery = !recovery; clearErrors(form); mode(); });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        await call("finish_sign_in", { code: new FormData(form).get("code").trim() });
        onSignedIn();
      } catch (error) {
        button.disabled = false;
        form.querySelector("[name=code]").value = "";
        if (error.errors?.challengeToken) {
          show(signIn);
          notify(error.errors.challengeToken.join(" "), "error");
        } else {
          showErrors(form, error);
        }
      }
    });
    mode();
    return card("Two-step sign-in", "Enter the code from your authenticator app.", form, [toggle, otherFile]);
  }

  /** The directory requires a second step of this account: set it up now, then sign in. */
  function enrolment() {
    const body = h("div", { id: "enrolment" }, h("p", { class: "busy" }, "Preparing…"));
    (async () => {
      try {
        const totp = await call("enroll_at_sign_in");
        replace(body, setupPanel(totp, {
          onCancel: () => show(signIn),
          confirm: async (code) => {
            let done;
            try {
              done = await call("confirm_at_sign_in", { code });
            } catch (error) {
              // Five minutes passed since the password: start again from it.
              if (!error.errors?.challengeToken) throw error;
              show(signIn);
              notify(error.errors.challengeToken.join(" "), "error");
              return;
            }
            replace(body, h("p", { class: "ok" }, "Two-step sign-in is on, and you are signed in."),
              recoveryPanel(done.recoveryCodes, { onDone: onSignedIn, done: "Continue" }));
          },
        }));
      } catch (error) {
        show(signIn);
        notify(error.message, "error");
      }
    })();
    return card("Set up two-step sign-in",
      "Your directory requires two-step sign-in for your account: a code from an authenticator app on your phone, after your password. Set it up now to sign in.",
      body, null);
  }

  function withKey() {
    const form = h("form", { id: "key-form", novalidate: true },
      field({ label: "API key", name: "key", type: "password", autocomplete: "off", required: true, autofocus: true, class: "mono",
        hint: "Work as the key's owner, with the owner's permissions. The key stays in this app's memory only." }),
      formError(),
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => show(signIn) }, "Back"),
        h("button", { type: "submit", class: "primary" }, "Use the key")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      try {
        await call("sign_in_with_key", { key: new FormData(form).get("key") });
        onSignedIn();
      } catch (error) {
        form.querySelector("[name=key]").value = "";
        showErrors(form, error);
      }
    });
    return card("Use an API key", null, form, null);
  }

  function redeem() {
    const form = h("form", { id: "redeem-form", novalidate: true },
      field({ label: "Code or link", name: "token", autocomplete: "off", required: true, autofocus: true, class: "mono", hint: "The invitation or password-reset code (or link) your administrator gave you." }),
      field({ label: "New password", name: "password", type: "password", autocomplete: "new-password", required: true }),
      field({ label: "Repeat the password", name: "repeat", type: "password", autocomplete: "new-password", required: true }),
      formError(),
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => show(signIn) }, "Back"),
        h("button", { type: "submit", class: "primary" }, "Set password")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      if (repeatDiffers(form)) return;
      try {
        const user = await call("redeem_code", { code: data.get("token"), password: data.get("password") });
        show(signIn);
        view.querySelector("[name=userName]").value = user.userName;
        view.querySelector("[name=password]").focus();
        notify(`Password set for ${user.userName}. Sign in with it now.`);
      } catch (error) {
        showErrors(form, error);
      }
    });
    return card("Set your password", "Use the code from your invitation or password reset.", form, null);
  }

  show(session.connection.needsSetup ? setup : signIn);
}
