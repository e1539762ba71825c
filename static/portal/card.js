// The card page's print button (no inline scripts: the CSP allows scripts from /static only).
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll(".js-print")) {
    button.addEventListener("click", () => window.print());
  }
});
