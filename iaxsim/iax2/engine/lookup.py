"""Dial-plan requests: DPREQ/DPREP over a "TBD" call (RFC 5456 §6.5; Asterisk chan_iax2.c
dp_lookup, iax2_exists and the dpcache).

The asking side opens one TBD call per (peer, context, username), queues DPREQs until it is
accepted, reports ``DialplanReply`` or ``DialplanTimeout`` and hangs the call up ``tbd_idle``
seconds after its last DPREQ (chan_iax2.c iax2_dprequest and auto_hangup); the answering side
replies from its dialplan.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from iaxsim.iax2.constants import DPStatus, FrameType, IAXSubclass, IEType
from iaxsim.iax2.engine import calls
from iaxsim.iax2.engine import events as ev
from iaxsim.iax2.engine.common import dp_bool, ies
from iaxsim.iax2.engine.dialog import OPEN, Address, Dialog, State
from iaxsim.iax2.frames import FullFrame

if TYPE_CHECKING:
    from iaxsim.iax2.engine.core import Core


def dial_lookup(core: Core, addr: Address, number: str, context: str, now: float,
                username: Optional[str], secret: Optional[str]) -> int:
    """See ``Endpoint.dial_lookup``."""
    addr = (addr[0], addr[1])
    key = (addr, context, username)
    d = core.tbd.get(key)
    if d is None or not d.alive or d.state is State.CLOSING:
        d = core.dialogs[calls.place_call(
            core, addr, "TBD", now=now, context=context, calling_number=None,
            calling_name=None, username=username, secret=secret, formats=None, format=None,
            maxtime=None)]
        core.tbd[key] = d
    if d.state is State.WAIT_REPLY:
        d.dp_queue.append(number)
    else:
        calls.send_dpreq(core, d, number, now)
    d.timers["dp:" + number] = now + core.config.dp_timeout
    core.schedule(d, now + core.config.dp_timeout)
    return d.callno


def dp_status(dialplan: Any, number: str, context: str,
              callerid: Optional[str] = None) -> DPStatus:
    """DPSTATUS flags for ``number`` in ``context``, as Asterisk's dp_lookup computes them
    (NONEXISTENT when there is no dialplan)."""
    if dialplan is None:
        return DPStatus.NONEXISTENT
    if dp_bool(dialplan.exists, number, context, callerid):
        status = DPStatus.EXISTS
    elif dp_bool(dialplan.canmatch, number, context, callerid):
        status = DPStatus.CANEXIST
    else:
        status = DPStatus.NONEXISTENT
    ignorepat = getattr(dialplan, "ignorepat", None)
    if ignorepat is not None and dp_bool(ignorepat, number, context):
        status |= DPStatus.IGNOREPAT
    if dp_bool(dialplan.matchmore, number, context, callerid):
        status |= DPStatus.MATCHMORE
    return status


def on_dpreq(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """DPREP(CALLED_NUMBER, DPSTATUS, REFRESH) from our dialplan."""
    number = str(f.ie(IEType.CALLED_NUMBER) or "")
    status = dp_status(core.config.dialplan, number, d.context, d.calling_number)
    core.send(d, FrameType.IAX, IAXSubclass.DPREP, now, ies=ies(
        (IEType.CALLED_NUMBER, number), (IEType.DPSTATUS, status),
        (IEType.REFRESH, core.config.dp_refresh)))


def on_dprep(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """The answer to one of our DPREQs."""
    number = str(f.ie(IEType.CALLED_NUMBER) or "")
    d.dp_waiting.discard(number)
    d.timers.pop("dp:" + number, None)
    status = f.ie(IEType.DPSTATUS)
    core.events.append(ev.DialplanReply(
        d.callno, number, DPStatus(int(status)) if status is not None else DPStatus(0),
        f.ie(IEType.REFRESH)))


def timer_dp(core: Core, d: Dialog, now: float, number: str) -> None:
    """No DPREP for ``number`` within ``dp_timeout``."""
    if number in d.dp_waiting or number in d.dp_queue:
        d.dp_waiting.discard(number)
        if number in d.dp_queue:
            d.dp_queue.remove(number)
        core.events.append(ev.DialplanTimeout(d.callno, number))


def timer_idle(core: Core, d: Dialog, now: float, arg: str) -> None:
    """No DPREQ on the TBD call for ``tbd_idle`` seconds: hang it up."""
    if d.state in OPEN:
        core.send(d, FrameType.IAX, IAXSubclass.HANGUP, now, ies=ies((IEType.CAUSECODE, 16)),
                  final=True)

