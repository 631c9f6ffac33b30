/* afterflow editor page: one process's files (BPMN, decision tables, forms) in bpmn-js,
   dmn-js and form-js; draft, validate (server-side, as a deploy would) and deploy. */
(function () {
  "use strict";
  var root = document.getElementById("modeler-app");
  if (!root) return;
  var csrf = document.querySelector("meta[name=csrf-token]").getAttribute("content");
  var statusLine = document.getElementById("modeler-status");
  var problemList = document.getElementById("problems");
  var tabs = document.getElementById("file-tabs");
  var bpmnBox = document.getElementById("bpmn-canvas");
  var dmnBox = document.getElementById("dmn-container");
  var formBox = document.getElementById("form-container");
  var processKey = root.getAttribute("data-process");

  function t(key, values) {
    var text = root.getAttribute("data-i18n-" + key) || key;
    Object.keys(values || {}).forEach(function (k) { text = text.replace("{" + k + "}", values[k]); });
    return text;
  }

  var state = { files: {}, current: null, version: null, source: null, problems: [], dirty: false, edits: 0, saving: false, pending: null };
  var bpmn = new window.BpmnJS({
    container: bpmnBox,
    keyboard: { bindTo: document },
    moddleExtensions: { spiffworkflow: window.AfterflowPanel.descriptor }
  });
  var panel = new window.AfterflowPanel.SidePanel(bpmn, document.getElementById("panel"));
  var dmn = new window.DmnJS({ container: dmnBox, common: { keyboard: { bindTo: window } } });
  var formEditor = null;

  function kindOf(name) {
    if (/\.bpmn$/.test(name)) return "bpmn";
    if (/\.dmn$/.test(name)) return "dmn";
    return "form";
  }

  function status(text, kind) {
    statusLine.textContent = text;
    statusLine.className = kind || "";
  }

  function request(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return { ok: false, message: response.statusText }; })
        .then(function (data) { data.status = response.status; return data; });
    });
  }

  // Write what the open editor holds back into state.files.
  function syncCurrent() {
    var name = state.current;
    if (!name) return Promise.resolve();
    var kind = kindOf(name);
    if (kind === "bpmn") {
      return bpmn.saveXML({ format: true }).then(function (r) { state.files[name] = r.xml; });
    }
    if (kind === "dmn") {
      return dmn.saveXML({ format: true }).then(function (r) { state.files[name] = r.xml; });
    }
    if (formEditor) state.files[name] = JSON.stringify(formEditor.saveSchema(), null, 2);
    return Promise.resolve();
  }

  function open(name) {
    return syncCurrent().then(function () {
      state.current = name;
      var kind = kindOf(name);
      bpmnBox.hidden = kind !== "bpmn";
      document.getElementById("panel").hidden = kind !== "bpmn";
      dmnBox.hidden = kind !== "dmn";
      formBox.hidden = kind !== "form";
      Array.prototype.forEach.call(tabs.querySelectorAll("button"), function (b) {
        b.setAttribute("aria-pressed", b.getAttribute("data-file") === name ? "true" : "false");
      });
      if (kind === "bpmn") {
        return bpmn.importXML(state.files[name]).then(function (result) {
          window.AfterflowPanel.keepVariableRefs(bpmn, result && result.warnings);
          fitBesidePalette(bpmn.get("canvas"));
          markProblems();
        });
      }
      if (kind === "dmn") {
        return dmn.importXML(state.files[name]).then(function () {
          var table = dmn.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
          if (table) return dmn.open(table);
        });
      }
      var schema = JSON.parse(state.files[name]);
      if (formEditor) { return formEditor.importSchema(schema); }
      var modules = (window.AfterflowForms || {}).editorModules || [];
      return window.FormEditor.createFormEditor({ container: formBox, schema: schema, additionalModules: modules }).then(function (editor) {
        formEditor = editor;
        editor.on("changed", markDirty);
      });
    }).then(function () { root.setAttribute("data-open", name); });
  }

  function renderTabs() {
    tabs.innerHTML = "";
    Object.keys(state.files).sort(function (a, b) {
      var order = { bpmn: 0, dmn: 1, form: 2 };
      return order[kindOf(a)] - order[kindOf(b)] || a.localeCompare(b);
    }).forEach(function (name) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = name;
      button.setAttribute("data-file", name);
      button.className = "file-tab " + kindOf(name);
      button.addEventListener("click", function () { open(name); });
      tabs.appendChild(button);
    });
  }

  function mainFile() {
    var names = Object.keys(state.files).filter(function (n) { return kindOf(n) === "bpmn"; });
    var own = names.filter(function (n) { return state.files[n].indexOf('id="' + processKey + '"') >= 0; });
    return own[0] || names[0];
  }

  function load(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        state.files = data.files;
        state.version = data.version;
        state.source = data.source;
        state.current = null;
        window.setTimeout(markClean, 0);
        status(data.source === "draft" ? t("draft", { author: data.author }) : t("version", { version: data.version }));
        showOthers(data.others);
        renderTabs();
        return open(mainFile());
      });
  }

  // --- problems and warnings: listed, and counted in a badge on each element -----------------
  function clearMarks() {
    var canvas = bpmn.get("canvas"), registry = bpmn.get("elementRegistry");
    bpmn.get("overlays").remove({ type: "af-problem" });
    registry.getAll().forEach(function (e) {
      canvas.removeMarker(e.id, "af-problem");
      canvas.removeMarker(e.id, "af-warning");
    });
  }

  // Fit the diagram into the canvas right of the palette, with a margin all round.
  function fitBesidePalette(canvas) {
    canvas.zoom("fit-viewport");
    var box = canvas.viewbox(), inner = box.inner, outer = box.outer;
    if (!inner.width || !inner.height) return;
    var palette = document.querySelector(".djs-palette");
    var left = (palette ? palette.getBoundingClientRect().width : 0) + 24, margin = 24;
    var scale = Math.min(1, (outer.width - left - margin) / inner.width, (outer.height - 2 * margin) / inner.height);
    if (!(scale > 0)) return;
    canvas.viewbox({
      x: inner.x - left / scale, y: inner.y - margin / scale,
      width: outer.width / scale, height: outer.height / scale
    });
  }

  function levelOf(p) { return p.level === "warning" ? "warning" : "error"; }

  function markProblems() {
    if (kindOf(state.current || "") !== "bpmn") return;
    clearMarks();
    var canvas = bpmn.get("canvas"), registry = bpmn.get("elementRegistry"), overlays = bpmn.get("overlays");
    var byElement = {};
    state.problems.forEach(function (p) {
      if (p.file && p.file !== state.current) return;
      var element = registry.get(p.element_id);
      if (!element || element.type === "label") return;
      (byElement[p.element_id] = byElement[p.element_id] || []).push(p);
    });
    Object.keys(byElement).forEach(function (id) {
      var found = byElement[id];
      var errors = found.filter(function (p) { return levelOf(p) === "error"; }).length;
      var level = errors ? "error" : "warning";
      canvas.addMarker(id, errors ? "af-problem" : "af-warning");
      var badge = document.createElement("button");
      badge.type = "button";
      badge.className = "af-badge af-badge-" + level;
      badge.setAttribute("data-element", id);
      badge.textContent = String(found.length);
      badge.title = found.map(function (p) { return p.message; }).join("\n");
      badge.addEventListener("click", function () { selectProblem(id); });
      overlays.add(id, "af-problem", { position: { top: -10, right: 10 }, html: badge });
    });
  }

  function selectProblem(id) {
    var element = bpmn.get("elementRegistry").get(id);
    if (element) bpmn.get("selection").select(element);
    Array.prototype.forEach.call(problemList.children, function (item) {
      var match = item.getAttribute("data-element") === id;
      item.classList.toggle("selected", match);
      if (match && item.scrollIntoView) item.scrollIntoView({ block: "nearest" });
    });
  }

  function showProblems(problems) {
    state.problems = problems || [];
    problemList.innerHTML = "";
    state.problems.forEach(function (p) {
      var item = document.createElement("li");
      item.setAttribute("data-element", p.element_id);
      item.className = levelOf(p);
      var code = document.createElement("code");
      code.textContent = p.element_id;
      item.appendChild(code);
      item.appendChild(document.createTextNode(" " + p.message + (p.file ? " (" + p.file + ")" : "")));
      item.addEventListener("click", function () {
        var name = p.file && state.files[p.file] !== undefined ? p.file : state.current;
        (name !== state.current ? open(name) : Promise.resolve()).then(function () {
          if (kindOf(name) === "bpmn") selectProblem(p.element_id);
        });
      });
      problemList.appendChild(item);
    });
    markProblems();
  }

  function validate() {
    return syncCurrent().then(function () {
      return request("POST", root.getAttribute("data-validate-url"), { files: state.files });
    }).then(function (data) {
      showProblems(data.problems || []);
      status(data.ok ? t("valid") : t("invalid"), data.ok ? "ok" : "error");
      root.setAttribute("data-validated", data.ok ? "ok" : "problems");
      return data;
    });
  }

  function saveDraft() {
    // An edit made while the draft is on its way is not in it: the page stays dirty for that edit.
    var edits = state.edits;
    return syncCurrent().then(function () {
      return request("PUT", root.getAttribute("data-draft-url"), { files: state.files, version: state.version });
    }).then(function (data) {
      status(data.ok ? t("saved") : data.message, data.ok ? "ok" : "error");
      if (data.ok) {
        if (state.edits === edits) markClean();
      } else if (data.problems) showProblems(data.problems);  // the settings the draft may not keep
      if (data.others) showOthers(data.others);
      return data;
    });
  }

  // --- who else has a draft of this process open, and when they saved ---------------------
  var othersLine = document.getElementById("modeler-others");
  function showOthers(others) {
    if (!othersLine || !others) return;
    othersLine.innerHTML = "";
    others.forEach(function (o) {
      var item = document.createElement("li");
      item.setAttribute("data-author", o.author);
      item.className = o.editing ? "editing" : "idle";
      item.textContent = o.text;
      othersLine.appendChild(item);
    });
    othersLine.hidden = others.length === 0;
  }
  var PRESENCE_MS = Number(root.getAttribute("data-presence-ms")) || 30000;
  function beat() {
    return request("POST", root.getAttribute("data-presence-url")).then(function (data) {
      showOthers(data.others);
    }, function () {});
  }
  window.setInterval(beat, PRESENCE_MS);

  function discardDraft() {
    state.saving = true;  // no autosave of the edits being thrown away
    return Promise.resolve(state.pending).then(function () {
      return request("DELETE", root.getAttribute("data-draft-url"));
    }).then(function () {
      showProblems([]);
      return load(root.getAttribute("data-files-url"));
    }).then(function () {
      markClean();
      state.saving = false;
      status(t("discarded"), "ok");
    });
  }

  function deploy() {
    var summary = document.getElementById("change-summary").value.trim();
    if (!summary) { status(t("summary"), "error"); return Promise.resolve({ ok: false }); }
    // An autosave in flight lands first, so the deploy's discarding of the draft comes after it.
    var edits;
    return Promise.resolve(state.pending).then(function () {
      state.saving = true;  // no autosave while the deploy is on its way
      edits = state.edits;
      return syncCurrent();
    }).then(function () {
      var body = { files: state.files, change_summary: summary, version: state.version };
      return request("POST", root.getAttribute("data-deploy-url"), body).then(function (data) {
        // Versions deployed since my draft was started: say which, and deploy only if confirmed.
        if (data.status !== 409 || !data.newer) return data;
        root.setAttribute("data-newer", data.newer.map(function (n) { return n.version; }).join(","));
        if (!window.confirm(data.message)) return { ok: false, message: data.message, problems: [], held: true };
        body.over_newer = true;
        return request("POST", root.getAttribute("data-deploy-url"), body);
      });
    }).then(function (data) {
      state.saving = false;
      root.setAttribute("data-deployed", data.ok ? "ok" : "refused");
      if (!data.ok) {
        showProblems(data.problems || []);
        status(data.message || t("invalid"), "error");
        return data;
      }
      if (state.edits === edits) markClean();  // edits made meanwhile are not in the version
      showProblems(data.warnings || []);
      var what = (data.deployed || []).map(function (d) { return d[0] + " v" + d[1]; }).join(", ");
      status(what ? t("deployed").replace("{what}", what) : t("unchanged"), "ok");
      var mine = (data.deployed || []).filter(function (d) { return d[0] === processKey; })[0];
      if (mine) state.version = mine[1];
      return data;
    });
  }

  // A .bpmn from another tool replaces the process's diagram in the editor (validate to see
  // what afterflow cannot run in it).
  document.getElementById("upload-bpmn").addEventListener("change", function (event) {
    var file = event.target.files[0];
    if (!file) return;
    file.text().then(function (text) {
      var name = mainFile() || file.name;
      return syncCurrent().then(function () {
        state.files[name] = text;
        state.current = null;
        return open(name);
      }).then(validate);
    }).catch(function (error) { status(String(error && error.message || error), "error"); });
  });
  // A new decision table or form joins the user's draft (with the editor's edits) and opens.
  function addFile(kind) {
    var key = window.prompt(root.getAttribute(kind === "decision" ? "data-i18n-new-decision" : "data-i18n-new-form"));
    if (!key) return Promise.resolve(null);
    return syncCurrent().then(function () {
      return request("POST", root.getAttribute("data-new-file-url"),
        { kind: kind, key: key.trim(), files: state.files, version: state.version });
    }).then(function (data) {
      if (!data.ok) { status(data.message, "error"); return data; }
      state.files[data.file] = data.text;
      state.source = "draft";
      markClean();
      renderTabs();
      return open(data.file).then(function () {
        status(root.getAttribute("data-i18n-added").replace("{file}", data.file), "ok");
        return data;
      });
    });
  }
  document.getElementById("new-decision").addEventListener("click", function () { addFile("decision"); });
  document.getElementById("new-form").addEventListener("click", function () { addFile("form"); });
  // --- undo and redo, unsaved edits, autosave ------------------------------------------------
  function commandStack() {
    var kind = kindOf(state.current || "");
    if (kind === "bpmn") return bpmn.get("commandStack");
    if (kind === "dmn") {
      var viewer = dmn.getActiveViewer();
      return viewer ? viewer.get("commandStack") : null;
    }
    return formEditor ? formEditor.get("commandStack") : null;
  }
  function markDirty() { state.edits += 1; state.dirty = true; root.setAttribute("data-dirty", "true"); }
  function markClean() { state.dirty = false; root.setAttribute("data-dirty", "false"); }
  bpmn.on("commandStack.changed", markDirty);
  dmn.on("views.changed", function () {
    var viewer = dmn.getActiveViewer();
    if (viewer && !viewer.__afterflowWatched) {
      viewer.__afterflowWatched = true;
      viewer.get("eventBus").on("elements.changed", markDirty);
    }
  });
  document.getElementById("undo").addEventListener("click", function () {
    var stack = commandStack();
    if (stack && stack.canUndo()) stack.undo();
  });
  document.getElementById("redo").addEventListener("click", function () {
    var stack = commandStack();
    if (stack && stack.canRedo()) stack.redo();
  });
  window.addEventListener("beforeunload", function (event) {
    if (!state.dirty) return undefined;
    event.preventDefault();
    event.returnValue = "";
    return "";
  });
  var AUTOSAVE_MS = Number(root.getAttribute("data-autosave-ms")) || 30000;
  window.setInterval(function () {
    if (!state.dirty || state.saving) return;
    state.saving = true;
    state.pending = saveDraft().then(function (data) {
      if (data && data.ok) status(t("autosaved"), "ok");
    }).then(function () { state.saving = false; }, function () { state.saving = false; });
  }, AUTOSAVE_MS);

  document.getElementById("save-draft").addEventListener("click", saveDraft);
  document.getElementById("discard-draft").addEventListener("click", discardDraft);
  document.getElementById("validate").addEventListener("click", validate);
  document.getElementById("deploy").addEventListener("click", deploy);
  document.getElementById("trial-link").addEventListener("click", function (event) {
    if (!state.dirty) return;  // the trial runs the saved draft: save the edits first
    event.preventDefault();
    saveDraft().then(function (data) { if (data.ok) window.location.href = event.target.href; });
  });

  window.afterflowModeler = {
    bpmn: bpmn,
    dmn: dmn,
    form: function () { return formEditor; },
    panel: panel,
    state: state,
    open: open,
    sync: syncCurrent,
    validate: validate,
    deploy: deploy,
    saveDraft: saveDraft,
    addFile: addFile,
    beat: beat,
    ready: load(root.getAttribute("data-files-url")).then(function () {
      root.setAttribute("data-ready", "true");
    }, function (error) {
      status(String(error && error.message || error), "error");
    })
  };
})();
