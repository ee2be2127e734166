// AzCops dashboard: draws the charts described by `data-chart` attributes with ECharts.
// Loaded from this origin only (CSP script-src 'self'); no inline script anywhere.
(function () {
  "use strict";
  var ACTUAL = "#0b5cad";
  var AMORTIZED = "#b35900";
  // Same order as the .swatch-N classes in app.css, so the HTML legend matches the chart.
  var PALETTE = ["#0b5cad", "#b35900", "#1a7f37", "#8250df", "#cf222e", "#0a7d8c",
                 "#9a6700", "#bf3989", "#57606a", "#116329", "#6639ba", "#953800"];

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

  function stackedOption(data) {
    var fmt = money(data.currency);
    return {
      aria: { enabled: true },
      animation: false,
      grid: { left: 72, right: 16, top: 16, bottom: 32 },
      xAxis: { type: "category", data: data.labels, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", axisLabel: { formatter: fmt } },
      series: data.series.map(function (s, i) {
        return { id: "s" + i, name: s.name, type: "bar", stack: "total", data: s.values,
                 color: PALETTE[i % PALETTE.length], cursor: data.links && data.links[i] ? "pointer" : "default" };
      })
    };
  }

  // Governance: the share of resources and of cost carrying the cost-center tag, in percent.
  function coverageOption(data) {
    var pct = function (v) { return v + "%"; };
    return {
      aria: { enabled: true },
      animation: false,
      grid: { left: 56, right: 16, top: 16, bottom: 32 },
      xAxis: { type: "category", data: data.dates, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: pct } },
      series: [
        { id: "resources", name: "Resources tagged", type: "line", data: data.resources, connectNulls: true,
          color: ACTUAL },
        { id: "cost", name: "Cost tagged", type: "line", data: data.cost, connectNulls: true, showSymbol: false,
          color: AMORTIZED, lineStyle: { type: "dashed" } }
      ]
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
      var option = data.kind === "bars" ? barsOption(data)
        : data.kind === "stacked" ? stackedOption(data)
        : data.kind === "coverage" ? coverageOption(data) : trendOption(data);
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option);
      if (data.links) {
        // Drill down: a series with a link opens it (a subscription's services).
        chart.on("click", (function (links) {
          return function (params) {
            var link = links[params.seriesIndex];
            if (link) { window.location.assign(link); }
          };
        })(data.links));
      }
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
