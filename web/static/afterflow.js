// The task page's diagram: bpmn-js shows the process version's BPMN with the steps marked,
// opened on the current step at a readable scale; buttons and arrow keys zoom and move it.
(function () {
  "use strict";

  const READABLE = 0.9;
  const STEP = 80;

  function ids(element, name) {
    return (element.dataset[name] || "").split(" ").filter(Boolean);
  }

  function focusOn(canvas, registry, id) {
    const shape = id && registry.get(id);
    canvas.zoom("fit-viewport", "auto");
    if (!shape || canvas.zoom() >= READABLE) {
      return;
    }
    const size = canvas.getSize();
    const width = size.width / READABLE;
    const height = size.height / READABLE;
    const x = shape.x + shape.width / 2 - width / 2;
    const y = shape.y + shape.height / 2 - height / 2;
    canvas.viewbox({ x, y, width, height });
  }

  async function showDiagram(element) {
    if (typeof window.BpmnJS !== "function") {
      return;
    }
    const response = await fetch(element.dataset.bpmnUrl, { credentials: "same-origin" });
    if (!response.ok) {
      element.dataset.ready = "failed";
      return;
    }
    const viewer = new window.BpmnJS({ container: element });
    await viewer.importXML(await response.text());
    const canvas = viewer.get("canvas");
    const registry = viewer.get("elementRegistry");
    const mark = (id, marker) => {
      if (registry.get(id)) {
        canvas.addMarker(id, marker);
      }
    };
    ids(element, "done").forEach((id) => mark(id, "af-done"));
    ids(element, "active").forEach((id) => mark(id, "af-active"));
    const current = ids(element, "current")[0] || ids(element, "active")[0];
    ids(element, "current").forEach((id) => mark(id, "af-current"));
    focusOn(canvas, registry, current);
    element.dataset.ready = "true";

    const actions = {
      "zoom-in": () => canvas.zoom(canvas.zoom() * 1.25),
      "zoom-out": () => canvas.zoom(canvas.zoom() / 1.25),
      "fit": () => canvas.zoom("fit-viewport", "auto"),
      "current": () => focusOn(canvas, registry, current),
    };
    document.querySelectorAll("[data-diagram-action]").forEach((button) => {
      button.hidden = false;
      button.addEventListener("click", () => actions[button.dataset.diagramAction]());
    });
    const moves = { ArrowLeft: [STEP, 0], ArrowRight: [-STEP, 0], ArrowUp: [0, STEP], ArrowDown: [0, -STEP] };
    element.addEventListener("keydown", (event) => {
      if (moves[event.key]) {
        const [dx, dy] = moves[event.key];
        canvas.scroll({ dx, dy });
        event.preventDefault();
      } else if (event.key === "+" || event.key === "=") {
        actions["zoom-in"]();
      } else if (event.key === "-") {
        actions["zoom-out"]();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-bpmn-url]").forEach((element) => {
      showDiagram(element).catch(() => {
        element.dataset.ready = "failed";
      });
    });
  });
})();
