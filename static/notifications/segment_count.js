// Live count of a segment while its filters are edited (no inline scripts: CSP).
(function () {
  "use strict";
  const box = document.getElementById("segment-audience");
  const form = box && box.closest("form") || document.querySelector("#segment_form");
  const out = document.getElementById("segment-count");
  if (!box || !form || !out) { return; }
  let timer = null;
  function count() {
    const data = new FormData(form);
    fetch(box.getAttribute("data-count-url"), {method: "POST", body: data, credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (result) { out.textContent = result.count === null || result.count === undefined ? "-" : result.count; })
      .catch(function () { out.textContent = "?"; });
  }
  form.addEventListener("change", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(count, 400);
  });
}());
