"""Pure formatting for the monitor: no widgets, no app, tested alone (the loss chart's
drawing is in chart.py)."""
from __future__ import annotations

import math
import unicodedata

from rich.text import Text

from ..core.runstate import RunStatus
from .state import Activity

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


# --- header -----------------------------------------------------------------------------

STATE_STYLES = {   # the header badge of each status and activity (a test checks each has one)
    Activity.STARTING: "bold black on grey70", RunStatus.TRAINING: "bold black on green",
    Activity.PAUSING: "bold black on yellow", RunStatus.PAUSED: "bold black on yellow",
    Activity.RESUMING: "bold black on green",
    Activity.EVALUATING: "bold black on cyan", Activity.SAVING: "bold black on cyan",
    Activity.STOPPING: "bold black on magenta", RunStatus.FINISHED: "bold black on bright_blue",
    RunStatus.STOPPED: "bold black on magenta", RunStatus.DIVERGED: "bold white on red",
    RunStatus.FAILED: "bold white on red", RunStatus.CRASHED: "bold white on red",
}


MIN_BAR = 6


def budget_clock(st) -> tuple[str, float, str] | None:
    """With train.time_budget: (head, fraction, ETA field) in training time, e.g.
    ('iter 500 · 1m05s/1m30s ', 0.72, 'ETA 25s'); paused: 'clock stopped, 25s left' (a paused
    run keeps its budget). None without a budget. Whichever ends first, iterations or time."""
    budget = getattr(st.run, "time_budget_s", None)
    left = getattr(st, "budget_left_s", None)
    if not budget or left is None:
        return None
    frac = max(st.iteration / max(st.run.max_iters, 1), 1.0 - left / budget)
    head = f"iter {st.iteration} · {fmt_duration(budget - left)}/{fmt_duration(budget)} "
    if st.over:
        return head, frac, "ETA –"
    if st.pausing_or_paused:
        return head, frac, f"clock stopped, {fmt_duration(left)} left"
    by_iters = eta_seconds(st.iteration, st.run.max_iters, st.steps_per_sec)
    return head, frac, f"ETA {fmt_duration(left if by_iters is None else min(left, by_iters))}"


def progress_line(st, width: int) -> Text:
    """'iter 500/2000 ████   25% · ep 1.25/5.00 · 45.0k ch/s · ETA 1m15s · lr 2.0e-03',
    cut to `width`: lr goes first, then the epoch total, the epoch, the rate; never wraps.
    While paused the rate and ETA show '–' (they would be stale)."""
    run = st.run
    total = max(run.max_iters, 1)
    paused = st.pausing_or_paused
    eta = None if st.over or paused else eta_seconds(st.iteration, run.max_iters, st.steps_per_sec)
    rate = "–" if paused else fmt_si(st.chars_per_sec)
    epochs_total = run.max_iters / max(1, run.iters_per_epoch)
    head = f"iter {st.iteration}/{run.max_iters} "
    pct = f" {100 * st.iteration / total:3.0f}%"
    ep_full, ep_short = f"ep {st.epoch:.2f}/{epochs_total:.2f}", f"ep {st.epoch:.1f}"
    rate_s, eta_s, lr_s = f"{rate} ch/s", f"ETA {fmt_duration(eta)}", f"lr {fmt_lr(st.lr)}"
    frac = st.iteration / total
    clock = budget_clock(st)
    if clock is not None:       # a time budget: the bar and the ETA count it down
        head, frac, eta_s = clock
        pct = f" {100 * frac:3.0f}%"
    choices = [(ep_full, rate_s, eta_s, lr_s), (ep_full, rate_s, eta_s),
               (ep_short, rate_s, eta_s), (rate_s, eta_s), (eta_s,), ()]
    if st.rank_ms is not None:   # several ranks: fastest-slowest forward ms (a straggler shows)
        rank_s = f"rank {st.rank_ms[0]:.1f}-{st.rank_ms[1]:.1f}ms"
        choices[:0] = [(ep_full, rate_s, rank_s, eta_s, lr_s), (ep_full, rate_s, rank_s, eta_s)]
    for fields in choices:
        tail = pct + "".join(f" · {f}" for f in fields)
        if len(head) + MIN_BAR + len(tail) <= width:
            break
    bar_w = max(MIN_BAR, width - len(head) - len(tail))
    l2 = Text.assemble(head, (progress_bar(frac, bar_w), "green"), tail)
    l2.no_wrap, l2.overflow = True, "ellipsis"
    return l2


ALERT_MARKS = {   # kind -> (mark, style); kept short: it comes first on the header's line 1
    "diverged": ("⚠ DIVERGED", "bold white on red"),
    "overfitting": ("overfitting?", "bold black on yellow"),
    "plateau": ("plateau", "bold black on yellow"),
}


def alert_marks(alerts: dict) -> Text:
    """' overfitting? ' etc. for the alerts in force (kind -> AlertRaised), each then a space."""
    out = Text()
    for kind, (mark, style) in ALERT_MARKS.items():
        if kind in alerts:
            out.append(f" {mark} ", style=style)
            out.append(" ")
    return out


def source_name(checkpoint: str) -> str:
    """The run a checkpoint belongs to ('runs/tiny-2026/checkpoints/best.pt' -> 'tiny-2026'),
    or the file's name when it lies elsewhere."""
    parts = checkpoint.replace("\\", "/").rstrip("/").split("/")
    return parts[-3] if len(parts) >= 3 and parts[-2] == "checkpoints" else parts[-1]


def header_lines(st, width: int) -> list[Text]:
    """Three header lines from a RunState-like `st` (run, iteration, epoch, losses, ...)."""
    run = st.run
    badge = Text(f" {st.state.upper()} ", style=STATE_STYLES.get(st.state, "reverse"))
    l1 = Text.assemble(badge, " ", alert_marks(getattr(st, "alerts", {})))
    if run is None:
        l1.append("waiting for the run to start…", style="dim")
        return [l1, Text(""), Text("")]
    l1.append(run.run_name, style="bold")
    l1.append(f" · {run.cell.upper()} {run.num_layers}×{run.hidden_size}"
              f" · {fmt_si(run.num_params)} params · {run.device}", style="")
    if getattr(run, "init_from", ""):
        l1.append(f" · from {source_name(run.init_from)}@{run.init_from_iter}", style="dim")
    l2 = progress_line(st, width)
    last = st.losses[-1] if len(st.losses) else None
    avg = st.smooth[-1] if len(st.smooth) else None
    l3 = Text.assemble("loss ", (fmt_loss(last), "bold"), f" (avg {fmt_loss(avg)})")
    if st.val:
        l3.append(f" · val {fmt_loss(st.val[-1][1])}")
    if st.gap is not None:
        l3.append(f" · gap {st.gap:+.3f}")
    if st.best:
        l3.append(" · best ")
        l3.append(f"{fmt_loss(st.best[1])}", style="bold green")
        l3.append(f" @{st.best[0]}")
    if st.last_checkpoint is not None:
        name = st.last_checkpoint.path.replace("\\", "/").rsplit("/", 1)[-1]
        l3.append(f" · saved {name} @{st.last_checkpoint.iteration}", style="dim")
    lines = [fit_fields(line, width) for line in (l1, l2, l3)]
    for line in lines:
        line.no_wrap, line.overflow = True, "ellipsis"
    return lines


FIELD_SEP = " · "


def fit_fields(line: Text, width: int) -> Text:
    """`line` in `width` cells, cut at a field boundary: the fields joined by ' · ' that do
    not fit are dropped from the end, whole ('… · best 1.253 @1250', never '· saved las…').
    A first field wider than `width` is left to the caller's ellipsis."""
    plain = line.plain
    if cell_width(plain) <= width:
        return line
    cuts = [i for i in range(len(plain)) if plain.startswith(FIELD_SEP, i)]
    fitting = [i for i in cuts if cell_width(plain[:i]) <= width]
    if not fitting:
        return line
    return line.divide([max(fitting)])[0]


def sample_title(entry, index: int, count: int) -> Text:
    """'sample 3/12 · iter 2000 · val 1.602 · T 0.8 · real words 43%', a requested one with
    'requested, seed 81234' after the count (plus streaming)."""
    t = Text()
    t.append(f"sample {index + 1}/{count}", style="bold")
    if entry.request_id is not None:    # first: at 80 columns the end of the title is cut
        t.append(" · requested", style="italic")
        if entry.seed is not None:      # its seed: typed in again, it repeats the sample
            t.append(f", seed {entry.seed}")
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
    if not entry.done:
        t.append(" · generating…", style="bold yellow")
    t.no_wrap, t.overflow = True, "ellipsis"
    return t
