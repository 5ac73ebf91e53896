// Tracked-link builder: live preview (tagged URL + channel by the real rules); its copy
// buttons are app.js's. Loaded as a static file: no inline handlers, so a strict CSP can apply.
(function () {
  "use strict";

  var form = document.getElementById("link-builder");
  if (!form) return;
  var box = document.getElementById("link-preview");
  var timer = null;
  var seq = 0;

  function list(id, items) {
    var ul = document.getElementById(id);
    ul.textContent = "";
    items.forEach(function (text) {
      var li = document.createElement("li");
      li.textContent = text;
      ul.appendChild(li);
    });
  }

  function preview() {
    var params = new URLSearchParams();
    ["destination", "source", "medium", "content", "term"].forEach(function (name) {
      params.set(name, form.elements[name].value);
    });
    if (!params.get("destination") || !params.get("source") || !params.get("medium")) {
      box.hidden = true;
      return;
    }
    var mine = ++seq;
    fetch(form.dataset.previewUrl + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (mine !== seq) return;
        box.hidden = false;
        box.className = "preview " + (data.ok ? "ok" : "bad");
        document.getElementById("preview-channel").textContent = data.channel || "—";
        document.getElementById("preview-url").textContent = data.url || "";
        var errors = [];
        Object.keys(data.errors).forEach(function (k) {
          data.errors[k].forEach(function (e) { errors.push(k + ": " + e); });
        });
        list("preview-errors", errors);
        list("preview-warnings", data.warnings);
      });
  }

  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(preview, 250);
  });
  preview();
})();
