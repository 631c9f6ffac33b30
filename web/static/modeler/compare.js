/* Compare two versions: both diagrams, with added / removed / changed elements marked. */
(function () {
  "use strict";
  var box = document.getElementById("compare");
  if (!box) return;
  function show(container, xml, marks) {
    var viewer = new window.BpmnJS({ container: container });
    return viewer.importXML(xml).then(function () {
      var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
      canvas.zoom("fit-viewport");
      Object.keys(marks).forEach(function (kind) {
        marks[kind].forEach(function (change) {
          if (registry.get(change.id)) canvas.addMarker(change.id, "af-" + kind);
        });
      });
      return viewer;
    });
  }
  fetch(box.getAttribute("data-api"), { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (data) {
      var d = data.diff;
      return Promise.all([
        show(document.getElementById("canvas-from"), data.from_bpmn, { removed: d.removed, changed: d.changed }),
        show(document.getElementById("canvas-to"), data.to_bpmn, { added: d.added, changed: d.changed })
      ]);
    })
    .then(function (viewers) {
      window.afterflowCompare = { from: viewers[0], to: viewers[1] };
      box.setAttribute("data-ready", "true");
    });
})();
