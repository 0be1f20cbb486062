"""`tuirnn neurons CK --vs-ngram N`: where memory wins, the model's loss on each character
minus a Kneser–Ney N-gram's (core/ngram.py) fitted on the checkpoint's training split.

Its own module, apart from baseline.py: neurons imports it, and it must not reach cli.run
(run -> launch -> attach -> neurons), so the corpus is read with core functions here.
"""
from __future__ import annotations

from ..core.errors import UserError
from .pages import write_page


def fitted_for(cfg, vocab: str, order: int):
    """ngram.fit_training_split with a status line while it counts."""
    from ..core import ngram
    from .status import clear_status, show_status
    show_status(f"tuirnn: counting n-grams of orders 1..{order} ...")
    model = ngram.fit_training_split(cfg.data, vocab, order)
    clear_status()
    return model


def show_vs_ngram(args, result, meta: str, out, err, cfg) -> int:
    """`tuirnn neurons CK --vs-ngram N`: the probed text coloured by the model's loss minus the
    N-gram's, in bits (blue: the model better), with both means; or that as a page (--html)."""
    import numpy as np

    from ..core import ngram
    from ..tui import vs_ngram_render as M
    from ..tui.neuron_render import render_text
    order = args.vs_ngram
    if not 1 <= order <= ngram.MAX_ORDER:
        raise UserError(f"--vs-ngram {order} is outside 1..{ngram.MAX_ORDER}; try --vs-ngram 7")
    if result.loss is None:
        raise UserError("this probe has no per-character loss; probe with a newer tuirnn")
    model = fitted_for(cfg, result.vocab, order)
    lookup = {ch: i for i, ch in enumerate(result.vocab)}
    ids = np.array([lookup[ch] for ch in result.text], dtype=np.int64)
    logp = model.logprobs(ids, order)
    diff = M.difference_bits(result.loss, logp)
    title = f"model − {order}-gram: loss per character"
    mean = M.mean_line(result.loss, logp, order)
    where = "model − n-gram bits/char by place: " + M.where_line(result.text, diff)
    if args.html:
        write_page(args.html, M.render_html(result.text, diff, title, f"{meta}; {mean}; {where}",
                                            (result.top_ids, result.top_probs, result.vocab)))
        err.print(f"wrote {args.html}: {title}; {mean}", markup=False)
        return 0
    out.print(f"{title}   {meta}", markup=False, style="bold")
    out.print(mean, markup=False)
    out.print(where, markup=False)
    out.print(M.legend())
    predictions = (result.top_ids, result.top_probs, result.vocab) if args.guesses else None
    for line in render_text(result.text, M.as_values(diff), out.width, predictions=predictions):
        out.print(line, soft_wrap=True)
    return 0
