"""The manager's page for the project's tag set and rubric dimensions: one GET page and
one POST URL per action (add or delete a label, add or delete a dimension)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from common.errors import ApplicationError
from projects.decorators import project_view
from projects.forms import RatingDimensionForm, TagLabelForm
from projects.labels import services as labels
from projects.labels.selectors import labels_page
from projects.permissions import Capability

#: The rubric form shares field names with the label form; its own id prefix keeps each
#: <label for> pointing at its own form's input on the one page.
RUBRIC = "rubric_%s"


def _page(request, project, *, status: int = 200, **forms):
    context = {
        "project": project,
        **labels_page(project),
        "label_form": forms.get("label_form") or TagLabelForm(),
        "dimension_form": forms.get("dimension_form") or RatingDimensionForm(auto_id=RUBRIC),
    }
    return render(request, "projects/labels.html", context, status=status)


def _add(request, project, *, form, save, key: str):
    """Save a bound add form; a refusal goes on the field it names and the page comes back
    with what was typed (a redirect would empty it)."""
    if form.is_valid():
        try:
            save(project=project, **form.cleaned_data)
        except ApplicationError as exc:
            field = exc.extra.get("field")
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            messages.success(request, "Saved.")
            return redirect("label-list", slug=project.slug)
    return _page(request, project, status=400, **{key: form})


def _deleted(request, project, delete, **ids):
    try:
        delete(project=project, **ids)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Saved.")
    return redirect("label-list", slug=project.slug)


@project_view(Capability.MANAGE)
def label_list(request, project):
    return _page(request, project)


@require_POST
@project_view(Capability.MANAGE)
def label_add(request, project):
    form = TagLabelForm(request.POST)
    return _add(request, project, form=form, save=labels.tag_label_save, key="label_form")


@require_POST
@project_view(Capability.MANAGE)
def label_delete(request, project, label_id: int):
    return _deleted(request, project, labels.tag_label_delete, label_id=label_id)


@require_POST
@project_view(Capability.MANAGE)
def dimension_add(request, project):
    form = RatingDimensionForm(request.POST, auto_id=RUBRIC)
    save = labels.rating_dimension_save
    return _add(request, project, form=form, save=save, key="dimension_form")


@require_POST
@project_view(Capability.MANAGE)
def dimension_delete(request, project, dimension_id: int):
    return _deleted(request, project, labels.rating_dimension_delete, dimension_id=dimension_id)
