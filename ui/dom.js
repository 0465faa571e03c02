// Small DOM helpers: elements built from data (never from HTML strings), form fields with
// their error slots, modal dialogs and short notices.

let nextId = 0;

/** h("button", {class: "primary", onclick}, "Save") — children may be strings, nodes or arrays. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "value") {
      element.value = value;
    } else if (name === "checked") {
      element.checked = Boolean(value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

export function uid(prefix = "f") {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/**
 * A labelled form control with a hint and a slot for its errors. `name` is the field name the
 * core reports errors under. `type: "select"` takes `options: [[value, label], ...]`.
 */
export function field({ label, name, type = "text", value = "", hint, options, ...rest }) {
  const id = uid(name);
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ");
  let control;
  if (type === "select") {
    control = h("select", { id, name, "aria-describedby": describedBy, ...rest },
      options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(value) }, text)));
  } else if (type === "textarea") {
    control = h("textarea", { id, name, "aria-describedby": describedBy, rows: 2, ...rest });
    control.value = value ?? "";
  } else {
    control = h("input", { id, name, type, value: value ?? "", "aria-describedby": describedBy, ...rest });
  }
  return h("div", { class: "field", "data-field": name },
    h("label", { for: id }, label),
    control,
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    h("p", { class: "field-error", id: errorId, "aria-live": "polite" }));
}

/** A group of checkboxes named `name`, one per `[value, label, {disabled, title}]`. */
export function checklist({ legend, name, items, selected = [], disabled = false, hint }) {
  const chosen = new Set(selected);
  const errorId = uid(`${name}-error`);
  return h("fieldset", { class: "field checklist", "data-field": name, "aria-describedby": errorId },
    h("legend", {}, legend),
    hint ? h("p", { class: "hint" }, hint) : null,
    items.length === 0 ? h("p", { class: "muted" }, "None yet.") : null,
    h("div", { class: "checks" }, items.map(([value, text, extra = {}]) => {
      const id = uid(name);
      return h("div", { class: "check" },
        h("input", {
          type: "checkbox", id, name, value,
          checked: chosen.has(value),
          disabled: disabled || extra.disabled,
          title: extra.title,
        }),
        h("label", { for: id, title: extra.title }, text));
    })),
    h("p", { class: "field-error", id: errorId, "aria-live": "polite" }));
}

export function checkedValues(form, name) {
  return [...form.querySelectorAll(`input[type=checkbox][name="${name}"]:checked`)].map((c) => c.value);
}

/** Clears the errors a form shows. */
export function clearErrors(form) {
  for (const slot of form.querySelectorAll(".field-error, .form-error")) slot.textContent = "";
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
}

/**
 * Shows an error from the core on the form: each field's messages next to that field, the rest
 * in the form's general slot. Focuses the first field at fault.
 */
export function showErrors(form, error) {
  clearErrors(form);
  const general = form.querySelector(".form-error");
  const leftOver = [];
  let first = null;
  for (const [name, messages] of Object.entries(error.errors ?? {})) {
    const holder = form.querySelector(`[data-field="${name}"]`);
    if (!holder || holder.closest("[hidden]")) {
      leftOver.push(...messages);
      continue;
    }
    holder.querySelector(".field-error").textContent = messages.join(" ");
    const control = holder.querySelector("input, select, textarea");
    if (control) {
      control.setAttribute("aria-invalid", "true");
      first ??= control;
    }
  }
  const fieldsShown = Object.keys(error.errors ?? {}).length > leftOver.length;
  const message = leftOver.length ? leftOver.join(" ") : fieldsShown ? "" : error.message;
  if (general) general.textContent = message;
  else if (message) notify(message, "error");
  first?.focus();
}

/** Shows the error of a save; a version conflict says that someone else changed `what` ("this role"). */
export function showSaveError(form, error, what) {
  showErrors(form, error.code === "VERSION_CONFLICT"
    ? { errors: {}, message: `Someone else changed ${what} meanwhile; nothing was saved. Open it again to see their change, then make yours.` }
    : error);
}

export function formError() {
  return h("p", { class: "form-error", role: "alert" });
}

/**
 * A modal dialog. `render(close)` returns its content; Esc closes it (the browser's own
 * <dialog> behaviour). Resolves with what `close(value)` was given.
 */
export function openDialog({ title, render, wide = false, onClose }) {
  return new Promise((resolve) => {
    const titleId = uid("dialog-title");
    const dialog = h("dialog", { class: wide ? "wide" : "", "aria-labelledby": titleId });
    let result;
    const close = (value) => {
      result = value;
      dialog.close();
    };
    dialog.addEventListener("close", () => {
      onClose?.();
      dialog.remove();
      resolve(result);
    });
    dialog.append(h("h2", { id: titleId }, title), render(close));
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector("[autofocus]")?.focus();
  });
}

/** Asks before a destructive action. Resolves true when confirmed. */
export function confirmAction({ title, message, confirm, danger = true }) {
  return openDialog({
    title,
    render: (close) => h("div", {},
      [].concat(message).map((line) => h("p", {}, line)),
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => close(false), autofocus: true }, "Cancel"),
        h("button", { type: "button", class: danger ? "danger" : "primary", onclick: () => close(true) }, confirm))),
  }).then(Boolean);
}

/**
 * True (and the error shown on the `repeat` field) when the password typed twice differs;
 * `password` names the first field.
 */
export function repeatDiffers(form, password = "password") {
  const data = new FormData(form);
  if (data.get(password) === data.get("repeat")) return false;
  showErrors(form, { errors: { repeat: ["The two passwords differ."] } });
  return true;
}

/** A short notice at the bottom of the window. */
export function notify(message, kind = "info") {
  const area = document.getElementById("notices");
  const notice = h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  area.append(notice);
  setTimeout(() => notice.remove(), kind === "error" ? 8000 : 4000);
}

export function formatTime(value) {
  if (!value) return "—";
  return new Date(value).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function formatDate(value) {
  if (!value) return "never";
  return new Date(value).toLocaleDateString(undefined, { dateStyle: "medium" });
}

/** "5 min ago", "3 days ago", or "never". */
export function ago(value) {
  if (!value) return "never";
  const seconds = Math.round((Date.now() - new Date(value).getTime()) / 1000);
  if (seconds < 60) return "just now";
  const units = [["day", 86400], ["hour", 3600], ["min", 60]];
  for (const [unit, size] of units) {
    const n = Math.floor(seconds / size);
    if (n >= 1) return `${n} ${unit}${n > 1 && unit !== "min" ? "s" : ""} ago`;
  }
  return "just now";
}

export function badge(text, kind = text.toLowerCase()) {
  return h("span", { class: `badge ${kind}` }, text);
}
