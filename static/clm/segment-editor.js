// Segment editor: counts the matching leads and lists a few of them while the conditions are
// edited, in the JSON or in the visual builder (which writes the JSON); no inline JS.
(function () {
  "use strict";
  var form = document.getElementById("segment-form");
  if (!form) return;
  var area = form.querySelector("textarea[name=definition]");
  var out = document.getElementById("segment-count");
  var errors = document.getElementById("segment-errors");
  var sample = document.getElementById("segment-sample");
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
          showSample([]);
        } else {
          out.textContent = Number(data.count).toLocaleString();
          errors.textContent = "";
          showSample(data.sample || []);
        }
      })
      .catch(function () { if (mine === seq) out.textContent = "?"; });
  }

  function showSample(leads) {
    if (!sample) return;
    var list = sample.querySelector("ul");
    list.textContent = "";
    leads.forEach(function (lead) {
      var link = document.createElement("a");
      link.href = lead.url;
      link.textContent = lead.name;
      var stage = document.createElement("span");
      stage.textContent = lead.stage;
      var owner = document.createElement("span");
      owner.className = "muted";
      owner.textContent = lead.owner || sample.dataset.unassigned;
      var item = document.createElement("li");
      item.append(link, stage, owner);
      list.appendChild(item);
    });
    sample.hidden = leads.length === 0;
  }

  area.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(count, 350);
  });
  count();
})();
