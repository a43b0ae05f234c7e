from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "annotation"

    def ready(self) -> None:
        from config.jobs import JobKind, job_kind_register

        job_kind_register(
            JobKind(
                task="annotation.import_run", model="annotation.ImportJob",
                state_field="status", reason_field="message", queue="default", noun="import",
            )
        )  # fmt: skip
