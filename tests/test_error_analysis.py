"""The error breakdown's oracles: each fires on a text built for it, in the paper's order."""
import numpy as np
import pytest

from tuirnn.core import error_analysis as E


def ids_of(text: str) -> tuple[np.ndarray, str]:
    vocab = "".join(sorted(set(text)))
    return np.array([vocab.index(c) for c in text]), vocab


def wrong_at(text: str, positions) -> np.ndarray:
    """p_model: 0.9 everywhere (right), 0.1 at `positions` (errors), NaN for char 0."""
    p = np.full(len(text), 0.9)
    p[list(positions)] = 0.1
    p[0] = np.nan
    return p


def classes(text, positions, ngram_p=None, counts=None):
    ids, vocab = ids_of(text)
    return E.classify(ids, vocab, wrong_at(text, positions), ngram_p, counts or {})


def test_ngram_oracle_fires_where_some_order_gives_half_or_more():
    text = "abcabcabcx"
    p3 = np.full(len(text), 0.2)
    p3[5] = 0.9                        # the 3-gram is sure of char 5, no order of char 7
    out = classes(text, [5, 7], {1: np.full(len(text), 0.1), 3: p3})
    assert out[5] == E.NGRAM
    assert out[7] != E.NGRAM
    # an order above NGRAM_MAX is not asked
    out = classes(text, [5], {E.NGRAM_MAX + 1: np.full(len(text), 0.99)})
    assert out[5] != E.NGRAM


def test_dynamic_memory_fires_on_a_repeated_phrase_and_not_far_back():
    phrase = "Zorblax Quint"
    text = f"{phrase} met us. Then {phrase}"
    t = len(text) - 1                  # the last 't' ends "Quint" seen before
    first = phrase.index("t")          # ... but its first time there is nothing to copy
    out = classes(text, [first, t], counts={"zorblax": 100, "quint": 100})
    assert out[t] == E.MEMORY
    assert out[first] != E.MEMORY
    far = phrase + " " + "." * (E.MEMORY_WINDOW + 10) + " " + phrase
    out = classes(far, [len(far) - 1], counts={"zorblax": 100, "quint": 100})
    assert out[-1] != E.MEMORY         # seen, but more than MEMORY_WINDOW chars ago


def test_rare_word_fires_inside_a_rare_word_only():
    text = "the cat saw the quokka"
    q = text.index("quokka") + 2
    c = text.index("cat") + 1
    out = classes(text, [q, c], counts={"the": 50, "cat": 50, "saw": 50, "quokka": E.RARE_MAX})
    assert out[q] == E.RARE
    assert out[c] != E.RARE
    out = classes(text, [q], counts={"quokka": E.RARE_MAX + 1})
    assert out[q] != E.RARE


def test_word_start_fires_after_a_space_or_line_break():
    text = "one two\nsix"
    counts = {"one": 9, "two": 9, "six": 9}
    out = classes(text, [4, 8, 5], counts=counts)
    assert out[4] == E.WORD and out[8] == E.WORD
    assert out[5] == E.BOOST           # 'w' inside a common word, nothing explains it


def test_punctuation_and_boost():
    text = "well, yes\nno"
    counts = {"well": 9, "yes": 9, "no": 9}
    out = classes(text, [text.index(","), text.index("\n")], counts=counts)
    assert out[text.index(",")] == E.PUNCT
    assert out[text.index("\n")] == E.BOOST    # a line break is white space, not punctuation


def test_precedence_follows_the_paper():
    # char 't' at the end: in a repeat (memory), a rare word, and given p 0.9 by a 2-gram
    text = "ab zqxt zqxt"
    t = len(text) - 1
    p2 = np.zeros(len(text))
    p2[t] = 0.9
    assert classes(text, [t], {2: p2})[t] == E.NGRAM
    assert classes(text, [t])[t] == E.MEMORY           # rare too, but memory comes first
    assert classes(text, [t], counts={"zqxt": 99})[t] == E.MEMORY
    # a word start inside a rare word is a rare-word error; in a common word, a word start
    assert classes("ab zqxt", [3])[3] == E.RARE
    assert classes("ab zqxt", [3], counts={"zqxt": 99})[3] == E.WORD


def test_correct_characters_and_the_first_are_not_errors():
    text = "hello there"
    p = np.full(len(text), 0.5)       # exactly 0.5 is right
    p[0] = np.nan
    ids, vocab = ids_of(text)
    out = E.classify(ids, vocab, p, None, {})
    assert (out == E.CORRECT).all()
    b = E.summarise(out, ngram_used=False)
    assert (b.chars, b.errors, b.rate, b.shares) == (len(text) - 1, 0, 0.0, (0.0,) * 6)


def test_shares_sum_to_one_and_counts_to_the_errors():
    rng = np.random.default_rng(0)
    text = "".join(rng.choice(list("ab cd,.\nEf"), 3000))
    ids, vocab = ids_of(text)
    p = rng.random(len(text))
    p[0] = np.nan
    ngram_p = {n: rng.random(len(text)) * 0.6 for n in range(1, 10)}
    out = E.classify(ids, vocab, p, ngram_p, E.word_counts(text[:1500]))
    b = E.summarise(out)
    assert b.errors == int(np.sum(p[1:] < 0.5))
    assert sum(b.counts) == b.errors
    assert sum(b.shares) == pytest.approx(1.0)
    assert all(c > 0 for c in b.counts), b.counts      # this text meets every oracle


def test_word_counts_fold_case_and_skip_digits():
    assert E.word_counts("The the THE 42 x_y") == {"the": 3, "x": 1, "y": 1}


def test_examples_give_the_context_and_the_char():
    text = "abcdefghij"
    cls = np.full(len(text), E.CORRECT, np.int8)
    cls[[3, 8]] = E.PUNCT
    assert E.examples(text, cls, E.PUNCT, k=2, before=2) == [("bc", "d"), ("gh", "i")]
    assert E.examples(text, cls, E.RARE) == []


def test_decode_round_trips_any_script():
    text = "Привет, мир! 日本"
    ids, vocab = ids_of(text)
    assert E.decode(ids, vocab) == text


def test_context_cache_builds_once_per_split():
    ids, vocab = ids_of("a cat and a dog and a cat " * 20)
    cache = E.ContextCache()
    first = cache.get(ids, vocab)
    assert cache.get(ids, vocab) is first
    assert first.counts["cat"] == 40
    other = ids[:10].copy()
    assert cache.get(other, vocab) is not first


def test_a_bad_shape_is_refused():
    ids, vocab = ids_of("abc")
    with pytest.raises(ValueError):
        E.classify(ids, vocab, np.zeros(2), None, {})


def test_context_cache_limit_counts_only_the_start():
    ids, vocab = ids_of("cat " * 10 + "dog " * 10)
    cache = E.ContextCache()
    assert cache.get(ids, vocab, limit=20).counts == {"cat": 5}
    assert cache.get(ids, vocab).counts == {"cat": 10, "dog": 10}
