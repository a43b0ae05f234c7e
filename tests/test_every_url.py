"""Every route of the site and the API, for a project in every state and for every role:
no server error, ever.

The routes come from the URL configuration itself (``get_resolver()``, walked through
every include), so a new page or endpoint is walked without editing this file. Each
route's parameters are filled by their name from what exists in the project under test;
a parameter nobody knows how to fill fails the test with the routes that need it, rather
than leaving them out. Routes that only accept POST are walked too: their GET must answer
405 or a redirect, never a 5xx.
"""

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.admin import ModelAdmin
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.converters import IntConverter
from django.urls.exceptions import Resolver404
from django.utils.regex_helper import normalize

from annotation.authoring.models import WriteAssignment
from annotation.importing.models import ImportJob
from annotation.models import Annotation, Assignment, AssignmentState, Item
from projects.labels.models import RatingDimension, TagLabel
from projects.models import Guideline, Project
from tests.walk_worlds import STATES, World
from training.datasets.models import DatasetSnapshot, SnapshotFile
from training.loop.models import GenerationJob, Generator
from training.runs.models import ModelArtifact, TrainingRun

ROLES = ["anonymous", "outsider", "annotator", "reviewer", "manager", "engineer", "superuser"]
MISSING_ID = 987_654_321  # what a parameter gets when its kind has no row in this project


@dataclass
class Route:
    """One URL pattern, flattened: ``/p/%(slug)s/runs/%(run_id)s/`` and what fills it."""

    pattern: str  # as written in the URL configuration, for messages
    template: str
    params: list[str]
    strings: set[str]  # parameters that take text (str, path, slug, regex groups)
    callback: Callable


def _collect(patterns, regex: str, route: str, strings: set[str], found: list) -> None:
    for entry in patterns:
        part = entry.pattern.regex.pattern.removeprefix("^")
        converters = getattr(entry.pattern, "converters", {})
        text = {name for name, conv in converters.items() if not isinstance(conv, IntConverter)}
        if not converters:  # a regex pattern: every named group is text
            text = set(entry.pattern.regex.groupindex)
        here = (regex + part, route + str(entry.pattern), strings | text)
        if isinstance(entry, URLResolver):
            _collect(entry.url_patterns, *here, found)
        elif isinstance(entry, URLPattern):
            template, params = max(normalize(here[0]), key=lambda option: len(option[1]))
            found.append(Route(here[1], "/" + template, params, here[2], entry.callback))


def all_routes() -> list[Route]:
    """Every leaf pattern of the root URL configuration, includes and admin included."""
    found: list[Route] = []
    _collect(get_resolver().url_patterns, "", "", set(), found)
    return found


# --- filling parameters ----------------------------------------------------------------


def _first(queryset):
    return queryset.order_by("pk").values_list("pk", flat=True).first()


def _snapshot(project):
    return DatasetSnapshot.objects.filter(project=project, state="succeeded").first() or (
        DatasetSnapshot.objects.filter(project=project).first()
    )


# name -> the value in this world (None: no such row in this project; MISSING_ID is used)
FILLERS: dict[str, Callable[[World], object]] = {
    "slug": lambda w: w.project.slug,
    "item_id": lambda w: (
        _first(Item.objects.filter(project=w.project, annotations__isnull=False))
        or _first(Item.objects.filter(project=w.project))
    ),
    "assignment_id": lambda w: (
        _first(
            Assignment.objects.filter(project=w.project, user=w.people["annotator"]).exclude(
                state=AssignmentState.SUBMITTED
            )
        )
        or _first(Assignment.objects.filter(project=w.project))
    ),
    "write_assignment_id": lambda w: _first(
        WriteAssignment.objects.filter(prompt__project=w.project)
    ),
    "annotation_id": lambda w: _first(
        Annotation.objects.filter(project=w.project, user=w.people["annotator"])
    ),
    "import_id": lambda w: _first(ImportJob.objects.filter(project=w.project)),
    "snapshot_id": lambda w: getattr(_snapshot(w.project), "pk", None),
    "number": lambda w: getattr(_snapshot(w.project), "number", None),
    "name": lambda w: (
        SnapshotFile.objects.filter(snapshot=_snapshot(w.project))
        .values_list("name", flat=True)
        .first()
    ),
    "run_id": lambda w: _first(TrainingRun.objects.filter(project=w.project)),
    "model_id": lambda w: _first(ModelArtifact.objects.filter(project=w.project)),
    "label_id": lambda w: _first(TagLabel.objects.filter(project=w.project)),
    "dimension_id": lambda w: _first(RatingDimension.objects.filter(project=w.project)),
    "generator_id": lambda w: _first(Generator.objects.filter(project=w.project)),
    "job_id": lambda w: _first(GenerationJob.objects.filter(project=w.project)),
    "version": lambda w: (
        Guideline.objects.filter(project=w.project)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    ),
    "user_id": lambda w: w.people["annotator"].pk,
    "username": lambda w: w.people["annotator"].username,
    # the admin's: an app with models, the shortcut's content type, any unknown page
    "app_label": lambda w: "projects",
    "content_type_id": lambda w: ContentType.objects.get_for_model(Project).pk,
    "url": lambda w: "no/such/admin/page/",
}


def _kind(route: Route, name: str) -> str:
    """The kind of row a parameter names, where one name serves two kinds."""
    if name == "assignment_id" and "write-assignments/" in route.pattern:
        return "write_assignment_id"
    if name == "object_id" or (name == "id" and _model_admin(route.callback)):
        return "admin_object_id"  # a row of the admin page's own model
    return name


def _model_admin(callback) -> ModelAdmin | None:
    """The ModelAdmin behind an admin view (set by its URL wrapper, or the bound method)."""
    owner = getattr(callback, "model_admin", None)
    owner = owner or getattr(getattr(callback, "__wrapped__", None), "__self__", None)
    return owner if isinstance(owner, ModelAdmin) else None


def _admin_object(route: Route, world: World):
    model_admin = _model_admin(route.callback)
    if model_admin is None:  # the admin's "view on site" shortcut: the project's row
        return world.project.pk
    return _first(model_admin.model.objects.all())


def fill(route: Route, world: World) -> tuple[dict | None, list[str]]:
    """The route's parameter values in this world, and the kinds that had no row here."""
    values, absent = {}, []
    for name in route.params:
        kind = _kind(route, name)
        if kind == "admin_object_id":
            value = _admin_object(route, world)
        elif kind in FILLERS:
            value = FILLERS[kind](world)
        else:
            return None, [kind]
        if value is None:
            absent.append(kind)
            value = "missing" if name in route.strings else MISSING_ID
        values[name] = value
    return values, absent


def unfillable(routes: list[Route]) -> list[str]:
    return [
        f"{r.pattern} needs {name}"
        for r in routes
        for name in r.params
        if _kind(r, name) not in FILLERS and _kind(r, name) != "admin_object_id"
    ]


# --- walking ---------------------------------------------------------------------------


def _clients(world: World) -> dict[str, Client]:
    clients = {}
    for role in ROLES:
        clients[role] = Client()
        if world.people[role] is not None:
            clients[role].force_login(world.people[role])
    return clients


class _Errors(logging.Handler):
    """The last exception the API's error handler logged (its 500 body only says "logged")."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.last = ""

    def emit(self, record):
        if record.exc_info:
            exc = record.exc_info[1]
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            self.last = f"{type(exc).__name__}: {exc} at {frame.filename}:{frame.lineno}"


@pytest.fixture
def api_errors():
    handler, logger = _Errors(), logging.getLogger("common.api.errors")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def _ask(client: Client, method: str, url: str, errors: _Errors) -> tuple[int, str]:
    """The status, and what went wrong when it is a server error."""
    errors.last = ""
    try:
        # A savepoint per request: a view that breaks the transaction (PostgreSQL refusing
        # a value) must not fail every later request of the walk.
        with transaction.atomic():
            response = getattr(client, method)(url)
    except Exception as exc:  # the test client re-raises what a view raised
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        return 500, f"{type(exc).__name__}: {exc} at {frame.filename}:{frame.lineno}"
    if response.status_code >= 500:
        return response.status_code, errors.last or response.content[:300].decode(
            "utf-8", "replace"
        )
    return response.status_code, ""


def _nul_variants(route: Route, values: dict) -> list[str]:
    """The URL with a NUL in the query, and in each text parameter in turn."""
    url = route.template % values
    variants = [f"{url}?project=%00", f"{url}?q=a%00b&sort=%00"]
    for name in route.params:
        if name in route.strings:
            variants.append(route.template % {**values, name: f"{values[name]}%00"})
    return variants


ODD_QUERY = (
    "?page=-1&page=x&sort=nope&dir=sideways&q=%25&project=nope&run=x&run=0&after=-5"
    "&part=nope&next=//example.com&flagged=maybe&limit=-1&offset=x"
)


def test_the_route_list_is_the_url_configuration():
    routes = all_routes()
    patterns = {r.pattern for r in routes}
    # spot checks across the site, the API and the admin
    assert "p/<slug:slug>/quality/" in patterns
    assert "api/v1/snapshots/<int:snapshot_id>/files/<path:name>" in patterns
    assert any(p.startswith("admin/") for p in patterns)
    assert len(routes) > 150
    assert unfillable(routes) == [], "routes whose parameters this test cannot fill"


def _requests(route: Route, values: dict, state: str) -> list[tuple[str, str, str]]:
    """(role, method, url): the route as every role, odd query values as the roles that get
    past the role checks, and (once) NUL variants, read and posted."""
    url = route.template % values
    asks = [(role, "get", url) for role in ROLES]
    asks += [(role, "get", url + ODD_QUERY) for role in ("annotator", "manager", "engineer")]
    if state == "annotated":
        nul = _nul_variants(route, values)
        asks += [("manager", method, variant) for variant in nul for method in ("get", "post")]
    return asks


@pytest.mark.parametrize("state", list(STATES))
def test_no_route_answers_a_server_error(db, state, settings, tmp_path, api_errors):
    # given a project in this state, with one member per role, and every route
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "files")},
        },
    }
    world = STATES[state](f"walk-{state}")
    routes = all_routes()
    assert unfillable(routes) == []
    clients = _clients(world)
    failures, never_filled, walked, statuses = [], set(), 0, {}
    # when every route is asked for as every role
    for route in routes:
        admin = route.pattern.startswith("admin/")
        if admin and state != "annotated":
            continue  # the admin's pages hold no project state: walked once, with the fullest
        values, absent = fill(route, world)
        never_filled.update(absent)
        url = route.template % values
        try:
            resolved = resolve(url)
        except Resolver404:
            failures.append(f"{url}: built from {route.pattern} but resolves to nothing")
            continue
        if resolved.func is not route.callback:
            failures.append(f"{url}: built from {route.pattern} but resolves to {resolved.route}")
            continue
        for role, method, variant in _requests(route, values, state):
            status, why = _ask(clients[role], method, variant, api_errors)
            walked += 1
            if variant == url:
                statuses[role, method, route.pattern] = status
            if status >= 500 or ("%00" in variant and status != 400):
                failures.append(f"{status} {method.upper()} {variant} as {role}: {why}")
    # then none of them is a server error
    assert not failures, f"{len(failures)} of {walked} requests failed:\n" + "\n".join(failures)
    # and the walk reached the pages themselves, not only the login page
    assert statuses["manager", "get", "p/<slug:slug>/"] == 200
    assert statuses["manager", "get", "api/v1/projects/<slug:slug>/"] == 200
    if state == "annotated":
        # the fullest project has a row of every kind a route names: nothing walked blind
        assert never_filled == set(), f"no row in {state} for {sorted(never_filled)}"
