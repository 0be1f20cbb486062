"""One table of keys: the help screen, the command palette and the README's key tables are all
built from the bindings, so a key is described once, where it is bound.

A binding's `description` is its word in the footer; its `tooltip` is the line that says what
it does (help screen, palette, README, and the footer's hover). Bindings with the same
`group` (or the same action) make one row, e.g. `[` `]` older / newer sample. Bindings with no
tooltip in their row (cursor keys mirrored elsewhere, the monitor keys the neuron pane passes
on) are not listed.

This module reads the bindings it is handed and imports none of the screens that use it (the
help screen and the palette take them from the live app), so it sits below them all.

    python -m tuirnn.tui.readme_keys      # prints the README's key tables
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from textual.app import App
from textual.binding import Binding
from textual.keys import format_key
from textual.screen import Screen

from .widgets.neuron_pane import NeuronPane

PALETTE_ROW = ("ctrl+p", "command palette: every command by name")


def offered(action: str, cannot_serve: Callable[[bool], str | None], from_checkpoint: bool) -> bool:
    """Whether the footer of an ended run offers `action` (the screen's check_action asks):
    pause needs a trainer that trains, save one that can save (not a checkpoint read back),
    sample anyone that answers. cannot_serve(training_only) is the screen's reason, or None."""
    if action in ("toggle_pause", "resume"):
        return cannot_serve(True) is None
    if action == "save":
        return cannot_serve(from_checkpoint) is None
    if action == "sample":
        return cannot_serve(False) is None
    return True


@dataclass(frozen=True)
class KeyRow:
    keys: tuple[str, ...]          # each binding's keys as typed, e.g. ("+", ">") for one
    help: str
    bindings: tuple[Binding, ...]  # every binding of the row (one per action)

    @property
    def shown(self) -> str:
        """'[ ]', '+ - (> <)': the first key of each binding, then the alternatives."""
        return keys_label(self.bindings)


def key_names(binding: Binding) -> list[str]:
    """'plus,greater_than_sign' -> ['+', '>']."""
    return [format_key(k.strip()) for k in binding.key.split(",") if k.strip()]


def keys_label(bindings: Iterable[Binding], code: str = "") -> str:
    """Keys of `bindings` as one label: first keys, then the others in brackets.
    code: a wrapper for each key (README: '`')."""
    first, others = [], []
    for b in bindings:
        names = key_names(b)
        for name in names[:1]:
            if name not in first:
                first.append(name)
        others += [n for n in names[1:] if n not in others and n not in first]
    label = " ".join(f"{code}{k}{code}" for k in first)
    if others:
        label += " (" + " ".join(f"{code}{k}{code}" for k in others) + ")"
    return label


def key_rows(bindings: Iterable[Binding]) -> list[KeyRow]:
    """Rows in order of first appearance: one per group, else one per action."""
    rows: dict[object, list[Binding]] = {}
    for b in bindings:
        rows.setdefault(b.group if b.group is not None else b.action, []).append(b)
    out = []
    for members in rows.values():
        help_text = next((b.tooltip for b in members if b.tooltip), "")
        if help_text:
            keys = tuple(k for b in members for k in key_names(b))
            out.append(KeyRow(keys, help_text, tuple(members)))
    return out


def app_bindings(app_cls: type) -> list[Binding]:
    """The monitor app's own bindings along its classes (MonitorApp's, then AttachedApp's),
    not Textual's."""
    out: list[Binding] = []
    for cls in reversed(app_cls.__mro__):
        if cls.__module__.startswith("tuirnn.") and "BINDINGS" in cls.__dict__:
            out += [b for b in cls.__dict__["BINDINGS"] if isinstance(b, Binding)]
    return out


def sections(screen_cls: type[Screen], app_cls: type[App]) -> list[tuple[str, list[KeyRow]]]:
    """[(title, rows)]: the monitor's keys (screen then app), then the Neurons tab's.
    screen_cls, app_cls: the monitor screen's and the app's classes (the live app's, or for
    the README the attached monitor's, which binds every key)."""
    monitor = key_rows(_bindings(screen_cls) + app_bindings(app_cls))
    return [("Monitor keys", monitor), ("Neurons tab keys", key_rows(_bindings(NeuronPane)))]


def _bindings(cls: type) -> list[Binding]:
    """A class's BINDINGS, the Binding objects only (Textual also takes bare tuples)."""
    return [b for b in getattr(cls, "BINDINGS", []) if isinstance(b, Binding)]


def markdown_table(rows: list[KeyRow], palette: bool = False) -> str:
    """A README table: | `[` `]` | older / newer sample |."""
    lines = ["| key | does |", "|---|---|"]
    for row in rows:
        lines.append(f"| {keys_label(row.bindings, code='`')} | {row.help} |")
    if palette:
        lines.append(f"| `{PALETTE_ROW[0]}` | {PALETTE_ROW[1]} |")
    return "\n".join(lines)
