/* afterflow editor page: forms in both languages.

   - form-js learns our `signature` field (a customer's signature, or their refusal with a reason):
     a palette entry under Input and its properties (key, label, description, required), in the
     editor and in the previews;
   - beside the editor, every label's English text (properties.label_en, an option's label_en) is
     edited next to the Chinese one; renaming a Chinese label marks its English text as needing
     review (properties.label_en_review) until the English is edited or confirmed; a new field
     gets an empty English input, marked missing;
   - the form as the worker will see it, in Chinese and in English side by side, follows each edit.

   Loaded before editor.js, which passes AfterflowForms.editorModules to the form editor. */
(function () {
  "use strict";
  var ICON = "data:image/svg+xml," + encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" width="54" height="54" viewBox="0 0 54 54">' +
    '<path d="M8 38c6-10 10-18 14-18s-2 16 4 16 6-10 10-10 4 8 10 8" fill="none" stroke="#22242a" stroke-width="3"/>' +
    '<path d="M8 44h38" stroke="#22242a" stroke-width="2"/></svg>');

  function signatureOf(base) {
    function Signature(props) { return base(props); }
    Signature.config = Object.assign({}, base.config, {
      type: "signature",
      keyed: true,
      label: "Signature 签名",
      name: "Signature 签名",
      group: "basic-input",
      iconUrl: ICON,
      propertiesPanelEntries: ["key", "label", "description", "required", "readonly", "disabled"],
      emptyValue: null,
      sanitizeValue: function (options) { return options.value; },
      create: function (options) { return Object.assign({}, options || {}); }
    });
    return Signature;
  }
  function SignatureField(formFields) {
    if (!formFields.get("signature")) formFields.register("signature", signatureOf(formFields.get("textarea")));
  }
  SignatureField.$inject = ["formFields"];
  var signatureModule = { __init__: ["afterflowSignature"], afterflowSignature: ["type", SignatureField] };
  window.AfterflowForms = { editorModules: [signatureModule], viewerModules: [signatureModule] };

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("modeler-app");
    var box = document.getElementById("form-languages");
    if (!root || !box) return;
    var texts = box.querySelector(".form-texts tbody");
    var previewZh = box.querySelector(".form-preview-zh");
    var previewEn = box.querySelector(".form-preview-en");
    var i18n = JSON.parse(box.getAttribute("data-i18n") || "{}");
    var remembered = {};  // component id -> its Chinese label when last seen
    var watched = null;
    var timer = null;

    function t(key) { return i18n[key] || key; }
    function el(tag, attrs, text) {
      var node = document.createElement(tag);
      Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
      if (text !== undefined) node.textContent = text;
      return node;
    }
    function editor() { return window.afterflowModeler && window.afterflowModeler.form(); }
    function isForm() { return /\.form\.json$/.test(root.getAttribute("data-open") || ""); }
    function components(schema) {
      var all = [];
      (function walk(list) {
        (list || []).forEach(function (c) { all.push(c); walk(c.components); });
      })(schema.components);
      return all;
    }
    function labelled(c) { return c.label !== undefined || c.type === "text"; }

    function english(schema) {
      var copy = JSON.parse(JSON.stringify(schema));
      components(copy).forEach(function (c) {
        var p = c.properties || {};
        if (c.type === "text") { c.text = p.text_en || c.text; return; }
        if (c.label !== undefined) c.label = p.label_en || "⚠ " + c.label;
        if (c.description) c.description = p.description_en || c.description;
        (c.values || []).forEach(function (v) { v.label = v.label_en || "⚠ " + v.label; });
      });
      return copy;
    }

    function render(node, schema, holder) {
      if (!window.FormViewer) return;
      var make = holder.form ? Promise.resolve(holder.form) : Promise.resolve(
        holder.form = new window.FormViewer.Form({ container: node, additionalModules: window.AfterflowForms.viewerModules }));
      make.then(function (form) { return form.importSchema(schema); }).catch(function (error) {
        node.setAttribute("data-error", String(error && error.message || error));
      });
    }
    var zhHolder = {}, enHolder = {};
    function preview() {
      var ed = editor();
      if (!ed || !isForm()) return;
      var schema = ed.saveSchema();
      render(previewZh, schema, zhHolder);
      render(previewEn, english(schema), enHolder);
      box.setAttribute("data-previewed", String(Date.now()));
    }

    function setProperty(field, key, value) {
      var props = Object.assign({}, field.properties || {});
      if (value === null) delete props[key]; else props[key] = value;
      editor().get("modeling").editFormField(field, "properties", props);
    }
    function fieldById(id) { return editor().get("formFieldRegistry").get(id); }

    function row(c, option, index) {
      var p = c.properties || {};
      var zh = option ? option.label : (c.type === "text" ? c.text : c.label);
      var en = option ? option.label_en : (c.type === "text" ? p.text_en : p.label_en);
      var review = !option && p.label_en_review;
      var state = !en ? "missing" : (review ? "review" : "ok");
      var tr = el("tr", { "data-component": c.id, "data-state": state });
      if (option) tr.setAttribute("data-option", String(index));
      tr.appendChild(el("td", {}, (c.key || c.type) + (option ? " · " + option.value : "")));
      tr.appendChild(el("td", { "class": "zh" }, zh || ""));
      var cell = el("td", {});
      var input = el("input", { type: "text", "aria-label": (zh || "") + " — English" });
      input.value = en || "";
      input.addEventListener("change", function () {
        var field = fieldById(c.id);
        if (!field) return;
        if (option) {
          var values = JSON.parse(JSON.stringify(field.values || []));
          values[index].label_en = input.value.trim();
          editor().get("modeling").editFormField(field, "values", values);
        } else {
          var props = Object.assign({}, field.properties || {});
          props[c.type === "text" ? "text_en" : "label_en"] = input.value.trim();
          delete props.label_en_review;
          editor().get("modeling").editFormField(field, "properties", props);
        }
      });
      cell.appendChild(input);
      if (state !== "ok") cell.appendChild(el("span", { "class": "form-text-" + state }, t(state)));
      if (review) {
        var keep = el("button", { type: "button", "class": "confirm-english" }, t("confirm"));
        keep.addEventListener("click", function () { setProperty(fieldById(c.id), "label_en_review", null); });
        cell.appendChild(keep);
      }
      tr.appendChild(cell);
      return tr;
    }

    function table(schema) {
      var focused = document.activeElement && texts.contains(document.activeElement)
        ? document.activeElement.closest("tr") : null;
      var keep = focused ? [focused.getAttribute("data-component"), focused.getAttribute("data-option")] : null;
      texts.textContent = "";
      components(schema).filter(labelled).forEach(function (c) {
        texts.appendChild(row(c));
        (c.values || []).forEach(function (option, index) { texts.appendChild(row(c, option, index)); });
      });
      if (keep) {
        var selector = 'tr[data-component="' + keep[0] + '"]' + (keep[1] ? '[data-option="' + keep[1] + '"]' : ":not([data-option])");
        var again = texts.querySelector(selector + " input");
        if (again) again.focus();
      }
    }

    function markRenamed(schema) {
      var ed = editor();
      components(schema).forEach(function (c) {
        var before = remembered[c.id];
        remembered[c.id] = c.label;
        var p = c.properties || {};
        if (before !== undefined && before !== c.label && p.label_en && !p.label_en_review) {
          var field = ed.get("formFieldRegistry").get(c.id);
          if (field) setProperty(field, "label_en_review", true);
        }
      });
    }

    function changed() {
      var ed = editor();
      if (!ed || !isForm()) return;
      var schema = ed.saveSchema();
      markRenamed(schema);
      table(ed.saveSchema());
      window.clearTimeout(timer);
      timer = window.setTimeout(preview, 300);
    }

    function onOpen() {
      var show = isForm();
      box.hidden = !show;
      if (!show) return;
      var ed = editor();
      if (!ed) return;
      if (watched !== ed) {
        watched = ed;
        ed.on("commandStack.changed", function () { window.setTimeout(changed, 0); });
      }
      remembered = {};
      components(ed.saveSchema()).forEach(function (c) { remembered[c.id] = c.label; });
      table(ed.saveSchema());
      preview();
    }
    new MutationObserver(onOpen).observe(root, { attributes: true, attributeFilter: ["data-open"] });
  });
})();
