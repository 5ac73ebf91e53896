/* CLM track.js: first-party visitor id, page views, first/last touch, lead-capture forms.
   No dependencies, never throws into the page. Documentation: docs/track-js.md */
(() => {
  "use strict";
  const W = window, D = document, N = navigator;
  if (W.CLM && W.CLM.visitorId) return; // loaded twice
  const noop = () => {};
  const attempt = (f, d) => { try { return f(); } catch (e) { return d; } };
  try {
    const me = D.currentScript || D.querySelector("script[data-clm-endpoint],script[src*='clm/track.js']");
    const attr = n => (me && me.getAttribute(n)) || "";
    const EP = attempt(() => {
      const u = new URL(attr("data-clm-endpoint") || me.src, location.href);
      return /^https?:$/.test(u.protocol) ? (attr("data-clm-endpoint") ? u.href.replace(/\/+$/, "") : u.origin) : "";
    }) || location.origin;
    const CD = /^\.?[A-Za-z0-9.-]+$/.test(attr("data-clm-cookie-domain")) ? attr("data-clm-cookie-domain") : "";
    const AUTO = !(me && me.hasAttribute("data-clm-no-auto"));
    const OPT_OUT = N.globalPrivacyControl === true || N.doNotTrack === "1" || W.doNotTrack === "1";
    const UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];
    const TAGS = UTM.concat(["gclid", "gbraid", "wbraid", "dclid", "fbclid", "msclkid", "ttclid", "li_fat_id"]);
    const FIELDS = ["visitor_id", "landing_url", "referrer", "submission_id", "clm_elapsed_ms"].concat(TAGS);
    // Text for the server: control characters dropped, cut to the server's field limits.
    const clean = (v, n) => (typeof v === "string" ? v.replace(/[\u0000-\u001f\u007f]/g, "").slice(0, n) : "");

    // Storage, never throwing.
    const get = k => attempt(() => localStorage.getItem(k), null);
    const put = (k, v) => attempt(() => localStorage.setItem(k, v));
    const getObj = k => attempt(() => {
      const o = JSON.parse(get(k));
      return o && typeof o === "object" && !Array.isArray(o) ? o : null;
    }, null);

    // Random id: 22 chars of [A-Za-z0-9_-] (132 bits).
    const rid = () => {
      const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", b = new Uint8Array(22);
      if (!attempt(() => crypto.getRandomValues(b))) for (let i = 0; i < 22; i++) b[i] = Math.random() * 256;
      let s = "";
      for (const x of b) s += a[x & 63];
      return s;
    };

    // First-party visitor id: cookie clm_vid + localStorage copy; either restores the other.
    const okVid = v => typeof v === "string" && /^[A-Za-z0-9_.-]{8,64}$/.test(v);
    let vid = null;
    const visitorId = () => {
      if (OPT_OUT) return null;
      if (!vid) {
        const m = attempt(() => D.cookie.match(/(?:^|;\s*)clm_vid=([^;]*)/), null), c = m && m[1], l = get("clm_vid");
        vid = okVid(c) ? c : okVid(l) ? l : rid();
        attempt(() => {
          D.cookie = "clm_vid=" + vid + "; Max-Age=31536000; Path=/; SameSite=Lax" +
            (location.protocol === "https:" ? "; Secure" : "") + (CD ? "; Domain=" + CD : "");
        });
        if (l !== vid) put("clm_vid", vid);
      }
      return vid;
    };

    // Touch of this page load: tags/click ids in the URL or an external referrer; null otherwise.
    const internal = h => h === location.hostname || (!!CD && ("." + h).endsWith("." + CD.replace(/^\./, "")));
    const touch = (() => {
      const q = attempt(() => new URL(location.href).searchParams, null), ref = D.referrer, t = {};
      const rh = attempt(() => new URL(ref).hostname, "");
      let tagged = false;
      TAGS.forEach(k => {
        const v = clean(q && q.get(k), UTM.includes(k) ? 255 : 500);
        if (v) { t[k] = v; tagged = true; }
      });
      if ((rh && internal(rh)) || (!tagged && !rh)) return null;
      t.referrer = clean(ref, 2000);
      t.landing_url = clean(location.href, 2000);
      t.ts = Date.now();
      return t;
    })();
    if (touch) {
      if (!getObj("clm_ft")) put("clm_ft", JSON.stringify(touch)); // first touch wins
      put("clm_lt", JSON.stringify(touch)); // latest tagged/external touch
    }
    const firstTouch = () => getObj("clm_ft") || (touch && Object.assign({}, touch));

    // Page views: queued, flushed after 1 s, on hide and on pagehide; sendBeacon, else fetch.
    const TRACK = EP + "/api/v1/track/";
    let queue = [], timer = 0, prev = null;
    const post = body => {
      if (attempt(() => N.sendBeacon(TRACK, new Blob([body], { type: "text/plain" })), false)) return;
      attempt(() => fetch(TRACK, { method: "POST", body, keepalive: true, mode: "cors", credentials: "omit" }).catch(noop));
    };
    const flush = () => {
      clearTimeout(timer);
      timer = 0;
      while (queue.length) { // at most 50 events and ~16 K characters (< 64 KB beacon limit) a post
        let n = 0, size = 2;
        while (n < queue.length && n < 50 && (!n || size + queue[n].length < 16000)) size += queue[n++].length + 1;
        post("[" + queue.splice(0, n).join(",") + "]");
      }
    };
    const track = (url, title) => {
      if (OPT_OUT) return false;
      const u = clean(url ? attempt(() => new URL(url, location.href).href, "") : location.href, 2000);
      if (!u) return false;
      queue.push(JSON.stringify({
        visitor_id: visitorId(), url: u, referrer: clean(prev === null ? D.referrer : prev, 2000),
        title: clean(title == null ? D.title : String(title), 300), ts: Date.now(),
      }));
      prev = u;
      timer = timer || setTimeout(flush, 1000);
      return true;
    };
    D.addEventListener("visibilitychange", () => D.visibilityState === "hidden" && flush());
    W.addEventListener("pagehide", flush);

    if (AUTO && !OPT_OUT) {
      const start = () => attempt(track);
      if (D.prerendering) D.addEventListener("prerenderingchange", start, { once: true });
      else start();
      W.addEventListener("pageshow", e => e.persisted && (prev = null, start())); // back/forward cache
      // SPA navigations: a page view when path or query changes (replaceState: path only).
      const key = () => location.pathname + location.search;
      let last = key();
      const nav = replace => setTimeout(() => attempt(() => {
        const k = key(), path = last.split("?")[0];
        if (k === last) return;
        last = k;
        if (!replace || path !== location.pathname) track();
      }), 0);
      ["pushState", "replaceState"].forEach(m => {
        const orig = history[m];
        if (typeof orig === "function") {
          history[m] = function () {
            const r = orig.apply(this, arguments);
            attempt(() => nav(m === "replaceState"));
            return r;
          };
        }
      });
      W.addEventListener("popstate", () => nav(false));
    }

    // Forms: <form data-clm-form="KEY">.
    const elementsGet = Object.getOwnPropertyDescriptor(HTMLFormElement.prototype, "elements").get;
    const elements = f => Array.from(elementsGet.call(f)); // immune to inputs named "elements"
    const named = (f, n) => elements(f).filter(e => e.getAttribute("name") === n);
    const captureUrl = f => EP + "/api/v1/capture/" + encodeURIComponent(f.getAttribute("data-clm-form")) + "/";
    const mk = (cls, text) => Object.assign(D.createElement("div"), { className: cls, textContent: text });
    const fire = (f, type, detail) => f.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, cancelable: true }));
    const userData = f => attempt(() => Array.from(new FormData(f))
      .filter(p => !FIELDS.includes(p[0]))
      .map(p => p[0] + "=" + (typeof p[1] === "string" ? p[1] : p[1].name + ":" + p[1].size)).join("&"), "");
    const wait = ms => new Promise(r => setTimeout(r, ms));
    const retryAfter = v => (!v ? 0 : isFinite(+v) ? +v * 1000 : Math.max(0, Date.parse(v) - Date.now()) || 0);

    // POST with retries on network errors, 429 and 5xx: 1, 2, 4, 8 s (or Retry-After), 5 tries.
    const send = (url, body) => {
      let n = 0;
      const go = () => {
        const ac = W.AbortController ? new AbortController() : null, to = ac && setTimeout(() => ac.abort(), 20000);
        return fetch(url, {
          method: "POST", body, headers: { Accept: "application/json" }, credentials: "omit", mode: "cors",
          signal: ac ? ac.signal : undefined,
        }).then(r => r.json().catch(() => ({})).then(j => ({ s: r.status, j, ra: r.headers.get("Retry-After") })),
          () => ({ s: 0 })
        ).then(res => {
          clearTimeout(to);
          if (res.s && res.s !== 429 && res.s < 500) return res;
          const d = Math.max(1000 << n, retryAfter(res.ra));
          return ++n >= 5 || d > 60000 ? res : wait(d).then(go);
        });
      };
      return go();
    };

    const clearErrors = st => {
      st.errs.forEach(e => e.remove());
      st.inv.forEach(p => {
        p[0].removeAttribute("aria-invalid");
        if (p[1] === null) p[0].removeAttribute("aria-describedby");
        else p[0].setAttribute("aria-describedby", p[1]);
      });
      st.errs = [];
      st.inv = [];
    };
    const formError = (f, st, text) => {
      const b = mk("clm-error clm-form-error", text);
      b.setAttribute("role", "alert");
      f.appendChild(b);
      st.errs.push(b);
    };
    const fieldErrors = (f, st, errs) => {
      const loose = [];
      let first = null;
      Object.keys(errs).forEach(name => {
        const msg = [].concat(errs[name]).map(x => (x && typeof x === "object" ? JSON.stringify(x) : String(x))).join(" ");
        const els = named(f, name).filter(e => e.type !== "hidden" && !e.hasAttribute("data-clm-auto"));
        if (!els.length) return loose.push(name === "__all__" || name === "non_field_errors" ? msg : name + ": " + msg);
        const box = mk("clm-error", msg), last = els[els.length - 1];
        box.id = "clm-err-" + rid();
        (last.closest("label") || last).after(box);
        st.errs.push(box);
        els.forEach(e => {
          const was = e.getAttribute("aria-describedby");
          st.inv.push([e, was]);
          e.setAttribute("aria-invalid", "true");
          e.setAttribute("aria-describedby", ((was || "") + " " + box.id).trim());
        });
        first = first || els[0];
      });
      if (loose.length) formError(f, st, loose.join(" "));
      if (first) attempt(() => first.focus());
    };
    const safeUrl = v => v && attempt(() => {
      const u = new URL(v, location.href);
      return /^https?:$/.test(u.protocol) ? u.href : "";
    }, "");

    const done = (f, st, res) => {
      clearErrors(st);
      const s = res.s, j = res.j && typeof res.j === "object" ? res.j : {};
      if (s >= 200 && s < 300) {
        st.sid = st.ms = st.snap = undefined; // the next fill is a new submission
        if (!fire(f, "clm:success", j)) return;
        const url = safeUrl(f.getAttribute("data-clm-success-url"));
        if (url) return location.assign(url);
        Array.from(f.children).forEach(c => { c.style.display = "none"; });
        const m = mk("clm-success", f.getAttribute("data-clm-success-message") || "Thank you! We have received your details.");
        m.setAttribute("role", "status");
        m.tabIndex = -1;
        f.appendChild(m);
        return attempt(() => m.focus());
      }
      if (s === 409) st.sid = st.ms = st.snap = undefined;
      const errs = s === 400 && j.errors && typeof j.errors === "object" && !Array.isArray(j.errors) ? j.errors : null;
      if (!fire(f, "clm:error", { status: s, errors: errs, response: j })) return;
      if (errs) fieldErrors(f, st, errs);
      else formError(f, st, f.getAttribute("data-clm-error-message") || "Sorry, the form could not be sent. Please try again.");
    };

    const submit = (f, st, e) => {
      if (e.defaultPrevented) return;
      if (st.busy) return e.preventDefault();
      let body;
      try {
        const snap = userData(f);
        if (st.snap !== undefined && st.snap !== snap) st.sid = st.ms = undefined; // changed: a new fill
        st.snap = snap;
        st.sid = st.sid || rid();
        if (st.ms == null) st.ms = Math.round(performance.now()); // kept for retries: same payload
        const t = firstTouch() || {}, v = {
          visitor_id: visitorId(), landing_url: clean(t.landing_url, 2000) || clean(location.href, 2000),
          referrer: clean(t.referrer, 2000), submission_id: st.sid, clm_elapsed_ms: String(st.ms),
        };
        TAGS.forEach(k => { v[k] = clean(t[k], UTM.includes(k) ? 255 : 500); });
        FIELDS.forEach(n => {
          const els = named(f, n), mine = els.filter(x => x.hasAttribute("data-clm-auto"))[0];
          if (els.length > (mine ? 1 : 0) || !v[n]) return mine && mine.remove(); // the page's own field wins
          const inp = mine || f.appendChild(D.createElement("input"));
          inp.type = "hidden";
          inp.name = n;
          inp.value = v[n];
          inp.setAttribute("data-clm-auto", "");
        });
        if (!W.fetch || !W.FormData || !W.Promise) return; // native post, with the hidden fields
        body = attempt(() => new FormData(f, e.submitter)) || new FormData(f);
      } catch (x) {
        return; // let the browser post the form natively
      }
      e.preventDefault();
      st.busy = true;
      const btns = elements(f).filter(b => (b.type === "submit" || b.type === "image") && !b.disabled);
      btns.forEach(b => { b.disabled = true; });
      f.setAttribute("aria-busy", "true");
      send(captureUrl(f), body)
        .then(res => done(f, st, res))
        .catch(() => attempt(() => formError(f, st, "Sorry, the form could not be sent. Please try again.")))
        .then(() => {
          st.busy = false;
          btns.forEach(b => { b.disabled = false; });
          f.removeAttribute("aria-busy");
        });
    };

    const seen = new WeakSet();
    const enhance = f => {
      if (seen.has(f) || !f.getAttribute("data-clm-form")) return;
      seen.add(f);
      const st = { errs: [], inv: [] };
      if (!f.getAttribute("action")) { // the no-JS path if something fails later
        f.setAttribute("action", captureUrl(f));
        f.setAttribute("method", "post");
      }
      const begin = () => { st.sid = st.sid || rid(); };
      f.addEventListener("focusin", begin);
      f.addEventListener("input", begin);
      f.addEventListener("submit", e => submit(f, st, e));
    };
    const SEL = "form[data-clm-form]";
    const scan = n => attempt(() => {
      if (n.nodeType !== 1) return;
      if (n.matches(SEL)) enhance(n);
      n.querySelectorAll(SEL).forEach(enhance);
    });
    scan(D.documentElement);
    attempt(() => new MutationObserver(ms => ms.forEach(m => {
      if (m.type === "attributes") scan(m.target);
      else m.addedNodes.forEach(scan);
    })).observe(D.documentElement, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-clm-form"] }));
    D.addEventListener("DOMContentLoaded", () => scan(D.documentElement));

    W.CLM = {
      visitorId,
      track: (url, title) => attempt(() => track(url, title), false),
      firstTouch: () => attempt(firstTouch, null) || null,
      lastTouch: () => getObj("clm_lt"),
      flush: () => attempt(flush),
    };
  } catch (e) { /* never break the host page */ }
})();
