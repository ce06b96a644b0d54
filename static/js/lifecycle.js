// Deals: on the pipeline board, drag a card to a column and the card's own "Move to" form is submitted with that
// stage (the form works without this script, and from the keyboard: dragging is a shortcut onto the same POST).
// On the deal form, "Use it" copies the suggested name into the field.
(function () {
  "use strict";

  let dragged = null;

  function toggleLostReason(select) {
    const reason = select.form.querySelector(".lost-reason");
    if (reason) reason.hidden = select.value !== "closed_lost";
  }

  function moveCard(card, stage) {
    const form = card.querySelector("form.card-move");
    if (!form) return;
    const stageSelect = form.querySelector("select[name=stage]");
    if (stageSelect.value === stage) return;
    stageSelect.value = stage;
    if (stage !== "closed_lost") { form.submit(); return; }
    const dialog = document.getElementById("lost-dialog");
    dialog.returnValue = "";
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue !== "confirm") { stageSelect.value = card.closest("[data-stage]").dataset.stage; return; }
      form.querySelector("select[name=lost_reason]").value = document.getElementById("lost-dialog-reason").value;
      form.submit();
    });
    dialog.showModal();
  }

  document.addEventListener("click", (event) => {
    const fill = event.target.closest && event.target.closest("[data-fill]");
    if (!fill) return;
    const input = document.querySelector(fill.dataset.fill);
    input.value = fill.dataset.value;
    input.focus();
  });

  document.addEventListener("change", (event) => {
    if (event.target.matches("select[data-lost-toggle]")) toggleLostReason(event.target);
  });

  document.addEventListener("dragstart", (event) => {
    const card = event.target.closest && event.target.closest(".deal-card[draggable=true]");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.deal);
  });

  document.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    document.querySelectorAll(".drop-target").forEach((column) => column.classList.remove("drop-target"));
  });

  document.addEventListener("dragover", (event) => {
    const column = event.target.closest && event.target.closest(".board-column");
    if (!column || !dragged) return;
    event.preventDefault();
    document.querySelectorAll(".drop-target").forEach((other) => other !== column && other.classList.remove("drop-target"));
    column.classList.add("drop-target");
  });

  document.addEventListener("drop", (event) => {
    const column = event.target.closest && event.target.closest(".board-column");
    if (!column || !dragged) return;
    event.preventDefault();
    column.classList.remove("drop-target");
    moveCard(dragged, column.dataset.stage);
  });
})();
