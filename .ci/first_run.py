"""Prove the README's first command: `make run` on a fresh clone serves the whole demo.

    python3 .ci/first_run.py CLONE_DIR PORT

Starts `make run` in CLONE_DIR (a fresh clone, no virtual environment yet) on the
embedded default (SQLite, the filesystem broker: no DATABASE_URL, no Redis), waits for
the login page, then walks each role's first minutes as a new user would:
- every demo user logs in through the HTML form and opens their pages (no 5xx);
- an annotator acknowledges the guidelines and ranks an item through the API;
- the manager opens the quality dashboard and creates a project from the form;
- the engineer exports a snapshot and trains a one-epoch reward model, which must leave
  the queue promptly and succeed.
Standard library only: it runs before anything is installed. Stops `make run` (its whole
process group) at the end, whatever happened; exits non-zero on the first failure.
"""

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

INSTALL_AND_START_S = 900  # a fresh virtual environment with the CPU training stack
JOB_LEAVES_QUEUE_S = 60
RUN_FINISHES_S = 900


class Browser:
    """A cookie-keeping client that logs in through the HTML form like a person."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def request(self, method: str, path: str, data: dict | None = None, headers=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, method=method)
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        try:
            with self.opener.open(req, timeout=60) as answer:
                return answer.status, answer.read().decode("utf-8", "replace"), answer.url
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace"), error.url

    def page(self, path: str) -> str:
        status, body, _ = self.request("GET", path)
        check(status == 200, f"GET {path} answered {status}:\n{body[:2000]}")
        return body

    def post_form(self, path: str, fields: dict) -> tuple[int, str, str]:
        token = csrf_token(self.page(path))
        return self.request(
            "POST", path, {**fields, "csrfmiddlewaretoken": token}, {"Referer": self.base + path}
        )

    def log_in(self, username: str) -> None:
        status, body, url = self.post_form(
            "/accounts/login/", {"username": username, "password": f"{username}-demo"}
        )
        check(status == 200 and "/accounts/login/" not in url, f"{username} could not log in")


class Api:
    def __init__(self, base: str, username: str):
        self.base = base
        answer = self.call(
            "POST",
            "/api/v1/auth/token/",
            {"username": username, "password": f"{username}-demo"},
            auth=False,
        )
        self.token = answer["token"]

    def call(self, method: str, path: str, body=None, auth=True, expect=(200, 201, 202, 204)):
        req = urllib.request.Request(
            self.base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={
                "Content-Type": "application/json",
                **({"Authorization": f"Token {self.token}"} if auth else {}),
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as answer:
                status, text = answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode("utf-8", "replace")
        check(status in expect, f"{method} {path} answered {status}: {text[:2000]}")
        return json.loads(text) if text else None


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    check(found is not None, "no CSRF token on the form")
    return found.group(1)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def step(message: str) -> None:
    print(f"first run: {message}", flush=True)


def wait_for_login_page(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + INSTALL_AND_START_S
    while time.monotonic() < deadline:
        check(server.poll() is None, f"`make run` exited with {server.returncode}")
        try:
            with urllib.request.urlopen(base + "/accounts/login/", timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(2)
    raise AssertionError(f"no login page within {INSTALL_AND_START_S} s")


def walk_pages(base: str) -> None:
    pages = {
        "annotator1": [
            "/",
            "/p/demo/",
            "/p/demo/annotate/",
            "/p/demo/history/",
            "/p/demo-writing/",
        ],
        "reviewer": ["/", "/p/demo/review/"],
        "manager": [
            "/",
            "/p/demo/",
            "/p/demo/quality/",
            "/p/demo/settings/",
            "/p/demo/members/",
            "/p/demo/labels/",
            "/p/demo-writing/quality/",
            "/projects/new/",
        ],
        "engineer": ["/", "/p/demo/snapshots/", "/p/demo/runs/", "/p/demo/loop/"],
    }
    for username, paths in pages.items():
        browser = Browser(base)
        browser.log_in(username)
        for path in paths:
            browser.page(path)
        step(f"{username} opened {len(paths)} pages")


def annotator_ranks(base: str) -> None:
    api = Api(base, "annotator2")
    api.call("POST", "/api/v1/projects/demo/guidelines/ack/", {})
    lease = api.call("POST", "/api/v1/projects/demo/claim/")
    check(lease is not None, "the demo had nothing left for annotator2")
    order = [[r["id"]] for r in lease["item"]["responses"]]
    api.call("POST", f"/api/v1/assignments/{lease['id']}/submit/", {"ranking": order})
    step("annotator2 acknowledged the guidelines and ranked an item through the API")


def manager_creates_a_project(base: str) -> None:
    browser = Browser(base)
    browser.log_in("manager")
    status, body, url = browser.post_form(
        "/projects/new/",
        {
            "name": "First-run check",
            "slug": "",
            "ranking_mode": "rank",
            "responses_per_item": 2,
            "ties_allowed": "on",
            "rating_scale": 5,
            "overlap": 1,
            "lease_minutes": 20,
            "rationale": "off",
        },
    )
    check(status == 200 and url.endswith("/p/first-run-check/"), f"create: {status} {url}")
    browser.page("/p/first-run-check/quality/")
    step("manager created a project from the form and opened its dashboard")


def wait_for(api: Api, path: str, field: str, done: set, seconds: float, left: set = frozenset()):
    """Poll a job until its ``field`` is in ``done``; fail if still in ``left`` too long."""
    start = time.monotonic()
    while True:
        job = api.call("GET", path)
        elapsed = time.monotonic() - start
        if job[field] in done:
            return job
        check(
            not (job[field] in left and elapsed > JOB_LEAVES_QUEUE_S),
            f"{path} still {job[field]} after {JOB_LEAVES_QUEUE_S} s: {json.dumps(job)[:1500]}",
        )
        check(elapsed < seconds, f"{path} not done after {seconds} s: {json.dumps(job)[:3000]}")
        time.sleep(2)


def engineer_trains(base: str) -> None:
    api = Api(base, "engineer")
    snapshot = api.call("POST", "/api/v1/projects/demo/snapshots/", {"name": "first run"})
    snapshot = wait_for(
        api,
        f"/api/v1/snapshots/{snapshot['id']}/",
        "status",
        {"succeeded", "failed", "cancelled"},
        300,
        left={"queued"},
    )
    check(snapshot["status"] == "succeeded", f"snapshot: {json.dumps(snapshot)[:2000]}")
    step(f"engineer exported snapshot {snapshot['id']}")
    run = api.call(
        "POST",
        "/api/v1/training-runs/",
        {
            "project": "demo",
            "kind": "reward",
            "snapshot": snapshot["id"],
            "hyperparameters": {"epochs": 1},
        },
    )
    started = time.monotonic()
    run = wait_for(
        api,
        f"/api/v1/training-runs/{run['id']}/",
        "state",
        {"succeeded", "failed", "cancelled"},
        RUN_FINISHES_S,
        left={"queued"},
    )
    check(run["state"] == "succeeded", f"reward run: {json.dumps(run)[:3000]}")
    step(f"engineer trained a one-epoch reward model in {time.monotonic() - started:.0f} s")


def main() -> int:
    clone, port = Path(sys.argv[1]).resolve(), sys.argv[2]
    base = f"http://127.0.0.1:{port}"
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "CELERY_BROKER_URL",
            "PREFLAB_DATA_DIR",
            "DJANGO_SETTINGS_MODULE",
            "VIRTUAL_ENV",
        }
    }
    log = (clone / "first-run.log").open("w")
    started = time.monotonic()
    server = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=clone,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_login_page(base, server)
        step(f"`make run` served the login page after {time.monotonic() - started:.0f} s")
        walk_pages(base)
        annotator_ranks(base)
        manager_creates_a_project(base)
        engineer_trains(base)
    except AssertionError as failure:
        log.flush()
        tail = (clone / "first-run.log").read_text(errors="replace")[-6000:]
        print(f"first run FAILED: {failure}\n--- make run output (tail) ---\n{tail}", flush=True)
        return 1
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    step(f"passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
