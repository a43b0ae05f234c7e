from common.apps import SubdomainModelsConfig


class TrainingConfig(SubdomainModelsConfig):
    default = True
    name = "training"
    model_packages = ("datasets", "runs", "loop")

    def ready(self) -> None:
        from annotation.model_scores import score_source_register
        from common.jobs import JobKind, job_kind_register
        from projects.panels import panel_register
        from projects.permissions import Capability
        from training.loop import receivers  # noqa: F401  (connects them)
        from training.loop.selectors import reward_scores, round_stats_if_any
        from training.runs.attention import runs_needing_attention

        score_source_register(reward_scores)
        panel_register(
            "rounds", lambda *, user, project: round_stats_if_any(project),
            capability=Capability.EXPORT,
        )  # fmt: skip
        # The project page's "needs attention": failed, waiting and stalled runs.
        panel_register("runs_attention", runs_needing_attention, capability=Capability.EXPORT)

        job_kind_register(
            JobKind(
                task="training.export_snapshot", model="training.DatasetSnapshot",
                queue="default", noun="snapshot", progress="snapshot",
                on_stop="training.datasets.services.snapshots.snapshot_scratch_clear",
            )
        )  # fmt: skip
        job_kind_register(
            JobKind(
                task="training.run_execute", model="training.TrainingRun",
                queue="gpu", noun="run",
                heartbeat_setting="PREFLAB_RUN_HEARTBEAT_TIMEOUT",
                heartbeat_reason="the worker running it stopped (no heartbeat for {seconds} s); "
                "launch it again to resume from its last checkpoint",
            )
        )  # fmt: skip
        job_kind_register(
            JobKind(
                task="training.generation_job_run", model="training.GenerationJob",
                queue="gpu", noun="generation job", progress="generation",
            )
        )  # fmt: skip
