"""A project's tag set (span tags and response labels) and its rubric dimensions."""

from django.db import models
from django.db.models import Q

from projects.models import Project


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
