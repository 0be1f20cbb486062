"""The loss chart as a pure function: series in, rows of text and style runs out (rich Text
lines through braille_chart); no widgets, no app.

Every 2x4 dot braille cell is one character, so a W x H cell plot has 2W x 4H pixels. The
series (the whole run, possibly 100k+ points) is first averaged into 2W pixel columns with
numpy, so drawing costs O(pixels), not O(points). The smoothed curve is drawn over a dim raw
"shadow"; the validation loss is a line of box-drawing characters of its own (so it reads
without colour too), the best val a '★'.

By default the y range leaves out the first 10% of the window (the steep start of a run),
so the part that matters fills the height; the top label then starts with '↑' (values above
it are cut off).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text

LABEL_W = 7              # y labels: '↑ 1.65 '
OUTLIER_HEAD = 0.10      # share of the window's start the robust y range leaves out
WINDOWS = ("whole run", "last 25%", "last 2000")   # `z` cycles these
SMOOTHING_STEPS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99)   # `,` and `.` step these


def bin_means(y: np.ndarray, bins: int) -> np.ndarray:
    """Average `y` (n,) into `bins` equal spans of index -> (min(n, bins),); NaN-free input.

    With fewer points than bins each point is its own bin (the chart then spreads them).
    """
    n = len(y)
    if n == 0 or bins <= 0:
        return np.zeros(0)
    if n <= bins:
        return y.astype(float)
    edges = np.linspace(0, n, bins + 1).astype(np.int64)
    sums = np.add.reduceat(y.astype(float), edges[:-1])
    return sums / np.diff(edges)


def window_start(n: int, window: str) -> int:
    """Index of the first of `n` points shown in `window` (one of WINDOWS)."""
    match window:
        case "last 25%":
            return n - max(1, math.ceil(n * 0.25)) if n else 0
        case "last 2000":
            return max(0, n - 2000)
        case _:
            return 0


def y_range(cols: list[np.ndarray], vals: list[float], val_late: list[float],
            clip: bool) -> tuple[float, float, bool]:
    """(lo, hi, clipped) for pixel-column series `cols` and val losses `vals`.

    clip: hi is the top of what follows the first OUTLIER_HEAD of each series (and of the
    val points after it, `val_late`), plus a small margin; lo is never raised (the low end
    is where a run is going). clipped: something drawn lies above hi.
    """
    drawn = [a for a in cols if len(a)]
    lo = min([float(a.min()) for a in drawn] + vals)
    hi = max([float(a.max()) for a in drawn] + vals)
    if not clip:
        return lo, hi, False
    tails = [a[int(len(a) * OUTLIER_HEAD):] for a in drawn]
    robust = max([float(t.max()) for t in tails if len(t)] + val_late, default=hi)
    robust = min(hi, robust + 0.05 * (robust - lo))
    return lo, robust, robust < hi


@dataclass(frozen=True)
class ChartStyle:
    raw: str = "grey42"
    smooth: str = "bold cyan"
    val: str = "bold yellow"
    best: str = "bold green"
    axis: str = "grey62"
    baseline: str = "magenta"     # n-gram lines (`tuirnn baseline`)
    lr: str = "bright_blue"       # the learning rate (`L`), on a scale of its own


NO_COLOR_STYLE = ChartStyle(raw="dim", smooth="bold", val="bold", best="bold reverse", axis="",
                            baseline="dim", lr="dim")
BASELINE_CHAR = "┄"


def baseline_cells(lines: list[tuple[int, str]], plot_w: int) -> dict[int, str]:
    """Row -> its text across the plot for horizontal lines [(row, label)]: '┄' with the
    label near the left ('┄5-gram 1.95┄┄┄'); labels of lines on one row share it."""
    by_row: dict[int, list[str]] = {}
    for row, label in lines:
        by_row.setdefault(row, []).append(label)
    return {row: (BASELINE_CHAR + " · ".join(labels) + BASELINE_CHAR * plot_w)[:plot_w]
            for row, labels in by_row.items()}


def lr_cells(chars: np.ndarray, styles: np.ndarray, lr_id: int, lr: list[tuple[int, float]],
             x0: int, span: int, px_w: int) -> None:
    """Put the rate's '∙' into the free cells of chars/styles (plot_h, plot_w), in place:
    0 at the bottom row, the largest rate in the window at the top (numpy: no loop per point)."""
    pts = np.array([p for p in lr if p[0] > x0 and math.isfinite(p[1])], dtype=float).reshape(-1, 2)
    if not len(pts) or pts[:, 1].max() <= 0:
        return
    plot_h, plot_w = chars.shape
    cols = np.clip(((pts[:, 0] - x0 - 1) / span * px_w).astype(np.int64), 0, px_w - 1) // 2
    rows = np.rint((1 - pts[:, 1] / pts[:, 1].max()) * (plot_h - 1)).astype(np.int64)
    free = chars[rows, cols] == ord(" ")          # the curves stay on top
    chars[rows[free], cols[free]] = ord("∙")
    styles[rows[free], cols[free]] = lr_id


# braille dot bit weights by (row % 4, col % 2)
_WEIGHTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
# val line joints: (previous row above/below/same) -> (char at the old row, at the new row)
_DOWN, _UP = ("╮", "╰"), ("╯", "╭")


def val_line_cells(points: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """Box-drawing cells (row, col, char) joining (row, col) cells, columns ascending.

    Between points the row is interpolated per column; a change of row is a vertical run
    ('╮│╰' going down, '╯│╭' going up). A single point is a '•'.
    """
    if not points:
        return []
    if len(points) == 1:
        return [(points[0][0], points[0][1], "•")]
    rows, cols = zip(*points)
    xs = np.arange(cols[0], cols[-1] + 1)
    ys = np.rint(np.interp(xs, cols, rows)).astype(int).tolist()
    out = [(ys[0], int(xs[0]), "─")]
    for c, prev, r in zip(xs[1:].tolist(), ys, ys[1:]):
        if r == prev:
            out.append((r, c, "─"))
            continue
        top, bottom = (prev, r) if r > prev else (r, prev)
        first, last = _DOWN if r > prev else _UP
        out.append((prev, c, first))
        out += [(k, c, "│") for k in range(top + 1, bottom)]
        out.append((r, c, last))
    return out


# One drawn line: its characters and its style runs [(start, end, style)], sorted and apart
# (cells outside every run have no style of their own).
Row = tuple[str, list[tuple[int, int, str]]]


def braille_chart(raw: np.ndarray, smooth: np.ndarray, val: list[tuple[int, float]],
                  best: tuple[int, float] | None, width: int, height: int, **options) -> list[Text]:
    """chart_rows as rich Text lines (same arguments)."""
    return [Text(text, spans=[Span(a, b, name) for a, b, name in runs])
            for text, runs in chart_rows(raw, smooth, val, best, width, height, **options)]


def chart_rows(raw: np.ndarray, smooth: np.ndarray, val: list[tuple[int, float]],
               best: tuple[int, float] | None, width: int, height: int, *,
               log: bool = False, x0: int = 0, clip: bool = True,
               style: ChartStyle = ChartStyle(),
               baselines: tuple[tuple[float, str], ...] = (),
               lr: list[tuple[int, float]] | None = None) -> list[Row]:
    """Draw losses as `height` rows of `width` cells (y labels included).

    raw, smooth: (n,) per-step losses, step i is iteration x0 + i + 1 (a window of the run:
    val points at or before x0 are left out). val: [(iteration, loss)] joined by a line;
    best: (iteration, loss) drawn as '★' when inside the window. clip: a robust y range.
    baselines: [(loss, label)] drawn as labelled horizontal lines behind the curves; the y
    range reaches down to them (they are what the run is to beat), never up (a unigram far
    above the clipped range is left out). lr: [(iteration, rate)] drawn as '∙' behind the
    curves on a scale of its own, 0 at the bottom row and the largest rate at the top.
    The last row is the x axis (first and last iteration). Rows, not rich Text: the widget
    turns them straight into Segments (row_segments), which is most of a redraw's saving.
    """
    plot_w, plot_h = max(1, width - LABEL_W), max(1, height - 1)
    n = len(raw)
    vals = [v for v in val if math.isfinite(v[1]) and v[0] > x0]
    before = [v for v in val if math.isfinite(v[1]) and v[0] <= x0]
    if vals and before:    # the line comes in from the left edge, not from the first point
        (i0, v0), (i1, v1) = before[-1], vals[0]
        vals.insert(0, (x0 + 1, v0 + (v1 - v0) * (x0 + 1 - i0) / max(1, i1 - i0)))
    if height < 3 or width < LABEL_W + 4:      # no room for a chart: keep the shape, blank
        return [(" " * max(0, width), []) for _ in range(max(0, height))]
    if n == 0 and not vals:
        rows: list[Row] = [(" " * width, []) for _ in range(height)]
        msg = "waiting for the first losses…".center(width)[:width]
        rows[height // 2] = (msg, [(0, len(msg), style.axis)] if style.axis else [])
        return rows
    px_w, px_h = plot_w * 2, plot_h * 4
    cols_raw = bin_means(raw, px_w) if n else np.zeros(0)
    cols_smooth = bin_means(smooth, px_w) if n else np.zeros(0)
    last_iter = x0 + max(n, max((i for i, _ in vals), default=0) - x0)
    span = max(1, last_iter - x0)
    late = x0 + OUTLIER_HEAD * span
    lo, hi, clipped = y_range([cols_raw, cols_smooth], [v for _, v in vals],
                              [v for i, v in vals if i >= late], clip)
    lines = [(v, label) for v, label in baselines if math.isfinite(v) and v <= hi]
    lo = min([lo] + [v for v, _ in lines])
    if log:
        lo, hi = max(lo, 1e-6), max(hi, 1e-6)
    if hi - lo < 1e-9:
        lo, hi = (lo / 1.5, hi * 1.5) if log else (lo - 0.5, hi + 0.5)
    tlo, thi = (math.log(lo), math.log(hi)) if log else (lo, hi)

    def to_rows(v: np.ndarray) -> np.ndarray:   # pixel rows, 0 = top; beyond the range: clipped
        t = np.log(np.maximum(v, 1e-9)) if log else np.asarray(v, dtype=float)
        frac = (t - tlo) / (thi - tlo)
        return np.clip(np.rint((1 - frac) * (px_h - 1)), 0, px_h - 1).astype(np.int64)

    def to_col(iteration: int) -> int:  # pixel column of an iteration
        return min(px_w - 1, max(0, int((iteration - x0 - 1) / span * px_w)))

    # pixels[layer] (px_h, px_w) on/off, layer 0 raw, 1 smooth; numpy throughout: a redraw's
    # CPU comes from the cores training uses
    pixels = np.zeros((2, px_h, px_w), dtype=bool)
    pixel_rows = np.arange(px_h)[:, None]

    def plot(layer: int, cols: np.ndarray) -> None:
        m = len(cols)
        if m == 0:
            return
        # with fewer points than pixel columns, spread them over the x span
        xs = np.arange(m) * px_w // m if m < px_w else np.arange(m)
        r = to_rows(cols)
        prev = np.concatenate([r[:1], r[:-1]])
        # each column joins its row to the previous column's: a line, not dots
        pixels[layer][:, xs] = (pixel_rows >= np.minimum(prev, r)) & (pixel_rows <= np.maximum(prev, r))

    plot(0, cols_raw)
    plot(1, cols_smooth)
    # braille codes per cell: OR the 8 dots' bits in (8 whole-array ops, no reduction: ~10x faster)
    dots = pixels.reshape(2, plot_h, 4, plot_w, 2).view(np.uint8)
    masks = np.zeros((2, plot_h, plot_w), dtype=np.uint8)
    for r, row_weights in enumerate(_WEIGHTS):
        for k, weight in enumerate(row_weights):
            masks |= dots[:, :, r, :, k] * np.uint8(weight)
    # a cell the smoothed curve passes through shows only its dots: a clean line over the shadow
    codes = np.where(masks[1] > 0, masks[1], masks[0])
    chars = np.where(codes > 0, 0x2800 + codes.astype(np.uint32), ord(" ")).astype(np.uint32)
    # style per cell, as an index into `names`; equal style strings share an index
    names: list[str] = []

    def style_id(name: str) -> int:
        if name not in names:
            names.append(name)
        return names.index(name)

    styles = np.where(masks[1] > 0, style_id(style.smooth), style_id(style.raw))
    for row, text in baseline_cells([(int(to_rows(np.array([v]))[0]) // 4, label)
                                     for v, label in lines], plot_w).items():
        free = chars[row] == ord(" ")          # the curves stay on top
        line = np.frombuffer(text.ljust(plot_w).encode("utf-32-le"), dtype="<u4")
        chars[row] = np.where(free, line, chars[row])
        styles[row] = np.where(free, style_id(style.baseline), styles[row])
    if lr:
        lr_cells(chars, styles, style_id(style.lr), lr, x0, span, px_w)
    val_rows: list[int] = (to_rows(np.array([v for _, v in vals], dtype=float)) // 4).tolist() if vals else []
    val_id = style_id(style.val)
    for row, col, ch in val_line_cells([(int(r), to_col(it) // 2) for (it, _), r in zip(vals, val_rows)]):
        chars[row, col], styles[row, col] = ord(ch), val_id
    if best is not None and math.isfinite(best[1]) and best[0] > x0:
        row, col = int(to_rows(np.array([best[1]]))[0]) // 4, to_col(best[0]) // 2
        chars[row, col], styles[row, col] = ord("★"), style_id(style.best)

    label_rows = {0: ("↑" if clipped else "", hi), plot_h - 1: ("", lo)}
    if plot_h >= 5:
        label_rows[plot_h // 2] = ("", math.exp((tlo + thi) / 2) if log else (lo + hi) / 2)
    # all rows' characters in one decode (a str per row via chr() is 20x slower)
    plot_text = chars.astype("<u4").tobytes().decode("utf-32-le")
    # style runs of every row at once: where the style changes, as (row, column) pairs
    change_rows, change_cols = np.nonzero(styles[:, 1:] != styles[:, :-1])
    row_ends = np.searchsorted(change_rows, np.arange(plot_h), side="right").tolist()
    run_starts = (change_cols + 1).tolist()       # a run starts one past each change
    label_run = [(0, LABEL_W, style.axis)] if style.axis else []
    rows = []
    at = 0
    for row in range(plot_h):
        mark, value = label_rows.get(row, ("", None))
        label = (mark + f"{value:.3g}").rjust(LABEL_W - 1) + " " if value is not None else ""
        cuts = [0, *run_starts[at:row_ends[row]], plot_w]
        at = row_ends[row]
        row_styles = styles[row].tolist()
        runs = label_run + [(LABEL_W + a, LABEL_W + b, names[row_styles[a]])
                            for a, b in zip(cuts, cuts[1:]) if names[row_styles[a]]]
        rows.append((label[:LABEL_W].rjust(LABEL_W) + plot_text[row * plot_w:(row + 1) * plot_w], runs))
    first, last = f"{x0 + 1}", f"{last_iter}"
    axis = (" " * LABEL_W + first + last.rjust(max(0, plot_w - len(first))))[:width]
    rows.append((axis, [(0, len(axis), style.axis)] if style.axis else []))
    return rows


def row_segments(row: Row, base: Style) -> list[Segment]:
    """The Segments of one row with `base` under every style: what rich gives for the row as
    Text (braille_chart's line) rendered over `base`, without building Text or Spans."""
    text, runs = row
    out: list[Segment] = []
    at = 0
    for start, end, name in runs:
        if start > at:
            out.append(Segment(text[at:start], base))
        out.append(Segment(text[start:end], base + Style.parse(name)))
        at = end
    if at < len(text):
        out.append(Segment(text[at:], base))
    return out
