from common.apps import SubdomainModelsConfig


class AnnotationConfig(SubdomainModelsConfig):
    default = True
    name = "annotation"
    model_packages = ("authoring", "importing", "quality")

    def ready(self) -> None:
        from annotation import receivers  # noqa: F401  (connects them)
        from annotation.quality import receivers as quality_receivers  # noqa: F401
        from common.jobs import JobKind, job_kind_register

        job_kind_register(
            JobKind(
                task="annotation.import_run", model="annotation.ImportJob",
                queue="default", noun="import", progress="import",
            )
        )  # fmt: skip
