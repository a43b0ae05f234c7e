from common.apps import SubdomainModelsConfig


class ProjectsConfig(SubdomainModelsConfig):
    default = True
    name = "projects"
    model_packages = ("labels",)

    def ready(self) -> None:
        from common.api import strict_json
        from common.api.token_auth import token_cache_connect

        strict_json.install()
        token_cache_connect()
