"""The manager's page for the project's tag set and rubric dimensions."""

from django.contrib import messages
from django.shortcuts import redirect, render

from common.errors import ApplicationError
from common.numbers import plain_int
from projects.decorators import project_view
from projects.forms import RatingDimensionForm, TagLabelForm
from projects.labels import services as labels
from projects.permissions import Capability


def _id(value: str) -> int:
    number = plain_int(value)
    if number is None:
        raise ApplicationError(f"not an id: {value[:20]!r}")
    return number


def _delete(request, project) -> None:
    post = request.POST
    if "delete_label" in post:
        labels.tag_label_delete(project=project, label_id=_id(post["delete_label"]))
    elif "delete_dimension" in post:
        dimension_id = _id(post["delete_dimension"])
        labels.rating_dimension_get(project=project, dimension_id=dimension_id).delete()


def _added(form, save, project) -> bool:
    """Save a bound add form; a refusal goes on the field it names, the typed values kept."""
    if not form.is_valid():
        return False
    try:
        save(project=project, **form.cleaned_data)
    except ApplicationError as exc:
        field = exc.extra.get("field")
        form.add_error(field if field in form.fields else None, exc.message)
        return False
    return True


@project_view(Capability.MANAGE)
def label_list(request, project):
    forms = {"label_form": TagLabelForm(), "dimension_form": RatingDimensionForm()}
    if request.method != "POST":
        return _page(request, project, forms)
    post = request.POST
    if "add_label" in post or "add_dimension" in post:
        key, form_class, save = (
            ("label_form", TagLabelForm, labels.tag_label_save)
            if "add_label" in post
            else ("dimension_form", RatingDimensionForm, labels.rating_dimension_save)
        )
        forms[key] = form_class(post)
        if not _added(forms[key], save, project):
            # Rendered, not redirected: a redirect would empty what the manager typed.
            return _page(request, project, forms, status=400)
    else:
        try:
            _delete(request, project)
        except (ApplicationError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", str(exc)))
            return redirect("label-list", slug=project.slug)
    messages.success(request, "Saved.")
    return redirect("label-list", slug=project.slug)


def _page(request, project, forms: dict, *, status: int = 200):
    context = {
        "project": project,
        "tag_labels": project.tag_labels.all(),
        "dimensions": project.rating_dimensions.all(),
        "reserved": " ".join(sorted(labels.RESERVED_KEYS - {" "})),
        **forms,
    }
    return render(request, "projects/labels.html", context, status=status)
