/* The trial run page: keeps the plan (start, sample data, answers), asks the server to run it,
   and shows the path on the diagram, the open tasks with their forms, timers and events. */
(function () {
  "use strict";
  var root = document.getElementById("trial-app");
  if (!root) return;
  var csrf = document.querySelector("meta[name=csrf-token]").getAttribute("content");
  var i18n = JSON.parse(root.getAttribute("data-i18n") || "{}");
  var lang = root.getAttribute("data-lang") === "en" ? "en" : "zh";
  var processKey = root.getAttribute("data-process");
  var viewer = new window.BpmnJS({ container: document.getElementById("trial-canvas") });
  var state = { files: null, plan: null, marked: [], runs: 0, last: null };

  function $(id) { return document.getElementById(id); }
  function t(key, values) {
    var text = i18n[key] || key;
    Object.keys(values || {}).forEach(function (k) { text = text.replace("{" + k + "}", values[k]); });
    return text;
  }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }
  function status(text, kind) {
    var box = $("trial-status");
    box.textContent = text || "";
    box.className = kind || "";
  }
  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return { ok: false, message: response.statusText }; });
    });
  }
  function mainBpmn(files) {
    var names = Object.keys(files).filter(function (n) { return /\.bpmn$/.test(n); }).sort();
    var own = names.filter(function (n) { return files[n].indexOf('id="' + processKey + '"') >= 0; });
    return files[own[0] || names[0]];
  }

  // --- the diagram ----------------------------------------------------------------------------
  function mark(path, open, diff) {
    var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
    state.marked.forEach(function (m) { canvas.removeMarker(m[0], m[1]); });
    state.marked = [];
    function add(id, marker) {
      if (id && registry.get(id)) { canvas.addMarker(id, marker); state.marked.push([id, marker]); }
    }
    var done = {};
    path.forEach(function (id) { done[id] = true; add(id, "af-trial-done"); });
    open.forEach(function (id) { add(id, "af-trial-open"); });
    registry.getAll().forEach(function (e) {
      if (e.waypoints && e.source && e.target && done[e.source.id] &&
          (done[e.target.id] || open.indexOf(e.target.id) >= 0)) add(e.id, "af-trial-done");
    });
    (diff || []).forEach(function (id) { add(id, "af-trial-diff"); });
  }

  // --- what the run shows ------------------------------------------------------------------------
  function detailText(e) {
    if (e.kind === "decision") {
      var outputs = e.detail.outputs || {};
      return (e.detail.rules || []).map(function (r) {
        return t("row") + " " + r.row + (r.description ? " · " + r.description : "");
      }).join("; ") + " → " + Object.keys(outputs).map(function (k) {
        return k + " = " + JSON.stringify(outputs[k]);
      }).join(", ");
    }
    if (e.kind === "message_thrown") return e.detail.name || "";
    if (e.kind === "message_received") return (e.detail.name || "") + " " + JSON.stringify(e.detail.payload || {});
    if (e.kind === "task_completed" || e.kind === "started") return JSON.stringify(e.detail.data || {});
    return "";
  }
  function renderEvents(trial) {
    var body = $("trial-events");
    body.textContent = "";
    trial.events.forEach(function (e) {
      var row = el("tr", null, "kind-" + e.kind);
      row.setAttribute("data-kind", e.kind);
      if (e.element) row.setAttribute("data-element", e.element);
      [String(e.step), e.at ? e.at.text : "", t(e.kind), e.name || "", e.due ? e.due.text : "", detailText(e)]
        .forEach(function (text, index) {
          var cell = el("td", text);
          if (index === 4 && e.due) cell.setAttribute("data-due", e.due.iso);
          row.appendChild(cell);
        });
      body.appendChild(row);
    });
    var timers = $("trial-timers");
    timers.textContent = "";
    trial.timers.forEach(function (timer) {
      var item = el("li", timer.name + " — " + t("due") + " " + timer.due.text);
      item.setAttribute("data-element", timer.element);
      item.setAttribute("data-due", timer.due.iso);
      timers.appendChild(item);
    });
  }
  function fieldInput(field) {
    var input;
    if (field.type === "select" || field.type === "radio") {
      input = el("select");
      input.appendChild(el("option", "—")).value = "";
      field.options.forEach(function (o) {
        var option = el("option", lang === "en" ? (o[2] || o[1]) : o[1]);
        option.value = o[0];
        input.appendChild(option);
      });
    } else if (field.type === "textarea") {
      input = el("textarea");
    } else {
      input = el("input");
      input.type = field.type === "number" ? "number" : field.type === "checkbox" ? "checkbox" :
        field.type === "datetime" ? (field.subtype === "date" ? "date" : field.subtype === "time" ? "time" : "datetime-local") : "text";
      if (field.type === "number") input.step = "any";
    }
    input.name = field.key;
    input.setAttribute("data-field", field.key);
    if (field.default !== null && field.default !== undefined && input.type !== "checkbox") input.value = field.default;
    if (field.readonly) input.disabled = true;
    return input;
  }
  function valuesOf(box) {
    var data = {};
    Array.prototype.forEach.call(box.querySelectorAll("[data-field]"), function (input) {
      if (input.disabled) return;
      var key = input.getAttribute("data-field");
      if (input.type === "checkbox") data[key] = input.checked;
      else if (input.value !== "") data[key] = input.value;
    });
    return data;
  }
  function renderTask(task, refused) {
    var box = el("div", null, "trial-task");
    box.setAttribute("data-element", task.element);
    box.appendChild(el("h3", task.name));
    var facts = (task.role ? t("role") + ": " + task.role + " · " : "") + t("due") + ": " + (task.due ? task.due.text : "—");
    var fact = el("p", facts);
    if (task.due) fact.setAttribute("data-due", task.due.iso);
    box.appendChild(fact);
    task.fields.forEach(function (field) {
      var label = el("label", (lang === "en" ? field.label_en || field.label_zh : field.label_zh) + (field.required ? " *" : "") + " ");
      label.appendChild(fieldInput(field));
      if (refused && refused.element === task.element && refused.errors && refused.errors[field.key]) {
        label.appendChild(el("span", " " + refused.errors[field.key].join(" "), "error"));
      }
      box.appendChild(label);
    });
    var minutes = el("label", t("minutes") + " ");
    var minutesInput = el("input");
    minutesInput.type = "number";
    minutesInput.min = "0";
    minutesInput.className = "trial-minutes";
    minutesInput.value = $("trial-default-minutes").value;
    minutes.appendChild(minutesInput);
    box.appendChild(minutes);
    var button = el("button", t("complete"));
    button.type = "button";
    button.addEventListener("click", function () {
      answer(task.element, valuesOf(box), Number(minutesInput.value));
    });
    box.appendChild(button);
    return box;
  }
  function renderStartFields(trial) {
    var box = $("trial-start-fields"), data = (state.plan && state.plan.data) || {};
    box.textContent = "";
    box.hidden = !trial.start_fields.length;
    trial.start_fields.forEach(function (field) {
      var label = el("label", (lang === "en" ? field.label_en || field.label_zh : field.label_zh) + (field.required ? " *" : "") + " ");
      var input = fieldInput(field);
      if (data[field.key] !== undefined && data[field.key] !== null) {
        if (input.type === "checkbox") input.checked = !!data[field.key];
        else input.value = data[field.key];
      }
      label.appendChild(input);
      var refused = trial.refused;
      if (refused && !refused.element && refused.errors && refused.errors[field.key]) {
        label.appendChild(el("span", " " + refused.errors[field.key].join(" "), "error"));
      }
      box.appendChild(label);
    });
  }
  function render(trial, diff) {
    state.last = trial;
    renderStartFields(trial);
    renderEvents(trial);
    var open = $("trial-open");
    open.textContent = "";
    trial.open_tasks.forEach(function (task) { open.appendChild(renderTask(task, trial.refused)); });
    if (!trial.open_tasks.length) open.appendChild(el("p", trial.finished ? t("finished") : t("none")));
    $("trial-clock").textContent = trial.clock ? trial.clock.text : "";
    var problems = $("trial-problems");
    problems.textContent = "";
    if (trial.refused && !trial.refused.element && trial.refused.errors) {
      Object.keys(trial.refused.errors).forEach(function (key) {
        problems.appendChild(el("li", key + ": " + trial.refused.errors[key].join(" ")));
      });
    }
    if (trial.error) status(t("error") + " " + (trial.error.element || "") + ": " + trial.error.message, "error");
    else if (trial.refused) status(t("refused") + " " + (t(trial.refused.reason) === trial.refused.reason ? "" : t(trial.refused.reason)), "error");
    else status(trial.finished ? t("finished") : "", "ok");
    mark(trial.path, trial.open_tasks.map(function (task) { return task.element; }), diff);
    state.runs += 1;
    root.setAttribute("data-runs", String(state.runs));
  }
  function showProblems(data) {
    var list = $("trial-problems");
    list.textContent = "";
    (data.problems || []).forEach(function (p) {
      list.appendChild(el("li", (p.element_id ? p.element_id + ": " : "") + p.message));
    });
    status(data.message || t("invalid"), "error");
    state.runs += 1;
    root.setAttribute("data-runs", String(state.runs));
  }

  // --- the plan --------------------------------------------------------------------------------
  function run() {
    $("trial-problems").textContent = "";
    return post(root.getAttribute("data-trial-url"), Object.assign({ files: state.files }, state.plan))
      .then(function (data) {
        if (!data.ok) { showProblems(data); return data; }
        render(data.trial);
        return data;
      });
  }
  function start() {
    var data;
    try { data = JSON.parse($("trial-data").value || "{}"); } catch (e) { data = null; }
    if (!data || typeof data !== "object" || Array.isArray(data)) {
      status(t("data_invalid"), "error");
      return Promise.resolve({ ok: false });
    }
    $("trial-replay-result").hidden = true;
    var fields = $("trial-start-fields");
    if (!fields.hidden) Object.assign(data, valuesOf(fields));
    state.plan = {
      start_at: $("trial-start").value,
      default_minutes: Number($("trial-default-minutes").value) || 0,
      data: data,
      steps: []
    };
    return run();
  }
  function answer(element, data, minutes) {
    var last = state.last;
    // An answer the form refused is replaced by the next one; the steps before it stand.
    if (last && last.refused) state.plan.steps = state.plan.steps.slice(0, last.steps_done);
    state.plan.steps.push({ element: element, data: data, minutes: isNaN(minutes) ? null : minutes });
    return run();
  }
  function wait(minutes) {
    state.plan.steps.push({ element: null, data: {}, minutes: minutes });
    return run();
  }
  function replay(caseId) {
    return post(root.getAttribute("data-replay-url"), { files: state.files, "case": caseId }).then(function (data) {
      if (!data.ok) { showProblems(data); return data; }
      var r = data.replay, d = r.difference, box = $("trial-difference");
      $("trial-replay-result").hidden = false;
      if (d) {
        box.textContent = d.reason ? t("refused") + " " + (d.element_name || d.element || "") :
          t("differs", {
            step: d.step, after: d.after_name || t("start"),
            recorded: d.recorded_name || t("nothing"), draft: d.draft_name || t("nothing")
          });
        box.className = "differs";
        box.setAttribute("data-step", String(d.step));
        box.setAttribute("data-recorded", d.recorded || "");
        box.setAttribute("data-draft", d.draft || "");
      } else {
        box.textContent = t("same");
        box.className = "same";
      }
      var changes = $("trial-due-changes");
      changes.textContent = r.due_changes.length ? t("due_changed") : "";
      r.due_changes.forEach(function (c) {
        changes.appendChild(el("li", c.name + ": " + (c.recorded ? c.recorded.text : "—") + " → " + (c.draft ? c.draft.text : "—")));
      });
      render(r.trial, d ? [d.recorded, d.draft] : []);
      return data;
    });
  }

  // --- recorded cases ----------------------------------------------------------------------------
  function loadCases() {
    return fetch(root.getAttribute("data-cases-url"), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var select = $("trial-case");
        data.cases.forEach(function (c) {
          var option = el("option", (c.business_number || c.id) + " · v" + c.version + " · " + c.status);
          option.value = String(c.id);
          select.appendChild(option);
        });
      });
  }
  $("trial-take-data").addEventListener("click", function () {
    var id = $("trial-case").value;
    if (!id) return;
    fetch(root.getAttribute("data-cases-url") + "/" + id, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        $("trial-data").value = JSON.stringify(data.data, null, 2);
        $("trial-start").value = data.start_at;
      });
  });
  $("trial-run").addEventListener("click", start);
  $("trial-wait").addEventListener("click", function () {
    if (state.plan) wait(Number($("trial-wait-minutes").value) || 0);
  });
  $("trial-replay").addEventListener("click", function () {
    var id = Number($("trial-case").value);
    if (id) replay(id);
  });

  window.afterflowTrial = {
    viewer: viewer,
    state: state,
    start: start,
    answer: answer,
    wait: wait,
    replay: replay,
    ready: fetch(root.getAttribute("data-files-url"), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        state.files = data.files;
        return viewer.importXML(mainBpmn(data.files));
      })
      .then(function () {
        viewer.get("canvas").zoom("fit-viewport");
        return loadCases();
      })
      .then(function () { root.setAttribute("data-ready", "true"); }, function (error) {
        status(String(error && error.message || error), "error");
      })
  };
})();
