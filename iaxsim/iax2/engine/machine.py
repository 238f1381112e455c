"""The dialog state machine: every transition, declared once, as a table.

Theory of operation
-------------------
A dialog (one local call number: a call, our registration attempt, a peer's registration,
our POKE) is in one :class:`~iaxsim.iax2.engine.dialog.State` at a time. Three things can
happen to it, and :data:`TRANSITIONS` lists, for each, the dialog kinds and states it is
allowed in and the state it leads to:

* a frame is **received** -- the row also names the handler that does the work (answer,
  report events, destroy the dialog). A frame in a kind or state no row lists is
  acknowledged (it consumed a sequence number) and counted as ``stats.unexpected``; a frame
  type or subclass with no row at all is counted as ``stats.unhandled`` (an unknown IAX
  subclass is answered with UNSUPPORT). The state changes before the handler runs.
* a frame is **sent** -- sending ACCEPT, RINGING, ANSWER, a challenge or a final frame is
  what moves the called side, or a registrar, on. Frames without a row leave the state alone.
* the application is **told** of an incoming call it must accept, ring, answer or reject.

A final frame (HANGUP, REJECT, REGACK, REGREJ) takes the dialog to CLOSING, where its timers
stop and only the acknowledgement matters; acknowledged (or given up on), the dialog is
destroyed and its call number released. Destruction is not a state: a destroyed dialog is
gone from the endpoint. Retransmission, sequencing and the call-token gate come before any
row is consulted (``core.py``, ``reliability.py``, ``calltoken.py``).

``core.Core.advance`` is the only code that assigns ``Dialog.state``, and it takes a row of
this table. ``render_markdown()`` writes the table for docs/engine.md (a test keeps the two
equal).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional

from iaxsim.iax2.constants import ControlSubclass, FrameType, IAXSubclass
from iaxsim.iax2.engine import calls, lookup, registration
from iaxsim.iax2.engine.dialog import CELLS, OPEN, Dialog, Kind, State
from iaxsim.iax2.frames import FullFrame

if TYPE_CHECKING:
    from iaxsim.iax2.engine.core import Core

#: What a received frame's handler is: it does the work, the table moved the state.
Handler = Callable[["Core", Dialog, FullFrame, float], None]
#: A frame as the table knows it: (frame type, subclass), subclass None for voice and DTMF.
FrameKey = tuple[int, Optional[int]]


class Via(enum.Enum):
    """How a transition is triggered."""

    RECEIVED = "received"
    SENT = "sent"
    TOLD = "told"      # the application was handed an incoming call to decide on


@dataclass(frozen=True, slots=True)
class Transition:
    """One row: in a dialog of one of ``kinds`` in one of ``states``, ``frame`` ``via``
    runs ``handler`` (received frames) and leads to ``next`` (None: the state stays)."""

    kinds: frozenset[Kind]
    states: frozenset[State]
    via: Via
    frame: Optional[FrameKey]
    next: Optional[State]
    handler: Optional[Handler]
    action: str
    #: dialog cell (``dialog.CELLS``) -> the cell ``next`` makes it, for every kind and state
    #: the row covers (empty when the state stays): moving on takes no enum hashing
    cells_after: dict[int, int] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        after = {} if self.next is None else {
            CELLS[(kind, state)]: CELLS[(kind, self.next)]
            for kind in self.kinds for state in self.states}
        object.__setattr__(self, "cells_after", after)


_ALL_KINDS = frozenset(Kind)
_ANY = frozenset(State)
_CALL = frozenset({Kind.CALL})
_ACTIVE = frozenset({State.ACCEPTED, State.RINGING, State.UP})
_OPEN_CALL = frozenset({State.WAIT_REPLY, State.WAIT_APP, State.ACCEPTED, State.RINGING,
                        State.UP})
_WAIT = frozenset({State.WAIT_REPLY})
_REGISTRAR_OPEN = frozenset({State.WAIT_REPLY, State.AUTHENTICATING})


def _in(kinds: frozenset[Kind], states: frozenset[State], frame: FrameKey, handler: Handler,
        action: str, next: Optional[State] = None) -> Transition:
    return Transition(kinds, states, Via.RECEIVED, frame, next, handler, action)


def _out(kinds: frozenset[Kind], states: frozenset[State], frame: FrameKey, next: State,
         action: str) -> Transition:
    return Transition(kinds, states, Via.SENT, frame, next, None, action)


_IAX, _CONTROL = FrameType.IAX, FrameType.CONTROL
_I, _C = IAXSubclass, ControlSubclass

#: Every transition of every dialog kind. Rows of one trigger never overlap in (kind, state).
TRANSITIONS: tuple[Transition, ...] = (
    # ---- calls, caller side
    _in(_CALL, _WAIT, (_IAX, _I.AUTHREQ), calls.on_authreq,
        "AUTHREP with MD5(challenge + secret) (PASSWORD if only plaintext is offered); "
        "no secret: HANGUP, `CallFailed`"),
    _in(_CALL, _WAIT, (_IAX, _I.ACCEPT), calls.on_accept,
        "`CallAccepted(format)`; PING/LAGRQ timers start; queued DPREQs go out",
        State.ACCEPTED),
    _in(_CALL, frozenset({State.ACCEPTED, State.RINGING}), (_CONTROL, _C.RINGING),
        calls.on_ringing, "`CallRinging`", State.RINGING),
    _in(_CALL, _ACTIVE, (_CONTROL, _C.ANSWER), calls.on_answer, "`CallAnswered`", State.UP),
    _in(_CALL, _ACTIVE, (_CONTROL, _C.PROCEEDING), calls.on_progress, "`CallProgress`"),
    _in(_CALL, _ACTIVE, (_CONTROL, _C.PROGRESS), calls.on_progress, "`CallProgress`"),
    _in(_CALL, _ACTIVE, (_CONTROL, _C.BUSY), calls.on_busy, "`CallBusy`"),
    _in(_CALL, _ACTIVE, (_CONTROL, _C.CONGESTION), calls.on_congestion, "`CallCongestion`"),
    # ---- calls, called side
    _in(_CALL, _WAIT, (_IAX, _I.NEW), calls.on_new,
        "a user with a secret, or an unknown one (a decoy): AUTHREQ; no USERNAME and guests "
        "refused: REJECT 50; otherwise admitted at once, as after a right AUTHREP"),
    _in(_CALL, frozenset({State.AUTHENTICATING}), (_IAX, _I.AUTHREP), calls.on_authrep,
        "wrong: ACK, REJECT \"No authority found\" 50, `CallRefused`; right: no common codec: "
        "REJECT 58; TBD call: ACCEPT; dialplan: REJECT 3 or ACCEPT (+ ANSWER with "
        "`auto_answer`) and `IncomingCall`; no dialplan: `IncomingCall`"),
    _out(_CALL, frozenset({State.WAIT_REPLY, State.AUTHENTICATING}), (_IAX, _I.AUTHREQ),
         State.AUTHENTICATING, "challenge (AUTHMETHODS MD5, CHALLENGE, USERNAME)"),
    _out(_CALL, frozenset({State.WAIT_REPLY, State.AUTHENTICATING, State.WAIT_APP}),
         (_IAX, _I.ACCEPT), State.ACCEPTED, "the call is accepted (FORMAT)"),
    _out(_CALL, frozenset({State.ACCEPTED}), (_CONTROL, _C.RINGING), State.RINGING,
         "`ring`"),
    _out(_CALL, _ACTIVE, (_CONTROL, _C.ANSWER), State.UP, "`answer`, or `auto_answer`"),
    Transition(_CALL, frozenset({State.WAIT_REPLY, State.AUTHENTICATING}), Via.TOLD, None,
               State.WAIT_APP, None,
               "`IncomingCall(accepted=False)`: the application accepts, rings, answers or "
               "rejects"),
    _in(_CALL, frozenset({State.ACCEPTED}), (_IAX, _I.DPREQ), lookup.on_dpreq,
        "DPREP(CALLED_NUMBER, DPSTATUS, REFRESH) from the dialplan"),
    _in(_CALL, frozenset({State.ACCEPTED}), (_IAX, _I.DPREP), lookup.on_dprep,
        "`DialplanReply`"),
    # ---- calls, either side
    _in(_CALL, _ACTIVE, (FrameType.VOICE, None), calls.on_voice, "`VoiceReceived`"),
    _in(_CALL, _ACTIVE, (FrameType.DTMF_END, None), calls.on_dtmf, "`DtmfReceived`"),
    _in(_CALL, _OPEN_CALL, (_IAX, _I.PING), calls.on_ping,
        "PONG echoing its timestamp, with RR_* receiver report IEs"),
    _in(_CALL, _OPEN_CALL, (_IAX, _I.LAGRQ), calls.on_lagrq, "LAGRP echoing its timestamp"),
    _in(_CALL, _ANY, (_IAX, _I.LAGRP), calls.on_lagrp, "`LagReply`"),
    _in(frozenset({Kind.CALL, Kind.POKE}), _ANY, (_IAX, _I.PONG), calls.on_pong,
        "`PongReceived(rtt)`; a call's ping time becomes the round trip; a POKE: ACK, "
        "destroyed"),
    _in(_CALL, _ANY, (_IAX, _I.HANGUP), calls.on_hangup,
        "ACK; destroyed; `CallHungUp(cause, code)` unless ours crossed it"),
    _in(frozenset({Kind.CALL, Kind.REGISTER}), _ANY, (_IAX, _I.REJECT), calls.on_reject,
        "ACK; destroyed; `CallRejected(cause, code)` (and `DialplanTimeout` for lookups "
        "pending), or `RegistrationFailed`"),
    _out(_CALL, OPEN, (_IAX, _I.HANGUP), State.CLOSING, "final: waits for its ACK"),
    _out(_CALL, OPEN, (_IAX, _I.REJECT), State.CLOSING, "final: waits for its ACK"),
    # ---- our registrations
    _in(frozenset({Kind.REGISTER}), _WAIT, (_IAX, _I.REGAUTH), registration.on_regauth,
        "REGREQ (REGREL) again with MD5_RESULT; no secret: destroyed, `RegistrationFailed`"),
    _in(frozenset({Kind.REGISTER}), _WAIT, (_IAX, _I.REGACK), registration.on_regack,
        "ACK; destroyed; `Registered`; next attempt at 5/6 of the refresh"),
    _in(frozenset({Kind.REGISTER}), _WAIT, (_IAX, _I.REGREJ), registration.on_regrej,
        "ACK; destroyed; `RegistrationFailed`; retry after `reg_retry`"),
    # ---- peers' registrations with us
    _in(frozenset({Kind.REGISTRAR}), _REGISTRAR_OPEN, (_IAX, _I.REGREQ),
        registration.on_regreq,
        "unknown user: REGREJ 29; a secret and no MD5_RESULT yet: REGAUTH; wrong MD5: ACK, "
        "REGREJ 29; else REGACK, `PeerRegistered`"),
    _in(frozenset({Kind.REGISTRAR}), _REGISTRAR_OPEN, (_IAX, _I.REGREL),
        registration.on_regreq, "as REGREQ, then REGACK, `PeerUnregistered(\"released\")`"),
    _out(frozenset({Kind.REGISTRAR}), _WAIT, (_IAX, _I.REGAUTH), State.AUTHENTICATING,
         "challenge (AUTHMETHODS MD5, CHALLENGE, USERNAME)"),
    _out(frozenset({Kind.REGISTRAR}), _REGISTRAR_OPEN, (_IAX, _I.REGACK), State.CLOSING,
         "final: waits for its ACK"),
    _out(frozenset({Kind.REGISTRAR}), _REGISTRAR_OPEN, (_IAX, _I.REGREJ), State.CLOSING,
         "final: waits for its ACK"),
    # ---- every dialog
    _in(_ALL_KINDS, _ANY, (_IAX, _I.INVAL), calls.on_inval,
        "destroyed; a call: `CallHungUp(None, None)`; a registration: `RegistrationFailed`"),
    _in(_ALL_KINDS, _ANY, (_IAX, _I.VNAK), calls.on_vnak,
        "resend every unacknowledged frame at once"),
    _in(_ALL_KINDS, _ANY, (_IAX, _I.ACK), calls.on_ack,
        "nothing more: its iseqno acknowledged what it covers"),
    _in(_ALL_KINDS, _ANY, (_IAX, _I.UNSUPPORT), calls.on_unsupport,
        "counted (`stats.unsupported_received`)"),
)


def _index(via: Via) -> dict[Optional[FrameKey], dict[int, Transition]]:
    table: dict[Optional[FrameKey], dict[int, Transition]] = {}
    for row in TRANSITIONS:
        if row.via is not via:
            continue
        cells = table.setdefault(row.frame, {})
        for kind in row.kinds:
            for state in row.states:
                cell = CELLS[(kind, state)]
                if cell in cells:
                    raise AssertionError(f"two rows for {row.frame} in {kind} {state}")
                cells[cell] = row
    return table


#: The table indexed for the receive path and for sending: frame -> dialog cell -> row (a
#: dialog's cell numbers its kind and state: ``dialog.CELLS``, ``Dialog.cell``).
RECEIVED = _index(Via.RECEIVED)
SENT = _index(Via.SENT)
_TOLD = _index(Via.TOLD)[None]


def frame_key(frametype: int, subclass: int) -> FrameKey:
    """How the table names a frame: IAX and control frames by subclass, others by type."""
    if frametype == FrameType.IAX or frametype == FrameType.CONTROL:
        return (frametype, subclass)
    return (frametype, None)


def received_rows(frametype: int,
                  subclass: int) -> Optional[dict[tuple[Kind, State], Transition]]:
    """The rows for a received frame, by (kind, state); None when no row names the frame."""
    rows = RECEIVED.get(frame_key(frametype, subclass))
    if rows is None:
        return None
    return {pair: rows[cell] for pair, cell in CELLS.items() if cell in rows}


def sent(d: Dialog, frametype: int, subclass: int) -> Optional[Transition]:
    """The row for sending this frame on ``d`` (None: the state stays)."""
    rows = SENT.get((frametype, subclass))
    return rows.get(d.cell) if rows is not None else None


def told_application(d: Dialog) -> Optional[Transition]:
    """The row for handing ``d`` (an incoming call) to the application."""
    return _TOLD.get(d.cell)


# ---------------------------------------------------------------------- documentation
_KIND_TITLES = (
    (_CALL, "Calls"),
    (frozenset({Kind.REGISTER}), "Our registrations (REGISTER dialogs)"),
    (frozenset({Kind.REGISTRAR}), "Peers' registrations with us (REGISTRAR dialogs)"),
    (_ALL_KINDS, "Every dialog (calls, registrations, pokes)"),
)


def _frame_name(row: Transition) -> str:
    if row.frame is None:
        return "(the application is told)"
    frametype, subclass = row.frame
    name = getattr(subclass, "name", None) if subclass is not None else FrameType(frametype).name
    kind = "control " if frametype == FrameType.CONTROL else ""
    verb = "←" if row.via is Via.RECEIVED else "→"
    return f"{verb} {kind}{name}"


def _states_name(states: frozenset[State]) -> str:
    if states == _ANY:
        return "any"
    if states == OPEN:
        return "any but CLOSING"
    return ", ".join(s.name for s in State if s in states)


def render_markdown() -> str:
    """The transition table as markdown, one table per group of dialog kinds (the text
    docs/engine.md carries between its ``transitions`` markers)."""
    out: list[str] = []
    for kinds, title in _KIND_TITLES:
        rows = [r for r in TRANSITIONS if r.kinds == kinds
                or (kinds == _CALL and r.kinds == frozenset({Kind.CALL, Kind.POKE}))
                or (kinds == _CALL and r.kinds == frozenset({Kind.CALL, Kind.REGISTER}))]
        out += [f"{title}:", "", "| state | frame (← in, → out) | what happens | next |",
                "|---|---|---|---|"]
        for r in rows:
            who = ""
            if r.kinds != kinds:
                who = " (also " + ", ".join(k.name for k in Kind
                                            if k in r.kinds and k not in kinds) + ")"
            nxt = r.next.name if r.next is not None else "—"
            out.append(f"| {_states_name(r.states)} | {_frame_name(r)}{who} | {r.action} "
                       f"| {nxt} |")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
