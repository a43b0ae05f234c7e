"""Read the authoring pages' form posts into the payloads the services take.

The pages post plain forms (they work without JavaScript); the page script adds the
writing figures and the order of the writer's responses as hidden JSON fields.
"""

import copy
import json

from annotation.forms import judgement_payload_from_post
from annotation.models import AnnotationKind
from common.errors import ApplicationError
from common.numbers import plain_int
from projects.models import RankingMode


def _json_field(post, name: str, default):
    raw = post.get(name, "").strip()
    if not raw:
        return default
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApplicationError(f"{name}: not valid JSON", extra={"field": name}) from exc


def _writing(post) -> dict:
    writing = _json_field(post, "writing", {})
    if not isinstance(writing, dict):
        raise ApplicationError("writing: must be a JSON object", extra={"field": "writing"})
    return writing


def _field(writing: dict, name: str) -> dict | None:
    """One field's figures, keyed by "text" as the services expect for a single text."""
    figures = writing.get(name) if isinstance(writing, dict) else None
    return {"text": figures} if figures else None


def _int(post, name: str) -> int:
    return plain_int(post.get(name, "")) or 0


def prompt_payload_from_post(post) -> dict:
    """``turn`` fields alternate user/assistant; ``response`` fields are the writer's answers."""
    turns = post.getlist("turn")
    messages = [
        {"role": "user" if index % 2 == 0 else "assistant", "content": text}
        for index, text in enumerate(turns)
    ]
    writing = _writing(post)
    payload = {
        "messages": messages,
        "category": post.get("category", ""),
        "writing": {k: v for k, v in writing.items() if k.startswith("messages[")} or None,
        "allow_near_duplicate": post.get("allow_near_duplicate") == "on",
        "client_token": post.get("client_token") or None,
        "time_spent_ms": _int(post, "time_spent_ms"),
    }
    answers = post.getlist("response")
    if answers:
        payload["responses"] = [
            {"text": text, "writing": _field(writing, f"responses[{index}]")}
            for index, text in enumerate(answers)
        ]
        order = _json_field(post, "order", None)
        if order is not None:
            if not isinstance(order, list):
                raise ApplicationError("order: must be a list of response positions",
                                       extra={"field": "order"})  # fmt: skip
            payload["ranking"] = [[index] for index in order]
    return payload


def response_payload_from_post(post) -> dict:
    writing = _writing(post)
    return {
        "text": post.get("text", ""),
        "writing": _field(writing, "text"),
        "client_token": post.get("client_token") or None,
    }


def revision_payload_from_post(post, annotation) -> dict:
    """The revise form: ranks / scores / choice per response, rationale; tags carried over."""

    project = copy.copy(annotation.project)
    if annotation.kind == AnnotationKind.WRITER_ORDER:
        project.ranking_mode = RankingMode.RANK  # a writer's order is a ranking in any mode
    payload = judgement_payload_from_post(post, project)
    payload["time_spent_ms"] = _int(post, "time_spent_ms")
    payload["spans"] = [
        {"response": s.response_id, "label": s.label_id, "start": s.start, "end": s.end,
         "note": s.note}
        for s in annotation.spans.all()
    ]  # fmt: skip
    payload["labels"] = [
        {"response": r.response_id, "label": r.label_id} for r in annotation.response_labels.all()
    ]
    return payload
