/*
 * Span tagging on the ranking page: select text in a response, press a tag's key (or
 * click the tag), and the stretch is kept as code-point offsets into the response's
 * source text, which is what the server stores (Python's text[start:end]).
 *
 * The mapping from the rendered page to source offsets is source_align.js (hand-written:
 * its header says why).
 *
 * The tags live in the form's own DOM (the span list entries and the label checkboxes),
 * so a prefetched item needs no set-up and a failed submit keeps them; annotate.js asks
 * for them through window.PrefLabSpans.
 */
(function () {
  "use strict";

  const COLOUR = /^#[0-9a-f]{6}$/i;
  const { alignment, textNodes, isSpace } = window.PrefLabAlign; // source_align.js
  let nextId = 1;

  /* ---- the selection as a stretch of the source ---- */

  function offsets(body, range) {
    const { src, lo, hi } = alignment(body);
    let start = Infinity;
    let end = -1;
    let base = 0;
    for (const node of textNodes(body)) {
      const length = node.data.length;
      if (range.intersectsNode(node)) {
        const from = node === range.startContainer ? range.startOffset : 0;
        const to = node === range.endContainer ? range.endOffset : length;
        for (let u = base + from; u < base + to; u++) {
          if (lo[u] < 0) continue;
          start = Math.min(start, lo[u]);
          end = Math.max(end, hi[u]);
        }
      }
      base += length;
    }
    while (start < end && isSpace(src[start])) start++;
    while (end > start && isSpace(src[end - 1])) end--;
    if (!(start < end)) return null;
    // Ending on the "&" of an entity takes the whole entity.
    const entity = src[end - 1] === "&" && /^&(#\d{1,7}|#x[0-9a-f]{1,6}|[a-z][a-z0-9]{1,31});/i
      .exec(src.slice(end - 1, end + 40).join(""));
    if (entity) end += entity[0].length - 1;
    return { start, end };
  }

  // The one response body of the item on screen that the selection touches, and the
  // selection clipped to it (a triple click or a drag from the header still counts).
  function selectionInBody() {
    const selection = document.getSelection();
    if (!selection || !selection.rangeCount || selection.isCollapsed) return null;
    const range = selection.getRangeAt(0);
    const form = document.querySelector("#current form.item");
    if (!form) return null;
    const bodies = Array.from(form.querySelectorAll("article.response .body"))
      .filter((body) => range.intersectsNode(body));
    if (bodies.length !== 1) return null;
    const body = bodies[0];
    const clipped = range.cloneRange();
    if (!body.contains(range.startContainer)) clipped.setStart(body, 0);
    if (!body.contains(range.endContainer)) clipped.setEnd(body, body.childNodes.length);
    return { form, body, range: clipped };
  }

  /* ---- the span list and the highlights ---- */

  const entries = (article) => Array.from(article.querySelectorAll("[data-span-entry]"));
  const safeColour = (colour) => (COLOUR.test(colour) ? colour : "#f5c542");

  function labelInfo(form, id) {
    const button = form.querySelector(`[data-tag-label="${CSS.escape(String(id))}"]`);
    return button && { id: Number(id), name: button.dataset.name, colour: safeColour(button.dataset.colour) };
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function excerpt(src, start, end) {
    const text = src.slice(start, end).join("");
    return text.length > 160 ? `${text.slice(0, 100)} … ${text.slice(-40)}` : text;
  }

  function newEntry(article, label, start, end) {
    const { src } = alignment(article.querySelector(".body"));
    const entry = element("li", "span-entry");
    entry.tabIndex = -1;
    Object.assign(entry.dataset, { spanEntry: "", spanId: String(nextId++), start, end, label: label.id });
    entry.style.setProperty("--tag", label.colour);
    const note = element("input", "span-note");
    Object.assign(note, { type: "text", maxLength: 500, placeholder: "Note (optional)" });
    note.dataset.spanNote = "";
    note.setAttribute("aria-label", `Note on ${label.name}`);
    const remove = element("button", "span-remove", "✕");
    remove.type = "button";
    remove.dataset.spanRemove = "";
    remove.title = "Remove this tag";
    remove.setAttribute("aria-label", `Remove ${label.name} tag`);
    entry.append(element("span", "tag-chip", label.name), element("q", "span-quote", excerpt(src, start, end)), note, remove);
    return entry;
  }

  function paint(node, base, spans, lo, hi) {
    const keys = [];
    for (let u = 0; u < node.data.length; u++) {
      const [a, b] = [lo[base + u], hi[base + u]];
      keys.push(a < 0 ? "" : spans.filter((s) => a < s.end && b > s.start).map((s) => s.id).join(" "));
    }
    // Right to left, so that `node` stays the unwrapped head while its tail is split off.
    for (let to = keys.length; to > 0; ) {
      let from = to - 1;
      while (from > 0 && keys[from - 1] === keys[to - 1]) from--;
      if (keys[to - 1]) {
        const covering = spans.filter((s) => keys[to - 1].split(" ").includes(s.id));
        const mark = element("mark", covering.length > 1 ? "span-mark overlap" : "span-mark");
        mark.dataset.spanMark = keys[to - 1];
        mark.title = covering.map((s) => s.name).join(" + ");
        mark.style.setProperty("--tag", covering[covering.length - 1].colour);
        mark.style.backgroundImage = covering.map((s) => `linear-gradient(${s.colour}59, ${s.colour}59)`).join(", ");
        const range = document.createRange();
        range.setStart(node, from);
        range.setEnd(node, to);
        range.surroundContents(mark);
      }
      to = from;
    }
  }

  function redraw(article) {
    const body = article.querySelector(".body");
    for (const mark of body.querySelectorAll("mark[data-span-mark]")) mark.replaceWith(...mark.childNodes);
    body.normalize();
    const form = article.closest("form.item");
    const spans = entries(article).map((entry) => {
      const label = labelInfo(form, entry.dataset.label);
      const [start, end] = [Number(entry.dataset.start), Number(entry.dataset.end)];
      return { id: entry.dataset.spanId, start, end, name: label.name, colour: label.colour };
    });
    paintAll(body, spans);
  }

  /** Highlight spans ({id, start, end, name, colour}, source offsets) in a rendered body. */
  function paintAll(body, spans) {
    spans = spans.map((span) => ({ ...span, colour: safeColour(span.colour) }));
    if (!spans.length) return;
    // Shorter spans paint last, on top.
    spans.sort((x, y) => y.end - y.start - (x.end - x.start));
    const { lo, hi } = alignment(body);
    let base = 0;
    for (const node of textNodes(body)) {
      const length = node.data.length;
      if (/\S/.test(node.data)) paint(node, base, spans, lo, hi);
      base += length;
    }
  }

  function say(form, message) {
    const status = form.querySelector("[data-tag-status]");
    if (status) status.textContent = message;
  }

  function addSpan(form, labelId) {
    const label = labelInfo(form, labelId);
    const found = selectionInBody();
    if (!label) return;
    if (!found || found.form !== form) return say(form, "Select some text inside one response first.");
    const stretch = offsets(found.body, found.range);
    if (!stretch) return say(form, "That selection holds no text of the response.");
    const article = found.body.closest("article.response");
    const list = article.querySelector("[data-span-list]");
    const same = entries(article).find((entry) =>
      Number(entry.dataset.start) === stretch.start && Number(entry.dataset.end) === stretch.end && Number(entry.dataset.label) === label.id);
    document.getSelection().removeAllRanges();
    if (same) {
      same.focus();
      return say(form, `That text is already tagged ${label.name}.`);
    }
    const entry = newEntry(article, label, stretch.start, stretch.end);
    const after = entries(article).find((other) =>
      Number(other.dataset.start) > stretch.start ||
      (Number(other.dataset.start) === stretch.start && Number(other.dataset.end) > stretch.end));
    list.insertBefore(entry, after || null);
    redraw(article);
    say(form, `Tagged ${label.name} in ${article.dataset.letter}.`);
    form.dispatchEvent(new Event("change", { bubbles: true })); // annotate.js re-renders, clearing old errors
  }

  function focusEntry(entry) {
    entry.scrollIntoView({ block: "nearest" });
    entry.focus({ preventScroll: true });
    entry.classList.remove("flash");
    void entry.offsetWidth; // restart the animation
    entry.classList.add("flash");
  }

  /* ---- what annotate.js asks for ---- */

  function payload(form) {
    const spans = [];
    const labels = [];
    for (const article of form.querySelectorAll("article.response")) {
      const response = Number(article.dataset.response);
      for (const entry of entries(article)) {
        const span = { response, start: Number(entry.dataset.start), end: Number(entry.dataset.end), label: Number(entry.dataset.label) };
        const note = entry.querySelector("[data-span-note]").value.trim();
        if (note) span.note = note;
        spans.push(span);
      }
      for (const box of article.querySelectorAll("[data-response-label]:checked")) {
        labels.push({ response, label: Number(box.dataset.responseLabel) });
      }
    }
    return spans.length || labels.length ? { spans, labels } : {};
  }

  function problem(form) {
    if (!form.hasAttribute("data-require-tags")) return "";
    const untagged = Array.from(form.querySelectorAll("article.response"))
      .filter((article) => !entries(article).length && !article.querySelector("[data-response-label]:checked"))
      .map((article) => article.dataset.letter);
    return untagged.length
      ? `Tag every response (a span or a label) before submitting; untagged: ${untagged.join(", ")}.`
      : "";
  }

  window.PrefLabSpans = { payload, problem, offsets, paint: paintAll }; // paint: history.js

  /* ---- keys and clicks ---- */

  // Capture on window runs before annotate.js's listener on document, so a tag's key
  // is taken only while text in a response is selected; otherwise it keeps its meaning.
  window.addEventListener("keydown", (event) => {
    const target = event.target;
    if (target.matches && target.matches("[data-span-note]") && event.key === "Enter") {
      event.preventDefault(); // not the form's implicit submit: Enter leaves the note
      return target.blur();
    }
    if (event.ctrlKey || event.metaKey || event.altKey || event.key.length !== 1) return;
    if (document.querySelector("dialog[open]") || (target.matches && target.matches("textarea, input[type=text]"))) return;
    const form = document.querySelector("#current form.item");
    if (!form) return;
    const key = CSS.escape(event.key.toLowerCase());
    const spanButton = form.querySelector(`[data-tag-label][data-hotkey="${key}"]`);
    if (spanButton && selectionInBody()) {
      event.preventDefault();
      event.stopPropagation();
      return addSpan(form, spanButton.dataset.tagLabel);
    }
    const box = form.querySelector(`article.response.focused [data-response-label][data-hotkey="${key}"]`);
    if (box) {
      event.preventDefault();
      event.stopPropagation();
      box.click();
    }
  }, true);

  // Keep the selection when a tag button is pressed with the mouse.
  document.addEventListener("mousedown", (event) => {
    if (event.target.closest("[data-tag-label]")) event.preventDefault();
  });

  document.addEventListener("click", (event) => {
    const form = event.target.closest("#current form.item");
    if (!form) return;
    const button = event.target.closest("[data-tag-label]");
    if (button) return addSpan(form, button.dataset.tagLabel);
    const remove = event.target.closest("[data-span-remove]");
    if (remove) {
      const article = remove.closest("article.response");
      remove.closest("[data-span-entry]").remove();
      redraw(article);
      article.focus({ preventScroll: true });
      return form.dispatchEvent(new Event("change", { bubbles: true }));
    }
    const mark = event.target.closest("mark[data-span-mark]");
    if (mark && document.getSelection().isCollapsed) {
      // Repeated clicks on overlapping highlights step through their spans.
      const ids = mark.dataset.spanMark.split(" ");
      const turn = (Number(mark.dataset.turn || -1) + 1) % ids.length;
      mark.dataset.turn = String(turn);
      const entry = mark.closest("article.response").querySelector(`[data-span-id="${ids[ids.length - 1 - turn]}"]`);
      if (entry) focusEntry(entry);
    }
  });
})();
