// Polls the last duplicate scan while it is queued or running, and reloads the list when it ends.
(function () {
  "use strict";
  var panel = document.getElementById("duplicate-scan-status");
  if (!panel || panel.dataset.active !== "true") {
    return;
  }
  var url = panel.dataset.statusUrl;
  var bar = panel.querySelector("progress");
  var step = panel.querySelector(".scan-step");
  var label = panel.querySelector(".scan-state");

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (scan) {
        if (!scan || !scan.exists) {
          return;
        }
        if (bar) {
          bar.value = scan.progress;
          bar.textContent = scan.progress + "%";
        }
        if (step) {
          step.textContent = scan.step;
        }
        if (label) {
          label.textContent = scan.status_label;
        }
        if (scan.active) {
          window.setTimeout(poll, 3000);
        } else {
          window.location.reload();
        }
      })
      .catch(function () {
        window.setTimeout(poll, 10000);
      });
  }
  window.setTimeout(poll, 2000);
})();
