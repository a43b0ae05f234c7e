"""PostgreSQL for the benchmarks: throwaway databases and the pgbench yardstick."""

import glob
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

_TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)
_LATENCY = re.compile(r"^latency average = ([0-9.]+) ms", re.MULTILINE)


@dataclass(frozen=True)
class PgServer:
    """Where PostgreSQL listens, parsed from a URL such as postgresql://postgres@127.0.0.1:5432."""

    host: str
    port: int
    user: str
    password: str

    @classmethod
    def from_url(cls, url: str) -> "PgServer":
        parts = urlsplit(url)
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password or "",
        )

    def url(self, dbname: str) -> str:
        auth = f"{self.user}:{self.password}" if self.password else self.user
        return f"postgresql://{auth}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.url(dbname), autocommit=True)

    def cli_env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def cli_args(self) -> list[str]:
        return ["-h", self.host, "-p", str(self.port), "-U", self.user]


def database_drop(server: PgServer, name: str) -> None:
    with server.connect() as conn:
        # FORCE ends sessions a crashed earlier run may have left behind.
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def database_recreate(server: PgServer, name: str) -> None:
    database_drop(server, name)
    with server.connect() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def server_version(server: PgServer) -> str:
    with server.connect() as conn:
        return conn.execute("SELECT version()").fetchone()[0]


def server_setting(server: PgServer, name: str) -> str:
    with server.connect() as conn:
        return conn.execute("SELECT current_setting(%s)", [name]).fetchone()[0]


def pgbench_path() -> str:
    found = shutil.which("pgbench") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"), reverse=True)), None
    )
    if not found:
        raise SystemExit("pgbench not found on PATH or under /usr/lib/postgresql/*/bin")
    return found


@dataclass(frozen=True)
class PgbenchResult:
    tps: float  # transactions per second, without initial connection time
    latency_ms: float  # average latency of one transaction
    command: str  # the measured pgbench command, for the report
    output: str  # pgbench's own summary


def pgbench_run(
    server: PgServer, *, dbname: str, scale: int, clients: int, threads: int, seconds: int
) -> PgbenchResult:
    """Initialise a scale-``scale`` pgbench database, then run the simple-update script on it."""
    binary = pgbench_path()
    database_recreate(server, dbname)
    init = [binary, *server.cli_args(), "-i", "-q", "-s", str(scale), dbname]
    subprocess.run(init, env=server.cli_env(), check=True, capture_output=True, text=True)
    # -N skips the updates of pgbench_tellers and pgbench_branches: the builtin
    # "simple-update" script, one row update + select + insert per transaction.
    run = [binary, *server.cli_args(), "-c", str(clients), "-j", str(threads)]
    run += ["-T", str(seconds), "-N", dbname]
    done = subprocess.run(run, env=server.cli_env(), check=True, capture_output=True, text=True)
    tps, latency = _TPS.search(done.stdout), _LATENCY.search(done.stdout)
    if tps is None:
        raise RuntimeError(f"could not find the TPS in pgbench's output:\n{done.stdout}")
    shown = " ".join(["pgbench", *run[1:]])
    return PgbenchResult(
        tps=float(tps.group(1)),
        latency_ms=float(latency.group(1)) if latency else float("nan"),
        command=shown,
        output=done.stdout.strip(),
    )
