"""Written prompts whose responses come from a model: the project's generators answer them.

Writing (``annotation.authoring``, a layer below) stores such a prompt as waiting for
generated responses and sends ``training.written_prompts_generate`` by name. Here the
prompt is answered as a generation job over it, so its progress, cancel and failure
reasons are a job's like any round's, and its item appears only with all K responses.

A project without an active generator leaves its prompts waiting, each saying why and
what to do (``NO_GENERATOR``); saving an active generator sends the same task, which
answers every prompt that waited.
"""

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet

from annotation.models import Item, Prompt, PromptStatus
from projects.models import Project, ResponseSource
from training.loop.models import GenerationJob
from training.loop.services.generation_run import generation_job_create
from training.loop.services.rounds import current_round, prompts_in_flight

ANSWERING = "Generation job {job} of the project's generators is answering it."
NO_GENERATOR = (
    "No generator yet: the project's generators answer written prompts, and an engineer "
    "adds one under Generators on the loop page."
)


def written_prompts_waiting(project: Project) -> QuerySet[Prompt]:
    """The project's written prompts that wait for generated responses (no item yet)."""
    has_item = Item.objects.filter(prompt=OuterRef("pk"))
    return Prompt.objects.filter(
        project=project, source="written", status=PromptStatus.NEEDS_GENERATION
    ).exclude(Exists(has_item))


def written_prompts_generate(
    *, project_id: int, prompt_ids: list[int] | None = None
) -> GenerationJob | None:
    """Answer waiting written prompts (those of ``prompt_ids``, else all the project's)
    with the project's active generators, as one generation job.

    Returns the job, or None when nothing waits that no unfinished job already answers,
    or when the project has no active generator (the prompts then say so). A second
    delivery of the same task finds the first one's job and adds none.
    """
    project = Project.objects.get(pk=project_id)
    if prompt_ids is None and project.response_source != ResponseSource.MODEL:
        return None  # the source changed since: rounds decide for these prompts now
    with transaction.atomic():
        waiting = written_prompts_waiting(project).select_for_update().order_by("id")
        if prompt_ids is not None:
            waiting = waiting.filter(pk__in=prompt_ids)
        # Locked, so a concurrent delivery waits here and then sees this one's job.
        ids = list(waiting.values_list("pk", flat=True))
        busy = prompts_in_flight(project)
        ids = [pk for pk in ids if pk not in busy]
        if not ids:
            return None
        generators = list(project.generators.filter(active=True).order_by("id"))
        if not generators:
            Prompt.objects.filter(pk__in=ids).update(status_reason=NO_GENERATOR)
            return None
        author = Prompt.objects.get(pk=ids[0]).author if len(ids) == 1 else None
        job = generation_job_create(
            project=project, user=author, prompt_ids=ids, generators=generators,
            item_round=current_round(project),
        )  # fmt: skip
        # Until its item appears (which clears it) or the job records a failure for it.
        Prompt.objects.filter(pk__in=ids).update(status_reason=ANSWERING.format(job=job.pk))
        return job
