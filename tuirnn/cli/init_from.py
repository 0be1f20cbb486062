"""`tuirnn run CONFIG --init-from CHECKPOINT`: a new run that starts from another run's weights
(char-rnn's -init_from), e.g. to go on with more ranks than a run was saved with, or to train
further on new text with the same characters. The model's shape comes from the checkpoint;
the optimizer, iteration count and data position start afresh.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from ..core.errors import UserError


def plan(checkpoint: str, cfg, overrides: list[str]) -> tuple[Any, dict[str, Any]]:
    """(cfg with the checkpoint's model section, the checkpoint); a run folder means its
    best.pt, as for sample and eval."""
    from ..core import config as config_mod
    from ..core.checkpoint import load_checkpoint
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
