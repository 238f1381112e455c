"""Python's cyclic garbage collector, paused while a simulation runs.

A run keeps every call in flight alive (its processes, engine dialogs, records, pending SimPy
events) and frees almost all of them by reference counting alone: a 25,000-call busy hour over
ten servers leaves under 9,000 objects in reference cycles. The cyclic collector's passes over
the live objects are then pure overhead, and they grow with the network: about a fifth of that
run's CPU time (``benchmarks/bench_sim.py``, docs/performance.md). :func:`paused` switches the
collector off for the run and back on afterwards, when the run's few cycles are collected as
usual. Results do not depend on it.
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
