"""The web process never imports torch: every page, API and URL module loads without it.

Models load on the ``gpu`` workers only (scoring goes through the ``gpu`` queue), so a
web node can run from an image without the training stack and start fast. The check runs
in a fresh interpreter, since this test process has torch loaded by other tests.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "accelerate", "trl", "peft")

PROBE = """
import importlib, json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
modules = json.loads(sys.argv[1])
for name in modules:
    importlib.import_module(name)
print(json.dumps({"imported": len(modules), "heavy": sorted(
    m for m in sys.modules if m.split(".")[0] in json.loads(sys.argv[2]))}))
"""


def web_modules() -> list[str]:
    """Every views, api and urls module of the apps, and the root URL configuration."""
    found = ["config.urls"]
    for name in ("views.py", "api.py", "urls.py"):
        for path in ROOT.rglob(name):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[0] in {"config", "common", "projects", "annotation", "training", "demo"}:
                found.append(".".join(parts))
    return sorted(set(found))


def test_importing_every_view_api_and_url_module_loads_no_torch(tmp_path):
    # given every module a web request can reach
    modules = web_modules()
    assert "training.runs.api" in modules and "annotation.quality.views" in modules

    # when a fresh interpreter imports them all
    env_extra = {"PREFLAB_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(modules), json.dumps(HEAVY)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, **env_extra},
    )  # fmt: skip

    # then none of the training stack came with them
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["imported"] == len(modules)
    assert report["heavy"] == []
