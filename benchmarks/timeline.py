"""Samples tab with a long run: how long does a key take to move through 200 fixed samples?

The target is < 50 ms per key. With the monitor on a 160x45 screen holding 200 samples of 500
characters, each press of `[` / `]` (select the older / newer sample and scroll to it) is timed
from the key to the app being idle again, and then the drawing of every visible line of the
timeline is timed alone (what the compositor asks for after a scroll), and the key's own work
(select, scroll, draw the visible lines) without the test harness's round trip.

    .venv/bin/python benchmarks/timeline.py [--samples 200] [--keys 60]
"""
from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from ui_fakes import fake_run  # noqa: E402

from tuirnn.core.events import SampleGenerated  # noqa: E402
from tuirnn.tui.app import make_app  # noqa: E402
from tuirnn.tui.widgets.sample_timeline import SampleTimeline  # noqa: E402

WORDS = "the prince said to countess war and peace of his her that was with for on at by".split()


def events(n: int) -> list:
    rnd = random.Random(0)
    evs = fake_run()
    for k in range(n):
        text = " ".join(rnd.choice(WORDS) for _ in range(100))[:500]
        text = "\n".join(text[i:i + 70] for i in range(0, len(text), 70))
        evs.append(SampleGenerated(iteration=100 * (k + 1), text=text, prime="", temperature=0.8,
                                   top_k=0, seed=1, val_loss=3.0 / (1 + k / 20),
                                   word_share=min(1.0, k / n), timeline=True))
    return evs


async def main(n: int, keys: int) -> None:
    app = make_app(events=events(n))
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        timeline = app.monitor.query_one(SampleTimeline)
        per_key = []
        for i in range(keys):
            key = "left_square_bracket" if (i // 20) % 2 == 0 else "right_square_bracket"
            t0 = time.perf_counter()
            await pilot.press(key)
            await pilot.pause()
            per_key.append(time.perf_counter() - t0)
        # the same round trip for a key bound to nothing: what the harness itself costs
        idle = []
        for _ in range(20):
            t0 = time.perf_counter()
            await pilot.press("f12")
            await pilot.pause()
            idle.append(time.perf_counter() - t0)
        draws = []
        for _ in range(50):
            t0 = time.perf_counter()
            for y in range(timeline.size.height):
                timeline.render_line(y)
            draws.append(time.perf_counter() - t0)
        # the key's own work: select and scroll, then draw every visible line
        work = []
        for i in range(keys):
            t0 = time.perf_counter()
            timeline.older() if (i // 20) % 2 == 0 else timeline.newer()
            for y in range(timeline.size.height):
                timeline.render_line(y)
            work.append(time.perf_counter() - t0)
        print(f"per key, select + scroll + draw: median {1000 * statistics.median(work):.2f} ms, "
              f"max {1000 * max(work):.2f} ms")
        ms = lambda xs, q: 1000 * statistics.quantiles(xs, n=20)[q] if len(xs) > 1 else 1000 * xs[0]
        print(f"{n} samples, {timeline._total} lines: key to idle median "
              f"{1000 * statistics.median(per_key):.1f} ms, p95 {ms(per_key, 18):.1f} ms "
              f"({keys} keys; an unbound key: {1000 * statistics.median(idle):.1f} ms); drawing the {timeline.size.height} visible lines "
              f"{1000 * statistics.median(draws):.2f} ms")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--keys", type=int, default=60)
    args = ap.parse_args()
    asyncio.run(main(args.samples, args.keys))
