// The account page's usage trends; data comes from <script type="application/json"> (json_script).
(function () {
  "use strict";
  const palette = { users: "#3a5bd9", instances: "#7b4fd6", devices: "#36c2a1", applications: "#d08a11" };
  function readJson(id) { const node = document.getElementById(id); return node ? JSON.parse(node.textContent) : null; }
  function draw() {
    if (typeof Chart === "undefined") return;
    document.querySelectorAll("canvas[data-usage-chart]").forEach((canvas) => {
      if (canvas.dataset.drawn) return;
      canvas.dataset.drawn = "1";
      const data = readJson(canvas.dataset.source);
      // The template shows an empty state instead of a chart with no points; never draw bare axes.
      if (!data || !data.labels || !data.labels.length) return;
      const metric = canvas.dataset.usageChart;
      new Chart(canvas, {
        type: "line",
        data: { labels: data.labels, datasets: [{ label: canvas.dataset.label, data: data.series[metric], borderColor: palette[metric], backgroundColor: palette[metric] + "22", fill: true, tension: 0.2, pointRadius: 0, spanGaps: false }] },
        options: { maintainAspectRatio: false, interaction: { mode: "index", intersect: false }, plugins: { legend: { display: false } }, scales: { x: { ticks: { maxTicksLimit: 6 } }, y: { beginAtZero: true, ticks: { precision: 0 } } } },
      });
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
  window.addEventListener("load", draw);
})();
