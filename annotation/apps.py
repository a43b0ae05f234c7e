from common.apps import SubdomainModelsConfig


class AnnotationConfig(SubdomainModelsConfig):
    default = True
    name = "annotation"
    model_packages = ("authoring", "importing", "quality")

    def ready(self) -> None:
        from annotation import receivers  # noqa: F401  (connects them)
        from annotation.quality import receivers as quality_receivers  # noqa: F401
        from annotation.quality.selectors.alerts import alerts_open
        from annotation.quality.selectors.review import review_queue_count
        from annotation.selectors import annotator_progress, project_counts
        from common.jobs import JobKind, job_kind_register
        from projects.panels import panel_register
        from projects.permissions import Capability

        panel_register("counts", lambda *, user, project: project_counts(project))
        panel_register("progress", annotator_progress, capability=Capability.ANNOTATE)
        # The project page's "needs attention": items whose annotations wait for this reviewer.
        panel_register(
            "review_waiting",
            lambda *, user, project: review_queue_count(project=project, reviewer=user),
            capability=Capability.REVIEW,
        )
        panel_register("alerts_open", alerts_open, capability=Capability.QUALITY)

        job_kind_register(
            JobKind(
                task="annotation.import_run", model="annotation.ImportJob",
                queue="default", noun="import", progress="import",
            )
        )  # fmt: skip
