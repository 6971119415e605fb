"""Data-parallel training on ``torch.distributed``: the process group comes from torchrun's
environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``).

Without those variables everything here is a no-op for one process, so the single-process path
is the same code. Gradients are averaged over ranks with one all-reduce per optimizer step over a
flattened buffer (what DistributedDataParallel's reducer does for a model this size in one
bucket); see docs/design.md for why the tasks are not wrapped in ``DistributedDataParallel``.
"""

from __future__ import annotations

import os
from typing import Callable, Iterable, TypeVar

import torch
import torch.distributed as dist

from .errors import VawganError

T = TypeVar("T")


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    """True in the process that writes logs, checkpoints and figures (rank 0, or the only one)."""
    return rank() == 0


def launched() -> bool:
    """Started by torchrun (or anything that sets its variables) with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_from_env(device_type: str) -> None:
    """Join the process group torchrun describes: gloo for CPU tensors, nccl for CUDA. Idempotent."""
    if not launched() or dist.is_initialized():
        return
    if not dist.is_available():
        raise VawganError(None, "WORLD_SIZE > 1 but this PyTorch build has no torch.distributed")
    backend = "nccl" if device_type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)


def local_device(device: torch.device) -> torch.device:
    """On CUDA each process of a node takes the GPU of its ``LOCAL_RANK``."""
    if device.type == "cuda" and launched():
        index = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    return device


def choose_device(name: str) -> torch.device:
    """``auto`` (CUDA when there is one), ``cpu`` or ``cuda``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise VawganError(None, "--device cuda: no CUDA device is available (use --device cpu or auto)")
    if name not in ("cpu", "cuda"):
        raise VawganError(None, f"--device {name!r}: choose auto, cpu or cuda")
    return torch.device(name)


def join(device_name: str) -> torch.device:
    """The set-up every run does: this process's device, after joining the process group torchrun
    describes (a no-op in a single process). Idempotent."""
    device = choose_device(device_name)
    init_from_env(device.type)
    return local_device(device)


def main_first(make: Callable[[bool], T]) -> T:
    """``make(True)`` on rank 0, then, once rank 0 is done, ``make(False)`` on the other ranks: rank 0
    builds what they then only read (a cache on disk)."""
    if is_main():
        out = make(True)
        barrier()
        return out
    barrier()
    return make(False)


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


def leave() -> None:
    """Leave the process group: a barrier first, so that no rank closes its connections while
    another is still in a collective or about to enter one (gloo aborts the process that is left
    with a half-closed pair), then ``destroy_process_group``. A no-op in a single process."""
    if dist.is_available() and dist.is_initialized():
        barrier()
        dist.destroy_process_group()


def broadcast_module_state(modules: Iterable[torch.nn.Module]) -> None:
    """Every rank starts from rank 0's parameters and buffers."""
    if world_size() == 1:
        return
    for m in modules:
        for t in [*m.parameters(), *m.buffers()]:
            dist.broadcast(t.data, src=0)


def average_gradients(params: list[torch.nn.Parameter]) -> None:
    """Replace each gradient by its mean over ranks: one all-reduce over a flattened copy."""
    if world_size() == 1:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= world_size()
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset:offset + n].view_as(g))
        offset += n


def broadcast_learning_rates(optimizers: Iterable[torch.optim.Optimizer], device: torch.device) -> None:
    """Every rank takes rank 0's learning rates (a hook on rank 0 may have lowered them)."""
    if world_size() == 1:
        return
    for opt in optimizers:
        lrs = torch.tensor([g["lr"] for g in opt.param_groups], dtype=torch.float64, device=device)
        dist.broadcast(lrs, src=0)
        for g, lr in zip(opt.param_groups, lrs.tolist()):
            g["lr"] = lr


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every rank when ``flag`` is True on any (e.g. a hook on rank 0 ending a stage)."""
    if world_size() == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())
