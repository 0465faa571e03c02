// The footer of the role and group editors: Delete (asks first), Cancel/Close, Save/Create.

import { call } from "../api.js";
import { h, confirmAction, notify, showErrors } from "../dom.js";

/**
 * `kind` is "role" or "group"; `existing` the one being edited (null when creating); `form()` the editor's form; `warning`
 * says what deleting it does. A read-only editor offers only Close.
 */
export function editorActions({ kind, existing, readOnly, form, close, warning }) {
  const remove = async () => {
    const sure = await confirmAction({ title: `Delete the ${kind} ${existing.name}?`, message: warning, confirm: `Delete ${kind}` });
    if (!sure) return;
    try {
      await call(`delete_${kind}`, { id: existing.id });
      close(true);
      notify(`Deleted ${existing.name}.`);
    } catch (error) {
      showErrors(form(), error);
    }
  };
  return h("div", { class: "actions" },
    existing && !readOnly ? h("button", { type: "button", class: "danger-text left", id: `delete-${kind}`, onclick: remove }, "Delete") : null,
    h("button", { type: "button", onclick: () => close(), autofocus: readOnly }, readOnly ? "Close" : "Cancel"),
    readOnly ? null : h("button", { type: "submit", class: "primary" }, existing ? "Save" : `Create ${kind}`));
}
