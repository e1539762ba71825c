"use strict";
// Long admin filters render as <select>; choosing an option applies it (no inline script: CSP).
document.addEventListener("change", (event) => {
  const select = event.target.closest("select.admin-filter-select");
  if (select) {
    window.location.search = select.value;
  }
});
