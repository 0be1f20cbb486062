"""`tuirnn neurons CHECKPOINT`: the neuron view without the monitor.

Ranks units by how well they track a pattern (a rich table), prints a text coloured by one
unit, or writes a self-contained HTML page of it to share.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.errors import UserError
from .pages import write_page
from .threads import add_threads_option, use_threads

DESCRIPTION = """\
Probe a trained model: which hidden units track quotes, brackets, line position...?

With no --unit or --html, prints the finder's ranking (the built-in patterns, or --pattern).
--unit LAYER:UNIT prints the text coloured by that unit (blue negative, red positive);
--html OUT writes the same as a page (--unit, or else the unit that tracks --pattern, or
any built-in pattern, best).
--surprisal colours each character by the model's loss on it, in bits, and prints the mean
bits/char (with --html, as a page): where the model is surprised.
--gates prints, per layer and gate (LSTM: input, forget, output; GRU: reset, update), the
share of characters at which the gate is left-saturated (< 0.1) or right-saturated (> 0.9),
and the units most often right-saturated in the forget gate; with --html, one scatter per
gate and layer (a dot a unit). --length 0 reads the whole validation split (or --text file).

The text is --text FILE (characters the model never saw are left out, and listed), or else
a window of the validation split of the training corpus named in the checkpoint's config
(when that file exists here) chosen to hold quotes, brackets and line breaks, as the monitor
does; the caption says which. Else a sample the model writes itself (seed 0).
Layers and units are counted from 0.
"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("neurons", help="find interpretable units; colour text by one",
                              description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="a .pt file, or a run folder (uses its best.pt)")
    p.add_argument("--text", metavar="FILE", help="UTF-8 text to probe (default: see above)")
    p.add_argument("--find", action="store_true",
                   help="rank units for every built-in pattern (inside quotes, parentheses, "
                        "brackets, position in line, start of word, after newline)")
    p.add_argument("--pattern", metavar="REGEX",
                   help="rank units by a regex: characters inside a match count as 1")
    p.add_argument("--unit", metavar="LAYER:UNIT", help="colour the text by this unit, e.g. 2:37")
    p.add_argument("--kind", choices=("c", "h"), default=None,
                   help="LSTM: c = tanh(cell state) (default), h = hidden output")
    p.add_argument("--html", metavar="OUT", help="write a self-contained HTML page")
    p.add_argument("--surprisal", action="store_true",
                   help="colour each character by the model's loss on it (bits), mean shown")
    p.add_argument("--vs-ngram", type=int, default=None, metavar="N",
                   help="colour each character by the model's loss minus the N-gram's, in bits "
                        "(blue: the model better), with both means")
    p.add_argument("--gates", action="store_true",
                   help="gate saturation per layer and gate (with --html: the scatter plots)")
    p.add_argument("--guesses", action="store_true",
                   help="with --unit: a row of the model's next-character guesses under each line")
    p.add_argument("--top", type=int, default=None,
                   help="units listed per pattern (10 for one pattern, 3 for all built-ins)")
    p.add_argument("--length", "-n", type=int, default=None,
                   help="characters to probe (default 4000 on a GPU, 2000 on a CPU; with "
                        "--gates, 0 = the whole validation split)")
    p.add_argument("--device", default="cpu", help="cpu (default) | auto | cuda | cuda:N | mps")
    add_threads_option(p, 1, "one text at batch size 1 is too small a job to share, and spare "
                          "threads spin against other work on the cores")
    return p


def parse_unit(spec: str, num_layers: int, hidden_size: int) -> tuple[int, int]:
    layer, sep, unit = spec.partition(":")
    try:
        if not sep:
            raise ValueError
        layer_n, unit_n = int(layer), int(unit)
    except ValueError:
        raise UserError(f"--unit {spec!r} is not LAYER:UNIT; write e.g. --unit 0:37") from None
    if not (0 <= layer_n < num_layers and 0 <= unit_n < hidden_size):
        raise UserError(f"--unit {spec} is out of range: the model has layers 0-{num_layers - 1}"
                        f" of units 0-{hidden_size - 1}")
    return layer_n, unit_n


def read_text_file(path: str, length: int) -> str:
    """The first `length` characters of a UTF-8 file (BOM stripped, newlines made LF).

    Reads at most the bytes `length` characters can take (UTF-8: 4 a character at most, CRLF
    2, a BOM 3), and never from a device or pipe: /dev/zero or a FIFO is refused, not read
    forever.
    """
    import codecs

    from ..core.corpus import read_regular_file
    limit = 4 * length + 3
    raw = read_regular_file(path, "--text", limit=limit)
    try:  # final=False at the limit: a character cut there is dropped, not an error
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(raw, final=len(raw) < limit)
    except UnicodeDecodeError:
        raise UserError(f"--text {path} is not UTF-8 text; convert it or give another file") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")[:length]


def default_text(model, vocab: str, ckpt: dict, length: int, device) -> tuple[str, str]:
    """(text, where it came from): the window of the validation split that holds quotes,
    brackets and line breaks (the trainer's own choice), else a seeded sample."""
    from ..core import config as config_mod
    from ..core.corpus import locate_corpus
    from ..core.data import decode_corpus, split_sizes
    from ..core.probe_window import default_probe_text
    data = config_mod.from_dict(ckpt.get("config", {})).data
    offline = data.path is None and data.url is None
    if offline or (data.path and Path(data.path).is_file()):  # never downloads here
        name, raw = locate_corpus(data)
        text = decode_corpus(raw, name, data.normalize_newlines)
        n_train, n_val, _ = split_sizes(len(text), data.val_frac, data.test_frac)
        if n_val >= min(length, 200):
            window, where = default_probe_text(text[n_train:n_train + n_val], None, length)
            return window, f"{name}, {where}"
        return text[:length], f"{name} (its start: the validation split is too small)"
    from ..core.sample import generate
    text = "".join(generate(model, vocab, length, temperature=0.8, seed=0, device=device))
    return text, "a sample from the model (seed 0)"


def main(args) -> int:
    from rich.console import Console

    from ..core import finder
    from ..core.checkpoint import model_from_checkpoint
    from ..core.device import pick_device
    from ..core.probe import KIND_LABELS, probe_text

    if args.length is not None and args.length < (0 if args.gates else 1):
        raise UserError("--length must be at least 1" + ("" if args.gates else
                        " (0, the whole validation split, goes with --gates)"))
    if args.gates and (args.unit or args.find or args.pattern is not None or args.surprisal):
        raise UserError("--gates shows every gate of every layer, not a unit or pattern: "
                        "drop --unit/--find/--pattern/--surprisal, or run them without --gates")
    if args.vs_ngram is not None and (args.unit or args.find or args.pattern is not None
                                      or args.surprisal or args.gates):
        raise UserError("--vs-ngram colours the text by the model's loss minus an n-gram's, "
                        "not by a unit: drop --unit/--find/--pattern/--surprisal/--gates")
    if args.surprisal and (args.unit or args.find or args.pattern is not None):
        raise UserError("--surprisal colours the text by the model's loss, not by a unit: "
                        "drop --unit/--find/--pattern, or run them without --surprisal")
    if args.top is not None and args.top < 1:
        raise UserError("--top must be at least 1")
    if args.pattern is not None:
        finder.regex_signal("", args.pattern)            # a bad regex fails before loading
    use_threads(args.threads)
    device = pick_device(args.device, "--device")
    if args.html:
        out_dir = Path(args.html).resolve().parent
        if not out_dir.is_dir():
            raise UserError(f"--html {args.html}: the folder {str(out_dir)!r} does not exist; "
                            "create it or write the page elsewhere")
    model, vocab, ckpt = model_from_checkpoint(args.checkpoint, device)
    if args.length is None:
        from ..core.probe_window import default_length
        args.length = default_length(device)
    if args.gates:
        from .neurons_gates import show_gates
        return show_gates(args, model, vocab, ckpt, device, Console(highlight=False),
                          Console(stderr=True, highlight=False), sys.modules[__name__])
    unit = parse_unit(args.unit, model.num_layers, model.hidden_size) if args.unit else None
    err = Console(stderr=True, highlight=False)
    if args.text:
        text, origin = read_text_file(args.text, args.length), args.text
    else:
        text, origin = default_text(model, vocab, ckpt, args.length, device)
    result = probe_text(model, text, vocab)
    if result.dropped:
        err.print(f"note: left out characters the model never saw: "
                  f"{' '.join(repr(c) for c in result.dropped)}", markup=False)
    if len(result.text) < 2:
        raise UserError(f"{origin} has fewer than 2 characters the model knows; give more text")
    kind = args.kind or ("c" if result.c is not None else "h")
    if kind == "c" and result.c is None:
        raise UserError(f"--kind c needs an LSTM; this model is a {model.cell.upper()}: use --kind h")
    out = Console(highlight=False)
    iteration = ckpt.get("iteration", "?")
    meta = (f"{Path(ckpt.get('path', args.checkpoint)).name}, iteration {iteration}, "
            f"{model.cell.upper()} {model.num_layers}x{model.hidden_size}; text: {origin}, "
            f"{len(result.text)} chars")
    if args.surprisal:
        return show_surprisal(args, result, meta, out, err)
    if args.vs_ngram is not None:
        from ..core import config as config_mod
        from .vs_ngram import show_vs_ngram
        return show_vs_ngram(args, result, meta, out, err,
                             config_mod.from_dict(ckpt.get("config", {})))
    if args.find or (unit is None and not args.html):
        patterns = [args.pattern] if args.pattern is not None else list(finder.HYPOTHESES)
        if args.find and args.pattern is not None:
            patterns = list(finder.HYPOTHESES) + [args.pattern]
        top = args.top or (10 if len(patterns) == 1 else 3)
        out.print(ranking_table(result, patterns, top, origin, iteration))
    if unit is None and args.html:
        patterns = [args.pattern] if args.pattern is not None else list(finder.HYPOTHESES)
        ranked = [(s, p) for p in patterns for s in finder.find_units(result, p, top=1)]
        if not ranked:
            raise UserError(f"{finder.pattern_label(patterns[0])} never changes in this text, "
                            "so no unit can be ranked; give --unit LAYER:UNIT")
        best, pattern = max(ranked, key=lambda sp: abs(sp[0].corr))
        unit, kind = (best.layer, best.unit), best.kind
        err.print(f"best unit for {finder.pattern_label(pattern)}: {best.layer}:{best.unit} "
                  f"{KIND_LABELS[kind]}, r = {best.corr:+.3f}", markup=False)
    if unit is None:
        return 0
    layer, u = unit
    values = result.unit(kind, layer, u)
    title = f"layer {layer} unit {u} {KIND_LABELS[kind]}"
    if args.html:
        from ..tui.neuron_render import render_html
        page = render_html(result.text, values, title, meta,
                           predictions=(result.top_ids, result.top_probs, vocab))
        write_page(args.html, page)
        err.print(f"wrote {args.html}: {title}", markup=False)
        return 0
    from ..tui.neuron_render import render_scale_legend, render_text
    out.print(f"{title}   {meta}", markup=False, style="bold")
    out.print(render_scale_legend())
    predictions = (result.top_ids, result.top_probs, vocab) if args.guesses else None
    for line in render_text(result.text, values, out.width, predictions=predictions):
        out.print(line, soft_wrap=True)
    return 0


def show_surprisal(args, result, meta: str, out, err) -> int:
    """The text coloured by the model's loss on each character (bits), or that as a page."""
    from ..tui import surprisal_render as S
    from ..tui.neuron_render import render_text
    title = "surprisal: the model's loss on each character"
    if args.html:
        write_page(args.html, S.render_html(result, title, meta))
        err.print(f"wrote {args.html}: {title}; mean {S.mean_line(result)}", markup=False)
        return 0
    out.print(f"{title}   {meta}", markup=False, style="bold")
    out.print(f"mean {S.mean_line(result)}", markup=False)
    out.print(S.legend())
    predictions = (result.top_ids, result.top_probs, result.vocab) if args.guesses else None
    for line in render_text(result.text, S.as_values(result.surprisal_bits()), out.width,
                            predictions=predictions):
        out.print(line, soft_wrap=True)
    return 0


def ranking_table(result, patterns: list[str], top: int, origin: str, iteration):
    from rich.table import Table

    from ..core import finder
    from ..core.probe import KIND_LABELS

    table = Table(title=f"Units that track each pattern (|Pearson r|), iteration {iteration}",
                  caption=f"text: {origin}, {len(result.text)} chars; "
                          "show one with --unit LAYER:UNIT")
    for column in ("pattern", "rank", "layer:unit", "kind", "r"):
        table.add_column(column, justify="right" if column in ("rank", "r") else "left")
    for pattern in patterns:
        scores = finder.find_units(result, pattern, top=top)
        label = finder.pattern_label(pattern)
        if not scores:
            table.add_row(label, "-", "-", "-", "never matches (or always matches) this text")
        for rank, s in enumerate(scores, 1):
            table.add_row(label if rank == 1 else "", str(rank), f"{s.layer}:{s.unit}",
                          KIND_LABELS[s.kind], f"{s.corr:+.3f}")
        table.add_section()
    return table

