"""The default probe text: a window of the validation split that holds what the finder looks for.

The start of the split is a poor demo: on War and Peace its first 2,000 characters hold no
quotation mark, so "inside double quotes" can never match. Instead we slide a window over the
split and keep the one that holds the most of the built-in patterns (quotes, parentheses,
brackets, line breaks), each at least a pair, preferring plenty of each, then the earliest.

Works on code arrays so the trainer never decodes its whole split: vocabulary ids (`ids_of`
with the vocab) or code points of a str (`codes_of_text`). The trainer's default probe, the
checkpoint responder and `tuirnn neurons` all call `val_window`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

GPU_LENGTH = 4000       # a 3x512 LSTM probes 4,000 chars in well under a second on a GPU
CPU_LENGTH = 2000       # ... and 2,000 in about one on a laptop CPU
CAP = 10                # beyond this many of a pattern's characters, more does not score

# pattern shown in the note -> the characters that must each occur (at least `need` times)
PATTERNS: dict[str, tuple[tuple[str, ...], int]] = {
    "quotes": (('"',), 2),
    "curly quotes": (("\u201c", "\u201d"), 1),
    "parentheses": (("(", ")"), 1),
    "brackets": (("[", "]"), 1),
    "line breaks": (("\n",), 2),
}


def default_length(device) -> int:
    """Characters the default probe reads: more where the probe is fast (a GPU)."""
    return GPU_LENGTH if getattr(device, "type", str(device)).startswith(("cuda", "mps")) \
        else CPU_LENGTH


@dataclass(frozen=True)
class Window:
    start: int
    end: int                     # [start, end) within the split
    total: int                   # the split's length
    found: tuple[str, ...]       # pattern names the window holds
    missing: tuple[str, ...]     # names the split holds nowhere

    def describe(self, what: str = "validation") -> str:
        """e.g. 'validation chars 10,200-14,200 of 160,000 (quotes, line breaks)'."""
        s = f"{what} chars {self.start:,}-{self.end:,} of {self.total:,}"
        if self.found:
            s += f" ({', '.join(self.found)})"
        return s


def choose_window(codes: np.ndarray, code_of: Callable[[str], int], length: int) -> Window:
    """The best `length`-long window of `codes` (1-D ints) by the rules above.

    code_of(ch) gives ch's code in `codes` (-1: it cannot occur). Candidate starts are line
    starts (so the text reads from the beginning of a line), about length/4 apart.
    """
    n = len(codes)
    if n <= length:
        return _window(codes, code_of, 0, n, n, _present(codes, code_of))
    codes = np.asarray(codes)
    newline = code_of("\n")
    # starts of non-empty lines: the text reads from a line's beginning, not a blank one
    line_starts = (np.flatnonzero((codes[:-1] == newline) & (codes[1:] != newline)) + 1
                   if newline >= 0 else np.zeros(0, int))
    line_starts = np.concatenate([[0], line_starts])
    grid = np.arange(0, n - length + 1, max(1, length // 4))
    starts = np.unique(line_starts[np.minimum(np.searchsorted(line_starts, grid),
                                              len(line_starts) - 1)])
    starts = starts[starts <= n - length]
    if len(starts) == 0:
        starts = np.array([0])
    present = _present(codes, code_of)
    score = np.zeros((len(starts),), np.int64)     # patterns held, x 100, + capped counts
    for name in present:
        chars, need = PATTERNS[name]
        counts = [_counts(codes, code_of(ch), starts, length) for ch in chars]
        least = np.minimum.reduce(counts)
        score += 100 * (least >= need) + np.minimum(least, CAP)
    best = int(starts[int(np.argmax(score))])        # argmax: the earliest of equals
    return _window(codes, code_of, best, best + length, n, present)


def _counts(codes: np.ndarray, code: int, starts: np.ndarray, length: int) -> np.ndarray:
    """How often `code` occurs in each window [s, s + length)."""
    hits = np.concatenate([[0], np.cumsum(codes == code)])
    return hits[starts + length] - hits[starts]


def _present(codes: np.ndarray, code_of) -> list[str]:
    """Pattern names the whole split holds."""
    out = []
    for name, (chars, need) in PATTERNS.items():
        ids = [code_of(ch) for ch in chars]
        if all(i >= 0 and int(np.count_nonzero(codes == i)) >= need for i in ids):
            out.append(name)
    return out


def _window(codes, code_of, start: int, end: int, total: int, present: list[str]) -> Window:
    part = np.asarray(codes[start:end])
    found = [name for name in present
             if all(np.count_nonzero(part == code_of(ch)) >= PATTERNS[name][1]
                    for ch in PATTERNS[name][0])]
    missing = [name for name in PATTERNS if name not in present and name != "curly quotes"]
    return Window(start, end, total, tuple(found), tuple(missing))


def ids_of(vocab: str) -> Callable[[str], int]:
    """code_of for vocabulary ids: a character's index in the sorted vocab, -1 if absent."""
    return vocab.find


def codes_of_text(text: str) -> np.ndarray:
    """A str as its code points (one int per character), without a Python loop."""
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4")


def val_window(val, vocab: str | None, length: int) -> tuple[Window, np.ndarray]:
    """(the window, its codes) of a validation split given as ids (a tensor or array, with
    its vocab) or as a str (vocab None)."""
    code_of: Callable[[str], int]
    if isinstance(val, str):
        codes, code_of = codes_of_text(val), ord
    else:
        codes = val.numpy() if hasattr(val, "numpy") else np.asarray(val)
        assert vocab is not None, "ids need their vocab"
        code_of = ids_of(vocab)
    w = choose_window(codes, code_of, length)
    return w, codes[w.start:w.end]


def default_probe_text(val, vocab: str | None, length: int) -> tuple[str, str]:
    """(text, where it is) for a probe given no text: val_window, decoded and described."""
    window, codes = val_window(val, vocab, length)
    if window.end <= window.start:
        return "", "the validation split (empty)"
    if vocab is None:
        text = val[window.start:window.end]
    else:
        text = "".join(vocab[i] for i in codes.tolist())
    return text, window.describe()
