"""The banner under the header once the run has ended (finished, failed, trainer gone,
diverged) or paused for a divergence (pure). Lines are drawn for the width there is: at 80
columns they fit, the least needed parts dropped first, and a long checkpoint path keeps its
end (the file name)."""
from __future__ import annotations

import os

from rich.text import Text

from ..render import cell_width, fmt_loss


def short_path(path: str) -> str:
    """`path` relative to the working folder when it lies under it (runs/… rather than /home/…)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:        # another drive (Windows)
        return path
    return path if rel.startswith("..") else rel


def fit_path(path: str, cells: int) -> str:
    """`path` in at most `cells` columns, its start cut to '…': '…/checkpoints/best.pt'."""
    if cell_width(path) <= cells:
        return path
    return "…" + path[-max(1, cells - 1):]


def first_fit(choices: list[str], width: int) -> str:
    """The first of `choices` that fits `width` columns, else the last one."""
    return next((c for c in choices if cell_width(c) <= width), choices[-1])


def gone_lines(st, width: int) -> list[Text]:
    """The trainer is gone: where it stopped, its last checkpoint (path end kept), the keys."""
    g = st.gone
    head = f"✖ trainer gone at iter {g.iteration}; last checkpoint "
    loaded = st.loaded_checkpoint or g.last_checkpoint
    if st.loaded_checkpoint:
        head = f"✖ trainer gone at iter {g.iteration}; s and Neurons use "
    ckpt = short_path(loaded) if loaded else "none"
    line1 = Text.assemble(("✖ trainer gone", "bold"), head[len("✖ trainer gone"):],
                          fit_path(ckpt, max(12, width - cell_width(head))))
    line2 = first_fit([f"{g.reason} · s and Neurons use the checkpoint · q quits",
                       f"{g.reason} · q quits", "q quits"], width)
    return [line1, Text(line2)]


def finished_lines(st, width: int) -> list[Text]:
    """The run finished: why, where, best val, its checkpoint; least needed parts dropped
    first so both lines fit `width`."""
    f = st.finished
    best = f" · best val {fmt_loss(f.best_val_loss)}" if f.best_val_loss is not None else ""
    tail = first_fit([f"{best} · q quits", " · q quits", ""],
                     width - cell_width(f"✔ finished ({f.reason}) at iter {f.iteration}"))
    line1 = Text.assemble(("✔ finished", "bold"), f" ({f.reason}) at iter {f.iteration}{tail}")
    # the one loaded for s and Neurons (last.pt: the final weights), else the best
    ckpt = st.loaded_checkpoint or st.best_checkpoint or (
        st.last_checkpoint.path if st.last_checkpoint else None)
    shown = short_path(ckpt) if ckpt else "–"
    note = " · s and Neurons use it" if st.loaded_checkpoint else " · s and Neurons still work"
    if cell_width(f"checkpoint: {shown}{note}") > width:
        note = ""
    path = fit_path(shown, max(12, width - len("checkpoint: ") - len(note)))
    return [line1, Text(f"checkpoint: {path}{note}")]


def banner_for(st, width: int) -> tuple[Text, str] | None:
    """(text, kind) of the banner under the header for RunState `st`, kind "failed" or
    "finished"; None when the run goes on normally (no banner)."""
    if st.failed is not None:
        where = st.run.run_dir if st.run else "the run folder"
        return Text.assemble(
            ("✖ training failed", "bold"), f" at iter {st.failed.iteration}: {st.failed.error}\n",
            f"The traceback is in {where}. Press q to quit."), "failed"
    if st.gone is not None:
        return Text("\n").join(gone_lines(st, width)), "failed"
    if st.finished is not None and st.finished.reason == "diverged":
        alert = st.alerts.get("diverged")
        return Text.assemble(
            ("✖ diverged", "bold"), f" at iter {st.finished.iteration}: "
            f"{alert.message if alert else 'the loss exploded'}\n",
            "stopped; last.pt saved, best.pt keeps the best sane model · lower "
            "train.learning_rate or set train.grad_clip · q quits"), "failed"
    if "diverged" in st.alerts and st.state in ("paused", "pausing", "starting"):
        alert = st.alerts["diverged"]
        return Text.assemble(
            ("✖ loss diverged, run paused", "bold"), f": {alert.message}\n",
            "space goes on anyway (no best.pt or snapshot of a diverged model) · "
            "q stops and saves last.pt"), "failed"
    if st.finished is not None:
        # two lines that fit the width (drawn again on resize), the footer has the keys
        return Text("\n").join(finished_lines(st, width)), "finished"
    return None
