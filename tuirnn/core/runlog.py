"""The run folder: runs/<name>-<time>/ with config.yaml, events.jsonl and checkpoints/.

events.jsonl holds every event as one JSON object per line, enough to redraw the monitor.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from . import config as config_mod
from .errors import UserError
from .events import from_json_dict, to_json_dict


def plan_run_dir(cfg: config_mod.Config, run_dir: str | None) -> Path:
    """The folder a new run will use; refuses one that already holds a run."""
    if run_dir is not None:
        path = Path(run_dir)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = Path(cfg.run.root) / f"{cfg.run.name}-{stamp}"
        n = 1
        while path.exists():
            n += 1
            path = Path(cfg.run.root) / f"{cfg.run.name}-{stamp}-{n}"
    if (path / "checkpoints" / "last.pt").exists() or (path / "events.jsonl").exists():
        raise UserError(f"run folder {str(path)!r} already holds a run; continue it with "
                        f"--resume {path} or choose another --run-dir")
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not os.access(existing, os.W_OK) or not existing.is_dir():
        raise UserError(f"cannot write the run folder {str(path)!r} ({str(existing)!r} is not a "
                        "writable folder); choose a writable place with --run-dir or run.root")
    return path


def make_run_dir(path: Path) -> Path:
    """Create the folder (and checkpoints/) and check it is writable."""
    try:
        (path / "checkpoints").mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise UserError(f"cannot write the run folder {str(path)!r} ({e.strerror}); "
                        "choose a writable place with --run-dir or run.root") from None
    return path


def write_config(path: Path, cfg: config_mod.Config) -> None:
    tmp = path / ".config.yaml.tmp"
    tmp.write_text(config_mod.dump(cfg), encoding="utf-8")
    os.replace(tmp, path / "config.yaml")


class EventLog:
    """A sink that appends each event to events.jsonl (probe payloads left out)."""

    def __init__(self, path: Path):
        self.path = path
        self._f = open(path, "a", encoding="utf-8")

    def __call__(self, event: Any) -> None:
        if self._f.closed:
            return
        self._f.write(json.dumps(to_json_dict(event), ensure_ascii=False) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def read_events(path: Path) -> list[Any]:
    """Events from an events.jsonl; a torn last line (crash mid-write) is skipped."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                out.append(from_json_dict(json.loads(line)))
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    return out
