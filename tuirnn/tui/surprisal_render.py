"""Pure drawing for the surprisal view: each character coloured by the model's loss on it.

The loss on a character is -log2 p(char | the text before it), in bits (Karpathy et al. 2015's
error analysis): white where the model saw it coming, deep red where it was surprised. The
colours are the red half of the neuron view's scale, so render_line and render_html draw both:
`as_values` turns bits into the [0, 1] values whose scale steps are these buckets.
"""
from __future__ import annotations

import html
import math

import numpy as np
from rich.text import Text

from . import neuron_render as R

EDGES = (0.5, 1.0, 2.0, 4.0, 8.0)      # bits: bucket i is [EDGES[i-1], EDGES[i]); 6 buckets
LABELS = ("<½", "½-1", "1-2", "2-4", "4-8", "8+")
FIRST_STEP = 5                         # the scale's near-white middle: bucket 0


def bucket(bits: float) -> int:
    """0..5: which of the LABELS a loss in bits falls in (NaN: 0, no colour)."""
    if bits != bits:
        return 0
    return int(np.searchsorted(EDGES, bits, side="right"))


def as_values(bits: np.ndarray) -> np.ndarray:
    """(T,) bits -> (T,) values in [0, 1] for neuron_render (scale step 5 + bucket); NaN (the
    first character, never predicted) stays NaN, drawn uncoloured."""
    steps = np.searchsorted(np.asarray(EDGES, np.float32), bits, side="right")
    out = (FIRST_STEP + steps) / 5.0 - 1.0
    return np.where(np.isnan(bits), np.nan, out).astype(np.float32)


def mean_line(result, split_loss: float | None = None, width: int | None = None) -> str:
    """'1.92 bits/char (1.331 nats) over 1,999 chars of this text · whole val split 1.471 nats
    (2.12 bits)' for a ProbeResult, or why there is none. The window's figure is not the val
    loss the header shows (a few thousand characters against the whole split): both are named.
    split_loss: the newest val loss in nats (the whole split), when there is one.
    width: the longest of the shorter wordings that fits it (the Neurons tab at 80 columns)."""
    mean = result.mean_loss()
    if mean is None:
        return "no per-character loss (an older trainer, or under 2 characters)"
    bits, n = mean / math.log(2), f"{len(result.text) - 1:,}"
    choices = [f"{bits:.2f} bits/char ({mean:.3f} nats) over {n} chars of this text"]
    if split_loss is not None and math.isfinite(split_loss):
        split_bits = split_loss / math.log(2)
        choices = [f"{choices[0]} · whole val split {split_loss:.3f} nats ({split_bits:.2f} bits)",
                   f"{mean:.3f} nats/char ({bits:.2f} bits) on these {n} chars · "
                   f"whole val split {split_loss:.3f}",
                   f"{mean:.3f} nats on these {n} chars · val split {split_loss:.3f}"]
    if width is None:
        return choices[0]
    return next((c for c in choices if len(c) <= width), choices[-1])


def legend(no_color: bool = False) -> Text:
    """'bits <½ ½-1 1-2 2-4 4-8 8+', each label on its bucket's colour."""
    out = Text("bits ", end="")
    for i, label in enumerate(LABELS):
        out.append(f"{label} ", R.activation_style(i / 5.0, no_color))
    return out


def cursor_text(result, t: int, no_color: bool = False) -> Text:
    """'char 12 e 3.41 bits (p 9%)': the loss on the character under the cursor."""
    bits = float(result.surprisal_bits()[t])
    style = R.activation_style(float(as_values(np.array([bits], np.float32))[0]), no_color)
    shown = "first char: not predicted" if bits != bits else \
        f"{bits:.2f} bits (p {100 * 2 ** -bits:.0f}%)"
    return Text.assemble(("char ", "dim"), f"{t} ", (R.glyph(result.text[t]), "bold"), " ",
                         (shown, style), end="")


def render_html(result, title: str, meta: str) -> str:
    """The surprisal page: text coloured by bits; hover shows the bits and the top guesses."""
    bits = result.surprisal_bits()
    tips = [("first character: not predicted" if b != b else f"{b:.2f} bits")
            for b in bits.tolist()]
    swatches = "".join(f'<span style="background:{R.SCALE[FIRST_STEP + i]};width:auto;'
                       f'padding:0 .3em">{html.escape(label)}</span>'
                       for i, label in enumerate(LABELS))
    return R.render_html(result.text, as_values(bits), title, f"{meta}; mean {mean_line(result)}",
                         predictions=(result.top_ids, result.top_probs, result.vocab),
                         tips=tips, legend=("bits", swatches, ""),
                         hover="hover a character for the model's loss on it and its top "
                               "guesses for the next one")
