"""Sequencing and retransmission rules (RFC 5456 §7, Asterisk chan_iax2.c; docs/engine.md).

Small pure functions and one record type, so each rule can be tested on its own; the endpoint
applies them through these functions only:

* every full frame except ACK, INVAL, TXCNT, TXACC and VNAK consumes a sequence number;
* a received frame whose oseqno is behind the expected one is a duplicate (re-ACK it), one
  ahead of it is out of order (send VNAK);
* a received iseqno acknowledges every frame we sent with a lower oseqno (within the window);
* the retransmission timeout starts at twice the ping time, clamped to [min, max], and is
  multiplied by ``retry_factor`` (x10) after each send, still capped; a frame is sent
  ``max_sends`` times (1 + 3) before giving up.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from iaxsim.iax2.constants import IAXSubclass
from iaxsim.iax2.frames import FullFrame, decode

#: IAX subclasses that do not consume a sequence number (and are never retransmitted).
UNSEQUENCED = frozenset({
    IAXSubclass.ACK, IAXSubclass.INVAL, IAXSubclass.TXCNT, IAXSubclass.TXACC, IAXSubclass.VNAK,
})


def first_rto(pingtime: float, min_retry: float, max_retry: float) -> float:
    """Initial retransmission timeout: 2 x ping time, clamped (Asterisk iax2_send)."""
    return min(max(2.0 * pingtime, min_retry), max_retry)


def next_rto(rto: float, factor: float, max_retry: float) -> float:
    """Timeout after another send: x factor, capped at max_retry."""
    return min(rto * factor, max_retry)


def classify(expected: int, oseqno: int) -> str:
    """'ok' when ``oseqno`` is the one expected, 'duplicate' when it is behind (within half
    the sequence space), 'ahead' otherwise."""
    if oseqno == expected:
        return "ok"
    return "duplicate" if ((expected - oseqno) & 0xFF) < 128 else "ahead"


def acked_by(iseqno: int, rseqno: int, oseqno: int) -> int:
    """How many of our unacknowledged frames (oseqnos ``rseqno`` .. ``oseqno``-1) a received
    ``iseqno`` acknowledges; 0 when it lies outside that window."""
    n = (iseqno - rseqno) & 0xFF
    return n if n <= ((oseqno - rseqno) & 0xFF) else 0


@dataclass(slots=True, eq=False)
class Pending:
    """A reliable frame awaiting acknowledgement."""

    oseqno: int
    data: bytes = field(repr=False)        # the frame's bytes as first sent
    deadline: float                        # when to retransmit (or give up)
    rto: float
    final: bool = False                    # acknowledged -> the dialog is destroyed
    sends: int = 1
    retrans: bytes | None = field(default=None, repr=False)

    @property
    def frame(self) -> FullFrame:
        """The frame sent, read back from its bytes (only the bytes are kept)."""
        frame = decode(self.data)
        assert isinstance(frame, FullFrame)  # the engine queues full frames only
        return frame

    def retransmission(self) -> bytes:
        """The frame's bytes with the R bit set (same timestamp and sequence numbers)."""
        if self.retrans is None:
            # the R bit is the top bit of the destination call number (bytes 2-3): the
            # bytes kept from the first send, that bit set, are the frame re-encoded with it
            data = self.data
            self.retrans = data[:2] + bytes((data[2] | 0x80,)) + data[3:]
        return self.retrans
