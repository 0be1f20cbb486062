"""Draw text from a CharRNN, one character at a time (like char-rnn's sample.lua).

`generate` is a generator of characters, so callers can stream them. It uses its own seeded
torch.Generator, so sampling never disturbs the training RNG (resume stays exact).
"""
from __future__ import annotations

import math
from typing import Iterator

import torch

from .data import WORD, unknown_chars
from .errors import UserError


def check_prime(prime: str, vocab: str) -> None:
    missing = unknown_chars(prime, vocab)
    if missing:
        shown = " ".join(repr(ch) for ch in missing[:10])
        raise UserError(f"the prime text has characters the model never saw: {shown}; "
                        "remove them or prime with text from the training corpus")


def check_settings(length: int, temperature: float, top_k: int, seed: int | None,
                   argmax: bool = False) -> None:
    """Numbers that would fail deep inside torch (NaN probabilities, a negative seed)
    refused first, whoever asks: the CLI, the monitor's dialog or a socket client."""
    if length < 0:
        raise UserError(f"sample length must be 0 or more; got {length}")
    if not argmax and not (math.isfinite(temperature) and temperature > 0):
        raise UserError(f"sample temperature must be a number greater than 0; got {temperature}")
    if top_k < 0:
        raise UserError(f"top-k must be 0 (all characters) or more; got {top_k}")
    if seed is not None and seed < 0:
        raise UserError(f"sample seed must be 0 or more; got {seed}")


def default_prime(vocab: str) -> str:
    """Start after a newline when the corpus has one (a natural place to begin)."""
    return "\n" if "\n" in vocab else vocab[0]


@torch.no_grad()
def generate(model, vocab: str, length: int, prime: str = "", temperature: float = 1.0,
             top_k: int = 0, seed: int | None = None, argmax: bool = False,
             device: torch.device | str = "cpu") -> Iterator[str]:
    """Yield `length` new characters after feeding `prime` (or a default start)."""
    check_settings(length, temperature, top_k, seed, argmax)
    check_prime(prime, vocab)
    index = {ch: i for i, ch in enumerate(vocab)}
    start = prime or default_prime(vocab)
    gen = torch.Generator(device="cpu")
    # torch takes 64 bits: a bigger seed (train.seed + iteration near the top) wraps
    gen.manual_seed(seed % 2**63 if seed is not None else torch.seed() % 2**63)
    was_training = model.training
    model.eval()
    try:
        x = torch.tensor([[index[ch] for ch in start]], dtype=torch.long, device=device)
        logits, state = model(x)
        last = logits[0, -1]
        for _ in range(length):
            # Drawing on CPU with a CPU generator keeps GPU and CPU runs of one seed alike.
            scores = last.float().cpu()
            if argmax:
                nxt = int(scores.argmax())
            else:
                scores = scores / max(temperature, 1e-6)
                if 0 < top_k < scores.numel():
                    kth = torch.topk(scores, top_k).values[-1]
                    scores = scores.masked_fill(scores < kth, float("-inf"))
                probs = torch.softmax(scores, dim=-1)
                nxt = int(torch.multinomial(probs, 1, generator=gen))
            yield vocab[nxt]
            logits, state = model(torch.tensor([[nxt]], device=device), state)
            last = logits[0, -1]
    finally:
        model.train(was_training)


def word_share(sample: str, known_words: set[str]) -> float:
    """Share of the sample's words (2+ letters) that occur in the training text; 0 if none."""
    words = [w.lower() for w in WORD.findall(sample)]
    if not words:
        return 0.0
    return sum(w in known_words for w in words) / len(words)
