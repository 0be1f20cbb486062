import pytest
import torch

from tuirnn.core.data import Batcher, Corpus, decode_corpus, encode, id_dtype, val_batcher
from tuirnn.core.errors import UserError


def test_bom_and_newlines_normalised():
    text = decode_corpus("\ufeffa\r\nb\rc\n".encode("utf-8"), "t")
    assert text == "a\nb\nc\n"
    assert decode_corpus(b"a\r\nb", "t", normalize_newlines=False) == "a\r\nb"


@pytest.mark.parametrize("raw, fragment", [
    (b"", "is empty"),
    (b"\xef\xbb\xbf", "is empty"),
    (b"abc\x00\x01\x02", "binary"),
    (b"caf\xe9 au lait", "not UTF-8"),
])
def test_bad_corpora(raw, fragment):
    with pytest.raises(UserError, match=fragment):
        decode_corpus(raw, "t")


def test_vocab_sorted_and_ids_small():
    c = Corpus.from_text("hello world\n" * 100, "t", 0.1)
    assert c.vocab == "".join(sorted(set("hello world\n")))
    assert c.train.dtype == torch.uint8
    assert len(c.train) + len(c.val) == 1200 and len(c.val) == 120
    assert "hello" in c.known_words


def test_large_vocab_uses_int16_and_round_trips():
    text = "".join(chr(0x4E00 + i) for i in range(400)) + "abc"
    vocab = "".join(sorted(set(text)))
    ids = encode(text, vocab)
    assert id_dtype(len(vocab)) == torch.int16 and ids.dtype == torch.int16
    assert "".join(vocab[i] for i in ids.tolist()) == text


def test_batches_are_contiguous_streams():
    ids = torch.arange(0, 201, dtype=torch.int32) % 250
    b = Batcher(ids.to(torch.uint8), batch_size=4, seq_length=5)
    assert len(b) == (201 - 1) // 20
    x0, y0 = b[0]
    x1, _ = b[1]
    assert x0.shape == (4, 5) and x0.dtype == torch.long
    assert torch.equal(y0[:, :-1], x0[:, 1:])          # targets are the next characters
    assert torch.equal(x1[:, 0], y0[:, -1])            # row b of batch 1 continues row b of batch 0
    assert torch.equal(x0[1, 0], torch.tensor(50))     # rows start len/B apart


def test_too_small_corpus_says_how_small():
    with pytest.raises(UserError, match=r"fewer than one batch needs \(batch_size x seq_length \+ 1 = 2,501\)"):
        Batcher(torch.zeros(1000, dtype=torch.uint8), 50, 50)


def test_val_split_uses_fewer_streams():
    b = val_batcher(torch.zeros(300, dtype=torch.uint8), batch_size=50, seq_length=50, device="cpu")
    assert b.batch_size == 5 and len(b) == 1
