"""Training run pages: the list with the launch forms (one POST URL per kind of launch),
one run live (progress with ETA, curves and log tail refreshed through htmx, evaluation
plots once done), and runs side by side. Managers and engineers see them; engineers
launch and stop them."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from common.errors import ApplicationError
from common.numbers import plain_int
from projects.decorators import project_view
from projects.permissions import Capability, has_capability
from training.runs.forms import EvaluationForm, PolicyRunForm, RunForm
from training.runs.kinds import run_settings
from training.runs.selectors import run_compare_page, run_get, run_list_page, run_page
from training.runs.services.runs import run_cancel, run_create, run_relaunch

LAUNCH_FORMS = {"form": RunForm, "policy_form": PolicyRunForm, "evaluation_form": EvaluationForm}


def _run_list_render(request, project, *, bound: dict | None = None, status: int = 200):
    """The runs page; a refused launch form comes back bound, with its errors."""
    forms = {key: form_class(None, project=project) for key, form_class in LAUNCH_FORMS.items()}
    context = {
        "project": project,
        **forms,
        **(bound or {}),
        **run_list_page(project),
        "may_launch": has_capability(request.user, project, Capability.ENGINEER),
    }
    return render(request, "training/run_list.html", context, status=status)


@project_view(Capability.EXPORT)
def run_list(request, project):
    return _run_list_render(request, project)


def _launch(request, project, key: str):
    """Launch the run the posted form ``key`` describes, then show it."""
    form = LAUNCH_FORMS[key](request.POST, project=project)
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
    return _run_list_render(request, project, bound={key: form}, status=status)


@require_POST
@project_view(Capability.ENGINEER)
def run_launch_reward(request, project):
    return _launch(request, project, "form")


@require_POST
@project_view(Capability.ENGINEER)
def run_launch_policy(request, project):
    return _launch(request, project, "policy_form")


@require_POST
@project_view(Capability.ENGINEER)
def run_launch_evaluation(request, project):
    return _launch(request, project, "evaluation_form")


@project_view(Capability.EXPORT)
def run_detail(request, project, run_id: int):
    run = run_get(project=project, run_id=run_id)
    context = {
        "project": project,
        "run": run,
        **run_page(run),
        "setting_rows": run_settings(run.kind, run.hyperparameters),
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
