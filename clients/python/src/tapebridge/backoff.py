"""Capped exponential backoff with full jitter."""

from __future__ import annotations

import random
from typing import Callable


class Backoff:
    """The n-th delay is uniform in [0, min(max_s, base_s * 2**n)], so clients that lost the same bridge do not come back in step."""

    def __init__(self, base_s: float, max_s: float, rand: Callable[[], float] = random.random) -> None:
        if base_s <= 0 or max_s < base_s:
            raise ValueError("backoff needs 0 < base <= max")
        self.base_s = base_s
        self.max_s = max_s
        self._random = rand
        self.attempt = 0

    def next(self) -> float:
        ceiling = min(self.max_s, self.base_s * 2 ** min(self.attempt, 30))
        self.attempt += 1
        return self._random() * ceiling

    def reset(self) -> None:
        self.attempt = 0
