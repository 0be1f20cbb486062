"""The Runs tab's drawing, pure: validation curves of several runs over one iteration axis,
and the table of their differing config keys (no widgets, tested alone).

Each curve is a box-drawing line (chart.val_line_cells, as the loss chart's val line) in its
own colour, with its marker letter at its eval points where there is room and always at its
last one, so the curves are told apart with NO_COLOR too. The y range is the loss chart's
(chart.y_range: the first 10% of the iterations left out, '↑' on the top label when cut).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rich.text import Text

from ..core.compare import NUMBER_COLUMNS
from .chart import LABEL_W, OUTLIER_HEAD, val_line_cells, y_range

MARKERS = "ABCDEFGHI"           # A is the run the monitor shows; B.. the others
COLOURS = ("bold yellow", "cyan", "magenta", "green", "bright_red", "blue", "bright_cyan",
           "bright_magenta", "white")
LETTER_GAP = 10                 # columns between two marker letters of one curve


@dataclass(frozen=True)
class Curve:
    marker: str
    style: str
    points: list[tuple[int, float]]     # (iteration, val loss), iterations ascending


def curve_styles(count: int, no_color: bool) -> list[str]:
    """Colour per curve; with NO_COLOR the letters tell them apart (the first one bold)."""
    if no_color:
        return ["bold"] + [""] * (count - 1)
    return [COLOURS[i % len(COLOURS)] for i in range(count)]


def compare_chart(curves: list[Curve], width: int, height: int, *, log: bool = False,
                  clip: bool = True, axis_style: str = "grey62") -> list[Text]:
    """`height` lines of `width` cells: y labels, the curves (the first drawn on top), and an
    x axis line from iteration 0 to the last eval of any run."""
    plot_w, plot_h = max(1, width - LABEL_W), max(1, height - 1)
    curves = [Curve(c.marker, c.style, [p for p in c.points if math.isfinite(p[1])])
              for c in curves]
    drawn = [c for c in curves if c.points]
    if height < 3 or width < LABEL_W + 4 or not drawn:
        lines = [Text(" " * max(0, width)) for _ in range(max(0, height))]
        if drawn == [] and height >= 3:
            lines[height // 2] = Text("no evals yet".center(width)[:width], style=axis_style)
        return lines
    last_iter = max(p[0] for c in drawn for p in c.points)
    span = max(1, last_iter)
    losses = [v for c in drawn for _, v in c.points]
    late = [v for c in drawn for i, v in c.points if i >= OUTLIER_HEAD * span]
    lo, hi, clipped = y_range([], losses, late, clip)
    if log:
        lo, hi = max(lo, 1e-6), max(hi, 1e-6)
    if hi - lo < 1e-9:
        lo, hi = (lo / 1.5, hi * 1.5) if log else (lo - 0.5, hi + 0.5)
    tlo, thi = (math.log(lo), math.log(hi)) if log else (lo, hi)

    def to_row(v: float) -> int:
        t = math.log(max(v, 1e-9)) if log else v
        return int(np.clip(round((1 - (t - tlo) / (thi - tlo)) * (plot_h - 1)), 0, plot_h - 1))

    def to_col(iteration: int) -> int:
        return min(plot_w - 1, max(0, round(iteration / span * (plot_w - 1))))

    chars = [[" "] * plot_w for _ in range(plot_h)]
    styles = [[""] * plot_w for _ in range(plot_h)]
    for curve in reversed(drawn):                   # the first curve ends up on top
        by_col: dict[int, int] = {}
        for it, v in curve.points:                  # one point per column: the latest
            by_col[to_col(it)] = to_row(v)
        cells = sorted(by_col.items())
        for row, col, ch in val_line_cells([(r, c) for c, r in cells]):
            chars[row][col], styles[row][col] = ch, curve.style
        last_letter = None
        for i, (col, row) in enumerate(cells):
            final = i == len(cells) - 1
            if final or last_letter is None or col - last_letter >= LETTER_GAP:
                if not final and cells[-1][0] - col < LETTER_GAP // 2:
                    continue                        # leave room for the last one
                chars[row][col], styles[row][col] = curve.marker, f"{curve.style} bold".strip()
                last_letter = col

    labels = {0: ("↑" if clipped else "", hi), plot_h - 1: ("", lo)}
    if plot_h >= 5:
        labels[plot_h // 2] = ("", math.exp((tlo + thi) / 2) if log else (lo + hi) / 2)
    lines = []
    for row in range(plot_h):
        mark, value = labels.get(row, ("", None))
        label = (mark + f"{value:.3g}").rjust(LABEL_W - 1) + " " if value is not None else ""
        line = Text(label[:LABEL_W].rjust(LABEL_W), style=axis_style)
        start = 0
        for col in range(1, plot_w + 1):            # one append per run of one style
            if col == plot_w or styles[row][col] != styles[row][start]:
                line.append("".join(chars[row][start:col]), style=styles[row][start] or None)
                start = col
        lines.append(line)
    first, last = "0", f"{last_iter}"
    lines.append(Text((" " * LABEL_W + first + last.rjust(max(0, plot_w - 1)))[:width],
                      style=axis_style))
    return lines


def compare_table(header: list[str], rows: list[list[str]], styles: list[str]) -> list[Text]:
    """Aligned lines (no box): a header, then one line per run with its marker in its style.
    Number columns (best val, iterations) are right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {i for i, h in enumerate(header) if h in NUMBER_COLUMNS}

    def cell(text: str, i: int) -> str:
        return text.rjust(widths[i]) if i in right else text.ljust(widths[i])

    out = [Text("  ".join(cell(h, i) for i, h in enumerate(header)).rstrip(), style="bold")]
    for style, row in zip(styles, rows):
        line = Text(cell(row[0], 0), style=f"{style} bold".strip())
        line.append("  " + "  ".join(cell(c, i) for i, c in enumerate(row) if i > 0).rstrip())
        out.append(line)
    for line in out:
        line.no_wrap, line.overflow = True, "ellipsis"
    return out
