/* Writing pages: multi-turn prompt editor, ordering of the writer's own responses, and
 * writing instrumentation (typing time, keystrokes, paste events, pasted characters per
 * field), sent as JSON in the form's hidden "writing" field. The server recounts lengths
 * and decides the "mostly pasted" flag; this script only measures.
 */
(function () {
  "use strict";

  // A pause longer than this is thinking or a coffee, not typing.
  const MAX_GAP_MS = 5000;

  function instrument(form) {
    const stats = new Map();
    const started = performance.now();

    function entry(field) {
      if (!stats.has(field)) {
        stats.set(field, { typing_ms: 0, keystrokes: 0, paste_events: 0, pasted_chars: 0, last: 0 });
      }
      return stats.get(field);
    }

    form.addEventListener("keydown", (event) => {
      const field = event.target.dataset && event.target.dataset.instrument;
      if (!field || event.ctrlKey || event.metaKey || event.altKey) return;
      const now = performance.now();
      const figures = entry(field);
      if (figures.last) figures.typing_ms += Math.min(now - figures.last, MAX_GAP_MS);
      figures.last = now;
      figures.keystrokes += 1;
    });
    form.addEventListener("paste", (event) => {
      const field = event.target.dataset && event.target.dataset.instrument;
      if (!field) return;
      const text = (event.clipboardData && event.clipboardData.getData("text")) || "";
      const figures = entry(field);
      figures.paste_events += 1;
      figures.pasted_chars += Array.from(text).length; // code points, as the server counts
    });
    form.addEventListener("submit", () => {
      const out = {};
      for (const textarea of form.querySelectorAll("[data-instrument]")) {
        const field = textarea.dataset.instrument;
        const figures = entry(field);
        out[field] = {
          typing_ms: Math.round(figures.typing_ms),
          keystrokes: figures.keystrokes,
          paste_events: figures.paste_events,
          pasted_chars: figures.pasted_chars,
        };
      }
      const hidden = form.querySelector("[data-writing]");
      if (hidden) hidden.value = JSON.stringify(out);
      const spent = form.querySelector("[data-time-spent]");
      if (spent) spent.value = String(Math.round(performance.now() - started));
    });
  }

  function renumberTurns(form) {
    const fields = form.querySelectorAll("[data-turn-field]");
    fields.forEach((field, index) => {
      field.querySelector("[data-role]").textContent = index % 2 === 0 ? "user" : "assistant";
      field.querySelector("textarea").dataset.instrument = `messages[${index}]`;
    });
    form.querySelector("[data-remove-turns]").hidden = fields.length < 3;
  }

  function wireTurns(form) {
    const add = form.querySelector("[data-add-turns]");
    if (!add) return;
    const template = document.querySelector("[data-turn-template]");
    const turns = form.querySelector("[data-turns]");
    add.addEventListener("click", () => {
      let first = null;
      for (let n = 0; n < 2; n++) {
        const field = template.content.firstElementChild.cloneNode(true);
        turns.appendChild(field);
        first = first || field.querySelector("textarea");
      }
      renumberTurns(form);
      first.focus();
    });
    form.querySelector("[data-remove-turns]").addEventListener("click", () => {
      const fields = turns.querySelectorAll("[data-turn-field]");
      if (fields.length < 3) return;
      fields[fields.length - 1].remove();
      fields[fields.length - 2].remove();
      renumberTurns(form);
    });
  }

  function wireOrder(form) {
    const list = form.querySelector("[data-order-list]");
    if (!list) return;
    const hidden = form.querySelector("[data-order]");

    function sync() {
      const order = Array.from(list.children).map((li) => Number(li.dataset.orderItem));
      hidden.value = JSON.stringify(order);
      for (const li of list.children) {
        const answer = form.querySelector(`[data-answer="${li.dataset.orderItem}"]`);
        const preview = answer.value.trim().slice(0, 60);
        li.querySelector("[data-order-label]").textContent =
          `Response ${Number(li.dataset.orderItem) + 1}` + (preview ? `: ${preview}` : "");
      }
    }

    if (hidden.value) {
      try {
        for (const index of JSON.parse(hidden.value)) {
          const li = list.querySelector(`[data-order-item="${index}"]`);
          if (li) list.appendChild(li);
        }
      } catch (error) {
        hidden.value = "";
      }
    }
    list.addEventListener("click", (event) => {
      const button = event.target.closest("[data-move]");
      if (!button) return;
      const li = button.closest("li");
      if (button.dataset.move === "up" && li.previousElementSibling) {
        list.insertBefore(li, li.previousElementSibling);
      } else if (button.dataset.move === "down" && li.nextElementSibling) {
        list.insertBefore(li.nextElementSibling, li);
      }
      sync();
      button.focus();
    });
    form.addEventListener("input", (event) => {
      if (event.target.dataset.answer !== undefined) sync();
    });
    sync();
  }

  for (const form of document.querySelectorAll("[data-write-form]")) {
    instrument(form);
    wireTurns(form);
    wireOrder(form);
  }
})();
