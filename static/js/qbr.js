// The data pack's ticket chart: weeks from json_script, opened and closed side by side.
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Chart === "undefined") return;
  document.querySelectorAll("canvas[data-qbr-chart='tickets']").forEach((canvas) => {
    const source = document.getElementById(canvas.dataset.source);
    if (!source) return;
    const weeks = JSON.parse(source.textContent);
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: weeks.map((row) => row[0].slice(5)),
        datasets: [
          { label: "Opened", data: weeks.map((row) => row[1]), backgroundColor: "#5b6cff" },
          { label: "Closed", data: weeks.map((row) => row[2]), backgroundColor: "#36c2a1" },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } },
      },
    });
  });
});
