"""Call-number pool: random allocation, release with a hold-off before reuse."""
from __future__ import annotations

import random
from collections import deque


class CallNumberPool:
    """Call numbers ``low .. high`` (inclusive), handed out in a seeded random order.

    A released number returns to the pool only ``hold_off`` seconds later (Asterisk's
    MIN_REUSE_TIME, 60 s), so late frames of an old call never reach a new one.
    """

    __slots__ = ("_free", "_held", "hold_off", "low", "high")

    def __init__(self, low: int, high: int, rng: random.Random, hold_off: float = 60.0):
        self.low, self.high, self.hold_off = low, high, hold_off
        self._free = list(range(low, high + 1))
        rng.shuffle(self._free)
        self._held: deque[tuple[float, int]] = deque()

    def allocate(self, now: float) -> int | None:
        """A free call number, or None when all are in use or held off."""
        held = self._held
        while held and held[0][0] <= now:
            self._free.append(held.popleft()[1])
        return self._free.pop() if self._free else None

    def release(self, callno: int, now: float) -> None:
        """Give ``callno`` back; it becomes allocatable at ``now + hold_off``."""
        self._held.append((now + self.hold_off, callno))

    @property
    def available(self) -> int:
        """Numbers allocatable right now (not counting held ones)."""
        return len(self._free)

    @property
    def held(self) -> int:
        """Numbers waiting out their hold-off."""
        return len(self._held)
