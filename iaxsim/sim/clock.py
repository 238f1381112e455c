"""Scheduling at a simulated time worked out elsewhere, through SimPy's public API.

SimPy schedules an event ``delay`` after ``env.now`` at ``env.now + delay``. A time worked out
elsewhere (an arrival held back behind the datagram before it, the engine's next timer) should
be hit exactly, not one rounding early, or an event could overtake one due at that very time:
:func:`delay_until` returns the delay that lands on it, or just after it when no delay can.
"""
from __future__ import annotations

import math


def delay_until(now: float, at: float) -> float:
    """A delay ``d >= 0`` with ``now + d == at`` in floating point (``at >= now``), or, when no
    delay lands there, the one landing on the next float after ``at``.

    ``at - now`` is exact, and so lands on ``at``, whenever ``now >= at / 2`` (Sterbenz's
    lemma); otherwise the rounded difference may land a float early or late and is moved by
    units in the last place until it lands on ``at``, or on the first float after it.
    """
    d = at - now
    while now + d > at:
        d = math.nextafter(d, -math.inf)
    while now + d < at:
        d = math.nextafter(d, math.inf)
    return d
