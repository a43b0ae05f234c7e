"""The embedded server keeps one worker per queue and starts a dead one again."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _wait_for(log: Path, pattern: str, count: int, process, seconds: float = 90) -> list[str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = re.findall(pattern, log.read_text(errors="replace"))
        if len(found) >= count:
            return found
        assert process.poll() is None, log.read_text(errors="replace")[-4000:]
        time.sleep(0.3)
    pytest.fail(f"no {count} x {pattern!r} within {seconds} s:\n{log.read_text()[-4000:]}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers signal 0 until its parent reaps it.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def test_one_supervised_worker_per_queue(tmp_path):
    # given the embedded default in a folder of its own (SQLite, the filesystem broker)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
    }
    env["PREFLAB_DATA_DIR"] = str(tmp_path / "data")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [*manage, "serve_embedded", "--port", str(_free_port())], cwd=ROOT, env=env,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        # when both workers are up
        started = dict(_wait_for(log, r"celery worker for queue '(\w+)' \(pid (\d+)\)", 2, server))
        assert set(started) == {"default", "gpu"}
        _wait_for(log, r"(?:default|gpu)@\S+ ready\.", 2, server)

        # and the gpu worker is killed
        gpu = int(started["gpu"])
        os.kill(gpu, signal.SIGKILL)

        # then it is started again, and the default worker never stopped
        _wait_for(log, r"worker for queue 'gpu' exited with -9; starting it again", 1, server)
        _wait_for(log, r"gpu@\S+ ready\.", 2, server)
        assert _alive(int(started["default"]))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            pytest.fail("serve_embedded did not stop on SIGTERM")
    # and stopping the server stops its workers too
    assert not _alive(int(started["default"]))
