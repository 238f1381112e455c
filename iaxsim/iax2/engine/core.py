"""The endpoint's shared state and plumbing: dialogs, the timer heap, sending, the receive path.

Theory of operation (the state machine itself is ``machine.py``; docs/engine.md says the rest):

* Every local call number belongs to a :class:`Dialog` (a call, our registration attempt, a
  peer's registration, our POKE). Frames addressed to a call number (destination call set)
  are looked up by it and checked against the peer's address and call number; frames with
  destination 0 are looked up by (peer address, peer call number), and only NEW, REGREQ,
  REGREL may create a dialog -- after the call-token gate (``calltoken.py``), so nothing is
  allocated for a request without a valid token. POKE is answered without allocating anything.
* Each received full frame goes through one path: implicit acknowledgement from its iseqno,
  the sequence check (duplicate -> ACK, ahead -> VNAK), then the transition table
  (``machine.RECEIVED``) picks the row for the dialog's kind and state: the state it moves
  to, and the handler; afterwards an explicit ACK goes out unless our reply already carried
  the new iseqno (Asterisk's ``aseqno != iseqno`` rule). Sending a frame consults the table
  too (``machine.SENT``): sending ACCEPT, ANSWER or a final frame is what moves a dialog on.
* Reliable frames wait in ``Dialog.pending`` and are resent with the R bit at 2 x ping time,
  x10 per retry, capped at 10 s (``reliability.py``); after ``max_sends`` sends the dialog
  gives up silently (``CallFailed`` cause 27 for a call).
* Time only enters as the ``now`` argument; all randomness (call numbers, the call-token
  secret, challenges) comes from one ``random.Random(seed)`` stream.
"""
from __future__ import annotations

import datetime as _dt
import heapq
import itertools
import random
import struct
from collections import deque
from typing import Callable, Iterable, Optional, Union

from iaxsim.errors import IaxsimError
from iaxsim.iax2.constants import AuthMethod, DecodeError, FrameType, IAXSubclass, IEType
from iaxsim.iax2.engine import calls, calltoken, events as ev, lookup, machine, registration
from iaxsim.iax2.engine import trunking
from iaxsim.iax2.engine.callnumbers import CallNumberPool
from iaxsim.iax2.engine.common import (APATHETIC_CALLNO, EMPTY_CALLTOKEN, OUT_OF_ORDER,
                                       EngineError, ies, unwrap_timestamp)
from iaxsim.iax2.engine.config import EndpointConfig
from iaxsim.iax2.engine.machine import RECEIVED, SENT
from iaxsim.iax2.engine.auth import new_challenge
from iaxsim.iax2.engine.dialog import (OPEN, Address, Dialog, Kind, PeerEntry, Registration,
                                       State, TrunkBuffer)
from iaxsim.iax2.engine.reliability import (UNSEQUENCED, Pending, acked_by, classify, first_rto,
                                            next_rto)
from iaxsim.iax2.engine.stats import EndpointStats
from iaxsim.iax2.engine.tokens import CallTokens
from iaxsim.iax2.frames import FullFrame, MiniFrame, TrunkFrame, decode
from iaxsim.iax2.ies import IE, encode_ies_after

#: Anything the timer heap holds.
TimerOwner = Union[Dialog, Registration, PeerEntry, TrunkBuffer]

_pack_full_header = struct.Struct("!HHIBBBB").pack

# Read for every full frame received or sent: reading an enum member off its class goes
# through the enum metaclass's attribute hook each time (Python 3.11), a module constant is
# one global read.
_IAX = FrameType.IAX
_VIDEO = FrameType.VIDEO
_INVAL = IAXSubclass.INVAL
_ACK = IAXSubclass.ACK
_POKE = IAXSubclass.POKE
_PONG = IAXSubclass.PONG
_CALLTOKEN = IAXSubclass.CALLTOKEN
_CLOSING = State.CLOSING
#: IAX subclasses that may create a dialog when they come from a stranger.
_OPENERS = frozenset({IAXSubclass.NEW, IAXSubclass.REGREQ, IAXSubclass.REGREL})

#: ``machine.RECEIVED``'s rows for IAX frames, by subclass number alone (the receive path's
#: one look-up per frame, without building a (frametype, subclass) key).
_RECEIVED_IAX = {key[1]: rows for key, rows in RECEIVED.items()
                 if key is not None and key[0] == FrameType.IAX and key[1] is not None}


def _encode_full(source_call: int, dest_call: int, ts: int, oseqno: int, iseqno: int,
                 frametype: int, subclass: int, ies: list[IE], payload: bytes) -> bytes:
    """The bytes ``FullFrame(...).encode()`` gives for a frame the engine sends, packed
    directly when the subclass byte is the subclass itself (< 0x80, not video) -- every IAX
    and control frame -- instead of building a frame object first; anything else (and every
    error) goes through ``FullFrame``."""
    iax = frametype == _IAX
    if (0 <= subclass < 0x80 and frametype != _VIDEO
            and 0 <= source_call <= 0x7FFF and 0 <= dest_call <= 0x7FFF
            and (not payload if iax else not ies)):
        try:
            head = _pack_full_header(0x8000 | source_call, dest_call, ts, oseqno, iseqno,
                                     frametype, subclass)
        except struct.error:
            pass  # out of range: FullFrame.encode names the field
        else:
            if not iax:
                return head + payload
            return encode_ies_after(head, ies) if ies else head
    return FullFrame(source_call, dest_call, ts, oseqno, iseqno, frametype, subclass, ies,
                     payload).encode()


def derived_stream(seed: int | float | str | bytes, purpose: str) -> random.Random:
    """A generator for one ``purpose``, seeded from the endpoint's seed: the same seed gives
    the same stream, and streams for different purposes draw independently."""
    return random.Random(f"{seed!r}/{purpose}")


class Core:
    """One endpoint's state and the plumbing every role (calls, registration, dial-plan
    lookups, trunking, the call-token gate) shares. ``Endpoint`` is its public face."""

    def __init__(self, config: EndpointConfig, seed: int | float | str | bytes):
        self.config = cfg = config
        # Three seeded streams, each derived from the seed: the ordinary call numbers, the
        # trunk call numbers, then the call-token secret and challenges. The pools draw only
        # as numbers are taken.
        self.seed = seed
        self.pool = CallNumberPool(2, cfg.max_calls // 2 - 1, random.Random(seed),
                                   cfg.callno_hold_off)
        self._trunk_pool: CallNumberPool | None = None
        self._late: tuple[random.Random, CallTokens] | None = None
        self.dialogs: dict[int, Dialog] = {}
        self.by_peer: dict[tuple[Address, int], Dialog] = {}
        self.out: list[tuple[bytes, Address]] = []
        self.events: deque[ev.Event] = deque()
        self.heap: list[tuple[float, int, TimerOwner]] = []
        self._seq = itertools.count()
        self.reg_ids = itertools.count(1)
        self.registrations: dict[int, Registration] = {}
        self.peers: dict[str, PeerEntry] = {}
        self.trunks: dict[Address, TrunkBuffer] = {}
        self.nonvalidated = 0
        #: (is NEW, name) of requirecalltoken=auto users/peers that have sent a valid token
        self.calltoken_auto_done: set[tuple[bool, str]] = set()
        #: open dial-plan lookup calls by (peer, context, username)
        self.tbd: dict[tuple[Address, str, Optional[str]], Dialog] = {}
        self._datetime_ie: tuple[int, IE] | None = None   # (2-second step, DATETIME IE)
        self.stats = EndpointStats()

    # ------------------------------------------------------------------ the seeded streams
    @property
    def trunk_pool(self) -> CallNumberPool:
        """Call numbers for calls with a trunk peer (made on first use)."""
        if self._trunk_pool is None:
            cfg = self.config
            self._trunk_pool = CallNumberPool(cfg.max_calls // 2, cfg.max_calls - 1,
                                              derived_stream(self.seed, "trunk"), cfg.callno_hold_off)
        return self._trunk_pool

    def _late_stream(self) -> tuple[random.Random, CallTokens]:
        if self._late is None:
            rng = derived_stream(self.seed, "tokens")
            self._late = (rng, CallTokens(rng, self.config.token_lifetime))
        return self._late

    @property
    def tokens(self) -> CallTokens:
        """Call tokens (their secret is the first draw of the "tokens" stream)."""
        return self._late_stream()[1]

    @property
    def rng(self) -> random.Random:
        """The "tokens" stream after the call-token secret (challenges)."""
        return self._late_stream()[0]

    # ------------------------------------------------------------------ I/O
    def receive_datagram(self, data: bytes, addr: Address, now: float) -> None:
        """See ``Endpoint.receive_datagram``."""
        st = self.stats
        st.datagrams_received += 1
        try:
            frame = decode(data)
        except DecodeError:
            st.garbage += 1
            return
        if addr.__class__ is not tuple or len(addr) != 2:
            addr = (addr[0], addr[1])
        try:
            if type(frame) is FullFrame:
                self.on_full(frame, addr, now)
            elif type(frame) is MiniFrame:
                self.on_mini(frame, addr)
            elif type(frame) is TrunkFrame:
                self.on_trunk(frame, addr)
            else:
                st.unhandled += 1
        except IaxsimError:
            # A frame that decodes but whose reply cannot be built from its values (an
            # EncodeError, say): counted, never propagated to the transport.
            st.garbage += 1

    def get_timer(self) -> Optional[float]:
        """See ``Endpoint.get_timer``."""
        heap = self.heap
        while heap:
            t, _, owner = heap[0]
            if owner.alive and owner.scheduled == t:
                return t
            heapq.heappop(heap)
        return None

    def handle_timer(self, now: float) -> None:
        """See ``Endpoint.handle_timer``."""
        heap = self.heap
        while heap and heap[0][0] <= now:
            t, _, owner = heapq.heappop(heap)
            if not owner.alive or owner.scheduled != t:
                continue
            owner.scheduled = None
            if type(owner) is Dialog:
                self.dialog_timer(owner, now)
            elif type(owner) is Registration:
                registration.registration_timer(self, owner, now)
            elif type(owner) is PeerEntry:
                registration.peer_timer(self, owner, now)
            elif type(owner) is TrunkBuffer:
                trunking.flush(self, owner, now)

    # ------------------------------------------------------------------ dialogs
    def new_dialog(self, addr: Address, kind: Kind, caller: bool, now: float, *,
                   trunk: bool = False, pingtime: Optional[float] = None) -> Dialog:
        """A dialog on a fresh call number; EngineError when none is free."""
        pool = self.trunk_pool if trunk else self.pool
        callno = pool.allocate(now)
        if callno is None:
            self.stats.callno_exhausted += 1
            raise EngineError("no call number free (all in use or held off)")
        d = Dialog(callno, addr, kind, caller, now,
                   pingtime if pingtime is not None else self.config.initial_pingtime)
        self.dialogs[callno] = d
        self.stats.dialogs_created += 1
        return d

    def dialog(self, call_id: int, kind: Kind, caller: Optional[bool] = None,
               states: Iterable[State] = OPEN) -> Dialog:
        """The live dialog a command names; EngineError when there is none of that kind, on
        that side, in one of ``states``."""
        d = self.dialogs.get(call_id)
        if d is None or d.kind is not kind:
            raise EngineError(f"no {kind.value} with id {call_id}")
        if caller is not None and d.caller is not caller:
            raise EngineError(f"call {call_id}: only the {'calling' if caller else 'called'} "
                              "side can do that")
        if d.state not in states:
            raise EngineError(f"call {call_id} is {d.state.value}; cannot do that now")
        return d

    def destroy(self, d: Dialog, now: float) -> None:
        """Forget ``d`` and release its call number (held off before reuse)."""
        if not d.alive:
            return
        d.alive = False
        if not d.validated:
            self.nonvalidated -= 1
        self.dialogs.pop(d.callno, None)
        if d.peer_callno is not None and self.by_peer.get((d.addr, d.peer_callno)) is d:
            del self.by_peer[(d.addr, d.peer_callno)]
        (self.trunk_pool if d.callno >= self.config.max_calls // 2 else self.pool).release(
            d.callno, now)
        if d.reg is not None and d.reg.dialog is d:
            d.reg.dialog = None
        if d.tbd and d.caller:
            key = (d.addr, d.context, d.username)
            if self.tbd.get(key) is d:
                del self.tbd[key]

    def advance(self, d: Dialog, transition: Optional[machine.Transition]) -> None:
        """Move ``d`` to the state ``transition`` (a row of the table, or None) leads to; the
        one place a dialog changes state. Entering CLOSING stops its timers: only the
        acknowledgement of the final frame matters now."""
        if transition is None or transition.next is None:
            return
        d.state = transition.next
        d.cell = transition.cells_after[d.cell]
        if transition.next is _CLOSING:
            d.timers.clear()

    def wait_for_application(self, d: Dialog) -> None:
        """An incoming call is handed to the application to accept, ring, answer or reject."""
        self.advance(d, machine.told_application(d))

    def schedule(self, owner: TimerOwner, deadline: Optional[float]) -> None:
        """Wake ``owner`` at ``deadline`` unless it is already due earlier."""
        if deadline is None:
            return
        if owner.scheduled is None or deadline < owner.scheduled:
            owner.scheduled = deadline
            heapq.heappush(self.heap, (deadline, next(self._seq), owner))

    # ------------------------------------------------------------------ time
    def _since_2000(self, now: float) -> _dt.timedelta:
        wall = self.config.wallclock_offset + now
        return _dt.timedelta(seconds=max(0.0, wall - 946684800.0))

    def datetime(self, now: float) -> _dt.datetime:
        """Wall-clock date and time at engine time ``now`` (for DATETIME IEs)."""
        return _dt.datetime(2000, 1, 1) + self._since_2000(now)

    def datetime_ie_at(self, now: float) -> IE:
        """The DATETIME IE for ``now``; rebuilt only when the 2-second wire value changes."""
        # 2000-01-01 starts at midnight on an even second, and days have an even number of
        # seconds, so the wire value (date and time to 2 s) is the count of 2-second steps
        # since then; timedelta rounds to the microsecond, so within 1 µs below an even
        # second the step is taken from the timedelta itself
        seconds = max(0.0, self.config.wallclock_offset + now - 946684800.0)
        step = int(seconds * 0.5)
        if seconds - 2.0 * step > 2.0 - 1e-6:
            since = self._since_2000(now)
            step = since.days * 43200 + (since.seconds >> 1)
        memo = self._datetime_ie
        if memo is not None and memo[0] == step:
            return memo[1]
        item = IE(IEType.DATETIME, self.datetime(now))
        self._datetime_ie = (step, item)
        return item

    @staticmethod
    def next_ts(d: Dialog, now: float) -> int:
        """Timestamp of a frame sent now: never repeats or goes back (Asterisk adds 3 ms)."""
        ms = d.ms(now)
        if ms <= d.lastsent:
            ms = d.lastsent + 3
        d.lastsent = ms
        return ms

    # ------------------------------------------------------------------ sending
    def send(self, d: Dialog, frametype: FrameType, subclass: int, now: float, *,
             ies: Optional[list[IE]] = None, payload: bytes = b"", final: bool = False,
             ts: Optional[int] = None) -> int:
        """Send a sequenced, reliable full frame on dialog ``d``; returns its timestamp. The
        transition table says whether sending it moves the dialog to another state."""
        if ts is None:
            ts = self.next_ts(d, now)
        elif ts > d.lastsent:
            d.lastsent = ts
        oseq = d.oseqno
        data = _encode_full(d.callno, d.peer_callno or 0, ts, oseq, d.iseqno, frametype,
                            subclass, ies or [], payload)
        self.out.append((data, d.addr))
        self.stats.frames_sent += 1
        d.aseqno = d.iseqno
        d.oseqno = (oseq + 1) & 0xFF
        cfg = self.config
        rto = first_rto(d.pingtime, cfg.min_retry, cfg.max_retry)
        d.pending[oseq] = Pending(oseq, data, now + rto, rto, final)
        self.schedule(d, now + rto)
        rows = SENT.get((frametype, subclass))
        if rows is not None:
            self.advance(d, rows.get(d.cell))
        return ts

    def send_unreliable(self, d: Dialog, subclass: IAXSubclass, ts: int, oseqno: int,
                        ies: Optional[list[IE]] = None) -> None:
        """ACK, VNAK, INVAL: no sequence number consumed, never retransmitted."""
        sc, dc = d.callno, d.peer_callno or 0
        if not ies and sc <= 0x7FFF and dc <= 0x7FFF:
            # header only, subclass < 0x80: the bytes FullFrame(...).encode() gives
            try:
                data = _pack_full_header(0x8000 | sc, dc, ts, oseqno, d.iseqno, _IAX, subclass)
            except struct.error:
                pass  # out of range: the general path below reports it
            else:
                self.out.append((data, d.addr))
                d.aseqno = d.iseqno
                return
        f = FullFrame(source_call=d.callno, dest_call=d.peer_callno or 0, timestamp=ts,
                      oseqno=oseqno, iseqno=d.iseqno, frametype=_IAX,
                      subclass=subclass, ies=ies or [])
        self.out.append((f.encode(), d.addr))
        d.aseqno = d.iseqno

    def send_ack(self, d: Dialog, f: FullFrame) -> None:
        """ACK echoing ``f``'s timestamp; its oseqno is ``f``'s iseqno (Asterisk)."""
        self.send_unreliable(d, _ACK, f.timestamp, f.iseqno)
        self.stats.acks_sent += 1

    def send_apathetic(self, f: FullFrame, addr: Address, subclass: IAXSubclass,
                       ies: Optional[list[IE]] = None) -> None:
        """A stateless reply from call number 1 (no dialog allocated), as Asterisk's
        send_apathetic_reply: timestamp echoed, oseqno 0, iseqno = received iseqno + 1."""
        self.out.append((_encode_full(APATHETIC_CALLNO, f.source_call, f.timestamp, 0,
                                      (f.iseqno + 1) & 0xFF, _IAX, subclass, ies or [], b""),
                         addr))
        self.stats.apathetic_sent += 1

    def send_request(self, d: Dialog, subclass: IAXSubclass, request_ies: list[IE],
                     now: float) -> None:
        """Send a dialog-starting request, with the empty CALLTOKEN IE last if configured."""
        if self.config.send_calltoken:
            request_ies = request_ies + [EMPTY_CALLTOKEN]
        d.request = (subclass, request_ies)
        self.send(d, _IAX, subclass, now, ies=request_ies)

    def send_ping(self, d: Dialog, now: float, subclass: IAXSubclass = IAXSubclass.PING) -> None:
        """PING (or POKE), remembering when its timestamp went out for the round trip."""
        ts = self.send(d, _IAX, subclass, now)
        if len(d.ping_sent) > 8:
            d.ping_sent.clear()
        d.ping_sent[ts] = now

    def reject(self, d: Dialog, cause: str, code: int, now: float,
               subclass: IAXSubclass = IAXSubclass.REJECT) -> None:
        """REJECT (or REGREJ) with CAUSE and CAUSECODE: a final frame."""
        self.send(d, _IAX, subclass, now,
                  ies=ies((IEType.CAUSE, cause), (IEType.CAUSECODE, code)), final=True)

    def challenge(self, d: Dialog, subclass: IAXSubclass, now: float) -> None:
        """AUTHREQ (or REGAUTH) with a fresh MD5 challenge."""
        d.challenge = new_challenge(self.rng)
        self.send(d, _IAX, subclass, now, ies=ies(
            (IEType.AUTHMETHODS, AuthMethod.MD5), (IEType.CHALLENGE, d.challenge),
            (IEType.USERNAME, d.username)))

    def refuse(self, d: Dialog, reason: tuple[str, int], now: float) -> None:
        """The engine rejects an incoming call itself and reports it."""
        self.reject(d, reason[0], reason[1], now)
        self.events.append(ev.CallRefused(d.callno, d.addr, d.called_number, d.context,
                                          reason[0], reason[1]))
        self.stats.calls_refused += 1

    # ------------------------------------------------------------------ receiving
    def on_full(self, f: FullFrame, addr: Address, now: float) -> None:
        """A full frame: find (or, past the token gate, create) its dialog."""
        st = self.stats
        st.frames_received += 1
        sub = f.subclass if f.frametype == _IAX else None
        if f.dest_call:
            d = self.dialogs.get(f.dest_call)
            if (d is None or d.addr != addr
                    or (d.peer_callno is not None and d.peer_callno != f.source_call)):
                st.unknown_call += 1
                self.maybe_inval(f, addr, sub)
                return
        else:
            found = self.by_peer.get((addr, f.source_call))
            if found is None:
                if sub in _OPENERS:
                    created = calltoken.admit(self, f, addr, now)
                    if created is not None:
                        self.on_dialog_frame(created, f, sub, now)
                elif sub == _POKE:
                    # Answered without allocating a call number (no state for strangers).
                    self.send_apathetic(f, addr, _PONG)
                    st.pokes_answered += 1
                else:
                    st.unknown_call += 1
                return
            d = found
        self.on_dialog_frame(d, f, sub, now)

    def maybe_inval(self, f: FullFrame, addr: Address, sub: Optional[int]) -> None:
        """A frame for a call we do not have: INVAL back (not for ACK/INVAL/VNAK/TX*)."""
        if sub in UNSEQUENCED or sub == IAXSubclass.CALLTOKEN:
            return
        r = FullFrame(source_call=f.dest_call, dest_call=f.source_call, timestamp=f.timestamp,
                      oseqno=f.iseqno, iseqno=(f.oseqno + 1) & 0xFF, frametype=_IAX,
                      subclass=IAXSubclass.INVAL)
        self.out.append((r.encode(), addr))
        self.stats.invals_sent += 1

    def on_dialog_frame(self, d: Dialog, f: FullFrame, sub: Optional[int], now: float) -> None:
        """The receive path every full frame of a dialog takes (see the module docstring)."""
        st = self.stats
        if d.peer_callno is None:
            if sub == _CALLTOKEN:
                calltoken.resend_with_token(self, d, f, now)
                return
            d.peer_callno = f.source_call
            self.by_peer[(d.addr, f.source_call)] = d
        if sub != _INVAL and f.iseqno != d.rseqno:  # (an iseqno equal to rseqno acks nothing)
            self.implicit_ack(d, f.iseqno, now)
            if not d.alive:
                return
        sequenced = sub not in UNSEQUENCED
        if sequenced:
            if f.oseqno != d.iseqno:  # (the expected oseqno is "ok")
                if classify(d.iseqno, f.oseqno) == "duplicate":
                    st.duplicates += 1
                    self.send_ack(d, f)
                    return
                st.out_of_order += 1  # ahead
                d.rx_ooo += 1
                self.send_unreliable(d, IAXSubclass.VNAK, self.next_ts(d, now), d.iseqno)
                st.vnaks_sent += 1
                return
            d.iseqno = (d.iseqno + 1) & 0xFF
        if sub is not None:
            rows = _RECEIVED_IAX.get(sub)
        else:
            rows = RECEIVED.get(machine.frame_key(f.frametype, f.subclass))
        if rows is None:
            if f.frametype == _IAX and not isinstance(sub, IAXSubclass):
                self.send(d, _IAX, IAXSubclass.UNSUPPORT, now,
                          ies=[IE(IEType.IAX_UNKNOWN, int(f.subclass) & 0xFF)])
            st.unhandled += 1
        else:
            row = rows.get(d.cell)
            if row is None:
                st.unexpected += 1
            else:
                if row.next is not None:
                    self.advance(d, row)
                if row.handler is not None:
                    row.handler(self, d, f, now)
        if sequenced and d.alive and d.aseqno != d.iseqno:
            self.send_ack(d, f)

    def implicit_ack(self, d: Dialog, iseqno: int, now: float) -> None:
        """Drop the frames a received ``iseqno`` acknowledges; a final one ends the dialog."""
        n = acked_by(iseqno, d.rseqno, d.oseqno)
        if not n:
            return
        pending = d.pending
        seq = d.rseqno
        for _ in range(n):
            p = pending.pop(seq, None)
            if p is not None and p.final:
                self.destroy(d, now)
                return
            seq = (seq + 1) & 0xFF
        d.rseqno = iseqno
        scheduled = d.scheduled
        if scheduled is not None:
            # the frames just acknowledged no longer need their retransmission deadline: keep
            # the dialog's timer at its real next deadline, so no one wakes up for nothing
            deadline = d.next_deadline()
            if deadline != scheduled:
                d.scheduled = deadline
                if deadline is not None:
                    heapq.heappush(self.heap, (deadline, next(self._seq), d))

    def on_mini(self, f: MiniFrame, addr: Address) -> None:
        """Mini voice: found by (peer address, peer call number)."""
        d = self.by_peer.get((addr, f.source_call))
        if d is None or d.kind is not Kind.CALL or d.state is State.CLOSING:
            self.stats.unknown_call += 1
            return
        if not d.rx_format:
            self.stats.mini_before_full += 1  # Asterisk drops these too
            return
        self.voice_in(d, f.payload, unwrap_timestamp(d.last_rx_ts, f.timestamp))

    def on_trunk(self, f: TrunkFrame, addr: Address) -> None:
        """A meta trunk frame: each entry is mini voice of one call."""
        self.stats.trunk_received += 1
        for e in f.entries:
            d = self.by_peer.get((addr, e.source_call))
            if d is None or d.kind is not Kind.CALL or d.state is State.CLOSING:
                self.stats.unknown_call += 1
                continue
            if not d.rx_format:
                self.stats.mini_before_full += 1
                continue
            ts16 = e.timestamp if e.timestamp is not None else f.timestamp & 0xFFFF
            self.voice_in(d, e.payload, unwrap_timestamp(d.last_rx_ts, ts16))

    def voice_in(self, d: Dialog, payload: bytes, ts: int) -> None:
        """Voice received on ``d`` with its 32-bit timestamp."""
        d.last_rx_ts = ts
        d.rx_voice += 1
        self.stats.voice_received += 1
        self.events.append(ev.VoiceReceived(d.callno, payload, d.rx_format, ts))

    # ------------------------------------------------------------------ timers
    def dialog_timer(self, d: Dialog, now: float) -> None:
        """Retransmit what is due, give up after ``max_sends``, run named timers."""
        cfg = self.config
        for p in list(d.pending.values()):
            if p.deadline > now:
                continue
            if p.sends >= cfg.max_sends:
                self.give_up(d, p, now)
                return
            self.out.append((p.retransmission(), d.addr))
            p.sends += 1
            p.rto = next_rto(p.rto, cfg.retry_factor, cfg.max_retry)
            p.deadline = now + p.rto
            self.stats.retransmissions += 1
        for name in [n for n, t in d.timers.items() if t <= now]:
            if d.timers.pop(name, None) is None:
                continue  # stopped by an earlier handler of this batch (the call is closing)
            kind, _, arg = name.partition(":")
            TIMER_HANDLERS[kind](self, d, now, arg)
            if not d.alive:
                return
        self.schedule(d, d.next_deadline())

    def give_up(self, d: Dialog, p: Pending, now: float) -> None:
        """Retransmissions exhausted: destroy silently (Asterisk sends nothing) and tell."""
        self.stats.gave_up += 1
        self.destroy(d, now)
        if p.final or (d.tbd and not d.caller):   # the application never saw this one
            return
        if d.kind is Kind.CALL:
            calls.lookups_lost(self, d)
            self.events.append(ev.CallFailed(d.callno, *OUT_OF_ORDER))
        elif d.kind is Kind.REGISTER and d.reg is not None and d.reg.alive:
            reg = d.reg
            self.events.append(ev.RegistrationFailed(reg.reg_id, reg.addr, reg.username,
                                                     "timeout", None))
            reg.deadline = now + self.config.reg_retry
            self.schedule(reg, reg.deadline)
        elif d.kind is Kind.POKE:
            self.events.append(ev.PokeTimeout(d.callno, d.addr))


#: Dialog timer name (before ":") -> handler(core, dialog, now, text after ":").
TIMER_HANDLERS: dict[str, Callable[[Core, Dialog, float, str], None]] = {
    "ping": calls.timer_ping,
    "lagrq": calls.timer_lagrq,
    "congest": calls.timer_congest,
    "pokeexpire": calls.timer_poke,
    "dp": lookup.timer_dp,
    "idle": lookup.timer_idle,
}
