"""How long does one loss-chart redraw take? The budget is 2 ms at 5,000 points, 160x45.

Times what the monitor does on the UI thread per redraw: the braille drawing (chart.py) and
the conversion of its rows into Strips (LossChart.strips), for a run of N steps with an eval
on the `auto` schedule, at the chart's size in a 160x45 terminal (about 158x28 cells).

    .venv/bin/python benchmarks/chart.py [--points 5000 100000] [--repeats 300]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from rich.style import Style
from textual.strip import Strip

from tuirnn.tui.chart import chart_rows, row_segments, window_start

WIDTH, HEIGHT = 158, 28          # the chart's content in a 160x45 terminal


def series(n: int) -> tuple[np.ndarray, np.ndarray, list[tuple[int, float]]]:
    rng = np.random.default_rng(0)
    x = np.arange(n, dtype=float)
    raw = 2.1 * np.exp(-x / (n / 40)) + 1.2 + rng.normal(0, 0.04, n)
    smooth = np.convolve(raw, np.ones(20) / 20, mode="same")
    evals = [i for i in (100, 200, 300, 500, 700, 1000, 1500, 2000) if i <= n]
    evals += list(range(3000, n + 1, 1000))
    return raw, smooth, [(i, float(raw[i - 1]) + 0.05) for i in evals]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, nargs="+", default=[5000, 100_000])
    ap.add_argument("--repeats", type=int, default=300)
    args = ap.parse_args()
    base = Style(color="white", bgcolor="black")      # the widget's own colours, as in the app
    for n in args.points:
        raw, smooth, val = series(n)
        for window in ("whole run", "last 25%"):
            first = window_start(n, window)
            draw, strip = [], []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                rows = chart_rows(raw[first:], smooth[first:], val, val[-1], WIDTH, HEIGHT,
                                  x0=first)
                t1 = time.perf_counter()
                [Strip(row_segments(row, base), WIDTH) for row in rows]
                t2 = time.perf_counter()
                draw.append(t1 - t0)
                strip.append(t2 - t1)
            med = lambda xs: 1000 * statistics.median(xs)
            print(f"{n:>7} points · {window:<10} · draw {med(draw):.2f} ms · strips "
                  f"{med(strip):.2f} ms · total {med([a + b for a, b in zip(draw, strip)]):.2f} ms "
                  f"(median of {args.repeats})")


if __name__ == "__main__":
    main()
