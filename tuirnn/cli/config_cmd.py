"""`tuirnn config [CONFIG] [--set KEY=VALUE ...]`: the resolved config, every key, as YAML.

What `tuirnn run` with the same arguments would train with: each default filled in, the keys
the file sets marked `# set`, the --set ones `# from --set` (nanoGPT prints its overrides;
char-rnn's -h lists every flag with its default). The output is itself a valid config file.
"""
from __future__ import annotations

import argparse
from typing import Any

import yaml

from ..core import config as config_mod

DESCRIPTION = __doc__.split("\n", 1)[1].strip()


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("config", help="print the resolved config with every default",
                              description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", metavar="CONFIG", nargs="?", help="a YAML config (none: the defaults)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one key, e.g. --set train.max_iters=200 (repeatable)")
    return p


def file_keys(path: str | None) -> set[str]:
    """The section.key names the file itself writes. Called after config.load has accepted
    the file, so it is a small, alias-free mapping of mappings."""
    if path is None:
        return set()
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f) or {}
    return {f"{section}.{key}" for section, values in raw.items() if isinstance(values, dict)
            for key in values}


def render(cfg: dict[str, dict[str, Any]], marks: dict[str, str]) -> str:
    """The config as YAML, one key a line, each marked key followed by `# <mark>`."""
    lines = []
    for section, values in cfg.items():
        lines.append(f"{section}:")
        for key, value in values.items():
            # one key at a time, so each line can carry its own comment; a huge width keeps
            # long values (paths, primes) on one line
            text = yaml.safe_dump({key: value}, sort_keys=False, width=2**31 - 1,
                                  allow_unicode=True).rstrip("\n")
            mark = marks.get(f"{section}.{key}")
            body = "\n".join("  " + line for line in text.splitlines())
            lines.append(body + (f"  # {mark}" if mark else ""))
    return "\n".join(lines) + "\n"


def main(args) -> int:
    cfg = config_mod.load(args.config, args.overrides)   # bad input: UserError, one line, exit 2
    marks = {key: "set" for key in file_keys(args.config)}
    if args.config is not None and "run.name" not in marks:
        marks["run.name"] = "from the file name"
    for text in args.overrides:
        key, _ = config_mod.parse_override(text)
        marks[key] = "from --set"
    print(render(cfg.to_dict(), marks), end="")
    return 0
