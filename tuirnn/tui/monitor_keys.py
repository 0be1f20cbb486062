"""The monitor screen's keys: each key once, with its footer word and the line that the help
screen, the palette and the README show (tui/keys.py builds them all from this list).
A module of its own so that monitor.py holds the screen's behaviour only."""
from __future__ import annotations

from textual.binding import Binding

# key rows of two or more bindings (one line in the help screen, one footer entry)
PAUSE = Binding.Group("Pause")
HISTORY = Binding.Group("Older/newer", compact=True)
DIFF = Binding.Group("Diff")
SMOOTHING = Binding.Group("Smoothing", compact=True)
TABS = Binding.Group("Tabs", compact=True)

# Each key once: the footer word, then the line the help screen, palette and README show
MONITOR_BINDINGS: list[Binding] = [
    # one of the two is active (check_action): the footer says Pause or Resume
    Binding("space", "toggle_pause", "Pause", group=PAUSE,
            tooltip="pause / resume training (at the next step boundary)"),
    Binding("space", "resume", "Resume", group=PAUSE),
    Binding("s", "sample", "Sample", tooltip="sample now: prime, temperature, length, top-k, seed"),
    Binding("c", "save", "Save", tooltip="save a checkpoint now (checkpoints/last.pt)"),
    Binding("left_square_bracket", "older", "Older sample", group=HISTORY,
            tooltip="older / newer sample in the Samples tab"),
    Binding("right_square_bracket", "newer", "Newer sample", group=HISTORY),
    Binding("e", "toggle_samples", "Timeline / other samples", show=False,
            tooltip="Samples tab: the timeline of fixed samples / the other samples "
                    "(random and requested)"),
    Binding("b", "mark_base", "Mark diff base", show=False, group=DIFF,
            tooltip="timeline: mark the selected sample as the diff's base / line diff of "
                    "two fixed samples (the base, or else the one before, and the selected one)"),
    Binding("equals_sign", "diff", "Diff two fixed samples", show=False, group=DIFF),
    Binding("l", "toggle_log", "Log", tooltip="loss chart: linear / log scale"),
    Binding("L", "toggle_lr", "Learning rate", show=False,
            tooltip="loss chart: draw the learning rate (∙, its own scale: 0 at the bottom)"),
    Binding("z", "chart_window", "Zoom the loss chart", show=False,
            tooltip="loss chart: the whole run / its last 25% / its last 2000 iterations"),
    Binding("comma", "smoothing(-1)", "Less smoothing", show=False, group=SMOOTHING,
            tooltip="loss chart: less / more smoothing (EMA weight 0 to 0.99, shown in the title)"),
    Binding("full_stop", "smoothing(1)", "More smoothing", show=False, group=SMOOTHING),
    Binding("B", "baselines", "n-gram lines", show=False,
            tooltip="loss chart: n-gram lines of 3, 5 and the best order / the best / every "
                    "order / none (`tuirnn baseline RUN` computes them)"),
    Binding("y", "toggle_clip", "Y range", show=False,
            tooltip="loss chart: robust y range (the start of the window left out) / the full range"),
    Binding("1", "tab('training')", "Training tab", show=False, group=TABS,
            tooltip="Training / Samples / Neurons / Runs tab"),
    Binding("2", "tab('samples')", "Samples tab", show=False, group=TABS),
    Binding("3", "tab('neurons')", "Neurons tab", show=False, group=TABS),
    Binding("4", "tab('runs')", "Runs tab", show=False, group=TABS),
    Binding("question_mark", "help", "Keys", tooltip="help: every key"),
]
