/* Improve a response on the ranking page: rewrite it in a dialog prefilled with its
 * source text, review the word diff (rendered and escaped by the server from the
 * original it reads itself), then keep it. Kept rewrites join the submit payload as
 * "rewrites"; annotate.js asks for them through window.PrefLabRewrites.
 */
(function () {
  "use strict";

  const dialog = document.querySelector("[data-rewrite-dialog]");
  if (!dialog) return;
  const title = dialog.querySelector("[data-rewrite-title]");
  const textarea = dialog.querySelector("[data-rewrite-text]");
  const diffBox = dialog.querySelector("[data-rewrite-diff]");
  const reviewButton = dialog.querySelector("[data-rewrite-review]");
  const keepButton = dialog.querySelector("[data-rewrite-keep]");
  const dropButton = dialog.querySelector("[data-rewrite-drop]");
  const kept = new WeakMap(); // form -> Map(response id -> rewritten text)
  const figures = new WeakMap(); // form -> Map(response id -> writing figures)
  const drafts = window.PrefLabDrafts; // static/js/drafts.js, cleared by annotate.js on submit
  let open = null; // { form, card, id }
  let reviewedText = null;
  let stats = null;

  function keptOf(form) {
    if (!kept.has(form)) kept.set(form, new Map());
    return kept.get(form);
  }

  function figuresOf(form) {
    if (!figures.has(form)) figures.set(form, new Map());
    return figures.get(form);
  }

  function draftKey(form, id) {
    return `item:${form.dataset.assignment}:rewrite:${id}`;
  }

  function keepDraft(typing) {
    if (!drafts || !open) return;
    const keptText = keptOf(open.form).get(open.id) || null;
    if (typing === null && keptText === null) return drafts.clear(draftKey(open.form, open.id));
    drafts.save(draftKey(open.form, open.id), { typing, kept: keptText, figures: stats });
  }

  function sourceText(card) {
    const body = card.querySelector(".body");
    // escapejs'd in the template, as spans.js reads it
    return body.dataset.source !== undefined ? JSON.parse(`"${body.dataset.source}"`) : body.innerText;
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function mark(card, rewritten) {
    card.classList.toggle("rewritten", rewritten);
    const button = card.querySelector("[data-improve]");
    if (button) button.textContent = rewritten ? "Edit rewrite" : "Improve";
    const badge = card.querySelector("[data-rewritten]");
    if (badge) badge.hidden = !rewritten;
  }

  function openFor(form, card) {
    const id = Number(card.dataset.response);
    open = { form, card, id };
    title.textContent = `Improve response ${card.dataset.letter}`;
    const draft = drafts ? drafts.load(draftKey(form, id)) : null;
    // Text typed and not kept yet (the dialog closed, the page reloaded) comes back.
    textarea.value = (draft && draft.typing) || keptOf(form).get(id) || sourceText(card);
    stats = Object.assign(
      { typing_ms: 0, keystrokes: 0, paste_events: 0, pasted_chars: 0 },
      figuresOf(form).get(id) || (draft && draft.figures) || {},
      { last: 0 }
    );
    reviewedText = null;
    diffBox.innerHTML = "";
    keepButton.disabled = true;
    dropButton.hidden = !keptOf(form).has(id);
    dialog.showModal();
    textarea.focus();
  }

  async function review() {
    if (!open) return;
    const text = textarea.value.trim();
    const body = new URLSearchParams({ response: String(open.id), text });
    reviewButton.disabled = true;
    try {
      const reply = await fetch(open.form.dataset.diffUrl, {
        method: "POST",
        headers: { "X-CSRFToken": csrfToken() },
        body,
        credentials: "same-origin",
      });
      if (!reply.ok) throw new Error(`the server answered ${reply.status}`);
      diffBox.innerHTML = await reply.text(); // escaped by the server's template
      reviewedText = text;
      keepButton.disabled = text === sourceText(open.card).trim() || !text;
    } catch (error) {
      diffBox.textContent = `Could not show the changes: ${error.message}`;
    } finally {
      reviewButton.disabled = false;
    }
  }

  textarea.addEventListener("input", () => {
    keepButton.disabled = true; // the diff on screen no longer matches: review again
    reviewedText = null;
    keepDraft(textarea.value);
  });
  textarea.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const now = performance.now();
    if (stats.last) stats.typing_ms += Math.min(now - stats.last, 5000);
    stats.last = now;
    stats.keystrokes += 1;
  });
  textarea.addEventListener("paste", (event) => {
    const text = (event.clipboardData && event.clipboardData.getData("text")) || "";
    stats.paste_events += 1;
    stats.pasted_chars += Array.from(text).length;
  });
  reviewButton.addEventListener("click", review);
  keepButton.addEventListener("click", () => {
    if (!open || reviewedText === null) return;
    keptOf(open.form).set(open.id, reviewedText);
    figuresOf(open.form).set(open.id, stats);
    keepDraft(null);
    mark(open.card, true);
    closeOnCard();
  });
  dropButton.addEventListener("click", () => {
    if (!open) return;
    keptOf(open.form).delete(open.id);
    figuresOf(open.form).delete(open.id);
    keepDraft(null);
    mark(open.card, false);
    closeOnCard();
  });
  // Focus the card in the same task as the close: the "close" event comes a task later,
  // and keys pressed in between would go to the button the browser refocused.
  function closeOnCard() {
    const card = open.card;
    dialog.close();
    card.focus();
  }
  dialog.addEventListener("close", () => {
    if (open) open.card.focus();
    open = null;
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-improve]");
    if (!button) return;
    const form = button.closest("form.item");
    const card = button.closest("article.response");
    if (form && card) {
      event.preventDefault();
      openFor(form, card);
    }
  });

  window.PrefLabRewrites = {
    /** Bring back the rewrites kept on this item before a reload (annotate.js, on show). */
    restore(form) {
      if (!drafts) return;
      for (const card of form.querySelectorAll("article.response")) {
        const id = Number(card.dataset.response);
        const draft = drafts.load(draftKey(form, id));
        if (!draft || !draft.kept || keptOf(form).has(id)) continue;
        keptOf(form).set(id, draft.kept);
        figuresOf(form).set(id, draft.figures || {});
        mark(card, true);
      }
    },
    /** The kept rewrites of a form, as the submit payload wants them. */
    payload(form) {
      const out = [];
      for (const [id, text] of keptOf(form)) {
        const figure = figuresOf(form).get(id) || {};
        out.push({
          response: id,
          text,
          writing: {
            text: {
              typing_ms: Math.round(figure.typing_ms || 0),
              keystrokes: figure.keystrokes || 0,
              paste_events: figure.paste_events || 0,
              pasted_chars: figure.pasted_chars || 0,
            },
          },
        });
      }
      return out;
    },
  };
})();
