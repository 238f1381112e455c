"""Per-call-number state (a "dialog": a call, a registration attempt, a poke) and the other
timer owners (client registrations, peer registrations, trunk buffers).

Every timer owner has ``alive``, ``scheduled`` (the deadline its heap entry is for) and
``next_deadline()``; the endpoint's one timer heap holds them all.
"""
from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass, field
from typing import Optional

from iaxsim.iax2.constants import ControlSubclass
from iaxsim.iax2.engine.reliability import Pending
from iaxsim.iax2.frames import TrunkEntry
from iaxsim.iax2.ies import IE

#: A peer's ``(host, port)``.
Address = tuple[str, int]


class Kind(enum.Enum):
    """What a call number is used for."""

    CALL = "call"
    REGISTER = "register"      # our REGREQ/REGREL attempt
    REGISTRAR = "registrar"    # a peer's REGREQ/REGREL to us
    POKE = "poke"              # our qualify POKE


class State(enum.Enum):
    """Dialog states; ``machine.TRANSITIONS`` says which frames move a dialog between them."""

    WAIT_REPLY = "wait_reply"        # caller: NEW/REGREQ/POKE sent, no answer yet
    AUTHENTICATING = "authenticating"  # callee/registrar: AUTHREQ/REGAUTH sent
    WAIT_APP = "wait_app"            # callee: IncomingCall emitted, application to decide
    ACCEPTED = "accepted"
    RINGING = "ringing"
    UP = "up"
    CLOSING = "closing"              # a final frame (HANGUP, REJECT, REGACK...) awaits its ACK


#: Every (kind, state) pair a dialog can be in, numbered. ``machine``'s tables are indexed by
#: these numbers and each dialog keeps its own (``Dialog.cell``), so a received frame finds its
#: row with plain ints rather than hashing two enum members (Enum hashes in Python).
CELLS: dict[tuple[Kind, State], int] = {
    pair: number for number, pair in enumerate(itertools.product(Kind, State))}

#: States in which a dialog is still open (not waiting for the ACK of its final frame).
OPEN = frozenset(State) - {State.CLOSING}


@dataclass(slots=True, eq=False, repr=False)
class Dialog:
    """State of one local call number."""

    callno: int
    addr: Address
    kind: Kind
    caller: bool
    start: float                   # engine time the dialog started (the timestamp base)
    pingtime: float                # round-trip estimate the retransmission timeout starts from
    peer_callno: Optional[int] = None
    state: State = State.WAIT_REPLY
    alive: bool = True
    scheduled: Optional[float] = None
    lastsent: int = 0
    oseqno: int = 0
    iseqno: int = 0
    rseqno: int = 0
    aseqno: int = 0
    pending: dict[int, Pending] = field(default_factory=dict)
    timers: dict[str, float] = field(default_factory=dict)
    request: Optional[tuple[int, list[IE]]] = None   # (subclass, IEs) to resend with a token
    token_sent: bool = False
    challenge: Optional[str] = None
    decoy: bool = False
    secret: Optional[str] = None
    username: Optional[str] = None
    called_number: str = ""
    context: str = ""
    calling_number: Optional[str] = None
    calling_name: Optional[str] = None
    format: int = 0
    capability: int = 0
    tbd: bool = False
    trunk: bool = False
    tx_format: int = 0
    last_voice_ts: int = -1
    next_voice_ts: Optional[int] = None
    rx_format: int = 0
    last_rx_ts: int = 0
    rx_voice: int = 0
    rx_ooo: int = 0
    reg: Optional[Registration] = None   # the Registration this attempt belongs to
    dp_queue: list[str] = field(default_factory=list)    # DPREQs waiting for ACCEPT
    dp_waiting: set[str] = field(default_factory=set)    # DPREQs sent, reply pending
    ping_sent: dict[int, float] = field(default_factory=dict)
    validated: bool = True               # False: started without a call token
    #: Called side between our ACCEPT and the caller's explicit ACK of it: the control frames
    #: (RINGING, ANSWER, BUSY, CONGESTION) the application sends meanwhile wait here, because
    #: the called side's dialplan only starts with that ACK. None: not waiting (caller side,
    #: TBD calls, or the ACK has come).
    held: Optional[list[ControlSubclass]] = None
    #: ``CELLS[(kind, state)]``, kept by ``Core.advance`` as the state changes
    cell: int = field(init=False)

    def __post_init__(self) -> None:
        self.cell = CELLS[(self.kind, self.state)]

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


@dataclass(slots=True, eq=False)
class Registration:
    """Our registration with a registrar (client side): refreshed until unregistered."""

    reg_id: int
    addr: Address
    username: str
    secret: Optional[str]
    refresh: int
    dialog: Optional[Dialog] = field(default=None, repr=False)
    alive: bool = True
    scheduled: Optional[float] = None
    deadline: Optional[float] = None
    registered: bool = False

    def next_deadline(self) -> Optional[float]:
        """When to try again (refresh or retry), or None."""
        return self.deadline


@dataclass(slots=True, eq=False)
class PeerEntry:
    """A peer registered with us (registrar side); expires at ``deadline``."""

    username: str
    addr: Address
    refresh: int
    deadline: Optional[float]
    alive: bool = True
    scheduled: Optional[float] = None

    def next_deadline(self) -> Optional[float]:
        """When the registration expires."""
        return self.deadline


@dataclass(slots=True, eq=False)
class TrunkBuffer:
    """Voice waiting to go to one trunk peer in the next meta trunk frame."""

    addr: Address
    start: float
    entries: list[TrunkEntry] = field(default_factory=list)
    size: int = 0
    alive: bool = True
    scheduled: Optional[float] = None
    deadline: Optional[float] = None

    def next_deadline(self) -> Optional[float]:
        """When the buffered entries go out."""
        return self.deadline
