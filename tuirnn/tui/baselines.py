"""Which n-gram baselines the loss chart draws: a pure rule, tested alone."""
from __future__ import annotations

import math

# Which n-gram orders the loss chart draws (`B` cycles): 3, 5 and the best are the paper's
# landmarks (letters, syllables, the best any count does) without crowding an 80x24 chart.
BASELINE_VIEWS = ("3, 5, best n-gram", "best n-gram", "every n-gram", "no n-grams")


def baseline_orders(losses: tuple[float, ...], view: str) -> list[int]:
    """The orders (1-based) `view` (one of BASELINE_VIEWS) draws of `losses`."""
    finite = [n for n, v in enumerate(losses, 1) if math.isfinite(v)]
    if not finite or view == "no n-grams":
        return []
    best = min(finite, key=lambda n: losses[n - 1])
    if view == "every n-gram":
        return finite
    if view == "best n-gram":
        return [best]
    return sorted({n for n in (3, 5) if n in finite} | {best})
