"""Latency percentiles and throughput of one level, from the calls the annotators recorded."""

import math
from collections import Counter
from dataclasses import asdict, dataclass

from benchmarks.load import Call, LevelRun


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (the smallest value with at least q% of values at or below it)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _is_error(status: int) -> bool:
    # 204 (nothing left) is an answer, not an error; every other non-2xx is.
    return not 200 <= status < 300


@dataclass(frozen=True)
class CallStats:
    count: int  # calls sent in the measured window
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: int  # over the whole level, warm-up included
    statuses: dict[str, int]  # over the whole level, warm-up included


def call_stats(calls: list[Call], kind: str, window: tuple[float, float]) -> CallStats:
    mine = [call for call in calls if call.kind == kind]
    measured = sorted(c.seconds * 1000 for c in mine if window[0] <= c.start < window[1])
    return CallStats(
        count=len(measured),
        p50_ms=percentile(measured, 50),
        p95_ms=percentile(measured, 95),
        p99_ms=percentile(measured, 99),
        mean_ms=sum(measured) / len(measured) if measured else float("nan"),
        max_ms=measured[-1] if measured else float("nan"),
        errors=sum(1 for c in mine if _is_error(c.status)),
        statuses={str(k): v for k, v in sorted(Counter(c.status for c in mine).items())},
    )


@dataclass(frozen=True)
class LevelSummary:
    annotators: int
    window_s: float  # length of the measured window
    annotations: int  # 201 submits finished inside the window
    annotations_per_s: float
    claim: CallStats
    submit: CallStats
    submits_total: int  # every 201 of the level, warm-up included (checked against the DB)
    no_content: int  # 204 answers: an annotator found nothing left
    reconnects: int
    # Fairness: annotations (201s, whole level) by the least and the most served annotator.
    per_annotator_min: int
    per_annotator_max: int
    error_samples: list[str]

    @property
    def errors(self) -> int:
        return self.claim.errors + self.submit.errors

    def as_dict(self) -> dict:
        return {**asdict(self), "errors": self.errors}


def level_summary(run: LevelRun) -> LevelSummary:
    calls, (begin, end) = run.calls, run.window
    done = [c for c in calls if c.kind == "submit" and c.status == 201]
    per_annotator = [
        sum(1 for c in a.calls if c.kind == "submit" and c.status == 201) for a in run.annotators
    ]
    in_window = sum(1 for c in done if begin <= c.start + c.seconds <= end)
    return LevelSummary(
        annotators=len(run.annotators),
        window_s=end - begin,
        annotations=in_window,
        annotations_per_s=in_window / (end - begin) if end > begin else float("nan"),
        claim=call_stats(calls, "claim", run.window),
        submit=call_stats(calls, "submit", run.window),
        submits_total=len(done),
        no_content=sum(1 for c in calls if c.status == 204),
        reconnects=sum(a.reconnects for a in run.annotators),
        per_annotator_min=min(per_annotator),
        per_annotator_max=max(per_annotator),
        error_samples=[s for a in run.annotators for s in a.error_samples][:10],
    )
