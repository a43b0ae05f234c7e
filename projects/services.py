"""State changes for projects: create, configure, membership, groups, guidelines."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.text import capfirst, slugify

from common.errors import ApplicationError, ConflictError, NotFoundError
from common.numbers import plain_int
from projects.acquisition_mix import mix_weights
from projects.models import (
    AcquisitionRule,
    AnnotatorGroup,
    AssistMode,
    Guideline,
    GuidelineAck,
    Membership,
    Project,
    RankingMode,
    RationaleMode,
    ResponseSource,
    Role,
)
from projects.signals import project_settings_changed

PROJECT_SETTINGS = (
    "name",
    "description",
    "ranking_mode",
    "responses_per_item",
    "ties_allowed",
    "pairwise_strength",
    "rating_scale",
    "overlap",
    "lease_minutes",
    "rationale",
    "archived",
    "prompt_writing",
    "prompt_categories",
    "prompt_target",
    "response_source",
    "require_response_tags",
    "gold_rate",
    "gold_threshold",
    "gold_min_answers",
    "gold_pause",
    "review_rate",
    # The model in the loop.
    "reward_model",
    "assist_mode",
    "acquisition_rule",
    "acquisition_mix",
    "disagreement_threshold",
    "disagreement_cap",
)
MAX_CATEGORIES = 50
MAX_CATEGORY_CHARS = 60


def _label(field: str) -> str:
    """The setting as the settings page labels it; the API names the field in "field"."""
    return capfirst(Project._meta.get_field(field).verbose_name)


def _one_of(choices) -> str:
    return f"must be one of {', '.join(choices.values)}"


def project_validate(project: Project) -> None:
    """Raise ApplicationError naming the first setting that is out of range."""
    problems = project_problems(project)
    if problems:
        field, message = problems[0]
        raise ApplicationError(message, extra={"field": field})
    project.prompt_categories = categories_clean(project.prompt_categories)
    project.acquisition_mix = _mix_clean(project.acquisition_mix)
    _reward_model_check(project)


def project_problems(project: Project) -> list[tuple[str, str]]:
    """Every out-of-range setting as (field, message), so a form can show each at its field."""
    checks = [
        (project.name.strip() != "", "name", "must not be empty"),
        (project.ranking_mode in RankingMode.values, "ranking_mode", _one_of(RankingMode)),
        (2 <= project.responses_per_item <= 9, "responses_per_item", "must be between 2 and 9"),
        (
            project.ranking_mode != RankingMode.PAIRWISE or project.responses_per_item == 2,
            "responses_per_item",
            "must be 2 in pairwise mode",
        ),
        (1 <= project.overlap <= 10, "overlap", "must be between 1 and 10"),
        (2 <= project.rating_scale <= 10, "rating_scale", "must be between 2 and 10"),
        (1 <= project.lease_minutes <= 24 * 60, "lease_minutes", "must be between 1 and 1440"),
        (project.rationale in RationaleMode.values, "rationale", _one_of(RationaleMode)),
        (
            project.response_source in ResponseSource.values,
            "response_source",
            _one_of(ResponseSource),
        ),
        (
            not project.prompt_writing or project.response_source != ResponseSource.IMPORT,
            "response_source",
            "must say who answers written prompts (writer, queue or model)",
        ),
        (0 <= project.prompt_target <= 10000, "prompt_target", "must be between 0 and 10000"),
        # The API's serializer checked these; the settings page posts them straight here.
        (0 <= project.gold_rate <= 0.5, "gold_rate", "must be between 0 and 0.5"),
        (0 <= project.gold_threshold <= 1, "gold_threshold", "must be between 0 and 1"),
        (1 <= project.gold_min_answers <= 1000, "gold_min_answers", "must be between 1 and 1000"),
        (0 <= project.review_rate <= 1, "review_rate", "must be between 0 and 1"),
        (project.assist_mode in AssistMode.values, "assist_mode", _one_of(AssistMode)),
        (
            project.acquisition_rule in AcquisitionRule.values,
            "acquisition_rule",
            _one_of(AcquisitionRule),
        ),
        (
            0 <= project.disagreement_threshold <= 1,
            "disagreement_threshold",
            "must be between 0 and 1",
        ),
        (1 <= project.disagreement_cap <= 10, "disagreement_cap", "must be between 1 and 10"),
        (
            project.acquisition_rule != AcquisitionRule.DISAGREEMENT
            or project.disagreement_cap >= project.overlap,
            "disagreement_cap",
            "must be at least the overlap (it caps the annotators an unsure item can reach)",
        ),
    ]  # fmt: skip
    return [(field, f"{_label(field)} {message}") for ok, field, message in checks if not ok]


def _mix_clean(value) -> dict:
    if not value:
        return {}
    if not isinstance(value, dict):
        raise ApplicationError(
            f"{_label('acquisition_mix')} must be an object of weights",
            extra={"field": "acquisition_mix"},
        )
    try:
        return mix_weights(value)
    except (TypeError, ValueError) as exc:
        raise ApplicationError(
            f"{_label('acquisition_mix')}: {exc}", extra={"field": "acquisition_mix"}
        ) from None


def _reward_model_check(project: Project) -> None:
    artifact = project.reward_model
    if artifact is not None and (artifact.project_id != project.pk or artifact.kind != "reward"):
        raise ApplicationError(
            f"{_label('reward_model')} must be a reward model registered in this project",
            extra={"field": "reward_model"},
        )


def _reward_model_of(fields: dict) -> None:
    """Accept the reward model as an id (API, forms) as well as an instance."""
    value = fields.get("reward_model")
    if value is None or not isinstance(value, int | str):
        return
    # The registry sits above projects: reach its model through the foreign key.
    artifacts = Project._meta.get_field("reward_model").related_model.objects
    pk = plain_int(str(value))
    artifact = artifacts.filter(pk=pk).first() if pk is not None else None
    if artifact is None:
        raise ApplicationError(
            f"{_label('reward_model')}: no model {value}", extra={"field": "reward_model"}
        )
    fields["reward_model"] = artifact


def categories_clean(value) -> list[str]:
    """The category list with blanks and repeats removed, in the manager's order."""
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ApplicationError(
            f"{_label('prompt_categories')} must be a list of names",
            extra={"field": "prompt_categories"},
        )
    names: list[str] = []
    for name in (" ".join(raw.split()) for raw in value):
        if len(name) > MAX_CATEGORY_CHARS:
            raise ApplicationError(
                f"{_label('prompt_categories')}: '{name[:20]}…' is longer than "
                f"{MAX_CATEGORY_CHARS} characters",
                extra={"field": "prompt_categories"},
            )
        if name and name.casefold() not in {seen.casefold() for seen in names}:
            names.append(name)
    if len(names) > MAX_CATEGORIES:
        raise ApplicationError(
            f"{_label('prompt_categories')}: at most {MAX_CATEGORIES} categories",
            extra={"field": "prompt_categories"},
        )
    return names


@transaction.atomic
def project_create(*, creator, name: str, slug: str = "", **fields) -> Project:
    """Create a project; its creator becomes its manager."""
    unknown = set(fields) - set(PROJECT_SETTINGS)
    if unknown:
        raise ApplicationError(f"unknown project settings: {', '.join(sorted(unknown))}")
    _reward_model_of(fields)
    slug = slug or slugify(name)[:80]
    if not slug:
        raise ApplicationError("slug must not be empty", extra={"field": "slug"})
    project = Project(name=name, slug=slug, created_by=creator, **fields)
    if project.ranking_mode == RankingMode.PAIRWISE and "responses_per_item" not in fields:
        project.responses_per_item = 2
    project_validate(project)
    try:
        with transaction.atomic():
            project.save()
    except IntegrityError as exc:
        raise ConflictError(f"a project with slug '{slug}' already exists") from exc
    Membership.objects.create(user=creator, project=project, role=Role.MANAGER)
    return project


@transaction.atomic
def project_update(*, project: Project, **fields) -> Project:
    """Change project settings. K cannot change once items exist: their responses are fixed."""
    unknown = set(fields) - set(PROJECT_SETTINGS)
    if unknown:
        raise ApplicationError(f"unknown project settings: {', '.join(sorted(unknown))}")
    _reward_model_of(fields)
    project = Project.objects.select_for_update().get(pk=project.pk)
    before = {name: getattr(project, name) for name in fields}
    if (
        "responses_per_item" in fields
        and fields["responses_per_item"] != project.responses_per_item
        and project.items.exists()
    ):
        # Items keep the responses they were imported with: say what reaches a new K instead.
        raise ConflictError(
            f"Responses per item cannot change once the project has items (it has "
            f"{project.responses_per_item} per item). To rank {fields['responses_per_item']} "
            "responses per item, create a new project with that setting and import the "
            "items there.",
            extra={"field": "responses_per_item"},
        )
    for key, value in fields.items():
        setattr(project, key, value)
    project_validate(project)
    project.save()
    changed = {name: old for name, old in before.items() if getattr(project, name) != old}
    if changed:
        project_settings_changed.send(sender=Project, project=project, before=changed)
    return project


def _check_not_last_manager(project: Project) -> None:
    """Counted under a lock on the project's row: two managers demoting each other at
    once would each count two and leave none (PostgreSQL runs them side by side)."""
    Project.objects.select_for_update().filter(pk=project.pk).first()
    if project.memberships.filter(role=Role.MANAGER).count() <= 1:
        raise ConflictError("a project needs at least one manager")


def _user_by_username(username: str):
    if "\x00" in username:
        raise ApplicationError("username: must not contain NUL characters")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        # There is no sign-up page: accounts are made by an administrator (the Django admin).
        raise NotFoundError(
            f"No account named '{username}'. People need an account before they can join a "
            "project: ask an administrator to create it (Users in the admin), then add them here.",
            extra={"field": "username"},
        )
    return user


@transaction.atomic
def membership_set(*, project: Project, username: str, role: str) -> Membership:
    """Add a member or change their role."""
    if role not in Role.values:
        raise ApplicationError(
            f"role must be one of {', '.join(Role.values)}", extra={"field": "role"}
        )
    user = _user_by_username(username)
    current = Membership.objects.select_for_update().filter(user=user, project=project).first()
    if current and current.role == Role.MANAGER and role != Role.MANAGER:
        _check_not_last_manager(project)
    membership, _ = Membership.objects.update_or_create(
        user=user, project=project, defaults={"role": role}
    )
    return membership


@transaction.atomic
def membership_remove(*, project: Project, username: str) -> None:
    user = _user_by_username(username)
    membership = Membership.objects.filter(user=user, project=project).first()
    if membership is None:
        raise NotFoundError(f"'{username}' is not a member of this project")
    if membership.role == Role.MANAGER:
        _check_not_last_manager(project)
    membership.delete()


@transaction.atomic
def group_set_members(*, project: Project, name: str, usernames: list[str]) -> AnnotatorGroup:
    """Create or replace a named annotator group; every member must belong to the project."""
    name = name.strip()
    if not name:
        raise ApplicationError("group name must not be empty", extra={"field": "name"})
    users = list(get_user_model().objects.filter(username__in=usernames))
    missing = sorted(set(usernames) - {u.username for u in users})
    if missing:
        raise NotFoundError(f"no such users: {', '.join(missing)}", extra={"field": "usernames"})
    outsiders = sorted(
        u.username for u in users if not Membership.objects.filter(user=u, project=project).exists()
    )
    if outsiders:
        raise ApplicationError(f"not members of this project: {', '.join(outsiders)}")
    group, _ = AnnotatorGroup.objects.get_or_create(project=project, name=name)
    group.members.set(users)
    return group


@transaction.atomic
def guideline_publish(*, project: Project, author, body: str, summary: str = "") -> Guideline:
    """Publish the next guideline version; everyone must acknowledge it before claiming again."""
    if not body.strip():
        raise ApplicationError("the guidelines must not be empty", extra={"field": "body"})
    # Lock the project row so two managers publishing at once get distinct versions.
    Project.objects.select_for_update().get(pk=project.pk)
    last = project.guidelines.order_by("-version").values_list("version", flat=True).first()
    guideline = Guideline.objects.create(
        project=project,
        version=(last or 0) + 1,
        body=body,
        summary=summary[:200],
        published_by=author,
    )
    # The author has read what they wrote.
    GuidelineAck.objects.create(guideline=guideline, user=author)
    return guideline


def guideline_acknowledge(*, project: Project, user, version: int | None = None) -> GuidelineAck:
    """Record that the user read the current version (or the one named, which must be current)."""
    current = project.guidelines.order_by("-version").first()
    if current is None:
        raise NotFoundError("this project has no guidelines yet")
    if version is not None and version != current.version:
        raise ConflictError(
            f"version {version} is not current; the current version is {current.version}",
            extra={"current_version": current.version},
        )
    ack, _ = GuidelineAck.objects.get_or_create(guideline=current, user=user)
    return ack
