"""Python's cyclic garbage collector, paused while a block allocates or keeps alive many objects.

Loading a dialplan of 100k extensions allocates millions of long-lived objects, and a simulation
run keeps every call in flight alive (its processes, engine dialogs, records, pending SimPy
events). Both free almost everything by reference counting alone: a 25,000-call busy hour over
ten servers leaves under 9,000 objects in reference cycles. The collector's repeated passes over
the growing or live heap are then pure overhead (about a fifth of that run's CPU time,
docs/performance.md). :func:`paused` switches it off for the block and back on afterwards, when
the few cycles left are collected as usual. Results do not depend on it.
"""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """Switch the cyclic garbage collector off inside the ``with`` block; it is switched back
    on afterwards (even when the block raises) unless it was already off."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
