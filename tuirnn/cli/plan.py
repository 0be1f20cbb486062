"""The run as a plan: `tuirnn run`'s command line turned into what the run will be, before
anything is built. Every rank of a torchrun makes the same plan from the same command line.

    new        tuirnn run [CONFIG] [--set K=V] [--run-dir DIR]
    resume     tuirnn run --resume RUN_DIR [--set K=V]      (its checkpoints/last.pt, if any)
    init-from  tuirnn run [CONFIG] --init-from CHECKPOINT    (another run's weights, char-rnn's
               -init_from: the model's shape from the checkpoint; optimizer, count, data afresh)
"""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import config as config_mod
from ..core import runlog
from ..core.checkpoint import load_checkpoint, resume_checkpoint, same_vocab
from ..core.config import Config
from ..core.data import Corpus
from ..core.errors import UserError
from ..core.model import check_fits
from ..core.ranks import Solo
from ..core.world import World


@dataclass(frozen=True)
class Plan:
    kind: str                                   # new | resume | init-from
    cfg: Config                                 # the config in force (written as config.yaml)
    run_dir: Path                               # planned: a new run's folder is made later
    exact: bool                                 # --run-dir: exactly this folder, no -2, -3
    world: World                                # this process's rank of how many
    resume_state: dict[str, Any] | None = None  # resume: last.pt (None: nothing saved yet)
    init_from: dict[str, Any] | None = None     # init-from: the checkpoint of the weights

    @property
    def resumed_from(self) -> int | None:
        """The iteration a resumed run goes on from (None: a new run)."""
        if self.kind != "resume":
            return None
        return int(self.resume_state["iteration"]) if self.resume_state else 0


def make_plan(args: argparse.Namespace, world: World) -> Plan:
    """The plan for `tuirnn run ARGS` on `world`; UserError (one line) for what cannot be.
    Rank 0 holds the folder's lock before it reads a run to resume; the others only read."""
    if args.resume and args.config:
        raise UserError("give either a CONFIG or --resume RUN_DIR, not both "
                        "(change settings of a resumed run with --set)")
    if args.resume and args.init_from:
        raise UserError("--resume continues a run and --init-from starts a new one from "
                        "another's weights: give one of them")
    if args.resume:
        run_dir = Path(args.resume)
        cfg, state = resume_config(run_dir, args.overrides)
        return Plan("resume", cfg, run_dir, True, world, resume_state=state)
    cfg = config_mod.load(args.config, args.overrides)
    init = None
    if args.init_from:
        cfg, init = init_from_config(args.init_from, cfg, args.overrides)
    # only rank 0 makes the folder; the others never write, so theirs is not checked
    run_dir = runlog.plan_run_dir(cfg, args.run_dir) if world.rank == 0 else Path(args.run_dir or ".")
    return Plan("init-from" if init else "new", cfg, run_dir, args.run_dir is not None, world,
                init_from=init)


def preflight(plan: Plan, corpus: Corpus, dist: Solo) -> None:
    """What the Trainer would refuse, refused before any folder or screen is touched: a model
    too big, a split too small for one batch, a checkpoint for other characters."""
    t = plan.cfg.train
    check_fits(len(corpus.vocab), plan.cfg.model, dist.device(t.device))
    dist.batchers(corpus, t.batch_size, t.seq_length, "cpu")
    if plan.resume_state is not None:
        same_vocab(plan.resume_state, corpus, "resume")
    if plan.init_from is not None:
        same_vocab(plan.init_from, corpus, "init-from")


# --- resume -----------------------------------------------------------------------------------
# Keys a resumed run cannot change, and why (the saved state depends on them).
FROZEN_ON_RESUME = {
    "train.optimizer": "the saved optimizer state belongs to {old}",
    "train.batch_size": "it sets where in the data the run goes on",
    "train.seq_length": "it sets where in the data the run goes on",
    "train.seed": "the saved random state goes on from where it was",
}


def resume_config(run_dir: Path, overrides: list[str]) -> tuple[Config, dict[str, Any] | None]:
    """(config in force, checkpoint state or None) for --resume RUN_DIR; UserError for an
    override the saved state cannot honour. A folder whose process died before its first
    checkpoint restarts from iteration 0 with its config.yaml (and says so)."""
    last = resume_checkpoint(run_dir)   # a broken last.pt beside saved work is refused there
    if last is None:
        if not (run_dir / "config.yaml").is_file():
            raise UserError(f"{str(run_dir)!r} holds no checkpoints/last.pt or config.yaml to "
                            "resume; give a run folder made by tuirnn run")
        cfg = config_mod.load(run_dir / "config.yaml", overrides)
        print(f"resuming {run_dir}: no checkpoint was saved yet, so it starts again from "
              "iteration 0 with its config.yaml", flush=True)
        return cfg, None
    state = load_checkpoint(last, resumable=True)
    saved = config_mod.from_dict(state["config"])
    cfg = config_mod.apply_overrides(config_mod.from_dict(state["config"]), overrides)
    if cfg.model != saved.model:
        raise UserError("a resumed run keeps its model: model.* cannot change with --resume; "
                        "start a new run to try another size or cell")
    old, new = _flat(saved.to_dict()), _flat(cfg.to_dict())
    for key in sorted(new):
        if old.get(key) == new[key]:
            continue
        why = FROZEN_ON_RESUME.get(key)
        if why is None and key.startswith("data.") and key not in ("data.path", "data.url", "data.sha256"):
            why = "it changes the text the run trains and validates on"
        if why is not None:
            raise UserError(f"{key} cannot change with --resume ({why.format(old=old.get(key))}); "
                            "start a new run to change it")
    return cfg, state


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


# --- init-from --------------------------------------------------------------------------------
def init_from_config(checkpoint: str, cfg: Config, overrides: list[str]
                     ) -> tuple[Config, dict[str, Any]]:
    """(cfg with the checkpoint's model section, the checkpoint); a run folder means its
    best.pt, as for sample and eval."""
    if any(config_mod.parse_override(o)[0].startswith("model.") for o in overrides):
        raise UserError("with --init-from the model comes from the checkpoint: leave out "
                        "--set model.*, or start without --init-from")
    ck = load_checkpoint(checkpoint)
    model = config_mod.from_dict(ck["config"]).model
    if model != cfg.model:
        m = model
        print(f"--init-from: the model is the checkpoint's ({m.cell} {m.num_layers}x{m.hidden_size}), "
              "not the config's", flush=True)
    return dataclasses.replace(cfg, model=model), ck


def announce(ck: dict[str, Any]) -> str:
    val = f", val {ck['val_loss']:.4f}" if ck.get("val_loss") is not None else ""
    return f"starting from the weights of {ck['path']} (iter {ck['iteration']}{val})"
