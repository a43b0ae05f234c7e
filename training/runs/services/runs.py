"""Create, cancel and re-launch training runs; read their metrics.

The work itself happens in ``run_launcher`` inside a Celery task on the ``gpu`` queue;
everything here is quick and safe to call from a request.
"""

import logging

from common.errors import ApplicationError, ConflictError, ServiceUnavailableError
from common.idempotency import create_once
from common.jobs import JobState, job_cancel, job_enqueue_on_commit
from common.workers import training_unavailable_reason
from projects.models import Project
from training.datasets.models import DatasetSnapshot
from training.runs.kinds import RunKindSpec, run_kind
from training.runs.models import ArtifactKind, ModelArtifact, RunKind, TrainingRun
from training.runs.services.options import hyperparameters_check

logger = logging.getLogger(__name__)


def _invalid(exc: ValueError) -> ApplicationError:
    field = str(exc).split(":", 1)[0]
    return ApplicationError(str(exc), extra={"field": field})


def run_create(
    *,
    project: Project,
    user,
    kind: str,
    snapshot: DatasetSnapshot | None,
    hyperparameters: dict | None = None,
    base_model: str = "",
    name: str = "",
    client_token: str | None = None,
    enqueue: bool = True,
    reward_model: ModelArtifact | None = None,
    policy: ModelArtifact | None = None,
    reference: str = "",
    reference_policy: ModelArtifact | None = None,
) -> tuple[TrainingRun, bool]:
    """A queued run (checked options) and whether it is new; the same client token
    returns the earlier run instead of training twice. A reward-model run trains on the
    snapshot's rankings, as does a DPO run (a policy); an SFT run on its demonstrations
    (``sft`` files); a PPO run
    answers the snapshot's prompts and is scored by ``reward_model`` (a registered reward
    model of the project). An evaluation run judges ``policy`` (a registered policy) on
    the snapshot's held-out prompts with ``reward_model``, against ``reference`` (a
    policy path or hub name), else ``reference_policy`` (a registered policy), else the
    model the evaluated policy's training started from."""

    def create(token: str | None) -> TrainingRun:
        # Checked only when the token is new: a retried launch returns its run even if
        # the options or the workers have changed since.
        if kind not in RunKind.values:
            raise ApplicationError(
                f"kind: one of {', '.join(RunKind.values)}", extra={"field": "kind"}
            )
        spec = run_kind(kind)
        if enqueue:
            training_stack_check()
        checked, reward, ref = _launch_check(
            project,
            spec,
            snapshot,
            hyperparameters,
            reward_model,
            policy,
            reference,
            reference_policy,
        )
        return TrainingRun.objects.create(
            project=project,
            kind=kind,
            name=name[:200],
            base_model=base_model.strip()[:500],
            snapshot=snapshot,
            reward_model=reward,
            policy=policy if spec.takes_policy else None,
            reference=ref.strip()[:500] if spec.takes_policy else "",
            hyperparameters=checked,
            created_by=user,
            client_token=token,
        )

    run, created = create_once(
        TrainingRun,
        client_token=client_token,
        owner={"project": project, "created_by": user},
        create=create,
    )
    if created and enqueue:
        job_enqueue_on_commit(run)
    return run, created


def _launch_check(
    project: Project,
    spec: RunKindSpec,
    snapshot: DatasetSnapshot | None,
    hyperparameters: dict | None,
    reward_model: ModelArtifact | None,
    policy: ModelArtifact | None,
    reference: str,
    reference_policy: ModelArtifact | None,
) -> tuple[dict, ModelArtifact | None, str]:
    """The checked hyperparameters, the reward model the run keeps and its reference, as
    the run's kind says (``training.runs.kinds``); ApplicationError naming the field when
    the launch cannot train."""
    try:
        checked = hyperparameters_check(spec.kind, hyperparameters or {})
        if snapshot is None:
            raise ValueError("snapshot: a run trains on a snapshot")
        if snapshot.project_id != project.pk:
            raise ValueError("snapshot: not a snapshot of this project")
        spec.data(snapshot)  # the files it reads are there
        if spec.needs_reward_model:
            _check_reward_model(project, reward_model, spec.named)
        else:
            reward_model = None
        if spec.takes_policy:
            _check_policy(project, policy)
            reference = _reference_of(project, reference, reference_policy, policy)
    except ValueError as exc:
        raise _invalid(exc) from exc
    return checked, reward_model, reference


def _check_reward_model(project: Project, artifact: ModelArtifact | None, what: str) -> None:
    if artifact is None:
        raise ValueError(f"reward_model: {what} needs a registered reward model")
    if artifact.project_id != project.pk or artifact.kind != ArtifactKind.REWARD:
        raise ValueError("reward_model: not a reward model of this project")


def policy_start_model(policy: ModelArtifact) -> str:
    """The model a registered policy's training started from: the natural reference of
    its evaluation; "" when it started from the built-in tiny model (nothing to load)."""
    return "" if policy.base_model in ("", "tiny") else policy.base_model


def _reference_of(project, typed: str, registered: ModelArtifact | None, policy) -> str:
    """What an evaluation compares the policy with, the same from the page and the API."""
    if typed.strip():
        return typed.strip()
    if registered is not None:
        if registered.project_id != project.pk or registered.kind != ArtifactKind.POLICY:
            raise ValueError("reference_policy: not a policy of this project")
        return registered.path
    return policy_start_model(policy)


def _check_policy(project: Project, artifact: ModelArtifact | None) -> None:
    if artifact is None:
        raise ValueError("policy: an evaluation run needs a registered policy")
    if artifact.project_id != project.pk or artifact.kind != ArtifactKind.POLICY:
        raise ValueError("policy: not a policy of this project")


def training_stack_check() -> None:
    """Refuse a launch no worker can train: the gpu workers said torch does not import
    there (the message names the command that installs it)."""
    reason = training_unavailable_reason()
    if reason:
        raise ServiceUnavailableError(reason, extra={"field": "kind"})


def run_cancel(*, run: TrainingRun) -> TrainingRun:
    """Ask the launcher to stop the trainer (it reads ``cancel_requested`` and kills the
    process group); a queued run that no worker has taken yet, or one no live worker runs
    any more, is cancelled at once (``common.jobs.job_cancel``)."""
    return job_cancel(run)


def run_relaunch(*, run: TrainingRun) -> TrainingRun:
    """Queue a failed or cancelled run again; the trainer resumes from its latest
    checkpoint."""
    training_stack_check()
    # One conditional UPDATE: a double click or a retried request finds the run queued
    # (or already claimed) and queues nothing more.
    relaunched = TrainingRun.objects.filter(
        pk=run.pk, state__in=[JobState.FAILED, JobState.CANCELLED]
    ).update(state=JobState.QUEUED, cancel_requested=False, error="", finished_at=None)
    if not relaunched:
        raise ConflictError("only a failed or cancelled run can be launched again")
    run.refresh_from_db()
    job_enqueue_on_commit(run)
    return run


def run_progress(run: TrainingRun) -> dict:
    share = 1.0 if run.state == JobState.SUCCEEDED else 0.0
    if run.total_steps and run.state != JobState.SUCCEEDED:
        share = min(run.step / run.total_steps, 1.0)
    return {
        "state": run.state,
        "step": run.step,
        "total_steps": run.total_steps,
        "share": share,
        "eta_seconds": run.eta_seconds if run.state == JobState.RUNNING else None,
    }


def run_series(run: TrainingRun, names: tuple[str, ...]) -> dict[str, list[tuple[int, float]]]:
    """(step, value) per metric name, in step order, for the curves."""
    series: dict[str, list] = {name: [] for name in names}
    for step, values in run.metrics.values_list("step", "values"):
        for name in names:
            value = values.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                series[name].append((step, float(value)))
    return series


def run_reward_and_kl(run: TrainingRun) -> list[tuple[float, float]]:
    """(KL, mean reward) of a PPO run's steps, in step order."""
    rows = run.metrics.filter(values__has_key="reward_mean").order_by("step")
    return [(v.get("kl") or 0.0, v["reward_mean"]) for v in rows.values_list("values", flat=True)]


def run_latest_samples(run: TrainingRun) -> tuple[int, list]:
    """(step, rows) of the newest table of sample prompts and responses a policy run
    wrote; (0, []) before the first."""
    row = run.metrics.filter(values__event="samples").order_by("-step", "-id").first()
    return (row.step, row.values.get("samples") or []) if row else (0, [])
