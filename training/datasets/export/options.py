"""A snapshot's options: what to export, how, and which annotations count.

``options_check`` turns what a form, the API or the CLI sent into ``ExportOptions``, or
raises ``ValueError`` naming the field that is wrong. ``as_dict`` is what the manifest
records, so a snapshot says exactly how it was made.
"""

import math
from dataclasses import asdict, dataclass, field
from datetime import date

from training.datasets.export.binarize import Binarization
from training.datasets.export.splits import splits_check

FORMATS = ("pairwise", "listwise", "sft", "ratings", "spans")
FILE_TYPES = ("jsonl", "parquet")
AGGREGATIONS = ("consensus", "per_annotator")
STYLES = ("conversational", "text")
NONE_ACCEPTABLE = ("exclude", "flag")
REVIEW_FILTERS = ("any", "reviewed", "accepted")
ASSISTANCE_FILTERS = ("any", "blind", "assisted")


@dataclass(frozen=True)
class Filters:
    rounds: tuple[int, ...] = ()  # empty: every round
    review: str = "any"  # any / reviewed (has a verdict) / accepted (accepted or corrected)
    min_agreement: float | None = None  # items with lower pairwise agreement are left out
    min_annotator_weight: float | None = None  # annotations of lighter annotators left out
    created_from: str | None = None  # ISO dates, inclusive, on the annotation's creation
    created_to: str | None = None
    tags_present: tuple[str, ...] = ()  # the item has a span tag or label with each name
    tags_absent: tuple[str, ...] = ()  # ... and none with these
    # blind / assisted: only annotations made without / with the reward model's suggestion.
    assistance: str = "any"


@dataclass(frozen=True)
class ExportOptions:
    formats: tuple[str, ...] = ("pairwise",)
    file_types: tuple[str, ...] = ("jsonl", "parquet")
    aggregation: str = "per_annotator"
    splits: dict = field(default_factory=lambda: {"train": 0.9, "test": 0.1})
    seed: int = 0
    binarization: str = Binarization.ALL.value
    min_margin: float = 0.0
    none_acceptable: str = "exclude"
    soft_labels: bool = False
    style: str = "conversational"
    filters: Filters = field(default_factory=Filters)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["filters"] = asdict(self.filters)
        return data


def _choices(name: str, value, allowed: tuple[str, ...], *, many: bool) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) and not many else value
    if isinstance(values, str):
        values = [v.strip() for v in values.split(",") if v.strip()]
    if not isinstance(values, list | tuple) or not values:
        raise ValueError(f"{name}: choose from {', '.join(allowed)}")
    for v in values:
        if v not in allowed:
            raise ValueError(f"{name}: unknown value {v!r} (choose from {', '.join(allowed)})")
    return tuple(dict.fromkeys(values))


def _number(name: str, value, *, low=None, high=None, integer=False):
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name}: must be a number, got {value!r}")
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name}: must be a number, got {value!r}") from None
    if not math.isfinite(number):  # "nan" parses; jsonb and every comparison refuse it
        raise ValueError(f"{name}: must be a finite number, got {value!r}")
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"{name}: must be between {low} and {high}, got {value!r}")
    return number


def _date(name: str, value) -> str | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValueError(f"{name}: must be a date such as 2026-01-31, got {value!r}") from None


def _names(name: str, value) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name}: must be a list of tag names")
    for v in value:
        if "\x00" in v or any(0xD800 <= ord(c) <= 0xDFFF for c in v):
            raise ValueError(f"{name}: {v!r} holds a character a tag name cannot have")
    return tuple(sorted({v for v in value if v}))


def filters_check(raw) -> Filters:
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ValueError("filters: must be an object")
    unknown = sorted(set(raw) - set(Filters.__dataclass_fields__))
    if unknown:
        raise ValueError(f"filters.{unknown[0]}: unknown filter")
    rounds = raw.get("rounds") or ()
    if isinstance(rounds, str):
        rounds = [r for r in rounds.split(",") if r.strip()]
    if not isinstance(rounds, list | tuple):
        raise ValueError("filters.rounds: must be a list of round numbers")
    created_from = _date("filters.created_from", raw.get("created_from"))
    created_to = _date("filters.created_to", raw.get("created_to"))
    if created_from and created_to and created_from > created_to:
        raise ValueError("filters.created_to: is before filters.created_from")
    return Filters(
        rounds=tuple(sorted({_number("filters.rounds", r, low=1, integer=True) for r in rounds})),
        review=_choices("filters.review", raw.get("review") or "any", REVIEW_FILTERS, many=False)[
            0
        ],
        min_agreement=_number("filters.min_agreement", raw.get("min_agreement"), low=0, high=1),
        min_annotator_weight=_number(
            "filters.min_annotator_weight", raw.get("min_annotator_weight"), low=0, high=1
        ),
        created_from=created_from,
        created_to=created_to,
        tags_present=_names("filters.tags_present", raw.get("tags_present")),
        tags_absent=_names("filters.tags_absent", raw.get("tags_absent")),
        assistance=_choices(
            "filters.assistance", raw.get("assistance") or "any", ASSISTANCE_FILTERS, many=False
        )[0],
    )


def options_check(raw: dict) -> ExportOptions:
    """Validated options; ``ValueError("field: what is wrong")`` otherwise."""
    if not isinstance(raw, dict):
        raise ValueError("options: must be an object")
    known = set(ExportOptions.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown option")
    defaults = ExportOptions()
    get = raw.get
    seed = _number("seed", get("seed", defaults.seed), integer=True)
    return ExportOptions(
        formats=_choices("formats", get("formats", defaults.formats), FORMATS, many=True),
        file_types=_choices(
            "file_types", get("file_types", defaults.file_types), FILE_TYPES, many=True
        ),
        aggregation=_choices(
            "aggregation", get("aggregation", defaults.aggregation), AGGREGATIONS, many=False
        )[0],
        splits=splits_check(get("splits", defaults.splits)),
        seed=0 if seed is None else seed,
        binarization=_choices(
            "binarization",
            get("binarization", defaults.binarization),
            tuple(b.value for b in Binarization),
            many=False,
        )[0],
        min_margin=_number("min_margin", get("min_margin", 0), low=0) or 0.0,
        none_acceptable=_choices(
            "none_acceptable", get("none_acceptable", "exclude"), NONE_ACCEPTABLE, many=False
        )[0],
        soft_labels=bool(get("soft_labels", False)),
        style=_choices("style", get("style", defaults.style), STYLES, many=False)[0],
        filters=filters_check(get("filters")),
    )
