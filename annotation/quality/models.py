"""Quality control: stored aggregates (per item, per annotator, per annotator pair, per
project) that submits keep up to date, reviews of annotations, and alerts for managers.

The aggregates are derived data: ``services/item_quality.py`` recomputes an item's row
from its annotations whenever they change and logs the difference for the other rows
(QualityDelta), which ``services/quality_fold.py`` adds in; dashboards read a handful
of rows instead of rescanning the project.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from projects.models import Project


class ItemStats(models.Model):
    """Agreement and consensus of one item, recomputed from its counted judgements."""

    item = models.OneToOneField(
        "annotation.Item", primary_key=True, on_delete=models.CASCADE, related_name="stats"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    judgements = models.PositiveSmallIntegerField(default=0)
    # Over every annotator pair and every response pair both ranked.
    pairs_same = models.PositiveIntegerField(default=0)
    pairs_total = models.PositiveIntegerField(default=0)
    # pairs_same / pairs_total; null until two annotators have judged the item.
    agreement = models.FloatField(null=True, blank=True)
    kendall_w = models.FloatField(null=True, blank=True)
    tau_b_mean = models.FloatField(null=True, blank=True)
    consensus = models.JSONField(default=list, blank=True)  # tiers of response ids
    consensus_method = models.CharField(max_length=16, blank=True)
    consensus_scores = models.JSONField(default=dict, blank=True)  # {"<id>": score}
    pair_confidence = models.JSONField(default=dict, blank=True)  # {"<a>,<b>": P(a beats b)}
    # What the row was computed from ({"rankings", "display", "weights", "lengths",
    # "gold"} keyed by user id), so its contribution to the other aggregates can be
    # taken back out exactly when the item changes.
    basis = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The disagreement list reads it in order: worst agreement first, item id next.
            models.Index(
                fields=["project", "agreement", "item"],
                condition=Q(agreement__isnull=False),
                name="item_stats_agreement",
            )
        ]

    def __str__(self) -> str:
        return f"stats of item {self.item_id}"


class ProjectStatsShard(models.Model):
    """A project's running sums. Readers add up every shard row of the project; the fold
    (the only writer) uses one, and more can be added if folding is ever spread out."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    shard = models.PositiveSmallIntegerField()
    items_multi = models.IntegerField(default=0)  # items with two or more judgements
    pairs_same = models.BigIntegerField(default=0)
    pairs_total = models.BigIntegerField(default=0)
    w_sum = models.FloatField(default=0.0)
    w_n = models.IntegerField(default=0)
    tau_sum = models.FloatField(default=0.0)
    tau_n = models.IntegerField(default=0)
    # Krippendorff coincidence counts {"<rank c>|<rank k>": count}; summable across items.
    coincidences = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "shard"], name="project_stats_shard_once")
        ]

    def __str__(self) -> str:
        return f"{self.project_id}/{self.shard}"


class AnnotatorStats(models.Model):
    """One annotator's quality figures in one project.

    The sums are kept up to date by submits; the medians, rates and the reliability
    weight by the background refresh (``services/annotator_quality.py``).
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    judgements = models.IntegerField(default=0)
    # Agreement with the leave-one-out consensus (the item's other annotators).
    loo_same = models.FloatField(default=0.0)
    loo_total = models.FloatField(default=0.0)
    # Pairwise agreement with gold rankings.
    gold_same = models.IntegerField(default=0)
    gold_total = models.IntegerField(default=0)
    gold_items = models.IntegerField(default=0)
    # Position bias: credit when the first-shown response is ranked top, and its chance
    # expectation (1/K per judgement) with the binomial variance, for a z-score.
    first_top = models.FloatField(default=0.0)
    first_expected = models.FloatField(default=0.0)
    first_variance = models.FloatField(default=0.0)
    # Length bias: the sum of per-judgement tau-b between rank and response length.
    length_tau_sum = models.FloatField(default=0.0)
    length_tau_n = models.IntegerField(default=0)
    # Refreshed in the background.
    median_time_ms = models.IntegerField(null=True, blank=True)
    skips = models.IntegerField(default=0)
    skip_rate = models.FloatField(null=True, blank=True)
    cyclic_triads = models.IntegerField(default=0)
    complete_triads = models.IntegerField(default=0)
    speed_flag = models.BooleanField(default=False)
    weight = models.FloatField(default=1.0)
    # [{"day": "2026-11-20", "n": 12, "loo": 0.8}], the last days with work, for sparklines.
    trend = models.JSONField(default=list, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="annotator_stats_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.project_id}"

    @property
    def gold_score(self) -> float | None:
        return self.gold_same / self.gold_total if self.gold_total else None

    @property
    def loo_agreement(self) -> float | None:
        return self.loo_same / self.loo_total if self.loo_total else None

    @property
    def position_first_rate(self) -> float | None:
        """How often the first-shown response was ranked top (ties share the credit)."""
        return self.first_top / self.judgements if self.judgements else None

    @property
    def position_chance_rate(self) -> float | None:
        return self.first_expected / self.judgements if self.judgements else None

    @property
    def position_z(self) -> float | None:
        """Standard deviations above chance; above 3 is a clear position bias."""
        if self.first_variance <= 0:
            return None
        return (self.first_top - self.first_expected) / self.first_variance**0.5

    @property
    def length_bias(self) -> float | None:
        """Mean tau-b of rank against length: +1 always prefers longer, -1 shorter."""
        return self.length_tau_sum / self.length_tau_n if self.length_tau_n else None

    @property
    def cycle_rate(self) -> float | None:
        return self.cyclic_triads / self.complete_triads if self.complete_triads else None


class AnnotatorPairStats(models.Model):
    """Agreement between two annotators over the items both judged (user_a < user_b)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    user_a = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    user_b = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    items = models.IntegerField(default=0)
    pairs_same = models.IntegerField(default=0)
    pairs_total = models.IntegerField(default=0)
    tau_sum = models.FloatField(default=0.0)
    tau_n = models.IntegerField(default=0)
    coincidences = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user_a", "user_b"], name="annotator_pair_stats_once"
            ),
            models.CheckConstraint(
                condition=Q(user_a__lt=models.F("user_b")), name="annotator_pair_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_a_id}~{self.user_b_id} in {self.project_id}"


class ReviewVerdict(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    CORRECTED = "corrected", "Corrected"


class Review(models.Model):
    """A reviewer's verdict on one annotation; a correction is the reviewer's own annotation."""

    annotation = models.ForeignKey(
        "annotation.Annotation", on_delete=models.CASCADE, related_name="reviews"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    verdict = models.CharField(max_length=16, choices=ReviewVerdict.choices)
    # Shown to the annotator; required for a rejection.
    comment = models.TextField(blank=True)
    correction = models.ForeignKey(
        "annotation.Annotation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="corrects",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "created_at"], name="review_project_created")]

    def __str__(self) -> str:
        return f"{self.verdict} {self.annotation_id}"


class AlertKind(models.TextChoices):
    GOLD_LOW = "gold_low", "Gold score below the threshold"
    SPEED = "speed", "Implausibly fast"


class QualityAlert(models.Model):
    """Something about an annotator a manager should look at; open until resolved."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=AlertKind.choices)
    message = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user", "kind"],
                condition=Q(resolved_at__isnull=True),
                name="quality_alert_open_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.user_id}"


class ProjectQualitySummary(models.Model):
    """What the dashboard draws over time, rebuilt by the background refresh."""

    project = models.OneToOneField(
        Project, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    median_time_ms = models.IntegerField(null=True, blank=True)
    # {"days": ["2026-11-20", ...], "annotations": [...], "agreement": [...],
    #  "agreement_bins": [[label, count], ...], "rounds": [{"round", "complete",
    #  "in_progress", "open"}], "tags": [...], "wins": [...]}
    series = models.JSONField(default=dict, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"quality summary of {self.project_id}"


class QualityDelta(models.Model):
    """What one change of an item adds to the shared sums, waiting to be folded in.

    Submits only append these (one INSERT, no lock on any shared row); the fold
    (``services/quality_fold.py``) adds them to the annotator, pair and project rows in
    batches and deletes them. Readers fold first, so figures are always complete.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    # {"<user id>": {sum: delta}}, {"<a>,<b>": {sum: delta}}, {"<a>,<b>": {cell: delta}},
    # {sum: delta}, {cell: delta}
    annotators = models.JSONField(default=dict, blank=True)
    pairs = models.JSONField(default=dict, blank=True)
    pair_coincidences = models.JSONField(default=dict, blank=True)
    project_sums = models.JSONField(default=dict, blank=True)
    project_coincidences = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["project", "id"], name="quality_delta_project")]

    def __str__(self) -> str:
        return f"delta {self.pk} of {self.project_id}"
