"""The project's section nav: the sections a user's role opens, the page's own one marked.

A page names its section where it includes the nav,
``{% include "partials/project_nav.html" with section="runs" %}``; the names are the keys
of ``SECTIONS``. Sections are linked by URL name, so this module imports no app above
``projects``.
"""

from dataclasses import dataclass

from django import template
from django.urls import reverse

from projects.permissions import Capability, capabilities_of

register = template.Library()


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    url_name: str
    capability: Capability


# In the order of the work: set up, annotate, check, export, train, manage.
SECTIONS = (
    Section("overview", "Overview", "project-detail", Capability.VIEW),
    Section("guidelines", "Guidelines", "guideline-detail", Capability.VIEW),
    Section("annotate", "Annotate", "annotate", Capability.ANNOTATE),
    Section("review", "Review", "review-queue", Capability.REVIEW),
    Section("quality", "Quality", "quality-dashboard", Capability.QUALITY),
    Section("imports", "Imports", "import-list", Capability.MANAGE),
    Section("data", "Snapshots", "snapshot-list", Capability.EXPORT),
    Section("runs", "Runs", "run-list", Capability.EXPORT),
    Section("loop", "Loop", "loop", Capability.EXPORT),
    Section("members", "Members", "project-members", Capability.MANAGE),
    Section("settings", "Settings", "project-settings", Capability.MANAGE),
)
SECTION_KEYS = frozenset(section.key for section in SECTIONS)


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool


@register.simple_tag(takes_context=True)
def project_sections(context, project, section: str = "") -> list[NavLink]:
    """The sections ``project`` opens to the request's user, ``section`` marked current."""
    caps = capabilities_of(context["request"].user, project)
    return [
        NavLink(s.label, reverse(s.url_name, args=[project.slug]), s.key == section)
        for s in SECTIONS
        if s.capability in caps
    ]
