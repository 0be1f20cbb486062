#!/usr/bin/env python
"""Val loss after a fixed wall-clock budget: the tuirnn Trainer against a plain PyTorch loop.

    .venv/bin/python benchmarks/quality.py [--config configs/tinyshakespeare.yaml]
        [--set train.batch_size=32 ...] [--seconds 60] [--threads N] [--data PATH]

Both contenders train the same model size on the same train/val split, seeded alike
(torch.manual_seed(train.seed)), for `--seconds` of wall-clock time each, one after the other:
  tuirnn: the real Trainer, run_dir in a temp folder, config as given (evals every
          train.eval_every still happen inside the budget, as in normal use); a timer thread
          started at the RunStarted event calls Control.stop() when the budget is spent.
          Its val loss is the engine's own Trainer.evaluate() over the whole val split.
  plain:  the ~60-line loop in _baseline.py (embedding + fused nn.LSTM/GRU/RNN + linear, same
          optimiser, lr, clipping, dropout, lr decay, contiguous-stream batching), stopped at
          the same budget and evaluated the same way (contiguous streams over the whole val
          split, hidden state carried, mean cross-entropy per char in nats).
As a check that the two evaluations agree, the plain evaluator is also run on the Trainer's
model; it must give the engine's figure.

    .venv/bin/python benchmarks/quality.py --budget 90 [--rounds 2]
        [--contenders step,cosine,linear] [--warmup N]

Budget mode: the same wall-clock budget of training time for (a) char-rnn's step schedule
(lr 2e-3 on the config's model), stopped by Control.stop() when the budget is spent, as a user would
with Ctrl+C, and (b) each new schedule run with train.time_budget (the run stops by itself,
its last eval inside the budget), alternated A B C A B C ... so the shared CPU's load falls
on all alike. Val is the last 10% (data.val_frac=0.1 unless --set says otherwise). The figure
is the best val loss the run's own evals reached (best.pt's), and the val loss of its model at
the end (for the step schedule that last eval is outside its budget: a head start).
"""
from __future__ import annotations

import argparse
import math
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import _baseline as C
import torch


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("--config", default=str(C.ROOT / "configs" / "tinyshakespeare.yaml"))
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, e.g. --set model.hidden_size=64 (repeatable)")
    p.add_argument("--seconds", type=float, default=60.0, help="wall-clock training budget per contender")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--data", default=None, help="corpus file (default: the config's data.path)")
    p.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                   help="budget mode: the step schedule against cosine/linear at this budget")
    p.add_argument("--rounds", type=int, default=1, help="budget mode: rounds of A B C ...")
    p.add_argument("--contenders", default="step,cosine,linear",
                   help="budget mode: comma-separated; NAME or NAME@PEAK_LR (e.g. linear@4e-3), "
                        "then +KEY=VALUE overrides of that contender alone")
    p.add_argument("--warmup", type=int, default=None,
                   help="budget mode: warmup_iters of cosine/linear (default: the config's)")
    return p.parse_args()


def train_in(folder: Path, cfg, corpus, sink, control, timers: list, info: dict) -> Any:
    """One seeded tuirnn run in `folder` with `sink` listening; its timers cancelled after.
    Exits naming the error if the run failed (info["failed"], set by the sink). The Trainer."""
    from tuirnn.core.train import Trainer
    torch.manual_seed(cfg.train.seed)
    trainer = Trainer(cfg, folder / "run", [sink], control, corpus)
    trainer.prepare()
    trainer.run()
    for t in timers:
        t.cancel()
    if info["failed"]:
        raise SystemExit(f"tuirnn run failed: {info['failed']}")
    return trainer


def run_tuirnn(cfg, corpus, seconds: float) -> dict:
    from tuirnn.core.control import Control
    from tuirnn.core.events import EvalCompleted, RunFailed, RunFinished, RunStarted, StepsCompleted

    control = Control()
    info: dict[str, Any] = {"iterations": 0, "evals": 0, "failed": None, "reason": None}
    timer: list[threading.Timer] = []

    def sink(event):
        if isinstance(event, RunStarted):
            info["t0"], info["c0"] = C.now(), time.process_time()
            t = threading.Timer(seconds, control.stop)
            t.daemon = True
            t.start()
            timer.append(t)
        elif isinstance(event, StepsCompleted):
            info["iterations"] = event.iteration
        elif isinstance(event, EvalCompleted):
            info["evals"] += 1
        elif isinstance(event, RunFinished):
            info["iterations"] = event.iteration
            info["reason"] = event.reason
            info["t1"], info["c1"] = C.now(), time.process_time()
        elif isinstance(event, RunFailed):
            info["failed"] = event.error

    with tempfile.TemporaryDirectory(prefix="tuirnn-quality-") as tmp:
        trainer = train_in(Path(tmp), cfg, corpus, sink, control, timer, info)
        t0 = C.now()
        info["val_loss"] = trainer.evaluate()
        info["eval_s"] = C.now() - t0
        # Cross-check: the plain evaluator on the Trainer's own model gives the same figure.
        info["val_loss_plain_eval"] = C.evaluate(C.ListState(trainer.model), corpus.val,
                                                 cfg.train.batch_size, cfg.train.seq_length,
                                                 len(corpus.vocab), trainer.device)
    info["train_s"] = info["t1"] - info["t0"]
    info["cpu_s"] = info["c1"] - info["c0"]
    return info


def run_plain(cfg, corpus, seconds: float, device) -> dict:
    m, t = cfg.model, cfg.train
    loop = C.PlainLoop(corpus.train, len(corpus.vocab), m.cell, m.hidden_size, m.num_layers,
                       m.embed_size, m.dropout, t.batch_size, t.seq_length, t.learning_rate,
                       t.grad_clip, t.optimizer, t.seed, t.lr_decay, t.lr_decay_after, device=device)
    limit = t.max_iters or math.inf
    limit = min(limit, math.ceil(t.max_epochs * loop.n_batches))
    t0, c0 = C.now(), time.process_time()
    while C.now() - t0 < seconds and loop.it < limit:
        loop.step()
    train_s, cpu_s = C.now() - t0, time.process_time() - c0
    e0 = C.now()
    val = loop.evaluate(corpus.val, t.batch_size)
    return {"iterations": loop.it, "evals": 0, "train_s": train_s, "cpu_s": cpu_s,
            "val_loss": val, "eval_s": C.now() - e0,
            "reason": "budget" if loop.it < limit else "iteration limit"}


def contender_overrides(name: str, budget: float, warmup: int | None) -> list[str]:
    """'linear@4e-3' -> the --set overrides of that contender; 'step' is char-rnn's schedule at
    its 2e-3 with no budget (whatever the config says: a timer stops it), the others keep the
    config's rate unless @PEAK, and its warmup unless --warmup. '+KEY=VALUE' pieces add
    overrides of that contender alone: 'step+model.num_layers=2+model.hidden_size=128'."""
    head, *extra = name.split("+")
    schedule, _, peak = head.partition("@")
    if schedule == "step":
        sets = ["train.lr_schedule=step", f"train.learning_rate={peak or '2e-3'}",  # char-rnn's
                "train.time_budget=null"]
    else:
        sets = [f"train.lr_schedule={schedule}", f"train.time_budget={budget:g}s"]
        sets += [f"train.warmup_iters={warmup}"] if warmup is not None else []
        sets += [f"train.learning_rate={peak}"] if peak else []
    return sets + extra


def run_budgeted(cfg, corpus, budget: float, schedule: str) -> dict:
    """One contender: the Trainer with its config; step is stopped by a timer at the budget,
    the others stop by themselves (train.time_budget)."""
    from tuirnn.core.control import Control
    from tuirnn.core.events import EvalCompleted, RunFailed, RunFinished, RunStarted

    control = Control()
    info: dict[str, Any] = {"evals": [], "failed": None}
    timers: list[threading.Timer] = []

    def sink(event):
        if isinstance(event, RunStarted):
            info["t0"] = C.now()
            if schedule == "step":
                timers.append(threading.Timer(budget, control.stop))
                timers[-1].daemon = True
                timers[-1].start()
        elif isinstance(event, EvalCompleted):
            info["evals"].append((C.now() - info["t0"], event.iteration, event.val_loss))
        elif isinstance(event, RunFinished):
            info.update(t1=C.now(), iterations=event.iteration, reason=event.reason)
        elif isinstance(event, RunFailed):
            info["failed"] = event.error

    with tempfile.TemporaryDirectory(prefix="tuirnn-quality-") as tmp:
        trainer = train_in(Path(tmp), cfg, corpus, sink, control, timers, info)
        info["final_val"] = trainer.evaluate()
        info["lr_end"] = trainer.lr
    inside = [v for s, _, v in info["evals"] if s <= budget]
    info["best_in_budget"] = min(inside) if inside else math.inf
    info["train_s"] = info["t1"] - info["t0"]
    return info


def budget_corpus(explicit: str | None, data) -> tuple[Any, Path]:
    """The corpus of the budget runs: --data, the config's file, or (a config with neither
    path nor url, as configs/first-look.yaml) the offline default the program itself uses."""
    from tuirnn.core.corpus import locate_corpus
    from tuirnn.core.data import Corpus, decode_corpus
    if explicit is None and data.path is None and data.url is None:
        name, raw = locate_corpus(data)
        text = decode_corpus(raw, name, data.normalize_newlines)
        return Corpus.from_text(text, name, data.val_frac), Path(name)
    path = C.find_corpus(explicit, "tinyshakespeare.txt", data.path)
    if path is None:
        C.skip("corpus tinyshakespeare.txt not found (data/ or /work/shared/data); give --data PATH")
    assert path is not None
    return C.load_corpus(path, data.val_frac, data.normalize_newlines), path


def budget_main(args) -> None:
    import statistics

    from tuirnn.core.config import load
    from tuirnn.core.errors import UserError
    names = [n.strip() for n in args.contenders.split(",") if n.strip()]
    sets = args.overrides if any(o.startswith("data.val_frac=") for o in args.overrides) \
        else ["data.val_frac=0.1", *args.overrides]
    try:
        cfgs = {n: load(args.config, [*sets, *contender_overrides(n, args.budget, args.warmup)])
                for n in names}
    except UserError as e:
        raise SystemExit(f"error: {e}") from None
    first = cfgs[names[0]]
    if args.threads:
        torch.set_num_threads(args.threads)
    corpus, path = budget_corpus(args.data, first.data)
    m, t = first.model, first.train
    print(f"budget mode: {args.budget:g} s each, {args.rounds} round(s) of {' '.join(names)}; "
          f"{path.name} {len(corpus.train):,} train / {len(corpus.val):,} val chars; "
          f"{m.num_layers}x{m.hidden_size} {m.cell.upper()}, batch {t.batch_size}, seq "
          f"{t.seq_length}, {torch.get_num_threads()} threads", flush=True)
    results: dict[str, list[dict]] = {n: [] for n in names}
    for r in range(args.rounds):
        for n in names:
            c = cfgs[n]
            res = run_budgeted(c, corpus, args.budget, c.train.lr_schedule)
            results[n].append(res)
            print(f"  round {r + 1} {n:<14} best val in budget {res['best_in_budget']:.4f}  "
                  f"final val {res['final_val']:.4f}  {res['iterations']} iters, {len(res['evals'])} evals  "
                  f"{res['train_s']:.1f} s ({res['reason']}), lr at end {res['lr_end']:.2e}",
                  flush=True)
    print()
    print(f"{'contender':<16}{'best val':>10}{'final val':>11}{'iters':>8}{'train s':>9}   (median of rounds)")
    for n in names:
        rs = results[n]
        med = statistics.median
        print(f"{n:<16}{med(x['best_in_budget'] for x in rs):>10.4f}"
              f"{med(x['final_val'] for x in rs):>11.4f}{med(x['iterations'] for x in rs):>8.0f}"
              f"{med(x['train_s'] for x in rs):>9.1f}")


def main():
    args = parse_args()
    if args.budget is not None:
        budget_main(args)
        return
    from tuirnn.core.config import load
    from tuirnn.core.device import pick_device
    from tuirnn.core.errors import UserError
    try:
        cfg = load(args.config, args.overrides)
        device = pick_device(cfg.train.device)
    except UserError as e:
        raise SystemExit(f"error: {e}") from None
    default_name = Path(cfg.data.path).name if cfg.data.path else "tinyshakespeare.txt"
    path = C.find_corpus(args.data, default_name, cfg.data.path)
    if path is None:
        C.skip(f"corpus {args.data or cfg.data.path or default_name} not found (looked at the "
               f"config's data.path, data/ and {C.SHARED_DATA}); give one with --data PATH")
    if args.threads:
        torch.set_num_threads(args.threads)
    corpus = C.load_corpus(path, cfg.data.val_frac, cfg.data.normalize_newlines)
    m, t = cfg.model, cfg.train
    print(f"config {args.config} {' '.join(args.overrides)}".rstrip())
    print(f"corpus {path}: {len(corpus.train):,} train / {len(corpus.val):,} val chars, "
          f"vocab {len(corpus.vocab)}; {m.num_layers}x{m.hidden_size} {m.cell.upper()}, "
          f"dropout {m.dropout}, batch {t.batch_size}, seq {t.seq_length}, {t.optimizer} lr "
          f"{t.learning_rate}; budget {args.seconds:g} s each on {device}, "
          f"{torch.get_num_threads()} threads", flush=True)

    print("training tuirnn ...", flush=True)
    a = run_tuirnn(cfg, corpus, args.seconds)
    print(f"  {a['iterations']} iterations, val loss {a['val_loss']:.4f}", flush=True)
    print("training plain ...", flush=True)
    b = run_plain(cfg, corpus, args.seconds, device)
    print(f"  {b['iterations']} iterations, val loss {b['val_loss']:.4f}", flush=True)

    chars = t.batch_size * t.seq_length
    print()
    print(f"{'contender':<10}{'val loss':>10}{'bits/char':>11}{'iters':>8}{'epochs':>8}{'train s':>9}"
          f"{'cpu s':>8}{'chars/s':>10}{'evals':>7}{'eval s':>8}")
    n_batches = (len(corpus.train) - 1) // chars
    for name, r in (("tuirnn", a), ("plain", b)):
        print(f"{name:<10}{r['val_loss']:>10.4f}{r['val_loss'] / math.log(2):>11.3f}{r['iterations']:>8}"
              f"{r['iterations'] / n_batches:>8.3f}{r['train_s']:>9.1f}{r['cpu_s']:>8.1f}"
              f"{r['iterations'] * chars / r['train_s']:>10,.0f}{r['evals']:>7}{r['eval_s']:>8.2f}")
    print(f"val loss difference tuirnn - plain: {a['val_loss'] - b['val_loss']:+.4f} nats/char")
    diff = abs(a["val_loss_plain_eval"] - a["val_loss"])
    print(f"eval cross-check: plain evaluator on the tuirnn model gives {a['val_loss_plain_eval']:.5f} "
          f"(engine {a['val_loss']:.5f}; {'agree' if diff < 1e-3 else 'DISAGREE'})")
    if a["evals"]:
        print(f"note: tuirnn ran {a['evals']} eval(s) (train.eval_every={t.eval_every}) inside its budget")
    note = C.load_note()
    if note:
        print(note)


if __name__ == "__main__":
    main()
