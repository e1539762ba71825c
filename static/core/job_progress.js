"use strict";
// Live progress of a background job (imports, list matching): poll the job's JSON endpoint, move the
// bar, and reload the page once the job has left the state it was in (no inline script: CSP).
(function () {
  const box = document.querySelector("[data-progress-url]");
  if (!box) {
    return;
  }
  const url = box.dataset.progressUrl;
  const startStatus = box.dataset.status;
  const bar = box.querySelector("progress");
  const percent = box.querySelector("[data-progress-percent]");
  const done = box.querySelector("[data-progress-done]");
  const total = box.querySelector("[data-progress-total]");
  let failures = 0;

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then((data) => {
        failures = 0;
        bar.value = data.percent;
        bar.textContent = data.percent + "%";
        percent.textContent = data.percent;
        done.textContent = data.rows_done.toLocaleString();
        total.textContent = data.rows_total.toLocaleString();
        if (data.status !== startStatus || data.finished) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, 1000);
      })
      .catch(() => {
        failures += 1;
        if (failures < 30) {
          window.setTimeout(poll, 2000);
        }
      });
  }
  window.setTimeout(poll, 1000);
})();
