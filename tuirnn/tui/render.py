"""Pure formatting and drawing for the monitor: no widgets, no app, tested alone.

The loss chart is a braille line plot. Every 2x4 dot braille cell is one character, so a
W x H cell plot has 2W x 4H pixels. The data (the whole run, possibly 100k+ points) is first
averaged into 2W pixel columns with numpy, so drawing costs O(pixels), not O(points).
"""
from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

import numpy as np
from rich.text import Span, Text

# --- numbers ----------------------------------------------------------------------------


def fmt_si(x: float, digits: int = 1) -> str:
    """1234 -> '1.2k', 2_500_000 -> '2.5M' (rates, parameter counts)."""
    if x is None or not math.isfinite(x):
        return "–"
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.{digits}f}{suffix}"
    return f"{x:.0f}"


def fmt_duration(seconds: float | None) -> str:
    """Compact h/m/s: 59 -> '59s', 125 -> '2m05s', 7384 -> '2h03m', 200000 -> '2d07h'."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "–"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h{m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d{h:02d}h"


def eta_seconds(done: int, total: int, steps_per_sec: float) -> float | None:
    """Time left at the current rate; None when unknown (no rate yet, or no plan)."""
    if total <= 0 or steps_per_sec <= 0 or not math.isfinite(steps_per_sec):
        return None
    return max(0, total - done) / steps_per_sec


def fmt_loss(x: float | None) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.3f}"


def fmt_lr(x: float | None) -> str:
    return "–" if x is None else f"{x:.1e}"


def fmt_share(x: float | None) -> str:
    """Word share in [0, 1] as a percentage: 0.4321 -> '43%'."""
    return "–" if x is None or not math.isfinite(x) else f"{100 * x:.0f}%"


def progress_bar(fraction: float, width: int) -> str:
    """Eighth-block bar of `width` cells: progress_bar(0.5, 4) -> '██  '."""
    width = max(0, width)
    f = min(1.0, max(0.0, fraction if math.isfinite(fraction) else 0.0))
    eighths = int(round(f * width * 8))
    full, part = divmod(eighths, 8)
    bar = "█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "")
    return bar.ljust(width)[:width]


# --- text -------------------------------------------------------------------------------


def cell_width(text: str) -> int:
    """Terminal columns of `text` (wide CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def visible_text(text: str) -> str:
    """Sample text made safe to show: control characters (but \\n and \\t) become '·'."""
    return "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else "·" for ch in text)


# --- series -----------------------------------------------------------------------------


def ema(values, alpha: float = 0.05, start: float | None = None) -> list[float]:
    """Exponential moving average (debiased like TensorBoard's), one output per input."""
    out = []
    acc, weight = (0.0, 0.0) if start is None else (start, 1.0)
    for v in values:
        acc = (1 - alpha) * acc + alpha * v
        weight = (1 - alpha) * weight + alpha
        out.append(acc / weight)
    return out


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


@dataclass(frozen=True)
class ChartStyle:
    raw: str = "grey50"
    smooth: str = "bold cyan"
    val: str = "bold yellow"
    best: str = "bold green"
    axis: str = "grey62"


def _ticks(lo: float, hi: float, log: bool) -> tuple[float, float]:
    if log:
        return math.log(max(lo, 1e-9)), math.log(max(hi, 1e-9))
    return lo, hi


def braille_chart(raw: np.ndarray, smooth: np.ndarray, val: list[tuple[int, float]],
                  best: tuple[int, float] | None, width: int, height: int, *,
                  log: bool = False, x0: int = 0, style: ChartStyle = ChartStyle()) -> list[Text]:
    """Draw losses as `height` lines of `width` cells (y labels included).

    raw, smooth: (n,) per-step losses, step i is iteration x0 + i + 1.
    val: [(iteration, loss)] drawn as '•'; best: (iteration, loss) drawn as '★'.
    Returns rich Text lines; the last line is the x axis (first and last iteration).
    """
    label_w = 7
    plot_w, plot_h = max(1, width - label_w), max(1, height - 1)
    n = len(raw)
    vals = [v for v in val if math.isfinite(v[1])]
    if height < 3 or width < label_w + 4:      # no room for a chart: keep the shape, blank
        return [Text(" " * max(0, width)) for _ in range(max(0, height))]
    if n == 0 and not vals:
        lines = [Text(" " * width) for _ in range(height)]
        if height:
            msg = "waiting for the first losses…"
            lines[height // 2] = Text(msg.center(width)[:width], style=style.axis)
        return lines
    px_w, px_h = plot_w * 2, plot_h * 4
    cols_raw = bin_means(raw, px_w) if n else np.zeros(0)
    cols_smooth = bin_means(smooth, px_w) if n else np.zeros(0)
    # y range over what is drawn (column means, not single noisy steps), plus val points
    pool = [a for a in (cols_raw, cols_smooth) if len(a)]
    lo = min([float(a.min()) for a in pool] + [v for _, v in vals])
    hi = max([float(a.max()) for a in pool] + [v for _, v in vals])
    if log:
        lo, hi = max(lo, 1e-6), max(hi, 1e-6)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5 if not log else lo / 1.5, hi + 0.5 if not log else hi * 1.5
    tlo, thi = _ticks(lo, hi, log)

    def to_rows(v: np.ndarray) -> np.ndarray:   # pixel rows, 0 = top
        t = np.log(np.maximum(v, 1e-9)) if log else np.asarray(v, dtype=float)
        frac = (t - tlo) / (thi - tlo)
        return np.clip(np.rint((1 - frac) * (px_h - 1)), 0, px_h - 1).astype(np.int64)


    last_iter = x0 + max(n, max((i for i, _ in vals), default=0) - x0)
    span = max(1, last_iter - x0)

    def to_col(iteration: int) -> int:  # pixel column of an iteration
        return min(px_w - 1, max(0, int((iteration - x0 - 1) / span * px_w)))

    # pixels[layer] (px_h, px_w) on/off, layer 0 raw, 1 smooth; numpy throughout: this runs
    # on the UI thread, which shares the GIL with training
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
        lo_r, hi_r = np.minimum(prev, r), np.maximum(prev, r)
        # each column joins its row to the previous column's: a line, not dots
        pixels[layer][:, xs] = (pixel_rows >= lo_r) & (pixel_rows <= hi_r)

    if n:
        plot(0, cols_raw)
        plot(1, cols_smooth)
    # braille cells: 2x4 pixels each, bit weights by (row % 4, col % 2)
    weights = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]])
    masks = (pixels.reshape(2, plot_h, 4, plot_w, 2) * weights[None, None, :, None, :]).sum(axis=(2, 4))
    codes = masks[0] | masks[1]
    chars = np.where(codes > 0, 0x2800 + codes, ord(" "))
    # style per cell, as an index into `names`; equal style strings share an index
    names: list[str] = []

    def style_id(name: str) -> int:
        if name not in names:
            names.append(name)
        return names.index(name)

    styles = np.where(masks[1] > 0, style_id(style.smooth), style_id(style.raw))
    # marks: every val point, then the best on top; their rows in one vectorised call
    marks = [(it, v, "•", style.val) for it, v in vals]
    if best is not None and math.isfinite(best[1]):
        marks.append((best[0], best[1], "★", style.best))
    mark_rows = to_rows(np.array([v for _, v, _, _ in marks], dtype=float)) if marks else []
    for (it, _, ch, name), r in zip(marks, mark_rows):
        row, col = int(r) // 4, to_col(it) // 2
        chars[row, col], styles[row, col] = ord(ch), style_id(name)

    lines: list[Text] = []
    label_rows = {0: hi, plot_h - 1: lo}
    if plot_h >= 5:
        mid = plot_h // 2
        label_rows[mid] = (math.exp((tlo + thi) / 2) if log else (lo + hi) / 2)
    for row in range(plot_h):
        label = f"{label_rows[row]:6.3g} " if row in label_rows else " " * label_w
        row_styles = styles[row]
        cuts = [0, *(np.flatnonzero(row_styles[1:] != row_styles[:-1]) + 1).tolist(), plot_w]
        # one span per run of one style, built directly (Text.append per run is slower)
        spans = [Span(0, label_w, style.axis)] if style.axis else []
        spans += [Span(label_w + a, label_w + b, names[int(row_styles[a])])
                  for a, b in zip(cuts, cuts[1:]) if names[int(row_styles[a])]]
        lines.append(Text(label[:label_w].rjust(label_w) + "".join(map(chr, chars[row].tolist())),
                          spans=spans))
    first, last = f"{x0 + 1}", f"{last_iter}"
    axis = " " * label_w + first + last.rjust(max(0, plot_w - len(first)))
    lines.append(Text(axis[:width], style=style.axis))
    return lines


# --- header -----------------------------------------------------------------------------

STATE_STYLES = {
    "starting": "bold black on grey70", "training": "bold black on green",
    "pausing": "bold black on yellow", "paused": "bold black on yellow",
    "resuming": "bold black on green",
    "evaluating": "bold black on cyan", "saving": "bold black on cyan",
    "stopping": "bold black on magenta", "finished": "bold black on bright_blue",
    "failed": "bold white on red",
}


MIN_BAR = 6


def progress_line(st, width: int) -> Text:
    """'iter 500/2000 ████   25% · ep 1.25/5.00 · 45.0k ch/s · ETA 1m15s · lr 2.0e-03',
    cut to `width`: lr goes first, then the epoch total, the epoch, the rate; never wraps.
    While paused the rate and ETA show '–' (they would be stale)."""
    run = st.run
    total = max(run.max_iters, 1)
    paused = st.state in ("paused", "pausing")
    eta = None if st.over or paused else eta_seconds(st.iteration, run.max_iters, st.steps_per_sec)
    rate = "–" if paused else fmt_si(st.chars_per_sec)
    epochs_total = run.max_iters / max(1, run.iters_per_epoch)
    head = f"iter {st.iteration}/{run.max_iters} "
    pct = f" {100 * st.iteration / total:3.0f}%"
    ep_full, ep_short = f"ep {st.epoch:.2f}/{epochs_total:.2f}", f"ep {st.epoch:.1f}"
    rate_s, eta_s, lr_s = f"{rate} ch/s", f"ETA {fmt_duration(eta)}", f"lr {fmt_lr(st.lr)}"
    for fields in ((ep_full, rate_s, eta_s, lr_s), (ep_full, rate_s, eta_s),
                   (ep_short, rate_s, eta_s), (rate_s, eta_s), (eta_s,), ()):
        tail = pct + "".join(f" · {f}" for f in fields)
        if len(head) + MIN_BAR + len(tail) <= width:
            break
    bar_w = max(MIN_BAR, width - len(head) - len(tail))
    l2 = Text.assemble(head, (progress_bar(st.iteration / total, bar_w), "green"), tail)
    l2.no_wrap, l2.overflow = True, "ellipsis"
    return l2


def header_lines(st, width: int) -> list[Text]:
    """Three header lines from a RunState-like `st` (run, iteration, epoch, losses, ...)."""
    run = st.run
    badge = Text(f" {st.state.upper()} ", style=STATE_STYLES.get(st.state, "reverse"))
    l1 = Text.assemble(badge, " ")
    if run is None:
        l1.append("waiting for the run to start…", style="dim")
        return [l1, Text(""), Text("")]
    l1.append(run.run_name, style="bold")
    l1.append(f" · {run.cell.upper()} {run.num_layers}×{run.hidden_size}"
              f" · {fmt_si(run.num_params)} params · {run.device}", style="")
    l2 = progress_line(st, width)
    last = st.losses[-1] if len(st.losses) else None
    avg = st.smooth[-1] if len(st.smooth) else None
    l3 = Text.assemble("loss ", (fmt_loss(last), "bold"), f" (avg {fmt_loss(avg)})")
    if st.val:
        l3.append(f" · val {fmt_loss(st.val[-1][1])}")
    if st.best:
        l3.append(" · best ")
        l3.append(f"{fmt_loss(st.best[1])}", style="bold green")
        l3.append(f" @{st.best[0]}")
    if st.last_checkpoint is not None:
        name = st.last_checkpoint.path.replace("\\", "/").rsplit("/", 1)[-1]
        l3.append(f" · saved {name} @{st.last_checkpoint.iteration}", style="dim")
    for line in (l1, l2, l3):
        line.no_wrap, line.overflow = True, "ellipsis"
    return [l1, l2, l3]


def sample_title(entry, index: int, count: int) -> Text:
    """'sample 3/12 · iter 2000 · val 1.602 · T 0.8 · words 43%' (plus prime / streaming)."""
    t = Text()
    t.append(f"sample {index + 1}/{count}", style="bold")
    t.append(f" · iter {entry.iteration}")
    if entry.val_loss is not None:
        t.append(f" · val {fmt_loss(entry.val_loss)}")
    if entry.temperature is not None:
        t.append(f" · T {entry.temperature:g}")
    if entry.top_k:
        t.append(f" · top-k {entry.top_k}")
    if entry.word_share is not None:
        t.append(" · real words ")
        t.append(fmt_share(entry.word_share), style="bold")
    if entry.request_id is not None:
        t.append(" · requested", style="italic")
    if not entry.done:
        t.append(" · generating…", style="bold yellow")
    t.no_wrap, t.overflow = True, "ellipsis"
    return t
