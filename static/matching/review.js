"use strict";
// Keyboard review of list-matching rows: every link or button with a data-key attribute is
// triggered by that key (1-9 confirm a candidate, r: none of them, n/p: next/previous row,
// u: next row to decide). Keys typed into form fields are left alone.
(function () {
  const page = document.querySelector("[data-review]");
  if (!page) {
    return;
  }
  let busy = false;
  document.addEventListener("keydown", (event) => {
    if (busy || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) {
      return;
    }
    const target = event.target;
    if (target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))) {
      return;
    }
    const key = event.key.toLowerCase();
    const control = page.querySelector('[data-key="' + CSS.escape(key) + '"]');
    if (!control) {
      return;
    }
    event.preventDefault();
    busy = true; // one decision per key press: a held key must not post twice
    if (control.tagName === "A") {
      window.location.assign(control.href);
    } else if (control.form) {
      control.form.requestSubmit(control);
    }
  });
})();
