"""One process, or one of several started by ``accelerate launch`` (data parallel).

Accelerate owns the process group (NCCL on GPUs, gloo on CPUs, which is how the tests
run two processes on a laptop) and the DDP wrapper; this module is the little the
trainers need on top: which batches of an epoch's plan are this process's, sums of the
logging window over all processes, and a barrier around what only the main process
does (evaluation, checkpoints, the metrics stream, the final model).

Every process takes the same seeded plan and keeps every ``world``-th batch, cut to a
common length so all of them take the same number of optimizer steps (DDP's
all-reduce would otherwise wait forever for a process that has run out).
"""

import ctypes
import os
import signal
import sys
from dataclasses import dataclass

import torch

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Under torchrun, a worker whose agent is killed (SIGKILL by the platform's
    launcher) must not live on holding a GPU: ask the kernel to kill it too."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def rank_guard() -> None:
    """In a process started by ``accelerate launch`` / torchrun (it sets LOCAL_RANK): die
    with the agent. torch elastic starts each rank in a session of its own, so the
    platform's signal to the agent's group never reaches the ranks."""
    if "LOCAL_RANK" in os.environ:
        _die_with_parent()


@dataclass
class Parallel:
    accelerator: object
    rank: int
    world: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, plan: list) -> list:
        """This process's batches of an epoch's plan (all processes get as many)."""
        per_process = len(plan) // self.world
        return plan[self.rank :: self.world][:per_process]

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """DDP around the model when there are several processes (gradients averaged
        during the backward pass); the model itself when there is one."""
        if self.world == 1:
            return model
        return self.accelerator.prepare_model(model)

    def sum(self, values: list[float]) -> list[float]:
        if self.world == 1:
            return values
        total = torch.tensor(values, dtype=torch.float64, device=self.device)
        return self.accelerator.reduce(total, reduction="sum").tolist()

    def gather(self, values: torch.Tensor) -> torch.Tensor:
        """Every process's rows of ``values``, in rank order (the same on all)."""
        if self.world == 1:
            return values
        return self.accelerator.gather(values.contiguous())

    def barrier(self) -> None:
        if self.world > 1:
            self.accelerator.wait_for_everyone()

    def close(self) -> None:
        if self.world > 1:
            self.accelerator.end_training()


def parallel_start() -> Parallel:
    """The process's place: rank 0 of 1 when started plainly, else what the launcher
    set up. Mixed precision stays the trainer's business (its own bf16 autocast)."""
    from accelerate import Accelerator

    rank_guard()
    accelerator = Accelerator(cpu=not torch.cuda.is_available(), mixed_precision="no")
    return Parallel(
        accelerator, accelerator.process_index, accelerator.num_processes, accelerator.device
    )
