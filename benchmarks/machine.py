"""What a result was measured on: cores, memory, CPU model, PostgreSQL, code version."""

import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*command: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    except OSError as exc:
        return f"({command[0]} unavailable: {exc})"
    return done.stdout.strip("\n")  # keep the leading spaces that align `free`'s header


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def git_version() -> str:
    commit = _run("git", "rev-parse", "--short", "HEAD")
    dirty = _run("git", "status", "--porcelain", "--untracked-files=no")
    return f"{commit}{' + uncommitted changes' if dirty else ''}"


def machine_facts(*, postgres_version: str) -> dict:
    """Facts worth printing next to any number measured on this machine."""
    return {
        "nproc": _run("nproc"),
        "free_g": _run("free", "-g"),
        "cpu_model": cpu_model(),
        "load_average": " ".join(f"{value:.2f}" for value in os.getloadavg()),
        "postgres": postgres_version,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "git": git_version(),
    }


def machine_markdown(facts: dict) -> list[str]:
    return [
        "## Machine",
        "",
        f"- CPU: {facts['cpu_model']}, `nproc` = {facts['nproc']}",
        f"- load average when the run started: {facts['load_average']}",
        f"- {facts['postgres']}",
        f"- Python {facts['python']}, kernel {facts['kernel']}, code at {facts['git']}",
        "",
        "`free -g`:",
        "",
        "```",
        facts["free_g"],
        "```",
        "",
    ]
