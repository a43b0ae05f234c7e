"""The manager's page for the project's tag set and rubric dimensions."""

from django.contrib import messages
from django.shortcuts import redirect, render

from config.errors import ApplicationError
from config.numbers import plain_int
from projects import services_labels as labels
from projects.decorators import project_view
from projects.forms import RatingDimensionForm, TagLabelForm
from projects.permissions import Capability


def _id(value: str) -> int:
    number = plain_int(value)
    if number is None:
        raise ApplicationError(f"not an id: {value[:20]!r}")
    return number


def _handle_post(request, project) -> None:
    post = request.POST
    if "delete_label" in post:
        labels.tag_label_delete(project=project, label_id=_id(post["delete_label"]))
    elif "delete_dimension" in post:
        dimension_id = _id(post["delete_dimension"])
        labels.rating_dimension_get(project=project, dimension_id=dimension_id).delete()
    elif "add_label" in post:
        form = TagLabelForm(post)
        if not form.is_valid():
            raise ApplicationError(f"label: {form.errors.as_text()}")
        labels.tag_label_save(project=project, **form.cleaned_data)
    elif "add_dimension" in post:
        form = RatingDimensionForm(post)
        if not form.is_valid():
            raise ApplicationError(f"dimension: {form.errors.as_text()}")
        labels.rating_dimension_save(project=project, **form.cleaned_data)


@project_view(Capability.MANAGE)
def label_list(request, project):
    if request.method == "POST":
        try:
            _handle_post(request, project)
        except (ApplicationError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", str(exc)))
        else:
            messages.success(request, "Saved.")
        return redirect("label-list", slug=project.slug)
    context = {
        "project": project,
        "tag_labels": project.tag_labels.all(),
        "dimensions": project.rating_dimensions.all(),
        "label_form": TagLabelForm(),
        "dimension_form": RatingDimensionForm(),
        "reserved": " ".join(sorted(labels.RESERVED_KEYS - {" "})),
    }
    return render(request, "projects/labels.html", context)
