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

  /* ---- the draft: kept in localStorage until the server has stored the prompt ---- */

  function readState(form) {
    const category = form.querySelector("[data-category]");
    const order = form.querySelector("[data-order]");
    return {
      token: form.querySelector("[name=client_token]").value,
      category: category ? category.value : "",
      turns: Array.from(form.querySelectorAll("[data-turn]"), (field) => field.value),
      answers: Array.from(form.querySelectorAll("[data-answer]"), (field) => field.value),
      order: order ? order.value : "",
    };
  }

  function hasText(state) {
    return [...state.turns, ...state.answers].some((text) => text.trim());
  }

  function fill(form, draft) {
    const turns = form.querySelector("[data-turns]");
    const template = document.querySelector("[data-turn-template]");
    const wanted = Math.max(1, draft.turns.length);
    while (turns.querySelectorAll("[data-turn-field]").length < wanted) {
      turns.appendChild(template.content.firstElementChild.cloneNode(true));
    }
    renumberTurns(form);
    form.querySelectorAll("[data-turn]").forEach((field, index) => {
      field.value = draft.turns[index] || "";
    });
    form.querySelectorAll("[data-answer]").forEach((field, index) => {
      field.value = (draft.answers || [])[index] || "";
    });
    const category = form.querySelector("[data-category]");
    if (category && draft.category) category.value = draft.category;
    const order = form.querySelector("[data-order]");
    if (order && draft.order) order.value = draft.order;
  }

  function wireDraft(form) {
    const drafts = window.PrefLabDrafts; // static/js/drafts.js
    const key = form.dataset.draftKey;
    if (!drafts || !key || !form.querySelector("[data-turns]")) return; // the prompt page
    const saved = new URLSearchParams(window.location.search).get("saved");
    const draft = drafts.load(key);
    if (saved !== null) {
      // The server stored the prompt this draft was submitted as: drop it, and the token
      // from the address, so a reload does not look like another save.
      if (draft && draft.token === saved) drafts.clear(key);
      window.history.replaceState(null, "", window.location.pathname);
    } else if (draft && hasText(draft) && !hasText(readState(form))) {
      // A blank form over a draft: the writer came back from the guidelines, reloaded,
      // or lost the tab. A failed save renders what was sent, so it is not blank.
      fill(form, draft);
      const note = document.querySelector("[data-draft-note]");
      if (note) note.hidden = false;
    }
    const keep = () => {
      const state = readState(form);
      if (hasText(state)) drafts.save(key, state);
      else drafts.clear(key);
    };
    form.addEventListener("input", keep);
    form.addEventListener("change", keep);
    form.addEventListener("click", (event) => {
      if (event.target.closest("[data-move], [data-remove-turns]")) keep();
    });
    form.addEventListener("submit", keep); // with this form's token, which a save reports
    const discard = document.querySelector("[data-draft-discard]");
    if (discard) {
      discard.addEventListener("click", () => {
        drafts.clear(key);
        window.location.reload();
      });
    }
  }

  // The write-a-response page: one draft per lease, restored while the lease is the one on
  // screen (after a failed save the page claims the same lease again); drafts of the
  // writer's earlier leases in the project are done with (saved, skipped or expired).
  function wireResponseDraft(form) {
    const drafts = window.PrefLabDrafts;
    const field = form.querySelector("[data-response-text]");
    const { draftKey: key, draftScope: scope } = form.dataset;
    if (!drafts || !field || !key || !scope) return;
    const draft = drafts.load(key);
    drafts.clearPrefix(scope);
    if (draft && draft.text && !field.value) {
      field.value = draft.text;
      const note = document.querySelector("[data-draft-note]");
      if (note) note.hidden = false;
    }
    const keep = () => (field.value.trim() ? drafts.save(key, { text: field.value }) : drafts.clear(key));
    keep();
    field.addEventListener("input", keep);
  }

  // No lease on screen: every draft of this writer's leases in the project is done with.
  for (const empty of document.querySelectorAll("[data-empty][data-draft-scope]")) {
    if (window.PrefLabDrafts) window.PrefLabDrafts.clearPrefix(empty.dataset.draftScope);
  }
  for (const form of document.querySelectorAll("[data-write-form]")) {
    wireResponseDraft(form);
    wireDraft(form); // first: wireOrder reads the restored order
    instrument(form);
    wireTurns(form);
    wireOrder(form);
  }
})();
