"""The sample timeline's pure parts: wrapping a sample to the width, each checkpoint's
one-line header, and the line diff of two fixed samples (no widgets, tested alone)."""
from __future__ import annotations

import difflib
import html

from rich.text import Text

from .render import cell_width, fmt_loss, fmt_share, visible_text


def wrap_text(text: str, width: int) -> list[str]:
    """`text` as lines of at most `width` cells: its own line breaks kept, long lines broken
    after the last space that fits (or anywhere, in a word longer than the width). Control
    characters are shown as '·'; tabs as one space."""
    width = max(1, width)
    out: list[str] = []
    for line in visible_text(text).replace("\t", " ").split("\n"):
        while True:
            cells, cut = 0, len(line)
            for i, ch in enumerate(line):
                cells += cell_width(ch)
                if cells > width:
                    cut = i
                    break
            if cut == len(line):
                out.append(line)
                break
            space = line.rfind(" ", 0, cut + 1)
            if space > 0:                       # break at the space; it is not shown
                out.append(line[:space])
                line = line[space + 1:]
            else:
                out.append(line[:max(1, cut)])
                line = line[max(1, cut):]
    return out


def timeline_header(entry, index: int, count: int, width: int, *, selected: bool = False,
                    base: bool = False) -> Text:
    """'── 3/12 · iter 500 · val 1.842 · real words 43% ─────' exactly `width` cells: a rule
    that reads without colour; '▶' and reverse video for the selected one, '◆' the diff base."""
    t = Text()
    t.append("▶ " if selected else "── ", style="bold" if selected else "dim")
    t.append(f"{index + 1}/{count}", style="dim")
    t.append(" · iter ")
    t.append(f"{entry.iteration}", style="bold")
    t.append(f" · val {fmt_loss(entry.val_loss)} · real words ")
    t.append(fmt_share(entry.word_share), style="bold")
    if base:
        t.append(" · ◆ diff base", style="italic")
    if selected:
        t.stylize("reverse")
    t.append(" ")
    if t.cell_len < width:
        t.append("─" * (width - t.cell_len), style="dim")
    t.truncate(width, overflow="ellipsis")
    return t


def diff_lines(old: str, new: str) -> list[Text]:
    """A line-by-line diff of two samples: '  ' lines both share, '- ' only in `old`, '+ ' only
    in `new` (the fixed samples share prime and seed, so they match until the model differs)."""
    a, b = visible_text(old).split("\n"), visible_text(new).split("\n")
    out: list[Text] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out += [Text("  " + line, style="dim") for line in a[i1:i2]]
            continue
        out += [Text("- " + line, style="red") for line in a[i1:i2]]
        out += [Text("+ " + line, style="green") for line in b[j1:j2]]
    return out


def entry_caption(entry) -> str:
    """'iter 500 · val 1.842 · real words 43%' (the header of one sample, in plain words)."""
    return (f"iter {entry.iteration} · val {fmt_loss(entry.val_loss)} · "
            f"real words {fmt_share(entry.word_share)}")


TIMELINE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto; color: #222; }}
h2 {{ font-size: 1em; margin: 1.6em 0 0.3em; color: #555; border-bottom: 1px solid #ddd; }}
pre {{ white-space: pre-wrap; font-size: 0.95em; margin: 0; }}
</style></head><body>
<h1>{title}</h1><p>{meta}</p>
{body}
</body></html>
"""


def timeline_html(title: str, meta: str, entries) -> str:
    """A self-contained page (inline CSS, no scripts or links): each sample under its caption,
    oldest first, as the essay shows the evolution of samples."""
    body = "\n".join(f"<section><h2>{html.escape(entry_caption(e))}</h2>"
                     f"<pre>{html.escape(visible_text(e.text))}</pre></section>" for e in entries)
    return TIMELINE_PAGE.format(title=html.escape(title), meta=html.escape(meta), body=body)
