// Charts of the churn and migration pages, drawn from the page's json_script data (Chart.js from npm).
(function () {
  "use strict";
  const palette = ["#4f6bed", "#e5484d", "#f5a524", "#30a46c", "#8e4ec6", "#0091ff", "#d6409f", "#7a7f87", "#12a594", "#ad7f58"];

  function data(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function draw() {
    if (!window.Chart) return;
    const churn = data("churn-chart-data");
    document.querySelectorAll("canvas[data-churn-chart]").forEach((canvas) => {
      const kind = canvas.dataset.churnChart;
      if (kind === "months" && churn) {
        new Chart(canvas, {
          data: {
            labels: churn.months,
            datasets: [
              { type: "bar", label: "ARR lost", data: churn.arr_lost, backgroundColor: "#e5484d", yAxisID: "y" },
              { type: "line", label: "Logos", data: churn.logos, borderColor: "#4f6bed", yAxisID: "y1" },
            ],
          },
          options: { maintainAspectRatio: false, scales: { y: { beginAtZero: true }, y1: { beginAtZero: true, position: "right", ticks: { precision: 0 }, grid: { drawOnChartArea: false } } } },
        });
      } else if (kind === "grr" && churn) {
        new Chart(canvas, {
          type: "bar",
          data: { labels: churn.cohorts, datasets: [{ label: "GRR %", data: churn.grr, backgroundColor: "#30a46c" }] },
          options: { indexAxis: "y", maintainAspectRatio: false, scales: { x: { min: 0, max: 100 } }, plugins: { legend: { display: false } } },
        });
      } else if (kind === "reasons" && churn) {
        new Chart(canvas, {
          type: "bar",
          data: { labels: churn.months, datasets: churn.reasons.map((r, i) => ({ label: r.label, data: r.counts, backgroundColor: palette[i % palette.length] })) },
          options: { maintainAspectRatio: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
        });
      }
    });
    const campaign = data("campaign-chart-data");
    document.querySelectorAll("canvas[data-campaign-chart]").forEach((canvas) => {
      if (!campaign) return;
      const series = [["to_migrate", "To migrate", "#f5a524"], ["moved", "Moved by customers", "#30a46c"], ["restarted", "Restarted by us", "#4f6bed"], ["failed", "Failed", "#e5484d"]];
      new Chart(canvas, {
        type: "line",
        data: { labels: campaign.days, datasets: series.map(([key, label, color]) => ({ label, data: campaign[key], borderColor: color, backgroundColor: color, tension: 0.2 })) },
        options: { maintainAspectRatio: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
      });
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
