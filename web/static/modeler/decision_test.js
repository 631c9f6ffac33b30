/* afterflow editor page: the decision-table test panel. Typed inputs → the rules that match
   (highlighted in the table, the hit policy's choice marked) → the outputs, evaluated on the
   server by the runtime's decision engine over the table as it stands in the editor. */
(function () {
  "use strict";
  var root = document.getElementById("modeler-app");
  var box = document.getElementById("decision-test");
  if (!root || !box || !window.afterflowModeler) return;
  var modeler = window.afterflowModeler;
  var csrf = document.querySelector("meta[name=csrf-token]").getAttribute("content");
  var form = box.querySelector("form");
  var fields = box.querySelector(".decision-test-inputs");
  var result = box.querySelector(".decision-test-result");
  var i18n = JSON.parse(box.getAttribute("data-i18n") || "{}");

  function t(key) { return i18n[key] || key; }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function current() { return root.getAttribute("data-open") || ""; }

  function columns(xml) {
    var doc = new DOMParser().parseFromString(xml, "application/xml");
    var inputs = doc.getElementsByTagNameNS("*", "input");
    return Array.prototype.map.call(inputs, function (input) {
      var expression = input.getElementsByTagNameNS("*", "inputExpression")[0];
      var text = expression ? expression.getElementsByTagNameNS("*", "text")[0] : null;
      return {
        id: input.getAttribute("id"),
        label: input.getAttribute("label") || input.getAttribute("id"),
        expression: text ? text.textContent.trim() : "",
        type: (expression && expression.getAttribute("typeRef")) || "string"
      };
    });
  }

  function buildInputs() {
    var name = current();
    var kept = {};
    Array.prototype.forEach.call(fields.querySelectorAll("input"), function (i) { kept[i.name] = i.value; });
    fields.textContent = "";
    columns(modeler.state.files[name] || "").forEach(function (c) {
      var label = el("label", {}, c.label + " ");
      label.appendChild(el("code", {}, c.expression));
      var input = el("input", { type: "text", name: c.id, "data-input-id": c.id, "data-type": c.type });
      input.value = kept[c.id] || "";
      label.appendChild(input);
      fields.appendChild(label);
    });
  }

  function clearMarks() {
    Array.prototype.forEach.call(document.querySelectorAll("#dmn-container [data-row-id]"), function (cell) {
      cell.classList.remove("dmn-test-matched", "dmn-test-chosen");
    });
  }

  function mark(rules, cls) {
    rules.forEach(function (rule) {
      var cells = document.querySelectorAll('#dmn-container [data-row-id="' + rule.id + '"]');
      Array.prototype.forEach.call(cells, function (cell) { cell.classList.add(cls); });
    });
  }

  function show(data) {
    result.textContent = "";
    clearMarks();
    box.setAttribute("data-state", data.ok ? "ok" : "problems");
    if (!data.ok) {
      var problems = el("ul", { "class": "decision-test-problems" });
      (data.problems || [{ message: data.message || "?" }]).forEach(function (p) {
        problems.appendChild(el("li", {}, (p.element_id ? p.element_id + ": " : "") + p.message));
      });
      result.appendChild(problems);
      return;
    }
    var chosen = {};
    data.chosen.forEach(function (r) { chosen[r.id] = true; });
    result.appendChild(el("p", {}, t("policy") + " " + data.hit_policy));
    if (!data.matched.length) result.appendChild(el("p", { "class": "decision-test-none" }, t("none")));
    var list = el("ol", { "class": "decision-test-rules" });
    data.matched.forEach(function (r) {
      var item = el("li", { "data-rule": r.id, "class": chosen[r.id] ? "chosen" : "matched" },
        t("row") + " " + r.row + (r.description ? " — " + r.description : "") +
        (chosen[r.id] ? " (" + t("chosen") + ")" : ""));
      list.appendChild(item);
    });
    result.appendChild(list);
    var table = el("table", { "class": "decision-test-outputs" });
    Object.keys(data.outputs).forEach(function (key) {
      var row = el("tr", { "data-output": key });
      row.appendChild(el("th", {}, key));
      row.appendChild(el("td", {}, JSON.stringify(data.outputs[key])));
      table.appendChild(row);
    });
    if (Object.keys(data.outputs).length) {
      result.appendChild(el("h4", {}, t("outputs")));
      result.appendChild(table);
    }
    mark(data.matched, "dmn-test-matched");
    mark(data.chosen, "dmn-test-chosen");
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var name = current();
    modeler.sync().then(function () {
      var inputs = {};
      Array.prototype.forEach.call(fields.querySelectorAll("input"), function (i) { inputs[i.name] = i.value; });
      return fetch(box.getAttribute("data-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
        body: JSON.stringify({ file: name, text: modeler.state.files[name], inputs: inputs })
      });
    }).then(function (response) {
      return response.json().catch(function () { return { ok: false, message: response.statusText }; });
    }).then(show, function (error) { show({ ok: false, message: String(error) }); });
  });

  function onOpen() {
    var isTable = /\.dmn$/.test(current());
    box.hidden = !isTable;
    result.textContent = "";
    box.removeAttribute("data-state");
    if (isTable) buildInputs();
  }
  new MutationObserver(onOpen).observe(root, { attributes: true, attributeFilter: ["data-open"] });
})();
