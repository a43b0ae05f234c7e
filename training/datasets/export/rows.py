"""Rows of each export format from one item, as plain dicts (column -> value).

Every format carries the same provenance: ``annotator`` (hashed; null for consensus
rows), ``weight`` (reliability: the annotator's, or the mean of the annotators behind a
consensus row), ``round``, ``item_id`` and ``provenance``, one entry per annotation
behind the row (annotator, guideline version, time spent, shown order, assisted,
review verdict, created at). Response-level columns name the generating model, its
generation settings (JSON text) and whether a person pasted most of the text.
"""

import json
from collections.abc import Callable

from training.datasets.export.binarize import Binarization, Pair, pairs_of
from training.datasets.export.options import ExportOptions
from training.datasets.export.source import SourceItem, SourceJudgement, SourceResponse

Hasher = Callable[[int], str]
REWRITE = "rewrite"
WRITTEN = ("writer", "queue")


def prompt_value(messages: list[dict], style: str):
    """The prompt as TRL reads it: the conversation, or plain text for the text style
    (one user turn is its content; several turns are "Role: content" blocks)."""
    turns = [{"role": m["role"], "content": m["content"]} for m in messages]
    if style == "conversational":
        return turns
    if len(turns) == 1 and turns[0]["role"] == "user":
        return turns[0]["content"]
    return "\n\n".join(f"{t['role'].capitalize()}: {t['content']}" for t in turns)


def completion_value(text: str, style: str):
    return [{"role": "assistant", "content": text}] if style == "conversational" else text


def _provenance(j: SourceJudgement, hasher: Hasher) -> dict:
    return {
        "annotator": hasher(j.user_id),
        "guideline_version": j.guideline_version,
        "time_spent_ms": j.time_spent_ms,
        "shown_order": list(j.shown_order),
        "assisted": j.assisted,
        "review": j.review,
        "created_at": j.created_at,
    }


def _kept(item: SourceItem, options: ExportOptions) -> list[SourceJudgement]:
    if options.none_acceptable == "exclude":
        return [j for j in item.judgements if not j.none_acceptable]
    return list(item.judgements)


def _flagged_by_most(judgements: list[SourceJudgement]) -> bool:
    total = sum(j.weight for j in judgements)
    flagged = sum(j.weight for j in judgements if j.none_acceptable)
    return bool(total) and flagged >= total / 2


def _mean_ratings(judgements: list[SourceJudgement]) -> dict[str, float]:
    """Weighted mean rating per response over the judgements that rated it."""
    sums: dict[str, list[float]] = {}
    for j in judgements:
        for rid, score in j.ratings.items():
            acc = sums.setdefault(rid, [0.0, 0.0])
            acc[0] += score * j.weight
            acc[1] += j.weight
    return {rid: s / w for rid, (s, w) in sums.items() if w}


class RowContext:
    """What every row of one item shares: the prompt value, responses by id, the base
    columns. Built once per item so each row costs a dict, not a re-rendering."""

    def __init__(self, item: SourceItem, options: ExportOptions, hasher: Hasher):
        self.item, self.options, self.hasher = item, options, hasher
        self.prompt = prompt_value(item.messages, options.style)
        self.responses: dict[int, SourceResponse] = {r.id: r for r in item.responses}
        self.completions = {r.id: completion_value(r.text, options.style) for r in item.responses}
        self.kept = _kept(item, options)
        self.consensus_weight = (
            sum(j.weight for j in item.judgements) / len(item.judgements)
            if item.judgements
            else 1.0
        )

    def base(self, judgements: list[SourceJudgement], annotator: int | None, weight: float):
        return {
            "item_id": self.item.item_id,
            "round": self.item.round,
            "annotator": None if annotator is None else self.hasher(annotator),
            "weight": weight,
            "prompt_pasted": self.item.prompt_pasted,
            "provenance": [_provenance(j, self.hasher) for j in judgements],
        }

    def soft_label(self, pair: Pair) -> float | None:
        a, b = sorted((pair.chosen, pair.rejected))
        p = self.item.pair_confidence.get(f"{a},{b}")
        if p is None:
            return None
        return p if pair.chosen == a else 1 - p

    def units(self):
        """(judgements behind, annotator or None, weight, ranking, ratings, strength, flag)
        per row set: one per kept judgement, or one consensus set for the item."""
        item, options = self.item, self.options
        if options.aggregation == "per_annotator":
            for j in self.kept:
                yield [j], j.user_id, j.weight, j.ranking, j.ratings, j.strength, j.none_acceptable
            return
        if not item.consensus or not item.judgements:
            return
        flagged = _flagged_by_most(item.judgements)
        if flagged and options.none_acceptable == "exclude":
            return
        ratings = _mean_ratings(item.judgements)
        ranking = item.consensus
        yield item.judgements, None, self.consensus_weight, ranking, ratings, None, flagged


def pairwise_rows(ctx: RowContext) -> list[dict]:
    o, rows = ctx.options, []
    for judgements, annotator, weight, ranking, ratings, strength, flag in ctx.units():
        pairs = pairs_of(
            ranking,
            mode=Binarization(o.binarization),
            min_margin=o.min_margin,
            ratings=ratings or None,
            strength=strength,
        )
        if not pairs:
            continue
        base = ctx.base(judgements, annotator, weight)
        completions, prompt = ctx.completions, ctx.prompt
        for pair in pairs:
            chosen, rejected = ctx.responses[pair.chosen], ctx.responses[pair.rejected]
            rows.append(
                {
                    "prompt": prompt,
                    "chosen": completions[chosen.id],
                    "rejected": completions[rejected.id],
                    "margin": pair.margin,
                    "soft_label": ctx.soft_label(pair) if o.soft_labels else None,
                    "none_acceptable": flag,
                    "chosen_id": chosen.id,
                    "rejected_id": rejected.id,
                    "chosen_model": chosen.model,
                    "rejected_model": rejected.model,
                    "chosen_generation": chosen.generation,
                    "rejected_generation": rejected.generation,
                    "chosen_pasted": chosen.pasted,
                    "rejected_pasted": rejected.pasted,
                    **base,
                }
            )
    return rows


def listwise_rows(ctx: RowContext) -> list[dict]:
    o, rows = ctx.options, []
    order = [r.id for r in ctx.item.responses]
    index = {rid: n for n, rid in enumerate(order)}
    for judgements, annotator, weight, ranking, ratings, _strength, flag in ctx.units():
        rows.append(
            {
                "prompt": ctx.prompt,
                "responses": [completion_value(r.text, o.style) for r in ctx.item.responses],
                "ranking": [sorted(index[rid] for rid in tier) for tier in ranking],
                "ratings": [ratings.get(str(rid)) for rid in order] if ratings else None,
                "none_acceptable": flag,
                "response_ids": order,
                "response_models": [r.model for r in ctx.item.responses],
                "responses_pasted": [r.pasted for r in ctx.item.responses],
                **ctx.base(judgements, annotator, weight),
            }
        )
    return rows


def _sft_row(ctx: RowContext, response: SourceResponse, source: str, base: dict) -> dict:
    messages = [{"role": m["role"], "content": m["content"]} for m in ctx.item.messages]
    return {
        "messages": messages + [{"role": "assistant", "content": response.text}],
        "source": source,
        "response_id": response.id,
        "response_model": response.model,
        "response_pasted": response.pasted,
        **base,
    }


def sft_rows(ctx: RowContext) -> list[dict]:
    """The best-ranked responses, and every rewrite (preferred over its original by the
    person who wrote it), each once per row set."""
    rows, seen = [], set()
    for judgements, annotator, weight, ranking, _ratings, _strength, flag in ctx.units():
        base = ctx.base(judgements, annotator, weight)
        if flag:  # "none acceptable": the best of them is no demonstration
            continue
        for rid in sorted(ranking[0]) if ranking else []:
            response = ctx.responses[rid]
            if (annotator, rid) in seen:
                continue
            seen.add((annotator, rid))
            origin = response.origin
            source = REWRITE if origin == REWRITE else "written" if origin in WRITTEN else "best"
            rows.append(_sft_row(ctx, response, source, base))
    for response in ctx.item.responses:
        if response.origin == REWRITE and all(rid != response.id for _a, rid in seen):
            seen.add((None, response.id))
            rows.append(_sft_row(ctx, response, REWRITE, ctx.base([], None, 1.0)))
    return rows


def _rubric_of(j: SourceJudgement, rid: int) -> str:
    scores = {dim: per.get(str(rid)) for dim, per in (j.rubric or {}).items()}
    return json.dumps({d: s for d, s in scores.items() if s is not None}, sort_keys=True)


def ratings_rows(ctx: RowContext) -> list[dict]:
    o, rows = ctx.options, []

    def row(response, rating, rubric, base):
        return {
            "prompt": ctx.prompt,
            "response": completion_value(response.text, o.style),
            "rating": float(rating),
            "scale": ctx.item.scale,
            "rubric": rubric,
            "response_id": response.id,
            "response_model": response.model,
            "response_pasted": response.pasted,
            **base,
        }

    if o.aggregation == "consensus":
        rated = [j for j in ctx.kept if j.ratings]
        means = _mean_ratings(rated)
        if means:
            base = ctx.base(rated, None, ctx.consensus_weight)
            for response in ctx.item.responses:
                if str(response.id) in means:
                    rows.append(row(response, means[str(response.id)], "{}", base))
        return rows
    for j in ctx.kept:
        if not j.ratings:
            continue
        base = ctx.base([j], j.user_id, j.weight)
        for response in ctx.item.responses:
            if str(response.id) in j.ratings:
                rubric = _rubric_of(j, response.id)
                rows.append(row(response, j.ratings[str(response.id)], rubric, base))
    return rows


def spans_rows(ctx: RowContext) -> list[dict]:
    """One row per annotation and response it tagged; spans are never aggregated."""
    rows = []
    for j in ctx.kept:
        if not (j.spans or j.labels):
            continue
        base = ctx.base([j], j.user_id, j.weight)
        for response in ctx.item.responses:
            spans = [s for s in j.spans if s["response"] == response.id]
            labels = sorted(x["label"] for x in j.labels if x["response"] == response.id)
            if not (spans or labels):
                continue
            rows.append(
                {
                    "prompt": ctx.prompt,
                    "response": response.text,
                    "spans": [
                        {k: s[k] for k in ("start", "end", "label", "note")}
                        for s in sorted(spans, key=lambda s: (s["start"], s["end"], s["label"]))
                    ],
                    "labels": labels,
                    "response_id": response.id,
                    "response_model": response.model,
                    **base,
                }
            )
    return rows


BUILDERS = {
    "pairwise": pairwise_rows,
    "listwise": listwise_rows,
    "sft": sft_rows,
    "ratings": ratings_rows,
    "spans": spans_rows,
}
