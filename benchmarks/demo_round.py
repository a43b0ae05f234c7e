"""How long the demo's first hour takes on this machine: load the demo, answer round 2.

    .venv/bin/python benchmarks/demo_round.py [--out benchmarks/results]

On the embedded default in a throwaway folder (SQLite, no broker needed: the round is
generated in this process, as `manage.py start_round` does): `migrate`, `load_demo`
(with its simulated annotators' work), then `start_round demo` over the demo's new
prompts with the demo's SmolLM2-135M generator. Reports wall seconds of each step, the
job's prompts, tokens and tokens per second, and checks every prompt got its item.
Issue 19 asks that the demo round finish in a few minutes on two CPU cores.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="preflab-demo-round-") as data_dir:
        for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
            os.environ.pop(name, None)
        os.environ["PREFLAB_DATA_DIR"] = data_dir
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        figures = measure()
    figures["load_average_at_start"] = load_at_start
    figures["load_average_at_end"] = os.getloadavg()
    from benchmarks.machine import machine_facts, machine_markdown

    machine = machine_facts(postgres_version="database: SQLite (the embedded default)")
    machine["load_average"] = " ".join(f"{value:.2f}" for value in load_at_start)
    figures["machine"] = machine
    write(Path(args.out), figures, machine_markdown(machine))
    return 0 if figures["items"] == figures["prompts"] else 1


def measure() -> dict:
    from django.core.management import call_command

    from annotation.models import Item
    from training.loop.models import GenerationJob

    timings = {}
    for step, command in (
        ("migrate", ["migrate", "--noinput", "-v0"]),
        ("load_demo", ["load_demo"]),
    ):
        start = time.perf_counter()
        call_command(*command)
        timings[step] = time.perf_counter() - start
    start = time.perf_counter()
    call_command("start_round", "demo", "--source", "new", "--as-user", "engineer")
    timings["round_2"] = time.perf_counter() - start
    job = GenerationJob.objects.get(round__number=2, round__project__slug="demo")
    return {
        "seconds": timings,
        "state": job.state,
        "prompts": job.prompts_total,
        "prompts_done": job.prompts_done,
        "tokens": job.tokens_done,
        "tokens_per_second": job.tokens_per_second,
        "answers_per_prompt": job.project.responses_per_item,
        "max_new_tokens": job.generators.get().max_new_tokens,
        "items": Item.objects.filter(project=job.project, round=2).count(),
    }


def write(out: Path, figures: dict, machine: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "demo_round.json").write_text(json.dumps(figures, indent=2) + "\n")
    s = figures["seconds"]
    lines = [
        "# The demo's round 2 on this machine",
        "",
        "Command: `.venv/bin/python benchmarks/demo_round.py`",
        "",
        *machine,
        "",
        "| step | seconds |",
        "| --- | ---: |",
        f"| migrate a fresh SQLite database | {s['migrate']:.1f} |",
        f"| load_demo (with the simulated annotators' work) | {s['load_demo']:.1f} |",
        f"| round 2: generate and open the items | {s['round_2']:.1f} |",
        "",
        f"Round 2: {figures['prompts_done']} of {figures['prompts']} prompts x "
        f"{figures['answers_per_prompt']} answers by SmolLM2-135M-Instruct (at most "
        f"{figures['max_new_tokens']} new tokens each), {figures['tokens']} tokens, "
        f"{figures['tokens_per_second']:.1f} tokens/s, job {figures['state']}, "
        f"{figures['items']} items opened. Wall time includes loading the GGUF model.",
        "",
        "Load average (1, 5, 15 min) at the end: "
        + " ".join(f"{v:.2f}" for v in figures["load_average_at_end"])
        + ". A load above 2 means other processes shared the 2 cores: the round's time",
        "grows with it, so compare runs at a similar load.",
        "",
    ]
    (out / "demo_round.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
