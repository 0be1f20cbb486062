"""Run configuration: YAML in, a validated nested dataclass out.

Every key has a type and a range; an unknown key gets a "did you mean", a wrong type or an
out-of-range value gets one line naming the key and what it accepts. `--set a.b=v` overrides
are parsed as YAML scalars, so they are typed like the file.
"""
from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .config_check import AUTO_OK, check_range, coerce, safe_run_name
from .corpus import read_regular_file
from .errors import UserError, shown

MAX_FILE_BYTES = 1_000_000     # a config is a few hundred bytes; more is a mistake or an attack
MAX_DEPTH = 20                 # YAML nesting; a config needs 2 (section, key)


@dataclass
class DataConfig:
    path: str | None = None        # corpus file; relative paths are taken from the working directory
    url: str | None = None         # downloaded to `path` when it is missing
    sha256: str | None = None      # checked after download when given
    val_frac: float = 0.05         # char-rnn's default
    test_frac: float = 0.0         # held out after val: never trained on or used to pick a checkpoint
    normalize_newlines: bool = True  # CRLF and lone CR -> LF


@dataclass
class ModelConfig:
    cell: str = "lstm"             # lstm | gru | rnn
    hidden_size: int = 128
    num_layers: int = 2
    dropout: float = 0.0           # between layers, as in char-rnn
    embed_size: int = 64           # character embedding width (torch-rnn's wordvec_size)


@dataclass
class TrainConfig:
    batch_size: int = 50
    seq_length: int = 50
    optimizer: str = "adam"        # adam | rmsprop
    learning_rate: float = 2e-3
    lr_decay: float = 0.97         # multiply the lr by this every epoch ...
    lr_decay_after: int = 10       # ... once this many epochs are done
    lr_schedule: str = "step"      # step (char-rnn's, lr_decay above) | cosine | linear
    warmup_iters: int = 0          # cosine/linear: iterations of linear warmup to learning_rate
    min_lr: float = 0.0            # cosine/linear: the rate at the horizon (budget or max_iters)
    time_budget: str | None = None  # training time, e.g. 90s, 30m, 4h (1h30m; a number: seconds);
    # the run stops by itself inside it (last eval and checkpoints included); set-up is not counted
    grad_clip: float = 5.0         # max global grad norm; 0 turns clipping off
    max_epochs: float = 50.0
    max_iters: int | None = None   # stop after this many iterations (whichever limit comes first)
    eval_every: int | str = "auto"  # iterations between evals (val loss, samples, checkpoint);
    # auto: at 100 200 300 500 700 1000 1500 2000, then every eval_every_after
    eval_every_after: int = 1000   # with eval_every auto: iterations between evals after 2000
    log_every: int = 10            # iterations between loss reports (the only host syncs)
    seed: int = 123
    device: str = "auto"           # auto | cpu | cuda | cuda:N | mps
    keep_snapshots: int = 20       # newest snapshot files kept; 0 keeps all
    plateau_evals: int = 5         # alert "plateau" after this many evals without a new best; 0: never
    threads: int = 0               # CPU threads for torch; 0: torch's choice (all physical cores)


@dataclass
class SampleConfig:
    length: int = 500
    temperature: float = 0.8
    top_k: int = 0                 # 0 samples from the whole distribution
    prime: str = ""                # text fed in before sampling; "" starts after a newline
    timeline: bool = True          # also draw a fixed sample at every checkpoint: the evolution
    timeline_prime: str = ""       # the fixed sample's prime ...
    seed: int = 1                  # ... and seed, the same every time so samples compare


@dataclass
class RunConfig:
    name: str | None = None        # defaults to the config file's stem
    root: str = "runs"             # run folders are made under this


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return dataclasses.asdict(self)


_SECTION_TYPES = {
    "data": DataConfig, "model": ModelConfig, "train": TrainConfig,
    "sample": SampleConfig, "run": RunConfig,
}

def check_together(cfg: Config) -> Config:
    """What no single key can check: keys that must agree with each other."""
    t = cfg.train
    if t.min_lr > t.learning_rate:
        raise UserError(f"config: train.min_lr ({t.min_lr:g}) is above train.learning_rate "
                        f"({t.learning_rate:g}); give a min_lr at most the learning rate")
    return cfg


def _suggest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(options)})"


def from_dict(raw: Any, base: Config | None = None) -> Config:
    """Validate a nested dict (as YAML gives it) onto `base` (defaults when None)."""
    cfg = base if base is not None else Config()
    if raw is None:
        return cfg
    if not isinstance(raw, dict):
        raise UserError("config: the file must be a mapping of sections (data, model, train, sample, run)")
    for section, values in raw.items():
        if section not in _SECTION_TYPES:
            raise UserError(f"config: unknown section {shown(section)}{_suggest(str(section)[:100], list(_SECTION_TYPES))}")
        if values is None:
            continue
        if not isinstance(values, dict):
            raise UserError(f"config: section {shown(section)} must be a mapping of keys, got {shown(values)}")
        for key, value in values.items():
            set_key(cfg, f"{section}.{str(key)[:200]}", value)
    return cfg


def set_key(cfg: Config, dotted: str, value: Any) -> None:
    section, _, key = dotted.partition(".")
    if section not in _SECTION_TYPES:
        raise UserError(f"config: unknown section {shown(section)}{_suggest(section[:100], list(_SECTION_TYPES))}")
    fields = {f.name: f for f in dataclasses.fields(_SECTION_TYPES[section])}
    if key not in fields:
        known = [f"{section}.{k}" for k in fields]
        raise UserError(f"config: unknown key {shown(dotted)}{_suggest(dotted[:100], known)}")
    if dotted in AUTO_OK and value == "auto":
        setattr(getattr(cfg, section), key, value)
        return
    coerced = coerce(dotted, str(fields[key].type), value)
    check_range(dotted, coerced)
    setattr(getattr(cfg, section), key, coerced)


def parse_override(text: str) -> tuple[str, Any]:
    """'train.max_iters=200' -> ('train.max_iters', 200), typed like YAML."""
    key, sep, raw = text.partition("=")
    if not sep or "." not in key:
        raise UserError(f"--set {shown(text)}: write it as section.key=value, e.g. --set train.max_iters=200")
    try:
        value = _parse_yaml(raw) if raw.strip() else None
    except (yaml.YAMLError, ValueError):
        value = raw
    return key.strip(), value


def load(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read a YAML file (None: defaults) and apply `--set` overrides."""
    cfg = Config()
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise UserError(f"config file {shown(str(p), 240)} not found; give a path such as configs/tiny.yaml")
        data = read_regular_file(p, "config file", limit=MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise UserError(f"config file {shown(str(p), 240)} is over {MAX_FILE_BYTES // 1_000_000} MB; "
                            "a config is a few lines of YAML: give the right file")
        try:
            raw = _parse_yaml(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise UserError(f"config file {shown(str(p), 240)} is not UTF-8 text") from None
        except yaml.YAMLError as e:
            where = getattr(e, "problem_mark", None)
            at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
            problem = getattr(e, "problem", None) or "malformed YAML"
            raise UserError(f"config file {shown(str(p), 240)} is not valid YAML{at}: {problem}") from None
        except ValueError:  # Python refuses to read an integer of over 4,300 digits
            raise UserError(f"config file {shown(str(p), 240)} holds a number too long to read; "
                            "write a shorter value") from None
        cfg = from_dict(raw, cfg)
        if cfg.run.name is None:  # the file's stem, made one safe folder name
            cfg.run.name = safe_run_name(p.stem)
    apply_overrides(cfg, overrides)
    if cfg.run.name is None:
        cfg.run.name = "default"
    return cfg


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader without aliases (*name: one 300-byte alias bomb expands to gigabytes) and
    with nesting capped at MAX_DEPTH (deeper input would end in a RecursionError)."""

    _depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not supported; write the value out", mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep; a config needs 2",
                    self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _parse_yaml(text: str) -> Any:
    loader = _ConfigLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def apply_overrides(cfg: Config, overrides: list[str] | tuple[str, ...]) -> Config:
    for text in overrides:
        key, value = parse_override(text)
        set_key(cfg, key, value)
    return check_together(cfg)


def dump(cfg: Config) -> str:
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)
