"""A loaded checkpoint dict checked once, before anything uses it.

torch.load(weights_only=True) guarantees only that the file ran no code: what comes back is
some mix of dicts, lists, numbers, strings and tensors. A damaged or hostile file can still
hold tensors of the wrong shapes, a config asking for 1e9 units, NaN weights or an optimizer
state that would fail mid-step. `check_checkpoint` turns each of those into one UserError
naming the problem, so `sample`, `neurons` and `run --resume` never reach a traceback.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from . import config as config_mod
from .config_check import safe_run_name
from .errors import UserError, shown
from .model import build, check_fits

# The newest checkpoint format this tuirnn reads (and the one core/checkpoint.py writes): it
# lives here, with the checks, so that the checker needs nothing from the module it serves.
VERSION = 1
_NUMBER = (int, float)
_CELL_STATES = {"lstm": 2, "gru": 1, "rnn": 1}  # hidden tensors per layer
# optimizer state keys every stepped parameter has, and hyperparameters every group needs
_OPT_STATE = {"adam": {"step", "exp_avg", "exp_avg_sq"}, "rmsprop": {"step", "square_avg"}}
_OPT_GROUP = {"adam": {"lr", "betas", "eps", "weight_decay"},
              "rmsprop": {"lr", "alpha", "eps", "weight_decay", "momentum", "centered"}}


class _Damaged(Exception):
    """What is wrong, in a few words; check_checkpoint adds the file and the fix."""


def _kind(value: Any) -> str:
    """'a list', 'an int': the type of a value, as a message says it."""
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _shape(t: torch.Tensor) -> str:
    return "(" + ", ".join(str(n) for n in t.shape) + ")"


def check_checkpoint(ckpt: dict[str, Any], name: str, device: torch.device | str = "cpu",
                     resumable: bool = False) -> config_mod.Config:
    """Validate `ckpt` (torch.load's dict, already known to carry our format tag); its Config.

    resumable: also the optimizer, RNG and hidden state `run --resume` restores.
    """
    try:
        cfg = _check_header(ckpt, name, device, resumable)
        _check_model(ckpt["model"], len(ckpt["vocab"]), cfg.model)
        if resumable:
            _check_resume_state(ckpt, cfg)
    except _Damaged as e:
        raise UserError(f"checkpoint {name} is damaged ({e}); use another file, "
                        "e.g. an earlier snapshot in the run's checkpoints/") from None
    _check_finite(ckpt["model"].items(), name, "weights")
    if resumable:
        _check_finite(_flat_tensors(ckpt["optimizer"]["state"]), name, "optimizer state")
        _check_finite(enumerate(ckpt["hidden"]), name, "hidden state")
    return cfg


def _check_header(ckpt: dict[str, Any], name: str, device, resumable: bool) -> config_mod.Config:
    version = ckpt.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _Damaged(f"version is {'missing' if version is None else _kind(version)}, not a number")
    if version > VERSION:
        raise UserError(f"checkpoint {name} is from a newer tuirnn (format {version}); upgrade tuirnn")
    for key in ("model", "vocab", "config"):
        if key not in ckpt:
            raise _Damaged(f"it lacks {key!r}")
    vocab = ckpt["vocab"]
    if not isinstance(vocab, str) or not vocab:
        raise _Damaged(f"vocab is {'empty' if vocab == '' else _kind(vocab)}, not the characters")
    if len(set(vocab)) != len(vocab):
        raise _Damaged("vocab repeats a character")
    raw = ckpt["config"]
    if not isinstance(raw, dict):
        raise _Damaged(f"config is {_kind(raw)}, not a mapping")
    run = raw.get("run")
    if isinstance(run, dict) and isinstance(run.get("name"), str):
        run["name"] = safe_run_name(run["name"])  # older runs allowed any name
    try:
        cfg = config_mod.from_dict(raw)
    except UserError as e:
        raise _Damaged(f"its {e}") from None
    iteration = ckpt.get("iteration")
    if (resumable or "iteration" in ckpt) and (
            not isinstance(iteration, int) or isinstance(iteration, bool) or iteration < 0):
        raise _Damaged(f"iteration is {shown(iteration)}, not a count of 0 or more")
    for key in ("epoch", "best_val_loss", "val_loss"):
        value = ckpt.get(key)
        if value is not None and (not isinstance(value, _NUMBER) or isinstance(value, bool)
                                  or math.isnan(value)):
            raise _Damaged(f"{key} is {_kind(value)}, not a number")
    check_fits(len(vocab), cfg.model, device, training=resumable, origin=f"checkpoint {name}: ")
    return cfg


def _check_model(state: Any, vocab_size: int, model_cfg) -> None:
    """Same keys, shapes and float dtypes as the model its config describes (built on the
    meta device: shapes only, nothing allocated)."""
    if not isinstance(state, dict):
        raise _Damaged(f"model is {_kind(state)}, not a state dict")
    with torch.device("meta"):
        expected = build(vocab_size, model_cfg).state_dict()
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    if missing or extra:
        what = f"lacks {missing[0]!r}" if missing else f"has an unknown entry {str(extra[0])[:60]!r}"
        raise _Damaged(f"its weights do not match its model config: it {what}")
    for key, want in expected.items():
        got = state[key]
        if not isinstance(got, torch.Tensor) or not got.is_floating_point():
            raise _Damaged(f"{key} is {_kind(got) if not isinstance(got, torch.Tensor) else got.dtype}, "
                           "not float weights")
        if got.shape != want.shape:
            raise _Damaged(f"{key} is {_shape(got)} but its model config needs {_shape(want)}")


def _check_resume_state(ckpt: dict[str, Any], cfg: config_mod.Config) -> None:
    rng = ckpt.get("rng_cpu")
    if (not isinstance(rng, torch.Tensor) or rng.dtype != torch.uint8
            or rng.shape != torch.get_rng_state().shape):
        raise _Damaged("rng_cpu is not a CPU random-generator state")
    cuda = ckpt.get("rng_cuda", [])
    if not isinstance(cuda, (list, tuple)) or not all(
            isinstance(t, torch.Tensor) and t.dtype == torch.uint8 and t.dim() == 1 for t in cuda):
        raise _Damaged("rng_cuda is not a list of GPU random-generator states")
    params = list(ckpt["model"].values())  # state_dict order is parameter order here
    _check_optimizer(ckpt.get("optimizer"), params, cfg.train.optimizer)
    _check_hidden(ckpt.get("hidden"), cfg.model)


def _check_optimizer(opt: Any, params: list[torch.Tensor], kind: str) -> None:
    if not isinstance(opt, dict) or not isinstance(opt.get("state"), dict) \
            or not isinstance(opt.get("param_groups"), list):
        raise _Damaged("optimizer is not a dict of state and param_groups")
    indices: list[int] = []
    for group in opt["param_groups"]:
        if not isinstance(group, dict) or not isinstance(group.get("params"), list):
            raise _Damaged("an optimizer param group is malformed")
        for key in _OPT_GROUP[kind]:
            value = group.get(key)
            ok = (isinstance(value, _NUMBER) and math.isfinite(value)) or (
                key == "betas" and isinstance(value, (list, tuple)) and len(value) == 2
                and all(isinstance(b, _NUMBER) and 0 <= b < 1 for b in value))
            if not ok:
                raise _Damaged(f"optimizer {key} is {str(value)[:40]!r}, not a {kind} setting")
        indices += group["params"]
    if not all(isinstance(i, int) for i in indices) or sorted(indices) != list(range(len(params))):
        raise _Damaged(f"optimizer state covers {len(indices)} tensors, the model has {len(params)}")
    for index, entry in opt["state"].items():
        if not isinstance(index, int) or not 0 <= index < len(params) or not isinstance(entry, dict):
            raise _Damaged("optimizer state is malformed")
        missing = _OPT_STATE[kind] - set(entry)
        if missing:
            raise _Damaged(f"optimizer state lacks {sorted(missing)[0]!r} ({kind} needs it)")
        for key, value in entry.items():
            scalar = isinstance(value, _NUMBER) or (isinstance(value, torch.Tensor) and value.dim() == 0)
            if key == "step" and not scalar:
                raise _Damaged("optimizer step is not a number")
            if key != "step" and not (isinstance(value, torch.Tensor)
                                      and value.shape == params[index].shape):
                raise _Damaged(f"optimizer {key} for tensor {index} does not match its weights")


def _check_hidden(hidden: Any, model_cfg) -> None:
    """Per layer (h, c) for LSTM, h for GRU/RNN, each (1, B, H) with one B for all."""
    want = model_cfg.num_layers * _CELL_STATES[model_cfg.cell]
    if not isinstance(hidden, list):
        raise _Damaged(f"hidden is {_kind(hidden)}, not a list of tensors")
    if len(hidden) != want:
        raise _Damaged(f"hidden holds {len(hidden)} tensors, the model needs {want}")
    for t in hidden:
        if (not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.dim() != 3
                or t.shape[0] != 1 or t.shape[2] != model_cfg.hidden_size
                or t.shape[1] != hidden[0].shape[1]):
            raise _Damaged(f"a hidden state tensor is {_shape(t) if isinstance(t, torch.Tensor) else _kind(t)}, "
                           f"not (1, batch, {model_cfg.hidden_size})")


def _flat_tensors(state: dict) -> list[tuple[str, torch.Tensor]]:
    return [(f"{index}.{key}", v) for index, entry in state.items() for key, v in entry.items()
            if isinstance(v, torch.Tensor) and v.is_floating_point()]


def _check_finite(named, name: str, what: str) -> None:
    for key, t in named:
        if not bool(torch.isfinite(t).all()):
            raise UserError(f"the checkpoint's {what} are not finite (NaN or inf in {key}); "
                            f"{name} cannot be used: take an earlier snapshot from the run's checkpoints/")

