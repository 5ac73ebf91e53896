// Every page: the phone menu, labels for tables shown as cards on narrow screens, copy
// buttons, the language switch that applies on change, and confirmations of what a
// destructive button will change.
// A static file (the CSP allows no inline script); without it the menu simply stays open.
(function () {
  "use strict";
  var bar = document.getElementById("topbar");
  var toggle = document.getElementById("menu-toggle");
  if (bar && toggle) {
    bar.classList.add("foldable");
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = bar.classList.toggle("menu-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && bar.classList.contains("menu-open")) {
        bar.classList.remove("menu-open");
        toggle.setAttribute("aria-expanded", "false");
        toggle.focus();
      }
    });
  }

  // Lists shown as cards below 700 px name each value by its column heading (CSS reads
  // data-label); a cell that sets its own label keeps it.
  function label(root) {
    root.querySelectorAll("table.cards").forEach(function (table) {
      var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.textContent.trim();
      });
      Array.prototype.forEach.call(table.tBodies, function (body) {
        Array.prototype.forEach.call(body.rows, function (row) {
          Array.prototype.forEach.call(row.cells, function (cell, i) {
            if (!cell.hasAttribute("data-label") && heads[i]) cell.setAttribute("data-label", heads[i]);
          });
        });
      });
    });
  }
  label(document);
  document.addEventListener("clm:refreshed", function (e) { label(e.target); focusable(e.target); });

  // A box that scrolls sideways (a wide table on a phone) can be scrolled from the keyboard:
  // it takes focus and is named by its caption or heading (WCAG 2.1.1).
  function focusable(root) {
    root.querySelectorAll(".table-scroll, table.data, .scroll-x, pre").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.dataset.scrollFocus = "1";
        if (!box.hasAttribute("aria-label") && box.tagName !== "TABLE") box.setAttribute("role", "region");
        var heading = box.closest("section") && box.closest("section").querySelector("h2, h3");
        if (!box.hasAttribute("aria-label") && heading) box.setAttribute("aria-label", heading.textContent.trim());
      } else if (!scrolls && box.dataset.scrollFocus) {
        box.removeAttribute("tabindex");
        delete box.dataset.scrollFocus;
      }
    });
  }
  focusable(document);
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { focusable(document); }, 200);
  });

  // Copy buttons: <button type="button" class="copy" data-copy="text">; the label turns to a
  // tick for a moment. The clipboard API needs a secure context; the fallback selects a
  // hidden text area.
  function fallbackCopy(text) {
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
  function copy(text, button) {
    var done = function () {
      var label = button.textContent;
      button.textContent = "\u2713 " + (button.dataset.copied || label);
      button.setAttribute("aria-live", "polite");
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    // The label turns at once: the clipboard's promise can take a while (or wait for focus), and
    // when it refuses, the textarea fallback copies instead.
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).catch(function () { fallbackCopy(text); });
    } else {
      fallbackCopy(text);
    }
    done();
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy");
    if (!button) return;
    var source = button.dataset.copyFrom ? document.getElementById(button.dataset.copyFrom) : null;
    copy(source ? (source.value || source.textContent).trim() : button.dataset.copy, button);
  });

  // A destructive button names what it changes before it acts: data-confirm="...".
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var text = (button && button.dataset.confirm) || event.target.dataset.confirm;
    if (text && !window.confirm(text)) event.preventDefault();
  }, true);

  // Radio choices that switch a form's button to its danger style and label:
  // <input type="radio" data-button-label="Erase" data-danger>.
  document.querySelectorAll("form[data-action-button]").forEach(function (form) {
    var button = document.getElementById(form.dataset.actionButton);
    if (!button) return;
    function sync() {
      var chosen = form.querySelector("input[type=radio]:checked");
      if (!chosen) return;
      button.textContent = chosen.dataset.buttonLabel || button.textContent;
      button.classList.toggle("danger", chosen.hasAttribute("data-danger"));
      button.classList.toggle("primary", !chosen.hasAttribute("data-danger"));
    }
    form.addEventListener("change", sync);
    sync();
  });

  // The language applies as soon as it is chosen; the button stays for pages without script.
  var language = document.getElementById("language-select");
  var languageButton = document.getElementById("language-submit");
  if (language && languageButton) {
    languageButton.hidden = true;
    language.addEventListener("change", function () { language.form.submit(); });
  }
})();
