"""Interpolated Kneser–Ney character n-grams (numpy only), the paper's baselines.

`fit(train_ids, vocab_size, max_order)` counts every order 1..N of the training ids at once;
`model.logprobs(ids, order)` scores any text under the order-n model, where

    p_n(w | h) = (max(c(hw) - D_n(c(hw)), 0) + gamma(h) * p_{n-1}(w | h')) / c(h·)
    gamma(h)   = D_n(1) N1(h·) + D_n(2) N2(h·) + D_n(3+) N3+(h·)

with h' the history less its oldest char, raw counts c at the top order and Kneser–Ney
continuation counts N1+(·hw) (how many distinct chars precede hw) at the orders below it. An
unseen history (c(h·) = 0) backs off wholly to p_{n-1}. Order 1 is the add-one unigram: of
training frequencies when it is the model, of continuation counts when it is the base below one.
This is modified Kneser–Ney (Chen & Goodman 1998): three discounts per order (and kind) from
its counts of counts n1..n4, Y = n1 / (n1 + 2 n2), D(k) = k - (k+1) Y n_{k+1} / n_k, and
N_k(h·) the number of distinct chars seen k times after h (3+: three or more); gamma(h) is
what the discounts took from h, given to the order below, so each p_n sums to 1. (One
discount for all counts, plain interpolated KN, lost 0.03 nats/char on War and Peace at order
20 and got worse with every order past 7.)

Keys. Each n-gram is a uint64 key per end position t, built by appending ids[t] to the key of
the (n-1)-gram ending at t-1. While n * bits(vocab) <= 64 (order <= 8 for vocab <= 256) the key
packs the ids exactly; above it is a splitmix64 chain, g_n = mix(g_{n-1} ^ mix(id + n << 40)),
whose chance of one collision among the ~2.6 M distinct n-grams of an order is about 1e-7.
Per order the keys are sorted once (argsort); np.searchsorted finds a text's n-grams.

Memory: per order, per distinct n-gram, an 8-byte key, 4 int32 counts and 2 float64 gammas
(~40 B each).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

MAX_ORDER = 64         # the highest order the commands accept (memory grows with each order)

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise on uint64 (wrapping multiply)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def _next_keys(prev: np.ndarray, ids: np.ndarray, n: int, bits: int) -> np.ndarray:
    """Keys of the n-grams ending at t = n-1..T-1 from prev, the (n-1)-gram keys at t = n-2..T-1.

    prev: (T-n+2,) uint64; ids: (T,) uint64; returns (T-n+1,) uint64.
    """
    head, last = prev[:-1], ids[n - 1:]
    if n * bits <= 64:
        return (head << np.uint64(bits)) | last
    salt = np.uint64(n) << np.uint64(40)
    return _mix(head ^ _mix(last + salt))


def _discounts(counts: np.ndarray) -> np.ndarray:
    """(4,) D(0) = 0, D(1), D(2), D(3+) from the counts of counts n1..n4 (modified KN); each
    D(k) kept in [0.05, k]: never 0, so a char unseen after h keeps some probability (a text
    where each history has one follower gives D(3+) <= 0). Missing counts of counts (a tiny
    text): 0.5, 1, 1.5."""
    n = [int(np.count_nonzero(counts == k)) for k in (1, 2, 3, 4)]
    if min(n) == 0:
        return np.array([0.0, 0.5, 1.0, 1.5])
    y = n[0] / (n[0] + 2 * n[1])
    d = [k - (k + 1) * y * n[k] / n[k - 1] for k in (1, 2, 3)]
    return np.array([0.0] + [min(max(x, 0.05), k) for k, x in zip((1, 2, 3), d)])


def _discount_of(counts: np.ndarray, d: np.ndarray) -> np.ndarray:
    """D(count) per element: d[min(count, 3)]."""
    return d[np.minimum(counts, 3)]


@dataclass
class _Level:
    """The distinct n-grams of one order, sorted by key, and their counts.

    keys, cnt: the n-gram and its raw count; cont: its continuation count N1+(·hw).
    As a history for order n+1: raw_gamma/raw_total = gamma(h)/c(h·) over raw counts,
    cont_gamma/cont_total the same over continuation counts (empty where not needed).
    d_raw, d_cont: this order's discounts D(0..3+) for each kind.
    """

    keys: np.ndarray
    cnt: np.ndarray
    cont: np.ndarray
    raw_gamma: np.ndarray
    raw_total: np.ndarray
    cont_gamma: np.ndarray
    cont_total: np.ndarray
    d_raw: np.ndarray
    d_cont: np.ndarray


_EMPTY = np.zeros(0, dtype=np.int32)
_F_EMPTY = np.zeros(0, dtype=np.float64)


class NGramModel:
    """Kneser–Ney models of every order 1..max_order fitted on one training text."""

    def __init__(self, levels: list[_Level], vocab_size: int, bits: int,
                 unigram_raw: np.ndarray, unigram_cont: np.ndarray) -> None:
        self.levels = levels  # levels[n-1] is order n
        self.vocab_size = vocab_size
        self.max_order = len(levels)
        self._bits = bits
        self._uni_raw = unigram_raw  # (V,) add-one p of training frequencies
        self._uni_cont = unigram_cont  # (V,) add-one p of continuation counts

    @property
    def nbytes(self) -> int:
        """Bytes held by the count tables."""
        total = self._uni_raw.nbytes + self._uni_cont.nbytes
        for lv in self.levels:
            total += sum(a.nbytes for a in (lv.keys, lv.cnt, lv.cont, lv.raw_gamma,
                                            lv.raw_total, lv.cont_gamma, lv.cont_total))
        return total

    def logprobs(self, ids: np.ndarray, order: int) -> np.ndarray:
        """ln p(ids[t] | the order-1 chars before t), shape (len(ids),) float64.

        The first order-1 positions use the history they have (position 0 the unigram).
        """
        if not 1 <= order <= self.max_order:
            raise ValueError(f"order {order} is outside 1..{self.max_order}")
        return deque(self.each_order(ids, order), maxlen=1)[0]    # only the last is kept

    def loss(self, ids: np.ndarray, order: int) -> float:
        """Mean -ln p over ids under the order-n model, nats/char."""
        return float(-self.logprobs(ids, order).mean())

    def losses(self, ids: np.ndarray, max_order: int | None = None) -> list[float]:
        """[loss(ids, n) for n in 1..max_order] in one pass over the orders (not max_order²/2)."""
        return [float(-lp.mean()) for lp in self.each_order(ids, max_order or self.max_order)]

    def each_order(self, ids: np.ndarray, max_order: int) -> Iterator[np.ndarray]:
        """logprobs(ids, n) for n = 1..max_order, each (len(ids),) float64, in one pass.

        The order-n model is its raw counts over the continuation chain of orders n-1..1, so
        the chain is built once, an order at a time, and each order's raw top put over it.
        Positions t < n-1 keep the order-(t+1) value: the history they have.
        """
        x = _as_ids(ids, self.vocab_size)
        T = len(x)
        if T == 0:
            for _ in range(max_order):
                yield np.zeros(0, dtype=np.float64)
            return
        chain = self._uni_cont[x].astype(np.float64)   # (T,) the continuation chain so far
        best = self._uni_raw[x].astype(np.float64)     # (T,) order n's p (raw at the top)
        yield np.log(best)
        keys = x.copy()
        hist_idx, hist_found = self._find(0, keys)     # the (n-1)-grams ending at n-2..T-1
        for n in range(2, max_order + 1):
            if T >= n:
                keys = _next_keys(keys, x, n, self._bits)
                idx, found = self._find(n - 1, keys)
                lv, below = self.levels[n - 1], self.levels[n - 2]
                h_idx, h_found = hist_idx[:-1], hist_found[:-1]  # histories ending at t-1
                tail = chain[n - 1:]
                best[n - 1:] = self._mix(tail, idx, found, h_idx, h_found, lv, below, top=True)
                if n < max_order:
                    chain[n - 1:] = self._mix(tail, idx, found, h_idx, h_found, lv, below,
                                              top=False)
                hist_idx, hist_found = idx, found
            yield np.log(best)

    @staticmethod
    def _mix(tail: np.ndarray, idx: np.ndarray, found: np.ndarray, h_idx: np.ndarray,
             h_found: np.ndarray, lv: _Level, below: _Level, top: bool) -> np.ndarray:
        """One order over `tail`, the order below's p at the same positions: raw counts when
        it is the model's top order, continuation counts inside the chain."""
        gamma = np.where(h_found, (below.raw_gamma if top else below.cont_gamma)[h_idx], 0.0)
        total = np.where(h_found, (below.raw_total if top else below.cont_total)[h_idx], 0)
        c = np.where(found, (lv.cnt if top else lv.cont)[idx], 0)
        d = _discount_of(c, lv.d_raw if top else lv.d_cont)
        seen = total > 0
        safe = np.where(seen, total, 1).astype(np.float64)
        return np.where(seen, (np.maximum(c - d, 0.0) + gamma * tail) / safe, tail)

    def _find(self, level: int, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index of each key in levels[level].keys and whether it is there."""
        table = self.levels[level].keys
        if len(table) == 0:
            z = np.zeros(len(keys), dtype=np.int64)
            return z, z.astype(bool)
        idx = np.minimum(np.searchsorted(table, keys), len(table) - 1)
        return idx, table[idx] == keys


def _as_ids(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    x = np.asarray(ids)
    if x.ndim != 1:
        raise ValueError("ids must be one-dimensional")
    if len(x) and (int(x.min()) < 0 or int(x.max()) >= vocab_size):
        raise ValueError(f"ids must lie in 0..{vocab_size - 1}")
    return x.astype(np.uint64)


def _group(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct keys (sorted), their counts, the position of one occurrence of each (any will
    do: an n-gram's history and suffix are the same at each, so no stable sort), and each
    position's index among the distinct keys (inv: keys == distinct[inv])."""
    order = np.argsort(keys)
    s = keys[order]
    new = np.empty(len(s), dtype=bool)
    new[:1] = True
    np.not_equal(s[1:], s[:-1], out=new[1:])
    start = np.flatnonzero(new)
    counts = np.diff(np.append(start, len(s))).astype(np.int32)
    inv = np.empty(len(s), dtype=np.int32)
    inv[order] = np.cumsum(new, dtype=np.int32) - 1
    return s[start], counts, order[start], inv


def fit(train_ids: np.ndarray, vocab_size: int, max_order: int = 20) -> NGramModel:
    """Count orders 1..max_order of train_ids (ints in 0..vocab_size-1)."""
    if max_order < 1:
        raise ValueError("max_order must be at least 1")
    x = _as_ids(train_ids, vocab_size)
    if len(x) == 0:
        raise ValueError("the training text is empty")
    bits = max(1, (vocab_size - 1).bit_length())
    V = vocab_size
    levels: list[_Level] = []
    keys = x.copy()  # order-1 keys, end positions 0..T-1
    uniq, cnt, first, prev_inv = _group(keys)
    uni = np.bincount(x.astype(np.int64), minlength=V).astype(np.float64)
    levels.append(_Level(uniq, cnt, _EMPTY, _F_EMPTY, _EMPTY, _F_EMPTY, _EMPTY,
                         d_raw=_discounts(cnt), d_cont=_discounts(_EMPTY)))
    hist_of_type: np.ndarray = np.zeros(len(uniq), dtype=np.int64)  # one empty history
    prev_keys = keys
    cont_uni: np.ndarray = np.zeros(V, dtype=np.float64)
    for n in range(2, max_order + 1):
        if len(x) < n:
            break
        keys = _next_keys(prev_keys, x, n, bits)  # end positions n-1..T-1
        uniq, cnt, first, inv = _group(keys)
        below = levels[-1]
        # first is an index into keys; its end position is first + n - 1.
        # The type's history is the (n-1)-gram ending one before; its suffix ends at the same spot.
        # prev_keys[i] ends at i + n - 2, so the history is prev_keys[first], the suffix first + 1;
        # prev_inv maps them to their index in below.keys (no search: 5x faster than one).
        hist = prev_inv[first]
        suffix = prev_inv[first + 1]
        m = len(below.keys)
        d_raw = _discounts(cnt)                    # order n's, for its numerators and gamma
        below.raw_gamma = np.bincount(hist, weights=_discount_of(cnt, d_raw), minlength=m)
        below.raw_total = np.bincount(hist, weights=cnt, minlength=m).astype(np.int32)
        below.cont = np.bincount(suffix, minlength=m).astype(np.int32)
        below.d_cont = _discounts(below.cont)
        if n == 2:
            cont_uni = np.bincount(below.keys.astype(np.int64), weights=below.cont, minlength=V)
        else:  # the continuation counts of order n-1 as a history for order n-1's use
            lower = levels[-2]
            has = below.cont > 0
            ml = len(lower.keys)
            lower.cont_gamma = np.bincount(hist_of_type[has],
                                           weights=_discount_of(below.cont[has], below.d_cont),
                                           minlength=ml)
            lower.cont_total = np.bincount(hist_of_type, weights=below.cont,
                                           minlength=ml).astype(np.int32)
        levels.append(_Level(uniq, cnt, _EMPTY, _F_EMPTY, _EMPTY, _F_EMPTY, _EMPTY,
                             d_raw=d_raw, d_cont=_discounts(_EMPTY)))
        hist_of_type = hist
        prev_keys, prev_inv = keys, inv
    uni_raw = (uni + 1.0) / (uni.sum() + V)
    uni_cont = (cont_uni + 1.0) / (cont_uni.sum() + V)
    return NGramModel(levels, V, bits, uni_raw, uni_cont)


def fit_training_split(data_cfg, vocab: str, max_order: int) -> NGramModel:
    """Orders 1..max_order on the training split of a run's corpus (config.DataConfig), split
    as training splits it and encoded in `vocab` (the model's); UserError (one line) if the
    corpus is gone or its characters have changed."""
    from .corpus import locate_corpus
    from .data import Corpus, decode_corpus
    from .errors import UserError
    name, raw = locate_corpus(data_cfg)
    text = decode_corpus(raw, name, data_cfg.normalize_newlines)
    del raw
    corpus = Corpus.from_text(text, name, data_cfg.val_frac, data_cfg.test_frac)
    if corpus.vocab != vocab:
        raise UserError(f"the corpus {corpus.name} has changed since this model was trained "
                        "(its characters differ); restore it to compare with n-grams")
    return fit(corpus.train.numpy(), len(vocab), max_order)
