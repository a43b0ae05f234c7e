"""Security headers: a Content-Security-Policy on every answer, and HTTPS by default in
production (a real host name) while the embedded default keeps plain http on 127.0.0.1."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from common.web.csp import POLICY

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/accounts/login/", 200),
        ("/", 302),
        ("/p/nowhere/", 302),
        ("/no/such/page/", 404),
        ("/api/v1/projects/", 401),
        ("/api/v1/schema/", 200),
        ("/healthz", 200),
    ],
)
def test_every_answer_carries_the_policy(db, path, status):
    answer = Client().get(path)
    assert answer.status_code == status
    assert answer["Content-Security-Policy"] == POLICY


def test_the_policy_allows_no_inline_script_nor_eval():
    directives = dict(part.split(" ", 1) for part in POLICY.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"


def test_no_template_holds_an_inline_script_or_event_handler():
    """The policy would refuse them: scripts go in static/js, handlers in their listeners."""
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
    handler = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
    found = []
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        found += [
            f"{template.relative_to(ROOT)}: {m.group()}" for m in inline_script.finditer(text)
        ]
        found += [f"{template.relative_to(ROOT)}: {m.group()}" for m in handler.finditer(text)]
    assert found == []


SETTINGS_PROBE = """
import django, os
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
django.setup()
from django.conf import settings
from django.test import Client
host = settings.ALLOWED_HOSTS[0]
print(settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE,
      getattr(settings, "SECURE_HSTS_SECONDS", 0), Client().get("/healthz", HTTP_HOST=host).status_code,
      Client().get("/accounts/login/", HTTP_HOST=host).status_code)
"""


def _settings_under(tmp_path, **env) -> str:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"ALLOWED_HOSTS", "DEBUG", "PREFLAB_HTTPS", "DATABASE_URL"}
    }
    environment.update(PREFLAB_DATA_DIR=str(tmp_path), **env)
    done = subprocess.run(
        [sys.executable, "-c", SETTINGS_PROBE],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.split()


@pytest.mark.parametrize(
    ("env", "secure"),
    [
        pytest.param({}, False, id="embedded default on 127.0.0.1"),
        pytest.param({"ALLOWED_HOSTS": "preflab.example.com"}, True, id="production host"),
        pytest.param(
            {"ALLOWED_HOSTS": "preflab.example.com", "PREFLAB_HTTPS": "0"},
            False,
            id="production host, plain http on purpose",
        ),
        pytest.param({"ALLOWED_HOSTS": "preflab.example.com", "DEBUG": "1"}, False, id="debugging"),
        pytest.param({"PREFLAB_HTTPS": "1"}, True, id="asked for on localhost"),
    ],
)
def test_cookies_and_hsts_are_secure_by_default_wherever_the_host_is_not_local(
    tmp_path, env, secure
):
    # when the settings load under that environment
    session, csrf, hsts, health, login = _settings_under(tmp_path, **env)

    # then cookies are Secure and HSTS is sent exactly when the site is served over https;
    # the health check still answers over plain http, and login redirects to https
    assert (session, csrf) == (str(secure), str(secure))
    assert (int(hsts) > 0) == secure
    assert health == "200"
    assert login == ("301" if secure else "200")
