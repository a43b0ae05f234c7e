from common.apps import SubdomainModelsConfig


class TrainingConfig(SubdomainModelsConfig):
    default = True
    name = "training"
    model_packages = ("datasets", "runs", "loop")

    def ready(self) -> None:
        from common.jobs import JobKind, job_kind_register
        from training.loop import receivers  # noqa: F401  (connects them)

        job_kind_register(
            JobKind(
                task="training.export_snapshot", model="training.DatasetSnapshot",
                state_field="status", reason_field="error", queue="default", noun="snapshot",
                on_stop="training.datasets.services.snapshots.snapshot_scratch_clear",
            )
        )  # fmt: skip
        job_kind_register(
            JobKind(
                task="training.run_execute", model="training.TrainingRun",
                state_field="state", reason_field="error", queue="gpu", noun="run",
            )
        )  # fmt: skip
        job_kind_register(
            JobKind(
                task="training.generation_job_run", model="training.GenerationJob",
                state_field="state", reason_field="error", queue="gpu", noun="generation job",
            )
        )  # fmt: skip
