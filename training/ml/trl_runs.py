"""What the TRL-backed trainers (SFT, DPO) share: the policy they start from, the
Trainer arguments every run sets the same way, the bridge from the Trainer's logs to the
platform's metrics stream, resuming from TRL's checkpoints, and publishing the result.

Under ``accelerate launch`` every process runs the trainer (DDP, DeepSpeed ZeRO-3 or FSDP,
as the launch config says); only the main one writes the stream, the summary and the
model (which, sharded, every process helps gather).

TRL and transformers do the training; this is only PrefLab's wiring around them.
"""

import argparse
import json
import math
import os
import shutil
import time
import uuid
from pathlib import Path


def trl_options(prog: str, doc: str, help_text: str, config: type, argv) -> argparse.Namespace:
    """``prog train``'s options, its flags and ``--help`` derived from ``config``."""
    from training.ml.configs.base import config_options, config_parser

    parser = config_parser(prog, doc, {"train": (help_text, config)})
    return config_options(config, parser, parser.parse_args(argv))


def policy_start(policy: str, texts: list[str], seed: int):
    """(model, tokenizer padding on the right for training) of a path, hub name, .gguf
    file, or ``tiny`` (tokenizer trained on ``texts``)."""
    from training.ml.policy import TINY, policy_load, tiny_policy

    if policy == TINY:
        model, tokenizer = tiny_policy(texts, seed=seed)
    else:
        model, tokenizer = policy_load(policy)
    tokenizer.padding_side = "right"  # training pads on the right; generation on the left
    return model, tokenizer


def total_steps(o, examples: int) -> int:
    return o.max_steps or math.ceil(math.ceil(examples / o.batch_size) * o.epochs)


def trainer_arguments(o, out: Path, examples: int, evaluate: bool) -> dict:
    """Keyword arguments every TRL config of a run gets (SFTConfig, DPOConfig)."""
    import torch

    from training.ml.precision import bf16_wanted

    device = "cuda" if torch.cuda.is_available() else "cpu"
    bf16 = bf16_wanted(device, o.precision)
    return {
        "output_dir": str(out / "checkpoints"),
        "num_train_epochs": o.epochs,
        "max_steps": o.max_steps or -1,
        "per_device_train_batch_size": o.batch_size,
        "per_device_eval_batch_size": o.batch_size,
        "learning_rate": o.lr,
        "lr_scheduler_type": "linear",
        "warmup_steps": int(total_steps(o, examples) * o.warmup),
        "weight_decay": o.weight_decay,
        "max_length": o.max_length,
        "logging_steps": o.log_every,
        "save_strategy": "steps",
        "save_steps": o.save_every,
        "save_total_limit": 2,
        "eval_strategy": "epoch" if evaluate else "no",
        "seed": o.seed,
        "bf16": bf16,
        "report_to": "none",
        "use_cpu": not torch.cuda.is_available(),
        "dataloader_num_workers": 0,
        "disable_tqdm": True,
    }


def lora_config(o):
    if not o.lora_r:
        return None
    from peft import LoraConfig, TaskType

    return LoraConfig(task_type=TaskType.CAUSAL_LM, r=o.lora_r, lora_alpha=o.lora_alpha)


def stream_callback(log, names: dict[str, str]):
    """A TrainerCallback writing each log of the Trainer as a metrics line: the logged
    values renamed by ``names`` (TRL's name → the stream's), with progress and ETA; a
    held-out loss also gives its perplexity."""
    from transformers import TrainerCallback

    class Stream(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            self.started, self.first_step = time.perf_counter(), state.global_step
            log.write(state.global_step, event="start", total_steps=state.max_steps)

        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = dict(logs or {})
            values = {ours: logs[theirs] for theirs, ours in names.items() if theirs in logs}
            if "eval_loss" in values:
                values["eval_perplexity"] = math.exp(min(values["eval_loss"], 50))
            if not values:
                return
            total = state.max_steps or 1
            done = state.global_step - self.first_step
            rate = done / (time.perf_counter() - self.started) if done else 0.0
            log.write(
                state.global_step,
                epoch=logs.get("epoch"),
                **values,
                progress=state.global_step / total,
                total_steps=state.max_steps,
                eta_s=(total - state.global_step) / rate if rate else None,
            )

    return Stream()


def resume_point(out: Path, resume: bool, log) -> str | None:
    """The checkpoint to resume from (``--resume``): the newest one the Trainer finished
    writing. The Trainer writes ``checkpoint-N`` in place and its ``trainer_state.json``
    last, so a folder without that file was cut off mid-save: it is removed rather than
    resumed from. Says so in the stream."""
    if not resume:
        return None
    if not is_main_process():  # the main process tidies; all resume from the same folder
        wait_for_everyone()
    finished = []
    for folder in (out / "checkpoints").glob("checkpoint-*"):
        if (folder / "trainer_state.json").exists():
            finished.append(folder)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    if is_main_process():
        wait_for_everyone()
    if not finished:
        return None
    latest = max(finished, key=lambda p: int(p.name.rsplit("-", 1)[1]))
    if log:
        log.write(int(latest.name.rsplit("-", 1)[1]), event="resumed", checkpoint=latest.name)
    return str(latest)


def wait_for_everyone() -> None:
    """A barrier between the processes of a launch (none in a plain process)."""
    from accelerate import PartialState

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        PartialState().wait_for_everyone()


def is_main_process() -> bool:
    """Rank 0 of ``accelerate launch`` / torchrun (which set RANK), or a plain process."""
    return int(os.environ.get("RANK", "0")) == 0


def main_log(out: Path):
    """The metrics stream, opened by the main process only (None in the others)."""
    from training.ml.metrics_log import MetricsLog

    return MetricsLog(out) if is_main_process() else None


def finish(trainer, tokenizer, out: Path, log, summary: dict, step: int) -> Path:
    """Publish the trained policy, then (main process) the summary and the stream's last
    line. Sharded weights (ZeRO-3, FSDP) are gathered by the Trainer's ``save_model``,
    which every process must call; unsharded ones are saved by the main process (LoRA
    merged in)."""
    final = out / "model"
    if trainer.is_deepspeed_enabled or trainer.is_fsdp_enabled:
        tmp = out / ".tmp-model-gathered"
        trainer.save_model(str(tmp))
        if is_main_process():
            tokenizer.padding_side = "left"
            tokenizer.save_pretrained(tmp)
            if final.exists():
                shutil.rmtree(final)
            tmp.rename(final)
    elif is_main_process():
        publish(trainer.model, tokenizer, out)
    trainer.accelerator.wait_for_everyone()
    if log:
        summary["processes"] = trainer.accelerator.num_processes
        summary["distributed"] = str(trainer.accelerator.distributed_type.value)
        (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
        log.write(step, event="finished", model=str(final))
        log.close()
    return final


def publish(model, tokenizer, out: Path) -> Path:
    """The trained policy in OUT/model, whole or not at all (written, then renamed)."""
    from training.ml.policy import policy_save

    tmp = out / f".tmp-model-{uuid.uuid4().hex}"
    tokenizer.padding_side = "left"
    policy_save(model, tokenizer, tmp)
    final = out / "model"
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    return final


def trl_main(argv, options_of, train, report: str) -> int:
    """The ``train`` command of a TRL-backed trainer: every process of a launch trains;
    the main one prints the model's folder and the summary's ``report`` entry."""
    from training.ml.cli_options import cli_run

    def run(o):
        from training.ml.distributed import rank_guard

        rank_guard()  # a killed launch leaves no rank holding a GPU
        summary = train(o)
        if not is_main_process():
            return None
        return {"model": str(Path(o.out) / "model"), report: summary[report]}

    return cli_run(argv, options_of, {"train": run})
