"""The error breakdown as rows of text: `tuirnn errors` and the monitor's errors panel.

    errors  612 of 1,999 chars (30.6%, p < 0.5)  iter 500
    n-gram (1-9)     41.2%   252  ████████▎
    dynamic memory   10.1%    62  ██
    ...

Pure functions of an ErrorBreakdown (core.error_analysis), tested without an app.
"""
from __future__ import annotations

from rich.text import Text

from ..core import error_analysis as E

BAR_STYLE = "cyan"
EIGHTHS = " ▏▎▍▌▋▊▉█"
LABEL_WIDTH = 15


def label(oracle: int) -> str:
    return f"n-gram (1-{E.NGRAM_MAX})" if oracle == E.NGRAM else E.ORACLES[oracle]


def bar(share: float, cells: int) -> str:
    """A horizontal bar of share * cells cells, in eighths of a cell."""
    eighths = int(round(max(0.0, min(1.0, share)) * cells * 8))
    return "█" * (eighths // 8) + (EIGHTHS[eighths % 8] if eighths % 8 else "")


def title(b: E.ErrorBreakdown, iteration: int | None = None, where: str = "") -> Text:
    """'errors 612 of 1,999 chars (30.6%, p < 0.5)  iter 500  validation chars ...'."""
    out = Text.assemble(("errors ", "bold"), f"{b.errors:,}",
                        (f" of {b.chars:,} chars ", "dim"),
                        f"({100 * b.rate:.1f}%, p < {E.ERROR_P:g})")
    if iteration is not None:
        out.append_text(Text.assemble(("  iter ", "dim"), str(iteration)))
    if where:
        out.append(f"  {where}", "dim")
    out.no_wrap, out.overflow = True, "ellipsis"
    return out


def rows(b: E.ErrorBreakdown, width: int = 80, help_text: bool = False) -> list[Text]:
    """One row per oracle, in the paper's order: label, share of all errors, count, bar
    (and with help_text, what the oracle means, where it fits in `width`)."""
    count_w = max(3, len(f"{max(b.counts, default=0):,}"))
    fixed = LABEL_WIDTH + 1 + 6 + 1 + count_w + 2
    cells = max(4, min(30, width - fixed - (38 if help_text else 0)))
    out = []
    for i, (count, share) in enumerate(zip(b.counts, b.shares)):
        row = Text(f"{label(i):<{LABEL_WIDTH}} {100 * share:5.1f}% {count:>{count_w},}  ")
        if i == E.NGRAM and not b.ngram_used:
            row.append("(no n-gram model)", "dim italic")
        else:
            row.append(f"{bar(share, cells):<{cells}}", BAR_STYLE)
            room = width - row.cell_len - 2
            if help_text and room >= 12:
                shown = E.ORACLE_HELP[i]
                row.append("  " + (shown if len(shown) <= room else shown[:room - 1] + "…"),
                           "dim")
        row.no_wrap, row.overflow = True, "crop"
        out.append(row)
    return out


def example_line(context: str, char: str, width: int = 80) -> Text:
    """'    …and the Prince  → s': the text before an error, then the char it got wrong
    (line breaks, tabs and a space as ⏎ → ␣, so the row stays one line)."""
    shown = context.replace("\n", "⏎").replace("\t", "→")
    char_shown = {"\n": "⏎", "\t": "→", " ": "␣"}.get(char, char)
    room = max(4, width - 12)
    if len(shown) > room:
        shown = "…" + shown[-(room - 1):]
    out = Text.assemble("    ", (shown, "dim"), ("  → ", "dim"), (char_shown, "bold"))
    out.no_wrap, out.overflow = True, "ellipsis"
    return out


def panel(ev, width: int = 80) -> Text:
    """The monitor's errors panel: a title row and one row per oracle, for an ErrorsCounted
    (None: a line saying when the first comes)."""
    if ev is None:
        out = Text.assemble(("What it still gets wrong", "bold"),
                            ("  comes with the next probe of the validation text (v)",
                             "dim"))
    else:
        b = E.from_event(ev)
        head = Text.assemble(("What it still gets wrong  ", "bold"), title(b, ev.iteration))
        head.no_wrap, head.overflow = True, "ellipsis"
        out = Text("\n").join([head, *rows(b, width, help_text=True)])
    out.no_wrap, out.overflow = True, "crop"
    return out
