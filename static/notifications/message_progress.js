// Polls a message's progress while it is being prepared or sent (no inline scripts: CSP).
(function () {
  "use strict";
  const box = document.getElementById("message-progress");
  if (!box) { return; }
  const running = new Set(["queued", "sending"]);
  function show(data) {
    box.querySelectorAll("[data-field]").forEach(function (el) {
      const name = el.getAttribute("data-field");
      if (name === "bar") { el.value = data.percent; el.textContent = data.percent + "%"; }
      else if (name in data) { el.textContent = data[name]; }
    });
    box.setAttribute("data-status", data.status);
  }
  function poll() {
    fetch(box.getAttribute("data-progress-url"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        show(data);
        if (running.has(data.status)) { window.setTimeout(poll, 2000); }
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }
  if (running.has(box.getAttribute("data-status"))) { window.setTimeout(poll, 1000); }
}());
