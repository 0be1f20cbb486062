"""Kneser–Ney character n-grams (core/ngram.py): orders, the unigram, normalisation."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tuirnn.core import ngram


def chunks_predictable_at(k: int, V: int, n_chunks: int, seed: int) -> np.ndarray:
    """Chunks of k-1 random chars of 0..V-1, then V + their sum mod V: a char of its own
    alphabet that marks where a chunk ends, certain given the k-1 before it and uniform
    over its V values given fewer (a sum with one uniform term left out is uniform)."""
    rng = np.random.default_rng(seed)
    r = rng.integers(0, V, size=(n_chunks, k - 1))
    return np.concatenate([r, V + r.sum(axis=1, keepdims=True) % V], axis=1).ravel()


def test_losses_drop_at_the_order_that_predicts():
    k, V = 5, 4
    train = chunks_predictable_at(k, V, 40_000, seed=0)
    test = chunks_predictable_at(k, V, 2_000, seed=1)
    m = ngram.fit(train, 2 * V, 7)
    losses = [m.loss(test, n) for n in range(1, 8)]
    drops = -np.diff(losses)                 # drops[i]: order i+1 -> i+2
    # the sum's ln V over one char in k (and where a chunk ends) is learnt at order k
    assert drops[k - 2] > math.log(V) / k, losses
    assert np.all(np.delete(drops, k - 2) < 0.3 * drops[k - 2]), losses
    # at order k only the chunk's own k-1 chars are left, uniform
    assert losses[k - 1] == pytest.approx((k - 1) / k * math.log(V), abs=0.03), losses


def test_order_1_is_the_add_one_unigram_of_training_frequencies():
    rng = np.random.default_rng(3)
    V = 7
    train = rng.choice(V - 1, size=5_000, p=[0.4, 0.2, 0.1, 0.1, 0.1, 0.1])  # id 6 never seen
    test = np.append(rng.integers(0, V, size=500), V - 1)
    counts = np.bincount(train, minlength=V)
    p = (counts + 1) / (len(train) + V)
    direct = float(-np.log(p[test]).mean())
    m = ngram.fit(train, V, 3)
    assert m.loss(test, 1) == pytest.approx(direct, rel=1e-12)
    assert np.allclose(m.logprobs(test, 1), np.log(p[test]))


@pytest.mark.parametrize("V,order", [(5, 6), (256, 12)])   # 256 x 12: keys hashed above order 8
def test_probabilities_over_the_vocabulary_sum_to_one(V, order):
    rng = np.random.default_rng(V)
    base = rng.integers(0, V, size=300)
    train = np.concatenate([base] * 5 + [rng.integers(0, V, size=3_000)])
    m = ngram.fit(train, V, order)
    contexts = [train[:20], train[100:131], train[-order:], rng.integers(0, V, size=order)]
    for n in (1, 2, 3, order // 2, order):
        for ctx in contexts:
            text = np.concatenate([np.tile(ctx, (V, 1)), np.arange(V)[:, None]], axis=1)
            total = sum(math.exp(m.logprobs(row, n)[-1]) for row in text)
            assert total == pytest.approx(1.0, abs=1e-9), (n, total)


def test_a_repeated_text_is_learnt_at_high_orders():
    rng = np.random.default_rng(5)
    piece = rng.integers(0, 30, size=2_000)
    m = ngram.fit(np.tile(piece, 4), 30, 10)
    assert m.loss(piece, 10) < 0.2 < 2.5 < m.loss(piece, 1)


def test_the_first_positions_use_the_history_they_have():
    rng = np.random.default_rng(6)
    train = rng.integers(0, 6, size=3_000)
    m = ngram.fit(train, 6, 5)
    text = train[:12]
    full = m.logprobs(text, 5)
    assert full[0] == pytest.approx(m.logprobs(text[:1], 1)[0])
    assert full[2] == pytest.approx(m.logprobs(text, 3)[2])
    assert full.shape == (12,) and full.dtype == np.float64


def test_bad_input_is_refused():
    m = ngram.fit(np.array([0, 1, 2, 1]), 3, 2)
    with pytest.raises(ValueError, match="order"):
        m.logprobs(np.array([0, 1]), 3)
    with pytest.raises(ValueError, match="0..2"):
        m.logprobs(np.array([0, 3]), 1)
    with pytest.raises(ValueError):
        ngram.fit(np.zeros(0, dtype=int), 3, 2)


def test_an_unseen_char_keeps_some_probability_at_every_order():
    # each history has one follower, seen thousands of times: the discounts must not reach 0
    train = np.tile(np.array([0, 1, 2]), 3_000)
    m = ngram.fit(train, 4, 5)
    for n in range(1, 6):
        lp = m.logprobs(np.array([0, 1, 2, 3, 0, 2]), n)
        assert np.all(np.isfinite(lp)), (n, lp)
        assert lp[3] < np.log(0.01) and (n < 3 or lp[2] > np.log(0.9)), (n, lp)


def test_discounts_of_modified_kneser_ney():
    counts = np.array([1] * 60 + [2] * 20 + [3] * 10 + [4] * 5 + [9] * 5)
    d = ngram._discounts(counts)
    y = 60 / (60 + 40)
    assert d.tolist() == pytest.approx([0, 1 - 2 * y * 20 / 60, 2 - 3 * y * 10 / 20,
                                        3 - 4 * y * 5 / 10])
