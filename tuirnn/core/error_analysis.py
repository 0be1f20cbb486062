"""What the model still gets wrong: its errors split by the oracles of Karpathy, Johnson and
Fei-Fei (2015), "Visualizing and Understanding Recurrent Networks", section 4.4.

An error is a character the model gives probability < 0.5 (given the text before it). The
oracles take errors away one after another, in this order; each error is counted by the first
oracle that explains it, so the counts add up to the errors:

  1 n-gram       some n-gram model of order 1..NGRAM_MAX fitted on the training split gives
                 the true character p >= 0.5: the signal was in the last few characters;
  2 memory       dynamic n-long memory: the MEMORY_N characters ending with the true one
                 (text[t-MEMORY_N+1 .. t]) occur whole in the MEMORY_WINDOW characters before
                 it (text[t-MEMORY_WINDOW .. t-1]): a repeat the model could have copied;
  3 rare words   the character is a letter of a word (a run of letters, case folded) seen at
                 most RARE_MAX times in the training text;
  4 word start   the first letter or digit of a word, right after a space or a line break;
  5 punctuation  the true character is neither a letter, a digit nor white space;
  6 boost        the rest (the paper's name: errors a bigger model may fix).

Everything here is a pure function of arrays, so tests can feed probabilities made by hand:
  ids (T,) ints of the text, vocab; p_model (T,) the model's probability of each true char,
  NaN for char 0 (read, never predicted); ngram_p {n: (T,) probability under the n-gram};
  word counts of the training text. No torch, no UI.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .events import ErrorsCounted

ERROR_P = 0.5            # p < 0.5 on the true character is an error (the paper's threshold)
NGRAM_MAX = 9            # the n-gram oracle asks orders 1..9, as the paper does
MEMORY_N = 5             # dynamic memory: the 5 characters ending at t seen before ...
MEMORY_WINDOW = 1000     # ... within the 1,000 characters before t
RARE_MAX = 5             # a rare word: seen at most 5 times in the training text
# The monitor's breakdown counts n-grams and words in the first 5 M training chars at most:
# built once on the trainer's thread (War and Peace, 3 M: about 6 s and 100 MB on 2 cores).
LIVE_TRAIN_LIMIT = 5_000_000

NGRAM, MEMORY, RARE, WORD, PUNCT, BOOST = range(6)
ORACLES = ("n-gram", "dynamic memory", "rare words", "word start", "punctuation", "boost")
ORACLE_HELP = (            # one short line each, for tables
    f"a 1..{NGRAM_MAX}-gram gives p >= {ERROR_P:g}",
    f"last {MEMORY_N} chars seen in {MEMORY_WINDOW:,} before",
    f"a word seen <= {RARE_MAX} times in training",
    "first char after a space or newline",
    "the true char is punctuation",
    "the rest",
)
CORRECT = -1             # class of a character that is no error (or never predicted)

WORD_RE = re.compile(r"[^\W\d_]+")          # a word: a run of letters (any script)


@dataclass(frozen=True)
class ErrorBreakdown:
    chars: int                   # characters predicted (all but the first)
    errors: int                  # of those, p < ERROR_P on the true one
    counts: tuple[int, ...]      # errors per oracle, in ORACLES order; they sum to `errors`
    ngram_used: bool = True      # False: no n-gram model, so oracle 1 removed nothing

    @property
    def rate(self) -> float:
        return self.errors / self.chars if self.chars else 0.0

    @property
    def shares(self) -> tuple[float, ...]:
        """Each oracle's share of all errors (sum 1), zeros when there are none."""
        return tuple(c / self.errors if self.errors else 0.0 for c in self.counts)


def to_event(b: ErrorBreakdown, iteration: int, where: str = "") -> ErrorsCounted:
    """The breakdown as plain data (a few ints): what the trainer sends the monitor."""
    ngram, memory, rare, word, punct, boost = b.counts
    return ErrorsCounted(iteration, b.chars, b.errors, ngram, memory, rare, word, punct, boost,
                         ngram_used=b.ngram_used, where=where)


def from_event(ev: ErrorsCounted) -> ErrorBreakdown:
    counts = (ev.ngram, ev.memory, ev.rare, ev.word, ev.punctuation, ev.boost)
    return ErrorBreakdown(ev.chars, ev.errors, counts, ev.ngram_used)


def decode(ids: np.ndarray, vocab: str) -> str:
    """ids (T,) -> the text, without a Python loop over characters."""
    codes = np.frombuffer(vocab.encode("utf-32-le"), dtype="<u4")
    return np.asarray(codes[np.asarray(ids, dtype=np.int64)], dtype="<u4").tobytes().decode(
        "utf-32-le")


def word_counts(text: str) -> Counter[str]:
    """How often each case-folded word (WORD_RE) occurs in `text` (the training split)."""
    return Counter(WORD_RE.findall(text.lower()))


def errors_mask(p_model: np.ndarray) -> np.ndarray:
    """(T,) bool: p < ERROR_P on the true character (NaN, the unpredicted first, is none)."""
    p = np.asarray(p_model, dtype=np.float64)
    return np.nan_to_num(p, nan=1.0) < ERROR_P


def ngram_fixes(ngram_p: Mapping[int, np.ndarray], T: int) -> np.ndarray:
    """(T,) bool: some order 1..NGRAM_MAX gives the true character p >= ERROR_P."""
    out = np.zeros(T, bool)
    for n, p in ngram_p.items():
        if 1 <= n <= NGRAM_MAX:
            out |= np.nan_to_num(np.asarray(p, dtype=np.float64), nan=0.0) >= ERROR_P
    return out


def memory_fixes(text: str, t: int) -> bool:
    """Whether text[t-MEMORY_N+1 .. t] occurs whole in text[t-MEMORY_WINDOW .. t-1]."""
    start = t - MEMORY_N + 1
    if start < 1:                # fewer than MEMORY_N chars, or nothing before them
        return False
    return text.find(text[start:t + 1], max(0, t - MEMORY_WINDOW), t) >= 0


def rare_letters(text: str, counts: Mapping[str, int]) -> np.ndarray:
    """(T,) bool: the character is a letter of a word seen <= RARE_MAX times in training."""
    out = np.zeros(len(text), bool)
    for m in WORD_RE.finditer(text):
        if counts.get(m.group().lower(), 0) <= RARE_MAX:
            out[m.start():m.end()] = True
    return out


def is_word_start(text: str, t: int) -> bool:
    return t >= 1 and text[t - 1] in " \n\t" and text[t].isalnum()


def is_punctuation(ch: str) -> bool:
    return not (ch.isalnum() or ch.isspace())


def classify(ids: np.ndarray, vocab: str, p_model: np.ndarray,
             ngram_p: Mapping[int, np.ndarray] | None, counts: Mapping[str, int]) -> np.ndarray:
    """(T,) int8: CORRECT, or the index in ORACLES of the first oracle that removes the error.

    ngram_p None: no n-gram model (the first oracle removes nothing)."""
    text = decode(ids, vocab)
    T = len(text)
    p_model = np.asarray(p_model)
    if p_model.shape != (T,):
        raise ValueError(f"p_model has shape {p_model.shape}, the text {T} characters")
    out = np.full(T, CORRECT, np.int8)
    wrong = errors_mask(p_model)
    if ngram_p:
        fixed = ngram_fixes(ngram_p, T) & wrong
        out[fixed] = NGRAM
        wrong &= ~fixed
    rare = rare_letters(text, counts)
    for t in np.flatnonzero(wrong).tolist():
        if memory_fixes(text, t):
            out[t] = MEMORY
        elif rare[t]:
            out[t] = RARE
        elif is_word_start(text, t):
            out[t] = WORD
        elif is_punctuation(text[t]):
            out[t] = PUNCT
        else:
            out[t] = BOOST
    return out


def summarise(classes: np.ndarray, ngram_used: bool = True) -> ErrorBreakdown:
    """The counts of a classify() result (char 0, never predicted, is not counted)."""
    classes = np.asarray(classes)
    counts = np.bincount(classes[classes >= 0].astype(np.int64), minlength=len(ORACLES))
    return ErrorBreakdown(chars=max(0, len(classes) - 1), errors=int(counts.sum()),
                          counts=tuple(int(c) for c in counts), ngram_used=ngram_used)


def examples(text: str, classes: np.ndarray, oracle: int, k: int = 2,
             before: int = 24) -> list[tuple[str, str]]:
    """Up to k (context, true char) pairs of errors the oracle removed, spread over the text:
    the `before` characters leading to the error, and the character the model got wrong."""
    where = np.flatnonzero(np.asarray(classes) == oracle)
    if len(where) == 0:
        return []
    picks = sorted({int(where[i]) for i in np.linspace(0, len(where) - 1, min(k, len(where)))
                    .round().astype(int)})
    return [(text[max(0, t - before):t], text[t]) for t in picks]


# --- the n-gram models, from core/ngram.py ------------------------------------------------

@dataclass(frozen=True)
class Context:
    """What the oracles need from the training split, built once per corpus."""
    counts: Mapping[str, int]    # case-folded word -> occurrences in the training text
    ngram: Any                   # a core.ngram.NGramModel of order NGRAM_MAX, None without it
    why_no_ngram: str = ""       # why ngram is None


def build_context(train_ids: np.ndarray, vocab: str) -> Context:
    """Word counts and n-gram models (orders 1..NGRAM_MAX) of the training split's ids."""
    train_ids = np.asarray(train_ids)
    counts = word_counts(decode(train_ids, vocab))
    try:
        from . import ngram as ngram_mod
    except ImportError:
        return Context(counts, None, "needs core/ngram.py (n-gram models): oracle 1 is skipped")
    if len(train_ids) == 0:
        return Context(counts, None, "no training text to fit n-grams on: oracle 1 is skipped")
    return Context(counts, ngram_mod.fit(train_ids, len(vocab), NGRAM_MAX))


def ngram_probs(context: Context, ids: np.ndarray) -> dict[int, np.ndarray] | None:
    """{n: (T,) p of each true char under the n-gram} for n in 1..NGRAM_MAX, or None."""
    if context.ngram is None:
        return None
    ids = np.asarray(ids)
    return {n: np.exp(np.asarray(context.ngram.logprobs(ids, n), dtype=np.float64))
            for n in range(1, NGRAM_MAX + 1)}


def analyse(context: Context, ids: np.ndarray, vocab: str,
            p_model: np.ndarray) -> tuple[np.ndarray, ErrorBreakdown]:
    """(classes, breakdown) of the model's errors on `ids` given its probabilities."""
    classes = classify(ids, vocab, p_model, ngram_probs(context, ids), context.counts)
    return classes, summarise(classes, ngram_used=context.ngram is not None)


class ContextCache:
    """One Context, rebuilt only when the training split changes (the trainer keeps one per
    process: fitting n-grams on millions of characters is done once, not per checkpoint)."""

    def __init__(self) -> None:
        self._key: tuple[int, int, str, int | None] | None = None
        self._held: Any = None               # the ids object, so its id() is never reused
        self._context: Context | None = None

    def get(self, train_ids: Any, vocab: str, limit: int | None = None) -> Context:
        """The Context of train_ids[:limit] (all of it with limit None)."""
        key = (id(train_ids), len(train_ids), vocab, limit)
        if self._context is None or key != self._key:
            ids = train_ids.numpy() if hasattr(train_ids, "numpy") else np.asarray(train_ids)
            self._context = build_context(ids[:limit], vocab)
            self._key, self._held = key, train_ids
        return self._context


CACHE = ContextCache()
