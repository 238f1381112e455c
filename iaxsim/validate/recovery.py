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


def recovery_frame(data: bytes) -> FullFrame | None:
    """The datagram's frame if it is a retransmission (R bit) or a VNAK, else None."""
    try:
        frame = decode(data)
    except DecodeError:
        return None
    if not isinstance(frame, FullFrame):
        return None
    if frame.retransmitted or (frame.frametype == FrameType.IAX
                               and frame.subclass == IAXSubclass.VNAK):
        return frame
    return None


def is_recovery(data: bytes) -> bool:
    """The datagram is a retransmission (R bit) or a VNAK."""
    return recovery_frame(data) is not None


Address = tuple[str, int]


class RecoveryIndex:
    """Recovery datagrams of a capture, for queries per server and time window.

    A recovery counts as loss recovery only where the other end was reachable: a retransmission
    or VNAK the server *received*, or one it *sent* to an address it then heard from within the
    window. NEWs retransmitted to an address that never answers (unreachable, firewalled) are
    the engine giving up slowly, not a loss, and do not count.
    """

    def __init__(self, datagrams: Iterable[tuple[float, Address, Address, bytes]]):
        """``datagrams``: (time, source, destination, data)."""
        self.recoveries: list[tuple[float, Address, Address, int, int]] = []
        self.heard: dict[tuple[Address, Address], list[float]] = {}
        for t, src, dst, data in datagrams:
            self.heard.setdefault((src, dst), []).append(t)
            frame = recovery_frame(data)
            if frame is not None:
                self.recoveries.append((t, src, dst, frame.source_call, frame.dest_call))

    def any_between(self, own: set[Address], start: float, end: float,
                    calls: set[int] | None = None) -> bool:
        """Loss recovery to or from one of the ``own`` addresses in ``[start, end]``; with
        ``calls``, only on those call numbers of ours (the call's own dialogs)."""
        for t, src, dst, scall, dcall in self.recoveries:
            if not start <= t <= end:
                continue
            if dst in own and (calls is None or dcall in calls):
                return True
            if (src in own and (calls is None or scall in calls)
                    and any(t < u <= end for u in self.heard.get((dst, src), ()))):
                return True
        return False
