"""A real, minimal linked PBX on UDP: ``iaxsim node --conf DIR --bind ADDR:PORT``.

The node is an application on top of the engine (no protocol logic here): it loads its conf
directory (:mod:`iaxsim.net.conf`, :mod:`iaxsim.net.routing`), lets phones register (MD5 per
iax.conf), answers DPREQ from the context the TBD call named (the engine does that with
:class:`~iaxsim.net.routing.NodeDialplan`), and for every incoming NEW runs the matching
extension's steps:

* ``Dial(IAX2/...)`` places an outgoing call to the peer's iax.conf address (or where the
  named phone registered from) and bridges the two legs: RINGING, ANSWER, voice and HANGUP are
  relayed. A failed attempt (REJECT, retransmissions exhausted, peer unknown or not
  registered) moves on to the next step, so link.conf's internal-then-external priorities give
  the fallback after the retransmission timeout;
* any other application answers locally: echo of the caller's audio, or a 1 kHz tone;
* no matching extension: REJECT "No such context/extension" (cause 3), as Asterisk does.

Every call is logged (``log`` callback, one line per event) and kept as a :class:`CallRecord`.
"""
from __future__ import annotations

import asyncio
import logging
import math
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from iaxsim.iax2.engine import (CallAccepted, CallAnswered, CallBusy, CallCongestion,
                                CallFailed, CallHungUp, CallRefused, CallRejected, CallRinging,
                                Endpoint, EndpointConfig, EngineError, Event, IncomingCall,
                                PeerRegistered, PeerUnregistered, VoiceReceived)
from iaxsim.iax2.media import MediaFormat, alaw_encode, ulaw_encode
from iaxsim.iax2.pcap import Datagram
from iaxsim.net.conf import IaxConf, load_iax_conf
from iaxsim.net.routing import AnswerStep, DialStep, EndStep, NodeDialplan, Step
from iaxsim.net.transport import Address, Transport

logger = logging.getLogger("iaxsim.net.node")

NO_EXTENSION = ("No such context/extension", 3)
CONGESTION = ("Circuit/channel congestion", 34)
#: Voice packetisation of the tone generator (seconds).
FRAME_TIME = 0.02


def tone_payload(fmt: int, freq: float = 1000.0, level: float = 0.25, ms: int = 20) -> bytes:
    """``ms`` of a sine tone at ``freq`` Hz in G.711 ``fmt`` (8 kHz); raises ValueError for
    other formats."""
    n = 8 * ms
    t = np.arange(n) / 8000.0
    samples = np.round(np.sin(2 * math.pi * freq * t) * 32767 * level).astype(np.int16)
    if fmt == MediaFormat.ULAW:
        return ulaw_encode(samples)
    if fmt == MediaFormat.ALAW:
        return alaw_encode(samples)
    raise ValueError(f"no tone generator for media format {fmt:#x}")


@dataclass
class CallRecord:
    """One call as the node saw it (an incoming leg, or a call the node originated)."""

    call_id: int
    direction: str                   # "in" or "out"
    remote: Address
    number: str
    context: str
    caller: str | None = None
    username: str | None = None
    start: float = 0.0
    answered: float | None = None
    end: float | None = None
    outcome: str = "pending"         # answered-local, answered-remote, rejected, failed, refused...
    cause: str | None = None
    code: int | None = None
    attempts: list[str] = field(default_factory=list)
    voice_in: int = 0
    voice_out: int = 0

    @property
    def done(self) -> bool:
        """True once the call has ended."""
        return self.end is not None


@dataclass
class _Leg:
    call_id: int
    record: CallRecord
    incoming: bool
    other: int | None = None          # bridged leg's call id
    steps: list[Step] = field(default_factory=list)
    mode: str | None = None           # echo | tone when answered locally
    media: asyncio.TimerHandle | None = None
    media_start: float = 0.0
    media_count: int = 0
    answered: bool = False
    last_failure: tuple[str, int] | None = None
    format: int = 0


class Node:
    """One linked server: conf directory in, UDP sockets out. Use ``await start(binds)``."""

    def __init__(self, directory: str | os.PathLike[str], *, seed: int = 0,
                 log: Callable[[str], None] | None = None, keep_records: int = 10000,
                 capture: list[Datagram] | None = None, **engine_overrides: Any):
        """Load the conf directory; ``engine_overrides`` replace fields of the
        :class:`EndpointConfig` built from iax.conf (e.g. ``ping_interval=None``)."""
        self.directory = str(directory)
        self.iax: IaxConf = load_iax_conf(directory)
        self.dialplan = NodeDialplan.from_dir(directory, account=self.iax.account,
                                              internal_context=self.iax.context)
        config = EndpointConfig(users=self._users(), calltoken_required=self.iax.requirecalltoken,
                                calltoken_optional=tuple(self.iax.calltokenoptional),
                                user_calltoken_policy=self.iax.user_calltoken_policy,
                                peer_calltoken_policy=self.iax.peer_calltoken_policy,
                                dialplan=self.dialplan, default_context=self.iax.context,
                                answer_from_dialplan=False, initial_pingtime=self.iax.pingtime,
                                max_sends=self.iax.maxsends)
        if engine_overrides:
            config = replace(config, **engine_overrides)
        self.endpoint = Endpoint(config, seed=seed)
        self.log: Callable[[str], None] = log or logger.info
        self.records: deque[CallRecord] = deque(maxlen=keep_records)
        self.capture = capture
        self.transport: Transport | None = None
        self._legs: dict[int, _Leg] = {}

    def _users(self) -> dict[str, str]:
        users = {name: "" for name in self.dialplan.link_usernames()
                 if name not in self.iax.peers}
        users.update(self.iax.users)
        return users

    # ---------------------------------------------------------------- life cycle
    async def start(self, binds: list[Address]) -> list[Address]:
        """Open the sockets (first one is where calls to peers leave from); returns them."""
        self.transport = Transport(self.endpoint, on_event=self._on_event, capture=self.capture)
        for b in binds:
            await self.transport.bind(b)
        for w in self.dialplan.warnings:
            self.log(f"WARNING: {w}")
        return self.transport.addresses

    def reload(self) -> None:
        """Re-read iax.conf's peers and users (like ``iax2 reload``); [general] settings and
        the dialplan need a restart."""
        self.iax = load_iax_conf(self.directory)
        self.endpoint.config.users = self._users()
        self.endpoint.config.user_calltoken_policy = self.iax.user_calltoken_policy
        self.endpoint.config.peer_calltoken_policy = self.iax.peer_calltoken_policy
        self.log(f"reloaded iax.conf: {len(self.iax.peers)} peers/users")

    def close(self) -> None:
        """Stop media and close the sockets (no HANGUPs are sent)."""
        for leg in self._legs.values():
            if leg.media is not None:
                leg.media.cancel()
        if self.transport is not None:
            self.transport.close()

    @property
    def addresses(self) -> list[Address]:
        """Bound addresses."""
        return self.transport.addresses if self.transport else []

    @property
    def active_calls(self) -> int:
        """Call legs currently open."""
        return len(self._legs)

    @property
    def _transport(self) -> Transport:
        if self.transport is None:
            raise EngineError("node not started: await start(binds) first")
        return self.transport

    def now(self) -> float:
        """Engine time."""
        return self._transport.now()

    # ---------------------------------------------------------------- originate
    def originate(self, target: str | Address, number: str, *, context: str = "default",
                  media: str | None = "tone", username: str | None = None,
                  secret: str | None = None, calling_number: str | None = None) -> int:
        """Call ``target`` (an iax.conf peer, a registered phone's name, or an address) for
        ``number``; once answered the node plays ``media`` ("tone", "echo" or None).
        Returns the call id."""
        tr = self._transport
        addr = self._peer_address(target) if isinstance(target, str) else (target[0], target[1])
        if addr is None:
            raise EngineError(f"peer {target!r} is neither configured with a host nor registered")
        peer = self.iax.peers.get(target) if isinstance(target, str) else None
        call_id = tr.command("place_call", addr, number, context=context,
                             username=username or (peer.username if peer else None),
                             secret=secret if secret is not None else (peer.secret if peer else None),
                             calling_number=calling_number)
        rec = CallRecord(call_id, "out", addr, number, context, calling_number, username,
                         start=tr.now())
        self.records.append(rec)
        self._legs[call_id] = _Leg(call_id, rec, incoming=False, mode=media)
        self.log(f"call {call_id}: dialling {number}@{context} at {addr[0]}:{addr[1]}")
        return call_id

    def hangup(self, call_id: int, cause: str = "Normal Clearing", code: int = 16) -> None:
        """Hang one leg up (its bridged leg follows)."""
        leg = self._legs.get(call_id)
        if leg is None:
            raise EngineError(f"no call {call_id}")
        self._hangup_leg(leg, cause, code)
        self._transport.pump()

    def record(self, call_id: int) -> CallRecord | None:
        """The most recent record of ``call_id``."""
        for rec in reversed(self.records):
            if rec.call_id == call_id:
                return rec
        return None

    # ---------------------------------------------------------------- events
    def _on_event(self, e: Event) -> None:
        try:
            self._dispatch(e)
        except EngineError as err:  # the call moved on meanwhile: log, never crash the loop
            self.log(f"call {getattr(e, 'call_id', '?')}: {err}")

    def _dispatch(self, e: Event) -> None:
        match e:
            case IncomingCall():
                self._ev_incoming(e)
            case CallAccepted():
                self._ev_accepted(e)
            case CallRinging():
                self._ev_ringing(e)
            case CallAnswered():
                self._ev_answered(e)
            case CallRejected() | CallFailed():
                self._ev_failed(e)
            case CallHungUp():
                self._ev_hungup(e)
            case CallBusy() | CallCongestion():
                self._ev_busy(e)
            case VoiceReceived():
                self._ev_voice(e)
            case CallRefused():
                self._ev_refused(e)
            case PeerRegistered():
                self._ev_registered(e)
            case PeerUnregistered():
                self._ev_unregistered(e)

    def _ev_incoming(self, e: IncomingCall) -> None:
        now = self.now()
        rec = CallRecord(e.call_id, "in", e.addr, e.called_number, e.context, e.calling_number,
                         e.username, start=now)
        self.records.append(rec)
        who = f"{e.addr[0]}:{e.addr[1]}" + (f" ({e.username})" if e.username else "")
        steps = self.dialplan.route(e.called_number, e.context, e.calling_number)
        if steps is None:
            self.endpoint.reject(e.call_id, *NO_EXTENSION, now=now)
            self._finish(rec, "rejected", *NO_EXTENSION)
            self.log(f"call {e.call_id}: from {who} to {e.called_number}@{e.context}: "
                     f"rejected, {NO_EXTENSION[0]} ({NO_EXTENSION[1]})")
            return
        self.endpoint.accept(e.call_id, now=now, format=e.format)
        leg = _Leg(e.call_id, rec, incoming=True, steps=list(steps), format=e.format)
        self._legs[e.call_id] = leg
        self.log(f"call {e.call_id}: from {who} to {e.called_number}@{e.context}")
        self._next_step(leg)

    def _next_step(self, leg: _Leg) -> None:
        now = self.now()
        ep = self.endpoint
        while leg.steps:
            step = leg.steps.pop(0)
            if isinstance(step, AnswerStep):
                leg.mode = step.mode or self.iax.answer
                ep.ring(leg.call_id, now=now)
                ep.answer(leg.call_id, now=now)
                self._answered(leg, "answered-local")
                self.log(f"call {leg.call_id}: answered locally ({step.app}, {leg.mode})")
                return
            if isinstance(step, EndStep):
                self._hangup_leg(leg, *CONGESTION if step.app.lower() == "congestion"
                                 else ("User busy", 17) if step.app.lower() == "busy"
                                 else ("Normal Clearing", 16))
                return
            if self._dial(leg, step):
                return
        cause = leg.last_failure or CONGESTION
        self.log(f"call {leg.call_id}: every route failed")
        self._hangup_leg(leg, *cause)

    def _dial(self, leg: _Leg, step: DialStep) -> bool:
        peer = self.iax.peers.get(step.peer)
        addr = self._peer_address(step.peer)
        if addr is None:
            note = f"{step.dial_string}: peer {step.peer!r} unavailable"
            leg.record.attempts.append(note)
            self.log(f"call {leg.call_id}: {note}")
            return False
        username = step.username or (peer.username if peer else None)
        secret = step.secret if step.secret is not None else (peer.secret if peer else None)
        rec = leg.record
        try:
            out = self.endpoint.place_call(addr, step.number, now=self.now(),
                                           context=step.context or "default",
                                           username=username, secret=secret,
                                           calling_number=rec.caller, format=leg.format or None)
        except EngineError as err:
            rec.attempts.append(f"{step.dial_string}: {err}")
            return False
        out_rec = CallRecord(out, "out", addr, step.number, step.context or "default",
                             rec.caller, username, start=self.now())
        self.records.append(out_rec)
        self._legs[out] = _Leg(out, out_rec, incoming=False, other=leg.call_id, format=leg.format)
        leg.other = out
        rec.attempts.append(f"{step.dial_string} -> {addr[0]}:{addr[1]} (call {out})")
        self.log(f"call {leg.call_id}: priority {step.priority} {step.dial_string} "
                 f"-> {addr[0]}:{addr[1]} as call {out}")
        return True

    def _peer_address(self, name: str) -> Address | None:
        peer = self.iax.peers.get(name)
        if peer is not None and peer.address is not None:
            return peer.address
        return self.endpoint.peer_address(name)

    def _other(self, leg: _Leg) -> _Leg | None:
        return self._legs.get(leg.other) if leg.other is not None else None

    def _ev_ringing(self, e: CallRinging) -> None:
        leg = self._legs.get(e.call_id)
        other = self._other(leg) if leg else None
        if other is not None and other.incoming and not other.answered:
            self.endpoint.ring(other.call_id, now=self.now())

    def _ev_accepted(self, e: CallAccepted) -> None:
        leg = self._legs.get(e.call_id)
        if leg is not None:
            leg.format = e.format

    def _ev_answered(self, e: CallAnswered) -> None:
        leg = self._legs.get(e.call_id)
        if leg is None:
            return
        self._answered(leg, "answered")
        other = self._other(leg)
        if other is not None and other.incoming and not other.answered:
            self.endpoint.answer(other.call_id, now=self.now())
            self._answered(other, "answered-remote")
            self.log(f"call {other.call_id}: answered by the far end (call {leg.call_id})")
        elif other is None:
            self.log(f"call {leg.call_id}: answered")

    def _answered(self, leg: _Leg, outcome: str) -> None:
        leg.answered = True
        leg.record.answered = self.now()
        leg.record.outcome = outcome
        if leg.mode == "tone":
            self._start_tone(leg)

    def _ev_failed(self, e: CallRejected | CallFailed) -> None:
        leg = self._legs.pop(e.call_id, None)
        if leg is None:
            return
        self._stop_media(leg)
        kind = "rejected" if isinstance(e, CallRejected) else "failed"
        self._finish(leg.record, kind, e.cause, e.code)
        self.log(f"call {e.call_id}: {kind}: {e.cause} ({e.code})")
        other = self._other(leg)
        if other is None:
            return
        other.other = None
        if other.incoming and not other.answered:
            other.last_failure = (e.cause or kind, e.code if e.code is not None else 34)
            other.record.attempts[-1] += f" {kind}: {e.cause} ({e.code})"
            self._next_step(other)
        else:
            self._hangup_leg(other, e.cause or "Normal Clearing", e.code or 16)

    def _ev_hungup(self, e: CallHungUp) -> None:
        leg = self._legs.pop(e.call_id, None)
        if leg is None:
            return
        self._stop_media(leg)
        end = self._finish(leg.record, leg.record.outcome if leg.answered else "abandoned",
                           e.cause, e.code)
        self.log(f"call {e.call_id}: far end hung up ({e.cause}, {e.code}) after "
                 f"{end - leg.record.start:.2f} s")
        other = self._other(leg)
        if other is not None:
            other.other = None
            self._hangup_leg(other, e.cause or "Normal Clearing", e.code or 16)

    def _ev_busy(self, e: CallBusy | CallCongestion) -> None:
        leg = self._legs.get(e.call_id)
        if leg is None:
            return
        cause = ("User busy", 17) if isinstance(e, CallBusy) else CONGESTION
        # Asterisk's Dial returns BUSY/CONGESTION: hang the attempt up, try the next step
        other = self._other(leg)
        self._hangup_leg(leg, *cause, follow=False)
        if other is not None and other.incoming and not other.answered:
            other.other = None
            other.last_failure = cause
            self._next_step(other)
        elif other is not None:
            other.other = None
            self._hangup_leg(other, *cause)

    def _ev_voice(self, e: VoiceReceived) -> None:
        leg = self._legs.get(e.call_id)
        if leg is None:
            return
        leg.record.voice_in += 1
        target = leg if leg.mode == "echo" else self._other(leg)
        if target is None or (target is not leg and not target.answered):
            return  # nowhere to send it yet (no bridge, or the other leg not answered)
        try:
            self.endpoint.send_voice(target.call_id, e.payload, now=self.now(), format=e.format)
            target.record.voice_out += 1
        except EngineError:
            pass  # the leg is not in a state that carries voice (yet): nothing to relay

    def _ev_refused(self, e: CallRefused) -> None:
        rec = CallRecord(e.call_id, "in", e.addr, e.called_number, e.context, start=self.now())
        self.records.append(rec)
        self._finish(rec, "refused", e.cause, e.code)
        self.log(f"call {e.call_id}: from {e.addr[0]}:{e.addr[1]} to {e.called_number}@"
                 f"{e.context}: refused, {e.cause} ({e.code})")

    def _ev_registered(self, e: PeerRegistered) -> None:
        self.log(f"peer {e.username} registered from {e.addr[0]}:{e.addr[1]} for {e.refresh} s")

    def _ev_unregistered(self, e: PeerUnregistered) -> None:
        self.log(f"peer {e.username} unregistered ({e.reason})")

    # ---------------------------------------------------------------- helpers
    def _finish(self, rec: CallRecord, outcome: str, cause: str | None,
                code: int | None) -> float:
        """End ``rec`` now with ``outcome``; returns the end time."""
        rec.end = end = self.now()
        rec.outcome, rec.cause, rec.code = outcome, cause, code
        return end

    def _hangup_leg(self, leg: _Leg, cause: str, code: int, follow: bool = True) -> None:
        self._legs.pop(leg.call_id, None)
        self._stop_media(leg)
        if self.endpoint.call_state(leg.call_id) not in (None, "closing"):
            self.endpoint.hangup(leg.call_id, cause, code, now=self.now())
        outcome = leg.record.outcome if leg.answered else "failed"
        self._finish(leg.record, outcome, cause, code)
        self.log(f"call {leg.call_id}: hung up ({cause}, {code})")
        other = self._other(leg)
        if follow and other is not None:
            other.other = None
            self._hangup_leg(other, cause, code)

    def _start_tone(self, leg: _Leg) -> None:
        fmt = leg.format or int(self.endpoint.config.preferred_format)
        try:
            payload = tone_payload(fmt)
        except ValueError as err:
            self.log(f"call {leg.call_id}: {err}; sending no audio")
            return
        leg.media_start = self.now()
        leg.media_count = 0
        leg.media = self._transport.call_at(leg.media_start, self._tone_tick, leg, payload, fmt)

    def _tone_tick(self, leg: _Leg, payload: bytes, fmt: int) -> None:
        if self._legs.get(leg.call_id) is not leg:
            return
        try:
            self.endpoint.send_voice(leg.call_id, payload, now=self.now(), format=fmt)
            leg.record.voice_out += 1
        except EngineError:
            return
        self._transport.pump()
        leg.media_count += 1
        due = leg.media_start + leg.media_count * FRAME_TIME
        leg.media = self._transport.call_at(due, self._tone_tick, leg, payload, fmt)

    def _stop_media(self, leg: _Leg) -> None:
        if leg.media is not None:
            leg.media.cancel()
            leg.media = None

