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

  // --- service tasks, messages and multi-instance settings --------------------------------
  var VARIABLE = /^[A-Za-z][A-Za-z0-9_]*$/;
  var PARAMETER_LINE = /^\s*([A-Za-z][A-Za-z0-9_]*)\s*=(?!=)\s*(.*?)\s*$/;

  function operatorOf(bo) { return extension(bo, "spiffworkflow:ServiceTaskOperator"); }

  function parametersOf(bo) {
    var operator = operatorOf(bo);
    var list = operator && operator.parameterList ? operator.parameterList.parameters || [] : [];
    return list.map(function (p) { return { id: p.id || "", value: p.value || "", type: p.type }; });
  }

  // The operator (the service the task calls) with its result variable and parameters, written
  // as one undoable change of the task's extension elements.
  function setOperator(modeler, element, changes) {
    var modeling = modeler.get("modeling"), moddle = modeler.get("moddle");
    var bo = element.businessObject;
    var current = operatorOf(bo);
    var name = "service" in changes ? changes.service : current ? current.id || "" : "";
    var result = "resultVariable" in changes ? changes.resultVariable : current ? current.resultVariable || "" : "";
    var params = "parameters" in changes ? changes.parameters : parametersOf(bo);
    var ext = ensureExtensions(modeler, element);
    var operator = moddle.create("spiffworkflow:ServiceTaskOperator", { id: name });
    if (result) operator.resultVariable = result;
    operator.parameterList = moddle.create("spiffworkflow:Parameters", {
      parameters: params.map(function (p) {
        return moddle.create("spiffworkflow:Parameter", { id: p.id, type: p.type || "any", value: p.value });
      })
    });
    var others = (ext.values || []).filter(function (v) { return v !== current; });
    modeling.updateModdleProperties(element, ext, { values: others.concat([operator]) });
  }

  function parseParameters(text) {
    var found = [], seen = {};
    var lines = text.split("\n").filter(function (l) { return l.trim(); });
    for (var i = 0; i < lines.length; i++) {
      var match = PARAMETER_LINE.exec(lines[i]);
      if (!match || !match[2]) return { error: lines[i].trim() };
      if (seen[match[1]]) return { error: lines[i].trim(), repeated: match[1] };
      seen[match[1]] = true;
      found.push({ id: match[1], value: match[2] });
    }
    return { parameters: found };
  }

  function messageDefinition(bo) {
    return (bo.eventDefinitions || []).filter(function (d) { return d.$type === "bpmn:MessageEventDefinition"; })[0];
  }

  // Where a message setting lives: a message event's definition, or a send or receive task itself.
  function messageHolder(element) {
    var bo = element.businessObject;
    if (is(element, ["bpmn:SendTask", "bpmn:ReceiveTask"])) return bo;
    return messageDefinition(bo) || null;
  }

  function isThrowing(element) {
    return is(element, ["bpmn:SendTask", "bpmn:IntermediateThrowEvent", "bpmn:EndEvent"]);
  }

  function rootOf(bo) {
    var node = bo;
    while (node.$parent) node = node.$parent;
    return node;
  }

  // Point the holder at the message with this name, adding the message to the diagram if new.
  function setMessage(modeler, element, holder, name) {
    var moddle = modeler.get("moddle"), modeling = modeler.get("modeling");
    var definitions = rootOf(element.businessObject);
    var messages = (definitions.rootElements || []).filter(function (e) { return e.$type === "bpmn:Message"; });
    var message = messages.filter(function (m) { return m.name === name; })[0];
    if (!name) { modeling.updateModdleProperties(element, holder, { messageRef: undefined }); return; }
    if (!message) {
      message = moddle.create("bpmn:Message", { id: "message_" + name, name: name });
      message.$parent = definitions;
      modeling.updateModdleProperties(element, definitions, { rootElements: (definitions.rootElements || []).concat([message]) });
    }
    modeling.updateModdleProperties(element, holder, { messageRef: message });
  }

  function holderBody(holder, type) {
    var ext = holder.extensionElements;
    var found = ext && (ext.values || []).filter(function (v) { return v.$type === type; })[0];
    return found ? found.value || "" : "";
  }

  function setHolderBody(modeler, element, holder, type, value) {
    var modeling = modeler.get("modeling"), moddle = modeler.get("moddle");
    var ext = holder.extensionElements;
    var found = ext && (ext.values || []).filter(function (v) { return v.$type === type; })[0];
    if (!value && !found) return;
    if (!ext) {
      ext = moddle.create("bpmn:ExtensionElements", { values: [] });
      modeling.updateModdleProperties(element, holder, { extensionElements: ext });
    }
    if (!value) {
      modeling.updateModdleProperties(element, ext, { values: ext.values.filter(function (v) { return v !== found; }) });
    } else if (found) {
      modeling.updateModdleProperties(element, found, { value: value });
    } else {
      modeling.updateModdleProperties(element, ext, { values: (ext.values || []).concat([moddle.create(type, { value: value })]) });
    }
  }

  function loopOf(bo) {
    var loop = bo.loopCharacteristics;
    return loop && loop.$type === "bpmn:MultiInstanceLoopCharacteristics" ? loop : null;
  }

  function loopSettings(bo) {
    var loop = loopOf(bo);
    if (!loop) return { mode: "" };
    return {
      mode: loop.isSequential ? "sequential" : "parallel",
      cardinality: loop.loopCardinality ? loop.loopCardinality.body || "" : "",
      collection: loop.loopDataInputRef ? loop.loopDataInputRef.id || "" : "",
      element: loop.inputDataItem ? loop.inputDataItem.name || loop.inputDataItem.id || "" : "",
      completion: loop.completionCondition ? loop.completionCondition.body || "" : ""
    };
  }

  // A variable named by a reference (loopDataInputRef): SpiffWorkflow reads the name, bpmn-js
  // expects an element; a detached data input with that id writes exactly the name.
  function variableRef(moddle, name) { return moddle.create("bpmn:DataInput", { id: name }); }

  function setLoop(modeler, element, key, value) {
    var moddle = modeler.get("moddle"), modeling = modeler.get("modeling");
    var bo = element.businessObject, loop = loopOf(bo);
    if (key === "mode") {
      if (!value) { if (loop) modeling.updateProperties(element, { loopCharacteristics: undefined }); return; }
      if (loop) { modeling.updateModdleProperties(element, loop, { isSequential: value === "sequential" }); return; }
      modeling.updateProperties(element, {
        loopCharacteristics: moddle.create("bpmn:MultiInstanceLoopCharacteristics", { isSequential: value === "sequential" })
      });
      return;
    }
    if (!loop) return;
    var changes = {};
    if (key === "cardinality" || key === "completion") {
      var property = key === "cardinality" ? "loopCardinality" : "completionCondition";
      changes[property] = value ? moddle.create("bpmn:FormalExpression", { body: value }) : undefined;
    } else if (key === "collection") {
      changes.loopDataInputRef = value ? variableRef(moddle, value) : undefined;
    } else if (key === "element") {
      changes.inputDataItem = value ? moddle.create("bpmn:DataInput", { id: value, name: value }) : undefined;
    }
    modeling.updateModdleProperties(element, loop, changes);
  }

  // bpmn-js drops a reference it cannot resolve; the loop's collections name variables, not
  // elements, so put them back from the import's warnings (else a save would lose them).
  function keepVariableRefs(modeler, warnings) {
    var moddle = modeler.get("moddle");
    (warnings || []).forEach(function (w) {
      if (!w || !w.element || !/^bpmn:loopData(In|Out)putRef$/.test(w.property || "")) return;
      w.element.set(w.property, variableRef(moddle, w.value));
    });
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
    this.services = JSON.parse(container.getAttribute("data-services") || "{}");
    this.maxCardinality = Number(container.getAttribute("data-max-cardinality")) || 1000;
    this.checks = {};
    this.element = null;
    var self = this;
    modeler.get("eventBus").on("selection.changed", function (event) {
      var picked = event.newSelection.length === 1 ? event.newSelection[0] : null;
      // A flow's (or an event's) label stands for its element: show that element.
      self.show(picked && picked.type === "label" && picked.labelTarget ? picked.labelTarget : picked);
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
    var note = document.createElement("span");
    note.className = "panel-invalid";
    note.id = "panel-" + key + "-problem";
    note.setAttribute("role", "alert");
    if (!apply) input.readOnly = true;
    else input.addEventListener("change", function () {
      // A value the panel can tell is wrong is shown as wrong and not written: the diagram keeps
      // its last good value.
      var problem = self.checks[key] ? self.checks[key](input.value) : null;
      note.textContent = problem || "";
      input.setAttribute("aria-invalid", problem ? "true" : "false");
      if (problem) return;
      self.editing = true;
      try { apply(input.value); } finally { self.editing = false; }
    });
    row.appendChild(label);
    row.appendChild(input);
    row.appendChild(note);
    this.container.appendChild(row);
    return input;
  };

  SidePanel.prototype.message = function (key, values) {
    var text = this.label(key);
    Object.keys(values || {}).forEach(function (k) { text = text.replace("{" + k + "}", values[k]); });
    return text;
  };

  SidePanel.prototype.variableCheck = function (value) {
    return !value || VARIABLE.test(value) ? null : this.message("bad-variable", { value: value });
  };

  SidePanel.prototype.expressionCheck = function (value) {
    return value && value.trim() ? null : this.message("empty-expression");
  };

  SidePanel.prototype.cardinalityCheck = function (value) {
    var text = (value || "").trim().replace(/_/g, "");
    if (!text) return null;
    if (/^\d+$/.test(text) && Number(text) > this.maxCardinality) {
      return this.message("over-cap", { value: text, cap: this.maxCardinality });
    }
    return null;
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
    this.checks = {};
    this.field("id", bo.id, false, null);
    this.field("name", bo.name, false, function (v) { m.get("modeling").updateProperties(element, { name: v }); });
    if (element.type !== "bpmn:Collaboration") {
      this.field("name_en", property(bo, "name_en"), false, function (v) { setProperty(m, element, "name_en", v); });
    }
    var laneNames = lanes(m).map(function (l) { return l.businessObject.name || ""; });
    var isFlowNode = bo.$instanceOf && bo.$instanceOf("bpmn:FlowNode");
    if (isFlowNode && laneNames.length && element.type !== "bpmn:BoundaryEvent") {
      // "—" (no lane) is offered only while the element is in none: it cannot leave its band.
      var current = laneOf(m, element);
      this.field("lane", current, false, function (v) { moveToLane(m, element, v); }, current ? laneNames : [""].concat(laneNames));
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
    if (element.type === "bpmn:ServiceTask") this.showService(element);
    if (messageHolder(element)) this.showMessage(element);
    if (bo.$instanceOf && bo.$instanceOf("bpmn:Activity") && element.type !== "bpmn:SubProcess") {
      this.showLoop(element);
    }
    if (bo.$instanceOf && bo.$instanceOf("bpmn:Activity")) {
      this.field("preScript", bodyOf(bo, "spiffworkflow:PreScript"), true, function (v) { setBody(m, element, "spiffworkflow:PreScript", v); });
      this.field("postScript", bodyOf(bo, "spiffworkflow:PostScript"), true, function (v) { setBody(m, element, "spiffworkflow:PostScript", v); });
    }
  };

  SidePanel.prototype.heading = function (key) {
    var h = document.createElement("h3");
    h.className = "panel-section";
    h.textContent = this.label(key);
    this.container.appendChild(h);
  };

  SidePanel.prototype.showService = function (element) {
    var m = this.modeler, self = this, bo = element.businessObject;
    var operator = operatorOf(bo);
    var current = operator ? operator.id || "" : "";
    var names = Object.keys(this.services).sort();
    if (current && names.indexOf(current) < 0) names.push(current);
    this.heading("service-section");
    this.checks.service = function (v) { return v ? null : self.message("no-service"); };
    this.field("service", current, false, function (v) {
      // A newly chosen service starts with its handler's parameters, each to be given a value.
      var keep = parametersOf(bo);
      var wanted = (self.services[v] || []).filter(function (n) { return !keep.some(function (p) { return p.id === n; }); });
      var params = keep.concat(wanted.map(function (n) { return { id: n, value: n }; }));
      setOperator(m, element, { service: v, parameters: params });
      self.show(element);
    }, [""].concat(names));
    this.checks.resultVariable = function (v) { return self.variableCheck(v); };
    this.field("resultVariable", operator ? operator.resultVariable || "" : "", false, function (v) {
      setOperator(m, element, { resultVariable: v });
    });
    var text = parametersOf(bo).map(function (p) { return p.id + " = " + p.value; }).join("\n");
    this.checks.parameters = function (v) {
      var parsed = parseParameters(v);
      if (parsed.repeated) return self.message("repeated-parameter", { name: parsed.repeated });
      return parsed.error ? self.message("bad-parameter", { line: parsed.error }) : null;
    };
    this.field("parameters", text, true, function (v) {
      var types = {};
      parametersOf(bo).forEach(function (p) { types[p.id] = p.type; });
      var params = parseParameters(v).parameters.map(function (p) { return { id: p.id, value: p.value, type: types[p.id] }; });
      setOperator(m, element, { parameters: params });
    });
  };

  SidePanel.prototype.showMessage = function (element) {
    var m = this.modeler, self = this;
    var holder = messageHolder(element);
    this.heading("message-section");
    this.checks.message = function (v) { return !v || VARIABLE.test(v) ? null : self.message("bad-variable", { value: v }); };
    this.field("message", holder.messageRef ? holder.messageRef.name || "" : "", false, function (v) {
      setMessage(m, element, messageHolder(element), v);
    });
    if (isThrowing(element)) {
      this.checks.payload = null;
      this.field("payload", holderBody(holder, "spiffworkflow:MessagePayload"), true, function (v) {
        setHolderBody(m, element, messageHolder(element), "spiffworkflow:MessagePayload", v);
      });
    } else {
      this.checks.messageVariable = function (v) { return self.variableCheck(v); };
      this.field("messageVariable", holderBody(holder, "spiffworkflow:MessageVariable"), false, function (v) {
        setHolderBody(m, element, messageHolder(element), "spiffworkflow:MessageVariable", v);
      });
    }
  };

  SidePanel.prototype.showLoop = function (element) {
    var m = this.modeler, self = this;
    var settings = loopSettings(element.businessObject);
    this.heading("loop-section");
    this.field("loop", settings.mode, false, function (v) {
      setLoop(m, element, "mode", v);
      self.show(element);  // the loop's own settings appear (or go) with it
    }, ["", "parallel", "sequential"]);
    var select = this.container.querySelector("#panel-loop");
    Array.prototype.forEach.call(select.options, function (o) { if (o.value) o.textContent = self.label("loop-" + o.value); });
    if (!settings.mode) return;
    this.checks.cardinality = function (v) {
      if (v && loopSettings(element.businessObject).collection) return self.message("loop-both");
      return self.cardinalityCheck(v);
    };
    this.field("cardinality", settings.cardinality, false, function (v) { setLoop(m, element, "cardinality", v); });
    this.checks.collection = function (v) {
      if (v && loopSettings(element.businessObject).cardinality) return self.message("loop-both");
      return self.variableCheck(v);
    };
    this.field("collection", settings.collection, false, function (v) { setLoop(m, element, "collection", v); });
    this.checks.elementVariable = function (v) { return self.variableCheck(v); };
    this.field("elementVariable", settings.element, false, function (v) { setLoop(m, element, "element", v); });
    this.field("completionCondition", settings.completion, false, function (v) { setLoop(m, element, "completion", v); });
  };

  window.AfterflowPanel = {
    keepVariableRefs: keepVariableRefs,
    loopSettings: loopSettings,
    descriptor: SPIFF_DESCRIPTOR,
    SidePanel: SidePanel,
    setProperty: setProperty,
    property: property,
    moveToLane: moveToLane,
    laneOf: laneOf
  };
})();
