// Polls a background job's status URL and updates its progress bar until it ends; when a job
// seen running ends, the page at data-done-url opens again (with the result and Undo button).
// A form marked data-once disables its submit button when sent: a double click posts once.
(function () {
  "use strict";
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      form.querySelectorAll("button[type=submit]").forEach(function (b) {
        // After this event: a button disabled now would leave the submission.
        setTimeout(function () { b.disabled = true; }, 0);
      });
    });
  });
  document.querySelectorAll("[data-status-url]").forEach(function (box) {
    var status = box.getAttribute("data-status");
    if (status === "done" || status === "failed") return;
    var fmt = new Intl.NumberFormat();
    function tick() {
      fetch(box.getAttribute("data-status-url"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (job) {
          box.querySelector(".job-status").textContent = job.status_display || job.status;
          box.querySelector(".job-processed").textContent = fmt.format(job.processed);
          box.querySelector(".job-total").textContent = fmt.format(job.total);
          box.querySelector(".job-changed").textContent = fmt.format(job.changed);
          box.querySelector("progress").value = job.percent;
          if (job.status !== "done" && job.status !== "failed") setTimeout(tick, 1000);
          else if (box.getAttribute("data-done-url")) window.location.assign(box.getAttribute("data-done-url"));
        })
        .catch(function () { setTimeout(tick, 5000); });
    }
    tick();
  });
})();
