"""Finder: rank every unit by how well its activation tracks a pattern in the text.

A pattern is a signal over the characters, s: (T,), aligned with the probe's activations: s[t]
describes the state *after* reading text[t] (so the opening quote already counts as inside,
the closing one as outside). Units are ranked by |Pearson correlation| between s and their
activation, all units at once as one matrix product.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .errors import UserError
from .probe import ProbeResult


def _inside(text: str, opens: str, closes: str) -> np.ndarray:
    """1 while nested inside an open/close pair (depth > 0 after reading the char)."""
    depth, out = 0, np.zeros(len(text), np.float32)
    for t, ch in enumerate(text):
        if ch in opens:
            depth += 1
        elif ch in closes:
            depth = max(0, depth - 1)
        out[t] = depth > 0
    return out


def inside_double_quotes(text: str) -> np.ndarray:
    """Straight quotes toggle; curly quotes open and close."""
    inside, out = False, np.zeros(len(text), np.float32)
    for t, ch in enumerate(text):
        if ch == '"':
            inside = not inside
        elif ch == "\u201c":
            inside = True
        elif ch == "\u201d":
            inside = False
        out[t] = inside
    return out


def position_in_line(text: str) -> np.ndarray:
    """Characters since the last newline (the newline itself is column 0)."""
    out, col = np.zeros(len(text), np.float32), 0
    for t, ch in enumerate(text):
        col = 0 if ch == "\n" else col + 1
        out[t] = col
    return out


def start_of_word(text: str) -> np.ndarray:
    return np.array([ch.isalnum() and (t == 0 or not text[t - 1].isalnum())
                     for t, ch in enumerate(text)], np.float32)


def after_newline(text: str) -> np.ndarray:
    """1 where the model has just read a newline."""
    return np.array([ch == "\n" for ch in text], np.float32)


def regex_signal(text: str, pattern: str) -> np.ndarray:
    """1 for every character inside a match of `pattern`."""
    try:
        rx = re.compile(pattern)
    except re.error as e:
        raise UserError(f"bad regex {pattern!r}: {e}; check its brackets and escapes") from None
    out = np.zeros(len(text), np.float32)
    for m in rx.finditer(text):
        out[m.start():m.end()] = 1
    return out


# name -> (label, signal function); the order is the order shown in the finder.
HYPOTHESES = {
    "quotes": ("inside double quotes", inside_double_quotes),
    "parens": ("inside parentheses", lambda s: _inside(s, "(", ")")),
    "brackets": ("inside brackets", lambda s: _inside(s, "[", "]")),
    "line_position": ("position in line", position_in_line),
    "word_start": ("start of word", start_of_word),
    "after_newline": ("after newline", after_newline),
}


def signal_for(text: str, pattern: str) -> np.ndarray:
    """A built-in hypothesis by name, else `pattern` as a regex."""
    if pattern in HYPOTHESES:
        return HYPOTHESES[pattern][1](text)
    return regex_signal(text, pattern)


def pattern_label(pattern: str) -> str:
    return HYPOTHESES[pattern][0] if pattern in HYPOTHESES else f"regex /{pattern}/"


@dataclass(frozen=True)
class UnitScore:
    kind: str           # 'c' (tanh of the LSTM cell) or 'h'
    layer: int
    unit: int
    corr: float         # signed Pearson correlation with the pattern


def centered(result: ProbeResult, kinds: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """All units as rows, mean removed: (N, T) with N = kinds x L x H, and each row's norm.

    Cached on the result, so ranking a second pattern costs one matrix-vector product."""
    key = ("centered", kinds)
    if key not in result._flat:
        L, T, H = result.h.shape
        blocks = [(result.c if kind == "c" else result.h) for kind in kinds]  # each (L, T, H)
        acts = np.concatenate([b.transpose(0, 2, 1).reshape(L * H, T) for b in blocks if b is not None])
        acts = acts - acts.mean(axis=1, keepdims=True)
        result._flat[key] = (acts, np.sqrt(np.einsum("nt,nt->n", acts, acts)))
    return result._flat[key]


def correlations(acts: np.ndarray, norms: np.ndarray, signal: np.ndarray) -> np.ndarray:
    """Centered acts (N, T) with row norms (N,), signal (T,) -> (N,) Pearson r; 0 where
    either side is constant."""
    s = signal.astype(np.float32) - signal.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (acts @ s) / (norms * np.sqrt(float(s @ s)))
    return np.nan_to_num(r, nan=0.0, posinf=0.0, neginf=0.0)


def rank_units(result: ProbeResult, signal: np.ndarray, top: int = 10,
               kinds: tuple[str, ...] | None = None) -> list[UnitScore]:
    """The `top` units (over every kind and layer) with the largest |r|, best first."""
    kinds = result.kinds if kinds is None else tuple(k for k in kinds if k in result.kinds)
    L, T, H = result.h.shape
    if T < 2 or float(signal.std()) == 0.0:
        return []
    r = correlations(*centered(result, kinds), signal)
    top = min(top, r.size)
    best = np.argpartition(-np.abs(r), top - 1)[:top]
    best = best[np.argsort(-np.abs(r[best]))]
    out = []
    for n in best:
        kind_index, rest = divmod(int(n), L * H)
        layer, unit = divmod(rest, H)
        out.append(UnitScore(kinds[kind_index], layer, unit, float(r[n])))
    return out


def find_units(result: ProbeResult, pattern: str, top: int = 10) -> list[UnitScore]:
    """rank_units for a built-in hypothesis name or a regex."""
    return rank_units(result, signal_for(result.text, pattern), top)
