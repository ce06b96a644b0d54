// The account page's health trend; data comes from <script type="application/json"> (json_script).
(function () {
  "use strict";
  function draw() {
    if (typeof Chart === "undefined") return;
    document.querySelectorAll("canvas[data-health-chart]").forEach((canvas) => {
      if (canvas.dataset.drawn) return;
      const node = document.getElementById(canvas.dataset.source);
      const data = node ? JSON.parse(node.textContent) : null;
      if (!data || !data.labels || !data.labels.length) return;
      canvas.dataset.drawn = "1";
      const [risk, watch] = data.thresholds;
      const day = (iso) => new Date(iso + "T00:00:00").toLocaleDateString(undefined, { day: "numeric", month: "short" });
      const line = (value, color) => ({ label: "", data: data.labels.map(() => value), borderColor: color, borderDash: [4, 4], borderWidth: 1, pointRadius: 0, fill: false });
      new Chart(canvas, {
        type: "line",
        data: { labels: data.labels, datasets: [
          { label: "Health", data: data.scores, borderColor: "#3a5bd9", backgroundColor: "#3a5bd922", fill: true, tension: 0.2, pointRadius: data.labels.length > 30 ? 0 : 2 },
          line(risk, "#c83a3a"), line(watch, "#b26b00"),
        ] },
        options: { maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false }, plugins: { legend: { display: false }, tooltip: { filter: (item) => item.datasetIndex === 0 } }, scales: { x: { ticks: { maxTicksLimit: 6, callback: (value, index) => day(data.labels[index]) } }, y: { min: 0, max: 100, ticks: { stepSize: 20 } } } },
      });
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
  window.addEventListener("load", draw);
  document.addEventListener("htmx:afterSwap", draw);
})();
