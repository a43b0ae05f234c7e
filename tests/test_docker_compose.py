"""docker-compose.yml and the Dockerfile agree with what the code reads and routes.

Nothing is built or started: the files are parsed and compared with config/settings.py
(by source, for the environment variables) and with the loaded settings (for the queues).
"""

import json
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SETTINGS_FILE = ROOT / "config" / "settings.py"

APP_SERVICES = ("web", "worker", "gpu-worker")
ONE_SHOT_SERVICES = ("migrate",)
BACKING_SERVICES = ("postgres", "redis")
CELERY_WORKERS = ("worker", "gpu-worker")

ENV_READ = re.compile(r"""\benv_(?:str|bool|int|list)\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']""")
# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


# --- helpers ------------------------------------------------------------------------------


def interpolate(value: object) -> str:
    """Resolve compose interpolation as with an empty shell: defaults apply, required ones
    become a placeholder."""

    def resolve(match: re.Match) -> str:
        name, operator, argument = match.groups()
        if operator in (":-", "-"):
            return argument
        if operator in (":?", "?"):
            return f"<{name}>"
        return ""

    return INTERPOLATION.sub(resolve, str(value)).replace("$$", "$")


def environment_of(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        pairs = (entry.split("=", 1) if "=" in entry else (entry, "") for entry in environment)
        environment = dict(pairs)
    return {name: "" if value is None else str(value) for name, value in environment.items()}


def argv_of(command: object) -> list[str]:
    if command is None:
        return []
    if isinstance(command, str):
        return shlex.split(interpolate(command))
    return [interpolate(part) for part in command]


def option_values(argv: list[str], *names: str) -> list[str]:
    """Values of an option given as `-Q x`, `-Qx`, `--queues x` or `--queues=x`."""
    values = []
    for index, arg in enumerate(argv):
        for name in names:
            if arg == name and index + 1 < len(argv):
                values.append(argv[index + 1])
            elif name.startswith("--") and arg.startswith(name + "="):
                values.append(arg.split("=", 1)[1])
            elif not name.startswith("--") and arg.startswith(name) and arg != name:
                values.append(arg[len(name) :])
    return values


def worker_queues(argv: list[str]) -> set[str]:
    values = option_values(argv, "-Q", "--queues")
    return {queue.strip() for value in values for queue in value.split(",") if queue.strip()}


def depends_on_of(service: dict) -> dict[str, str]:
    depends_on = service.get("depends_on") or {}
    if isinstance(depends_on, list):
        return dict.fromkeys(depends_on, "service_started")
    return {
        name: (spec or {}).get("condition", "service_started") for name, spec in depends_on.items()
    }


def volume_mounts_of(service: dict) -> dict[str, str]:
    """Mount target -> source for a service's volumes, short or long syntax."""
    mounts = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            parts = interpolate(volume).split(":")
            source, target = (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])
        else:
            source, target = volume.get("source", ""), volume["target"]
        mounts[target] = source
    return mounts


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and heredocs skipped."""
    instructions, current, heredoc_end = [], "", None
    for line in text.splitlines():
        if heredoc_end is not None:
            if line.strip() == heredoc_end:
                heredoc_end = None
            continue
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        heredoc = re.search(r"<<-?\s*['\"]?([A-Za-z_]+)['\"]?", line)
        if heredoc:
            heredoc_end = heredoc.group(1)
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        keyword, _, arguments = current.strip().partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        current = ""
    return instructions


def exec_form(arguments: str) -> list[str]:
    arguments = arguments.strip()
    return json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    assert COMPOSE_FILE.exists(), f"{COMPOSE_FILE.name} is missing at the repository root"
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict[str, dict]:
    return compose["services"]


@pytest.fixture(scope="module")
def variables_settings_read() -> set[str]:
    names = set(ENV_READ.findall(SETTINGS_FILE.read_text()))
    # Guards the regex itself: if it stopped matching, every check below would pass vacuously.
    assert {"DATABASE_URL", "SECRET_KEY", "PREFLAB_DATA_DIR"} <= names, (
        f"could not find the env_* calls in {SETTINGS_FILE}; found only {sorted(names)}"
    )
    return names


# --- services and health ------------------------------------------------------------------


def test_all_services_are_declared(services):
    # given the production compose file
    expected = {*BACKING_SERVICES, *ONE_SHOT_SERVICES, *APP_SERVICES}

    # then
    missing = expected - services.keys()
    assert not missing, f"docker-compose.yml lacks services {sorted(missing)}"


def test_every_long_running_service_has_a_healthcheck(services):
    for name, service in services.items():
        if name in ONE_SHOT_SERVICES:
            continue
        healthcheck = service.get("healthcheck") or {}
        test = healthcheck.get("test")
        assert test and not healthcheck.get("disable"), f"service {name!r} has no healthcheck"
        assert test not in (["NONE"], "NONE"), f"service {name!r} disables its healthcheck"


def test_one_shot_migrate_service_runs_migrations_and_is_not_restarted(services):
    migrate = services["migrate"]

    argv = argv_of(migrate["command"])
    assert argv[-3:] == ["manage.py", "migrate", "--noinput"], (
        f"migrate should run `python manage.py migrate --noinput`, runs {argv}"
    )
    assert migrate.get("restart", "no") in ("no", "on-failure"), (
        "a one-shot service restarted `always`/`unless-stopped` would never complete"
    )
    assert depends_on_of(migrate).get("postgres") == "service_healthy", (
        "migrate must wait for postgres to be healthy"
    )


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_wait_for_migrations_and_healthy_backends(services, name):
    depends_on = depends_on_of(services[name])

    expected = {
        "migrate": "service_completed_successfully",
        "postgres": "service_healthy",
        "redis": "service_healthy",
    }
    for dependency, condition in expected.items():
        assert depends_on.get(dependency) == condition, (
            f"{name} should depend on {dependency} with condition {condition}, "
            f"has {depends_on.get(dependency)!r}"
        )


@pytest.mark.parametrize("name", BACKING_SERVICES)
def test_backing_services_keep_their_data_in_named_volumes(compose, services, name):
    sources = set(volume_mounts_of(services[name]).values())

    named = sources & set(compose.get("volumes") or {})
    assert named, f"{name} should keep its data in a named volume, mounts {sorted(sources)}"


# --- environment --------------------------------------------------------------------------


@pytest.mark.parametrize("name", (*APP_SERVICES, *ONE_SHOT_SERVICES))
def test_app_environment_sets_only_variables_the_settings_read(
    services, variables_settings_read, name
):
    # given the variables compose sets on a service that runs the Django code
    environment = environment_of(services[name])
    assert environment, f"{name} sets no environment at all"

    # then each is one config/settings.py reads (a typo like DATABSE_URL is silently ignored)
    ignored = environment.keys() - variables_settings_read
    assert not ignored, (
        f"{name} sets {sorted(ignored)}, which config/settings.py never reads; "
        f"it reads {sorted(variables_settings_read)}"
    )


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_environment_points_at_the_compose_backends(services, name):
    environment = {key: interpolate(value) for key, value in environment_of(services[name]).items()}

    database = urlsplit(environment.get("DATABASE_URL", ""))
    assert database.scheme in ("postgres", "postgresql", "pgsql"), (
        f"{name}: DATABASE_URL should be a PostgreSQL URL, is {environment.get('DATABASE_URL')!r}"
    )
    assert database.hostname == "postgres", f"{name}: DATABASE_URL should name the postgres host"
    assert database.path.strip("/") == services["postgres"]["environment"]["POSTGRES_DB"], (
        f"{name}: DATABASE_URL names a database the postgres service does not create"
    )
    for variable in ("CELERY_BROKER_URL", "REDIS_URL"):
        url = urlsplit(environment.get(variable, ""))
        assert url.scheme == "redis" and url.hostname == "redis", (
            f"{name}: {variable} should point at the redis service, is "
            f"{environment.get(variable)!r}"
        )


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_environment_is_production_safe(services, name):
    raw = environment_of(services[name])

    assert re.fullmatch(r"\$\{SECRET_KEY:?\?[^}]*\}", raw.get("SECRET_KEY", "")), (
        f"{name}: SECRET_KEY must be required from the operator (${{SECRET_KEY:?...}}), "
        f"not defaulted, is {raw.get('SECRET_KEY')!r}"
    )
    assert interpolate(raw.get("DEBUG", "")).lower() in ("0", "false", "no", "off"), (
        f"{name}: DEBUG must be off"
    )
    assert interpolate(raw.get("PREFLAB_REQUIRE_SECRET_KEY", "")).lower() in ("1", "true"), (
        f"{name}: PREFLAB_REQUIRE_SECRET_KEY=1 makes a missing key fail loudly"
    )


@pytest.mark.parametrize("name", APP_SERVICES)
def test_data_volume_is_shared_and_mounted_where_preflab_data_dir_points(compose, services, name):
    data_dir = interpolate(environment_of(services[name]).get("PREFLAB_DATA_DIR", ""))
    assert data_dir.startswith("/"), f"{name}: PREFLAB_DATA_DIR should be an absolute path"

    mounts = volume_mounts_of(services[name])
    assert data_dir in mounts, (
        f"{name}: nothing is mounted at PREFLAB_DATA_DIR={data_dir}; mounts {sorted(mounts)}"
    )
    assert mounts[data_dir] in (compose.get("volumes") or {}), (
        f"{name}: {data_dir} should be a named volume declared under `volumes:`"
    )
    # every process reads and writes the same files
    sources = {
        volume_mounts_of(services[other]).get(
            interpolate(environment_of(services[other]).get("PREFLAB_DATA_DIR", ""))
        )
        for other in APP_SERVICES
    }
    assert len(sources) == 1, f"web and workers mount different data volumes: {sources}"


# --- commands and queues ------------------------------------------------------------------


def test_web_runs_gunicorn_on_the_wsgi_app_and_is_probed_on_healthz(services):
    web = services["web"]
    argv = argv_of(web.get("command"))

    assert argv and Path(argv[0]).name == "gunicorn", f"web should run gunicorn, runs {argv}"
    assert "config.wsgi:application" in argv, "web should serve config.wsgi:application"
    binds = option_values(argv, "-b", "--bind")
    assert binds, "gunicorn should bind explicitly (its default 127.0.0.1 is unreachable)"
    host, _, port = binds[0].rpartition(":")
    assert host in ("0.0.0.0", "[::]"), f"gunicorn binds {binds[0]}, unreachable from outside"
    assert option_values(argv, "-w", "--workers"), "gunicorn should set --workers"

    published = {str(entry).rsplit(":", 1)[-1] for entry in web.get("ports", [])}
    assert port in published, f"web publishes {published}, gunicorn listens on {port}"

    probe = " ".join(map(str, web["healthcheck"]["test"]))
    assert f":{port}/healthz" in probe, f"web's healthcheck should GET /healthz, runs {probe}"
    assert "curl" not in probe and "wget" not in probe, "python:3.11-slim has no curl/wget"


@pytest.mark.parametrize("name", CELERY_WORKERS)
def test_workers_run_the_config_celery_app(services, name):
    argv = argv_of(services[name]["command"])

    assert argv and Path(argv[0]).name == "celery", f"{name} should run celery, runs {argv}"
    assert option_values(argv, "-A", "--app") == ["config"], f"{name} should use `-A config`"
    assert "worker" in argv, f"{name} should start a celery worker, runs {argv}"
    probe = " ".join(map(str, services[name]["healthcheck"]["test"]))
    assert "inspect ping" in probe, f"{name}'s healthcheck should ping the worker, runs {probe}"


def test_default_worker_consumes_default_and_no_gpu_work(services):
    queues = worker_queues(argv_of(services["worker"]["command"]))

    assert "default" in queues, f"worker should consume `-Q default`, consumes {queues}"
    assert "gpu" not in queues, "training must not land on the CPU worker"


def test_gpu_worker_consumes_only_gpu_one_at_a_time_on_an_nvidia_device(services):
    gpu_worker = services["gpu-worker"]
    argv = argv_of(gpu_worker["command"])

    assert worker_queues(argv) == {"gpu"}, f"gpu-worker should consume exactly `-Q gpu`: {argv}"
    assert option_values(argv, "-c", "--concurrency") == ["1"], (
        "gpu-worker should run one task at a time (--concurrency=1)"
    )
    devices = (
        gpu_worker.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices")
    )
    assert any(
        device.get("driver") == "nvidia" and "gpu" in device.get("capabilities", [])
        for device in devices or []
    ), f"gpu-worker should reserve an nvidia GPU device, reserves {devices}"
    extras = str((gpu_worker.get("build") or {}).get("args", {}).get("EXTRAS", ""))
    assert "ml" in extras.split(","), "gpu-worker's image should be built with EXTRAS=ml"


def test_compose_workers_consume_exactly_the_queues_celery_routes_to(services, settings):
    # given the queues the code sends tasks to
    routes = settings.CELERY_TASK_ROUTES
    route_specs = routes.values() if isinstance(routes, dict) else routes
    routed = {settings.CELERY_TASK_DEFAULT_QUEUE} | {spec["queue"] for spec in route_specs}

    # when collecting the queues compose's celery workers consume
    workers = {
        name: argv
        for name, argv in (
            (name, argv_of(service.get("command"))) for name, service in services.items()
        )
        if argv and Path(argv[0]).name == "celery" and "worker" in argv
    }
    assert set(CELERY_WORKERS) <= workers.keys(), f"celery workers found: {sorted(workers)}"
    for name, argv in workers.items():
        assert worker_queues(argv), f"{name} should name its queues with -Q"
    consumed = set().union(*map(worker_queues, workers.values()))

    # then no task waits on a queue nobody consumes, and no worker listens to a dead queue
    assert consumed == routed, (
        f"compose workers consume {sorted(consumed)}, the code routes to {sorted(routed)}"
    )


# --- the image ----------------------------------------------------------------------------


def test_dockerfile_builds_a_python_311_image_serving_the_wsgi_app(services):
    assert DOCKERFILE.exists(), "Dockerfile is missing at the repository root"
    instructions = dockerfile_instructions(DOCKERFILE.read_text())
    arguments = {"ARG": [], "FROM": [], "CMD": [], "ENTRYPOINT": []}
    for keyword, value in instructions:
        arguments.setdefault(keyword, []).append(value)
    build_args = dict((arg.split("=", 1) + [""])[:2] for arg in arguments["ARG"])
    resolved_from = [
        re.sub(
            r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?",
            lambda match: build_args.get(match.group(1), "").strip("\"'"),
            value,
        )
        for value in arguments["FROM"]
    ]

    assert any(value.startswith("python:3.11") for value in resolved_from), (
        f"the image should build on python:3.11, FROM lines: {arguments['FROM']}"
    )
    assert "EXTRAS" in build_args, "Dockerfile should take the pyproject extras as ARG EXTRAS"
    assert arguments["CMD"], "Dockerfile should have a CMD"
    cmd = exec_form(arguments["CMD"][-1])
    web_argv = argv_of(services["web"]["command"])
    assert cmd[0] == web_argv[0] == "gunicorn", f"the image's CMD {cmd} should match web's"
    assert "config.wsgi:application" in cmd, f"the image's CMD {cmd} serves another app"
    for entrypoint in map(exec_form, arguments["ENTRYPOINT"][-1:]):
        # a script copied from the repository into /app must exist there
        script = ROOT / entrypoint[0].removeprefix("/app/")
        assert not entrypoint[0].startswith("/app/") or script.exists(), (
            f"ENTRYPOINT {entrypoint} names a script the repository does not have"
        )


@pytest.mark.parametrize("name", (*APP_SERVICES, *ONE_SHOT_SERVICES))
def test_app_services_build_from_the_dockerfile(services, name):
    build = services[name].get("build")
    assert build, f"{name} should build its image from the Dockerfile"
    if isinstance(build, str):
        build = {"context": build}

    context = (ROOT / build.get("context", ".")).resolve()
    dockerfile = context / build.get("dockerfile", "Dockerfile")
    assert dockerfile == DOCKERFILE, f"{name} builds from {dockerfile}, not {DOCKERFILE}"
    target = build.get("target")
    stages = re.findall(r"(?im)^FROM\s+\S+\s+AS\s+(\S+)", DOCKERFILE.read_text())
    assert target is None or target in stages, (
        f"{name} builds target {target!r}, the Dockerfile has stages {stages}"
    )
    build_args = set(re.findall(r"(?m)^ARG\s+([A-Za-z_][A-Za-z0-9_]*)", DOCKERFILE.read_text()))
    unknown_args = set(build.get("args") or {}) - build_args
    assert not unknown_args, f"{name} passes build args the Dockerfile ignores: {unknown_args}"


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_image():
    assert DOCKERIGNORE.exists(), ".dockerignore is missing"
    patterns = {line.strip().strip("/") for line in DOCKERIGNORE.read_text().splitlines()}

    for path in (".git", ".venv", ".data", ".env"):
        assert path in patterns, f".dockerignore should exclude {path}"
