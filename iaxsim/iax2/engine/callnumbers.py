"""Call-number pool: seeded random allocation, release with a hold-off before reuse.

The order is that of ``random.shuffle`` over ``low .. high`` taken from the end, but nothing is
shuffled up front: ``random.shuffle`` swaps position ``i`` (from the last down to 1) with
``j = randbelow(i + 1)``, and position ``i`` is never touched again, so the number taken at the
k-th allocation is known after k swap steps. The pool performs one step per number taken (a
lazy Fisher-Yates shuffle), drawing from the generator exactly as ``random.shuffle`` would and
keeping only the positions the steps so far have displaced.
"""
from __future__ import annotations

import random
from collections import deque


class CallNumberPool:
    """Call numbers ``low .. high`` (inclusive), handed out in a seeded random order.

    A released number returns to the pool only ``hold_off`` seconds later (Asterisk's
    MIN_REUSE_TIME, 60 s), so late frames of an old call never reach a new one; returned
    numbers are handed out again before untouched ones, the most recently returned first.

    The pool owns ``rng`` from then on: it draws from it as numbers are taken.
    """

    __slots__ = ("_rng", "_step", "_moved", "_returned", "_held", "hold_off", "low", "high")

    def __init__(self, low: int, high: int, rng: random.Random, hold_off: float = 60.0):
        self.low, self.high, self.hold_off = low, high, hold_off
        self._rng = rng
        self._step = high - low             # the next swap position i (n - 1 down to 0; -1: done)
        self._moved: dict[int, int] = {}    # position -> number, where a swap left another one
        self._returned: list[int] = []      # numbers back from their hold-off
        self._held: deque[tuple[float, int]] = deque()

    def _take(self) -> int:
        """The number ``random.shuffle`` leaves at position ``_step``: one swap step."""
        i = self._step
        self._step = i - 1
        moved = self._moved
        at_i = moved.pop(i, self.low + i)
        if i == 0:                          # shuffle's last step is i = 1: nothing to draw
            return at_i
        j = self._rng.randrange(i + 1)      # shuffle's randbelow(i + 1)
        if j == i:
            return at_i
        taken = moved.get(j, self.low + j)
        moved[j] = at_i
        return taken

    def allocate(self, now: float) -> int | None:
        """A free call number, or None when all are in use or held off."""
        held = self._held
        while held and held[0][0] <= now:
            self._returned.append(held.popleft()[1])
        if self._returned:
            return self._returned.pop()
        return self._take() if self._step >= 0 else None

    def release(self, callno: int, now: float) -> None:
        """Give ``callno`` back; it becomes allocatable at ``now + hold_off``."""
        self._held.append((now + self.hold_off, callno))

    @property
    def available(self) -> int:
        """Numbers allocatable right now (not counting held ones)."""
        return len(self._returned) + self._step + 1

    @property
    def held(self) -> int:
        """Numbers waiting out their hold-off."""
        return len(self._held)
