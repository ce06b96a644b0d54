// The playbook editor: shows the fields of the chosen trigger, adds, removes and reorders steps, and on submit
// writes the definition (trigger, audience, steps) as JSON into the hidden "definition" field. The server checks
// it and renders the page again with each error beside its field, so nothing typed is lost.
(function () {
  "use strict";

  function readValue(input) {
    const raw = input.value.trim();
    if (raw === "") return undefined;
    if (input.dataset.kind === "int") {
      const number = Number(raw);
      return Number.isInteger(number) ? number : raw;
    }
    if (input.dataset.kind === "number") {
      const number = Number(raw);
      return Number.isNaN(number) ? raw : number;
    }
    return input.value;
  }

  function triggerOf(form) {
    const type = form.querySelector('[data-trigger-key="type"]').value;
    const trigger = { type };
    const panel = form.querySelector(`[data-trigger-fields="${type}"]`);
    const event = type === "event" ? form.querySelector('[data-trigger-key="event"]').value : null;
    panel.querySelectorAll("[data-trigger-key]").forEach((input) => {
      if (input.dataset.forEvent && input.dataset.forEvent !== event) return;
      const value = readValue(input);
      if (value !== undefined) trigger[input.dataset.triggerKey] = value;
    });
    if (type === "date") {
      const days = trigger.offset_abs === undefined ? 0 : trigger.offset_abs;
      trigger.offset_days = typeof days === "number" && trigger.offset_direction === "before" ? -days : days;
      delete trigger.offset_abs;
      delete trigger.offset_direction;
    }
    return trigger;
  }

  function audienceOf(form) {
    const audience = {};
    form.querySelectorAll("[data-audience-key]").forEach((input) => {
      const key = input.dataset.audienceKey;
      if (input.type === "checkbox") {
        audience[key] = audience[key] || [];
        if (input.checked) audience[key].push(input.dataset.kind === "int" ? Number(input.value) : input.value);
        return;
      }
      const value = readValue(input);
      if (value !== undefined) audience[key] = value;
    });
    Object.keys(audience).forEach((key) => {
      if (Array.isArray(audience[key]) && audience[key].length === 0) delete audience[key];
    });
    return audience;
  }

  function stepsOf(list) {
    return Array.from(list.children).map((item) => {
      const step = { type: item.dataset.type };
      item.querySelectorAll("[data-key]").forEach((input) => {
        const value = readValue(input);
        if (value !== undefined) step[input.dataset.key] = value;
      });
      return step;
    });
  }

  function showTrigger(form) {
    const type = form.querySelector('[data-trigger-key="type"]').value;
    form.querySelectorAll("[data-trigger-fields]").forEach((panel) => {
      panel.hidden = panel.dataset.triggerFields !== type;
    });
    const event = form.querySelector('[data-trigger-key="event"]').value;
    form.querySelectorAll("[data-event-filter]").forEach((field) => {
      field.hidden = field.dataset.eventFilter !== event;
    });
  }

  // Step fields come from a <template>, so they cannot carry fixed ids; each label is tied to its input here.
  let labelled = 0;
  function labelFields(root) {
    root.querySelectorAll(".field").forEach((field) => {
      const label = field.querySelector(":scope > label");
      const input = field.querySelector("[data-key]");
      if (!label || !input || label.htmlFor) return;
      labelled += 1;
      input.id = input.id || `pb-step-field-${labelled}`;
      label.htmlFor = input.id;
    });
  }

  function renumber(list) {
    Array.from(list.children).forEach((item, index) => {
      item.querySelector("[data-step-number]").textContent = String(index + 1);
      item.querySelector('[data-step-action="up"]').disabled = index === 0;
      item.querySelector('[data-step-action="down"]').disabled = index === list.children.length - 1;
    });
    document.getElementById("pb-no-steps").hidden = list.children.length > 0;
  }

  function init() {
    const form = document.getElementById("playbook-editor");
    if (!form) return;
    const list = document.getElementById("pb-steps");
    form.querySelector('[data-trigger-key="type"]').addEventListener("change", () => showTrigger(form));
    form.querySelector('[data-trigger-key="event"]').addEventListener("change", () => showTrigger(form));
    showTrigger(form);
    labelFields(list);
    renumber(list);

    document.getElementById("pb-add-step").addEventListener("click", () => {
      const type = document.getElementById("pb-new-step-type").value;
      const prototype = document.querySelector(`template[data-step-prototype="${type}"]`);
      const item = prototype.content.firstElementChild.cloneNode(true);
      list.appendChild(item);
      labelFields(item);
      renumber(list);
      const first = item.querySelector("input, textarea, select");
      if (first) first.focus();
    });

    list.addEventListener("click", (event) => {
      const button = event.target.closest("[data-step-action]");
      if (!button) return;
      const item = button.closest(".pb-step");
      const action = button.dataset.stepAction;
      if (action === "remove") item.remove();
      if (action === "up" && item.previousElementSibling) list.insertBefore(item, item.previousElementSibling);
      if (action === "down" && item.nextElementSibling) list.insertBefore(item.nextElementSibling, item);
      renumber(list);
    });

    form.addEventListener("submit", () => {
      const definition = { trigger: triggerOf(form), audience: audienceOf(form), steps: stepsOf(list) };
      form.querySelector('input[name="definition"]').value = JSON.stringify(definition);
    });
  }

  document.addEventListener("DOMContentLoaded", init);
})();
