"use strict";
// Polls an export job's status and updates the page (no inline script: CSP forbids it).
(function () {
  const root = document.querySelector(".export-job[data-status-url]");
  if (!root) {
    return;
  }
  const url = root.dataset.statusUrl;
  const bar = root.querySelector(".export-progress");
  const percent = root.querySelector(".export-percent");
  const status = root.querySelector(".export-status");
  const error = root.querySelector(".export-error");
  const download = root.querySelector(".export-download");
  const finished = new Set(["done", "failed", "expired"]);

  function show(data) {
    bar.value = data.percent;
    bar.textContent = data.percent + "%";
    percent.textContent = data.percent + "%";
    status.textContent = data.status_label;
    if (data.error) {
      error.textContent = data.error;
      error.hidden = false;
    }
    download.hidden = !data.download_url;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((data) => {
        show(data);
        if (!finished.has(data.status)) {
          window.setTimeout(poll, 1500);
        }
      })
      .catch(() => window.setTimeout(poll, 5000));
  }

  if (!finished.has(root.dataset.status)) {
    poll();
  }
})();
