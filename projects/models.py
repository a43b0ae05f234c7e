"""Projects, who belongs to them in which role, their versioned guidelines and annotator groups."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class RankingMode(models.TextChoices):
    RANK = "rank", "Rank K responses"
    PAIRWISE = "pairwise", "Pairwise (A / B / tie)"
    RATE = "rate", "Rate each response (Likert)"


class RationaleMode(models.TextChoices):
    OFF = "off", "Off"
    OPTIONAL = "optional", "Optional"
    REQUIRED = "required", "Required"


class Project(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    ranking_mode = models.CharField(
        max_length=16, choices=RankingMode.choices, default=RankingMode.RANK
    )
    # Responses compared per item (K). Pairwise projects always have K = 2.
    responses_per_item = models.PositiveSmallIntegerField(default=4)
    ties_allowed = models.BooleanField(default=True)
    # Pairwise: ask how much better the chosen response is (1 slightly … 3 much).
    pairwise_strength = models.BooleanField(default=True)
    # Rate mode: scores run from 1 to rating_scale.
    rating_scale = models.PositiveSmallIntegerField(default=5)
    # Annotators per item.
    overlap = models.PositiveSmallIntegerField(default=1)
    # How long a claimed item stays reserved without a heartbeat, in minutes.
    lease_minutes = models.PositiveSmallIntegerField(default=30)
    rationale = models.CharField(
        max_length=16, choices=RationaleMode.choices, default=RationaleMode.OPTIONAL
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    archived = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(responses_per_item__gte=2, responses_per_item__lte=9),
                name="project_k_between_2_and_9",
                violation_error_message="Responses per item must be between 2 and 9.",
            ),
            models.CheckConstraint(
                condition=Q(overlap__gte=1, overlap__lte=10),
                name="project_overlap_between_1_and_10",
                violation_error_message="Overlap must be between 1 and 10.",
            ),
            models.CheckConstraint(
                condition=~Q(ranking_mode="pairwise") | Q(responses_per_item=2),
                name="project_pairwise_has_k_2",
                violation_error_message="Responses per item must be 2 in pairwise mode.",
            ),
            models.CheckConstraint(
                condition=Q(rating_scale__gte=2, rating_scale__lte=10),
                name="project_rating_scale_between_2_and_10",
                violation_error_message="The rating scale must have 2 to 10 points.",
            ),
            models.CheckConstraint(
                condition=Q(lease_minutes__gte=1, lease_minutes__lte=24 * 60),
                name="project_lease_between_1_minute_and_1_day",
                violation_error_message="The lease must last between 1 and 1440 minutes.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"
    MANAGER = "manager", "Manager"
    ENGINEER = "engineer", "Engineer"


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "project"], name="membership_one_per_project")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.project} · {self.role}"


class AnnotatorGroup(models.Model):
    """A named set of members that batches of items can be restricted to."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=100)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="group_name_unique_in_project")
        ]

    def __str__(self) -> str:
        return self.name


class Guideline(models.Model):
    """One published version of a project's guidelines; versions are never edited."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="guidelines")
    version = models.PositiveIntegerField()
    body = models.TextField()
    summary = models.CharField(max_length=200, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="guideline_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.project.slug} v{self.version}"


class GuidelineAck(models.Model):
    guideline = models.ForeignKey(Guideline, on_delete=models.CASCADE, related_name="acks")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    acknowledged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["guideline", "user"], name="guideline_ack_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} read {self.guideline}"


class LabelKind(models.TextChoices):
    SPAN = "span", "Span tag"
    RESPONSE = "response", "Response label"


class TagLabel(models.Model):
    """One entry of a project's tag set: spans of text, or whole responses, get these."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tag_labels")
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=16, choices=LabelKind.choices, default=LabelKind.SPAN)
    # "#rrggbb", used for highlights and chips.
    colour = models.CharField(max_length=7, default="#f5c542")
    # One key that applies the label on the ranking page; empty for none.
    hotkey = models.CharField(max_length=1, blank=True)
    description = models.CharField(max_length=500, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="tag_label_name_unique"),
            models.UniqueConstraint(
                fields=["project", "hotkey"],
                condition=~Q(hotkey=""),
                name="tag_label_hotkey_unique",
                violation_error_message="Another label of this project uses that hotkey.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RatingDimension(models.Model):
    """A rubric dimension (helpful, harmless, honest, ...) scored per response."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="rating_dimensions")
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=500, blank=True)
    # Scores run from 1 to scale.
    scale = models.PositiveSmallIntegerField(default=5)
    # The key that moves keyboard scoring to this dimension; empty for none.
    hotkey = models.CharField(max_length=1, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"], name="rating_dimension_name_unique"
            ),
            models.CheckConstraint(
                condition=Q(scale__gte=2, scale__lte=10),
                name="rating_dimension_scale_between_2_and_10",
                violation_error_message="A rubric scale has 2 to 10 points.",
            ),
        ]

    def __str__(self) -> str:
        return self.name
