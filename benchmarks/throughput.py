#!/usr/bin/env python
"""Training throughput (chars/s), headless: the tuirnn Trainer against a plain PyTorch loop.

    .venv/bin/python benchmarks/throughput.py [--cell lstm --hidden 128 --layers 2
        --batch 50 --seq 50 --steps 100 --warmup 20 --repeats 3 --threads N --data PATH]

Contenders, each built fresh with torch.manual_seed(seed), run interleaved (a b, b a, a b, ...)
so drifts in machine speed hit both alike; medians are reported:
  a) tuirnn: the real Trainer (tuirnn/train.py) with log_every=10 as in normal use and
     eval_every out of reach; timed from a sink, between the StepsCompleted event after the
     warm-up steps and the one after warm-up + steps (so the per-window host sync and event
     emission are inside the timing). A Control.stop() from the sink then ends the run.
  b) plain: the ~60-line loop in _baseline.py (embedding + one fused nn.LSTM(num_layers=L) +
     linear, Adam, clip_grad_norm_, contiguous streams with the hidden state carried).
  c) (--attribute) plain loop driving tuirnn's own CharRNN model (one single-layer module per
     layer): splits any gap into "model layout" (c vs b) and "trainer loop" (a vs c).
  paired (unless --no-paired): one Trainer run whose sink, after each 10-step window, has a
     plain loop do 10 steps; each contender's windows are timed apart. Machine noise on the
     scale of seconds then hits both alike; the verdict uses this ratio.
Target: tuirnn / plain >= 0.95. Figures are by wall clock and by process CPU time; on a busy
machine (load > 3/4 of the cores) the verdict uses CPU time.
"""
from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import _baseline as C
import torch


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn"])
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--seq", type=int, default=50)
    p.add_argument("--steps", type=int, default=100, help="timed steps per run (rounded up to 10s)")
    p.add_argument("--warmup", type=int, default=20, help="untimed steps first (rounded up to 10s)")
    p.add_argument("--repeats", type=int, default=3, help="runs of each contender, interleaved")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--seed", type=int, default=123)
    p.add_argument("--attribute", action="store_true",
                   help="also time the plain loop on tuirnn's CharRNN (splits the gap: model vs loop)")
    p.add_argument("--no-paired", action="store_true",
                   help="skip the paired runs (tuirnn and plain 10-step windows alternated in one run)")
    p.add_argument("--data", default=None, help="corpus file (default: tinyshakespeare.txt)")
    return p.parse_args()


LOG_EVERY = 10
MEASURES = ("wall window", "wall total", "cpu window", "cpu total")


def round_up(n: int, k: int) -> int:
    return max(k, math.ceil(n / k) * k)


def run_tuirnn(args, corpus, partner=None):
    """The Trainer's rates; with `partner` (a plain loop) the paired run instead: inside the
    sink, after each 10-step tuirnn window, the partner does 10 steps, so both see the same
    machine state to within a second. Returns then {'tuirnn': rates, 'plain': rates}."""
    from tuirnn.core.config import Config, set_key
    from tuirnn.core.control import Control
    from tuirnn.core.events import RunFailed, StepsCompleted
    from tuirnn.core.train import Trainer

    cfg = Config()
    for key, value in {
        "model.cell": args.cell, "model.hidden_size": args.hidden, "model.num_layers": args.layers,
        "model.embed_size": args.embed, "model.dropout": 0.0,
        "train.batch_size": args.batch, "train.seq_length": args.seq,
        "train.learning_rate": 2e-3, "train.grad_clip": 5.0, "train.optimizer": "adam",
        "train.seed": args.seed, "train.device": "cpu",
        "train.log_every": LOG_EVERY, "train.eval_every": 10**9,
        "train.max_iters": args.warmup + args.steps + 10 * LOG_EVERY,
    }.items():
        set_key(cfg, key, value)
    cfg.run.name = "throughput"
    control = Control()
    marks: dict[int, float] = {}
    failed: list[str] = []

    pair: dict[str, list[tuple[float, float]]] = {"tuirnn": [], "plain": []}
    left: list[tuple[float, float]] = []  # when the sink last returned to the Trainer

    def clocks():
        return C.now(), time.process_time()

    def sink(event):
        if isinstance(event, StepsCompleted):
            if partner is not None:
                t = clocks()
                if left and event.iteration > args.warmup:
                    pair["tuirnn"].append((t[0] - left[-1][0], t[1] - left[-1][1]))
                for _ in range(LOG_EVERY):
                    partner.step()
                u = clocks()
                if event.iteration > args.warmup:
                    pair["plain"].append((u[0] - t[0], u[1] - t[1]))
            elif args.warmup <= event.iteration <= args.warmup + args.steps:
                marks[event.iteration] = clocks()
            if event.iteration >= args.warmup + args.steps:
                control.stop()
            if partner is not None:
                left.append(clocks())
        elif isinstance(event, RunFailed):
            failed.append(event.error)

    with tempfile.TemporaryDirectory(prefix="tuirnn-bench-") as tmp:
        trainer = Trainer(cfg, Path(tmp) / "run", [sink], control, corpus)
        trainer.prepare()
        trainer.run()
    if failed:
        raise SystemExit(f"tuirnn run failed: {failed[0]}")
    if partner is not None:
        chars = args.batch * args.seq * LOG_EVERY
        return {name: {f"{clock} {how}": fn([chars / w[k] for w in ws]) if how == "window"
                       else chars * len(ws) / sum(w[k] for w in ws)
                       for k, clock in ((0, "wall"), (1, "cpu")) for how, fn in
                       (("window", C.median), ("total", None))}
                for name, ws in pair.items()}
    return _rates(args, marks)


def run_paired(args, corpus):
    V = len(corpus.vocab)
    partner = C.PlainLoop(corpus.train, V, args.cell, args.hidden, args.layers, args.embed, 0.0,
                          args.batch, args.seq, seed=args.seed)
    return run_tuirnn(args, corpus, partner)


def _rates(args, marks: dict[int, tuple[float, float]]) -> dict[str, float]:
    """chars/s by wall clock and by this process's CPU time, each two ways: the median over the
    10-step windows ('window') and over the whole timed stretch ('total')."""
    its = sorted(marks)
    per_window = args.batch * args.seq * LOG_EVERY
    out = {}
    for k, clock in ((0, "wall"), (1, "cpu")):
        out[f"{clock} window"] = C.median(
            [per_window / (marks[b][k] - marks[a][k]) for a, b in zip(its, its[1:])])
        out[f"{clock} total"] = args.steps * args.batch * args.seq / (marks[its[-1]][k] - marks[its[0]][k])
    return out


def run_plain(args, corpus, charrnn: bool = False) -> dict[str, float]:
    V = len(corpus.vocab)
    model = None
    if charrnn:
        from tuirnn.core.model import CharRNN
        torch.manual_seed(args.seed)
        model = CharRNN(V, args.cell, args.hidden, args.layers, 0.0, args.embed)
    loop = C.PlainLoop(corpus.train, V, args.cell, args.hidden, args.layers, args.embed, 0.0,
                       args.batch, args.seq, seed=args.seed, model=model)
    if model is not None:  # CharRNN wants a per-layer state list; adapt the carried state
        loop.model = C.ListState(model)
        loop.opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    for _ in range(args.warmup):
        loop.step()
    marks = {loop.it: (C.now(), time.process_time())}
    for _ in range(args.steps):
        loop.step()
        if loop.it % LOG_EVERY == 0:  # right after the loop's own loss.item()
            marks[loop.it] = (C.now(), time.process_time())
    return _rates(args, marks)


def main():
    args = parse_args()
    path = C.find_corpus(args.data, "tinyshakespeare.txt")
    if path is None:
        C.skip(f"corpus {args.data or 'tinyshakespeare.txt'} not found "
               f"(looked in data/ and {C.SHARED_DATA}); give one with --data PATH")
    if args.threads:
        torch.set_num_threads(args.threads)
    args.steps = round_up(args.steps, LOG_EVERY)
    args.warmup = round_up(args.warmup, LOG_EVERY)
    corpus = C.load_corpus(path, 0.05)
    print(f"corpus {path} ({len(corpus.train):,} train chars, vocab {len(corpus.vocab)}); "
          f"{args.layers}x{args.hidden} {args.cell.upper()}, embed {args.embed}, batch {args.batch}, "
          f"seq {args.seq}; {args.warmup} warm-up + {args.steps} timed steps, {args.repeats} repeats; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)

    contenders = {"tuirnn": lambda: run_tuirnn(args, corpus), "plain": lambda: run_plain(args, corpus)}
    if args.attribute:
        contenders["plain+CharRNN"] = lambda: run_plain(args, corpus, charrnn=True)
    results: dict[str, list[dict[str, float]]] = {k: [] for k in contenders}
    names = list(contenders)
    for r in range(args.repeats):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            rates = contenders[name]()
            results[name].append(rates)
            print(f"  round {r + 1}: {name:<14}" + "".join(
                f"{rates[m]:>9,.0f} {m}" for m in MEASURES), flush=True)

    if not args.no_paired:
        results["tuirnn paired"], results["plain paired"] = [], []
        for r in range(args.repeats):
            both = run_paired(args, corpus)
            for name in ("tuirnn", "plain"):
                results[f"{name} paired"].append(both[name])
                print(f"  paired {r + 1}: {name:<13}" + "".join(
                    f"{both[name][m]:>9,.0f} {m}" for m in MEASURES), flush=True)

    med = {k: {m: C.median([r[m] for r in v]) for m in MEASURES} for k, v in results.items()}
    print()
    print("chars/s, median over runs. wall: elapsed time; cpu: this process's CPU time (steady")
    print("when other jobs share the cores). window: median of a run's 10-step windows; total:")
    print("the run's whole timed stretch.")
    print(f"{'contender':<16}" + "".join(f"{m:>14}" for m in MEASURES) + f"{'runs':>6}")
    for k, v in results.items():
        print(f"{k:<16}" + "".join(f"{med[k][m]:>14,.0f}" for m in MEASURES) + f"{len(v):>6}")
    ratios = {m: med["tuirnn"][m] / med["plain"][m] for m in MEASURES}
    print(f"{'tuirnn/plain':<16}" + "".join(f"{ratios[m]:>14.3f}" for m in MEASURES)
          + "   (separate runs, alternated)")
    if not args.no_paired:
        paired = {m: med["tuirnn paired"][m] / med["plain paired"][m] for m in MEASURES}
        print(f"{'  paired':<16}" + "".join(f"{paired[m]:>14.3f}" for m in MEASURES)
              + "   (10-step windows alternated in one run)")
    if args.attribute:
        print(f"{'  CharRNN/plain':<16}" + "".join(
            f"{med['plain+CharRNN'][m] / med['plain'][m]:>14.3f}" for m in MEASURES)
            + "   (model layout)")
        print(f"{'  tuirnn/CharRNN':<16}" + "".join(
            f"{med['tuirnn'][m] / med['plain+CharRNN'][m]:>14.3f}" for m in MEASURES)
            + "   (trainer loop)")
    load = C.load_note()
    key = "cpu window" if load else "wall window"
    basis = ratios if args.no_paired else paired
    verdict = "PASS" if basis[key] >= 0.95 else "FAIL"
    print(f"verdict on the {'separate' if args.no_paired else 'paired'} '{key}' ratio "
          f"{basis[key]:.3f}: target >= 0.95: {verdict}")
    if load:
        print(load + "; the verdict uses CPU time (--threads 1 and more --repeats steady it)")

if __name__ == "__main__":
    main()
