// AzCops dashboard: draws the charts described by `data-chart` attributes with ECharts.
// Loaded from this origin only (CSP script-src 'self'); no inline script anywhere.
(function () {
  "use strict";
  var ACTUAL = "#0b5cad";
  var AMORTIZED = "#b35900";

  function money(currency) {
    var format;
    try {
      format = new Intl.NumberFormat(undefined, { style: "currency", currency: currency });
    } catch (e) {
      format = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2 });
    }
    return function (value) { return format.format(value); };
  }

  function trendOption(data) {
    var fmt = money(data.currency);
    return {
      aria: { enabled: true },
      animation: false,
      grid: { left: 72, right: 16, top: 16, bottom: 32 },
      xAxis: { type: "category", data: data.dates, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", axisLabel: { formatter: fmt } },
      series: [
        { id: "actual", name: "Actual", type: "line", data: data.actual, showSymbol: false, color: ACTUAL },
        { id: "amortized", name: "Amortized", type: "line", data: data.amortized, showSymbol: false,
          color: AMORTIZED, lineStyle: { type: "dashed" } }
      ]
    };
  }

  function barsOption(data) {
    var fmt = money(data.currency);
    return {
      aria: { enabled: true },
      animation: false,
      grid: { left: 8, right: 24, top: 8, bottom: 24, containLabel: true },
      xAxis: { type: "value", axisLabel: { formatter: fmt, hideOverlap: true } },
      yAxis: { type: "category", data: data.labels.slice().reverse(), axisLabel: { width: 160, overflow: "truncate" } },
      series: [{ id: "cost", name: "Actual", type: "bar", data: data.values.slice().reverse(), color: ACTUAL }]
    };
  }

  function draw(root) {
    if (typeof window.echarts === "undefined") { return; }
    var nodes = (root || document).querySelectorAll("[data-chart]");
    for (var i = 0; i < nodes.length; i++) {
      var el = nodes[i];
      if (window.echarts.getInstanceByDom(el)) { continue; }
      var data;
      try { data = JSON.parse(el.getAttribute("data-chart")); } catch (e) { continue; }
      var option = data.kind === "bars" ? barsOption(data) : trendOption(data);
      window.echarts.init(el, null, { renderer: "canvas" }).setOption(option);
      el.setAttribute("data-chart-ready", "true");
    }
    // Lets benchmarks read when the charts were drawn (Navigation Timing's clock).
    if (nodes.length > 0 && window.performance && performance.mark) { performance.mark("azcops:charts-drawn"); }
  }

  window.addEventListener("resize", function () {
    var nodes = document.querySelectorAll("[data-chart]");
    for (var i = 0; i < nodes.length; i++) {
      var chart = window.echarts && window.echarts.getInstanceByDom(nodes[i]);
      if (chart) { chart.resize(); }
    }
  });
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:load", function (event) { draw(event.target); });
})();
