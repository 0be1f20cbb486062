"""Pure drawing for "where memory wins": each character coloured by the model's loss on it
minus an n-gram's (core/ngram.py), in bits.

Blue where the model does better than any count of the last N-1 characters can (inside
quotes, at a bracket closed far from its opening: Karpathy et al. 2015, section 4.3), red
where the n-gram does better, white where they agree. The colours are the neuron view's
diverging scale, so neuron_render's render_line and render_html draw it as they draw the
surprisal view (surprisal_render); `as_values` turns bits into the scale's steps.
"""
from __future__ import annotations

import math

import numpy as np
from rich.text import Text

from ..core.finder import inside_double_quotes
from . import neuron_render as R

EDGES = (0.25, 0.5, 1.0, 2.0, 4.0)     # |bits|: bucket i is [EDGES[i-1], EDGES[i]); 6 buckets
LABELS = ("-4", "-2", "-1", "-½", "-¼", "0", "+¼", "+½", "+1", "+2", "+4")


def difference_bits(model_nats: np.ndarray, ngram_logp: np.ndarray) -> np.ndarray:
    """(T,) model loss (nats, NaN for the first char) and (T,) n-gram ln p -> (T,) model loss
    minus n-gram loss in bits; negative where the model is better, NaN where the model has none."""
    ngram_nats = -np.asarray(ngram_logp, dtype=np.float64)
    return ((np.asarray(model_nats, dtype=np.float64) - ngram_nats) / math.log(2)).astype(np.float32)


def as_values(diff_bits: np.ndarray) -> np.ndarray:
    """(T,) bits -> (T,) values in [-1, 1]: the sign of the difference, its size in EDGES'
    buckets as scale steps (0 bits: the white middle); NaN stays NaN (uncoloured)."""
    d = np.asarray(diff_bits, dtype=np.float32)
    steps = np.searchsorted(np.asarray(EDGES, np.float32), np.abs(np.nan_to_num(d)), side="right")
    out = np.sign(d) * steps / 5.0
    return np.where(np.isnan(d), np.nan, out).astype(np.float32)


def mean_line(model_nats: np.ndarray, ngram_logp: np.ndarray, order: int) -> str:
    """'model 1.92 bits/char · 7-gram 2.10 · model − 7-gram −0.18 bits/char over 1,999 chars'
    over the characters both predict (the first has no model loss)."""
    diff = difference_bits(model_nats, ngram_logp)
    ok = ~np.isnan(diff)
    if not ok.any():
        return "no per-character loss (an older trainer, or under 2 characters)"
    m = float(np.mean(np.asarray(model_nats, np.float64)[ok])) / math.log(2)
    g = float(np.mean(-np.asarray(ngram_logp, np.float64)[ok])) / math.log(2)
    return (f"model {m:.3f} bits/char · {order}-gram {g:.3f} · model − {order}-gram "
            f"{m - g:+.3f} bits/char over {int(ok.sum()):,} chars")


def where_it_wins(text: str, diff_bits: np.ndarray) -> list[tuple[str, float, int]]:
    """[(where, mean model − n-gram bits, chars)] for the places the paper names: inside
    double quotes, at a closing quote or bracket, and the rest (groups with no char left out)."""
    d = np.asarray(diff_bits, dtype=np.float64)
    inside = inside_double_quotes(text) > 0
    closing = np.array([ch in ")]}\u201d" for ch in text], dtype=bool)
    closing[1:] |= (np.array([ch == '"' for ch in text[1:]], dtype=bool) & inside[:-1])
    groups = [("inside quotes", inside & ~closing), ("closing quote or bracket", closing),
              ("elsewhere", ~inside & ~closing)]
    out = []
    for name, mask in groups:
        ok = mask & ~np.isnan(d)
        if ok.any():
            out.append((name, float(d[ok].mean()), int(ok.sum())))
    return out


def where_line(text: str, diff_bits: np.ndarray) -> str:
    """'inside quotes -0.41 (312) · closing quote or bracket -1.20 (25) · elsewhere +0.05'."""
    return " · ".join(f"{name} {mean:+.2f} ({n:,})" for name, mean, n in
                      where_it_wins(text, diff_bits))


def legend(no_color: bool = False) -> Text:
    """'model − n-gram, bits: -4 … +4', each label on its step's colour (blue: model better)."""
    out = Text("model − n-gram, bits ", end="")
    for i, label in enumerate(LABELS):
        out.append(f"{label} ", R.activation_style(i / 5.0 - 1.0, no_color))
    return out


def cursor_text(text: str, diff_bits: np.ndarray, t: int, no_color: bool = False) -> Text:
    """'char 12 " −1.41 bits (model better)' for the character under the cursor."""
    d = float(diff_bits[t])
    style = R.activation_style(float(as_values(np.array([d], np.float32))[0]), no_color)
    shown = "first char: not predicted" if d != d else \
        f"{d:+.2f} bits ({'model' if d < 0 else 'n-gram'} better)"
    return Text.assemble(("char ", "dim"), f"{t} ", (R.glyph(text[t]), "bold"), " ",
                         (shown, style), end="")


def render_html(text: str, diff_bits: np.ndarray, title: str, meta: str,
                predictions: tuple | None = None) -> str:
    """The page: text coloured by model − n-gram bits; hover shows the difference."""
    tips = [("first character: not predicted" if d != d else f"model − n-gram {d:+.2f} bits")
            for d in diff_bits.tolist()]
    swatches = "".join(f'<span style="background:{R.SCALE[i]};width:auto;padding:0 .3em">'
                       f"{label}</span>" for i, label in enumerate(LABELS))
    return R.render_html(text, as_values(diff_bits), title, meta, predictions=predictions,
                         tips=tips, legend=("model better", swatches, "n-gram better"),
                         hover="hover a character for the model's loss minus the n-gram's")
