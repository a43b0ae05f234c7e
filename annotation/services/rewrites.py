"""Improve a response: an annotator's rewrite, linked to the original and preferred over it.

A rewrite is sent with a judgement (``"rewrites": [{"response", "text", "writing"?}]``)
and stored as a new Response of origin ``rewrite`` whose ``rewrite_of`` is the original.
Exports read that link as a preference (rewrite over original) and the rewrite as a
demonstration for supervised fine-tuning.
"""

from dataclasses import dataclass

from annotation import dedup
from annotation.models import Response, ResponseOrigin
from annotation.services.instrumentation import writing_stats_clean
from annotation.services.texts import text_clean
from common.errors import ApplicationError

MAX_REWRITES = 9


@dataclass(frozen=True)
class ValidRewrite:
    response_id: int
    prompt_id: int
    text: str
    writing: dict
    mostly_pasted: bool


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(f"{field}: {message}", extra={"field": field})


def rewrites_validate(raw, *, response_ids: list[int]) -> list[ValidRewrite]:
    """Check ``[{"response", "text", "writing"?}, ...]``: one rewrite per response at most."""
    if not raw:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_REWRITES:
        raise _invalid("rewrites", f"must be a list of at most {MAX_REWRITES} rewrites")
    originals = {
        pk: (text, prompt_id)
        for pk, text, prompt_id in Response.objects.filter(pk__in=response_ids).values_list(
            "id", "text", "prompt_id"
        )
    }
    rewrites: list[ValidRewrite] = []
    for index, entry in enumerate(raw):
        field = f"rewrites[{index}]"
        if not isinstance(entry, dict):
            raise _invalid(field, "must be an object with response and text")
        response_id = entry.get("response")
        if (
            not isinstance(response_id, int)
            or isinstance(response_id, bool)
            or (response_id not in originals)
        ):
            raise _invalid(f"{field}.response", f"response {response_id!r} is not in this item")
        if any(r.response_id == response_id for r in rewrites):
            raise _invalid(f"{field}.response", "one rewrite per response")
        text = text_clean(entry.get("text"), f"{field}.text")
        if dedup.normalize([{"role": "a", "content": text}]) == dedup.normalize(
            [{"role": "a", "content": originals[response_id][0]}]
        ):
            raise _invalid(f"{field}.text", "the rewrite does not change the response")
        stats, pasted = writing_stats_clean(
            entry.get("writing"), texts={"text": text}, field=f"{field}.writing"
        )
        rewrites.append(ValidRewrite(response_id, originals[response_id][1], text, stats, pasted))
    return rewrites


def rewrites_store(annotation, rewrites: list[ValidRewrite]) -> None:
    """Store the rewrites made in ``annotation``; earlier rewrites are kept, never replaced."""
    Response.objects.bulk_create(
        Response(
            prompt_id=r.prompt_id, text=r.text, author_id=annotation.user_id,
            origin=ResponseOrigin.REWRITE, rewrite_of_id=r.response_id, annotation=annotation,
            writing=r.writing, mostly_pasted=r.mostly_pasted,
            metadata={"revision": annotation.revision},
        )
        for r in rewrites
    )  # fmt: skip
