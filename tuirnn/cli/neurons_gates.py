"""`tuirnn neurons CK --gates`: gate saturation as in Karpathy, Johnson & Fei-Fei (2015), Fig. 3.

Per layer and gate (LSTM: input, forget, output; GRU: reset, update), the share of characters
at which the gate is left-saturated (< 0.1) or right-saturated (> 0.9), and the units whose
forget gate is most often open (LSTM: the integrators); with --html, the paper's scatter plots
(one dot a unit: x = share left-saturated, y = share right-saturated).
"""
from __future__ import annotations

from pathlib import Path

from ..core.errors import UserError
from .pages import write_page

WHOLE = 1 << 40            # --length 0: no limit short of the file (read_regular_file stops there)


def whole_val_text(ckpt: dict) -> tuple[str, str]:
    """(the whole validation split of the checkpoint's corpus, where it is), when the corpus is
    on this machine (never downloaded here)."""
    from ..core import config as config_mod
    from ..core.corpus import locate_corpus
    from ..core.data import decode_corpus, split_sizes
    data = config_mod.from_dict(ckpt.get("config", {})).data
    if not (data.path is None and data.url is None) and not (data.path and Path(data.path).is_file()):
        raise UserError(f"--length 0 reads the whole validation split of {data.path or data.url}, "
                        "which is not on this machine; give --text FILE or a --length")
    name, raw = locate_corpus(data)
    text = decode_corpus(raw, name, data.normalize_newlines)
    n_train, n_val, _ = split_sizes(len(text), data.val_frac, data.test_frac)
    if n_val < 2:
        raise UserError(f"{name} has no validation split to read (val_frac too small); "
                        "give --text FILE")
    return text[n_train:n_train + n_val], f"{name}, the whole validation split"


def gates_text(args, model, vocab: str, ckpt: dict, device, default_text,
               read_text_file) -> tuple[str, str]:
    """The text --gates reads: --text FILE (all of it with --length 0), the whole validation
    split with --length 0, else the window `neurons` probes (default_text)."""
    if args.text:
        return read_text_file(args.text, args.length or WHOLE), args.text
    if args.length == 0:
        return whole_val_text(ckpt)
    return default_text(model, vocab, ckpt, args.length, device)


def show_gates(args, model, vocab: str, ckpt: dict, device, out, err, cli) -> int:
    """cli: the neurons module (its text choice; not imported here, which
    would make a cycle)."""
    from ..core.gates import GATES, gate_stats
    from ..core.probe import encode, split_known
    if model.cell not in GATES:
        raise UserError(f"--gates needs an LSTM or GRU; this model is a {model.cell.upper()}, "
                        "whose layers have no gates")
    text, origin = gates_text(args, model, vocab, ckpt, device, cli.default_text,
                              cli.read_text_file)
    kept, dropped = split_known(text, vocab)
    if dropped:
        err.print(f"note: left out characters the model never saw: "
                  f"{' '.join(repr(c) for c in dropped)}", markup=False)
    if len(kept) < 2:
        raise UserError(f"{origin} has fewer than 2 characters the model knows; give more text")
    stats = gate_stats(model, encode(kept, vocab, device))
    iteration = ckpt.get("iteration", "?")
    meta = (f"{Path(ckpt.get('path', args.checkpoint)).name}, iteration {iteration}, "
            f"{model.cell.upper()} {model.num_layers}x{model.hidden_size}; text: {origin}, "
            f"{stats.chars:,} chars")
    if args.html:
        from ..tui.gate_render import render_html
        write_page(args.html, render_html(stats, "Gate saturation", meta))
        err.print(f"wrote {args.html}: gate saturation, {model.num_layers} layers x "
                  f"{len(stats.names)} gates", markup=False)
        return 0
    out.print(shares_table(stats, meta))
    if "forget" in stats.names:
        top = args.top or 5
        out.print(f"units most often right-saturated in the forget gate (share of characters "
                  f"> 0.9; the paper's integrators), top {top} a layer:", markup=False)
        for layer in range(stats.num_layers):
            units = ", ".join(f"{u} {share:.1%}" for u, share in stats.most_right(layer, "forget", top))
            out.print(f"  layer {layer}: {units}", markup=False)
    return 0


def shares_table(stats, meta: str):
    """One row a layer and gate: the share of (character, unit) pairs saturated each way."""
    from rich.table import Table
    table = Table(title="Gate saturation (share of characters, all units)", caption=meta)
    for column in ("layer", "gate", "left < 0.1", "right > 0.9", "neither"):
        table.add_column(column, justify="left" if column == "gate" else "right")
    for layer in range(stats.num_layers):
        for i, name in enumerate(stats.names):
            left, right = stats.shares(layer, name)
            table.add_row(str(layer) if i == 0 else "", name, f"{left:.1%}", f"{right:.1%}",
                          f"{max(0.0, 1 - left - right):.1%}")
        table.add_section()
    return table
