// Tracked-link builder: live preview (tagged URL + channel by the real rules) and copy
// buttons. Loaded as a static file: no inline handlers, so a strict CSP can apply.
(function () {
  "use strict";

  function copy(text, button) {
    var done = function () {
      var label = button.textContent;
      button.textContent = "✓";
      setTimeout(function () { button.textContent = label; }, 1200);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
    } else {
      fallback(text);
      done();
    }
  }

  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "absolute";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing else to try */ }
    document.body.removeChild(area);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy");
    if (button) copy(button.dataset.copy, button);
  });

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
