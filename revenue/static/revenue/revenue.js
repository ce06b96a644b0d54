// Charts of the revenue report; data comes from <script type="application/json"> (json_script).
(function () {
  "use strict";
  const palette = { Trial: "#7a8597", Starter: "#2f8fcb", Premium: "#7b4fd6", Enterprise: "#d08a11" };
  function readJson(id) { const node = document.getElementById(id); return node ? JSON.parse(node.textContent) : null; }
  function draw() {
    if (typeof Chart === "undefined") return;
    document.querySelectorAll("canvas[data-revenue-chart]").forEach((canvas) => {
      if (canvas.dataset.drawn) return;
      canvas.dataset.drawn = "1";
      const data = readJson(canvas.dataset.source);
      // The template shows an empty state instead of a chart with no points; never draw bare axes.
      if (!data || !data.labels || !data.labels.length) return;
      if (canvas.dataset.revenueChart === "mrr") {
        const fmt = new Intl.NumberFormat(undefined, { style: "currency", currency: canvas.dataset.currency || "USD", maximumFractionDigits: 0 });
        new Chart(canvas, {
          type: "line",
          data: { labels: data.labels, datasets: Object.entries(data.series).map(([label, values]) => ({ label, data: values, borderColor: palette[label], backgroundColor: (palette[label] || "#3a5bd9") + "33", fill: true, tension: 0.2, pointRadius: 2 })) },
          options: { maintainAspectRatio: false, interaction: { mode: "index", intersect: false }, plugins: { legend: { position: "bottom" } }, scales: { y: { stacked: true, ticks: { callback: (v) => fmt.format(v) } } } },
        });
      } else if (canvas.dataset.revenueChart === "retention") {
        new Chart(canvas, {
          type: "bar",
          data: { labels: data.labels, datasets: [{ label: "NRR", data: data.nrr, backgroundColor: "#3a5bd9" }, { label: "GRR", data: data.grr, backgroundColor: "#36c2a1" }] },
          options: { maintainAspectRatio: false, plugins: { legend: { position: "bottom" } }, scales: { y: { beginAtZero: true, ticks: { callback: (v) => `${v}%` } } } },
        });
      }
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
  window.addEventListener("load", draw);
})();
