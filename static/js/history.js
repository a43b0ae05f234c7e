/* The history detail: highlight each response's tagged spans in its rendered text, as
 * the ranking page shows them (spans.js paints; the server lists them, escaped). */
(function () {
  "use strict";

  if (!window.PrefLabSpans) return;
  for (const article of document.querySelectorAll("article.response")) {
    const body = article.querySelector(".body[data-source]");
    const spans = Array.from(article.querySelectorAll("[data-span-entry]"), (entry, index) => ({
      id: String(index + 1),
      start: Number(entry.dataset.start),
      end: Number(entry.dataset.end),
      name: entry.dataset.name,
      colour: entry.dataset.colour,
    }));
    if (body && spans.length) window.PrefLabSpans.paint(body, spans);
  }
})();
