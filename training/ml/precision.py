"""Which number format a trainer computes in: ``--precision auto`` means bf16 autocast
on a GPU that supports it and fp32 elsewhere; ``bf16`` asks for it anywhere."""

from contextlib import nullcontext

import torch


def bf16_wanted(device, precision: str) -> bool:
    kind = torch.device(device).type
    if precision == "bf16":
        return True
    return precision == "auto" and kind == "cuda" and torch.cuda.is_bf16_supported()


def autocast_for(device, precision: str):
    """(a factory of the autocast context to compute in, its name for the stream)."""
    if bf16_wanted(device, precision):
        kind = torch.device(device).type
        return (lambda: torch.autocast(device_type=kind, dtype=torch.bfloat16)), "bf16"
    return nullcontext, "fp32"
