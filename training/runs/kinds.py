"""What each kind of run is: its typed config (the one definition of its options, from
which the trainer's command line, the API's checks, the launch forms and the run page's
settings are derived), the trainer module and command it runs, the snapshot files and
models it needs, the kind of model it registers and the charts its page draws. The
launch, the worker and the pages look a run's kind up here instead of comparing kinds.

Imports no torch: the configs in ``training.ml.configs`` are plain dataclasses.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.files.storage import default_storage

from common.jobs import JobState
from common.labels import option_rows
from training.datasets.models import DatasetSnapshot
from training.ml.configs import TRAINER_CONFIGS, ConfigField, config_fields
from training.ml.configs.base import option
from training.runs.models import ArtifactKind, RunKind, TrainingRun


def _file(snapshot: DatasetSnapshot, fmt: str, split: str) -> str | None:
    found = snapshot.files.filter(format=fmt, split=split, file_type="jsonl").first()
    return default_storage.path(f"{snapshot.path}/{found.name}") if found else None


def _finished(snapshot: DatasetSnapshot) -> None:
    if snapshot.state != JobState.SUCCEEDED:
        raise ValueError(f"snapshot: snapshot {snapshot.number} has not finished")


def reward_data(snapshot: DatasetSnapshot) -> dict:
    """The snapshot's listwise JSONL (pairwise when it has no listwise) by role: train
    data, and the validation split (or test) to evaluate on."""
    _finished(snapshot)
    for fmt in ("listwise", "pairwise"):
        train = _file(snapshot, fmt, "train")
        if train:
            evaluate = _file(snapshot, fmt, "validation") or _file(snapshot, fmt, "test")
            return {"data": [train], "eval_data": [evaluate] if evaluate else []}
    raise ValueError(
        f"snapshot: snapshot {snapshot.number} has no listwise or pairwise JSONL train split"
    )


def prompt_data(snapshot: DatasetSnapshot) -> dict:
    """The prompts a policy run answers: the snapshot's train split of its sft file, or
    of its listwise or pairwise file (each row has a ``prompt``)."""
    _finished(snapshot)
    for fmt in ("sft", "listwise", "pairwise"):
        train = _file(snapshot, fmt, "train")
        if train:
            return {"prompts": [train]}
    raise ValueError(f"snapshot: snapshot {snapshot.number} has no JSONL train split with prompts")


def demonstration_data(snapshot: DatasetSnapshot) -> dict:
    """An SFT run's files: the snapshot's sft train split, and its validation (or test)
    split for held-out perplexity."""
    _finished(snapshot)
    train = _file(snapshot, "sft", "train")
    if not train:
        raise ValueError(f"snapshot: snapshot {snapshot.number} has no sft JSONL train split")
    held = _file(snapshot, "sft", "validation") or _file(snapshot, "sft", "test")
    return {"data": [train], "eval_data": [held] if held else []}


def evaluation_data(snapshot: DatasetSnapshot) -> dict:
    """An evaluation's held-out files: the prompts of the snapshot's validation split
    (else test) of its sft, listwise or pairwise file, and the held-out sft split as
    written demonstrations. Training prompts are never used: a policy is judged on
    prompts it did not train on."""
    _finished(snapshot)
    data = {}
    for split in ("validation", "test"):
        demonstrations = _file(snapshot, "sft", split)
        if demonstrations:
            data["demonstrations"] = [demonstrations]
        for fmt in ("listwise", "pairwise"):
            prompts = _file(snapshot, fmt, split)
            if prompts:
                data["prompts"] = [prompts]
                break
        if data:
            return data
    raise ValueError(
        f"snapshot: snapshot {snapshot.number} has no validation or test split to evaluate on "
        "(export one with a held-out share)"
    )


def _base_model(run: TrainingRun) -> dict:
    """A reward model trains from the run's base model, else the trainer's default."""
    return {"base_model": run.base_model} if run.base_model else {}


def _policy(run: TrainingRun) -> dict:
    """A policy trains from the run's base model, else the built-in tiny model."""
    return {"policy": run.base_model or "tiny"}


def _scored_policy(run: TrainingRun) -> dict:
    """A policy trained against the run's reward model (PPO, GRPO)."""
    return {"reward_model": run.reward_model.path, **_policy(run)}


def _evaluated_policy(run: TrainingRun) -> dict:
    """A registered policy judged by the run's reward model against its reference."""
    return {"policy": run.policy.path, "reward_model": run.reward_model.path,
            "reference": run.reference or None}  # fmt: skip


@dataclass(frozen=True)
class RunKindSpec:
    """One kind of run: everything the services, the worker and the pages decide by kind
    is read from here, so a new kind is one new entry (plus its config and trainer)."""

    kind: str
    # The ``training.ml`` module (``python -m training.ml.<trainer> <command>``).
    trainer: str
    command: str
    # The snapshot's files the run reads; a ValueError naming ``snapshot`` when it has none
    # (the launch calls it as its check, the worker for the trainer's config).
    data: Callable[[DatasetSnapshot], dict]
    # The models the trainer's config names, from the run's fields.
    models: Callable[[TrainingRun], dict]
    # What it registers when it succeeds (None: an evaluation registers nothing; its
    # figures go onto the evaluated policy).
    artifact: str | None
    # Its curves: a key of ``training.runs.charts.CURVES`` (None: none of its own).
    charts: str | None
    # Its summary's charts (and table): a key of ``training.runs.charts.REPORTS``.
    report: str
    # How messages name one run of the kind ("a PPO run").
    named: str
    # The launch needs a registered reward model of the project (to score or judge with).
    needs_reward_model: bool = False
    # The launch takes a registered policy to evaluate and the reference it is compared
    # with; the run keeps both.
    takes_policy: bool = False
    # Its page draws reward against √KL (PPO logs KL per response).
    reward_against_kl: bool = False
    # TRL-backed runs (transformers' Trainer) shard under DeepSpeed ZeRO-3 and FSDP;
    # PrefLab's own trainers (reward model, PPO) are data parallel (DDP) only.
    sharded: bool = False

    @property
    def config(self) -> type:
        return TRAINER_CONFIGS[self.trainer]

    @property
    def module(self) -> str:
        return f"training.ml.{self.trainer}"

    def options(self) -> tuple[ConfigField, ...]:
        """The options the launch form and the API may set: the config's tunable ones in
        its order, then the launch's (an evaluation runs on one GPU)."""
        tunable = tuple(f for f in config_fields(self.config) if f.tunable)
        return tunable if self.kind == RunKind.EVAL else tunable + LAUNCH_OPTIONS

    def option_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.options())


RUN_KINDS = {
    spec.kind: spec
    for spec in (
        RunKindSpec(
            RunKind.REWARD, "reward", "train", reward_data, _base_model, ArtifactKind.REWARD,
            charts="reward", report="calibration", named="a reward-model run",
        ),
        RunKindSpec(
            RunKind.SFT, "sft", "train", demonstration_data, _policy, ArtifactKind.POLICY,
            charts="sft", report="calibration", named="an SFT run", sharded=True,
        ),
        RunKindSpec(
            RunKind.DPO, "dpo", "train", reward_data, _policy, ArtifactKind.POLICY,
            charts="dpo", report="calibration", named="a DPO run", sharded=True,
        ),
        RunKindSpec(
            RunKind.PPO, "ppo", "train", prompt_data, _scored_policy, ArtifactKind.POLICY,
            charts="ppo", report="calibration", named="a PPO run", needs_reward_model=True,
            reward_against_kl=True,
        ),
        RunKindSpec(
            RunKind.GRPO, "grpo", "train", prompt_data, _scored_policy, ArtifactKind.POLICY,
            charts="grpo", report="calibration", named="a GRPO run", needs_reward_model=True,
            sharded=True,
        ),
        RunKindSpec(
            RunKind.EVAL, "policy_eval", "evaluate", evaluation_data, _evaluated_policy, None,
            charts=None, report="win_rate", named="an evaluation run", needs_reward_model=True,
            takes_policy=True,
        ),
    )
}  # fmt: skip


def run_kind(kind: str) -> RunKindSpec:
    """The spec of ``kind``; a ValueError naming ``kind`` when there is none."""
    try:
        return RUN_KINDS[kind]
    except KeyError:
        raise ValueError(f"kind: {kind!r} runs are not available yet") from None


@dataclass
class LaunchConfig:
    """Options of the launch rather than the trainer: ``gpus`` > 1 starts the trainer
    under ``accelerate launch`` with that many processes and the config ``distributed``
    names (see ``run_launcher.trainer_command``)."""

    gpus: int = option(
        1, "GPUs the run trains on (more than one: accelerate launch)", unit="GPUs", min=1,
        max=64,
    )  # fmt: skip
    distributed: str = option(
        "ddp", "how several GPUs share the work", choices=("ddp", "zero3", "fsdp"),
        reason="ZeRO-3 and FSDP shard the TRL-backed runs (sft, dpo, grpo) over the GPUs",
    )  # fmt: skip


LAUNCH_OPTIONS = config_fields(LaunchConfig)


def run_settings(kind: str, hyperparameters: dict) -> list[dict]:
    """The run page's settings table: per option its label and value in words (as
    ``common.labels`` says them), and, from the kind's config, its help and unit."""
    spec = RUN_KINDS.get(kind)
    fields = {f.name: f for f in spec.options()} if spec else {}
    rows = []
    for label, value, key in option_rows(hyperparameters):
        f = fields.get(key)
        help_text = f"{key}: {f.help}" if f else key
        unit = f.unit if f and f.unit and not f.choices else ""
        rows.append({"label": label, "value": value, "key": key, "help": help_text,
                     "unit": unit})  # fmt: skip
    return rows
