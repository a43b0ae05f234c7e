"""The loop page: the project's reward model and acquisition rule, its generators, and
its rounds (figures per round, generation progress, "start next round").

Managers and engineers see it; managers change the pre-ranking and acquisition
settings, engineers add generators, both start rounds.
"""

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from common import charts
from common.errors import ApplicationError
from projects.decorators import project_view
from projects.permissions import Capability, has_capability
from projects.services import project_update
from training.loop.forms import GeneratorForm, LoopSettingsForm, RoundStartForm
from training.loop.models import GenerationJob, ResponseScore
from training.loop.selectors import round_source_counts, round_stats
from training.loop.services.generation_run import generation_job_cancel
from training.loop.services.generators import generator_save
from training.loop.services.rounds import round_start


def _post_settings(request, project, form) -> bool:
    if not has_capability(request.user, project, Capability.MANAGE):
        form.add_error(None, "managers change pre-ranking and acquisition")
        return False
    if form.is_valid():
        try:
            project_update(project=project, **form.changed_settings())
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            return False
        return True
    return False


def _post_generator(request, project, form) -> bool:
    if not has_capability(request.user, project, Capability.ENGINEER):
        form.add_error(None, "engineers add generators")
        return False
    if form.is_valid():
        try:
            generator_save(project=project, **form.generator_fields())
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            return False
        return True
    return False


def _post_round(request, project, form) -> bool:
    if form.is_valid():
        try:
            round, _ = round_start(
                project=project, user=request.user,
                prompt_source=form.cleaned_data["prompt_source"],
                prompts=form.cleaned_data["prompts"],
                generator_ids=[g.pk for g in form.cleaned_data["generators"]],
                client_token=request.POST.get("client_token") or None,
            )  # fmt: skip
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            return False
        messages.success(request, f"Round {round.number} started: generating its responses.")
        return True
    return False


def _round_charts(rounds) -> dict:
    labelled = [r for r in reversed(rounds) if r.rm_accuracy is not None]
    arena = [r for r in reversed(rounds) if r.arena.win_rate is not None]
    return {
        "rm_chart": charts.line_chart(
            [charts.Series("reward-model accuracy", [(r.number, r.rm_accuracy) for r in labelled])],
            title="Reward-model accuracy on each round's fresh labels", y_min=0, y_max=1,
        ) if labelled else None,
        "arena_chart": charts.line_chart(
            [charts.Series("win rate", [(r.number, r.arena.win_rate) for r in arena])],
            title="Arena: the round's policy against its baseline (annotators' verdicts)",
            y_min=0, y_max=1,
        ) if arena else None,
    }  # fmt: skip


def _rounds_context(project) -> dict:
    """What the rounds table (``training/partials/rounds.html``) shows."""
    rounds = round_stats(project)
    return {
        "project": project,
        "rounds": rounds,
        "generating": any(r.job and not r.job.is_finished for r in rounds),
        **_round_charts(rounds),
    }


@project_view(Capability.EXPORT)
def loop(request, project):
    posted = request.POST if request.method == "POST" else None
    which = posted.get("form") if posted else None
    settings_form = LoopSettingsForm(posted if which == "settings" else None, instance=project)
    generator_form = GeneratorForm(posted if which == "generator" else None, project=project)
    # The rounds table polls every 2 s while a round generates: it shows no form to count for.
    partial = request.htmx and request.GET.get("part") == "rounds"
    round_form = RoundStartForm(
        posted if which == "round" else None,
        project=project,
        source_counts=None if partial else round_source_counts(project),
    )
    handler = {
        "settings": (_post_settings, settings_form),
        "generator": (_post_generator, generator_form),
        "round": (_post_round, round_form),
    }.get(which)
    if handler and handler[0](request, project, handler[1]):
        return redirect("loop", slug=project.slug)
    scored = (
        ResponseScore.objects.filter(artifact_id=project.reward_model_id).count()
        if project.reward_model_id
        else 0
    )
    context = {
        "project": project,
        "settings_form": settings_form,
        "generator_form": generator_form,
        "round_form": round_form,
        "generators": project.generators.select_related("policy").annotate(jobs_n=Count("jobs")),
        "scored": scored,
        "may_manage": has_capability(request.user, project, Capability.MANAGE),
        "may_engineer": has_capability(request.user, project, Capability.ENGINEER),
        **_rounds_context(project),
    }
    if partial:
        return render(request, "training/partials/rounds.html", context)
    return render(request, "training/loop.html", context)


@require_POST
@project_view(Capability.EXPORT)
def generation_job_cancel_view(request, project, job_id: int):
    job = get_object_or_404(GenerationJob, project=project, pk=job_id)
    try:
        generation_job_cancel(job=job)
    except ApplicationError as exc:  # it finished meanwhile: the table shows how
        if not request.htmx:
            messages.error(request, exc.message)
    if request.htmx:
        # The table as the cancel left it ("Cancelling…") at once, not at the next poll.
        return render(request, "training/partials/rounds.html", _rounds_context(project))
    return redirect("loop", slug=project.slug)
