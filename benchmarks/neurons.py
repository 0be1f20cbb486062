"""Neuron view speed on this machine: probe, re-render on a unit/layer switch, finder.

    python benchmarks/neurons.py [--hidden 512] [--layers 3] [--chars 2000] [--device cpu]

Targets for a 3x512 LSTM and 2,000 characters on CPU: probe < 1 s, switching units or layers
re-renders from the cached probe in < 50 ms, the finder over all units in < 1 s.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from typing import Callable, TypeVar

import torch
from rich.console import Console

from tuirnn.core.finder import HYPOTHESES, find_units
from tuirnn.core.model import CharRNN
from tuirnn.core.probe import ProbeResult, probe_text
from tuirnn.tui import neuron_render as R

T = TypeVar("T")


def timed(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """Median seconds of `repeat` calls (after one warm-up call) and the last result."""
    out = fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


async def keys_in_app(event, width: int, rows: int) -> tuple[float, float]:
    """Median ms from pressing n (next unit) or + (next layer) until the app is idle again,
    i.e. the pane re-rendered and the screen updated, with guess rows on; and the same for
    an unbound key (Pilot's own cost per press, to subtract)."""
    from textual.app import App

    from tuirnn.tui.widgets.neuron_pane import NeuronPane

    class Bench(App):
        def compose(self):
            yield NeuronPane()

    app = Bench()
    async with app.run_test(size=(width, rows)) as pilot:
        pane = app.query_one(NeuronPane)
        pane.probe = event
        pane.show_predictions = True
        pane.focus()
        await pilot.pause()
        times, idle = [], []
        for i in range(20):
            start = time.perf_counter()
            await pilot.press("n" if i % 2 else "plus")
            times.append(time.perf_counter() - start)
            start = time.perf_counter()
            await pilot.press("z")
            idle.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, statistics.median(idle) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell", default="lstm")
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--chars", type=int, default=2000)
    ap.add_argument("--width", type=int, default=100, help="pane width in cells")
    ap.add_argument("--rows", type=int, default=40, help="pane height in lines")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    rng = random.Random(0)
    words = "the of and to a in that was he his it with as had for she not but at on".split()
    text = ""
    while len(text) < args.chars:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(4, 14)))
        text += (f'"{line}," she said.\n' if rng.random() < 0.3 else f"{line} (and so on).\n")
    text = text[:args.chars]
    vocab = "".join(sorted(set(text)))
    torch.manual_seed(0)
    model = CharRNN(len(vocab), args.cell, args.hidden, args.layers, 0.5, 64).to(args.device)
    units = args.layers * args.hidden
    print(f"{args.cell.upper()} {args.layers}x{args.hidden} on {args.device}, "
          f"{args.chars} chars, torch threads {torch.get_num_threads()}")

    probe_s, result = timed(lambda: probe_text(model, text, vocab, k=5), 3)
    print(f"probe (every unit, tanh(c) and h, top-5):  {probe_s * 1000:7.1f} ms  (target < 1000)")

    event_s, decoded = timed(lambda: ProbeResult.from_event(result.to_event()), 5)
    print(f"event pack + decode:                       {event_s * 1000:7.1f} ms")

    console = Console(width=args.width, color_system="truecolor", file=open("/dev/null", "w"))
    lines = R.wrap(decoded.text, args.width)
    state = {"unit": 0}

    def switch_and_draw_pane():
        """What the pane does on a key: pick the next unit, draw the visible lines to
        terminal segments (guess rows on, so twice the lines)."""
        state["unit"] = (state["unit"] + 1) % args.hidden
        layer = state["unit"] % args.layers
        values = decoded.unit("c", layer, state["unit"])
        for start, end in lines[:args.rows // 2]:
            console.print(R.render_line(decoded.text, start, end, values, cursor=start))
            console.print(R.render_prediction_row(decoded.text, start, end, decoded.top_ids,
                                                  decoded.top_probs, decoded.vocab))

    def switch_and_draw_everything():
        state["unit"] = (state["unit"] + 1) % args.hidden
        values = decoded.unit("h", state["unit"] % args.layers, state["unit"])
        for line in R.render_text(decoded.text, values, args.width):
            console.print(line)

    pane_s, _ = timed(switch_and_draw_pane, 20)
    print(f"unit/layer switch, visible pane redraw:    {pane_s * 1000:7.1f} ms  (target < 50)"
          f"  [{args.width}x{args.rows}]")
    all_s, _ = timed(switch_and_draw_everything, 10)
    print(f"unit switch, all {len(lines)} lines drawn:          {all_s * 1000:7.1f} ms")

    app_ms, idle_ms = asyncio.run(keys_in_app(result.to_event(iteration=1), args.width,
                                              args.rows))
    print(f"in a Textual app: key n / + to screen:     {app_ms:7.1f} ms  (an unbound key: "
          f"{idle_ms:.1f} ms, Pilot's own cost)")

    def find_cold(pattern):
        decoded._flat.clear()           # drop the cached centred activations: a fresh probe
        return find_units(decoded, pattern, top=10)

    find_s, best = timed(lambda: find_cold("quotes"), 5)
    kinds = len(decoded.kinds)
    print(f"finder, fresh probe, {units * kinds} units ({units} x {kinds} kinds): "
          f"{find_s * 1000:7.1f} ms  (target < 1000)")
    regex_s, _ = timed(lambda: find_cold(r"\b[a-z]+,"), 5)
    print(f"finder, fresh probe, a regex:              {regex_s * 1000:7.1f} ms")
    again_s, _ = timed(lambda: find_units(decoded, "parens", top=10), 5)
    print(f"finder, next pattern on the same probe:    {again_s * 1000:7.1f} ms")
    every_s, _ = timed(lambda: [find_units(decoded, p, top=3) for p in HYPOTHESES], 3)
    print(f"finder, all {len(HYPOTHESES)} built-in patterns:            {every_s * 1000:7.1f} ms")
    print(f"best 'inside quotes' unit (untrained): layer {best[0].layer} unit {best[0].unit} "
          f"{best[0].kind} r={best[0].corr:+.3f}")


if __name__ == "__main__":
    main()
