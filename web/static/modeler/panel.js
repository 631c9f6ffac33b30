/* afterflow's side panel for bpmn-js: edits what afterflow reads from a diagram
   (docs/modelling.md) through the modeler's modeling/moddle API. No bundler, no CDN. */
(function () {
  "use strict";

  // The spiffworkflow namespace, as far as afterflow's diagrams use it. Every element of the
  // namespace found in the diagrams is declared, so none is dropped on import.
  var SPIFF_DESCRIPTOR = {
    name: "SpiffWorkflow",
    prefix: "spiffworkflow",
    uri: "http://spiffworkflow.org/bpmn/schema/1.0/core",
    xml: { tagAlias: "lowerCase" },
    associations: [],
    types: [
      { name: "Properties", superClass: ["Element"],
        properties: [{ name: "properties", type: "Property", isMany: true }] },
      { name: "Property", superClass: ["Element"],
        properties: [{ name: "name", isAttr: true, type: "String" },
                     { name: "value", isAttr: true, type: "String" }] },
      { name: "PreScript", superClass: ["Element"],
        properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "PostScript", superClass: ["Element"],
        properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "CalledDecisionId", superClass: ["Element"],
        properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "MessagePayload", superClass: ["Element"],
        properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "MessageVariable", superClass: ["Element"],
        properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "ServiceTaskOperator", superClass: ["Element"],
        properties: [{ name: "id", isAttr: true, type: "String" },
                     { name: "resultVariable", isAttr: true, type: "String" },
                     { name: "parameterList", type: "Parameters" }] },
      { name: "Parameters", superClass: ["Element"],
        properties: [{ name: "parameters", type: "Parameter", isMany: true }] },
      { name: "Parameter", superClass: ["Element"],
        properties: [{ name: "id", isAttr: true, type: "String" },
                     { name: "type", isAttr: true, type: "String" },
                     { name: "value", isAttr: true, type: "String" }] },
      { name: "MultiInstanceScripts", extends: ["bpmn:MultiInstanceLoopCharacteristics"],
        properties: [{ name: "scriptsOnInstances", isAttr: true, type: "Boolean" }] }
    ]
  };

  var TASK_PROPERTIES = ["formKey", "dueTime", "assignee", "title", "title_en"];
  var HUMAN = ["bpmn:UserTask", "bpmn:ManualTask", "bpmn:Task"];
  var TIMER_KINDS = ["timeDate", "timeDuration", "timeCycle"];

  function extension(bo, type) {
    var ext = bo.extensionElements;
    return ext && (ext.values || []).filter(function (v) { return v.$type === type; })[0];
  }

  function property(bo, name) {
    var holder = extension(bo, "spiffworkflow:Properties");
    var found = holder && (holder.properties || []).filter(function (p) { return p.name === name; })[0];
    return found ? found.value || "" : "";
  }

  function ensureExtensions(modeler, element) {
    var bo = element.businessObject;
    if (!bo.extensionElements) {
      var ext = modeler.get("moddle").create("bpmn:ExtensionElements", { values: [] });
      modeler.get("modeling").updateProperties(element, { extensionElements: ext });
    }
    return bo.extensionElements;
  }

  function setProperty(modeler, element, name, value) {
    var modeling = modeler.get("modeling"), moddle = modeler.get("moddle");
    var bo = element.businessObject;
    var holder = extension(bo, "spiffworkflow:Properties");
    if (!value && !holder) return;
    var ext = ensureExtensions(modeler, element);
    if (!holder) {
      holder = moddle.create("spiffworkflow:Properties", { properties: [] });
      modeling.updateModdleProperties(element, ext, { values: (ext.values || []).concat([holder]) });
    }
    var list = holder.properties || [];
    var found = list.filter(function (p) { return p.name === name; })[0];
    if (!value) {
      if (found) modeling.updateModdleProperties(element, holder, { properties: list.filter(function (p) { return p !== found; }) });
    } else if (found) {
      modeling.updateModdleProperties(element, found, { value: value });
    } else {
      var created = moddle.create("spiffworkflow:Property", { name: name, value: value });
      modeling.updateModdleProperties(element, holder, { properties: list.concat([created]) });
    }
  }

  function bodyOf(bo, type) {
    var found = extension(bo, type);
    return found ? found.value || "" : "";
  }

  function setBody(modeler, element, type, value) {
    var modeling = modeler.get("modeling"), moddle = modeler.get("moddle");
    var bo = element.businessObject;
    var found = extension(bo, type);
    if (!value && !found) return;
    var ext = ensureExtensions(modeler, element);
    if (!value) {
      modeling.updateModdleProperties(element, ext, { values: ext.values.filter(function (v) { return v !== found; }) });
    } else if (found) {
      modeling.updateModdleProperties(element, found, { value: value });
    } else {
      modeling.updateModdleProperties(element, ext, { values: (ext.values || []).concat([moddle.create(type, { value: value })]) });
    }
  }

  function timerDefinition(bo) {
    return (bo.eventDefinitions || []).filter(function (d) { return d.$type === "bpmn:TimerEventDefinition"; })[0];
  }

  function timerOf(bo) {
    var def = timerDefinition(bo);
    if (!def) return null;
    for (var i = 0; i < TIMER_KINDS.length; i++) {
      if (def[TIMER_KINDS[i]]) return { kind: TIMER_KINDS[i], body: def[TIMER_KINDS[i]].body || "" };
    }
    return { kind: "timeDate", body: "" };
  }

  function setTimer(modeler, element, kind, body) {
    var def = timerDefinition(element.businessObject);
    if (!def) return;
    var changes = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
    changes[kind] = modeler.get("moddle").create("bpmn:FormalExpression", { body: body });
    modeler.get("modeling").updateModdleProperties(element, def, changes);
  }

  function setCondition(modeler, element, body) {
    var expression = body ? modeler.get("moddle").create("bpmn:FormalExpression", { body: body }) : undefined;
    modeler.get("modeling").updateProperties(element, { conditionExpression: expression });
  }

  function lanes(modeler) {
    return modeler.get("elementRegistry").filter(function (e) { return e.type === "bpmn:Lane"; });
  }

  function laneOf(modeler, element) {
    var id = element.businessObject.id;
    var found = lanes(modeler).filter(function (lane) {
      return (lane.businessObject.flowNodeRef || []).some(function (ref) { return ref.id === id; });
    });
    return found.length ? found[found.length - 1].businessObject.name || "" : "";
  }

  // Put a flow node into the lane with this name: move it (vertically) into the lane's band;
  // bpmn-js keeps the lanes' flowNodeRefs in step with where shapes lie.
  function moveToLane(modeler, element, laneName) {
    var lane = lanes(modeler).filter(function (l) { return (l.businessObject.name || "") === laneName; })[0];
    if (!lane) return false;
    var dy = lane.y + lane.height / 2 - (element.y + element.height / 2);
    var dx = 0;
    if (element.x < lane.x + 30) dx = lane.x + 40 - element.x;
    if (element.x + element.width > lane.x + lane.width) dx = lane.x + lane.width - element.width - 10 - element.x;
    modeler.get("modeling").moveShape(element, { x: dx, y: dy });
    return true;
  }

  function is(element, types) {
    return types.indexOf(element.type) >= 0;
  }

  function SidePanel(modeler, container) {
    this.modeler = modeler;
    this.container = container;
    this.labels = JSON.parse(container.getAttribute("data-i18n") || "{}");
    this.element = null;
    var self = this;
    modeler.get("eventBus").on("selection.changed", function (event) {
      self.show(event.newSelection.length === 1 ? event.newSelection[0] : null);
    });
    modeler.get("eventBus").on("elements.changed", function (event) {
      if (self.element && event.elements.indexOf(self.element) >= 0 && !self.editing) self.show(self.element);
    });
    this.show(null);
  }

  SidePanel.prototype.label = function (key) { return this.labels[key] || key; };

  SidePanel.prototype.field = function (key, value, multiline, apply, options) {
    var self = this;
    var row = document.createElement("div");
    row.className = "panel-field";
    var label = document.createElement("label");
    label.setAttribute("for", "panel-" + key);
    label.textContent = this.label(key);
    var input;
    if (options) {
      input = document.createElement("select");
      options.forEach(function (o) {
        var opt = document.createElement("option");
        opt.value = o; opt.textContent = o || "—";
        input.appendChild(opt);
      });
    } else {
      input = document.createElement(multiline ? "textarea" : "input");
      if (multiline) input.rows = 4;
    }
    input.id = "panel-" + key;
    input.name = key;
    input.value = value || "";
    if (!apply) input.readOnly = true;
    else input.addEventListener("change", function () {
      self.editing = true;
      try { apply(input.value); } finally { self.editing = false; }
    });
    row.appendChild(label);
    row.appendChild(input);
    this.container.appendChild(row);
    return input;
  };

  SidePanel.prototype.show = function (element) {
    var m = this.modeler, self = this;
    this.element = element;
    this.container.innerHTML = "";
    if (!element || element.type === "label") {
      var p = document.createElement("p");
      p.className = "panel-empty";
      p.textContent = this.label("empty");
      this.container.appendChild(p);
      return;
    }
    var bo = element.businessObject;
    this.field("id", bo.id, false, null);
    this.field("name", bo.name, false, function (v) { m.get("modeling").updateProperties(element, { name: v }); });
    if (element.type !== "bpmn:Collaboration") {
      this.field("name_en", property(bo, "name_en"), false, function (v) { setProperty(m, element, "name_en", v); });
    }
    var laneNames = lanes(m).map(function (l) { return l.businessObject.name || ""; });
    var isFlowNode = bo.$instanceOf && bo.$instanceOf("bpmn:FlowNode");
    if (isFlowNode && laneNames.length && element.type !== "bpmn:BoundaryEvent") {
      this.field("lane", laneOf(m, element), false, function (v) { moveToLane(m, element, v); }, [""].concat(laneNames));
    }
    if (is(element, HUMAN)) {
      TASK_PROPERTIES.forEach(function (name) {
        self.field(name, property(bo, name), name.indexOf("title") === 0, function (v) { setProperty(m, element, name, v); });
      });
    }
    var timer = timerOf(bo);
    if (timer) {
      this.field("timer", timer.kind, false, function (v) { setTimer(m, element, v, (timerOf(bo) || {}).body || ""); }, TIMER_KINDS);
      this.field("timer-expression", timer.body, false, function (v) { setTimer(m, element, (timerOf(bo) || timer).kind, v); })
        .previousSibling.textContent = this.label("timer");
      this.field("sla", property(bo, "sla"), false, function (v) { setProperty(m, element, "sla", v); });
    }
    if (element.type === "bpmn:SequenceFlow") {
      var condition = bo.conditionExpression ? bo.conditionExpression.body || "" : "";
      this.field("condition", condition, true, function (v) { setCondition(m, element, v); });
    }
    if (element.type === "bpmn:ScriptTask") {
      this.field("script", bo.script, true, function (v) {
        m.get("modeling").updateProperties(element, { scriptFormat: bo.scriptFormat || "python", script: v });
      });
    }
    if (element.type === "bpmn:BusinessRuleTask") {
      this.field("decision", bodyOf(bo, "spiffworkflow:CalledDecisionId"), false, function (v) {
        setBody(m, element, "spiffworkflow:CalledDecisionId", v);
      });
    }
    if (bo.$instanceOf && bo.$instanceOf("bpmn:Activity")) {
      this.field("preScript", bodyOf(bo, "spiffworkflow:PreScript"), true, function (v) { setBody(m, element, "spiffworkflow:PreScript", v); });
      this.field("postScript", bodyOf(bo, "spiffworkflow:PostScript"), true, function (v) { setBody(m, element, "spiffworkflow:PostScript", v); });
    }
  };

  window.AfterflowPanel = {
    descriptor: SPIFF_DESCRIPTOR,
    SidePanel: SidePanel,
    setProperty: setProperty,
    property: property,
    moveToLane: moveToLane,
    laneOf: laneOf
  };
})();
