"""The checks on one config value, and on keys that must agree: types, ranges, choices.

config.py owns the dataclasses and the loading; this owns what a value may be, so that a
wrong one is refused with one line naming the key and what it accepts.
"""
from __future__ import annotations

import math
import re
from typing import Any

from .errors import UserError, shown
from .schedule import SCHEDULES, parse_duration

MAX_TEXT = 4096                # characters in any text value (paths, urls, the prime)

# (key -> check) ranges and choices; a check returns an error text or None.
_CHOICES = {
    "model.cell": ("lstm", "gru", "rnn"),
    "train.optimizer": ("adam", "rmsprop"),
    "train.lr_schedule": SCHEDULES,
}
_POSITIVE = {
    "model.hidden_size", "model.num_layers", "model.embed_size", "train.batch_size",
    "train.seq_length", "train.learning_rate", "train.max_epochs", "train.max_iters",
    "train.eval_every", "train.eval_every_after", "train.log_every", "sample.length",
    "sample.temperature",
}
_NON_NEGATIVE = {"train.grad_clip", "train.lr_decay_after", "sample.top_k", "train.keep_snapshots",
                 "train.plateau_evals", "train.threads", "train.seed", "sample.seed",
                 "train.warmup_iters", "train.min_lr"}
AUTO_OK = {"train.eval_every"}     # keys that also take the word auto
_UNIT_INTERVAL = {"data.val_frac": (0.0, 0.5), "data.test_frac": (0.0, 0.5), "model.dropout": (0.0, 0.95), "train.lr_decay": (0.0, 1.0)}

# Upper bounds: far past any real model, low enough that a typo fails here, not in an
# allocation or a loop (the model's memory need is checked separately, model.check_fits).
_AT_MOST = {
    "model.num_layers": 100, "model.hidden_size": 100_000, "model.embed_size": 100_000,
    "train.batch_size": 100_000, "train.seq_length": 100_000, "train.threads": 1024,
    "train.seed": 2**63 - 1, "train.max_epochs": 1_000_000, "sample.length": 1_000_000,
}
_RUN_NAME_CHARS = "A-Za-z0-9_.-"      # run.name: one folder name of these, at most _RUN_NAME_MAX
_RUN_NAME_MAX = 100
_RUN_NAME = re.compile(f"[{_RUN_NAME_CHARS}]+")


_TYPE_WORDS = {"int": "a whole number", "float": "a number", "bool": "true or false", "str": "text"}


def _type_name(annotation: str) -> str:
    base = annotation.split("|")[0].strip()
    words = _TYPE_WORDS.get(base, base) + (" or auto" if "str" in annotation and base == "int" else "")
    return f"{words} or null" if "None" in annotation else words


def coerce(key: str, annotation: str, value: Any) -> Any:
    """Check `value` against the field's annotation (a string, thanks to __future__)."""
    optional = "None" in annotation
    base = annotation.split("|")[0].strip()
    if value is None:
        if optional:
            return None
        raise UserError(f"config: {key} may not be empty (null); give a {base}")
    if base == "bool":
        if isinstance(value, bool):
            return value
    elif base == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):  # YAML 1.1 reads 1e3 (no dot) as a string
            try:
                number = float(value)
            except ValueError:
                number = None
            if number is not None and number.is_integer():
                return int(number)
    elif base == "float":
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = _to_float(value)
        elif isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
            try:
                number = float(value)
            except ValueError:
                pass
        if number is not None:
            if not math.isfinite(number):
                raise UserError(f"config: {key} must be a finite number; got {shown(value)}")
            return number
    elif base == "str":
        if isinstance(value, str):
            if len(value) > MAX_TEXT:
                raise UserError(f"config: {key} is {len(value):,} characters long; "
                                f"the most is {MAX_TEXT:,}")
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "model.cell":
            return str(value)
    raise UserError(
        f"config: {key} must be {_type_name(annotation)}, got {shown(value)}"
    )


def safe_run_name(text: str) -> str:
    """`text` made one valid run.name: other characters become '-' ("my run" -> "my-run")."""
    return re.sub(f"[^{_RUN_NAME_CHARS}]+", "-", text).strip(".")[:_RUN_NAME_MAX] or "run"


def _to_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:  # an int past the float range
        return math.inf


def check_range(key: str, value: Any) -> None:
    if value is None:
        return
    if key in _AT_MOST and value > _AT_MOST[key]:
        limit = _AT_MOST[key]
        most = "2**63 - 1" if limit == 2**63 - 1 else f"{limit:,}"
        raise UserError(f"config: {key} must be at most {most}; got {shown(value)}")
    if key == "run.name" and (not _RUN_NAME.fullmatch(value) or value in (".", "..")
                              or len(value) > _RUN_NAME_MAX):
        raise UserError(f"config: run.name must be one folder name of letters, digits, - _ and . "
                        f"(at most {_RUN_NAME_MAX}); got {shown(value)}")
    if key in _CHOICES and value not in _CHOICES[key]:
        raise UserError(f"config: {key} must be one of {', '.join(_CHOICES[key])}; got {shown(value)}")
    if key in _POSITIVE and value <= 0:
        raise UserError(f"config: {key} must be greater than 0; got {shown(value)}")
    if key in _NON_NEGATIVE and value < 0:
        raise UserError(f"config: {key} must be 0 or more; got {shown(value)}")
    if key in _UNIT_INTERVAL:
        lo, hi = _UNIT_INTERVAL[key]
        if not lo <= value <= hi and not (key == "train.lr_decay" and value == 1.0):
            raise UserError(f"config: {key} must be between {lo} and {hi}; got {shown(value)}")
        if key == "train.lr_decay" and value <= 0:
            raise UserError(f"config: {key} must be greater than 0 (1 turns decay off); got {shown(value)}")
    if key == "train.time_budget":
        _check_budget(value)
    if key == "train.device":
        ok = value in ("auto", "cpu", "cuda", "mps") or (
            value.startswith("cuda:") and value[5:].isdigit())
        if not ok:
            raise UserError(f"config: train.device must be auto, cpu, cuda, cuda:N or mps; got {shown(value)}")


def _check_budget(value: str) -> None:
    try:
        seconds = parse_duration(value)
    except ValueError:
        raise UserError(f"config: train.time_budget must be a duration such as 90s, 30m or 4h; "
                        f"got {shown(value)}") from None
    if seconds <= 0:
        raise UserError(f"config: train.time_budget must be more than 0 seconds; got {shown(value)}")
