// Visual condition builder: edits the JSON of a textarea through lists of fields, operators
// and values, and keeps the textarea as the "Advanced (JSON)" view. One script for segment
// conditions (a nested and/or group) and channel-rule conditions (a list that must all hold).
//
// Markup: <div data-condition-builder data-catalogue="ID"> ... <textarea> ... </div>, where ID
// is a json_script element holding {shape, fields, check_url, texts} (clm/condition_builder.py).
// Without script the textarea is the editor. Every change rewrites the textarea and fires its
// "input" event, so whatever listens to the textarea (the live count) hears the builder too.
(function () {
  "use strict";

  var uid = 0;
  function nextId(prefix) { uid += 1; return "cb-" + prefix + "-" + uid; }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "className") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  function labelled(text, control, extraClass) {
    var id = control.id || nextId("c");
    control.id = id;
    return el("div", { className: "cb-control " + (extraClass || "") }, [
      el("label", { "for": id, text: text }), control,
    ]);
  }

  function Builder(root, catalogue) {
    this.root = root;
    this.cat = catalogue;
    this.t = catalogue.texts;
    this.fields = {};
    var self = this;
    catalogue.fields.forEach(function (f) { self.fields[f.field] = f; });
    this.area = root.querySelector("textarea");
    this.jsonBox = root.querySelector(".cb-json") || this.area.parentNode;
    this.csrf = (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
    this.setup();
  }

  Builder.prototype.setup = function () {
    var t = this.t, self = this;
    this.tabBuilder = el("button", { type: "button", className: "cb-tab", "aria-pressed": "true", text: t.builder });
    this.tabJson = el("button", { type: "button", className: "cb-tab", "aria-pressed": "false", text: t.json });
    this.tabs = el("div", { className: "cb-tabs", role: "group", "aria-label": t.views }, [this.tabBuilder, this.tabJson]);
    this.tree = el("div", { className: "cb-tree" });
    this.message = el("div", { className: "cb-message error", role: "alert", hidden: "hidden" });
    this.jsonBox.parentNode.insertBefore(this.tabs, this.jsonBox);
    this.jsonBox.parentNode.insertBefore(this.message, this.jsonBox);
    this.jsonBox.parentNode.insertBefore(this.tree, this.jsonBox);
    this.tabBuilder.addEventListener("click", function () { self.toBuilder(); });
    this.tabJson.addEventListener("click", function () { self.toJson(); });
    this.root.classList.add("cb-ready");
    // An empty textarea (no candidate rule yet) is an empty builder; nothing is written
    // until something is picked.
    var parsed = this.area.value.trim() ? this.parse(this.area.value) : { ok: true, value: this.empty() };
    if (parsed.ok && this.representable(parsed.value)) {
      this.state = parsed.value;
      this.render();
      this.show("builder");
    } else {
      // What the builder cannot show (a typo posted back with its errors) stays in the JSON view.
      this.state = this.empty();
      this.render();
      this.show("json");
    }
  };

  Builder.prototype.empty = function () {
    return this.cat.shape === "list" ? [] : { op: "and", rules: [] };
  };

  Builder.prototype.parse = function (text) {
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (e) {
      return { ok: false, error: e.message };
    }
  };

  // Whether the builder can draw a definition: known fields and operators, groups of rules.
  Builder.prototype.representable = function (node, depth) {
    var self = this;
    depth = depth || 0;
    if (depth === 0 && this.cat.shape === "list") {
      return Array.isArray(node) && node.every(function (c) { return self.isCondition(c); });
    }
    if (!node || typeof node !== "object" || Array.isArray(node)) return false;
    if ("field" in node) return depth > 0 && this.isCondition(node);
    return (node.op === "and" || node.op === "or") && Array.isArray(node.rules) &&
      node.rules.every(function (c) { return self.representable(c, depth + 1); });
  };

  Builder.prototype.isCondition = function (c) {
    if (!c || typeof c !== "object" || Array.isArray(c)) return false;
    var spec = this.fields[c.field];
    return !!spec && spec.ops.some(function (o) { return o.op === c.op; });
  };

  Builder.prototype.show = function (view) {
    var builder = view === "builder";
    this.view = view;
    this.tree.hidden = !builder;
    this.jsonBox.hidden = builder;
    this.tabBuilder.setAttribute("aria-pressed", String(builder));
    this.tabJson.setAttribute("aria-pressed", String(!builder));
  };

  Builder.prototype.toJson = function () {
    if (this.view === "json") return;
    this.clearMessage();
    this.show("json");
    this.area.focus();
  };

  // Back from the JSON: rebuild from it only when it parses and the server's validator (the
  // same one that saves) accepts it; otherwise show why and keep the builder as it was.
  Builder.prototype.toBuilder = function () {
    if (this.view === "builder") return;
    var self = this, t = this.t;
    var parsed = this.parse(this.area.value);
    if (!parsed.ok) {
      this.fail([t.bad_json.replace("%(error)s", parsed.error)]);
      return;
    }
    if (this.cat.shape === "list" && !Array.isArray(parsed.value)) {
      this.fail([t.not_list]);
      return;
    }
    this.say(t.checking, false);
    var body = new URLSearchParams();
    body.set(this.area.name, this.area.value);
    fetch(this.cat.check_url, {
      method: "POST",
      headers: { "X-CSRFToken": this.csrf, "Content-Type": "application/x-www-form-urlencoded" },
      body: body,
      credentials: "same-origin",
    })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.errors && data.errors.length) { self.fail(data.errors); return; }
        if (!self.representable(parsed.value)) { self.fail([t.unreachable]); return; }
        self.clearMessage();
        self.state = parsed.value;
        self.render();
        self.show("builder");
      })
      .catch(function () { self.fail([t.unreachable]); });
  };

  Builder.prototype.fail = function (errors) {
    this.message.textContent = "";
    this.message.appendChild(el("p", { text: this.t.kept }));
    var list = el("ul");
    errors.forEach(function (e) { list.appendChild(el("li", { text: e })); });
    this.message.appendChild(list);
    this.message.hidden = false;
  };

  Builder.prototype.say = function (text) {
    this.message.textContent = text;
    this.message.hidden = false;
  };

  Builder.prototype.clearMessage = function () {
    this.message.textContent = "";
    this.message.hidden = true;
  };

  // A change in the builder: the textarea holds the new JSON and tells its listeners.
  Builder.prototype.changed = function () {
    this.area.value = JSON.stringify(this.state, null, 2);
    this.area.dispatchEvent(new Event("input", { bubbles: true }));
  };

  Builder.prototype.render = function (focusSelector) {
    this.tree.textContent = "";
    if (this.cat.shape === "list") {
      this.tree.appendChild(this.renderList());
    } else {
      this.tree.appendChild(this.renderGroup(this.state, null, 1));
    }
    if (focusSelector) {
      var target = this.tree.querySelector(focusSelector);
      if (target) target.focus();
    }
  };

  Builder.prototype.maxDepth = 5;

  Builder.prototype.renderList = function () {
    var self = this, t = this.t;
    var box = el("div", { className: "cb-group cb-root" }, [el("p", { className: "cb-head muted", text: t.all_hold })]);
    var rows = el("ol", { className: "cb-rules" });
    this.state.forEach(function (cond, i) {
      rows.appendChild(self.renderCondition(cond, function () { self.state.splice(i, 1); }));
    });
    box.appendChild(rows);
    if (!this.state.length) box.appendChild(el("p", { className: "muted cb-empty", text: t.empty }));
    var add = el("button", { type: "button", className: "cb-add", text: "+ " + t.add_condition });
    add.addEventListener("click", function () {
      self.state.push(self.newCondition());
      self.changed();
      self.render(".cb-rules > li:last-child select");
    });
    box.appendChild(el("div", { className: "cb-actions" }, [add]));
    return box;
  };

  Builder.prototype.renderGroup = function (group, remove, depth) {
    var self = this, t = this.t;
    var box = el("fieldset", { className: "cb-group" + (remove ? "" : " cb-root") });
    box.appendChild(el("legend", { className: "visually-hidden", text: t.group + " " + depth }));
    var op = el("select", { className: "cb-join" });
    [["and", t.and], ["or", t.or]].forEach(function (pair) {
      var o = el("option", { value: pair[0], text: pair[1] });
      if (group.op === pair[0]) o.selected = true;
      op.appendChild(o);
    });
    op.addEventListener("change", function () { group.op = op.value; self.changed(); });
    var head = el("div", { className: "cb-head" }, [labelled(t.match, op, "cb-join-control")]);
    if (remove) {
      var drop = el("button", { type: "button", className: "cb-remove", text: t.remove_group });
      drop.addEventListener("click", function () { remove(); self.changed(); self.render(".cb-root .cb-add"); });
      head.appendChild(drop);
    }
    box.appendChild(head);
    var rows = el("ol", { className: "cb-rules" });
    group.rules.forEach(function (child, i) {
      var removeChild = function () { group.rules.splice(i, 1); };
      if (child && "field" in child) {
        rows.appendChild(self.renderCondition(child, removeChild));
      } else {
        rows.appendChild(el("li", { className: "cb-rule" }, [self.renderGroup(child, removeChild, depth + 1)]));
      }
    });
    box.appendChild(rows);
    if (!group.rules.length) box.appendChild(el("p", { className: "muted cb-empty", text: t.empty }));
    var addCond = el("button", { type: "button", className: "cb-add", text: "+ " + t.add_condition });
    addCond.addEventListener("click", function () {
      group.rules.push(self.newCondition());
      self.changed();
      self.render();
      self.focusLast(group);
    });
    var actions = el("div", { className: "cb-actions" }, [addCond]);
    if (depth < this.maxDepth) {
      var addGroup = el("button", { type: "button", className: "cb-add", text: "+ " + t.add_group });
      addGroup.addEventListener("click", function () {
        group.rules.push({ op: group.op === "and" ? "or" : "and", rules: [self.newCondition()] });
        self.changed();
        self.render();
        self.focusLast(group);
      });
      actions.appendChild(addGroup);
    }
    box.appendChild(actions);
    box.cbGroup = group;
    return box;
  };

  // After adding to a group, focus the first control of what was added (keyboard users).
  Builder.prototype.focusLast = function (group) {
    var boxes = this.tree.querySelectorAll("fieldset.cb-group");
    for (var i = 0; i < boxes.length; i++) {
      if (boxes[i].cbGroup === group) {
        var items = boxes[i].querySelector(".cb-rules").children;
        var last = items[items.length - 1];
        var target = last && last.querySelector("select, input");
        if (target) target.focus();
        return;
      }
    }
  };

  Builder.prototype.newCondition = function () {
    var spec = this.cat.fields[0];
    var cond = { field: spec.field, op: spec.ops[0].op };
    this.resetValue(cond, spec, spec.ops[0]);
    return cond;
  };

  Builder.prototype.opOf = function (spec, name) {
    for (var i = 0; i < spec.ops.length; i++) if (spec.ops[i].op === name) return spec.ops[i];
    return spec.ops[0];
  };

  Builder.prototype.resetValue = function (cond, spec, op) {
    delete cond.value;
    if (spec.needs_key) { if (typeof cond.key !== "string") cond.key = ""; } else delete cond.key;
    var kind = op.value;
    if (kind === "none") return;
    if (kind === "choices" || kind === "texts") cond.value = [];
    else if (kind === "number") cond.value = 0;
    else if (kind === "bool") cond.value = true;
    else if (kind === "choice") cond.value = ((op.choices || spec.choices)[0] || {}).value || "";
    else cond.value = "";
  };

  Builder.prototype.renderCondition = function (cond, remove) {
    var self = this, t = this.t;
    var spec = this.fields[cond.field];
    var op = this.opOf(spec, cond.op);
    var row = el("li", { className: "cb-rule cb-condition" });

    var field = el("select", { className: "cb-field" });
    this.cat.fields.forEach(function (f) {
      var o = el("option", { value: f.field, text: f.label });
      if (f.field === cond.field) o.selected = true;
      field.appendChild(o);
    });
    field.addEventListener("change", function () {
      var next = self.fields[field.value];
      cond.field = next.field;
      cond.op = next.ops[0].op;
      self.resetValue(cond, next, next.ops[0]);
      self.reorder(cond);
      self.changed();
      self.replaceRow(row, cond, remove, ".cb-field");
    });
    row.appendChild(labelled(t.field, field, "cb-field-control"));

    if (spec.needs_key) {
      var key = el("input", { type: "text", className: "cb-key", value: cond.key || "", maxlength: "64", autocomplete: "off" });
      key.addEventListener("input", function () { cond.key = key.value; self.changed(); });
      row.appendChild(labelled(t.key, key, "cb-key-control"));
    }

    var ops = el("select", { className: "cb-op" });
    spec.ops.forEach(function (o) {
      var option = el("option", { value: o.op, text: o.label });
      if (o.op === op.op) option.selected = true;
      ops.appendChild(option);
    });
    ops.addEventListener("change", function () {
      var next = self.opOf(spec, ops.value);
      var before = op.value;
      cond.op = next.op;
      if (next.value !== before || next.choices) self.resetValue(cond, spec, next);
      self.reorder(cond);
      self.changed();
      self.replaceRow(row, cond, remove, ".cb-op");
    });
    row.appendChild(labelled(t.op, ops, "cb-op-control"));

    var value = this.renderValue(cond, spec, op);
    if (value) row.appendChild(value);

    var drop = el("button", { type: "button", className: "cb-remove", text: "×", "aria-label": t.remove_condition, title: t.remove_condition });
    drop.addEventListener("click", function () { remove(); self.changed(); self.render(".cb-root .cb-add"); });
    row.appendChild(drop);
    return row;
  };

  // Keep the keys in the order people write them: field, key, op, value.
  Builder.prototype.reorder = function (cond) {
    var copy = {};
    ["field", "key", "op", "value"].forEach(function (k) { if (k in cond) copy[k] = cond[k]; });
    Object.keys(cond).forEach(function (k) { delete cond[k]; });
    Object.keys(copy).forEach(function (k) { cond[k] = copy[k]; });
  };

  Builder.prototype.replaceRow = function (row, cond, remove, focusSelector) {
    var fresh = this.renderCondition(cond, remove);
    row.parentNode.replaceChild(fresh, row);
    var target = fresh.querySelector(focusSelector);
    if (target) target.focus();
  };

  Builder.prototype.renderValue = function (cond, spec, op) {
    var self = this, t = this.t, kind = op.value;
    if (kind === "none") return null;
    if (kind === "choices") {
      var chosen = (Array.isArray(cond.value) ? cond.value : [cond.value]).map(String);
      var set = el("fieldset", { className: "cb-choices" }, [el("legend", { text: t.values + ": " + spec.label })]);
      var list = el("div", { className: "cb-choice-list" });
      (op.choices || spec.choices).forEach(function (c) {
        var box = el("input", { type: "checkbox", value: c.value, id: nextId("v") });
        box.checked = chosen.indexOf(String(c.value)) !== -1;
        box.addEventListener("change", function () {
          var picked = [];
          list.querySelectorAll("input:checked").forEach(function (b) { picked.push(b.value); });
          cond.value = picked;
          self.changed();
        });
        list.appendChild(el("label", { className: "cb-choice", "for": box.id }, [box, el("span", { text: c.label })]));
      });
      set.appendChild(list);
      return el("div", { className: "cb-control cb-value-control cb-wide" }, [set]);
    }
    var input;
    if (kind === "number") {
      input = el("input", { type: "number", className: "cb-value", min: "0", step: "1", inputmode: "numeric" });
      if (spec.max !== null && spec.max !== undefined) input.max = String(spec.max);
      input.value = cond.value === undefined || cond.value === null ? "" : String(cond.value);
      input.addEventListener("input", function () {
        var n = Number(input.value);
        // Anything but a whole number goes as typed, so the validator names the problem.
        cond.value = input.value !== "" && Number.isInteger(n) ? n : input.value;
        self.changed();
      });
    } else if (kind === "bool" || kind === "choice") {
      input = el("select", { className: "cb-value" });
      var options = kind === "bool"
        ? [{ value: "true", label: t.yes }, { value: "false", label: t.no }]
        : (op.choices || spec.choices);
      options.forEach(function (c) {
        var o = el("option", { value: c.value, text: c.label });
        if (String(cond.value) === String(c.value)) o.selected = true;
        input.appendChild(o);
      });
      input.addEventListener("change", function () {
        cond.value = kind === "bool" ? input.value === "true" : input.value;
        self.changed();
      });
    } else if (kind === "texts") {
      input = el("input", { type: "text", className: "cb-value", autocomplete: "off", spellcheck: "false" });
      input.value = (Array.isArray(cond.value) ? cond.value : [cond.value]).join(", ");
      input.addEventListener("input", function () {
        cond.value = input.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
        self.changed();
      });
      var wrap = labelled(t.values, input, "cb-value-control");
      wrap.appendChild(el("small", { className: "muted", text: t.texts_help }));
      return wrap;
    } else {
      input = el("input", { type: "text", className: "cb-value", autocomplete: "off", spellcheck: "false" });
      input.value = cond.value === undefined ? "" : String(cond.value);
      input.addEventListener("input", function () { cond.value = input.value; self.changed(); });
    }
    return labelled(t.value, input, "cb-value-control");
  };

  function start() {
    document.querySelectorAll("[data-condition-builder]").forEach(function (root) {
      var data = document.getElementById(root.dataset.catalogue);
      if (!data || root.classList.contains("cb-ready")) return;
      root.conditionBuilder = new Builder(root, JSON.parse(data.textContent));
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
