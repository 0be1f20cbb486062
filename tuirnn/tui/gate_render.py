"""Gate saturation scatter plots (Karpathy, Johnson & Fei-Fei 2015, Figure 3), drawn as text.

One panel a gate: x = the share of characters at which a unit's gate is left-saturated
(< 0.1), y = the share right-saturated (> 0.9), one braille dot a unit (a cell holds 2x4 dots).
Units near the top-left are gates nearly always open (a forget gate there is an integrator);
near the bottom-left, rarely saturated. Pure functions of GateStats: the widget and the CLI's
HTML page draw from here, and tests call them alone.
"""
from __future__ import annotations

import html

import numpy as np
from rich.text import Text

from ..core.gates import LEFT, RIGHT, GateStats

BRAILLE = 0x2800
# dot bit of braille sub-position (column 0..1, row 0..3 from the top)
DOT = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
PANEL_MIN = 16              # narrowest panel (cells) side by side; narrower stacks them
COLOURS = {"input": "green", "forget": "red", "output": "blue", "reset": "magenta",
           "update": "cyan"}


def braille_grid(xs: np.ndarray, ys: np.ndarray, width: int, height: int) -> list[list[int]]:
    """(height, width) braille bit masks of points (xs, ys) in [0, 1]^2; y = 1 at the top."""
    grid = [[0] * width for _ in range(height)]
    cols, rows = 2 * width - 1, 4 * height - 1
    for x, y in zip(np.clip(xs, 0, 1), np.clip(ys, 0, 1)):
        dx, dy = int(round(float(x) * cols)), rows - int(round(float(y) * rows))
        grid[dy // 4][dx // 2] |= DOT[dx % 2][dy % 4]
    return grid


def cell_of(x: float, y: float, width: int, height: int) -> tuple[int, int]:
    """(row, column) of the cell that holds the point (x, y), as braille_grid places it."""
    dx = int(round(min(max(x, 0.0), 1.0) * (2 * width - 1)))
    dy = 4 * height - 1 - int(round(min(max(y, 0.0), 1.0) * (4 * height - 1)))
    return dy // 4, dx // 2


def render_panel(name: str, left: np.ndarray, right: np.ndarray, width: int, height: int,
                 unit: int | None = None, no_color: bool = False) -> list[Text]:
    """One gate's scatter as `height + 3` lines of `width` cells: title, plot with the y axis
    (right-saturated share) on the left, x axis, x labels. `unit`: the picked one, its cell
    drawn reversed."""
    plot_w = max(2, width - 3)                   # "1 │" / "0 └": 3 cells of axis
    grid = braille_grid(left, right, plot_w, height)
    mark = None if unit is None else cell_of(float(left[unit]), float(right[unit]), plot_w, height)
    colour = "" if no_color else COLOURS.get(name, "")
    lines = [_fit(Text(f"{name} gate", style="bold"), width)]
    for r, row in enumerate(grid):
        label = "1" if r == 0 else "0" if r == height - 1 else "½" if r == height // 2 else " "
        line = Text(f"{label} │", style="dim")
        for c, bits in enumerate(row):
            ch = chr(BRAILLE + bits) if bits else " "
            if mark == (r, c):
                line.append(ch if bits else "•", style="reverse bold")
            else:
                line.append(ch, style=colour)
        lines.append(line)
    lines.append(Text("  └" + "─" * plot_w, style="dim"))
    axis = f"left < {LEFT}"
    gap = max(1, plot_w - len(axis) - 2)
    lines.append(_fit(Text(f"  0{' ' * (gap // 2)}{axis}{' ' * (gap - gap // 2)}1", style="dim"),
                      width))
    return lines


def _fit(t: Text, width: int) -> Text:
    t.truncate(width, overflow="ellipsis", pad=True)
    return t


def render_scatter(stats: GateStats, layer: int, width: int, height: int,
                   unit: int | None = None, no_color: bool = False) -> list[Text]:
    """Every gate of one layer in `height` lines of `width` cells: a header, then the panels
    side by side (stacked when too narrow), the y axis being the share right-saturated
    (> 0.9), the x axis the share left-saturated (< 0.1)."""
    names = stats.names
    header = Text.assemble(("gates ", "bold"), ("layer ", "dim"), str(layer),
                           (f" of {stats.num_layers}", "dim"),
                           (f" · {stats.chars:,} chars · y: share > {RIGHT}, x: share < {LEFT}"
                            " · one dot a unit", "dim"))
    rows = [_fit(header, width)]
    per_row = len(names) if (width + 1) // len(names) - 1 >= PANEL_MIN else 1
    bands = -(-len(names) // per_row)
    panel_w = (width + 1) // per_row - 1
    plot_h = max(2, (height - 1) // bands - 3)
    for b in range(bands):
        panels = [render_panel(n, *stats.gate(layer, n), panel_w, plot_h, unit, no_color)
                  for n in names[b * per_row:(b + 1) * per_row]]
        for i in range(plot_h + 3):
            rows.append(Text(" ").join(_fit(p[i], panel_w) for p in panels))
    return (rows + [Text("")] * height)[:height]


def unit_line(stats: GateStats, layer: int, unit: int) -> Text:
    """'unit 5  input 12% < 0.1, 40% > 0.9 · forget …' for the picked unit."""
    out = Text.assemble(("unit ", "dim"), (str(unit), "bold"))
    for name in stats.names:
        left, right = stats.gate(layer, name)
        out.append(f"  {name} ", style="dim")
        out.append(f"{left[unit]:.0%}◂ {right[unit]:.0%}▴")
    return out


def render_html(stats: GateStats, title: str, meta: str) -> str:
    """A self-contained page (inline SVG, no scripts, no requests): a row a layer, a scatter a
    gate, as the paper's Figure 3."""
    rows = []
    for layer in range(stats.num_layers):
        svgs = "".join(_svg(stats, layer, name) for name in stats.names)
        rows.append(f'<div class="row"><h2>layer {layer}</h2>{svgs}</div>')
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 2em; color: #222; }}
.row {{ display: flex; align-items: center; gap: 1em; }}
.row h2 {{ font-size: 14px; width: 5em; }}
svg text {{ font: 11px system-ui, sans-serif; fill: #444; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(meta)}</p>
<p>One dot a unit: x = the share of characters at which its gate is left-saturated
(&lt; {LEFT}), y = the share right-saturated (&gt; {RIGHT}).</p>
{''.join(rows)}
</body></html>
"""


def _svg(stats: GateStats, layer: int, name: str, size: int = 220, pad: int = 30) -> str:
    left, right = stats.gate(layer, name)
    inner = size - 2 * pad
    colour = {"input": "#2a9d3f", "forget": "#c0392b", "output": "#2c5aa0",
              "reset": "#8e44ad", "update": "#16a0a0"}.get(name, "#333")
    dots = "".join(f'<circle cx="{pad + x * inner:.1f}" cy="{pad + (1 - y) * inner:.1f}" r="2.5">'
                   f'<title>unit {u}: {x:.1%} &lt; {LEFT}, {y:.1%} &gt; {RIGHT}</title></circle>'
                   for u, (x, y) in enumerate(zip(left.tolist(), right.tolist())))
    x0, x1, y0, y1 = pad, pad + inner, pad + inner, pad
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
            f'viewBox="0 0 {size} {size}" role="img" aria-label="layer {layer} {name} gate">'
            f'<text x="{size / 2}" y="16" text-anchor="middle">{name} gate</text>'
            f'<rect x="{x0}" y="{y1}" width="{inner}" height="{inner}" fill="none" stroke="#999"/>'
            f'<line x1="{x0}" y1="{y1}" x2="{x1}" y2="{y0}" stroke="#ddd"/>'
            f'<text x="{x0}" y="{y0 + 14}">0</text><text x="{x1 - 6}" y="{y0 + 14}">1</text>'
            f'<text x="{size / 2}" y="{size - 4}" text-anchor="middle">left-saturated</text>'
            f'<text x="{x0 - 10}" y="{y0}">0</text><text x="{x0 - 10}" y="{y1 + 8}">1</text>'
            f'<text transform="translate(12 {size / 2}) rotate(-90)" text-anchor="middle">'
            f'right-saturated</text>'
            f'<g fill="{colour}" fill-opacity="0.6">{dots}</g></svg>')
