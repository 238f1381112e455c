"""Which calls needed loss recovery: a retransmitted full frame or a VNAK during call set-up.

RFC 5456 section 7 (reliable full frames): a full frame that is not acknowledged in time is sent
again with the R bit set, and a receiver that sees a gap in the sequence numbers asks for the
missing frames with VNAK (section 8.4). Either happens only after a datagram was lost (or delayed
past the retransmission timeout), so a call whose set-up window holds one is *loss-affected*.
"""
from __future__ import annotations

from collections.abc import Iterable

from iaxsim.iax2 import DecodeError, decode
from iaxsim.iax2.constants import FrameType, IAXSubclass
from iaxsim.iax2.frames import FullFrame


def is_recovery(data: bytes) -> bool:
    """The datagram is a retransmission (R bit) or a VNAK."""
    try:
        frame = decode(data)
    except DecodeError:
        return False
    if not isinstance(frame, FullFrame):
        return False
    return frame.retransmitted or (frame.frametype == FrameType.IAX
                                   and frame.subclass == IAXSubclass.VNAK)


class RecoveryIndex:
    """Times of recovery datagrams between one host and others, for window queries."""

    def __init__(self, datagrams: Iterable[tuple[float, str, str, bytes]]):
        """``datagrams``: (time, source host, destination host, data)."""
        self.by_host: dict[str, list[float]] = {}
        for t, src, dst, data in datagrams:
            if is_recovery(data):
                for host in (src, dst):
                    self.by_host.setdefault(host, []).append(t)

    def any_between(self, hosts: Iterable[str], start: float, end: float) -> bool:
        """A recovery datagram to or from one of ``hosts`` in ``[start, end]``."""
        return any(start <= t <= end for h in hosts for t in self.by_host.get(h, ()))
