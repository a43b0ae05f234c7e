"""Prompts, responses, items, the assignments that lease items to annotators, and annotations."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from projects.models import AnnotatorGroup, Guideline, Project


class PromptStatus(models.TextChoices):
    READY = "ready", "Has its responses"
    NEEDS_RESPONSES = "needs_responses", "Waiting for written responses"
    NEEDS_GENERATION = "needs_generation", "Waiting for generated responses"


class Prompt(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prompts")
    # The id the row had in its import file; re-importing it changes nothing.
    external_id = models.CharField(max_length=200, null=True, blank=True)
    # Always a conversation: [{"role": "user"|"assistant"|"system", "content": str}, ...].
    messages = models.JSONField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=32, default="import")
    category = models.CharField(max_length=60, blank=True)
    status = models.CharField(
        max_length=20, choices=PromptStatus.choices, default=PromptStatus.READY
    )
    # Why a prompt waits (e.g. "no generation backend is configured"), shown to managers.
    status_reason = models.CharField(max_length=500, blank=True)
    # Responses the write-a-response queue still needs: responses_per_item minus written
    # minus leased, kept under a row lock like Item.open_slots.
    open_write_slots = models.SmallIntegerField(default=0)
    # sha256 of dedup.normalize(messages); indexes exact repeats within a project.
    dedup_key = models.CharField(max_length=64, blank=True)
    # How the text was produced, per field: {"turns[0]": {"typing_ms", "keystrokes",
    # "paste_events", "pasted_chars", "chars"}}; see services/instrumentation.py.
    writing = models.JSONField(default=dict, blank=True)
    mostly_pasted = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"], name="prompt_external_id_unique_in_project"
            )
        ]
        indexes = [
            models.Index(fields=["project", "dedup_key"], name="prompt_dedup_key"),
            models.Index(fields=["project", "author", "created_at"], name="prompt_author"),
            models.Index(
                "project",
                "id",
                condition=Q(open_write_slots__gt=0),
                name="prompt_writable",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:80]

    @property
    def text(self) -> str:
        """The last user turn: what a single-turn prompt says."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return message.get("content", "")
        return ""

    @property
    def is_multi_turn(self) -> bool:
        return len(self.messages) > 1


class ResponseOrigin(models.TextChoices):
    IMPORT = "import", "Imported"
    WRITER = "writer", "Written by the prompt's author"
    QUEUE = "queue", "Written in the response queue"
    MODEL = "model", "Generated"
    REWRITE = "rewrite", "Rewritten by an annotator"


class Response(models.Model):
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="responses")
    text = models.TextField()
    # Which model wrote it (empty for people); kept for provenance and exports.
    model_name = models.CharField(max_length=200, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    origin = models.CharField(
        max_length=16, choices=ResponseOrigin.choices, default=ResponseOrigin.IMPORT
    )
    # A rewrite names the response it improves; it counts as preferred over it and is a
    # demonstration for supervised fine-tuning.
    rewrite_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="rewrites"
    )
    # The annotation a rewrite was made in (its annotator, guideline version, revision).
    annotation = models.ForeignKey(
        "Annotation", null=True, blank=True, on_delete=models.CASCADE, related_name="rewrites"
    )
    writing = models.JSONField(default=dict, blank=True)
    mostly_pasted = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.text[:80]


class Batch(models.Model):
    """A set of items (one import, or a named tag) that managers can restrict to people."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="batches")
    name = models.CharField(max_length=200)
    restricted = models.BooleanField(default=False)
    allowed_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    allowed_groups = models.ManyToManyField(AnnotatorGroup, blank=True, related_name="batches")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="batch_name_unique_in_project")
        ]

    def __str__(self) -> str:
        return self.name


class Item(models.Model):
    """One prompt with the K responses annotators compare."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="items")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="items")
    responses = models.ManyToManyField(Response, through="ItemResponse", related_name="items")
    batch = models.ForeignKey(
        Batch, null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    # Copied from the batch so the claim query needs no join for the common case.
    restricted = models.BooleanField(default=False)
    round = models.PositiveIntegerField(default=1)
    # Higher first; then oldest first.
    priority = models.IntegerField(default=0)
    # Annotators this item still needs: overlap minus submitted minus leased. Maintained
    # by the claiming services under a row lock; the claim index filters on it. Signed:
    # lowering the overlap below the live leases leaves a debt that skips pay back.
    open_slots = models.SmallIntegerField()
    submitted_count = models.PositiveSmallIntegerField(default=0)
    # Set by the submit that changed the item's judgements, cleared by quality control's
    # worker once the item's figures are recomputed: the submit never waits for them.
    stats_stale = models.BooleanField(default=False, db_default=False)
    # Gold items carry a known ranking (tiers of response ids); they sit outside the
    # overlap pool (open_slots 0) and are served at the project's gold rate instead.
    is_gold = models.BooleanField(default=False)
    gold_ranking = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index("project", "id", condition=Q(is_gold=True), name="item_gold"),
            models.Index(
                "project",
                models.F("priority").desc(),
                "id",
                condition=Q(open_slots__gt=0),
                name="item_claimable",
            ),
            models.Index("project", "id", condition=Q(stats_stale=True), name="item_stats_stale"),
        ]

    def __str__(self) -> str:
        return f"item {self.pk}"


class ItemResponse(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="item_responses")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="+")
    # The order the source gave; annotators see their own shuffled order.
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["item", "response"], name="item_response_once"),
            models.UniqueConstraint(
                fields=["item", "position"], name="item_response_position_once"
            ),
        ]

    def __str__(self) -> str:
        return f"item {self.item_id} #{self.position}"


class AssignmentState(models.TextChoices):
    ACTIVE = "active", "Leased"
    SUBMITTED = "submitted", "Submitted"
    SKIPPED = "skipped", "Skipped"
    EXPIRED = "expired", "Expired"


class Assignment(models.Model):
    """An item leased to one annotator. At most one per (item, annotator), ever."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="assignments")
    state = models.CharField(
        max_length=16, choices=AssignmentState.choices, default=AssignmentState.ACTIVE
    )
    claimed_at = models.DateTimeField()
    lease_expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # Response ids in the order this annotator sees them (measures position bias).
    display_order = models.JSONField()
    # Assisted projects: the reward model's order (response ids, best first) shown to this
    # annotator; null when the annotator works blind.
    suggestion = models.JSONField(null=True, blank=True)
    skip_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item", "user"], name="assignment_one_per_item_and_user"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "project", "state"], name="assignment_user_state"),
            models.Index(
                fields=["project", "lease_expires_at"],
                condition=Q(state="active"),
                name="assignment_active_lease",
            ),
            models.Index(fields=["user", "finished_at"], name="assignment_user_finished"),
        ]

    def __str__(self) -> str:
        return f"assignment {self.pk} ({self.state})"


class AnnotationKind(models.TextChoices):
    JUDGEMENT = "judgement", "Judged on the ranking page"
    WRITER_ORDER = "writer_order", "The order a writer put their own responses in"
    REVIEW_CORRECTION = "review_correction", "A reviewer's corrected ranking"


class AnnotationStatus(models.TextChoices):
    """Whether a judgement counts in agreement, consensus and exports."""

    ACTIVE = "active", "Counts"
    REJECTED = "rejected", "Rejected in review"
    CORRECTED = "corrected", "Corrected by a reviewer"
    SUPERSEDED = "superseded", "Flagged for re-annotation after a guideline change"


class ReviewState(models.TextChoices):
    NONE = "", "Not selected for review"
    PENDING = "pending", "Waiting for review"
    DONE = "done", "Reviewed"


class Annotation(models.Model):
    """A submitted judgement. Rankings are tiers of response ids, best first; a tier holds ties.

    The row always holds the latest revision; earlier ones live in AnnotationRevision.
    """

    assignment = models.OneToOneField(
        Assignment, on_delete=models.CASCADE, related_name="annotation"
    )
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="annotations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotations"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="annotations")
    mode = models.CharField(max_length=16)
    kind = models.CharField(
        max_length=24, choices=AnnotationKind.choices, default=AnnotationKind.JUDGEMENT
    )
    # rank and pairwise: [[best ids], [next ids], ...]; rate: derived from ratings.
    ranking = models.JSONField(default=list, blank=True)
    # rate: {"<response id>": score}
    ratings = models.JSONField(default=dict, blank=True)
    # Rubric projects: {"<dimension id>": {"<response id>": score}}, each on its own scale.
    rubric_scores = models.JSONField(default=dict, blank=True)
    # pairwise: 1 slightly, 2 clearly, 3 much better; null for ties or when not asked.
    strength = models.PositiveSmallIntegerField(null=True, blank=True)
    none_acceptable = models.BooleanField(default=False)
    rationale = models.TextField(blank=True)
    time_spent_ms = models.PositiveIntegerField(default=0)
    guideline = models.ForeignKey(
        Guideline, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    display_order = models.JSONField()
    # A retried submit with the same token returns this annotation instead of a new one.
    client_token = models.CharField(max_length=64, null=True, blank=True)
    # 1 for the first submit; each revision by its annotator adds one.
    revision = models.PositiveIntegerField(default=1)
    revised_at = models.DateTimeField(null=True, blank=True)
    # Set by review (quality control); a reviewed annotation can no longer be revised.
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # The annotator saw the reward model's suggested order (assisted mode).
    assisted = models.BooleanField(default=False)
    # The annotator was not sure; such annotations always go to review.
    unsure = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=AnnotationStatus.choices, default=AnnotationStatus.ACTIVE
    )
    review_state = models.CharField(
        max_length=16, choices=ReviewState.choices, default=ReviewState.NONE, blank=True
    )
    # Why it is in the review queue: "sampled", "unsure", "guideline".
    review_reason = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_token"],
                condition=Q(client_token__isnull=False),
                name="annotation_client_token_once",
            )
        ]
        indexes = [
            models.Index(fields=["project", "created_at"], name="annotation_project_created"),
            models.Index(fields=["user", "project", "created_at"], name="annotation_user_created"),
            models.Index(
                fields=["project", "item"],
                condition=Q(review_state="pending"),
                name="annotation_review_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"annotation {self.pk}"


class SpanTag(models.Model):
    """A label on a stretch of one response's text.

    Offsets count Unicode code points into the response's source text (Python string
    indices), never into rendered HTML and never UTF-16 units, so they survive any
    rendering and any client language.
    """

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="spans")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="+")
    label = models.ForeignKey("projects.TagLabel", on_delete=models.PROTECT, related_name="+")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["response_id", "start", "end", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="span_start_before_end"),
        ]

    def __str__(self) -> str:
        return f"{self.label_id} [{self.start}:{self.end}]"


class ResponseLabel(models.Model):
    """A response-level label (a flag such as "refusal" or "off-topic")."""

    annotation = models.ForeignKey(
        Annotation, on_delete=models.CASCADE, related_name="response_labels"
    )
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="+")
    label = models.ForeignKey("projects.TagLabel", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["annotation", "response", "label"], name="response_label_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label_id} on {self.response_id}"


class AnnotationRevision(models.Model):
    """A superseded version of an annotation, kept whole when its annotator revises it."""

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    # ranking, ratings, rubric_scores, strength, none_acceptable, rationale, spans, labels,
    # time_spent_ms and guideline id as they were in that revision.
    content = models.JSONField()
    # When that revision was made (the annotation's created_at or its revised_at).
    made_at = models.DateTimeField()

    class Meta:
        ordering = ["annotation_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["annotation", "number"], name="annotation_revision_once"
            )
        ]

    def __str__(self) -> str:
        return f"annotation {self.annotation_id} r{self.number}"


class PromptBand(models.Model):
    """One LSH band key of a prompt's MinHash signature: near-duplicate candidates share one."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="bands")
    key = models.CharField(max_length=24)

    class Meta:
        indexes = [models.Index(fields=["project", "key"], name="prompt_band_lookup")]

    def __str__(self) -> str:
        return self.key
