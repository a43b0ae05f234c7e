/*
 * The ranking page: keyboard-first ranking, drag and drop, instant next item.
 *
 * Written by hand because no small library covers this flow: the state lives in
 * the form's own controls (selects, radios), so the page also works without
 * JavaScript, and this file only drives those controls from the keyboard or a
 * drag, validates, and swaps in the prefetched next item while the submit is
 * sent in the background (retried with the same client token, so the server
 * stores it once).
 */
(function () {
  "use strict";

  const script = document.currentScript;
  const prefetchUrl = script.dataset.prefetchUrl;
  const current = document.getElementById("current");
  const upcoming = document.getElementById("prefetch");
  const toast = document.getElementById("toast");
  let focused = 0;
  let dimension = null; // the rubric dimension digits score, or null while ranking
  let busy = false;

  const activeForm = () => current.querySelector("form.item");
  const cards = (form) => Array.from(form.querySelectorAll("article.response"));
  const csrf = () => document.querySelector("[name=csrfmiddlewaretoken]")?.value || "";

  function newToken() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return String(Date.now()) + Math.random().toString(16).slice(2);
  }

  function showToast(message) {
    toast.textContent = message;
    toast.hidden = false;
    clearTimeout(showToast.timer);
    showToast.timer = setTimeout(() => (toast.hidden = true), 6000);
  }

  function showError(form, message) {
    const box = form.querySelector("[data-error]");
    box.textContent = message;
    box.hidden = !message;
  }

  /* ---- state read from the form's controls ---- */

  function rankOf(card) {
    const value = card.querySelector("[data-rank]").value;
    return value ? Number(value) : null;
  }

  function setRankValue(card, rank) {
    card.querySelector("[data-rank]").value = rank == null ? "" : String(rank);
  }

  function tiers(form) {
    const byRank = new Map();
    for (const card of cards(form)) {
      const rank = rankOf(card);
      if (rank == null) continue;
      if (!byRank.has(rank)) byRank.set(rank, []);
      byRank.get(rank).push(card);
    }
    return Array.from(byRank.keys()).sort((a, b) => a - b).map((rank) => byRank.get(rank));
  }

  /* ---- rank mode ---- */

  function setRank(form, card, rank) {
    const ties = form.dataset.ties === "1";
    if (!ties) {
      const other = cards(form).find((c) => c !== card && rankOf(c) === rank);
      if (other) setRankValue(other, rankOf(card));
    }
    setRankValue(card, rank);
    const next = cards(form).findIndex((c) => rankOf(c) == null);
    if (next >= 0) focusCard(form, next);
  }

  function tieWithAbove(form, card) {
    const own = rankOf(card);
    const better = cards(form)
      .filter((c) => c !== card && rankOf(c) != null && (own == null || rankOf(c) < own))
      .map(rankOf);
    if (!better.length) return showToast("Nothing ranked above this response to tie with.");
    setRankValue(card, Math.max(...better));
  }

  function untie(form, card) {
    const own = rankOf(card);
    if (own == null || !cards(form).some((c) => c !== card && rankOf(c) === own)) return;
    const used = new Set(cards(form).map(rankOf));
    const k = Number(form.dataset.k);
    for (let r = own + 1; r <= k; r++) {
      if (!used.has(r)) return setRankValue(card, r);
    }
    showToast("No free rank below this tie; clear another rank first.");
  }

  /* ---- drag and drop (rank mode) ---- */

  function syncChips(form) {
    const list = form.querySelector("[data-dnd]");
    if (!list) return;
    const order = cards(form)
      .map((card, index) => ({ card, index, rank: rankOf(card) }))
      .sort((a, b) => (a.rank ?? 99) - (b.rank ?? 99) || a.index - b.index);
    for (const { card, rank } of order) {
      const chip = list.querySelector(`[data-chip="${card.dataset.response}"]`);
      chip.classList.toggle("unranked", rank == null);
      list.appendChild(chip);
    }
  }

  function wireDragAndDrop(form) {
    const list = form.querySelector("[data-dnd]");
    if (!list || list.dataset.wired) return;
    list.dataset.wired = "1";
    let dragged = null;
    list.addEventListener("dragstart", (event) => {
      dragged = event.target.closest("[data-chip]");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.dataset.chip);
      dragged.classList.add("dragging");
    });
    list.addEventListener("dragover", (event) => {
      event.preventDefault();
      const over = event.target.closest("[data-chip]");
      if (!dragged || !over || over === dragged) return;
      const box = over.getBoundingClientRect();
      const after = event.clientX > box.left + box.width / 2;
      list.insertBefore(dragged, after ? over.nextSibling : over);
    });
    list.addEventListener("drop", (event) => event.preventDefault());
    list.addEventListener("dragend", () => {
      if (!dragged) return;
      dragged.classList.remove("dragging");
      dragged = null;
      // The chip order is the ranking: 1..K, no ties (ties come from the keyboard).
      Array.from(list.children).forEach((chip, index) => {
        const card = form.querySelector(`article[data-response="${chip.dataset.chip}"]`);
        setRankValue(card, index + 1);
      });
      render(form);
    });
  }

  /* ---- pairwise and rate modes ---- */

  function choose(form, value) {
    const radio = form.querySelector(`input[name=choice][value="${value}"]`);
    if (radio) radio.checked = true;
  }

  function setStrength(form, value) {
    const radio = form.querySelector(`input[name=strength][value="${value}"]`);
    if (radio) radio.checked = true;
  }

  function setScore(form, card, score) {
    if (score < 1 || score > Number(form.dataset.scale)) return;
    card.querySelector("[data-score]").value = String(score);
    const next = cards(form).findIndex((c) => !c.querySelector("[data-score]").value);
    if (next >= 0) focusCard(form, next);
  }

  /* ---- rubric dimensions ---- */

  const rubricSelect = (card, id) => card.querySelector(`[data-rubric="${id}"]`);

  function dimensionForKey(form, key) {
    const select = form.querySelector(`[data-rubric][data-key="${CSS.escape(key.toLowerCase())}"]`);
    return select && key.length === 1 ? select.dataset.rubric : null;
  }

  function setRubricScore(form, card, score) {
    const select = rubricSelect(card, dimension);
    if (score < 1 || score > Number(select.dataset.scale)) return;
    select.value = String(score);
    const next = cards(form).findIndex((c) => !rubricSelect(c, dimension).value);
    if (next >= 0) focusCard(form, next);
  }

  function rubricProblem(form) {
    const gaps = new Map();
    for (const card of cards(form)) {
      for (const select of card.querySelectorAll("[data-rubric]")) {
        if (select.value) continue;
        const name = select.dataset.dimensionName;
        gaps.set(name, [...(gaps.get(name) || []), card.dataset.letter]);
      }
    }
    const parts = Array.from(gaps, ([name, letters]) => `${name} (${letters.join(", ")})`);
    return parts.length ? `Score every response on the rubric; missing: ${parts.join("; ")}.` : "";
  }

  function rubricPayload(form) {
    const rubric = {};
    for (const card of cards(form)) {
      for (const select of card.querySelectorAll("[data-rubric]")) {
        (rubric[select.dataset.rubric] ||= {})[card.dataset.response] = Number(select.value);
      }
    }
    return rubric;
  }

  /* ---- validation and payload ---- */

  function problem(form) {
    const mode = form.dataset.mode;
    const all = cards(form);
    if (mode === "rank") {
      const missing = all.filter((c) => rankOf(c) == null).map((c) => c.dataset.letter);
      if (missing.length) return `Rank every response; still unranked: ${missing.join(", ")}.`;
    } else if (mode === "rate") {
      const missing = all.filter((c) => !c.querySelector("[data-score]").value);
      if (missing.length) return `Score every response; missing: ${missing.map((c) => c.dataset.letter).join(", ")}.`;
    } else {
      const choice = form.querySelector("input[name=choice]:checked");
      if (!choice) return "Choose A, B or a tie.";
      const strength = form.querySelector("input[name=strength]:checked");
      if (form.dataset.strength === "1" && choice.value !== "tie" && !strength) return "Say how much better (1, 2 or 3).";
    }
    const rubric = rubricProblem(form);
    if (rubric) return rubric;
    const tags = window.PrefLabSpans ? window.PrefLabSpans.problem(form) : "";
    if (tags) return tags;
    const rationale = form.querySelector("[data-rationale]");
    if (form.dataset.rationale === "required" && rationale && !rationale.value.trim()) return "Write a rationale (R).";
    return "";
  }

  function payload(form) {
    const mode = form.dataset.mode;
    const data = { none_acceptable: form.querySelector("[data-none]").checked };
    const unsure = form.querySelector("[data-unsure]");
    if (unsure && unsure.checked) data.unsure = true;
    const rationale = form.querySelector("[data-rationale]");
    if (rationale) data.rationale = rationale.value;
    if (mode === "rank") {
      data.ranking = tiers(form).map((tier) => tier.map((c) => Number(c.dataset.response)));
    } else if (mode === "rate") {
      data.ratings = {};
      for (const c of cards(form)) data.ratings[c.dataset.response] = Number(c.querySelector("[data-score]").value);
    } else {
      const choice = form.querySelector("input[name=choice]:checked").value;
      data.choice = choice === "tie" ? "tie" : Number(choice);
      const strength = form.querySelector("input[name=strength]:checked");
      if (strength && choice !== "tie") data.strength = Number(strength.value);
    }
    if (form.querySelector("[data-rubric]")) data.rubric = rubricPayload(form);
    if (window.PrefLabSpans) Object.assign(data, window.PrefLabSpans.payload(form)); // static/js/spans.js
    const rewrites = window.PrefLabRewrites ? window.PrefLabRewrites.payload(form) : []; // rewrite.js
    if (rewrites.length) data.rewrites = rewrites;
    return data;
  }

  /* ---- rendering of badges and the summary line ---- */

  function ordinal(n) {
    const suffixes = ["th", "st", "nd", "rd"];
    const tens = n % 100;
    return n + (suffixes[(tens - 20) % 10] || suffixes[tens] || suffixes[0]);
  }

  function render(form) {
    const mode = form.dataset.mode;
    cards(form).forEach((card, index) => {
      card.classList.toggle("focused", index === focused);
      const badge = card.querySelector("[data-badge]");
      if (mode === "rank") {
        const rank = rankOf(card);
        const tied = rank != null && cards(form).some((c) => c !== card && rankOf(c) === rank);
        badge.textContent = rank == null ? "" : (tied ? "= " : "") + ordinal(rank);
      } else if (mode === "rate") {
        const score = card.querySelector("[data-score]").value;
        badge.textContent = score ? `${score}/${form.dataset.scale}` : "";
      } else {
        badge.textContent = card.querySelector("[data-choice]").checked ? "better" : "";
      }
    });
    const summary = form.querySelector("[data-summary]");
    if (mode === "rank") {
      const ranked = tiers(form).map((tier) => tier.map((c) => c.dataset.letter).join(" = ")).join(" > ");
      const unranked = cards(form).filter((c) => rankOf(c) == null).map((c) => c.dataset.letter);
      summary.textContent = (ranked || "Nothing ranked yet") + (unranked.length ? ` · unranked: ${unranked.join(", ")}` : "");
      syncChips(form);
    } else if (mode === "pairwise") {
      const choice = form.querySelector("input[name=choice]:checked");
      const strength = form.querySelector("input[name=strength]:checked");
      const letter = choice && choice.value !== "tie"
        ? form.querySelector(`article[data-response="${choice.value}"]`).dataset.letter : null;
      summary.textContent = !choice ? "No choice yet" : choice.value === "tie" ? "About the same"
        : `${letter} is better` + (strength ? ` (${["", "slightly", "clearly", "much"][strength.value]})` : "");
    }
    const indicator = form.querySelector("[data-rubric-mode]");
    if (indicator) {
      const select = dimension && form.querySelector(`[data-rubric="${dimension}"]`);
      indicator.classList.toggle("active", Boolean(select));
      indicator.textContent = select
        ? `Scoring ${select.dataset.dimensionName} (1–${select.dataset.scale}): digits score the focused response; Esc returns to ranking.`
        : "Rubric: press a dimension's key, then digits score the focused response; Esc returns to ranking.";
      form.querySelectorAll(".rubric-row").forEach((row) => {
        row.classList.toggle("active", row.querySelector("select").dataset.rubric === dimension);
      });
    }
    showError(form, "");
  }

  function focusCard(form, index) {
    const all = cards(form);
    focused = Math.max(0, Math.min(all.length - 1, index));
    all[focused].focus({ preventScroll: false });
    render(form);
  }

  /* ---- drafts of typed text (static/js/drafts.js): kept until the item is stored ---- */

  const drafts = window.PrefLabDrafts;
  const rationaleKey = (form) => `item:${form.dataset.assignment}:rationale`;

  function restoreDrafts(form) {
    const rationale = form.querySelector("[data-rationale]");
    const draft = drafts && rationale ? drafts.load(rationaleKey(form)) : null;
    if (draft && draft.text && !rationale.value) rationale.value = draft.text;
    if (window.PrefLabRewrites) window.PrefLabRewrites.restore(form); // rewrite.js
  }

  function dropDrafts(form) {
    if (drafts) drafts.clearPrefix(`item:${form.dataset.assignment}:`);
  }

  document.addEventListener("input", (event) => {
    const rationale = event.target.closest("[data-rationale]");
    const form = rationale && rationale.closest("form.item");
    if (!drafts || !form) return;
    if (rationale.value) drafts.save(rationaleKey(form), { text: rationale.value });
    else drafts.clear(rationaleKey(form));
  });

  function activate(form) {
    if (!form) return;
    restoreDrafts(form);
    if (!form.dataset.token) form.dataset.token = newToken();
    form.querySelector("[name=client_token]").value = form.dataset.token;
    // Time spent counts from the first time the item was shown, across failed submits.
    if (!form.dataset.shownAt) form.dataset.shownAt = String(performance.now());
    wireDragAndDrop(form);
    dimension = null;
    focused = 0;
    focusCard(form, 0);
  }

  /* ---- submitting, skipping and the instant swap ---- */

  async function postWithRetry(url, body, attempts = 3) {
    let lastError;
    for (let attempt = 0; attempt < attempts; attempt++) {
      try {
        const response = await fetch(url, {
          method: "POST",
          body,
          headers: { "X-CSRFToken": csrf(), "X-Preflab-Fetch": "1" },
          credentials: "same-origin",
        });
        if (response.ok) return response;
        if (response.status < 500) {
          const data = await response.json().catch(() => ({}));
          throw Object.assign(new Error(data.message || `HTTP ${response.status}`), { final: true });
        }
        lastError = new Error(`server error ${response.status}`);
      } catch (error) {
        if (error.final) throw error;
        lastError = error;
      }
      await new Promise((resolve) => setTimeout(resolve, 400 * 2 ** attempt));
    }
    throw lastError;
  }

  function place(slot, html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    const progress = template.content.querySelector("#progress-line");
    if (progress) {
      document.getElementById("progress-line").replaceWith(progress);
    }
    slot.replaceChildren(template.content);
    if (window.htmx) htmx.process(slot);
  }

  async function fillUpcoming(exclude) {
    const body = new FormData();
    body.set("exclude", exclude);
    const response = await fetch(prefetchUrl, {
      method: "POST", body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), "X-Preflab-Fetch": "1" },
    });
    if (response.ok) place(upcoming, await response.text());
  }

  async function send(form, kind) {
    if (busy) return showToast("Still saving the previous item; press again in a moment.");
    if (kind === "submit") {
      const message = problem(form);
      if (message) return showError(form, message);
    }
    busy = true;
    const body = new FormData(form);
    if (kind === "submit") {
      const data = payload(form);
      data.time_spent_ms = Math.round(performance.now() - Number(form.dataset.shownAt));
      body.set("payload", JSON.stringify(data));
    }
    const next = upcoming.querySelector("form.item");
    if (next) {
      body.set("shown", next.dataset.assignment);
      current.replaceChildren(next); // instant: the next item was already here
      activate(next);
    } else {
      form.classList.add("saving");
    }
    const url = kind === "submit" ? form.action : form.dataset.skipUrl;
    try {
      const response = await postWithRetry(url, body);
      dropDrafts(form); // stored (or skipped) by the server: nothing typed is left to keep
      const html = await response.text();
      if (next) {
        place(upcoming, html);
      } else {
        place(current, html);
        activate(activeForm());
        if (activeForm()) fillUpcoming(activeForm().dataset.assignment);
      }
    } catch (error) {
      if (next) {
        upcoming.replaceChildren(next);
        current.replaceChildren(form);
      }
      form.classList.remove("saving");
      activate(form);
      showError(form, `Not saved: ${error.message}`);
    } finally {
      busy = false;
    }
  }

  /* ---- keyboard ---- */

  function openDialog(id) {
    const dialog = document.getElementById(id);
    if (!dialog.open) dialog.showModal();
  }

  document.addEventListener("click", (event) => {
    const close = event.target.closest("[data-close]");
    if (close) close.closest("dialog").close();
  });

  document.addEventListener("keydown", (event) => {
    if (document.querySelector("dialog[open]")) return; // Esc closes natively
    const form = activeForm();
    if (!form || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const typing = target.matches("textarea, input[type=text]");
    if (typing) {
      if (event.key === "Escape") target.blur();
      return;
    }
    const key = event.key;
    if (key === "Enter" || key === "s" || key === "S") {
      // Not followed by render(): it would clear the error send() shows for an incomplete item.
      event.preventDefault();
      return send(form, key === "Enter" ? "submit" : "skip");
    }
    const card = cards(form)[focused];
    const mode = form.dataset.mode;
    let handled = true;
    const chosenDimension = dimensionForKey(form, key);
    if (chosenDimension) dimension = chosenDimension;
    else if (dimension && key === "Escape") dimension = null;
    else if (dimension && /^[0-9]$/.test(key)) setRubricScore(form, card, key === "0" ? 10 : Number(key));
    else if (key === "ArrowDown" || key === "ArrowRight" || key === "j") focusCard(form, focused + 1);
    else if (key === "ArrowUp" || key === "ArrowLeft" || key === "k") focusCard(form, focused - 1);
    else if (key === "?") openDialog("shortcuts-dialog");
    else if (key === "g" || key === "G") openDialog("guidelines-dialog");
    else if (key === "n" || key === "N") form.querySelector("[data-none]").click();
    else if ((key === "r" || key === "R") && form.querySelector("[data-rationale]")) form.querySelector("[data-rationale]").focus();
    else if (mode === "rank" && /^[1-9]$/.test(key) && Number(key) <= Number(form.dataset.k)) setRank(form, card, Number(key));
    else if (mode === "rank" && (key === "0" || key === "Backspace")) setRankValue(card, null);
    else if (mode === "rank" && (key === "t" || key === "T") && form.dataset.ties === "1") tieWithAbove(form, card);
    else if (mode === "rank" && (key === "u" || key === "U")) untie(form, card);
    else if (mode === "rate" && /^[1-9]$/.test(key)) setScore(form, card, Number(key));
    else if (mode === "rate" && key === "0" && Number(form.dataset.scale) === 10) setScore(form, card, 10);
    else if (mode === "pairwise" && (key === "a" || key === "A")) choose(form, cards(form)[0].dataset.response);
    else if (mode === "pairwise" && (key === "b" || key === "B")) choose(form, cards(form)[1].dataset.response);
    else if (mode === "pairwise" && (key === "t" || key === "T" || key === "=")) choose(form, "tie");
    else if (mode === "pairwise" && /^[1-3]$/.test(key)) setStrength(form, key);
    else handled = false;
    if (handled) {
      event.preventDefault();
      if (activeForm() === form) render(form);
    }
  });

  // Mouse and no-keyboard paths go through the same functions.
  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form.item");
    if (!form || !current.contains(form)) return;
    event.preventDefault();
    const skip = event.submitter && event.submitter.hasAttribute("data-skip");
    send(form, skip ? "skip" : "submit");
  });
  document.addEventListener("change", (event) => {
    const form = event.target.closest("form.item");
    if (form && current.contains(form)) render(form);
  });
  document.addEventListener("focusin", (event) => {
    const card = event.target.closest("article.response");
    const form = activeForm();
    if (card && form && form.contains(card)) {
      focused = cards(form).indexOf(card);
      render(form);
    }
  });

  activate(activeForm());
})();
