from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo: ``load_demo`` seeds projects, users and simulated work across every app,
    so it sits above them all (only ``config`` is higher)."""

    name = "demo"
