"""A progress bar in simulated seconds for long simulations (tqdm, on stderr)."""
from __future__ import annotations

from typing import Any


class SimClockBar:
    """Shows how far the simulated clock has run through ``total`` seconds.

    The model calls :meth:`at` with the current simulated time from events it already has
    (call arrivals), so the bar adds no SimPy event and cannot change a result. Updates are
    throttled to whole simulated seconds; tqdm throttles the redraws."""

    def __init__(self, total: float, desc: str = "simulate", **tqdm_options: Any):
        from tqdm.auto import tqdm

        self.total = max(1, int(round(total)))
        self.shown = 0
        self.bar = tqdm(total=self.total, desc=desc, unit="sim s", **tqdm_options)

    def at(self, now: float) -> None:
        """The simulated clock reached ``now`` seconds."""
        reached = min(self.total, int(now))
        if reached > self.shown:
            self.bar.update(reached - self.shown)
            self.shown = reached

    def close(self) -> None:
        """Fill the bar (the arrivals are over) and close it."""
        self.at(self.total)
        self.bar.close()

    def __enter__(self) -> "SimClockBar":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
