"""Annotators write prompts: validation, duplicate detection, paste flags, and what follows.

What follows depends on the project's response source: the writer also writes and orders
the responses (stored as their ranking), other annotators write them in the response queue,
or the project's generators (the model in the loop) answer it: the prompt waits for
generated responses and ``training.written_prompts_generate`` is sent by name.
"""

import hashlib
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from annotation import dedup
from annotation.models import (
    Annotation,
    AnnotationKind,
    Assignment,
    AssignmentState,
    Prompt,
    PromptBand,
    PromptStatus,
    Response,
    ResponseOrigin,
)
from annotation.services.claiming import work_allowed_check
from annotation.services.instrumentation import writing_stats_clean
from annotation.services.items_build import item_create_for_prompt
from annotation.services.judgements import tiers_check
from annotation.services.submission import MAX_TIME_SPENT_MS, guideline_read_by
from annotation.services.texts import text_clean
from common.errors import ApplicationError, ConflictError
from common.idempotency import create_once
from common.queueing import task_send_on_commit
from common.tokens import client_token_checked
from projects.models import Project, RankingMode, ResponseSource

MAX_TURNS = 20
ROLES = ("user", "assistant")


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(f"{field}: {message}", extra={"field": field})


def messages_clean(raw) -> list[dict]:
    """A conversation of alternating user/assistant turns that starts and ends with the user."""
    if not isinstance(raw, list) or not raw:
        raise _invalid("messages", "must be a non-empty list of {role, content} turns")
    if len(raw) > MAX_TURNS:
        raise _invalid("messages", f"at most {MAX_TURNS} turns")
    messages = []
    for index, turn in enumerate(raw):
        field = f"messages[{index}]"
        if not isinstance(turn, dict):
            raise _invalid(field, "must be an object with role and content")
        expected = ROLES[index % 2]
        if turn.get("role") != expected:
            raise _invalid(
                f"{field}.role", f"must be '{expected}': turns alternate, starting with the user"
            )
        messages.append({"role": expected, "content": text_clean(turn.get("content"), field)})
    if messages[-1]["role"] != "user":
        raise _invalid("messages", "the last turn must be the user's: responses answer it")
    return messages


@dataclass(frozen=True)
class DuplicateMatch:
    prompt_id: int
    similarity: float
    exact: bool
    text: str  # the matched prompt's last user turn, for the writer to compare


def prompt_duplicates_find(*, project: Project, messages: list[dict]) -> list[DuplicateMatch]:
    """Prompts of the project that repeat ``messages`` exactly or nearly, most similar first.

    Exact repeats come from the indexed ``dedup_key`` (every prompt, imported ones too);
    near repeats from shared LSH band keys (prompts written on this platform).
    """
    key = dedup.exact_key(messages)
    bands = dedup.lsh_bands(dedup.signature(messages))
    exact_ids = set(
        Prompt.objects.filter(project=project, dedup_key=key).values_list("id", flat=True)[:20]
    )
    near_ids = set(
        PromptBand.objects.filter(project=project, key__in=bands)
        .values_list("prompt_id", flat=True)
        .distinct()[:200]
    )
    candidates = Prompt.objects.filter(pk__in=exact_ids | near_ids).values_list("id", "messages")
    found = dedup.find_duplicates(messages, list(candidates))
    texts = dict(candidates)
    return [
        DuplicateMatch(
            prompt_id=match.prompt_id,
            similarity=round(match.similarity, 3),
            exact=match.exact,
            text=_last_user_turn(texts[match.prompt_id]),
        )
        for match in found[:5]
    ]


def _last_user_turn(messages: list[dict]) -> str:
    return next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")


def _repeat_message(project: Project, user, prompt_id: int) -> str:
    """Why an exact repeat is refused and what to do, in words that name no one else's
    prompt: writers do not see each other's prompts."""
    if Prompt.objects.filter(pk=prompt_id, project=project, author=user).exists():
        return (
            f"You already wrote this prompt (prompt {prompt_id}). Change it so that it asks "
            "something new; your earlier prompt is kept as it is."
        )
    return (
        f"This prompt is already in the project (prompt {prompt_id}; case, spacing and "
        "punctuation aside). Change it so that it asks something new: a repeat adds nothing "
        "to the data."
    )


def _check_duplicates(project: Project, user, messages: list[dict], allow_near: bool) -> list:
    matches = prompt_duplicates_find(project=project, messages=messages)
    described = [
        {"prompt_id": m.prompt_id, "similarity": m.similarity, "exact": m.exact, "text": m.text}
        for m in matches
    ]
    if any(m.exact for m in matches):
        raise ConflictError(
            _repeat_message(project, user, matches[0].prompt_id),
            extra={"field": "messages", "duplicates": described},
        )
    if matches and not allow_near:
        raise ConflictError(
            f"This prompt is {matches[0].similarity:.0%} similar to prompt "
            f"{matches[0].prompt_id} of the project. Change it, or confirm that it asks "
            "something different and save it anyway.",
            extra={"field": "messages", "duplicates": described},
        )
    return described


def _category(project: Project, value) -> str:
    if not project.prompt_categories:
        return ""
    if value not in project.prompt_categories:
        raise _invalid("category", f"must be one of {', '.join(project.prompt_categories)}")
    return value


def _external_id(user, client_token: str | None) -> str | None:
    """A written prompt's external_id: a retried save finds the prompt it already made."""
    if not client_token:
        return None
    digest = hashlib.sha256(client_token.encode()).hexdigest()[:32]
    return f"written:{user.pk}:{digest}"


@dataclass(frozen=True)
class WrittenPrompt:
    prompt: Prompt
    created: bool  # False when a retried request found the prompt it had already saved


@transaction.atomic
def prompt_write(
    *,
    project: Project,
    user,
    messages,
    category: str = "",
    writing=None,
    responses=None,
    ranking=None,
    allow_near_duplicate: bool = False,
    client_token: str | None = None,
    time_spent_ms: int = 0,
) -> WrittenPrompt:
    """Save a written prompt, refusing exact repeats and (unless allowed) near repeats.

    Args:
        messages: ``[{"role", "content"}, ...]``, user first, alternating, user last.
        category: one of the project's categories (required when it defines some).
        writing: per-field figures from the page, keyed ``messages[i]`` (instrumentation).
        responses: writer projects only: ``[{"text", "writing"?}, ...]``, exactly K.
        ranking: writer projects only: tiers of indices into ``responses``, best first;
            by default the order the responses were written in.
        allow_near_duplicate: save although a near repeat exists (it is recorded).
        client_token: makes a retried save return the prompt it already made.
    """
    if not project.prompt_writing:
        raise ConflictError("this project does not take written prompts")
    work_allowed_check(project=project, user=user)
    client_token = client_token_checked(client_token)  # refused before the lock below
    # Serialise writes per project: two people saving the same text at the same moment
    # must not both pass the duplicate check, and a retry looks its token up only after
    # its first try committed (else that try's prompt would read as a repeat).
    Project.objects.select_for_update().filter(pk=project.pk).values_list("pk").first()
    prompt, created = create_once(
        Prompt,
        client_token=client_token,
        owner={"project": project},
        stored_as=lambda token: {"external_id": _external_id(user, token)},
        create=lambda token: _prompt_create(
            project=project, user=user, external_id=_external_id(user, token),
            messages=messages, category=category, writing=writing, responses=responses,
            ranking=ranking, allow_near_duplicate=allow_near_duplicate,
            time_spent_ms=time_spent_ms,
        ),
    )  # fmt: skip
    return WrittenPrompt(prompt, created=created)


def _prompt_create(
    *,
    project: Project,
    user,
    external_id: str | None,
    messages,
    category,
    writing,
    responses,
    ranking,
    allow_near_duplicate: bool,
    time_spent_ms: int,
) -> Prompt:
    """Check and store the prompt, then hand it to whoever writes its responses."""
    messages = messages_clean(messages)
    category = _category(project, category)
    texts = {f"messages[{index}]": turn["content"] for index, turn in enumerate(messages)}
    stats, pasted = writing_stats_clean(writing, texts=texts)
    near = _check_duplicates(project, user, messages, allow_near_duplicate)
    if project.response_source != ResponseSource.WRITER and responses:
        raise _invalid("responses", "in this project other people or a model write the responses")
    prompt = Prompt.objects.create(
        project=project,
        external_id=external_id,
        messages=messages,
        author=user,
        source="written",
        category=category,
        dedup_key=dedup.exact_key(messages),
        writing=stats,
        mostly_pasted=pasted,
        metadata={"near_duplicates": near} if near else {},
    )
    PromptBand.objects.bulk_create(
        PromptBand(project=project, prompt=prompt, key=key)
        for key in dedup.lsh_bands(dedup.signature(messages))
    )
    if project.response_source == ResponseSource.WRITER:
        _writer_responses(prompt, user, responses, ranking, time_spent_ms)
    elif project.response_source == ResponseSource.QUEUE:
        prompt.status = PromptStatus.NEEDS_RESPONSES
        prompt.open_write_slots = project.responses_per_item
        prompt.save(update_fields=["status", "open_write_slots"])
    else:
        _await_generation(prompt)
    return prompt


def _await_generation(prompt: Prompt) -> None:
    """The loop's generators answer it (a layer above, so by task name); until they do,
    the prompt reads "Waiting for generated responses", with the reason once known."""
    prompt.status = PromptStatus.NEEDS_GENERATION
    prompt.save(update_fields=["status"])
    task_send_on_commit("training.written_prompts_generate", prompt.project_id, [prompt.pk])


def _writer_responses(prompt: Prompt, user, raw, ranking, time_spent_ms: int) -> None:
    """The writer's K responses and their order, stored as the writer's annotation."""
    project = prompt.project
    k = project.responses_per_item
    if not isinstance(raw, list) or len(raw) != k:
        raise _invalid("responses", f"write exactly {k} responses to this prompt")
    entries = [_written_response(entry, f"responses[{i}]") for i, entry in enumerate(raw)]
    keys = [dedup.exact_key([{"role": "assistant", "content": text}]) for text, _, _ in entries]
    if len(set(keys)) < len(keys):
        raise _invalid("responses", "two of the responses say the same thing")
    tiers = tiers_check(
        ranking if ranking is not None else [[index] for index in range(k)],
        list(range(k)),
        ties_allowed=project.ties_allowed,
    )
    rows = [
        Response(
            prompt=prompt, text=text, author=user, origin=ResponseOrigin.WRITER,
            writing=stats, mostly_pasted=pasted,
        )
        for text, stats, pasted in entries
    ]  # fmt: skip
    # Created in a random order so ids do not reveal the writer's ranking either.
    creation = list(rows)
    random.SystemRandom().shuffle(creation)
    Response.objects.bulk_create(creation)
    item = item_create_for_prompt(prompt=prompt, responses=rows, judged_already=1)
    _writer_annotation(item, user, rows, tiers, time_spent_ms)


def _written_response(entry, field: str) -> tuple[str, dict, bool]:
    if isinstance(entry, str):
        entry = {"text": entry}
    if not isinstance(entry, dict):
        raise _invalid(field, "must be an object with text (and optional writing figures)")
    text = text_clean(entry.get("text"), f"{field}.text")
    stats, pasted = writing_stats_clean(
        entry.get("writing"), texts={"text": text}, field=f"{field}.writing"
    )
    return text, stats, pasted


def _writer_annotation(item, user, rows: list[Response], tiers, time_spent_ms: int) -> None:

    now = timezone.now()
    written_order = [response.pk for response in rows]
    assignment = Assignment.objects.create(
        item=item, user=user, project=item.project, state=AssignmentState.SUBMITTED,
        claimed_at=now, lease_expires_at=now, finished_at=now, display_order=written_order,
    )  # fmt: skip
    Annotation.objects.create(
        assignment=assignment,
        item=item,
        user=user,
        project=item.project,
        mode=RankingMode.RANK,
        kind=AnnotationKind.WRITER_ORDER,
        ranking=[[rows[index].pk for index in tier] for tier in tiers],
        time_spent_ms=min(max(int(time_spent_ms or 0), 0), MAX_TIME_SPENT_MS),
        guideline=guideline_read_by(user=user, project=item.project),
        display_order=written_order,
    )


def prompt_write_progress(*, project: Project, user) -> dict:
    """How many prompts the user wrote here, against the project's target (0: none)."""
    written = Prompt.objects.filter(project=project, author=user, source="written").count()
    return {"written": written, "target": project.prompt_target}
