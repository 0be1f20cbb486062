"""Pure drawing for the neuron view: text coloured by one unit, prediction strips, HTML export.

Nothing here knows about widgets; every function takes plain data and returns rich Text (or
an HTML string), so each is tested alone and shared by the monitor pane and `tuirnn neurons`.
"""
from __future__ import annotations

import html
import unicodedata

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text

# Diverging scale over [-1, 1] in 11 steps (blue negative, near-white zero, red positive).
# Every colour is exact in the xterm 256-colour cube or grey ramp, so a terminal without
# truecolour (SSH often drops COLORTERM) shows the same steps instead of merged neighbours.
SCALE = ("#005faf", "#0087d7", "#5fafff", "#87d7ff", "#d7ffff", "#eeeeee",
         "#ffd7d7", "#ffafaf", "#ff8787", "#d75f5f", "#af0000")
DARK_STEPS = {0, 1, 9, 10}          # light text on these, black on the rest
GLYPHS = {"\n": "\u21b5", "\t": "\u2192", "\r": "\u240d"}   # ↵ → ␍
PLACEHOLDER = "\u00b7"              # · for other control and zero-width characters


def scale_step(value: float) -> int:
    """[-1, 1] -> 0..10 (values outside are clipped; NaN counts as 0)."""
    if value != value:
        value = 0.0
    return int(round((max(-1.0, min(1.0, value)) + 1.0) * 5))


def activation_style(value: float, no_color: bool = False) -> Style:
    return _STYLES[no_color][scale_step(value)]


def _activation_style(step: int, no_color: bool) -> Style:
    """Background by activation; with NO_COLOR, attributes stand in for the colour:
    strong positive reverse+bold, weak positive bold, weak negative dim, strong negative
    underline."""
    if no_color:
        return {0: Style(underline=True), 1: Style(underline=True), 2: Style(dim=True),
                8: Style(bold=True), 9: Style(reverse=True, bold=True),
                10: Style(reverse=True, bold=True)}.get(step, Style())
    return Style(bgcolor=SCALE[step], color="#ffffff" if step in DARK_STEPS else "#000000")


_STYLES = {flag: [_activation_style(step, flag) for step in range(len(SCALE))]
           for flag in (False, True)}


def probability_style(p: float, no_color: bool = False) -> Style:
    """Sequential shading for a probability in [0, 1]: the red half of the scale."""
    return activation_style(float(p), no_color)


def glyph(ch: str) -> str:
    """What a character looks like on screen: newline and tab visible, one glyph per char."""
    if ch in GLYPHS:
        return GLYPHS[ch]
    if unicodedata.category(ch) in ("Cc", "Cf", "Mn", "Me", "Zl", "Zp") or cell_len(ch) == 0:
        return PLACEHOLDER
    return ch


def guess_glyph(ch: str) -> str:
    """A predicted character: like glyph, but a space shows as ␣ (a guess must be seen)."""
    return "\u2423" if ch == " " else glyph(ch)


def glyph_width(ch: str) -> int:
    """Terminal cells of the glyph: 2 for wide (CJK) characters, else 1."""
    return max(1, cell_len(glyph(ch)))


def wrap(text: str, width: int) -> list[tuple[int, int]]:
    """Hard-wrap to `width` cells: [start, end) char ranges, one per screen line.

    A newline ends its line (its ↵ glyph stays visible at the end); a wide character that
    does not fit in the last cell moves to the next line, so columns stay aligned.
    """
    width = max(2, width)
    lines, start, used = [], 0, 0
    for t, ch in enumerate(text):
        w = glyph_width(ch)
        if used + w > width:
            lines.append((start, t))
            start, used = t, 0
        used += w
        if ch == "\n":
            lines.append((start, t + 1))
            start, used = t + 1, 0
    if start < len(text) or not lines:
        lines.append((start, len(text)))
    return lines


def line_of(lines: list[tuple[int, int]], t: int) -> int:
    """Index of the screen line holding character t (the last line for t past the end)."""
    lo, hi = 0, len(lines) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if lines[mid][0] <= t:
            lo = mid
        else:
            hi = mid - 1
    return lo


def cell_offset(text: str, start: int, t: int) -> int:
    """Screen column of character t on the line starting at `start`."""
    return sum(glyph_width(ch) for ch in text[start:t])


def char_at_cell(text: str, start: int, end: int, column: int) -> int:
    """The character of line [start, end) covering `column` (the last one if it is short)."""
    used = 0
    for t in range(start, end):
        used += glyph_width(text[t])
        if used > column:
            return t
    return max(start, end - 1)


def describe(chars: str) -> str:
    """Characters listed for a message: 'é' '\\t'."""
    return " ".join(repr(ch) for ch in chars)


def render_line(text: str, start: int, end: int, values, cursor: int | None = None,
                no_color: bool = False) -> Text:
    """text[start:end] with each glyph's background coloured by values[t] (any indexable).

    Neighbours on the same colour step share one span: a redraw stays a few ms per screen."""
    out = Text(no_wrap=True, overflow="crop", end="")
    styles = _STYLES[no_color]
    run: list[str] = []
    run_step: int | None = None                  # None: no run open (start, or after the cursor)
    for t in range(start, end):
        step = scale_step(float(values[t]))
        if t == cursor or step != run_step:
            if run and run_step is not None:
                out.append("".join(run), styles[run_step])
            run, run_step = [], step
        if t == cursor:
            style = styles[step]
            out.append(glyph(text[t]), style + Style(reverse=not style.reverse, bold=True,
                                                     underline=True))
            run_step = None
            continue
        run.append(glyph(text[t]))
    if run and run_step is not None:
        out.append("".join(run), styles[run_step])
    return out


def fit(g: str, cells: int) -> str:
    """Glyph padded (or replaced by …) to exactly `cells` cells."""
    w = cell_len(g)
    if w > cells:
        return "\u2026" + " " * (cells - 1)
    return g + " " * (cells - w)


def render_prediction_row(text: str, start: int, end: int, top_ids, top_probs, vocab: str,
                          no_color: bool = False) -> Text:
    """Under each character, the model's best guess for the *next* one, shaded by its
    probability; same cell widths as render_line so the two rows stay aligned."""
    out = Text(no_wrap=True, overflow="crop", end="")
    styles = _STYLES[no_color]
    run: list[str] = []
    run_step: int | None = None
    for t in range(start, end):
        step = scale_step(float(top_probs[t][0]))
        if step != run_step and run and run_step is not None:
            out.append("".join(run), styles[run_step])
            run = []
        run_step = step
        run.append(fit(guess_glyph(vocab[int(top_ids[t][0])]), glyph_width(text[t])))
    if run and run_step is not None:
        out.append("".join(run), styles[run_step])
    return out


def render_prediction_strip(ids, probs, vocab: str, no_color: bool = False) -> Text:
    """The top-k next-character guesses for one position: ` e 41%  a 22%  ↵ 10% `."""
    out = Text(no_wrap=True, overflow="ellipsis", end="")
    for i, (idx, p) in enumerate(zip(ids, probs)):
        if i:
            out.append(" ")
        out.append(f" {guess_glyph(vocab[int(idx)])} {float(p) * 100:3.0f}% ",
                   probability_style(float(p), no_color))
    return out


def render_scale_legend(no_color: bool = False, cells: int = 2) -> Text:
    """-1 [the colour steps] +1, `cells` cells per step."""
    out = Text("-1 ", end="")
    for step in range(len(SCALE)):
        out.append(" " * cells if not no_color else "░▒▓"[min(2, abs(step - 5) // 2)]
                   * cells, activation_style(step / 5 - 1.0, no_color))
    out.append(" +1")
    return out


def render_text(text: str, values, width: int, no_color: bool = False,
                predictions: tuple | None = None) -> list[Text]:
    """The whole text wrapped to `width`, one Text per screen line; with predictions =
    (top_ids, top_probs, vocab), a guess row follows every line."""
    out = []
    for start, end in wrap(text, width):
        out.append(render_line(text, start, end, values, no_color=no_color))
        if predictions is not None:
            ids, probs, vocab = predictions
            out.append(render_prediction_row(text, start, end, ids, probs, vocab, no_color))
    return out


HTML_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
h1 {{ font-size: 1.1em; }} .meta {{ color: #666; font-size: .9em; }}
.text {{ font-family: ui-monospace, Menlo, Consolas, monospace; white-space: pre-wrap;
         word-break: break-all; line-height: 1.5; max-width: 100ch; }}
.text span {{ padding: 0 .02em; }} .nl {{ color: #999; }}
.legend span {{ display: inline-block; width: 1.6em; height: 1em; }}
</style></head><body>
<h1>{title}</h1>
<p class="meta">{meta}</p>
<p class="legend">{legend_left} {legend} {legend_right} &nbsp; ({hover})</p>
<div class="text">{body}</div>
</body></html>
"""


def render_html(text: str, values, title: str, meta: str = "",
                predictions: tuple | None = None, tips: list[str] | None = None,
                legend: tuple[str, str, str] | None = None,
                hover: str = "hover a character for its activation and the model's top "
                             "guesses for the next one") -> str:
    """A self-contained page (inline CSS, no scripts or links) of the coloured text.

    tips: what hovering character t says first (default: its value); legend: (left label,
    swatches as HTML, right label), default the -1..+1 activation scale."""
    spans = []
    for t, ch in enumerate(text):
        step = scale_step(float(values[t]))
        colour = "#fff" if step in DARK_STEPS else "#000"
        tip = f"{float(values[t]):+.3f}" if tips is None else tips[t]
        if predictions is not None:
            ids, probs, vocab = predictions
            guesses = "  ".join(f"{guess_glyph(vocab[int(i)])} {float(p) * 100:.0f}%"
                                for i, p in zip(ids[t], probs[t]))
            tip += f"  next: {guesses}"
        shown = html.escape(GLYPHS.get(ch, ch)) + ("<br>" if ch == "\n" else "")
        spans.append(f'<span style="background:{SCALE[step]};color:{colour}" '
                     f'title="{html.escape(tip, quote=True)}">{shown}</span>')
    if legend is None:
        legend = ("-1", "".join(f'<span style="background:{c}"></span>' for c in SCALE), "+1")
    return HTML_PAGE.format(title=html.escape(title), meta=html.escape(meta),
                            legend_left=html.escape(legend[0]), legend=legend[1],
                            legend_right=html.escape(legend[2]), hover=html.escape(hover),
                            body="".join(spans))
