"""Turn the ranking page's form into the payload the submit service validates.

The page posts either ``payload`` (JSON built by annotate.js) or the plain form
controls, so ranking still works with JavaScript off.
"""

import json

from common.errors import ApplicationError
from projects.models import Project, RankingMode


def judgement_payload_from_post(post, project: Project) -> dict:
    try:
        return _payload(post, project)
    except ValueError as exc:
        raise ApplicationError(f"the form holds a value that is not a number: {exc}") from exc


def _payload(post, project: Project) -> dict:
    if post.get("payload"):
        try:
            payload = json.loads(post["payload"])
        except json.JSONDecodeError as exc:
            raise ApplicationError(f"payload is not valid JSON: {exc.msg}") from exc
        if not isinstance(payload, dict):
            raise ApplicationError("payload must be a JSON object")
        return payload
    payload: dict = {
        "none_acceptable": post.get("none_acceptable") in {"on", "true", "1"},
        "unsure": post.get("unsure") in {"on", "true", "1"},
        "rationale": post.get("rationale", ""),
    }
    rubric: dict = {}
    for key, value in post.items():
        if key.startswith("rubric-") and value:
            _, dimension, response = key.split("-", 2)
            rubric.setdefault(dimension, {})[response] = int(value)
    if rubric:
        payload["rubric"] = rubric
    if project.ranking_mode == RankingMode.RANK:
        ranks: dict[int, list[int]] = {}
        for key, value in post.items():
            if key.startswith("rank-") and value:
                ranks.setdefault(int(value), []).append(int(key.removeprefix("rank-")))
        payload["ranking"] = [sorted(ranks[rank]) for rank in sorted(ranks)]
    elif project.ranking_mode == RankingMode.PAIRWISE:
        if post.get("choice"):
            payload["choice"] = post["choice"] if post["choice"] == "tie" else int(post["choice"])
        if post.get("strength"):
            payload["strength"] = int(post["strength"])
    else:
        payload["ratings"] = {
            key.removeprefix("score-"): int(value)
            for key, value in post.items()
            if key.startswith("score-") and value
        }
    return payload
