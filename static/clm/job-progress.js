// Polls a background job's status URL and updates its progress bar until it ends.
(function () {
  "use strict";
  document.querySelectorAll("[data-status-url]").forEach(function (box) {
    var status = box.getAttribute("data-status");
    if (status === "done" || status === "failed") return;
    var fmt = new Intl.NumberFormat();
    function tick() {
      fetch(box.getAttribute("data-status-url"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (job) {
          box.querySelector(".job-status").textContent = job.status;
          box.querySelector(".job-processed").textContent = fmt.format(job.processed);
          box.querySelector(".job-total").textContent = fmt.format(job.total);
          box.querySelector(".job-changed").textContent = fmt.format(job.changed);
          box.querySelector("progress").value = job.percent;
          if (job.status !== "done" && job.status !== "failed") setTimeout(tick, 1000);
        })
        .catch(function () { setTimeout(tick, 5000); });
    }
    tick();
  });
})();
