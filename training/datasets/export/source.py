"""What the export reads for one item: plain data, filled by ``training/services/export_source``."""

from dataclasses import dataclass, field


@dataclass
class SourceResponse:
    id: int
    text: str
    model: str  # the generating model's name, "" for people
    origin: str  # import / writer / queue / model / rewrite
    generation: str  # generation settings when a model wrote it, as sorted-key JSON text
    pasted: bool  # the writer pasted most of it


@dataclass
class SourceJudgement:
    annotation_id: int
    user_id: int
    kind: str
    ranking: list[list[int]]  # tiers of response ids, best first
    ratings: dict[str, int]  # rate mode: {"<response id>": score}
    rubric: dict
    strength: int | None
    none_acceptable: bool
    time_spent_ms: int
    guideline_version: int | None
    shown_order: list[int]  # response ids in the order the page showed them
    assisted: bool
    review: str  # the latest review verdict, "" if never reviewed
    created_at: str  # ISO 8601, UTC
    weight: float  # the annotator's reliability weight
    spans: list[dict] = field(default_factory=list)  # {response, start, end, label, note}
    labels: list[dict] = field(default_factory=list)  # {response, label}


@dataclass
class SourceItem:
    item_id: int
    round: int
    messages: list[dict]  # the prompt conversation
    group_key: str  # the prompt's normalised hash: the unit of splitting
    prompt_pasted: bool
    responses: list[SourceResponse]  # in the item's stored order
    judgements: list[SourceJudgement]
    consensus: list[list[int]]  # tiers of response ids; [] before any judgement
    pair_confidence: dict[str, float]  # {"<a>,<b>": P(a beats b)}, a < b
    agreement: float | None
    scale: int = 5  # rate mode's top score
