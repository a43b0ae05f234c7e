"""Apps whose models live in their sub-domains' folders, not in one ``models.py``."""

from importlib import import_module

from django.apps import AppConfig


class SubdomainModelsConfig(AppConfig):
    """Django imports ``<app>.models`` only; each sub-domain keeps its models beside its
    services (``annotation/quality/models.py``), so the app imports those modules too,
    in the phase where Django registers models. Tables and migrations stay the app's."""

    default_auto_field = "django.db.models.BigAutoField"
    # Not an app of its own: Django picks the subclass (marked default) from an apps.py
    # that imports this class.
    default = False
    # Sub-packages, relative to the app, whose ``models`` module holds some of its models.
    model_packages: tuple[str, ...] = ()

    def import_models(self) -> None:
        super().import_models()
        for package in self.model_packages:
            import_module(f"{self.name}.{package}.models")
