// The ticket page: keyboard shortcuts (j/k next and previous open ticket, r reply, c comment), canned replies,
// the close dialog, and a nudge to link the documentation in public replies (seed 000).
(function () {
  "use strict";

  const typing = () => ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);

  function focusComposer(kind) {
    const radio = document.querySelector(`input[name=kind][value=${kind}]`);
    const body = document.querySelector("#composer textarea");
    if (radio) radio.checked = true;
    if (body) body.focus();
  }

  document.addEventListener("keydown", (event) => {
    if (typing() || event.metaKey || event.ctrlKey || event.altKey) return;
    const link = document.querySelector(`[data-key="${event.key}"]`);
    if (link) { event.preventDefault(); window.location = link.href; return; }
    if (event.key === "r") { event.preventDefault(); focusComposer("reply"); }
    if (event.key === "c") { event.preventDefault(); focusComposer("comment"); }
  });

  document.addEventListener("change", (event) => {
    const select = event.target.closest && event.target.closest("select[data-macro-target]");
    if (!select || !select.value) return;
    const body = document.querySelector(select.dataset.macroTarget);
    body.value = body.value ? `${body.value}\n\n${select.value}` : select.value;
    select.value = "";
    body.focus();
  });

  document.addEventListener("click", (event) => {
    const opener = event.target.closest && event.target.closest("[data-open-dialog]");
    if (opener) document.getElementById(opener.dataset.openDialog).showModal();
    const closer = event.target.closest && event.target.closest("[data-close-dialog]");
    if (closer) closer.closest("dialog").close();
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.matches("[data-docs-nudge]")) return;
    const kind = form.querySelector("input[name=kind]:checked");
    const body = form.querySelector("textarea").value;
    if (kind && kind.value === "reply" && body.trim() && !/https?:\/\//.test(body)
        && !window.confirm("No documentation link in this reply. Seed 000: always link the article that answers it. Send anyway?")) {
      event.preventDefault();
    }
  });
})();
