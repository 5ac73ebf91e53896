// The mix model page: while a fit runs, poll its status, move the progress bar and keep the
// Fit button disabled; when it ends, open the page again to show the new fit.
(function () {
  "use strict";
  var box = document.getElementById("mix-status");
  if (!box) return;
  var button = document.getElementById("fit-button");
  var seenRunning = Boolean(document.getElementById("fit-running"));
  function tick() {
    fetch(box.getAttribute("data-mix-status-url"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (s) {
        if (button) button.disabled = Boolean(s.running);
        if (s.running) {
          seenRunning = true;
          var bar = document.getElementById("fit-progress");
          if (bar) bar.value = s.running.percent;
          var text = document.getElementById("fit-percent");
          if (text) text.textContent = s.running.percent + "%";
          setTimeout(tick, 1000);
        } else if (seenRunning) {
          window.location.reload();
        }
      })
      .catch(function () { setTimeout(tick, 5000); });
  }
  if (seenRunning) tick();
})();
