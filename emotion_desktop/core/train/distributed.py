"""Data-parallel training under ``torchrun``: one process per core group or GPU, same command.

Outside ``torchrun`` (no WORLD_SIZE in the environment) every helper is a no-op, so the training
loop reads the same either way. Each process takes a strided share of every batch and
DistributedDataParallel averages the gradients, so all processes hold identical weights.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def init_from_env() -> bool:
    """Join the process group ``torchrun`` describes; False when not launched by it."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available():
        return False
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return True


def device() -> torch.device:
    """This process's GPU where there is one (``LOCAL_RANK`` picks it under torchrun), else CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def device_name() -> str:
    """What this process trains on, for a model card: the GPU's name, or "cpu"."""
    here = device()
    return torch.cuda.get_device_name(here) if here.type == "cuda" else "cpu"


def shutdown() -> None:
    if is_distributed():
        dist.destroy_process_group()


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    return rank() == 0


def shard(index: torch.Tensor) -> torch.Tensor:
    """This process's share of a batch of indices (the whole batch when it is too small)."""
    world = world_size()
    return index if world == 1 or len(index) < world else index[rank() :: world]


def wrap(model: nn.Module) -> nn.Module:
    """Move ``model`` to this process's device and, under torchrun, wrap it in DDP."""
    model.to(device())
    return nn.parallel.DistributedDataParallel(model) if is_distributed() else model


def any_rank(flag: bool) -> bool:
    """True on every process when ``flag`` is true on any (a cancel must stop all of them)."""
    if not is_distributed():
        return flag
    value = torch.tensor([int(flag)], device=device())
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())
