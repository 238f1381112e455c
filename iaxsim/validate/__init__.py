"""Is the simulator right? Replay a simulated call list on real nodes and compare call by call.

:func:`validate` runs a scenario in the simulator (:func:`iaxsim.sim.simulate`), takes the first
``calls`` calls of the measured period, and replays them on real :class:`iaxsim.net.node.Node`
servers on loopback UDP, linked through the WAN emulator (:mod:`iaxsim.net.wan`) with the
scenario's network: the same dialled numbers from the same origins at the same offsets from the
start of the measured period, held for the same time. Each call's outcome, answering server,
dial attempts and post-dial delay are then compared (:func:`compare`).

Definitions follow the simulator (``iaxsim/sim/model.py``):

* *post-dial delay*: from the moment the number is dialled at the origin to the first RINGING
  or ANSWER that reaches the caller, or, for a call that never rings, to its final failure;
* *attempts*: the link.conf ``Dial()`` steps the origin tried for the call (a NEW each, or a
  peer skipped as unavailable); 0 for a local call;
* *outcome*: ``answered`` / ``misrouted`` / ``busy`` / ``congestion`` / ``rejected`` /
  ``failed``, as in ``SimResult.calls``.
"""
from __future__ import annotations

from iaxsim.validate.compare import (CallResult, ClassRow, Disagreement, Report, compare,
                                     tolerance)
from iaxsim.validate.replay import ReplayCall, replay, unsupported
from iaxsim.validate.run import validate

__all__ = ["validate", "compare", "tolerance", "replay", "unsupported", "CallResult",
           "ClassRow", "Disagreement", "Report", "ReplayCall"]
