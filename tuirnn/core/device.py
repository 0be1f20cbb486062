"""Where and how the model runs: the device, torch's CPU threads, and the optimiser with the
kernels that device has (no UI; shared by training, sampling, probing and eval)."""
from __future__ import annotations

import inspect
from typing import Any

import torch

from .errors import UserError


def pick_device(name: str, setting: str = "train.device") -> torch.device:
    """auto: CUDA, then MPS, then CPU. An explicit device that is absent is a user error.

    `setting` names where the value came from (train.device, --device) for the message.
    """
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if mps else "cpu")
    valid = name in ("cpu", "cuda", "mps") or (name.startswith("cuda:") and name[5:].isdigit())
    if not valid:
        raise UserError(f"{setting} {name!r} is not a device; use auto, cpu, cuda, cuda:N or mps")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"{setting} is {name!r} but this machine has no CUDA GPU; use auto or cpu")
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise UserError(f"{setting} is {name!r} but only {torch.cuda.device_count()} GPU(s) "
                            "exist; use cuda:0")
    if name == "mps" and not mps:
        raise UserError(f"{setting} is 'mps' but MPS is not available here; use auto or cpu")
    return torch.device(name)


# torch's own thread count (its OpenMP default: the physical cores), read before anything in
# this process sets it, so `threads: 0` can restore it after a run that asked for fewer.
TORCH_DEFAULT_THREADS = torch.get_num_threads()


def cpu_threads(setting: int) -> int:
    """train.threads (and --threads), where 0 means torch's own choice: all physical cores.

    Measured on 2 cores (2x128 LSTM, batch 50, seq 50): 2 threads train ~1.5x faster than 1,
    headless and in the monitor alike. A smaller number is for machines shared with others.
    """
    return setting if setting > 0 else TORCH_DEFAULT_THREADS


def make_optimizer(params, name: str, lr: float, device: torch.device) -> torch.optim.Optimizer:
    """Adam or RMSprop; on CUDA the fused kernel where this torch has one (one launch per step
    for all parameters instead of a few per tensor: 20.2 -> 19.2 ms/step for 3x512 on an H100).
    No autocast: bf16 gave RNNs no gain in the same measurement."""
    opt_cls = torch.optim.Adam if name == "adam" else torch.optim.RMSprop
    kwargs: dict[str, Any] = {"lr": lr}
    if device.type == "cuda" and "fused" in inspect.signature(opt_cls).parameters:
        kwargs["fused"] = True
    return opt_cls(params, **kwargs)


def load_optimizer_state(opt: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """load_state_dict, keeping this device's kernel choice (fused/foreach) rather than the
    saved one, so a run saved on a GPU resumes on a CPU and back."""
    kernels: list[dict[str, Any]] = [{k: g[k] for k in ("fused", "foreach") if k in g}
                                     for g in opt.param_groups]
    opt.load_state_dict(state)
    for group, kernel in zip(opt.param_groups, kernels):
        group.update(kernel)
