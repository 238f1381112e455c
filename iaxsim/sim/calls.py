"""Call outcomes, the Q.850 causes the model uses, and the record of one call in progress."""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import simpy


class Outcome(enum.StrEnum):
    """How a call ended, as ``SimResult.calls["outcome"]`` shows it."""

    ANSWERED = "answered"
    BUSY = "busy"
    CONGESTION = "congestion"
    REJECTED = "rejected"
    FAILED = "failed"
    MISROUTED = "misrouted"


class Cause(enum.IntEnum):
    """Q.850 cause codes carried in REJECT and HANGUP (RFC 5456 section 8.6.21)."""

    USER_BUSY = 17
    NO_EXTENSION = 3
    CONGESTION = 34


#: the cause texts Asterisk sends with them (``main/causes.h`` descriptions)
CAUSE_TEXT = {Cause.NO_EXTENSION: "No such context/extension", Cause.CONGESTION: "Circuit/channel congestion",
              Cause.USER_BUSY: "User busy"}


@dataclass(slots=True)
class CallRecord:
    """One row of ``SimResult.calls`` while the call is in progress."""

    start: float
    origin: str
    dialled: str
    target: str
    answered_by: str = ""
    outcome: Outcome | None = None
    post_dial_delay: float = math.nan
    comparisons: int = 0
    attempts: int = 0
    frames: int = 0
    bytes: int = 0
    lookup_cpu: float = 0.0
    duration: float = 0.0
    cause_code: int = 0
    digit_wait: float = 0.0
    wrong_server: int = 0

    def row(self) -> tuple[float, str, str, str, str, str, float, int, int, int, int, float, float, int, float,
                           int]:
        """The record as a row of ``SimResult.calls`` (the outcome as its plain string)."""
        return (self.start, self.origin, self.dialled, self.target, self.answered_by,
                "" if self.outcome is None else str(self.outcome), self.post_dial_delay,
                self.comparisons, self.attempts, self.frames, self.bytes, self.lookup_cpu,
                self.duration, self.cause_code, self.digit_wait, self.wrong_server)


class CallLog:
    """The calls of a run: the records kept (after the warm-up) and the calls still going."""

    def __init__(self, env: simpy.Environment):
        self.records: list[CallRecord] = []
        self.active = 0
        self.arrivals_done = False
        self.done = env.event()  #: succeeds when the arrivals are over and the last call ended

    def started(self, rec: CallRecord, kept: bool) -> None:
        """A call attempt began (``kept``: after the warm-up, so it gets a row)."""
        if kept:
            self.records.append(rec)
        self.active += 1

    def finished(self) -> None:
        """A call attempt ended."""
        self.active -= 1
        if self.arrivals_done and self.active == 0 and not self.done.triggered:
            self.done.succeed()
