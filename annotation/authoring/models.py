"""The write-a-response leases: a written prompt leased to an annotator who answers it."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotation.models import AssignmentState, Prompt, Response
from projects.models import Project


class WriteAssignment(models.Model):
    """A written prompt leased to an annotator who writes one response to it."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="write_assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(
        max_length=16, choices=AssignmentState.choices, default=AssignmentState.ACTIVE
    )
    claimed_at = models.DateTimeField()
    lease_expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    response = models.OneToOneField(
        Response, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    client_token = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prompt", "user"], name="write_assignment_once"),
        ]
        indexes = [
            models.Index(fields=["user", "project", "state"], name="write_assignment_user"),
            models.Index(
                fields=["project", "lease_expires_at"],
                condition=Q(state="active"),
                name="write_assignment_active",
            ),
        ]

    def __str__(self) -> str:
        return f"write assignment {self.pk} ({self.state})"
