"""The loop page: the project's reward model and acquisition rule, its generators, and
its rounds (figures per round, generation progress, "start next round").

Managers and engineers see it; managers change the pre-ranking and acquisition
settings, engineers add generators, both start rounds.
"""

import copy

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from common.errors import ApplicationError
from projects.decorators import project_view
from projects.permissions import Capability, has_capability
from projects.services import project_update
from training.loop.forms import (
    GeneratorForm,
    LoopSettingsForm,
    RoundStartForm,
    add_service_error,
)
from training.loop.selectors import (
    generation_job_get,
    loop_page,
    round_source_counts,
    rounds_table,
)
from training.loop.services.generation_run import generation_job_cancel
from training.loop.services.generators import generator_save
from training.loop.services.rounds import round_start


def _loop_render(request, project, *, status: int = 200, **bound):
    """The loop page; a refused form comes back bound, with its errors."""
    # The rounds table polls every 2 s while a round generates: it shows no form to count for.
    if request.htmx and request.GET.get("part") == "rounds":
        context = {"project": project, **rounds_table(project)}
        return render(request, "training/partials/rounds.html", context)
    blank = {
        "settings_form": lambda: LoopSettingsForm(instance=project),
        "generator_form": lambda: GeneratorForm(project=project),
        "round_form": lambda: RoundStartForm(
            project=project, source_counts=round_source_counts(project)
        ),
    }
    context = {
        "project": project,
        **{key: bound.get(key) or make() for key, make in blank.items()},
        **loop_page(project),
        "may_manage": has_capability(request.user, project, Capability.MANAGE),
        "may_engineer": has_capability(request.user, project, Capability.ENGINEER),
    }
    return render(request, "training/loop.html", context, status=status)


@project_view(Capability.EXPORT)
def loop(request, project):
    return _loop_render(request, project)


def _saved(form, save) -> bool:
    """Run ``save`` on a valid form; a refusal goes on the form, at the field it names."""
    if not form.is_valid():
        return False
    try:
        save(form)
    except ApplicationError as exc:
        add_service_error(form, exc)
        return False
    return True


@require_POST
@project_view(Capability.MANAGE)
def loop_settings_save(request, project):
    # Its own copy: validating fills the instance, and the page shows the saved project.
    form = LoopSettingsForm(request.POST, instance=copy.copy(project))
    if _saved(form, lambda f: project_update(project=project, **f.changed_settings())):
        return redirect("loop", slug=project.slug)
    return _loop_render(request, project, settings_form=form)


@require_POST
@project_view(Capability.ENGINEER)
def generator_add(request, project):
    form = GeneratorForm(request.POST, project=project)
    if _saved(form, lambda f: generator_save(project=project, **f.generator_fields())):
        return redirect("loop", slug=project.slug)
    return _loop_render(request, project, generator_form=form)


@require_POST
@project_view(Capability.EXPORT)
def round_start_view(request, project):
    form = RoundStartForm(request.POST, project=project, source_counts=round_source_counts(project))

    def start(f) -> None:
        round, _ = round_start(
            project=project, user=request.user,
            prompt_source=f.cleaned_data["prompt_source"], prompts=f.cleaned_data["prompts"],
            generator_ids=[g.pk for g in f.cleaned_data["generators"]],
            client_token=request.POST.get("client_token") or None,
        )  # fmt: skip
        messages.success(request, f"Round {round.number} started: generating its responses.")

    if _saved(form, start):
        return redirect("loop", slug=project.slug)
    return _loop_render(request, project, round_form=form)


@require_POST
@project_view(Capability.EXPORT)
def generation_job_cancel_view(request, project, job_id: int):
    job = generation_job_get(project=project, job_id=job_id)
    try:
        generation_job_cancel(job=job)
    except ApplicationError as exc:  # it finished meanwhile: the table shows how
        if not request.htmx:
            messages.error(request, exc.message)
    if request.htmx:
        # The table as the cancel left it ("Cancelling…") at once, not at the next poll.
        context = {"project": project, **rounds_table(project)}
        return render(request, "training/partials/rounds.html", context)
    return redirect("loop", slug=project.slug)
