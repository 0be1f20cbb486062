"""Corpus text -> character ids -> char-rnn style batches.

The corpus is held as one small-int tensor (uint8 when the vocabulary fits, else int16/int32),
never as a Python list of characters, so memory stays proportional to the file size.

Batching follows char-rnn / torch-rnn: a split of N ids is cut into `batch_size` contiguous
streams (rows); batch i is columns [i*T, (i+1)*T) of every row, so row b of batch i+1 continues
row b of batch i and the hidden state can be carried across batches.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch

from .errors import UserError

# a word, for the samples' word-share measure: 2+ letters. Here rather than in sample.py
# because the corpus collects its words when it loads, and sample.py already reads this module.
WORD = re.compile(r"[^\W\d_]{2,}")
_CHUNK = 8_000_000  # code points converted per step (bounds the int64 index temporaries)


def decode_corpus(raw: bytes, name: str, normalize_newlines: bool = True) -> str:
    """UTF-8 bytes -> text: BOM stripped, CRLF and lone CR -> LF; binary rejected."""
    if not raw:
        raise UserError(f"corpus {name} is empty; give a text file with some content")
    if b"\x00" in raw[:1_000_000]:
        raise UserError(f"corpus {name} looks binary (it contains NUL bytes); give a UTF-8 text file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(
            f"corpus {name} is not UTF-8 text (bad byte at offset {e.start}); "
            "convert it, e.g. iconv -f latin1 -t utf-8") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if normalize_newlines and "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text:
        raise UserError(f"corpus {name} is empty; give a text file with some content")
    return text


def id_dtype(vocab_size: int) -> torch.dtype:
    if vocab_size <= 256:
        return torch.uint8
    if vocab_size <= 32767:
        return torch.int16
    return torch.int32


def _code_point_chunks(text: str):
    """Yield (start, code points as an int64 tensor) over `text` in bounded chunks.

    Text of code points < 256 goes through 1 byte a character, the rest through UTF-32.
    """
    for start in range(0, len(text), _CHUNK):
        piece = text[start:start + _CHUNK]
        try:  # a copy for text CPython already stores one byte a character
            cps = torch.frombuffer(bytearray(piece.encode("latin-1")), dtype=torch.uint8)
        except UnicodeEncodeError:
            cps = torch.frombuffer(bytearray(piece.encode("utf-32-le")), dtype=torch.int32)
        yield start, cps.long()


def vocab_of(text: str) -> str:
    """The sorted distinct characters, counted with bincount rather than a Python set."""
    counts = torch.zeros(0, dtype=torch.long)
    for _, cps in _code_point_chunks(text):
        c = torch.bincount(cps)
        if len(c) > len(counts):
            c[: len(counts)] += counts
            counts = c
        else:
            counts[: len(c)] += c
    return "".join(chr(i) for i in torch.nonzero(counts).flatten().tolist())


def encode(text: str, vocab: str) -> torch.Tensor:
    """text -> ids (len(text),) in the smallest int dtype; every char must be in vocab."""
    table_size = ord(max(vocab)) + 1
    table = torch.full((table_size,), -1, dtype=torch.int32)
    table[torch.tensor([ord(ch) for ch in vocab], dtype=torch.long)] = torch.arange(len(vocab), dtype=torch.int32)
    ids = torch.empty(len(text), dtype=id_dtype(len(vocab)))
    for start, cps in _code_point_chunks(text):
        if int(cps.max()) >= table_size:
            raise KeyError("character outside the vocabulary")
        mapped = table[cps]
        if bool((mapped < 0).any()):
            raise KeyError("character outside the vocabulary")
        ids[start:start + len(cps)] = mapped.to(ids.dtype)
    return ids


def decode(ids, vocab: str) -> str:
    return "".join(vocab[i] for i in (ids.tolist() if hasattr(ids, "tolist") else ids))


def words_of(text: str) -> set[str]:
    """Lower-cased alphabetic words of 2+ letters (the unit of the word-share measure)."""
    return {w.lower() for w in WORD.findall(text)}


def unknown_chars(text: str, vocab: str) -> list[str]:
    known = set(vocab)
    return sorted({ch for ch in text if ch not in known})


def split_sizes(n: int, val_frac: float, test_frac: float = 0.0) -> tuple[int, int, int]:
    """(train, val, test) character counts: the text is cut in that order, so the held-out
    test split is the end of the text and validation comes just before it."""
    n_val, n_test = int(n * val_frac), int(n * test_frac)
    return n - n_val - n_test, n_val, n_test


@dataclass
class Corpus:
    name: str
    vocab: str                 # sorted distinct characters
    train: torch.Tensor        # (N_train,) small-int ids
    val: torch.Tensor          # (N_val,)
    known_words: set[str] = field(default_factory=set)  # for the samples' word-share measure
    # (N_test,) held out: never trained on, never used to pick a checkpoint; `tuirnn eval` only
    test: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.uint8))

    @classmethod
    def from_text(cls, text: str, name: str, val_frac: float, test_frac: float = 0.0) -> "Corpus":
        vocab = vocab_of(text)
        ids = encode(text, vocab)
        n_train, n_val, _ = split_sizes(len(ids), val_frac, test_frac)
        # Words of the first few MB are plenty to judge whether a sample's words are real.
        return cls(name, vocab, ids[:n_train], ids[n_train:n_train + n_val],
                   words_of(text[:n_train][:5_000_000]), test=ids[n_train + n_val:])


class Batcher:
    """Contiguous-stream batches over one split, on `device`.

    x[i], y[i]: (B, T) int64, y shifted by one character. `len(self)` batches per epoch.
    """

    def __init__(self, ids: torch.Tensor, batch_size: int, seq_length: int,
                 device: torch.device | str = "cpu", split: str = "train"):
        B, T = batch_size, seq_length
        n_batches = (len(ids) - 1) // (B * T)
        if n_batches < 1:
            raise UserError(
                f"the {split} split has {len(ids):,} characters, fewer than one batch needs "
                f"(batch_size x seq_length + 1 = {B * T + 1:,}); lower train.batch_size or "
                f"train.seq_length{f' or raise data.{split}_frac' if split in ('val', 'test') else ''}, or use a bigger corpus")
        n = n_batches * B * T
        # Kept in the small dtype on the device; widened per batch (cheap, avoids 8x memory).
        self.x = ids[:n].view(B, -1).to(device)
        self.y = ids[1:n + 1].view(B, -1).to(device)
        self.n_batches = n_batches
        self.seq_length = T
        self.batch_size = B

    def __len__(self) -> int:
        return self.n_batches

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        T = self.seq_length
        cols = slice(i * T, (i + 1) * T)
        return self.x[:, cols].long(), self.y[:, cols].long()

    @property
    def chars_per_batch(self) -> int:
        return self.batch_size * self.seq_length


def val_batcher(ids: torch.Tensor, batch_size: int, seq_length: int, device,
                split: str = "val") -> Batcher:
    """A held-out split (val, test) is often small: use fewer streams rather than refuse it."""
    B = max(1, min(batch_size, (len(ids) - 1) // seq_length))
    return Batcher(ids, B, seq_length, device, split=split)
