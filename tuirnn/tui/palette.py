"""The command palette's monitor commands, one per bound action (tui/keys.py's rows): the
title is the binding's description, the help line says what it does and its key."""
from __future__ import annotations

from functools import partial
from typing import Any, Iterator

from textual.app import App, SystemCommand
from textual.binding import Binding

from .keys import keys_label, sections


def action_name(action: str) -> str:
    """"tab('runs')" -> 'tab'."""
    return action.split("(", 1)[0]


def palette_commands(app: App) -> Iterator[SystemCommand]:
    # the live app's screen and bindings, so this module needs none of the screens' modules
    screen = app.monitor  # type: ignore[attr-defined]
    screen_actions = {b.action for b in screen.BINDINGS if isinstance(b, Binding)}
    seen: set[tuple[str, str]] = set()
    target: Any
    for title, rows in sections(type(screen), type(app)):
        neurons = title.startswith("Neurons")
        for row in rows:
            for binding in row.bindings:
                if neurons:
                    target, prefix = None, "Neurons: "
                elif binding.action in screen_actions:
                    target, prefix = screen, ""
                else:
                    target, prefix = app, ""
                # space is Pause or Resume: offer the one that applies now
                if target is screen and not screen.check_action(action_name(binding.action), ()):
                    continue
                if (prefix, binding.action) in seen:
                    continue
                seen.add((prefix, binding.action))
                callback = (partial(screen.run_neuron_action, binding.action) if neurons
                            else partial(app.run_action, binding.action, target))
                yield SystemCommand(f"{prefix}{binding.description}",
                                    f"{row.help} · key {keys_label([binding])}", callback)
