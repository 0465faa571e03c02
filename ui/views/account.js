// The signed-in user's own account: change password (old and new).

import { call, session } from "../api.js";
import { h, field, formError, showErrors, openDialog, repeatDiffers, notify } from "../dom.js";

export function changePassword() {
  return openDialog({
    title: "Change your password",
    render: (close) => {
      const form = h("form", { id: "password-form", novalidate: true },
        field({ label: "Current password", name: "oldPassword", type: "password", autocomplete: "current-password", autofocus: true }),
        field({ label: "New password", name: "newPassword", type: "password", autocomplete: "new-password",
          hint: `At least ${session.settings?.passwordMinLength ?? 15} characters. Your other sessions end.` }),
        field({ label: "Repeat the new password", name: "repeat", type: "password", autocomplete: "new-password" }),
        formError(),
        h("div", { class: "actions" },
          h("button", { type: "button", onclick: () => close() }, "Cancel"),
          h("button", { type: "submit", class: "primary" }, "Change password")));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const data = new FormData(form);
        if (repeatDiffers(form, "newPassword")) return;
        try {
          const result = await call("change_password", { oldPassword: data.get("oldPassword"), newPassword: data.get("newPassword") });
          if (result.succeeded) {
            close();
            notify("Password changed.");
          } else {
            const on = (wrongOld) => result.errors.filter((e) => (e.code === "PASSWORD_MISMATCH") === wrongOld).map((e) => e.description);
            const errors = { oldPassword: on(true), newPassword: on(false) };
            for (const name of Object.keys(errors)) if (!errors[name].length) delete errors[name];
            showErrors(form, { errors });
          }
        } catch (error) {
          showErrors(form, error);
        }
      });
      return form;
    },
  });
}
