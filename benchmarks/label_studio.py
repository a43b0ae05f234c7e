"""Run Label Studio for the comparison: its production uWSGI, seeding, and its own annotate loop.

Issue 22 wants PrefLab's annotate-loop figures beside Label Studio's, measured in the same
sitting on the same PostgreSQL. Label Studio lives in a virtual environment of its own
(``python3.11 -m venv /tmp/ls-venv && /tmp/ls-venv/bin/pip install label-studio==1.23.2
uwsgi``), never in PrefLab's: this module only starts its processes and talks HTTP to them.

How it runs is how its Docker image runs it (``docker-entrypoint.sh label-studio-uwsgi``
runs ``uwsgi --ini /label-studio/deploy/uwsgi.ini``): the ini below is upstream's
deploy/uwsgi.ini with only the paths and ports changed, UWSGI_PROCESSES=4 (PrefLab's four
gunicorn workers) and the ini's own thread count (1 unless UWSGI_NUMBER_OF_THREADS says
otherwise). The image's nginx in front is left out, as PrefLab's benchmark has none in
front of gunicorn. Settings are the image's: core.settings.label_studio, DEBUG off, the
database from DJANGO_DB/POSTGRE_*; Sentry is switched off (its default DSN would send
2 % of requests as traces to sentry.io, which this machine cannot reach).

The loop is Label Studio's own: GET /api/projects/{id}/next/ (recorded as "claim") then
POST /api/tasks/{task}/annotations/ with a ranking of the four responses (as "submit").
Each task takes one annotation: Label Studio Community's default (maximum_annotations=1;
overlap settings are a Label Studio Enterprise feature), where PrefLab's benchmark asks for
three per item.
"""

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.app import free_port
from benchmarks.cpu import cpu_snapshot, cpu_used
from benchmarks.load import MAX_ERRORS_IN_A_ROW, Annotator, Call, level_run
from benchmarks.pg import PgServer, database_drop, database_recreate
from benchmarks.stats import level_summary
from benchmarks.texts import TextMaker

VERSION = "1.23.2"
DEFAULT_VENV = Path("/tmp/ls-venv")
DJANGO_SETTINGS = "core.settings.label_studio"  # the Dockerfile's DJANGO_SETTINGS_MODULE
MANAGER_EMAIL = "bench-manager@bench.invalid"

# Upstream's deploy/uwsgi.ini (HumanSignal/label-studio), unchanged but for {chdir}, {http},
# {stats} and {pidfile}: the image has /label-studio/label_studio, its own bind address,
# :1717 and /tmp/%n.pid there. (Its `cheaper = true` did not hold workers back here: the
# stats server shows all four running from the start and throughout each level.)
UWSGI_INI = """\
[uwsgi]
chdir = {chdir}
http = {http}
module = core.wsgi:application
master = true
cheaper = true
single-interpreter = true

if-env = UWSGI_PROCESSES
processes = $(UWSGI_PROCESSES)
endif =
if-not-env = UWSGI_PROCESSES
processes = %(%k * 2)
endif =

if-env = UWSGI_NUMBER_OF_THREADS
threads = $(UWSGI_NUMBER_OF_THREADS)
endif =
if-not-env = UWSGI_NUMBER_OF_THREADS
threads = 1
endif =

vacuum = true
die-on-term = true
pidfile = {pidfile}
buffer-size = 65535
http-timeout = 300
stats = {stats}
stats-http = true
memory-report = true
# Proc naming
auto-procname = true
procname-prefix = ls-
need-app = true

env = APP_WEBSERVER=uwsgi

# Avoid errors on aborted client connections
ignore-sigpipe = true
ignore-write-errors = true
disable-write-exception = true

# Limits, Kill requests after 120 seconds
harakiri = 120
harakiri-verbose = true
post-buffering = 4096

# Configure uwsgi output
logger = applogger stdio
log-route = applogger {{
log-encoder = format:applogger ${{msg}}
logger = default stdio
log-route = default ^((?!\\{{).)*$
log-encoder = json:default {{"timestamp": "${{strftime:%%d/%%b/%%Y:%%H:%%M:%%S %%z}}", \
"source": "uwsgi", "levelname": "INFO", "message": "${{msg}}"}}
log-encoder = nl
# Disable request logging
disable-logging = True
log-5xx = true

enable-threads = True
thunder-lock = True
lazy-apps = True

# Worker Recycling
max-requests = 5000
reload-on-rss = 2048
worker-reload-mercy = 300
"""

# A prompt and four responses to rank: upstream's "LLM Ranker" template without its styling
# and buckets. The result is {"ranker": {"rank": [response ids, best first]}}.
LABEL_CONFIG = """<View>
  <Text name="prompt" value="$prompt"/>
  <List name="responses" value="$responses" title="Responses"/>
  <Ranker name="rank" toName="responses"/>
</View>"""


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def label_studio_available(venv: Path = DEFAULT_VENV) -> str | None:
    """None when ``venv`` holds label-studio==1.23.2 and uwsgi; otherwise why not."""
    install = f"python3.11 -m venv {venv} && {venv}/bin/pip install label-studio=={VERSION} uwsgi"
    if not _venv_python(venv).exists():
        return f"no virtual environment at {venv} ({install})"
    if not (venv / "bin" / "uwsgi").exists():
        return f"uwsgi is not installed in {venv} ({venv}/bin/pip install uwsgi)"
    probe = "import importlib.metadata as m; print(m.version('label-studio'))"
    done = subprocess.run(
        [str(_venv_python(venv)), "-c", probe], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return f"label-studio is not installed in {venv} ({install})"
    found = done.stdout.strip()
    if found != VERSION:
        return f"{venv} has label-studio {found}, not {VERSION}"
    return None


def package_dir(venv: Path) -> Path:
    """Where the label_studio package lies: uWSGI's chdir, as /label-studio/label_studio is."""
    probe = "import label_studio, os; print(os.path.dirname(label_studio.__file__))"
    done = subprocess.run(
        [str(_venv_python(venv)), "-c", probe], capture_output=True, text=True, check=True
    )
    return Path(done.stdout.strip())


def ls_env(*, server: PgServer, dbname: str, data_dir: Path) -> dict[str, str]:
    """The environment of the image's app container, pointed at ``dbname`` on ``server``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "LABEL_STUDIO_", "POSTGRE", "UWSGI_", "VIRTUAL_ENV"))
    }
    env.update(
        DJANGO_DB="default",
        POSTGRE_NAME=dbname,
        POSTGRE_USER=server.user,
        POSTGRE_PASSWORD=server.password,
        POSTGRE_PORT=str(server.port),
        POSTGRE_HOST=server.host,
        DJANGO_SETTINGS_MODULE=DJANGO_SETTINGS,
        LABEL_STUDIO_BASE_DATA_DIR=str(data_dir),
        DEBUG="false",
        JSON_LOG="1",  # as docker-compose.yml sets it
        LOG_LEVEL="WARNING",
        SENTRY_DSN="",  # empty: off (see the module docstring)
        FRONTEND_SENTRY_DSN="",
        # The PyPI "newer version?" check: uWSGI skips it anyway, migrate and seeding need not.
        LATEST_VERSION_CHECK="false",
    )
    return env


def ls_python(
    venv: Path, env: dict[str, str], code: str, *args: str
) -> subprocess.CompletedProcess:
    """Run ``code`` with Label Studio's interpreter, from its package directory."""
    command = [str(_venv_python(venv)), "-c", code, *args]
    done = subprocess.run(
        command, env=env, cwd=package_dir(venv), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"Label Studio's python failed:\n{done.stdout}\n{done.stderr}")
    return done


def ls_migrate(venv: Path, env: dict[str, str]) -> None:
    """What the image's label-studio-migrate step does (locked_migrate is migrate + a lock)."""
    command = [str(_venv_python(venv)), "manage.py", "migrate", "--noinput"]
    done = subprocess.run(
        command, env=env, cwd=package_dir(venv), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"Label Studio's migrate failed:\n{done.stdout}\n{done.stderr}")


_USERS = """
import json, sys
import django
django.setup()
from django.db import transaction
from organizations.functions import create_organization
from rest_framework.authtoken.models import Token
from users.models import User

count, manager_email = int(sys.argv[1]), sys.argv[2]

def user(email):
    # No password: token auth needs none, and an unusable one skips the hashing.
    made = User.objects.create_user(email=email, password=None, username=email.split("@")[0])
    return made

with transaction.atomic():
    manager = user(manager_email)
    # Legacy tokens ("Authorization: Token ...") are off by default for a new organization
    # in 1.23 (JWT personal access tokens replace them): TokenAuthenticationPhaseout answers
    # 401 unless org.jwt.legacy_api_tokens_enabled, the switch that POST /api/jwt/settings
    # (the organization's access-token settings) and LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=1
    # also turn on.
    org = create_organization(title="Benchmark", created_by=manager, legacy_api_tokens_enabled=True)
    manager.active_organization = org
    manager.save(update_fields=["active_organization"])
    annotators = []
    for n in range(count):
        member = user(f"bench-annotator-{n:03d}@bench.invalid")
        org.add_user(member)
        member.active_organization = org
        member.save(update_fields=["active_organization"])
        annotators.append(member)
org.jwt.refresh_from_db()
print("TOKENS=" + json.dumps({
    "legacy_api_tokens_enabled": org.jwt.legacy_api_tokens_enabled,
    "manager": Token.objects.get(user=manager).key,
    "annotators": [Token.objects.get(user=a).key for a in annotators],
}))
"""


@dataclass(frozen=True)
class Accounts:
    manager_token: str
    annotator_tokens: list[str]  # one per annotator, in order


def accounts_create(venv: Path, env: dict[str, str], count: int) -> Accounts:
    """An organization with legacy API tokens on, its owner, and ``count`` annotators."""
    done = ls_python(venv, env, _USERS, str(count), MANAGER_EMAIL)
    line = next(line for line in done.stdout.splitlines() if line.startswith("TOKENS="))
    found = json.loads(line.removeprefix("TOKENS="))
    if not found["legacy_api_tokens_enabled"]:
        raise RuntimeError("legacy API tokens stayed off for the benchmark organization")
    return Accounts(found["manager"], found["annotators"])


# --- uWSGI -------------------------------------------------------------------------------


@dataclass
class Uwsgi:
    process: subprocess.Popen
    port: int
    stats_port: int
    processes: int
    threads: int
    ini_path: Path
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stats(self) -> dict:
        """uWSGI's stats server (stats-http): the master's view of its workers."""
        conn = http.client.HTTPConnection("127.0.0.1", self.stats_port, timeout=5)
        try:
            conn.request("GET", "/")
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def workers_running(self) -> int:
        """Workers spawned now (cheaper mode leaves some unspawned while the load is low)."""
        return sum(1 for w in self.stats()["workers"] if w["pid"] and w["status"] != "cheap")


def uwsgi_start(
    *,
    venv: Path,
    env: dict[str, str],
    data_dir: Path,
    processes: int = 4,
    threads: int | None = None,
    timeout: float = 120.0,
) -> Uwsgi:
    """uWSGI with upstream's ini on a free port; returns once GET /health/ answers 200.

    ``threads`` None keeps the ini's own setting (1 thread per process).
    """
    port, stats_port = free_port(), free_port()
    ini = data_dir / "uwsgi.ini"
    ini.write_text(
        UWSGI_INI.format(
            chdir=package_dir(venv),
            http=f"127.0.0.1:{port}",
            stats=f"127.0.0.1:{stats_port}",
            pidfile=data_dir / "%n.pid",
        )
    )
    env = {**env, "UWSGI_PROCESSES": str(processes)}
    if threads is not None:
        env["UWSGI_NUMBER_OF_THREADS"] = str(threads)
    log_path = data_dir / "uwsgi.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(venv / "bin" / "uwsgi"), "--ini", str(ini)],
            env=env,
            cwd=data_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Uwsgi(process, port, stats_port, processes, threads or 1, ini, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uWSGI exited at start:\n{server.log_tail()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/health/")
            healthy = conn.getresponse().status == 200
            conn.close()
            if healthy:
                return server
        except OSError:
            pass
        time.sleep(0.5)
    uwsgi_stop(server)
    raise RuntimeError(
        f"Label Studio did not answer /health/ in {timeout:.0f} s:\n{server.log_tail()}"
    )


def uwsgi_stop(server: Uwsgi) -> None:
    """SIGTERM the master (die-on-term: it stops its workers and the HTTP router)."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


# --- HTTP as a manager: project and tasks ------------------------------------------------


def _api(port: int, token: str, method: str, path: str, body=None, timeout: float = 300.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    if response.status >= 300:
        raise RuntimeError(f"{method} {path} -> {response.status}: {data[:500]!r}")
    return json.loads(data) if data else None


def _prompt_text(messages: list[dict]) -> str:
    if len(messages) == 1:
        return messages[0]["content"]
    return "\n\n".join(f"{m['role']}: {m['content']}" for m in messages)


def task_data(texts: TextMaker, k: int) -> dict:
    """One task: PrefLab's seeding texts (same generator, same sizes) in the List's shape."""
    prompt = _prompt_text(texts.conversation())
    responses = [
        {"id": f"r{j}", "title": f"model-{j}", "body": body}
        for j, body in enumerate(texts.responses(k))
    ]
    return {"prompt": prompt, "responses": responses}


def project_seed(
    *, port: int, manager_token: str, title: str, tasks: int, k: int, texts: TextMaker
) -> int:
    """A ranking project with ``tasks`` tasks, made and filled through Label Studio's API."""
    project = _api(
        port,
        manager_token,
        "POST",
        "/api/projects/",
        {"title": title, "label_config": LABEL_CONFIG, "maximum_annotations": 1},
    )
    chunk = 500  # upstream's IMPORT_BATCH_SIZE; keeps each request far from harakiri
    for start in range(0, tasks, chunk):
        batch = [{"data": task_data(texts, k)} for _ in range(min(chunk, tasks - start))]
        _api(port, manager_token, "POST", f"/api/projects/{project['id']}/import", batch)
    return project["id"]


def analyze(server: PgServer, dbname: str) -> None:
    """ANALYZE after seeding, as PrefLab's benchmark does (autovacuum would, within a minute)."""
    with server.connect(dbname) as conn:
        conn.execute("ANALYZE")


# --- the annotators ----------------------------------------------------------------------


@dataclass
class LabelStudioAnnotator(Annotator):
    """load.Annotator driving Label Studio's loop; ``slug`` carries the project id."""

    def _request(self, method: str, kind: str, path: str, body: dict | None):
        """load.Annotator._post with a method: same retry on a fresh connection, same Call."""
        payload = json.dumps(body).encode() if body is not None else None
        # uWSGI's HTTP router (upstream's `http =`, no http-keepalive) closes the connection
        # after each answer without a "Connection: close": closing our end too after each
        # answer makes http.client open a fresh one for the next request instead of failing
        # on a dead one and retrying. (In the image, nginx keeps the client's connection and
        # opens one to uWSGI per request.)
        headers = {"Authorization": f"Token {self.token}", "Connection": "close"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        start = time.perf_counter()
        status, data = 0, b""
        # The annotation carries a unique_id, so a repeated POST is answered 409, not saved twice.
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=payload, headers=headers)
                response = self.conn.getresponse()
                status, data = response.status, response.read()
                self.conn.close()  # reopened by the next request (see above)
                break
            except (http.client.HTTPException, OSError) as exc:
                self.conn.close()
                self.reconnects += 1
                data = f"{type(exc).__name__}: {exc} (attempt {attempt})".encode()
        self.calls.append(Call(kind, start, time.perf_counter() - start, status))
        return status, data

    def cycle(self) -> bool:
        """Take the next task and save a ranking of its responses; False when this one stops."""
        status, data = self._request("GET", "claim", f"/api/projects/{self.slug}/next/", None)
        if status == 404 and b"There are no tasks" in data:
            self.ran_dry = True  # Label Studio's "nothing left" is a 404
            return False
        if status != 200:
            self._note_error("claim", status, data)
            time.sleep(0.05)
            return self._errors_in_a_row < MAX_ERRORS_IN_A_ROW
        task = json.loads(data)
        ids = [item["id"] for item in task["data"]["responses"]]
        self.rng.shuffle(ids)
        body = {
            "result": [
                {
                    "id": uuid.uuid4().hex[:10],
                    "from_name": "rank",
                    "to_name": "responses",
                    "type": "ranker",
                    "origin": "manual",
                    "value": {"ranker": {"rank": ids}},
                }
            ],
            "lead_time": round(self.rng.uniform(5, 60), 3),
            "was_cancelled": False,
            "unique_id": str(uuid.uuid4()),
        }
        status, data = self._request(
            "POST", "submit", f"/api/tasks/{task['id']}/annotations/", body
        )
        if status != 201:
            self._note_error("submit", status, data)
            return self._errors_in_a_row < MAX_ERRORS_IN_A_ROW
        self._errors_in_a_row = 0
        return True


# --- checks after a level ----------------------------------------------------------------


@dataclass(frozen=True)
class LabelStudioChecks:
    annotations: int  # rows in the database for the level's project
    successful_submits: int  # 201 answers the load generator saw
    tasks_over_overlap: int  # tasks with more annotations than maximum_annotations (1)
    duplicate_task_user: int  # (task, annotator) pairs annotated twice
    is_labeled_off: int  # tasks whose is_labeled flag disagrees with their annotations

    @property
    def passed(self) -> bool:
        return (
            self.annotations == self.successful_submits
            and self.tasks_over_overlap == 0
            and self.duplicate_task_user == 0
            and self.is_labeled_off == 0
        )


def level_check(server: PgServer, dbname: str, project_id: int, submits: int) -> LabelStudioChecks:
    live = "task_completion c WHERE c.project_id = %(p)s AND NOT c.was_cancelled"
    queries = {
        "annotations": f"SELECT count(*) FROM {live}",
        "tasks_over_overlap": f"SELECT count(*) FROM (SELECT c.task_id FROM {live} "
        "GROUP BY c.task_id HAVING count(*) > 1) x",
        "duplicate_task_user": f"SELECT count(*) FROM (SELECT 1 FROM {live} "
        "GROUP BY c.task_id, c.completed_by_id HAVING count(*) > 1) x",
        "is_labeled_off": "SELECT count(*) FROM task t WHERE t.project_id = %(p)s AND t.is_labeled "
        "<> EXISTS (SELECT 1 FROM task_completion c WHERE c.task_id = t.id "
        "AND NOT c.was_cancelled)",
    }
    with server.connect(dbname) as conn:
        found = {
            name: conn.execute(query, {"p": project_id}).fetchone()[0]
            for name, query in queries.items()
        }
    return LabelStudioChecks(successful_submits=submits, **found)


# --- levels ------------------------------------------------------------------------------


class _WorkerWatch:
    """Samples how many uWSGI workers run, once a second, during a level."""

    def __init__(self, server: Uwsgi):
        self.server, self.samples, self._stop = server, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.samples.append(self.server.workers_running())
            except (OSError, ValueError, KeyError):
                pass

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _log_errors(server: Uwsgi, offset: int) -> dict[str, int]:
    """Label Studio's ERROR log lines after byte ``offset`` of uwsgi.log, by message shape."""
    with server.log_path.open("rb") as log:
        log.seek(offset)
        lines = log.read().decode(errors="replace").splitlines()
    found: Counter[str] = Counter()
    for line in lines:
        if '"levelname": "ERROR"' not in line:
            continue
        try:
            message = json.loads(line)["message"]
        except (ValueError, KeyError, TypeError):
            message = line
        found[re.sub(r"\d+", "N", message)[:200]] += 1
    return dict(found.most_common())


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] label studio: {message}", file=sys.stderr, flush=True)


def label_studio_levels(
    *,
    levels: list[int] | None = None,
    duration: float = 30.0,
    warmup: float = 3.0,
    cycles: int = 0,
    tasks: int = 3000,
    k: int = 4,
    seed: int = 0,
    venv: Path = DEFAULT_VENV,
    postgres: str = "postgresql://postgres@127.0.0.1:5432",
    database: str = "preflab_bench_ls",
    processes: int = 4,
    threads: int | None = None,
    data_dir: Path | None = None,
    keep_database: bool = False,
    say: Callable[[str], None] = _say,
) -> list[dict]:
    """Label Studio 1.23.2's annotate loop at each level, as annotate_loop.py runs PrefLab's.

    Creates ``database`` on ``postgres`` (dropped first and, unless ``keep_database``, after),
    migrates it, starts uWSGI (``processes`` x ``threads``, None = the ini's 1), makes
    max(levels) annotators, and for each level seeds a fresh project of ``tasks`` tasks of
    ``k`` responses (TextMaker(seed), as PrefLab's seeding) and runs ``level`` annotators for
    ``warmup`` + ``duration`` seconds (or ``cycles`` cycles each) through load.level_run.

    Returns one dict per level, shaped like annotate_loop.run_level's:
      "summary": stats.LevelSummary (annotations/s, claim = GET next, submit = POST annotation,
                 p50/p95/p99, errors, ...);
      "checks": LabelStudioChecks (annotations in the DB = 201s seen, none over overlap 1);
      "cpu": cpu.cpu_used's dict with "gunicorn_s" renamed "uwsgi_s" (master, workers, router);
      "uwsgi_cpu_ms_per_annotation", "postgres_cpu_ms_per_annotation": over every 201 of the
                 level, warm-up included, as annotate_report's CPU table divides;
      "seed_s", "load" (load average before the level), "workers" (min and max uWSGI workers
      running, sampled each second), "ran_dry" (annotators that got "no tasks"),
      "log_errors" ({message with digits as N: count} of Label Studio's ERROR log lines
      during the level), "project_id".
    Label Studio answers "nothing left" with a 404, which the summary counts as a claim error
    (PrefLab's 204 is not); ``tasks`` is many times what one level annotates, so "ran_dry"
    should stay 0.
    Raises RuntimeError when label_studio_available(venv) gives a reason.
    """
    levels = levels or [8, 32, 64]
    problem = label_studio_available(venv)
    if problem:
        raise RuntimeError(problem)
    server = PgServer.from_url(postgres)
    owned_dir = data_dir is None
    data_dir = Path(data_dir or tempfile.mkdtemp(prefix="lsbench-"))
    env = ls_env(server=server, dbname=database, data_dir=data_dir)
    texts = TextMaker(seed)
    database_recreate(server, database)
    uwsgi = None
    try:
        started = time.perf_counter()
        ls_migrate(venv, env)
        say(f"migrated {database} in {time.perf_counter() - started:.0f} s")
        accounts = accounts_create(venv, env, max(levels))
        uwsgi = uwsgi_start(
            venv=venv, env=env, data_dir=data_dir, processes=processes, threads=threads
        )
        say(f"uWSGI on :{uwsgi.port}: {uwsgi.processes} processes x {uwsgi.threads} threads")
        plan = _Plan(duration=duration, warmup=warmup, cycles=cycles, tasks=tasks, k=k)
        return [_level(n, plan, uwsgi, accounts, server, database, texts, say) for n in levels]
    finally:
        if uwsgi is not None:
            uwsgi_stop(uwsgi)
        if not keep_database:
            database_drop(server, database)
        if owned_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


@dataclass(frozen=True)
class _Plan:
    duration: float
    warmup: float
    cycles: int
    tasks: int
    k: int


def _level(
    n: int,
    plan: _Plan,
    uwsgi: Uwsgi,
    accounts: Accounts,
    server: PgServer,
    database: str,
    texts: TextMaker,
    say: Callable[[str], None],
) -> dict:
    started = time.perf_counter()
    project_id = project_seed(
        port=uwsgi.port,
        manager_token=accounts.manager_token,
        title=f"Benchmark n{n}",
        tasks=plan.tasks,
        k=plan.k,
        texts=texts,
    )
    analyze(server, database)
    seed_s = time.perf_counter() - started
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    say(f"level {n}: seeded {plan.tasks} tasks in {seed_s:.1f} s; load average {load}")
    log_offset = uwsgi.log_path.stat().st_size
    before = cpu_snapshot(uwsgi.process.pid)
    with _WorkerWatch(uwsgi) as watch:
        run = level_run(
            port=uwsgi.port,
            tokens=accounts.annotator_tokens[:n],
            slug=str(project_id),
            duration=plan.duration,
            warmup=plan.warmup,
            cycles=plan.cycles,
            annotator=LabelStudioAnnotator,
        )
    cpu = cpu_used(before, cpu_snapshot(uwsgi.process.pid))
    cpu["uwsgi_s"] = cpu.pop("gunicorn_s")
    log_errors = _log_errors(uwsgi, log_offset)
    summary = level_summary(run)
    checks = level_check(server, database, project_id, summary.submits_total)
    done = max(summary.submits_total, 1)
    ran_dry = sum(1 for a in run.annotators if a.ran_dry)
    say(
        f"level {n}: {summary.annotations_per_s:.1f} annotations/s, claim p95 "
        f"{summary.claim.p95_ms:.1f} ms, submit p95 {summary.submit.p95_ms:.1f} ms, "
        f"{summary.errors} errors, {summary.reconnects} reconnects, "
        f"{sum(log_errors.values())} ERROR lines in its log, checks "
        f"{'pass' if checks.passed else 'FAIL'}"
    )
    if uwsgi.process.poll() is not None:
        raise RuntimeError(f"uWSGI died during level {n}:\n{uwsgi.log_tail()}")
    return {
        "summary": summary,
        "checks": checks,
        "cpu": cpu,
        "uwsgi_cpu_ms_per_annotation": 1000 * cpu["uwsgi_s"] / done,
        "postgres_cpu_ms_per_annotation": 1000 * cpu["postgres_s"] / done,
        "seed_s": seed_s,
        "load": load,
        "workers": [min(watch.samples, default=0), max(watch.samples, default=0)],
        "ran_dry": ran_dry,
        "log_errors": log_errors,
        "project_id": project_id,
    }
