"""Per-call-number state (a "dialog": a call, a registration attempt, a poke) and the other
timer owners (client registrations, peer registrations, trunk buffers)."""
from __future__ import annotations

import enum
from typing import Any, Optional

from iaxsim.iax2.engine.reliability import Pending

#: A peer's ``(host, port)`` tuple. Typed Any, not ``tuple[str, int]``: compiled with mypyc, a
#: fixed-length tuple attribute is stored unboxed and every read would build a new tuple.
Address = Any
#: A name or number as the application gave it (a str, or what the IE takes): typed Any so the
#: compiled class keeps what the source keeps; the IE reports a value that cannot be sent.
Text = Any


class Kind(enum.Enum):
    """What a call number is used for."""

    CALL = "call"
    REGISTER = "register"      # our REGREQ/REGREL attempt
    REGISTRAR = "registrar"    # a peer's REGREQ/REGREL to us
    POKE = "poke"              # our qualify POKE


class State(enum.Enum):
    """Dialog states; docs/engine.md has the transition tables."""

    WAIT_REPLY = "wait_reply"        # caller: NEW/REGREQ/POKE sent, no answer yet
    AUTHENTICATING = "authenticating"  # callee/registrar: AUTHREQ/REGAUTH sent
    WAIT_APP = "wait_app"            # callee: IncomingCall emitted, application to decide
    ACCEPTED = "accepted"
    RINGING = "ringing"
    UP = "up"
    CLOSING = "closing"              # a final frame (HANGUP, REJECT, REGACK...) awaits its ACK


# Members are singletons compared by identity: hash them by identity too (C-level), instead of
# Enum's Python-level hash of the name, which every ``state in frozenset`` test paid for.
Kind.__hash__ = object.__hash__  # type: ignore[method-assign]
State.__hash__ = object.__hash__  # type: ignore[method-assign]


class Dialog:
    """State of one local call number."""

    __slots__ = (
        "callno", "addr", "peer_callno", "kind", "caller", "state", "start", "alive",
        "scheduled", "lastsent", "oseqno", "iseqno", "rseqno", "aseqno", "pending", "timers",
        "pingtime", "request", "token_sent", "challenge", "decoy", "secret", "username",
        "called_number", "context", "calling_number", "calling_name", "format", "capability",
        "tbd", "trunk", "tx_format", "last_voice_ts", "next_voice_ts", "rx_format",
        "last_rx_ts", "rx_voice", "rx_ooo", "reg", "dp_queue", "dp_waiting", "ping_sent",
        "validated",
    )

    def __init__(self, callno: int, addr: Address, kind: Kind, caller: bool, now: float,
                 pingtime: float):
        self.callno = callno
        self.addr = addr
        self.peer_callno: Optional[int] = None
        self.kind = kind
        self.caller = caller
        self.state = State.WAIT_REPLY
        self.start = now
        self.alive = True
        self.scheduled: Optional[float] = None
        self.lastsent = 0
        self.oseqno = 0
        self.iseqno = 0
        self.rseqno = 0
        self.aseqno = 0
        self.pending: dict[int, Pending] = {}
        self.timers: dict[str, float] = {}
        self.pingtime = pingtime
        self.request: Optional[tuple[Any, list]] = None   # (subclass, ies) to resend with token
        self.token_sent = False
        self.challenge: Optional[str] = None
        self.decoy = False
        self.secret: Optional[str] = None
        self.username: Optional[Text] = None
        self.called_number: Text = ""
        self.context: Text = ""
        self.calling_number: Optional[Text] = None
        self.calling_name: Optional[Text] = None
        self.format = 0
        self.capability = 0
        self.tbd = False
        self.trunk = False
        self.tx_format = 0
        self.last_voice_ts = -1
        self.next_voice_ts: Optional[int] = None
        self.rx_format = 0
        self.last_rx_ts = 0
        self.rx_voice = 0
        self.rx_ooo = 0
        self.reg: Any = None                  # the Registration this attempt belongs to
        self.dp_queue: list[str] = []          # DPREQs waiting for ACCEPT
        self.dp_waiting: set[str] = set()      # DPREQs sent, reply pending
        self.ping_sent: dict[int, float] = {}
        self.validated = True                  # False: started without a call token

    def next_deadline(self) -> Optional[float]:
        """Earliest retransmission or timer deadline, or None."""
        best = None
        for p in self.pending.values():
            if best is None or p.deadline < best:
                best = p.deadline
        for t in self.timers.values():
            if best is None or t < best:
                best = t
        return best

    def ms(self, now: float) -> int:
        """Milliseconds since the dialog started (the timestamp base)."""
        return int((now - self.start) * 1000.0)

    def __repr__(self) -> str:
        return (f"<Dialog {self.callno} {self.kind.value} {'caller' if self.caller else 'callee'}"
                f" {self.state.value} peer={self.addr}/{self.peer_callno}>")


class Registration:
    """Our registration with a registrar (client side): refreshed until unregistered."""

    __slots__ = ("reg_id", "addr", "username", "secret", "refresh", "dialog", "alive",
                 "scheduled", "deadline", "registered")

    def __init__(self, reg_id: int, addr: Address, username: Text, secret: Optional[str],
                 refresh: int):
        self.reg_id = reg_id
        self.addr = addr
        self.username = username
        self.secret = secret
        self.refresh = refresh
        self.dialog: Optional[Dialog] = None
        self.alive = True
        self.scheduled: Optional[float] = None
        self.deadline: Optional[float] = None
        self.registered = False

    def next_deadline(self) -> Optional[float]:
        return self.deadline


class PeerEntry:
    """A peer registered with us (registrar side); expires at ``deadline``."""

    __slots__ = ("username", "addr", "refresh", "deadline", "alive", "scheduled")

    def __init__(self, username: str, addr: Address, refresh: int, deadline: float):
        self.username = username
        self.addr = addr
        self.refresh = refresh
        self.deadline = deadline
        self.alive = True
        self.scheduled: Optional[float] = None

    def next_deadline(self) -> Optional[float]:
        return self.deadline


class TrunkBuffer:
    """Voice waiting to go to one trunk peer in the next meta trunk frame."""

    __slots__ = ("addr", "entries", "size", "start", "alive", "scheduled", "deadline")

    def __init__(self, addr: Address, now: float):
        self.addr = addr
        self.entries: list = []
        self.size = 0
        self.start = now
        self.alive = True
        self.scheduled: Optional[float] = None
        self.deadline: Optional[float] = None

    def next_deadline(self) -> Optional[float]:
        return self.deadline
