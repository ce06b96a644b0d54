// Small behaviours on top of server-rendered pages. Charts read their data from <script type="application/json">.
(function () {
  "use strict";

  const palette = { Trial: "#7a8597", Starter: "#2f8fcb", Premium: "#7b4fd6", Enterprise: "#d08a11" };
  const money = (currency) => new Intl.NumberFormat(undefined, { style: "currency", currency, maximumFractionDigits: 0 });

  function readJson(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function drawCharts() {
    if (typeof Chart === "undefined") return;
    document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      if (canvas.dataset.drawn) return;
      canvas.dataset.drawn = "1";
      const data = readJson(canvas.dataset.source);
      const currency = canvas.dataset.currency || "USD";
      const fmt = money(currency);
      if (canvas.dataset.chart === "cohort-arr") {
        new Chart(canvas, {
          type: "bar",
          data: {
            labels: data.labels,
            datasets: [
              { label: "ARR", data: data.arr, backgroundColor: data.labels.map((l) => palette[l] || "#3a5bd9"), borderRadius: 6, yAxisID: "y" },
              { label: "Accounts", data: data.accounts, type: "line", borderColor: "#1d2430", backgroundColor: "#1d2430", pointRadius: 4, yAxisID: "y1" },
            ],
          },
          options: {
            maintainAspectRatio: false,
            plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: (c) => c.dataset.yAxisID === "y" ? `ARR ${fmt.format(c.parsed.y)}` : `${c.parsed.y} accounts` } } },
            scales: {
              y: { beginAtZero: true, ticks: { callback: (v) => fmt.format(v) }, grid: { color: "#eef0f3" } },
              y1: { beginAtZero: true, position: "right", grid: { display: false }, ticks: { precision: 0 } },
              x: { grid: { display: false } },
            },
          },
        });
      } else if (canvas.dataset.chart === "arr-trend") {
        new Chart(canvas, {
          type: "line",
          data: {
            labels: data.labels,
            datasets: Object.entries(data.series).map(([label, values]) => ({
              label, data: values, borderColor: palette[label], backgroundColor: palette[label] + "33", fill: true, tension: 0.25, pointRadius: 0,
            })),
          },
          options: {
            maintainAspectRatio: false,
            interaction: { mode: "index", intersect: false },
            plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${fmt.format(c.parsed.y)}` } } },
            scales: { y: { stacked: true, ticks: { callback: (v) => fmt.format(v) }, grid: { color: "#eef0f3" } }, x: { ticks: { maxTicksLimit: 8 }, grid: { display: false } } },
          },
        });
      } else if (canvas.dataset.chart === "forecast") {
        const colors = ["#3a5bd9", "#36c2a1", "#d08a11", "#7b4fd6", "#2f8fcb", "#c83a3a", "#7a8597", "#1f8a5b"];
        new Chart(canvas, {
          type: "bar",
          data: {
            labels: data.labels,
            datasets: Object.entries(data.series).map(([label, values], i) => ({ label, data: values, backgroundColor: colors[i % colors.length] })),
          },
          options: {
            maintainAspectRatio: false,
            interaction: { mode: "index", intersect: false },
            plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${fmt.format(c.parsed.y)}` } } },
            scales: { x: { stacked: true, grid: { display: false } }, y: { stacked: true, beginAtZero: true, ticks: { callback: (v) => fmt.format(v) }, grid: { color: "#eef0f3" } } },
          },
        });
      } else if (canvas.dataset.chart === "funnel") {
        new Chart(canvas, {
          type: "bar",
          data: { labels: data.labels, datasets: [{ label: "Entered", data: data.entered, backgroundColor: "#3a5bd9", borderRadius: 4 }] },
          options: {
            indexAxis: "y",
            maintainAspectRatio: false,
            plugins: { legend: { display: false } },
            scales: { x: { beginAtZero: true, ticks: { precision: 0 }, grid: { color: "#eef0f3" } }, y: { grid: { display: false } } },
          },
        });
      } else if (canvas.dataset.chart === "cohort-moves") {
        new Chart(canvas, {
          type: "bar",
          data: {
            labels: data.labels,
            datasets: [
              { label: "Moves", data: data.moves, backgroundColor: ["#2f8fcb", "#7b4fd6", "#d08a11"], borderRadius: 6, yAxisID: "y" },
              { label: "Average days", data: data.days, type: "line", borderColor: "#1d2430", backgroundColor: "#1d2430", pointRadius: 4, spanGaps: true, yAxisID: "y1" },
            ],
          },
          options: {
            maintainAspectRatio: false,
            plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: (c) => c.dataset.yAxisID === "y" ? `${c.parsed.y} moves` : `${c.parsed.y} days on average` } } },
            scales: {
              y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Moves" }, grid: { color: "#eef0f3" } },
              y1: { beginAtZero: true, position: "right", title: { display: true, text: "Days" }, grid: { display: false } },
              x: { grid: { display: false } },
            },
          },
        });
      } else if (canvas.dataset.chart === "sla-met") {
        // Percent of SLA targets met; a null (nothing decided yet) leaves a gap instead of a misleading 0%.
        const colors = ["#3a5bd9", "#36c2a1"];
        new Chart(canvas, {
          type: "bar",
          data: {
            labels: data.labels,
            datasets: data.series.map((s, i) => ({ label: s.label, data: s.values, backgroundColor: colors[i % colors.length], borderRadius: 4 })),
          },
          options: {
            maintainAspectRatio: false,
            plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${c.parsed.y}% met` } } },
            scales: { y: { min: 0, max: 100, ticks: { callback: (v) => `${v}%` }, grid: { color: "#eef0f3" } }, x: { grid: { display: false } } },
          },
        });
      }
    });
  }

  document.addEventListener("click", (event) => {
    const menu = document.getElementById("org-menu");
    const switcher = event.target.closest(".org-switcher");
    if (menu && !switcher) menu.innerHTML = "";
    const copy = event.target.closest("[data-copy]");
    if (copy) {
      const text = document.querySelector(copy.dataset.copy).textContent.trim();
      navigator.clipboard.writeText(text).then(() => { copy.textContent = "Copied"; });
    }
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      const menu = document.getElementById("org-menu");
      if (menu) menu.innerHTML = "";
    }
    // "/" jumps to the list's search box, as in most tools people already use.
    if (event.key === "/" && !["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName)) {
      const search = document.querySelector("input[type=search]");
      if (search) { event.preventDefault(); search.focus(); }
    }
  });

  // A select with data-hints shows what the chosen option means, under the field.
  function showHint(select) {
    const hints = JSON.parse(select.dataset.hints);
    let hint = select.parentElement.querySelector(".hint-live");
    if (!hint) {
      hint = document.createElement("div");
      hint.className = "help hint-live";
      select.insertAdjacentElement("afterend", hint);
    }
    hint.textContent = hints[select.value] || "";
  }
  document.addEventListener("change", (event) => {
    if (event.target.matches("select[data-hints]")) showHint(event.target);
  });

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("select[data-hints]").forEach(showHint);
  });
  document.addEventListener("DOMContentLoaded", drawCharts);
  document.addEventListener("htmx:afterSettle", drawCharts);
})();
