from common.apps import SubdomainModelsConfig


class ProjectsConfig(SubdomainModelsConfig):
    default = True
    name = "projects"
    model_packages = ("labels",)

    def ready(self) -> None:
        from common.api import strict_json

        strict_json.install()
