// Segment editor: counts the matching leads while the conditions are edited (no inline JS).
(function () {
  "use strict";
  var form = document.getElementById("segment-form");
  if (!form) return;
  var area = form.querySelector("textarea[name=definition]");
  var out = document.getElementById("segment-count");
  var errors = document.getElementById("segment-errors");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var timer = null;
  var seq = 0;

  function count() {
    var mine = ++seq;
    var body = new URLSearchParams();
    body.set("definition", area.value);
    fetch(form.dataset.countUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/x-www-form-urlencoded" },
      body: body,
      credentials: "same-origin",
    })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (mine !== seq) return;
        if (data.errors) {
          out.textContent = "—";
          errors.textContent = data.errors.join(" · ");
        } else {
          out.textContent = Number(data.count).toLocaleString();
          errors.textContent = "";
        }
      })
      .catch(function () { if (mine === seq) out.textContent = "?"; });
  }

  area.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(count, 350);
  });
  count();
})();
