"""Runs side by side: each run's validation curve, best val and config, read from its folder
(events.jsonl, config.yaml), and the config keys on which they differ.

Used by the monitor's Runs tab and `tuirnn compare`; plain data, no UI.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import shown
from .eventfile import EventFileError, parse_line, read_bytes
from .runlog import read_events
from .runstate import EVENTS_NAME, is_run_folder

# sections that do not change what a run learns (names, folders, how samples are drawn)
IGNORED_SECTIONS = ("run", "sample")
NUMBER_COLUMNS = ("BEST VAL", "@ITER", "ITER")   # right after RUN, right-aligned
MAX_RUNS = 8             # runs beside this one in the Runs tab (marker letters B..I)


@dataclass
class RunCurve:
    name: str
    path: Path | None
    config: dict[str, Any]                    # the resolved config, {section: {key: value}}
    val: list[tuple[int, float]] = field(default_factory=list)   # (iteration, val loss)
    iteration: int = 0                        # the newest iteration logged (a live run: its last step)

    @property
    def best(self) -> tuple[int, float] | None:
        """(iteration, loss) of the lowest finite val loss."""
        finite = [p for p in self.val if math.isfinite(p[1])]
        return min(finite, key=lambda p: p[1]) if finite else None


def load_run(path: Path) -> RunCurve:
    """A run folder's curve and config: its evals from events.jsonl (read_events skips the
    other lines unparsed), its config from the newest RunStarted, else config.yaml.
    EventFileError (one line) when events.jsonl is there but cannot be read."""
    path = Path(path)
    events = read_events(path / EVENTS_NAME, only=("RunStarted", "EvalCompleted", "RunFinished")) \
        if (path / EVENTS_NAME).is_file() else []
    config: dict[str, Any] = {}
    val: list[tuple[int, float]] = []
    iteration = 0
    for ev in events:
        match type(ev).__name__:
            case "RunStarted":
                config = ev.config if isinstance(ev.config, dict) else {}
            case "EvalCompleted":
                val.append((ev.iteration, ev.val_loss))
        iteration = max(iteration, getattr(ev, "iteration", 0) or 0)
    if (path / EVENTS_NAME).is_file():        # how far it got, not only its last eval
        iteration = max(iteration, newest_step(path / EVENTS_NAME))
    if not config and (path / "config.yaml").is_file():
        try:     # read as the log is (another user's folder): no FIFO wait, no huge file
            data, _ = read_bytes(path / "config.yaml", max_bytes=1 << 20)
            loaded = yaml.safe_load(data.decode("utf-8"))
            config = loaded if isinstance(loaded, dict) else {}
        except (EventFileError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
            config = {}
    return RunCurve(path.name, path, config, val, iteration)


def newest_step(log: Path) -> int:
    """The iteration of the log's last StepsCompleted (how far a live run has got), 0 if none:
    the bytes are searched from the end and only that line is parsed (a long log has 10^5)."""
    data, _ = read_bytes(log)
    end = len(data)
    while (i := data.rfind(b'"StepsCompleted"', 0, end)) >= 0:
        start = data.rfind(b"\n", 0, i) + 1
        stop = data.find(b"\n", i)
        ev = parse_line(data[start:stop if stop >= 0 else len(data)])
        if ev is not None and type(ev).__name__ == "StepsCompleted" and isinstance(ev.iteration, int):
            return ev.iteration
        end = start          # a sample's text that quotes the name: look further back
    return 0


def other_runs(root: Path, this: Path | None, limit: int = MAX_RUNS) -> list[Path]:
    """The newest `limit` run folders under `root` with a log, `this` left out, newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    this_resolved = Path(this).resolve() if this is not None else None
    found = []
    for p in root.iterdir():
        log = p / EVENTS_NAME
        if is_run_folder(p) and log.is_file() and p.resolve() != this_resolved:
            found.append((log.stat().st_mtime, p.name, p))
    return [p for _, _, p in sorted(found, reverse=True)[:limit]]


def flatten(config: dict[str, Any]) -> dict[str, Any]:
    """{'model': {'hidden_size': 512}} -> {'model.hidden_size': 512}, ignored sections out."""
    out: dict[str, Any] = {}
    for section, values in config.items():
        if section in IGNORED_SECTIONS:
            continue
        if isinstance(values, dict):
            for key, value in values.items():
                out[f"{section}.{key}"] = value
        else:
            out[section] = values
    return out


def differing_keys(configs: list[dict[str, Any]]) -> list[str]:
    """Keys whose value is not the same in every config (a key missing from one differs),
    in the order the configs list them."""
    flat = [flatten(c) for c in configs]
    keys: list[str] = []
    for f in flat:
        keys += [k for k in f if k not in keys]
    missing = object()
    return [k for k in keys if len({_same(f.get(k, missing)) for f in flat}) > 1]


def _same(value: Any) -> str:
    """What equality of config values is judged by; a value nested deeper than repr can go
    (another user's hand-made log) is only ever equal to itself."""
    try:
        return repr(value)
    except RecursionError:
        return f"<deep {id(value)}>"


CELL_MAX = 24        # a config cell's width at most: long paths and checksums shortened


def short_text(text: str, cells: int = CELL_MAX) -> str:
    """`text` in at most `cells` characters: a path or URL keeps its file name
    ('…/warpeace_input.txt'), anything else its two ends ('86c4e6aa9d…6ed2dc565ed')."""
    if len(text) <= cells:
        return text
    if "/" in text.rstrip("/"):
        name = text.rstrip("/").rsplit("/", 1)[1]
        if len(name) + 2 <= cells:
            return "…/" + name
        return "…" + name[-(cells - 1):]
    head = (cells - 1) // 2
    return text[:head] + "…" + text[-(cells - 1 - head):]


def fmt_value(value: Any) -> str:
    """A config value as the table shows it: '512', '0.002', 'lstm', '–' when absent; long
    strings shortened (short_text)."""
    match value:
        case None:
            return "–"
        case bool():
            return "yes" if value else "no"
        case float():
            return f"{value:g}"
        case str():
            return short_text(value)
        case _:          # a list or a dict, perhaps huge or deep: a short repr, never all of it
            return shown(value, CELL_MAX)


def table_rows(runs: list[RunCurve], markers: list[str]) -> tuple[list[str], list[list[str]]]:
    """(header, rows): marker, name, best val and its iteration, the newest iteration, then
    each differing key (what matters first: a narrow screen or a pipe cuts the keys, not the
    loss). Runs in the given order; the best val cell is '–' for a run with no finite eval yet."""
    keys = differing_keys([r.config for r in runs])
    header = ["", "RUN", *NUMBER_COLUMNS, *keys]
    rows = []
    for marker, run in zip(markers, runs):
        flat = flatten(run.config)
        best = run.best
        rows.append([marker, run.name, f"{best[1]:.4f}" if best else "–",
                     str(best[0]) if best else "–", str(run.iteration),
                     *(fmt_value(flat.get(k)) for k in keys)])
    return header, rows
