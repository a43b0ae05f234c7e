"""What the import parser yields: a validated row, or an error that points at a line and field."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ImportedResponse:
    """One response to compare, as given in the file."""

    text: str
    model_name: str = ""  # from {"text": ..., "model": ...}; empty when the file does not say
    metadata: dict = field(default_factory=dict)  # from {"text": ..., "metadata": {...}}


@dataclass(frozen=True)
class ImportRow:
    """One valid row: a prompt and its K responses, ready to insert."""

    line: int  # 1-based line (JSONL), or the 1-based physical line where the CSV record starts
    # The row's "id" as a string, or "sha256:<32 hex>" of its messages and response texts.
    external_id: str
    messages: list[dict]  # a conversation [{"role", "content"}, ...] whose last role is "user"
    responses: list[ImportedResponse]
    metadata: dict
    priority: int = 0
    batch: str = ""  # per-row batch name; empty means the import's default batch
    preferred_index: int | None = None  # TRL rows: index of `chosen` (always 0)
    # A gold item's known ranking: tiers of indices into ``responses``, best first.
    gold: tuple[tuple[int, ...], ...] | None = None


@dataclass(frozen=True)
class RowError:
    """One problem in the file; the parser yields every one it finds."""

    line: int  # 0 when the problem is the file as a whole (e.g. it has no rows)
    field: str  # e.g. "prompt", "responses[2].text", "id", "(row)", "(file)", "(header)"
    message: str  # says what is wrong and what is expected

    def __str__(self) -> str:
        return f"line {self.line}, field {self.field}: {self.message}"
