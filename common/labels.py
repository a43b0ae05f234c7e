"""Human words for internal names, for the pages: options and settings as labelled rows,
choice values (``kwise``, ``bradley_terry``, ``best_vs_rest``) as people say them,
worker names, and logs without terminal escape codes.

The internal names stay what the API, the YAML files and the CLI take; only the pages
say them in words. A name missing here falls back to itself with spaces for
underscores, so a new option shows readably before it gets its entry.
"""

import json
import re

# Option keys (run hyper-parameters, snapshot options and their filters) -> label.
OPTION_LABELS = {
    # training runs
    "strategy": "What is trained",
    "pooling": "Pooling",
    "top_layers": "Top layers trained",
    "lora_r": "LoRA rank",
    "lora_alpha": "LoRA alpha",
    "dropout": "Dropout",
    "epochs": "Epochs",
    "steps": "Steps",
    "batch_size": "Batch size",
    "mini_batch_size": "Mini-batch size",
    "ppo_epochs": "PPO epochs per batch",
    "lr": "Learning rate",
    "head_lr": "Learning rate of the head",
    "weight_decay": "Weight decay",
    "warmup": "Warm-up",
    "max_length": "Longest sequence (tokens)",
    "max_prompt_length": "Longest prompt (tokens)",
    "max_new_tokens": "Longest answer (new tokens)",
    "seed": "Random seed",
    "loss": "Ranking loss",
    "loss_type": "DPO loss",
    "beta": "β (strength of the pull to the reference)",
    "log_every": "Log every (steps)",
    "save_every": "Checkpoint every (steps)",
    "sample_every": "Sample answers every (steps)",
    "max_steps": "Stop after (steps)",
    "precision": "Number precision",
    "gpus": "GPUs",
    "distributed": "Several GPUs",
    "temperature": "Sampling temperature",
    "top_k": "Top-k sampling",
    "top_p": "Top-p sampling",
    "chat_template": "Chat template",
    "kl_coef": "KL coefficient",
    "kl_target": "KL target",
    "kl_estimator": "KL estimator",
    "gamma": "Discount (γ)",
    "lam": "GAE λ",
    "cliprange": "Policy clip range",
    "cliprange_value": "Value clip range",
    "vf_coef": "Value loss weight",
    "missing_eos_penalty": "Penalty for an unfinished answer",
    "reward_norm": "Reward normalisation",
    "max_grad_norm": "Gradient clipping (norm)",
    "value_model": "Value model",
    "estimator": "Advantage estimator",
    "num_generations": "Answers per prompt",
    "max_prompts": "Prompts evaluated (at most)",
    "samples_shown": "Sample answers shown",
    "bootstrap": "Bootstrap resamples",
    # dataset snapshots
    "formats": "Formats",
    "file_types": "File types",
    "aggregation": "Rankings",
    "splits": "Splits",
    "train": "Training",
    "validation": "Validation",
    "test": "Test",
    "binarization": "Pairs from a ranking",
    "min_margin": "Smallest margin",
    "none_acceptable": "“None acceptable” items",
    "soft_labels": "Soft labels",
    "style": "Text style",
    "filters": "Filters",
    "rounds": "Rounds",
    "review": "Review",
    "min_agreement": "Smallest agreement",
    "min_annotator_weight": "Smallest annotator weight",
    "created_from": "Made from",
    "created_to": "Made until",
    "tags_present": "With tags",
    "tags_absent": "Without tags",
    "assistance": "Assistance",
}

# Internal choice values -> words. Values that read well as they are ("mean", "ddp" in
# a table of GPUs) still get an entry where a person would not know them.
VALUE_LABELS = {
    # ranking losses and consensus methods
    "kwise": "Bradley–Terry over every pair of a ranking",
    "plackett_luce": "Plackett–Luce (the whole ranking)",
    "bradley_terry": "Bradley–Terry",
    "borda": "Borda count",
    # what a reward run trains
    "full": "the whole model",
    "layerwise": "the top layers",
    "feature": "the head only (frozen encoder)",
    "lora": "LoRA adapters",
    "mean": "mean of the tokens",
    "model": "the model's own",
    # precision and launch
    "auto": "automatic",
    "fp32": "32-bit float",
    "bf16": "bfloat16",
    "ddp": "data parallel (DDP)",
    "zero3": "DeepSpeed ZeRO-3",
    "fsdp": "FSDP",
    "k1": "k1 (log ratio)",
    "k3": "k3 (unbiased, low variance)",
    "running": "running mean and spread",
    "none": "none",
    "separate": "a separate model",
    "shared": "a head on the policy",
    "grpo": "GRPO (group mean and spread)",
    "rloo": "RLOO (leave one out)",
    "sigmoid": "sigmoid (DPO)",
    "ipo": "IPO",
    "hinge": "hinge",
    "robust": "robust to noisy labels",
    # snapshots
    "pairwise": "pairwise (chosen / rejected)",
    "listwise": "listwise (rankings)",
    "sft": "demonstrations (SFT)",
    "ratings": "ratings",
    "spans": "span tags",
    "jsonl": "JSON Lines",
    "parquet": "Parquet",
    "consensus": "one consensus per item",
    "per_annotator": "each annotator's own",
    "conversational": "conversations (role and content)",
    "text": "plain text",
    "all": "every pair",
    "best_vs_rest": "best against each of the rest",
    "best_vs_worst": "best against worst",
    "adjacent": "neighbours in the ranking",
    "margin": "pairs at least the smallest margin apart",
    "exclude": "left out",
    "flag": "kept, flagged",
    "any": "any",
    "reviewed": "reviewed",
    "accepted": "accepted by a reviewer",
    "blind": "blind only",
    "assisted": "assisted only",
    # why an annotation waits for review
    "unsure": "the annotator was unsure",
    "sampled": "sampled at the review rate",
    "guideline": "made under guidelines since changed",
}


# Options whose values people typed (tag names, rounds, dates): shown as they are.
FREE_TEXT = {"rounds", "tags_present", "tags_absent", "created_from", "created_to"}

# What an empty list filter means, in words: no rounds named keeps every round, no tags
# required keeps any item, no tags excluded leaves none out.
EMPTY_FILTER = {"rounds": "all rounds", "tags_present": "any", "tags_absent": "none"}


def option_label(key) -> str:
    """An option's key (``lr``, ``binarization``) as its label."""
    key = str(key)
    return OPTION_LABELS.get(key) or key.replace("_", " ").capitalize()


def human(value) -> str:
    """A stored value in words: choices by their label, booleans yes/no, lists joined."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(human(v) for v in value) or "—"
    if isinstance(value, str):
        return VALUE_LABELS.get(value, value)
    return str(value)


def option_rows(options) -> list[tuple[str, str, str]]:
    """(label, value in words, key) per option, nested groups (splits, filters) flattened
    as "Group · option", in the stored order."""
    rows: list[tuple[str, str, str]] = []
    for key, value in (options or {}).items():
        if isinstance(value, dict):
            for inner, item in value.items():
                label = f"{option_label(key)} · {option_label(inner).lower()}"
                rows.append((label, _shown(inner, item), f"{key}.{inner}"))
        else:
            rows.append((option_label(key), _shown(key, value), str(key)))
    return rows


def _shown(key, value) -> str:
    if isinstance(value, list | tuple) and not value and key in EMPTY_FILTER:
        return EMPTY_FILTER[key]
    if key in FREE_TEXT and isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    if key in FREE_TEXT and value not in (None, ""):
        return str(value)
    return human(value)


def worker_name(hostname: str) -> str:
    """A Celery worker's ``name@host`` in words; the embedded default's workers by role."""
    name, _, host = (hostname or "").partition("@")
    if not host:
        return name
    if name.startswith("embedded"):
        return f"the built-in worker on {host}"
    return f"worker “{name}” on {host}"


# CSI sequences (colours, cursor moves: ESC [ … final byte), OSC sequences (titles,
# links: ESC ] … BEL or ESC \) and the lone two-byte escapes (ESC followed by one char).
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def plain_log(text: str) -> str:
    """A terminal log as plain text: escape codes removed, and of a line that progress
    bars redraw with carriage returns, only what was on screen last."""
    lines = _ANSI.sub("", text or "").replace("\r\n", "\n").split("\n")
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in lines)


# transformers' load report: "<Class> LOAD REPORT from: <path>", a "Key | Status" table,
# a blank line, "Notes:" and one "- STATUS:" line per kind of row.
_LOAD_REPORT = re.compile(
    r"^[^\n]*LOAD REPORT from: [^\n]*\n"
    r"(?P<table>(?:[^\n]*[|+][^\n]*\n)+)"
    r"\nNotes:\n(?:- [^\n]*(?:\n|$))+",
    re.M,
)
# The heads PrefLab puts on a pretrained encoder or policy: missing from its checkpoint
# because they are new, initialised on purpose and fitted by the training.
_NEW_HEADS = ("classifier.", "score.", "v_head.", "value_head.")


def run_log(text: str) -> str:
    """A trainer's log for people: plain text, its final JSON summary left out (the page
    shows it), and transformers' report of a new reward head said in one line."""
    lines = [line for line in plain_log(text).split("\n") if not _json_object(line)]
    return _LOAD_REPORT.sub(_load_report_line, "\n".join(lines))


def _json_object(line: str) -> bool:
    if not line.startswith("{"):
        return False
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _load_report_line(match: re.Match) -> str:
    rows = [row.split("|") for row in match["table"].splitlines()[2:]]
    keys = [row[0].strip() for row in rows]
    if not keys or any(len(r) < 2 or r[1].strip() != "MISSING" for r in rows):
        return match[0]  # anything but a missing head is worth reading as transformers wrote it
    if not all(key.startswith(_NEW_HEADS) for key in keys):
        return match[0]
    return (
        f"A new head ({', '.join(keys)}) was added to the pretrained model with random "
        "weights, on purpose: this training fits it.\n"
    )
