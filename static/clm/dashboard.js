// Dashboards: draw the server-built plotly figures, sort tables, keep the page live.
// Data comes from <script type="application/json"> blocks; nothing is evaluated as HTML.
(function () {
  "use strict";
  var config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

  var NARROW = 560;  // px of chart width below which a figure is re-laid for a phone
  var ISO_DATE = /^\d{4}-\d{2}(-\d{2})?/;

  function flip(template) {
    if (typeof template !== "string") return template;
    return template.split("%{x").join("%{\u0000").split("%{y").join("%{x").split("%{\u0000").join("%{y");
  }

  function swap(axis) {
    // An axis turned sideways keeps its format; few enough ticks that labels never touch.
    return Object.assign({}, axis || {}, { tickangle: 0, automargin: true, nticks: 4 });
  }

  // How many rows a horizontal legend of these traces takes in `width` px: entries are packed
  // left to right, each about 7 px a character plus its symbol and a gap.
  function legendRows(data, width) {
    var seen = {}, rows = 0, used = width;
    data.forEach(function (t) {
      if (t.showlegend === false || !t.name) return;
      var key = t.legendgroup || t.name;
      if (seen[key]) return;
      seen[key] = true;
      var entry = String(t.name).length * 7 + 46;
      if (used + entry > width) { rows += 1; used = 0; }
      used += entry;
    });
    return rows;
  }

  // The server builds one figure for every width; here it is laid out for the width it gets.
  // Vertical bars over categories whose names would not fit side by side become horizontal
  // bars (names read left of their bar, never rotated or cut); axes make room for their
  // labels; the legend sits above the plot, clear of them. On a phone, dates get fewer ticks
  // and the mode bar (it would cover the legend; a finger cannot hover) is left out.
  function fit(fig, width) {
    var layout = Object.assign({}, fig.layout || {});
    var data = fig.data || [];
    var narrow = width < NARROW;
    delete layout.width;
    layout.autosize = true;
    var categories = {};
    var bars = data.length > 0 && data.every(function (t) {
      return t.type === "bar" && t.orientation !== "h" && !t.yaxis && !t.xaxis && Array.isArray(t.x) &&
        t.x.some(function (v) { return typeof v === "string" && !ISO_DATE.test(v); });
    });
    if (bars) data.forEach(function (t) { t.x.forEach(function (v) { categories[v] = true; }); });
    var names = Object.keys(categories);
    var longest = names.reduce(function (m, n) { return Math.max(m, String(n).length); }, 0);
    // About 7 px a character at the charts' 12 px font, and a little space between names.
    var crowded = bars && names.length * (longest * 7 + 12) > width - 80;
    if (crowded) {
      data = data.map(function (t) {
        return Object.assign({}, t, { x: t.y, y: t.x, orientation: "h",
          hovertemplate: flip(t.hovertemplate), texttemplate: flip(t.texttemplate) });
      });
      var x = layout.xaxis, y = layout.yaxis;
      layout.xaxis = swap(y);
      layout.yaxis = Object.assign(swap(x), { autorange: "reversed", showgrid: false, nticks: 0 });
      var groups = layout.barmode === "group" ? data.length : 1;
      var perCategory = groups > 1 ? Math.max(40, groups * 10 + 14) : 26;
      layout.height = Math.max(layout.height || 0, 80 + names.length * perCategory);
    } else {
      var dates = data.some(function (t) { return Array.isArray(t.x) && ISO_DATE.test(String(t.x[0])); });
      layout.xaxis = Object.assign({}, layout.xaxis || {}, { automargin: true },
        narrow ? { tickangle: 0 } : {}, narrow && dates ? { nticks: 5 } : {});
      layout.yaxis = Object.assign({}, layout.yaxis || {}, { automargin: true });
    }
    if (layout.showlegend !== false) {
      // Above the plot, left-aligned: never in the way of the x labels and the axis title.
      layout.legend = Object.assign({}, layout.legend || {}, {
        orientation: "h", x: 0, xanchor: "left", y: 1.02, yanchor: "bottom",
      });
      if (narrow) {
        // On a phone the legend spans only the plot's width (long axis labels take the rest),
        // so many entries stack one per row: the figure grows by the legend's rows (counted
        // against the plot's width) so the plot keeps its height and the legend needs no
        // scroll bar that hides entries.
        layout.legend.font = Object.assign({}, layout.legend.font || {}, { size: 11 });
        layout.height = (layout.height || 450) + 20 * legendRows(data, width - 140);
      }
    }
    return { data: data, layout: layout, config: narrow ? Object.assign({}, config, { displayModeBar: false }) : config };
  }

  function plot(el) {
    var source = document.getElementById(el.getAttribute("data-figure"));
    if (!source) return;
    var fig = fit(JSON.parse(source.textContent), el.clientWidth || window.innerWidth);
    window.Plotly.react(el, fig.data, fig.layout, fig.config);
    el.classList.remove("pending");
  }

  // plotly.min.js (4.8 MB) is not in the page: it is requested once the page has painted
  // (or a chart comes into view), so neither its download nor its parsing (seconds on a slow
  // phone, even from the cache) holds the first paint. A chart below the fold is drawn only
  // when it scrolls into view.
  var current = document.currentScript;
  var plotlySrc = current ? current.getAttribute("data-plotly") : null;
  var requested = false;
  var waiting = [];
  function plotlyArrived() {
    if (!window.Plotly) return;
    var queued = waiting; waiting = [];
    queued.forEach(function (fn) { fn(); });
  }
  function loadPlotly() {
    if (requested || window.Plotly || !plotlySrc) return;
    requested = true;
    var script = document.createElement("script");
    script.src = plotlySrc;
    script.async = true;
    script.addEventListener("load", plotlyArrived);
    document.head.appendChild(script);
  }
  function whenPlotly(fn) {
    if (window.Plotly) { fn(); return; }
    waiting.push(fn);
    loadPlotly();
  }
  // After the first frame has been painted.
  requestAnimationFrame(function () { setTimeout(loadPlotly, 0); });

  var seen = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (e) {
      if (!e.isIntersecting) return;
      seen.unobserve(e.target);
      whenPlotly(function () { plot(e.target); });
    });
  }, { rootMargin: "300px 0px" }) : null;

  function draw(root) {
    root.querySelectorAll("[data-figure]").forEach(function (el) {
      el.classList.add("pending");
      if (seen) seen.observe(el); else whenPlotly(function () { plot(el); });
    });
    root.querySelectorAll("table.sortable").forEach(sortable);
  }

  function sortable(table) {
    if (table.dataset.sortReady) return;
    table.dataset.sortReady = "1";
    table.querySelectorAll("thead th").forEach(function (th, index) {
      th.classList.add("sort");
      th.setAttribute("role", "button");
      th.tabIndex = 0;
      function go() {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return r.cells.length > 1; });
        var dir = th.dataset.dir === "desc" ? "asc" : "desc";
        table.querySelectorAll("th").forEach(function (h) { delete h.dataset.dir; });
        th.dataset.dir = dir;
        rows.sort(function (a, b) {
          var x = a.cells[index], y = b.cells[index];
          var vx = x.dataset.v !== undefined ? parseFloat(x.dataset.v) : NaN;
          var vy = y.dataset.v !== undefined ? parseFloat(y.dataset.v) : NaN;
          var cmp;
          if (!isNaN(vx) || !isNaN(vy)) {
            cmp = (isNaN(vx) ? -Infinity : vx) - (isNaN(vy) ? -Infinity : vy);
          } else {
            cmp = x.textContent.localeCompare(y.textContent);
          }
          return dir === "asc" ? cmp : -cmp;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", go);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") go(); });
    });
  }

  // Custom dates only when "Custom…" is chosen; any change applies at once, kept in the URL.
  var form = document.getElementById("filters");
  if (form) {
    var range = form.querySelector("[name=range]");
    var sync = function () {
      form.classList.toggle("show-custom", range && range.value === "custom");
      form.querySelectorAll(".custom-range input").forEach(function (i) { i.disabled = range.value !== "custom"; });
    };
    if (range) { range.addEventListener("change", sync); sync(); }
    form.querySelectorAll("select").forEach(function (s) {
      s.addEventListener("change", function () { if (s !== range || range.value !== "custom") form.requestSubmit(); });
    });
  }

  var box = document.getElementById("dashboard");
  if (!box) return;
  draw(box);

  // Live: poll the latest run; when it changes, fetch the body again and redraw.
  var url = box.getAttribute("data-status-url");
  var shown = box.getAttribute("data-run") || "";
  // The refresh stamp seen on the previous poll; undefined until the first poll answers, so
  // a stamp appearing for the first time (null -> a time) counts as a change too.
  var refreshed;
  function refresh() {
    return fetch(window.location.href, { headers: { "X-CLM-Partial": "1" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        box.replaceChildren.apply(box, Array.prototype.slice.call(doc.body.childNodes));
        draw(box);
        box.dispatchEvent(new CustomEvent("clm:refreshed", { bubbles: true }));
      });
  }
  // While a run is in progress: its progress bar moves, the Recompute button stays disabled
  // (the server refuses a second run anyway: 409), and the page polls every second.
  var button = document.getElementById("recompute");
  var timer = null;
  function progress(s) {
    var bar = document.getElementById("run-progress");
    if (s.running && bar) {
      bar.value = s.running.percent;
      document.getElementById("run-percent").textContent = s.running.percent + "%";
      // The banner says the run's state as it is now (queued, then running), not as it was
      // when the page was drawn.
      var title = document.querySelector("[data-running] strong");
      if (title && s.running.banner) title.textContent = s.running.banner;
    }
    if (button && !starting) button.disabled = Boolean(s.running);
  }
  function poll() {
    clearTimeout(timer);
    var next = 2500;
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (s) {
        progress(s);
        if (s.running) next = 1000;
        var latest = s.latest_run === null ? "" : String(s.latest_run);
        var changed = latest !== shown || (refreshed !== undefined && s.refreshed_at !== refreshed);
        var runningNow = Boolean(s.running);
        var hadBanner = Boolean(document.querySelector("[data-running]"));
        refreshed = s.refreshed_at;
        if (changed || runningNow !== hadBanner) {
          shown = latest;
          box.setAttribute("data-run", latest);
          return refresh().then(function () { progress(s); });
        }
      })
      .catch(function () { /* offline for a moment: try again on the next tick */ })
      .then(function () { timer = setTimeout(poll, next); });
  }

  // Recompute: posted in the background, the button disabled at the first click so a double
  // click sends one request; the answer (202 started, 409 one is running) is shown and the
  // banner with the run's progress appears at once. Without script the form posts as usual.
  var starting = false;
  var runForm = document.getElementById("recompute-form");
  if (runForm && button && window.fetch) {
    runForm.addEventListener("submit", function (event) {
      event.preventDefault();
      if (starting || button.disabled) return;
      starting = true;
      button.disabled = true;
      fetch(runForm.action, {
        method: "POST",
        body: new FormData(runForm),
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (r) {
          return r.json().then(function (body) { return { ok: r.ok, body: body }; });
        })
        .then(function (answer) {
          say(answer.body.detail, answer.ok ? "success" : "info");
          banner(answer.body.run || answer.body.running);
        })
        .catch(function () { runForm.submit(); })
        .then(function () { starting = false; if (url) poll(); });
    });
  }
  // The run's banner at once, from the answer (the body is fetched again when it ends).
  function banner(run) {
    var slot = document.getElementById("run-banner");
    if (!run || run.status === "done" || run.status === "failed" || !slot) return;
    if (slot.querySelector("[data-running]")) return;
    var card = document.createElement("div");
    card.className = "card running";
    card.setAttribute("data-running", String(run.id));
    card.setAttribute("role", "status");
    var title = document.createElement("strong");
    title.textContent = run.banner;
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = run.percent;
    bar.id = "run-progress";
    var percent = document.createElement("span");
    percent.id = "run-percent";
    percent.textContent = run.percent + "%";
    card.append(title, " ", bar, " ", percent);
    slot.prepend(card);
  }
  function say(text, level) {
    // The same markup as the server's messages (base.html), below the page head.
    var list = document.getElementById("recompute-message");
    if (!list) {
      list = document.createElement("ul");
      list.id = "recompute-message";
      list.className = "messages";
      list.setAttribute("role", "status");
      var head = document.querySelector(".pagehead");
      head.parentNode.insertBefore(list, head.nextSibling);
    }
    var item = document.createElement("li");
    item.className = level;
    item.textContent = text || "";
    list.replaceChildren(item);
  }
  if (url) timer = setTimeout(poll, 2500);
})();
