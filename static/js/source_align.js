/*
 * Align a response's rendered markdown with its source text, so that a position in the
 * page's text nodes maps to a code-point offset in the source (Python's text[i]).
 *
 * Why by hand: the page shows markdown rendered on the server (markdown-it, then nh3),
 * and no library maps a selection in such HTML back to positions in the markdown source.
 * markdown-it's source maps stop at block lines, and the text-anchoring libraries
 * (dom-anchor-text-position, Hypothesis's anchoring) only know the rendered text. The
 * rendered characters appear in the source in order, with markdown syntax, entities
 * (&amp;), link targets, fence lines and whitespace changes in between. Each text node is
 * first looked up whole; failing that it is aligned character by character (a longest
 * common subsequence inside a bounded window of the source). Everything counts code
 * points, not JavaScript's UTF-16 units, so emoji and other astral characters count once.
 *
 * Used by spans.js (tagging) through window.PrefLabAlign.
 */
(function () {
  "use strict";

  const FAR = 400; // a short text node found further ahead than this is suspect
  const SLACK = 256; // extra source code points a character-by-character alignment may skip
  const CHUNK = 1000; // rendered code points aligned per table (bounds time and memory)
  const GAP = 12; // an unmatched character (&lt; → "<") covers a source gap up to this long
  const isSpace = (c) => /\s/.test(c);
  const alignments = new WeakMap(); // .body element -> { source, lo, hi }

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

  window.PrefLabAlign = { alignment, textNodes, isSpace };
})();
