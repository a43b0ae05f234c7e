/*
 * Span tagging on the ranking page: select text in a response, press a tag's key (or
 * click the tag), and the stretch is kept as code-point offsets into the response's
 * source text, which is what the server stores (Python's text[start:end]).
 *
 * Why the alignment is written by hand: the page shows markdown rendered on the server
 * (markdown-it, then nh3), and no library maps a selection in such HTML back to positions
 * in the markdown source. markdown-it's source maps stop at block lines, and the
 * text-anchoring libraries (dom-anchor-text-position, Hypothesis's anchoring) only know
 * the rendered text. So the two texts are aligned here: the rendered characters appear in
 * the source in order, with markdown syntax, entities (&amp;), link targets, fence lines
 * and whitespace changes in between. Each text node is first looked up whole; failing
 * that it is aligned character by character (a longest common subsequence inside a
 * bounded window of the source). Everything counts code points, not JavaScript's UTF-16
 * units, so emoji and other astral characters count once.
 *
 * The tags live in the form's own DOM (the span list entries and the label checkboxes),
 * so a prefetched item needs no set-up and a failed submit keeps them; annotate.js asks
 * for them through window.PrefLabSpans.
 */
(function () {
  "use strict";

  const FAR = 400; // a short text node found further ahead than this is suspect
  const SLACK = 256; // extra source code points a character-by-character alignment may skip
  const CHUNK = 1000; // rendered code points aligned per table (bounds time and memory)
  const GAP = 12; // an unmatched character (&lt; → "<") covers a source gap up to this long
  const COLOUR = /^#[0-9a-f]{6}$/i;
  const isSpace = (c) => /\s/.test(c);
  const alignments = new WeakMap(); // .body element -> { source, lo, hi }
  let nextId = 1;

  /* ---- aligning the rendered text to the source ---- */

  function textNodes(root) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    return nodes;
  }

  function codePoints(text) {
    const chars = [];
    const at = []; // UTF-16 offset of each code point
    for (let i = 0; i < text.length; i += chars[chars.length - 1].length) {
      chars.push(String.fromCodePoint(text.codePointAt(i)));
      at.push(i);
    }
    return { chars, at };
  }

  // After a link's text: step over "](target "title")", "][ref]" or "]", so that a short
  // text after the link is not found inside its URL.
  function afterLink(src, p) {
    let q = p;
    while (q < src.length && "*_~`".includes(src[q])) q++;
    if (src[q] !== "]") return p;
    q++;
    const close = src[q] === "(" ? ")" : src[q] === "[" ? "]" : null;
    if (!close) return q;
    for (let depth = 0, limit = Math.min(src.length, q + 2000); q < limit; q++) {
      if (src[q] === "\\") q++;
      else if (src[q] === "\n" && src[q + 1] === "\n") break;
      else if (src[q] === "(" && close === ")") depth++;
      else if (src[q] === close && (close === "]" || --depth === 0)) return q + 1;
    }
    return p;
  }

  // Entering a fenced code block: step over the "```lang" line (list and quote markers
  // may come first); an indented block has no such line and is aligned as it is.
  function afterFence(src, p) {
    let q = p;
    while (q < src.length && q - p < 64 && /[\s>*+\-.0-9]/.test(src[q])) q++;
    const fence = src[q];
    if ((fence !== "`" && fence !== "~") || src[q + 1] !== fence || src[q + 2] !== fence) return p;
    while (q < src.length && src[q] !== "\n") q++;
    return q + 1;
  }

  // Longest common subsequence of rendered[from, to) and the source after p; rendered
  // whitespace matches any source whitespace. Returns [rendered index, source index] pairs.
  function lcs(state, rendered, from, to) {
    const { src, p } = state;
    const n = to - from;
    const w = Math.min(src.length - p, 2 * n + SLACK);
    const width = w + 1;
    const table = new Uint16Array((n + 1) * width);
    const renderedSpace = rendered.slice(from, to).map(isSpace);
    const sourceSpace = src.slice(p, p + w).map(isSpace);
    const same = (i, j) =>
      rendered[from + i - 1] === src[p + j - 1] || (renderedSpace[i - 1] && sourceSpace[j - 1]);
    for (let i = 1; i <= n; i++) {
      for (let j = 1; j <= w; j++) {
        const here = i * width + j;
        table[here] = same(i, j)
          ? table[here - width - 1] + 1
          : Math.max(table[here - width], table[here - 1]);
      }
    }
    const pairs = [];
    for (let i = n, j = w; i > 0 && j > 0; ) {
      const here = i * width + j;
      if (table[here] === table[here - 1]) j--; // prefer the earliest source positions
      else if (same(i, j) && table[here] === table[here - width - 1] + 1) pairs.push([from + --i, p + --j]);
      else i--;
    }
    return pairs.reverse();
  }

  function alignNode(state, text, base, map) {
    const { chars, at } = codePoints(text);
    const put = (k, s) => {
      map[base + at[k]] = s;
      if (chars[k].length === 2) map[base + at[k] + 1] = s;
    };
    const { src } = state;
    if (!/\S/.test(text)) {
      // Whitespace between blocks: take the source's whitespace only where it comes next.
      chars.forEach((c, k) => {
        if (state.p < src.length && isSpace(src[state.p])) put(k, state.p++);
      });
      return;
    }
    const found16 = state.source.indexOf(text, state.utf16[state.p]);
    const found = found16 < 0 ? -1 : state.codePoint[found16];
    const takeWhole = () => {
      chars.forEach((c, k) => put(k, found + k));
      state.p = found + chars.length;
    };
    if (found >= 0 && (found - state.p <= FAR || chars.length >= 16)) return takeWhole();
    for (let from = 0; from < chars.length; from += CHUNK) {
      const to = Math.min(chars.length, from + CHUNK);
      const pairs = lcs(state, chars, from, to);
      const solid = (k) => !isSpace(chars[k]);
      const wanted = chars.slice(from, to).filter((c) => !isSpace(c)).length;
      const got = pairs.filter(([k]) => solid(k)).length;
      if (!pairs.length || got * 2 < wanted) {
        // Too little of it is here: take a far whole match, or leave it unmatched.
        if (found >= 0 && from === 0) return takeWhole();
        continue;
      }
      pairs.forEach(([k, s]) => put(k, s));
      state.p = pairs[pairs.length - 1][1] + 1;
    }
  }

  // A character the source spells otherwise (&lt; for "<") covers the short gap between
  // its matched neighbours, so selecting just it still names a stretch of the source.
  function coverGaps(rendered, map, srcLength) {
    const lo = new Int32Array(map.length).fill(-1);
    const hi = new Int32Array(map.length).fill(-1);
    let previous = -1;
    for (let u = 0; u < map.length; u++) {
      if (map[u] >= 0) {
        lo[u] = map[u];
        hi[u] = map[u] + 1;
        previous = map[u];
        continue;
      }
      if (isSpace(rendered[u])) continue;
      let v = u;
      while (v < map.length && map[v] < 0) v++;
      const next = v < map.length ? map[v] : srcLength;
      if (next - previous - 1 > 0 && next - previous - 1 <= GAP) {
        for (let x = u; x < v; x++) {
          if (!isSpace(rendered[x])) [lo[x], hi[x]] = [previous + 1, next];
        }
      }
      u = v - 1;
    }
    return { lo, hi };
  }

  function align(body, source) {
    const { chars: src } = codePoints(source);
    const utf16 = new Int32Array(src.length + 1);
    const codePoint = new Int32Array(source.length + 1);
    for (let k = 0, u = 0; k <= src.length; u += src[k] ? src[k].length : 0, k++) {
      utf16[k] = u;
      codePoint[u] = k;
      if (src[k] && src[k].length === 2) codePoint[u + 1] = k;
    }
    const state = { source, src, utf16, codePoint, p: 0 };
    const nodes = textNodes(body);
    const rendered = nodes.map((node) => node.data).join("");
    const map = new Int32Array(rendered.length).fill(-1);
    let base = 0;
    let link = null;
    let pre = null;
    for (const node of nodes) {
      const parent = node.parentElement;
      const nodeLink = parent.closest("a");
      const nodePre = parent.closest("pre");
      if (link && nodeLink !== link) state.p = afterLink(src, state.p);
      if (nodePre && nodePre !== pre) state.p = afterFence(src, state.p);
      [link, pre] = [nodeLink, nodePre];
      alignNode(state, node.data, base, map);
      base += node.data.length;
    }
    return { src, ...coverGaps(rendered, map, src.length) };
  }

  function alignment(body) {
    if (!alignments.has(body)) {
      const source = JSON.parse(`"${body.dataset.source || ""}"`); // escapejs'd in the template
      alignments.set(body, align(body, source));
    }
    return alignments.get(body);
  }

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

  window.PrefLabSpans = { payload, problem, offsets };

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
