"""Training run pages: the list with the kind picker, one launch page per kind of run
(its form generated from the kind's config, presets by ``?preset=``), one run live
(progress with ETA, curves and log tail refreshed through htmx, evaluation plots once
done), and runs side by side. Managers and engineers see them; engineers launch and
stop them."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from common.errors import ApplicationError
from common.numbers import plain_int
from projects.decorators import project_view
from projects.permissions import Capability, has_capability
from training.runs.forms import POLICY_KINDS, EvaluationForm, PolicyRunForm, RunForm, launch_form
from training.runs.models import RunKind
from training.runs.presets import preset_values
from training.runs.selectors import (
    launch_choices,
    launch_page,
    run_compare_page,
    run_get,
    run_list_page,
    run_page,
)
from training.runs.services.runs import run_cancel, run_create, run_relaunch


@project_view(Capability.EXPORT)
def run_list(request, project):
    context = {
        "project": project,
        **run_list_page(project),
        "choices": launch_choices(),
        "may_launch": has_capability(request.user, project, Capability.ENGINEER),
    }
    return render(request, "training/run_list.html", context)


def _launch_render(request, project, kind: str, form, *, status: int = 200):
    """A kind's launch page; a refused form comes back bound, with its errors."""
    context = {
        "project": project,
        "form": form,
        **launch_page(project, kind, request.GET.get("preset")),
    }
    return render(request, "training/run_new.html", context, status=status)


def _launch(request, project, form, kind: str):
    """Launch the run the posted form describes, then show it."""
    status = 200
    if form.is_valid():
        try:
            run, _ = run_create(
                project=project,
                user=request.user,
                client_token=request.POST.get("client_token") or None,
                **form.run_arguments(),
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            status = exc.status_code if exc.status_code >= 500 else 200  # no worker, no broker
        else:
            return redirect("run-detail", slug=project.slug, run_id=run.pk)
    return _launch_render(request, project, kind, form, status=status)


@project_view(Capability.ENGINEER)
def run_new(request, project, kind: str):
    """One kind's launch page (``?preset=quick`` fills it) and its launch."""
    if request.method == "POST":
        return _launch(request, project, launch_form(kind, request.POST, project=project), kind)
    initial = preset_values(kind, request.GET.get("preset"))
    return _launch_render(
        request, project, kind, launch_form(kind, project=project, initial=initial)
    )


# The first launch URLs, one per form of several kinds; kept for scripts that post to them.
@require_POST
@project_view(Capability.ENGINEER)
def run_launch_reward(request, project):
    return _launch(request, project, RunForm(request.POST, project=project), RunKind.REWARD)


@require_POST
@project_view(Capability.ENGINEER)
def run_launch_policy(request, project):
    kind = request.POST.get("policy-kind")
    kind = kind if kind in POLICY_KINDS else RunKind.SFT
    return _launch(request, project, PolicyRunForm(request.POST, project=project), kind)


@require_POST
@project_view(Capability.ENGINEER)
def run_launch_evaluation(request, project):
    return _launch(request, project, EvaluationForm(request.POST, project=project), RunKind.EVAL)


@project_view(Capability.EXPORT)
def run_detail(request, project, run_id: int):
    run = run_get(project=project, run_id=run_id)
    context = {
        "project": project,
        "run": run,
        **run_page(run),
        "may_launch": has_capability(request.user, project, Capability.ENGINEER),
    }
    if request.htmx:
        return render(request, "training/run_detail.html#run-live", context)
    return render(request, "training/run_detail.html", context)


@require_POST
@project_view(Capability.ENGINEER)
def run_cancel_view(request, project, run_id: int):
    run = run_get(project=project, run_id=run_id)
    try:
        run_cancel(run=run)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("run-detail", slug=project.slug, run_id=run_id)


@require_POST
@project_view(Capability.ENGINEER)
def run_relaunch_view(request, project, run_id: int):
    run = run_get(project=project, run_id=run_id)
    try:
        run_relaunch(run=run)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("run-detail", slug=project.slug, run_id=run_id)


@project_view(Capability.EXPORT)
def run_compare(request, project):
    ids = [n for n in map(plain_int, request.GET.getlist("run")) if n is not None]
    context = {"project": project, **run_compare_page(project, ids)}
    return render(request, "training/run_compare.html", context)
