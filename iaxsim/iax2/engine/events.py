"""Events the engine hands to its application (``Endpoint.next_event()``).

Plain frozen dataclasses (slotted, picklable), one per thing that happened. ``call_id`` is our
local call number of the dialog concerned (the value ``place_call``/``poke``/``dial_lookup``
returned, or the one an ``IncomingCall`` announced); ``addr`` is the peer's ``(host, port)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Event:
    """Base class of every engine event."""


@dataclass(frozen=True, slots=True)
class IncomingCall(Event):
    """A NEW passed call-token and authentication checks.

    ``accepted`` is True when the engine already sent ACCEPT itself (a dialplan is configured
    and the extension exists); otherwise the application must ``accept``/``answer``/``reject``.
    """

    call_id: int
    addr: Address
    called_number: str
    context: str
    calling_number: Optional[str]
    calling_name: Optional[str]
    username: Optional[str]
    format: int
    capability: int
    accepted: bool


@dataclass(frozen=True, slots=True)
class CallStarted(Event):
    """The caller's explicit ACK of our ACCEPT arrived: the called side's dialplan may run.

    Asterisk starts the PBX on an incoming call only then (``chan_iax2.c``, the delayed PBX
    start of ``socket_process``): RINGING, ANSWER, BUSY or CONGESTION the application asked for
    before it were held and have just been sent."""

    call_id: int


@dataclass(frozen=True, slots=True)
class CallRefused(Event):
    """The engine itself refused an incoming NEW (REJECT sent): bad credentials, no such
    extension, no common codec. Reported so an application can log every call attempt."""

    call_id: int
    addr: Address
    called_number: str
    context: str
    cause: str
    code: int


@dataclass(frozen=True, slots=True)
class CallAccepted(Event):
    """Our NEW was accepted (ACCEPT received) with media ``format``."""

    call_id: int
    format: int


@dataclass(frozen=True, slots=True)
class CallRinging(Event):
    """The far end is ringing (control RINGING)."""

    call_id: int


@dataclass(frozen=True, slots=True)
class CallProgress(Event):
    """Control PROCEEDING or PROGRESS received (``what`` names which)."""

    call_id: int
    what: str


@dataclass(frozen=True, slots=True)
class CallAnswered(Event):
    """The far end answered (control ANSWER)."""

    call_id: int


@dataclass(frozen=True, slots=True)
class CallBusy(Event):
    """The far end signalled busy (control BUSY); the call stays until someone hangs up."""

    call_id: int


@dataclass(frozen=True, slots=True)
class CallCongestion(Event):
    """The far end signalled congestion (control CONGESTION)."""

    call_id: int


@dataclass(frozen=True, slots=True)
class CallRejected(Event):
    """Our call attempt was rejected (REJECT received); CAUSE text and Q.931 CAUSECODE."""

    call_id: int
    cause: Optional[str]
    code: Optional[int]


@dataclass(frozen=True, slots=True)
class CallHungUp(Event):
    """The peer hung up (IAX HANGUP), or invalidated the call (INVAL: cause and code None)."""

    call_id: int
    cause: Optional[str]
    code: Optional[int]


@dataclass(frozen=True, slots=True)
class CallFailed(Event):
    """The call died locally: retransmissions exhausted (cause 27, as Asterisk hangs up the
    channel with AST_CAUSE_DESTINATION_OUT_OF_ORDER), or authentication impossible."""

    call_id: int
    cause: str
    code: int


@dataclass(frozen=True, slots=True)
class VoiceReceived(Event):
    """A voice frame (full, mini or trunk entry) with its reconstructed 32-bit timestamp."""

    call_id: int
    payload: bytes
    format: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class DtmfReceived(Event):
    """A DTMF digit (frame type DTMF end)."""

    call_id: int
    digit: str


@dataclass(frozen=True, slots=True)
class Registered(Event):
    """Our registration was acknowledged (REGACK)."""

    reg_id: int
    addr: Address
    username: str
    refresh: int
    apparent_addr: Optional[Address]


@dataclass(frozen=True, slots=True)
class RegistrationFailed(Event):
    """Our registration was refused (REGREJ: cause/code) or timed out (cause "timeout")."""

    reg_id: int
    addr: Address
    username: str
    cause: Optional[str]
    code: Optional[int]


@dataclass(frozen=True, slots=True)
class PeerRegistered(Event):
    """A peer registered with us (we sent REGACK)."""

    username: str
    addr: Address
    refresh: int


@dataclass(frozen=True, slots=True)
class PeerUnregistered(Event):
    """A peer's registration ended: ``reason`` is "released" (REGREL) or "expired"."""

    username: str
    addr: Address
    reason: str


@dataclass(frozen=True, slots=True)
class PongReceived(Event):
    """A PONG answered our POKE or PING; ``rtt`` in seconds (from the echoed timestamp)."""

    call_id: int
    addr: Address
    rtt: float


@dataclass(frozen=True, slots=True)
class LagReply(Event):
    """A LAGRP answered our LAGRQ; ``lag`` in seconds."""

    call_id: int
    lag: float


@dataclass(frozen=True, slots=True)
class PokeTimeout(Event):
    """Our POKE got no PONG within its timeout (peer unreachable; Asterisk's
    iax2_poke_noanswer, 22 s after the POKE by default)."""

    call_id: int
    addr: Address


@dataclass(frozen=True, slots=True)
class DialplanReply(Event):
    """A DPREP answered our DPREQ: ``status`` is the DPSTATUS flags, ``refresh`` seconds."""

    call_id: int
    number: str
    status: int
    refresh: Optional[int]


@dataclass(frozen=True, slots=True)
class DialplanTimeout(Event):
    """No DPREP for ``number`` within the lookup timeout (Asterisk iaxdefaulttimeout, 5 s)."""

    call_id: int
    number: str
