/* The managers' view: a case or a process version on its diagram (bpmn-js viewer), KPI charts (ECharts). */
(function () {
  "use strict";

  // The whole diagram at the page's width, as tall as that makes it; below a readable scale it
  // keeps that scale and the page scrolls sideways instead of shrinking the labels away.
  const READABLE = 0.65;
  const MARGIN = 20;

  function fitToWidth(container, canvas) {
    const inner = canvas.viewbox().inner;
    const available = container.parentElement.clientWidth || container.clientWidth;
    const width = inner.width + 2 * MARGIN;
    const height = inner.height + 2 * MARGIN;
    const scale = Math.max(Math.min(available / width, 1), READABLE);
    container.style.width = Math.max(available, Math.ceil(width * scale)) + "px";
    container.style.height = Math.ceil(height * scale) + "px";
    canvas.resized();
    canvas.viewbox({
      x: inner.x - MARGIN,
      y: inner.y - MARGIN,
      width: container.clientWidth / scale,
      height: container.clientHeight / scale,
    });
    container.dataset.scale = scale.toFixed(2);
  }

  async function showDiagram() {
    const container = document.getElementById("case-diagram");
    // The diagram comes as an HTML-escaped data attribute, never inside a script element, so no
    // text in it can end an element and become markup.
    if (!container || !container.dataset.xml || typeof BpmnJS === "undefined") return;
    const viewer = new BpmnJS({ container: container });
    try {
      await viewer.importXML(container.dataset.xml);
    } catch (error) {
      container.textContent = String(error);
      return;
    }
    const canvas = viewer.get("canvas");
    const registry = viewer.get("elementRegistry");
    if (container.classList.contains("fit-width")) {
      fitToWidth(container, canvas);
    } else {
      canvas.zoom("fit-viewport");
    }
    const marking = JSON.parse(container.dataset.marking || "{}");
    for (const [kind, ids] of Object.entries(marking)) {
      for (const id of ids) {
        if (registry.get(id)) canvas.addMarker(id, "case-" + kind);
      }
    }
    const counts = JSON.parse(container.dataset.counts || "{}");
    const overlays = viewer.get("overlays");
    for (const [id, count] of Object.entries(counts)) {
      if (!registry.get(id)) continue;
      const html = document.createElement("div");
      html.className = "step-counts";
      html.innerHTML =
        '<span class="count now" title="now">' + count.now + "</span>" +
        '<span class="count passed" title="passed">' + count.passed + "</span>";
      overlays.add(id, { position: { bottom: 4, right: 4 }, html: html });
    }
    container.dataset.ready = "true";
  }

  function showCharts() {
    const dataNode = document.getElementById("kpi-criteria");
    if (!dataNode || !dataNode.dataset.charts || typeof echarts === "undefined") return;
    const data = JSON.parse(dataNode.dataset.charts);
    const trendNode = document.getElementById("kpi-trend");
    const labels = JSON.parse(trendNode.dataset.labels || "{}");
    const series = [];
    for (const [name, kpi] of Object.entries(data.kpis)) {
      series.push({
        name: labels[name] || name,
        type: "line",
        connectNulls: true,
        data: kpi.by_month,
        markLine: name === "timeliness" ? {
          symbol: "none",
          label: { formatter: "目标 / target {c}%" },
          data: [{ yAxis: data.targets[name] }],
        } : undefined,
      });
    }
    const trend = echarts.init(trendNode, null, { renderer: "svg" });
    trend.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { top: 40, left: 50, right: 20, bottom: 30 },
      xAxis: { type: "category", data: data.months },
      yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      series: series,
    });
    trend.on("click", function (params) {
      const link = data.month_links[params.name];
      if (link) window.location.href = link;
    });
    const criteriaNode = document.getElementById("kpi-criteria");
    const criteria = echarts.init(criteriaNode, null, { renderer: "svg" });
    criteria.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { top: 40, left: 50, right: 20, bottom: 30 },
      xAxis: { type: "category", data: data.months },
      yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      series: Object.entries(data.criteria).map(function ([name, values]) {
        return { name: (data.criteria_labels || {})[name] || name, type: "bar", data: values };
      }).concat([{
        name: data.target_label || "target", type: "line", symbol: "none", lineStyle: { type: "dashed", color: "#c62828" },
        data: data.months.map(function () { return data.targets.satisfaction; }),
      }]),
    });
    trendNode.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", function () {
    showDiagram();
    showCharts();
  });
})();
