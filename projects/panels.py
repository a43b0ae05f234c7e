"""The project page's panels, filled by the apps above ``projects``.

The project page shows what each part of the platform knows about the project (item
counts and the user's progress from ``annotation``, the rounds from ``training``). Those
apps sit above ``projects`` in the layer order, so instead of the page importing them,
each registers its panels here from its ``AppConfig.ready``; the page asks for the panels
the user's capabilities allow. A panel's name is its key in the template's context.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from projects.models import Project
from projects.permissions import Capability

PanelBuilder = Callable[..., Any]  # (user=..., project=...) -> what the template shows


@dataclass(frozen=True)
class Panel:
    name: str
    build: PanelBuilder
    capability: Capability = Capability.VIEW


_PANELS: dict[str, Panel] = {}


def panel_register(name: str, build: PanelBuilder, *, capability=Capability.VIEW) -> None:
    """Show ``build(user=, project=)`` as ``name`` to users with ``capability``."""
    _PANELS[name] = Panel(name=name, build=build, capability=capability)


def project_panels(*, user, project: Project, caps: frozenset[Capability]) -> dict[str, Any]:
    """Every registered panel the user may see, built, by name."""
    return {
        panel.name: panel.build(user=user, project=project)
        for panel in _PANELS.values()
        if panel.capability in caps
    }
