"""Validate a submitted judgement against its item and normalise it to ranking tiers.

Every mode ends as tiers of response ids, best first (a tier of two is a tie), so
agreement, consensus and exports read one shape whatever the project's mode.
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from common.errors import ApplicationError
from common.text_rules import unstorable_character
from projects.models import Project, RankingMode, RationaleMode

MAX_RATIONALE_CHARS = 10_000


@dataclass(frozen=True)
class Dimension:
    """A rubric dimension as validation needs it."""

    id: int
    name: str
    scale: int


@dataclass(frozen=True)
class Judgement:
    ranking: list[list[int]]
    ratings: dict[str, int] = field(default_factory=dict)
    rubric_scores: dict[str, dict[str, int]] = field(default_factory=dict)
    strength: int | None = None
    none_acceptable: bool = False
    rationale: str = ""


def project_dimensions(project: Project) -> list[Dimension]:
    """The project's rubric dimensions as validation needs them."""
    return [
        Dimension(id=pk, name=name, scale=scale)
        for pk, name, scale in project.rating_dimensions.values_list("id", "name", "scale")
    ]


def _invalid(field_name: str, message: str) -> ApplicationError:
    return ApplicationError(f"{field_name}: {message}", extra={"field": field_name})


def _as_id(value: Any, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _invalid(field_name, f"response ids are integers, got {value!r}")
    try:
        return int(value)
    except ValueError as exc:
        raise _invalid(field_name, f"response ids are integers, got {value!r}") from exc


def tiers_check(raw: Any, response_ids: list[int], *, ties_allowed: bool) -> list[list[int]]:
    if not isinstance(raw, list) or not raw:
        raise _invalid("ranking", "must be a non-empty list of tiers, best first")
    tiers: list[list[int]] = []
    for index, tier in enumerate(raw):
        members = tier if isinstance(tier, list) else [tier]
        if not members:
            raise _invalid(f"ranking[{index}]", "a tier must not be empty")
        tiers.append([_as_id(value, f"ranking[{index}]") for value in members])
    flat = [rid for tier in tiers for rid in tier]
    if len(flat) > 2 * len(response_ids):
        raise _invalid("ranking", f"ranks {len(flat)} ids; this item has {len(response_ids)}")
    duplicates = sorted(rid for rid, n in Counter(flat).items() if n > 1)
    if duplicates:
        raise _invalid("ranking", f"responses ranked more than once: {duplicates}")
    unknown = sorted(set(flat) - set(response_ids))
    if unknown:
        raise _invalid("ranking", f"responses not in this item: {unknown}")
    missing = sorted(set(response_ids) - set(flat))
    if missing:
        raise _invalid("ranking", f"incomplete ranking; unranked responses: {missing}")
    if not ties_allowed and any(len(tier) > 1 for tier in tiers):
        raise _invalid("ranking", "this project does not allow ties")
    return tiers


def _pairwise(payload: dict, project: Project, response_ids: list[int]) -> tuple[list, int | None]:
    if "ranking" in payload:
        tiers = tiers_check(payload["ranking"], response_ids, ties_allowed=project.ties_allowed)
    elif "choice" in payload:
        choice = payload["choice"]
        if choice == "tie":
            if not project.ties_allowed:
                raise _invalid("choice", "this project does not allow ties")
            tiers = [sorted(response_ids)]
        else:
            preferred = _as_id(choice, "choice")
            if preferred not in response_ids:
                raise _invalid("choice", f"response {preferred} is not in this item")
            tiers = [[preferred], [rid for rid in response_ids if rid != preferred]]
    else:
        raise _invalid("choice", 'give the preferred response id or "tie" (or a ranking)')
    strength = payload.get("strength")
    is_tie = len(tiers) == 1
    if strength is not None:
        if isinstance(strength, bool) or not isinstance(strength, int) or not 1 <= strength <= 3:
            raise _invalid("strength", "must be 1 (slightly), 2 (clearly) or 3 (much better)")
        if is_tie:
            raise _invalid("strength", "a tie has no strength")
    elif project.pairwise_strength and not is_tie:
        raise _invalid("strength", "this project asks how much better: 1, 2 or 3")
    return tiers, strength


def _ratings(payload: dict, project: Project, response_ids: list[int]) -> tuple[list, dict]:
    raw = payload.get("ratings")
    if not isinstance(raw, dict) or not raw:
        raise _invalid("ratings", "must be an object {response id: score}")
    ratings: dict[str, int] = {}
    for key, score in raw.items():
        rid = _as_id(key, "ratings")
        if rid not in response_ids:
            raise _invalid("ratings", f"response {rid} is not in this item")
        if (
            isinstance(score, bool)
            or not isinstance(score, int)
            or not 1 <= score <= project.rating_scale
        ):
            raise _invalid(f"ratings.{rid}", f"must be an integer from 1 to {project.rating_scale}")
        ratings[str(rid)] = score
    missing = sorted(set(response_ids) - {int(k) for k in ratings})
    if missing:
        raise _invalid("ratings", f"every response needs a score; missing: {missing}")
    by_score: dict[int, list[int]] = {}
    for rid, score in ratings.items():
        by_score.setdefault(score, []).append(int(rid))
    tiers = [sorted(by_score[score]) for score in sorted(by_score, reverse=True)]
    return tiers, ratings


def _rubric(payload: dict, dimensions: list[Dimension], response_ids: list[int]) -> dict:
    """Every dimension scores every response, each on its own scale."""
    raw = payload.get("rubric")
    if not dimensions:
        # Scores for dimensions this project lacks (another project's, or deleted since
        # the page loaded) are refused, not dropped: the annotator believes them stored.
        if raw:
            named = sorted(map(str, raw)) if isinstance(raw, dict) else raw
            raise _invalid("rubric", f"this project has no rubric; dimensions not in it: {named}")
        return {}
    if not isinstance(raw, dict):
        names = ", ".join(d.name for d in dimensions)
        raise _invalid("rubric", f"score every response on: {names}")
    by_id = {str(d.id): d for d in dimensions}
    unknown = sorted(set(map(str, raw)) - set(by_id))
    if unknown:
        raise _invalid("rubric", f"dimensions not in this project: {unknown}")
    scores: dict[str, dict[str, int]] = {}
    for key, dimension in by_id.items():
        given = raw.get(key, raw.get(dimension.id))
        if not isinstance(given, dict):
            raise _invalid(f"rubric.{key}", f"score every response on '{dimension.name}'")
        row = {}
        for rid_key, score in given.items():
            rid = _as_id(rid_key, f"rubric.{key}")
            if rid not in response_ids:
                raise _invalid(f"rubric.{key}", f"response {rid} is not in this item")
            if (
                isinstance(score, bool)
                or not isinstance(score, int)
                or not 1 <= score <= dimension.scale
            ):
                raise _invalid(
                    f"rubric.{key}.{rid}", f"'{dimension.name}' is scored 1 to {dimension.scale}"
                )
            row[str(rid)] = score
        missing = sorted(set(response_ids) - {int(r) for r in row})
        if missing:
            raise _invalid(
                f"rubric.{key}", f"'{dimension.name}' is missing for responses {missing}"
            )
        scores[key] = row
    return scores


def judgement_validate(
    *,
    project: Project,
    response_ids: list[int],
    payload: dict,
    dimensions: list[Dimension] | None = None,
) -> Judgement:
    """Check a submission for the project's mode; raise ApplicationError naming the bad field."""
    ratings: dict[str, int] = {}
    strength = None
    if project.ranking_mode == RankingMode.RANK:
        tiers = tiers_check(payload.get("ranking"), response_ids, ties_allowed=project.ties_allowed)
    elif project.ranking_mode == RankingMode.PAIRWISE:
        tiers, strength = _pairwise(payload, project, response_ids)
    else:
        tiers, ratings = _ratings(payload, project, response_ids)
    none_acceptable = payload.get("none_acceptable", False)
    if not isinstance(none_acceptable, bool):
        raise _invalid("none_acceptable", "must be true or false")
    rationale = payload.get("rationale") or ""
    if not isinstance(rationale, str):
        raise _invalid("rationale", "must be a string")
    rationale = rationale.strip()
    if bad := unstorable_character(rationale):
        raise _invalid("rationale", f"must not contain {bad}")
    if project.rationale == RationaleMode.REQUIRED and not rationale:
        raise _invalid("rationale", "this project requires a rationale")
    if project.rationale == RationaleMode.OFF:
        rationale = ""
    if len(rationale) > MAX_RATIONALE_CHARS:
        raise _invalid("rationale", f"at most {MAX_RATIONALE_CHARS:,} characters")
    rubric_scores = _rubric(payload, dimensions or [], response_ids)
    return Judgement(
        ranking=tiers,
        ratings=ratings,
        rubric_scores=rubric_scores,
        strength=strength,
        none_acceptable=none_acceptable,
        rationale=rationale,
    )
