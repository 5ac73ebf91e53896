// Every page: the phone menu, and labels for tables shown as cards on narrow screens.
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
  document.addEventListener("clm:refreshed", function (e) { label(e.target); });
})();
