"""The active-learning benchmark's figures: a summary of the curves, JSON, Markdown, SVG.

Comparisons with random are paired by seed: a seed fixes the seed set every rule starts
from, so ``rule − random`` on the same seed removes most of the seed set's luck.
"""

import json
import math
import os
import platform
import statistics
import time
from pathlib import Path
from xml.sax.saxutils import escape

from benchmarks.jsonable import jsonable
from benchmarks.machine import cpu_model, git_version
from training.loop.acquisition_rules import RANDOM

COLOURS = {
    "random": "#6b6b6b",
    "uncertainty": "#1f77b4",
    "disagreement": "#d62728",
    "mix": "#2ca02c",
}


def _mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def _first_reaching(labels: list[int], accuracy: list[float], target: float) -> int | None:
    return next((n for n, a in zip(labels, accuracy, strict=True) if a >= target - 1e-12), None)


def summary_of(results: dict) -> dict:
    """Mean ± sd per rule and label count; gains over random and labels saved, by seed."""
    budget = results["config"]["budget"]
    curves = results["curves"]
    rules: dict[str, dict] = {}
    for rule, runs in curves.items():
        labels = [point["labels"] for point in runs[0]]
        by_point = list(zip(*[[p["accuracy"] for p in run] for run in runs], strict=True))
        stats = [_mean_sd(list(values)) for values in by_point]
        rules[rule] = {
            "labels": labels,
            "mean": [m for m, _ in stats],
            "sd": [s for _, s in stats],
            # What the rule picked: the mean feature gap of the pairs it added after the seed set.
            "added_feature_gap": statistics.fmean(
                p["added_feature_gap"] for run in runs for p in run[1:]
            )
            if len(runs[0]) > 1
            else None,
        }
    if RANDOM not in curves:
        return {"rules": rules}
    target = rules[RANDOM]["mean"][-1]
    for rule, row in rules.items():
        reached = _first_reaching(row["labels"], row["mean"], target)
        row["labels_to_random_final"] = reached
        row["labels_saved"] = None if reached is None else budget - reached
        # Paired by seed: the difference to random after the seed set, averaged over rounds.
        gains = [
            statistics.fmean(
                a["accuracy"] - b["accuracy"] for a, b in list(zip(run, base, strict=True))[1:]
            )
            if len(run) > 1
            else 0.0
            for run, base in zip(curves[rule], curves[RANDOM], strict=True)
        ]
        mean, sd = _mean_sd(gains)
        row["gain_over_random"] = {"mean": mean, "se": sd / math.sqrt(len(gains))}
        saved = []
        for run, base in zip(curves[rule], curves[RANDOM], strict=True):
            own = _first_reaching(
                [p["labels"] for p in run], [p["accuracy"] for p in run], base[-1]["accuracy"]
            )
            saved.append(None if own is None else budget - own)
        row["labels_saved_per_seed"] = saved
    return {"rules": rules, "random_final_accuracy": target}


def _write_atomic(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def report_write(results: dict, out: Path, *, command: str, load: tuple) -> list[Path]:
    """Write ``active_learning.json``, ``.md`` and ``.svg`` into ``out``; their paths."""
    import torch

    summary = summary_of(results)
    machine = {
        "cpu": cpu_model(),
        "nproc": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in load],
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "code": git_version(),
    }
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    full = {"measured": when, "command": command, "machine": machine, **results, "summary": summary}
    return [
        _write_atomic(out / "active_learning.json", json.dumps(jsonable(full), indent=1) + "\n"),
        _write_atomic(out / "active_learning.md", markdown(full)),
        _write_atomic(out / "active_learning.svg", svg(full)),
    ]


def _pm(mean: float, sd: float) -> str:
    return f"{mean:.3f} ± {sd:.3f}"


def _saved_cell(row: dict) -> tuple[str, str, str]:
    reached = row.get("labels_to_random_final")
    per_seed = [s for s in row.get("labels_saved_per_seed", []) if s is not None]
    seeds = len(row.get("labels_saved_per_seed", []))
    median = f", median {statistics.median(per_seed):.0f} saved" if per_seed else ""
    return (
        "not reached" if reached is None else str(reached),
        "—" if reached is None else str(row["labels_saved"]),
        f"{len(per_seed)}/{seeds}{median}",
    )


def markdown(full: dict) -> str:
    """The report for people."""
    cfg, m, s = full["config"], full["machine"], full["summary"]
    rules, secs, ref = s["rules"], full["seconds"], full["reference"]
    lines = [
        "# Label efficiency of the acquisition rules (simulated annotation on HH-RLHF)",
        "",
        f"Measured {full['measured']} with `{full['command']}` on {m['cpu']} ({m['nproc']} "
        f"cores, load average at start {' '.join(map(str, m['load_average_at_start']))}; "
        f"Python {m['python']}, torch {m['torch']}, {m['torch_threads']} threads), code "
        f"{m['code']}. Wall time {secs['total']:.0f} s: features {secs['features']:.0f} s "
        f"(0 when cached), simulation {secs['simulation']:.0f} s.",
        "",
        f"Pool {cfg['pool']} HH pairs (`hh_sample_train.jsonl`), test {cfg['test']} "
        f"(`hh_sample_test.jsonl`, prompt-disjoint). Seed set: {cfg['step']} random pairs, the "
        f"same for every rule within a seed; then {cfg['step']} labels a round up to "
        f"{cfg['budget']}; {cfg['seeds']} seeds. Model: PrefLab's reward model, feature "
        f"strategy (frozen MiniLM, mean pooling, {cfg['max_length']} tokens), head refitted "
        f"from scratch each round (L2 {cfg['l2']}). Accuracy: share of test pairs whose "
        "chosen reply scores above the rejected one.",
        "",
        f"**Disagreement is a proxy.** HH has one label per pair, so no annotators disagree: "
        f"the committee is {cfg['committee']} heads fitted on bootstrap resamples of the "
        "labels so far (query-by-committee), each member's ranking of the pair fed to "
        "`consensus_uncertainty` as `ItemSignals.rankings`. It measures where the model's "
        "evidence is thin, not where people differ. `mix` is the platform's default blend "
        "(half uncertainty, a quarter disagreement, a quarter random, by rank).",
        "",
        "![test accuracy against labels used](active_learning.svg)",
        "",
        "## Test accuracy against labels used (mean ± sd over seeds)",
        "",
        "| labels | " + " | ".join(rules) + " |",
        "|---:|" + "---:|" * len(rules),
    ]
    labels = next(iter(rules.values()))["labels"]
    for k, n in enumerate(labels):
        cells = [_pm(row["mean"][k], row["sd"][k]) for row in rules.values()]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"References: the same model fitted on the whole pool ({cfg['pool']} labels) scores "
        f"{ref['whole_pool_accuracy']:.3f}; preferring the shorter reply scores "
        f"{ref['shorter_reply_accuracy']:.3f}; that whole-pool fit agrees with only "
        f"{ref['whole_pool_train_accuracy']:.3f} of its own training labels.",
        "",
        "What the rules pick: the mean distance between the chosen and rejected reply's "
        "features (‖f_chosen − f_rejected‖) of the pairs each rule added after the seed set, "
        f"against {ref['pool_feature_gap']:.3f} over the whole pool: "
        + "; ".join(
            f"{rule} {row['added_feature_gap']:.3f}"
            for rule, row in rules.items()
            if row["added_feature_gap"] is not None
        )
        + ".",
        "",
    ]
    if "random_final_accuracy" in s:
        lines += _savings_section(s, cfg)
    lines += _reading(full)
    return "\n".join(lines) + "\n"


def _savings_section(s: dict, cfg: dict) -> list[str]:
    lines = [
        f"## Labels to reach random's final accuracy ({s['random_final_accuracy']:.3f} at "
        f"{cfg['budget']} labels)",
        "",
        "| rule | first labels where the mean curve reaches it | labels saved | seeds reaching "
        "their own random's final | mean gain over random after the seed set (± se) |",
        "|---|---:|---:|---|---:|",
    ]
    for rule, row in s["rules"].items():
        reached, saved, seeds = _saved_cell(row)
        gain = row["gain_over_random"]
        lines.append(
            f"| {rule} | {reached} | {saved} | {seeds} | {gain['mean']:+.4f} ± {gain['se']:.4f} |"
        )
    lines += [
        "",
        f"Granularity is one round ({cfg['step']} labels). The gain column averages, per "
        "seed, the rule's accuracy minus random's at every round after the seed set, then "
        "over seeds (± standard error): the area between the curves, paired by seed set.",
        "",
    ]
    return lines


def _reading(full: dict) -> list[str]:
    """Plain statements from the numbers; what they can and cannot show."""
    s, cfg, ref = full["summary"], full["config"], full["reference"]
    rules = s["rules"]
    lines = ["## Reading", ""]
    for rule, row in rules.items():
        gain = row.get("gain_over_random")
        if rule == RANDOM or not gain:
            continue
        if gain["se"] < 1e-9:  # one seed, or the same difference on every seed
            verdict, z_text = "not told apart from random (no seed-to-seed spread)", ""
        else:
            z = gain["mean"] / gain["se"]
            verdict = (
                "ahead of random"
                if z >= 2
                else "behind random"
                if z <= -2
                else "not told apart from random"
            )
            z_text = f", {z:+.1f} standard errors"
        lines.append(
            f"- {rule}: {verdict} ({gain['mean']:+.4f} accuracy averaged over the curve"
            f"{z_text}; final {rules[rule]['mean'][-1]:.3f} against "
            f"{rules[RANDOM]['mean'][-1]:.3f})."
        )
    gap = (rules.get("uncertainty") or {}).get("added_feature_gap")
    if gap is not None and gap < 0.85 * ref["pool_feature_gap"]:
        lines.append(
            f"- Uncertainty picks pairs whose replies look alike to the encoder (feature gap "
            f"{gap:.3f} against {ref['pool_feature_gap']:.3f} for the pool). With a linear "
            "head the margin is |w · (f_chosen − f_rejected)|: small for a pair on the "
            "decision boundary, but also for one whose two replies' features are close, and "
            "the picks lean that way; such a pair's Bradley–Terry gradient, proportional to "
            "the gap, moves the head little."
        )
    spread = max(max(row["sd"]) for row in rules.values())
    lines += [
        f"- The curves span little: {min(r['mean'][0] for r in rules.values()):.3f} at "
        f"{cfg['step']} labels, {ref['whole_pool_accuracy']:.3f} with all {cfg['pool']}, "
        f"{ref['shorter_reply_accuracy']:.3f} for the length baseline. "
        f"Seed-to-seed sd reaches {spread:.3f}, and {cfg['test']} test pairs alone carry "
        f"±{math.sqrt(0.25 / cfg['test']):.3f} of binomial noise, so a 'labels saved' figure "
        "read off mean curves this flat moves by whole rounds between runs.",
        *_self_saving(rules),
        "- The frozen-encoder head is a weaker learner than a fine-tuned reward model "
        "(0.650 on the same split in `reward_model.md`); rules that pick informative pairs "
        "have less to gain when the model cannot use much more than what a few dozen "
        "labels teach it. The ranking of rules here need not carry over to fine-tuning.",
        "- Disagreement here is the committee proxy described above, not human disagreement: "
        "on the platform the rule asks for a second opinion on items people split on, which "
        "this data (one label per pair) cannot simulate.",
    ]
    return lines


def _self_saving(rules: dict) -> list[str]:
    per_seed = [
        s for s in (rules.get(RANDOM) or {}).get("labels_saved_per_seed", []) if s is not None
    ]
    early = sum(1 for s in per_seed if s > 0)
    if not early:
        return []
    return [
        f"- Seed by seed, random's own curve touches its final accuracy before the end on "
        f"{early} of {len(per_seed)} seeds (median over seeds {statistics.median(per_seed):.0f} "
        "labels 'saved' against itself). The per-seed column measures mostly that noise; the "
        "paired gain is the steadier figure."
    ]


def svg(full: dict) -> str:
    """Test accuracy (mean, ± sd band) against labels used, one line per rule."""
    s, cfg, ref = full["summary"], full["config"], full["reference"]
    rules = s["rules"]
    width, height, left, right, top, bottom = 780, 460, 64, 190, 44, 56
    pw, ph = width - left - right, height - top - bottom
    xs = next(iter(rules.values()))["labels"]
    x0, x1 = 0, cfg["budget"]
    lows = [m - d for row in rules.values() for m, d in zip(row["mean"], row["sd"], strict=True)]
    highs = [m + d for row in rules.values() for m, d in zip(row["mean"], row["sd"], strict=True)]
    highs.append(ref["whole_pool_accuracy"])
    lows.append(ref["shorter_reply_accuracy"])
    y0, y1 = math.floor(min(lows) * 50) / 50, math.ceil(max(highs) * 50) / 50

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return top + (y1 - y) / (y1 - y0) * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="24" font-size="14" font-weight="bold">Test pair accuracy against '
        f"labels used (HH-RLHF, {cfg['seeds']} seeds, mean ± sd)</text>",
    ]
    y = y0
    while y <= y1 + 1e-9:
        out.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{py(y):.1f}" y2="{py(y):.1f}" '
            'stroke="#e4e4e4"/>'
        )
        out.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.2f}</text>')
        y += 0.01 if y1 - y0 <= 0.08 else 0.02
    tick = max(cfg["step"], (x1 // 10 // cfg["step"]) * cfg["step"]) or 1
    for x in range(0, x1 + 1, tick):
        out.append(f'<text x="{px(x):.1f}" y="{top + ph + 18}" text-anchor="middle">{x}</text>')
    out += [
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>',
        f'<text x="{left + pw / 2}" y="{height - 14}" text-anchor="middle">labels used</text>',
        f'<text x="16" y="{top + ph / 2}" text-anchor="middle" '
        f'transform="rotate(-90 16 {top + ph / 2})">test pairwise accuracy</text>',
    ]
    out += _reference_lines(s, ref, cfg, px, py, x1)
    legend_y = top + 8
    for rule, row in rules.items():
        colour = COLOURS.get(rule, "#8c564b")
        upper = [(px(x), py(m + d)) for x, m, d in zip(xs, row["mean"], row["sd"], strict=True)]
        lower = [(px(x), py(m - d)) for x, m, d in zip(xs, row["mean"], row["sd"], strict=True)]
        band = " ".join(f"{a:.1f},{b:.1f}" for a, b in upper + lower[::-1])
        line = " ".join(f"{px(x):.1f},{py(m):.1f}" for x, m in zip(xs, row["mean"], strict=True))
        out.append(f'<polygon points="{band}" fill="{colour}" fill-opacity="0.07"/>')
        out.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, m in zip(xs, row["mean"], strict=True):
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(m):.1f}" r="2.5" fill="{colour}"/>')
        lx = left + pw + 16
        out.append(
            f'<line x1="{lx}" x2="{lx + 22}" y1="{legend_y}" y2="{legend_y}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        out.append(f'<text x="{lx + 28}" y="{legend_y + 4}">{escape(rule)}</text>')
        legend_y += 20
    lx = left + pw + 16
    notes = [
        "lines: mean over seeds;",
        "bands: ± sd over seeds",
        "",
        "disagreement: committee of",
        f"{cfg['committee']} bootstrap heads (a proxy",
        "for annotator disagreement)",
    ]
    for k, note in enumerate(notes):
        out.append(
            f'<text x="{lx}" y="{legend_y + 16 + 15 * k}" font-size="11" '
            f'fill="#555">{escape(note)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _reference_lines(s, ref, cfg, px, py, x1) -> list[str]:
    # (value, label, colour, where the label sits: left or right end)
    marks = [
        (ref["whole_pool_accuracy"], f"all {cfg['pool']} labels", "#444", "start"),
        (ref["shorter_reply_accuracy"], "shorter reply", "#999", "start"),
    ]
    if "random_final_accuracy" in s:
        marks.append((s["random_final_accuracy"], "random's final", "#6b6b6b", "end"))
    out = []
    for value, label, colour, anchor in marks:
        y = py(value)
        x, dy = (px(0) + 6, 14) if anchor == "start" else (px(x1) - 6, -5)
        out.append(
            f'<line x1="{px(0):.1f}" x2="{px(x1):.1f}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{colour}" stroke-dasharray="5 4"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{y + dy:.1f}" font-size="11" text-anchor="{anchor}" '
            f'fill="{colour}">{escape(label)} {value:.3f}</text>'
        )
    return out
