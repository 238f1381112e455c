"""The sans-I/O IAX2 endpoint: datagrams and commands in, datagrams, timers and events out.

Theory of operation (docs/engine.md has the full tables):

* Every local call number belongs to a :class:`Dialog` (a call, our registration attempt, a
  peer's registration, our POKE). Frames addressed to a call number (destination call set)
  are looked up by it and checked against the peer's address and call number; frames with
  destination 0 are looked up by (peer address, peer call number), and only NEW, REGREQ,
  REGREL may create a dialog -- after the call-token check, so nothing is allocated for a
  request without a valid token. POKE is answered without allocating anything.
* Each received full frame goes through one path: implicit acknowledgement from its iseqno,
  the sequence check (duplicate -> ACK, ahead -> VNAK), then a handler chosen from
  ``_FRAME_HANDLERS`` by (frame type, subclass) and allowed only in the dialog states the
  table lists; afterwards an explicit ACK goes out unless our reply already carried the new
  iseqno (Asterisk's ``aseqno != iseqno`` rule).
* Reliable frames wait in ``Dialog.pending`` and are resent with the R bit at 2 x ping time,
  x10 per retry, capped at 10 s; after ``max_sends`` sends the dialog gives up silently
  (``CallFailed`` cause 27 for a call).
* Time only enters as the ``now`` argument; all randomness (call numbers, challenges, the
  call-token secret) comes from ``random.Random(seed)``.
"""
from __future__ import annotations

import datetime as _dt
import functools
import heapq
import itertools
import random
import struct
from collections import deque
from typing import Any, Callable, Final, Iterable, Optional

from iaxsim.errors import IaxsimError
from iaxsim.iax2.constants import (AuthMethod, ControlSubclass, DecodeError, DPStatus, FrameType,
                                   IAXSubclass, IEType)
from iaxsim.iax2.engine import events as ev
from iaxsim.iax2.engine.auth import md5_matches, md5_response, new_challenge
from iaxsim.iax2.engine.callnumbers import CallNumberPool
from iaxsim.iax2.engine.config import EndpointConfig
from iaxsim.iax2.engine.dialog import (Address, Dialog, Kind, PeerEntry, Registration, State,
                                       TrunkBuffer)
from iaxsim.iax2.engine.reliability import UNSEQUENCED, Pending, next_rto
from iaxsim.iax2.engine.stats import EndpointStats
from iaxsim.iax2.engine.tokens import CallTokens
from iaxsim.iax2.frames import FullFrame, MiniFrame, TrunkEntry, TrunkFrame, decode
from iaxsim.iax2.ies import IE
from iaxsim.iax2.media import FRAME_SIZES, MediaFormat


#: A frame type, subclass or IE number: an enum member or a plain int, passed on as it is (typed
#: ``int``, compiled code would turn an IntEnum member into a plain int).
_Sub = Any

# What the commands convert or check themselves is typed with these aliases of Any. Compiled with
# mypyc, a parameter typed ``int`` or ``str`` refuses anything else with a bare TypeError naming
# no argument, where the engine gives its own error (EngineError for an unknown call id,
# EncodeError naming the IE for a value that cannot go on the wire) or converts the value.
CallId = Any     # a call or registration id (an int; anything else is simply unknown)
Text = Any       # a str (what the IE takes), checked when the frame is built
IntLike = Any    # an int, or anything ``int()`` takes
BytesLike = Any  # bytes or another bytes-like object

# Enum members the engine uses, as module-level constants: the very same objects (identity,
# reprs and events keep them), read faster than through the enum classes (``EnumType`` attribute
# access), and held in C statics when the module is compiled with mypyc.
_IAX: Final = FrameType.IAX
_CONTROL: Final = FrameType.CONTROL
_VOICE: Final = FrameType.VOICE
_DTMF_END: Final = FrameType.DTMF_END
IAX_NEW: Final = IAXSubclass.NEW
IAX_PING: Final = IAXSubclass.PING
IAX_PONG: Final = IAXSubclass.PONG
IAX_ACK: Final = IAXSubclass.ACK
IAX_HANGUP: Final = IAXSubclass.HANGUP
IAX_REJECT: Final = IAXSubclass.REJECT
IAX_ACCEPT: Final = IAXSubclass.ACCEPT
IAX_AUTHREQ: Final = IAXSubclass.AUTHREQ
IAX_AUTHREP: Final = IAXSubclass.AUTHREP
IAX_INVAL: Final = IAXSubclass.INVAL
IAX_LAGRQ: Final = IAXSubclass.LAGRQ
IAX_LAGRP: Final = IAXSubclass.LAGRP
IAX_REGREQ: Final = IAXSubclass.REGREQ
IAX_REGAUTH: Final = IAXSubclass.REGAUTH
IAX_REGACK: Final = IAXSubclass.REGACK
IAX_REGREJ: Final = IAXSubclass.REGREJ
IAX_REGREL: Final = IAXSubclass.REGREL
IAX_VNAK: Final = IAXSubclass.VNAK
IAX_DPREQ: Final = IAXSubclass.DPREQ
IAX_DPREP: Final = IAXSubclass.DPREP
IAX_POKE: Final = IAXSubclass.POKE
IAX_UNSUPPORT: Final = IAXSubclass.UNSUPPORT
IAX_CALLTOKEN: Final = IAXSubclass.CALLTOKEN

CTRL_RINGING: Final = ControlSubclass.RINGING
CTRL_ANSWER: Final = ControlSubclass.ANSWER
CTRL_BUSY: Final = ControlSubclass.BUSY
CTRL_CONGESTION: Final = ControlSubclass.CONGESTION
CTRL_PROGRESS: Final = ControlSubclass.PROGRESS
CTRL_PROCEEDING: Final = ControlSubclass.PROCEEDING

IE_CALLED_NUMBER: Final = IEType.CALLED_NUMBER
IE_CALLING_NUMBER: Final = IEType.CALLING_NUMBER
IE_CALLING_NAME: Final = IEType.CALLING_NAME
IE_CALLED_CONTEXT: Final = IEType.CALLED_CONTEXT
IE_USERNAME: Final = IEType.USERNAME
IE_PASSWORD: Final = IEType.PASSWORD
IE_CAPABILITY: Final = IEType.CAPABILITY
IE_FORMAT: Final = IEType.FORMAT
IE_VERSION: Final = IEType.VERSION
IE_AUTHMETHODS: Final = IEType.AUTHMETHODS
IE_CHALLENGE: Final = IEType.CHALLENGE
IE_MD5_RESULT: Final = IEType.MD5_RESULT
IE_APPARENT_ADDR: Final = IEType.APPARENT_ADDR
IE_REFRESH: Final = IEType.REFRESH
IE_DPSTATUS: Final = IEType.DPSTATUS
IE_CAUSE: Final = IEType.CAUSE
IE_IAX_UNKNOWN: Final = IEType.IAX_UNKNOWN
IE_DATETIME: Final = IEType.DATETIME
IE_CALLINGPRES: Final = IEType.CALLINGPRES
IE_CALLINGTON: Final = IEType.CALLINGTON
IE_CALLINGTNS: Final = IEType.CALLINGTNS
IE_CAUSECODE: Final = IEType.CAUSECODE
IE_RR_JITTER: Final = IEType.RR_JITTER
IE_RR_LOSS: Final = IEType.RR_LOSS
IE_RR_PKTS: Final = IEType.RR_PKTS
IE_RR_DELAY: Final = IEType.RR_DELAY
IE_RR_DROPPED: Final = IEType.RR_DROPPED
IE_RR_OOO: Final = IEType.RR_OOO
IE_CALLTOKEN: Final = IEType.CALLTOKEN

ST_WAIT_REPLY: Final = State.WAIT_REPLY
ST_AUTHENTICATING: Final = State.AUTHENTICATING
ST_WAIT_APP: Final = State.WAIT_APP
ST_ACCEPTED: Final = State.ACCEPTED
ST_RINGING: Final = State.RINGING
ST_UP: Final = State.UP
ST_CLOSING: Final = State.CLOSING

K_CALL: Final = Kind.CALL
K_REGISTER: Final = Kind.REGISTER
K_REGISTRAR: Final = Kind.REGISTRAR
K_POKE: Final = Kind.POKE

#: Source call number of stateless ("apathetic") replies, as Asterisk uses it.
APATHETIC_CALLNO = 1
#: Asterisk's MAX_TIMESTAMP_SKEW: voice timestamps follow the predicted 20 ms grid within it.
MAX_TIMESTAMP_SKEW = 640

_CALL_ACTIVE = frozenset({ST_ACCEPTED, ST_RINGING, ST_UP})
_CALLEE_OPEN = frozenset({ST_WAIT_APP, ST_ACCEPTED, ST_RINGING, ST_UP})
_ANY_OPEN = frozenset(State) - {ST_CLOSING}

NO_AUTHORITY = ("No authority found", 50)
NO_EXTENSION = ("No such context/extension", 3)
NO_CODEC = ("Unable to negotiate codec", 58)
REG_REFUSED = ("Registration Refused", 29)
OUT_OF_ORDER = ("Max retries exceeded", 27)


class EngineError(IaxsimError, ValueError):
    """A command the endpoint cannot carry out (unknown call, wrong state, no call numbers)."""


#: IEs are immutable: the common ones (VERSION, FORMAT, CAUSECODE...) are built once.
_cached_ie = functools.lru_cache(maxsize=4096)(IE)


def _ies(*pairs: tuple[_Sub, Any]) -> list[IE]:
    out = []
    for t, v in pairs:
        if v is not None:
            try:
                out.append(_cached_ie(t, v))
            except TypeError:  # an unhashable value cannot be cached: IE() says what is wrong
                out.append(IE(t, v))
    return out


_EMPTY_CALLTOKEN = IE(IE_CALLTOKEN, b"")
_pack_full_header = struct.Struct("!HHIBBBB").pack


def _full_frame(source_call: int, dest_call: int, timestamp: int, oseqno: int, iseqno: int,
                frametype: _Sub, subclass: _Sub, ies: list, payload: bytes) -> FullFrame:
    """``FullFrame(...)`` for the engine's own frames, arguments given by position."""
    return FullFrame(source_call, dest_call, timestamp, oseqno, iseqno, frametype, subclass, ies,
                     payload)


def _first_ies(f: FullFrame) -> dict[int, IE]:
    """The first IE of each number in ``f`` (what ``f.ie`` would find), in one pass."""
    first: dict[int, IE] = {}
    for item in f.ies:
        if item[0] not in first:
            first[item[0]] = item
    return first


def _ie_value(first: dict[int, IE], ie_id: _Sub) -> Any:
    item = first.get(ie_id)
    return item.value if item is not None else None


def _voice_ms(fmt: int, nbytes: int) -> int:
    """Duration of a voice payload in ms (20 ms when the format's frame size is unknown)."""
    size = FRAME_SIZES.get(fmt)  # type: ignore[call-overload]
    if size is None or nbytes <= 0:
        return 20
    return max(1, (nbytes * size.ms) // size.nbytes)


def unwrap_timestamp(last: int, ts16: int) -> int:
    """Full 32-bit timestamp of a mini frame whose low 16 bits are ``ts16``, given the last
    full timestamp ``last`` received on the call (Asterisk unwrap_timestamp)."""
    ts = (last & ~0xFFFF) | ts16
    if ts < last - 0x8000:
        ts += 0x10000
    elif ts > last + 0x8000 and ts >= 0x10000:
        ts -= 0x10000
    return ts


class Endpoint:
    """One PBX's IAX2 stack, without sockets or clock.

    Feed it ``receive_datagram(data, addr, now)`` and ``handle_timer(now)`` at
    ``get_timer()``; send what ``datagrams_to_send(now)`` returns; read ``next_event()``.
    """

    def __init__(self, config: EndpointConfig | None = None,
                 seed: int | float | str | bytes = 0):
        self.config = cfg = config if config is not None else EndpointConfig()
        # One seeded stream: the ordinary call numbers' shuffle, the trunk call numbers'
        # shuffle, the call-token secret, then challenges. The pools draw only as numbers are
        # taken; what comes after them starts from the state their full shuffles leave.
        self._pool = CallNumberPool(2, cfg.max_calls // 2 - 1, random.Random(seed),
                                    cfg.callno_hold_off)
        self._trunk_numbers: CallNumberPool | None = None
        self._late: tuple[random.Random, CallTokens] | None = None
        self._calls: dict[int, Dialog] = {}
        self._by_peer: dict[tuple[Address, int], Dialog] = {}
        self._out: list[tuple[bytes, Address]] = []
        self._events: deque[ev.Event] = deque()
        self._heap: list[tuple[float, int, Any]] = []
        self._seq = itertools.count()
        self._reg_ids = itertools.count(1)
        self._registrations: dict[int, Registration] = {}
        self._peers: dict[str, PeerEntry] = {}
        self._trunks: dict[Address, TrunkBuffer] = {}
        self._nonvalidated = 0
        #: (is NEW, name) of requirecalltoken=auto users/peers that have sent a valid token
        self._calltoken_auto_done: set[tuple[bool, str]] = set()
        self._tbd: dict[tuple, Dialog] = {}      # open lookup calls by (peer, context, user)
        self._datetime_ie: tuple[Any, IE] | None = None   # (fields, DATETIME IE) last built
        self.stats = EndpointStats()

    @property
    def _trunk_pool(self) -> CallNumberPool:
        """Call numbers for calls with a trunk peer (made on first use)."""
        if self._trunk_numbers is None:
            cfg = self.config
            self._trunk_numbers = CallNumberPool(cfg.max_calls // 2, cfg.max_calls - 1,
                                                 self._pool.rng_after_shuffle(),
                                                 cfg.callno_hold_off)
        return self._trunk_numbers

    def _late_stream(self) -> tuple[random.Random, CallTokens]:
        """The generator after both shuffles, and the call tokens whose secret it drew first."""
        if self._late is None:
            rng = self._trunk_pool.rng_after_shuffle()
            self._late = (rng, CallTokens(rng, self.config.token_lifetime))
        return self._late

    # ------------------------------------------------------------------ public I/O surface
    def receive_datagram(self, data: BytesLike, addr: Address, now: float) -> None:
        """Process one received UDP payload from ``addr``. Never raises on bad input: a
        datagram that does not decode, or that no dialog wants, is counted in ``stats``."""
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
                self._on_full(frame, addr, now)
            elif type(frame) is MiniFrame:
                self._on_mini(frame, addr, now)
            elif type(frame) is TrunkFrame:
                self._on_trunk(frame, addr, now)
            else:
                st.unhandled += 1
        except IaxsimError:
            # A frame that decodes but whose reply cannot be built from its values (an
            # EncodeError, say): counted, never propagated to the transport.
            st.garbage += 1

    def datagrams_to_send(self, now: float) -> list[tuple[bytes, Address]]:
        """Datagrams produced since the last call, in order, as (bytes, destination)."""
        out, self._out = self._out, []
        return out

    def get_timer(self) -> Optional[float]:
        """The next time ``handle_timer`` has work to do, or None."""
        heap = self._heap
        while heap:
            t, _, owner = heap[0]
            if owner.alive and owner.scheduled == t:
                return t
            heapq.heappop(heap)
        return None

    def handle_timer(self, now: float) -> None:
        """Run every timer due at ``now`` (retransmissions, refreshes, expiries...)."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            t, _, owner = heapq.heappop(heap)
            if not owner.alive or owner.scheduled != t:
                continue
            owner.scheduled = None
            if type(owner) is Dialog:
                self._dialog_timer(owner, now)
            elif type(owner) is Registration:
                self._registration_timer(owner, now)
            elif type(owner) is PeerEntry:
                self._peer_timer(owner, now)
            else:
                self._trunk_flush(owner, now)

    def next_event(self) -> Optional[ev.Event]:
        """The oldest event not yet taken, or None."""
        return self._events.popleft() if self._events else None

    # ------------------------------------------------------------------ queries
    def call_state(self, call_id: CallId) -> Optional[str]:
        """State name of a live dialog ("wait_reply", "up", "closing"...), or None."""
        d = self._calls.get(call_id)
        return d.state.value if d is not None else None

    def call_info(self, call_id: CallId) -> Optional[Dialog]:
        """The live dialog behind ``call_id`` (read-only use), or None."""
        return self._calls.get(call_id)

    @property
    def active_dialogs(self) -> int:
        """Call numbers currently in use."""
        return len(self._calls)

    @property
    def registered_peers(self) -> dict[str, Address]:
        """Peers currently registered with us: username -> address."""
        return {name: p.addr for name, p in self._peers.items()}

    def peer_address(self, username: Text) -> Optional[Address]:
        """Where a registered peer can be reached, or None."""
        p = self._peers.get(username)
        return p.addr if p is not None else None

    # ------------------------------------------------------------------ commands: calls
    def place_call(self, addr: Address, number: Text, *, now: float, context: Text = "default",
                   calling_number: Optional[Text] = None, calling_name: Optional[Text] = None,
                   username: Optional[Text] = None, secret: Optional[str] = None,
                   formats: Optional[IntLike] = None, format: Optional[IntLike] = None,
                   maxtime: Optional[float] = None) -> int:
        """Send a NEW to ``addr`` for ``number`` in ``context``; returns the call id.

        ``maxtime`` (seconds) is Asterisk's auto-congest for a qualified peer (its maxms):
        ping time maxtime/2, and ``CallCongestion`` if no ACCEPT came within 2 x maxtime
        (the application then hangs up, as Asterisk's dialplan does)."""
        cfg = self.config
        addr = (addr[0], addr[1])
        caps = int(formats if formats is not None else cfg.formats)
        fmt = int(format if format is not None else cfg.preferred_format)
        if not caps & fmt:
            raise EngineError(f"format {fmt:#x} is not among the offered formats {caps:#x}")
        if maxtime is not None and maxtime <= 0:
            raise EngineError(f"maxtime must be positive, got {maxtime}")
        # the IEs first: a value that cannot be sent is refused before a call number is taken
        # (FORMAT/CAPABILITY as plain ints: the same IE, same cache entry, as MediaFormat(x))
        ies = _ies((IE_VERSION, 2), (IE_CALLED_NUMBER, number), (IE_CALLING_NUMBER, calling_number),
                   (IE_CALLINGPRES, 0), (IE_CALLINGTON, 0), (IE_CALLINGTNS, 0),
                   (IE_CALLING_NAME, calling_name), (IE_CALLED_CONTEXT, context),
                   (IE_USERNAME, username), (IE_FORMAT, fmt), (IE_CAPABILITY, caps))
        ies.append(self._datetime_ie_at(now))
        trunk = addr in cfg.trunk_peers
        d = self._new_dialog(addr, K_CALL, True, now, trunk=trunk,
                             pingtime=maxtime / 2.0 if maxtime is not None else None)
        if maxtime is not None:
            d.timers["congest"] = now + 2.0 * maxtime
        d.called_number, d.context, d.username, d.secret = number, context, username, secret
        d.calling_number, d.calling_name = calling_number, calling_name
        d.format, d.capability, d.tbd, d.trunk = fmt, caps, number == "TBD", trunk
        self._send_request(d, IAX_NEW, ies, now)
        self._schedule(d, d.next_deadline())
        self.stats.calls_placed += 1
        return d.callno

    def accept(self, call_id: CallId, *, now: float, format: Optional[IntLike] = None) -> None:
        """ACCEPT an incoming call (after ``IncomingCall``)."""
        d = self._dialog(call_id, K_CALL, caller=False, states=(ST_WAIT_APP,))
        if format is not None:
            d.format = int(format)
        self._accept(d, now)

    def ring(self, call_id: CallId, *, now: float) -> None:
        """Send control RINGING (accepting first if needed)."""
        d = self._dialog(call_id, K_CALL, caller=False, states=_CALLEE_OPEN)
        if d.state is ST_WAIT_APP:
            self._accept(d, now)
        self._send(d, _CONTROL, CTRL_RINGING, now)
        if d.state is ST_ACCEPTED:
            d.state = ST_RINGING

    def answer(self, call_id: CallId, *, now: float) -> None:
        """Send control ANSWER (accepting first if needed)."""
        d = self._dialog(call_id, K_CALL, caller=False, states=_CALLEE_OPEN)
        if d.state is ST_WAIT_APP:
            self._accept(d, now)
        self._send(d, _CONTROL, CTRL_ANSWER, now)
        d.state = ST_UP

    def reject(self, call_id: CallId, cause: Text = "Call Rejected", code: IntLike = 21, *,
               now: float) -> None:
        """REJECT an incoming call that is not yet answered."""
        d = self._dialog(call_id, K_CALL, caller=False,
                         states=(ST_WAIT_APP, ST_ACCEPTED, ST_RINGING))
        self._reject(d, cause, code, now)

    def busy(self, call_id: CallId, *, now: float) -> None:
        """Signal busy (control BUSY); the caller hangs up."""
        d = self._dialog(call_id, K_CALL, states=_ANY_OPEN)
        self._send(d, _CONTROL, CTRL_BUSY, now)

    def congestion(self, call_id: CallId, *, now: float) -> None:
        """Signal congestion (control CONGESTION)."""
        d = self._dialog(call_id, K_CALL, states=_ANY_OPEN)
        self._send(d, _CONTROL, CTRL_CONGESTION, now)

    def hangup(self, call_id: CallId, cause: Optional[Text] = None, code: IntLike = 16, *,
               now: float) -> None:
        """Send IAX HANGUP (final: the call number is released once it is acknowledged)."""
        d = self._dialog(call_id, K_CALL, states=_ANY_OPEN)
        self._send(d, _IAX, IAX_HANGUP, now, ies=_ies((IE_CAUSE, cause), (IE_CAUSECODE, code)),
                   final=True)
        self._close(d)

    def send_voice(self, call_id: CallId, payload: BytesLike, *, now: float,
                   format: Optional[int] = None, timestamp: Optional[int] = None) -> None:
        """Send voice: a full frame first (and on format change or 16-bit timestamp wrap),
        mini frames (or trunk entries toward a trunk peer) afterwards."""
        d = self._dialog(call_id, K_CALL, states=_CALL_ACTIVE)
        fmt = int(format if format is not None else d.format or self.config.preferred_format)
        payload = bytes(payload)
        if timestamp is None:
            ms = d.ms(now)
            pred = d.next_voice_ts
            ts = pred if pred is not None and abs(ms - pred) <= MAX_TIMESTAMP_SKEW else ms
            if ts <= d.last_voice_ts:
                ts = d.last_voice_ts + 1
        else:
            ts = int(timestamp)
        d.next_voice_ts = ts + _voice_ms(fmt, len(payload))
        st = self.stats
        if (d.tx_format == fmt and d.peer_callno is not None
                and (d.trunk or (ts >> 16) == (d.last_voice_ts >> 16))):
            if d.trunk:
                self._trunk_add(d, ts, payload, now)
            else:
                self._out.append((MiniFrame(source_call=d.callno, timestamp=ts & 0xFFFF,
                                            payload=payload).encode(), d.addr))
            st.mini_sent += 1
        else:
            self._send(d, _VOICE, MediaFormat(fmt), now, payload=payload, ts=ts)
            d.tx_format = fmt
            st.voice_full_sent += 1
        d.last_voice_ts = ts

    def send_dtmf(self, call_id: CallId, digit: Text, *, now: float) -> None:
        """Send one DTMF digit (frame type DTMF end, subclass = the digit's character code)."""
        if not isinstance(digit, str) or len(digit) != 1 or digit not in "0123456789*#ABCD":
            raise EngineError(f"not a DTMF digit: {digit!r}")
        d = self._dialog(call_id, K_CALL, states=_CALL_ACTIVE)
        self._send(d, _DTMF_END, ord(digit), now)

    def ping(self, call_id: CallId, *, now: float) -> None:
        """Send PING on a call; the PONG gives ``PongReceived`` and updates the RTO."""
        d = self._dialog(call_id, K_CALL, states=_ANY_OPEN)
        self._send_ping(d, now)

    def lagrq(self, call_id: CallId, *, now: float) -> None:
        """Send LAGRQ on a call; the LAGRP gives ``LagReply``."""
        d = self._dialog(call_id, K_CALL, states=_ANY_OPEN)
        self._send(d, _IAX, IAX_LAGRQ, now)

    # ------------------------------------------------------------------ commands: others
    def register(self, addr: Address, username: Text, secret: Optional[str] = None,
                 refresh: IntLike = 60, *, now: float) -> int:
        """Register ``username`` with the registrar at ``addr`` and keep refreshing it (at
        5/6 of the granted refresh); returns a registration id."""
        if not 1 <= int(refresh) <= 0xFFFF:
            raise EngineError(f"refresh must be 1..65535 seconds, got {refresh}")
        _ies((IE_USERNAME, username))  # a name that cannot be sent is refused before it is kept
        reg = Registration(next(self._reg_ids), (addr[0], addr[1]), username, secret, int(refresh))
        self._registrations[reg.reg_id] = reg
        self._register_attempt(reg, now)
        return reg.reg_id

    def unregister(self, reg_id: CallId, *, now: float) -> None:
        """Stop refreshing and send REGREL for the registration."""
        reg = self._registrations.pop(reg_id, None)
        if reg is None:
            raise EngineError(f"no registration {reg_id}")
        reg.alive = False
        if reg.dialog is not None and reg.dialog.alive:
            self._destroy(reg.dialog, now)
        d = self._new_dialog(reg.addr, K_REGISTER, True, now)
        d.username, d.secret = reg.username, reg.secret
        self._send_request(d, IAX_REGREL, _ies((IE_USERNAME, reg.username)), now)

    def poke(self, addr: Address, *, now: float) -> int:
        """Qualify ``addr``: POKE it (RTO from qualify_maxms / 8); ``PongReceived`` or
        ``PokeTimeout`` follows. Returns the call id."""
        d = self._new_dialog((addr[0], addr[1]), K_POKE, True, now,
                             pingtime=self.config.qualify_maxms / 8.0)
        self._send_ping(d, now, IAX_POKE)
        return d.callno

    def dial_lookup(self, addr: Address, number: Text, context: Text = "default", *, now: float,
                    username: Optional[str] = None, secret: Optional[str] = None) -> int:
        """Ask ``addr`` whether ``number`` exists in ``context`` (DPREQ over a "TBD" call,
        opened on first use and reused); ``DialplanReply`` or ``DialplanTimeout`` follows.
        Returns the TBD call's id."""
        addr = (addr[0], addr[1])
        key = (addr, context, username)
        d = self._tbd.get(key)
        if d is None or not d.alive or d.state is ST_CLOSING:
            d = self._calls[self.place_call(addr, "TBD", context=context, username=username,
                                            secret=secret, now=now)]
            self._tbd[key] = d
        if d.state is ST_WAIT_REPLY:
            d.dp_queue.append(number)
        else:
            self._send_dpreq(d, number, now)
        d.timers["dp:" + number] = now + self.config.dp_timeout
        d.timers.pop("idle", None)
        self._schedule(d, now + self.config.dp_timeout)
        return d.callno

    # ------------------------------------------------------------------ dialog plumbing
    def _new_dialog(self, addr: Address, kind: Kind, caller: bool, now: float, *,
                    trunk: bool = False, pingtime: Optional[float] = None) -> Dialog:
        pool = self._trunk_pool if trunk else self._pool
        callno = pool.allocate(now)
        if callno is None:
            self.stats.callno_exhausted += 1
            raise EngineError("no call number free (all in use or held off)")
        d = Dialog(callno, addr, kind, caller, now,
                   pingtime if pingtime is not None else self.config.initial_pingtime)
        self._calls[callno] = d
        self.stats.dialogs_created += 1
        return d

    def _dialog(self, call_id: CallId, kind: Kind, caller: Optional[bool] = None,
                states: Iterable[State] = _ANY_OPEN) -> Dialog:
        d = self._calls.get(call_id)
        if d is None or d.kind is not kind:
            raise EngineError(f"no {kind.value} with id {call_id}")
        if caller is not None and d.caller is not caller:
            raise EngineError(f"call {call_id}: only the {'calling' if caller else 'called'} "
                              "side can do that")
        if d.state not in states:
            raise EngineError(f"call {call_id} is {d.state.value}; cannot do that now")
        return d

    def _destroy(self, d: Dialog, now: float) -> None:
        if not d.alive:
            return
        d.alive = False
        if not d.validated:
            self._nonvalidated -= 1
        self._calls.pop(d.callno, None)
        if d.peer_callno is not None and self._by_peer.get((d.addr, d.peer_callno)) is d:
            del self._by_peer[(d.addr, d.peer_callno)]
        (self._trunk_pool if d.callno >= self.config.max_calls // 2 else self._pool).release(
            d.callno, now)
        if d.reg is not None and d.reg.dialog is d:
            d.reg.dialog = None
        if d.tbd and d.caller:
            key = (d.addr, d.context, d.username)
            if self._tbd.get(key) is d:
                del self._tbd[key]

    def _close(self, d: Dialog) -> None:
        """A final frame went out: only its acknowledgement matters now."""
        d.state = ST_CLOSING
        d.timers.clear()

    def _schedule(self, owner: Any, deadline: Optional[float]) -> None:
        if deadline is None:
            return
        if owner.scheduled is None or deadline < owner.scheduled:
            owner.scheduled = deadline
            heapq.heappush(self._heap, (deadline, next(self._seq), owner))

    def _since_2000(self, now: float) -> _dt.timedelta:
        wall = self.config.wallclock_offset + now
        return _dt.timedelta(seconds=max(0.0, wall - 946684800.0))

    def _datetime(self, now: float) -> _dt.datetime:
        return _dt.datetime(2000, 1, 1) + self._since_2000(now)

    def _datetime_ie_at(self, now: float) -> IE:
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
        item = IE(IE_DATETIME, self._datetime(now))
        self._datetime_ie = (step, item)
        return item

    # ------------------------------------------------------------------ sending
    def _next_ts(self, d: Dialog, now: float) -> int:
        ms = d.ms(now)
        if ms <= d.lastsent:
            ms = d.lastsent + 3
        d.lastsent = ms
        return ms

    def _send(self, d: Dialog, frametype: _Sub, subclass: _Sub, now: float, *,
              ies: Optional[list] = None, payload: bytes = b"", final: bool = False,
              ts: Optional[int] = None) -> int:
        """Send a sequenced, reliable full frame on dialog ``d``; returns its timestamp."""
        if ts is None:
            ts = self._next_ts(d, now)
        elif ts > d.lastsent:
            d.lastsent = ts
        oseq = d.oseqno
        f = _full_frame(d.callno, d.peer_callno or 0, ts, oseq, d.iseqno, frametype, subclass,
                        ies or [], payload)
        data = f.encode()
        self._out.append((data, d.addr))
        self.stats.frames_sent += 1
        d.aseqno = d.iseqno
        d.oseqno = (oseq + 1) & 0xFF
        cfg = self.config
        rto = 2.0 * d.pingtime        # reliability.first_rto, inlined on the hot path
        if rto < cfg.min_retry:
            rto = cfg.min_retry
        elif rto > cfg.max_retry:
            rto = cfg.max_retry
        deadline = now + rto
        d.pending[oseq] = Pending(oseq, f, data, deadline, rto, final)
        scheduled = d.scheduled            # _schedule, inlined
        if scheduled is None or deadline < scheduled:
            d.scheduled = deadline
            heapq.heappush(self._heap, (deadline, next(self._seq), d))
        return ts

    def _send_unreliable(self, d: Dialog, subclass: _Sub, ts: int, oseqno: int,
                         ies: Optional[list] = None) -> None:
        """ACK, VNAK, INVAL: no sequence number consumed, never retransmitted."""
        sc, dc = d.callno, d.peer_callno or 0
        if not ies and sc <= 0x7FFF and dc <= 0x7FFF:
            # header only, subclass < 0x80: the bytes FullFrame(...).encode() gives
            try:
                data = _pack_full_header(0x8000 | sc, dc, ts, oseqno, d.iseqno, _IAX, subclass)
            except struct.error:
                pass  # out of range: the general path below reports it
            else:
                self._out.append((data, d.addr))
                d.aseqno = d.iseqno
                return
        f = FullFrame(source_call=d.callno, dest_call=d.peer_callno or 0, timestamp=ts,
                      oseqno=oseqno, iseqno=d.iseqno, frametype=_IAX, subclass=subclass,
                      ies=ies or [])
        self._out.append((f.encode(), d.addr))
        d.aseqno = d.iseqno

    def _send_ack(self, d: Dialog, f: FullFrame) -> None:
        """ACK echoing ``f``'s timestamp; its oseqno is ``f``'s iseqno (Asterisk)."""
        self._send_unreliable(d, IAX_ACK, f.timestamp, f.iseqno)
        self.stats.acks_sent += 1

    def _send_apathetic(self, f: FullFrame, addr: Address, subclass: _Sub,
                        ies: Optional[list] = None) -> None:
        """A stateless reply from call number 1 (no dialog allocated), as Asterisk's
        send_apathetic_reply: timestamp echoed, oseqno 0, iseqno = received iseqno + 1."""
        r = FullFrame(source_call=APATHETIC_CALLNO, dest_call=f.source_call,
                      timestamp=f.timestamp, oseqno=0, iseqno=(f.iseqno + 1) & 0xFF,
                      frametype=_IAX, subclass=subclass, ies=ies or [])
        self._out.append((r.encode(), addr))
        self.stats.apathetic_sent += 1

    def _send_request(self, d: Dialog, subclass: _Sub, ies: list, now: float) -> None:
        """Send a dialog-starting request, with the empty CALLTOKEN IE last if configured."""
        if self.config.send_calltoken:
            ies = ies + [_EMPTY_CALLTOKEN]
        d.request = (subclass, ies)
        self._send(d, _IAX, subclass, now, ies=ies)

    def _send_ping(self, d: Dialog, now: float, subclass: _Sub = IAX_PING) -> None:
        ts = self._send(d, _IAX, subclass, now)
        if len(d.ping_sent) > 8:
            d.ping_sent.clear()
        d.ping_sent[ts] = now

    def _send_dpreq(self, d: Dialog, number: str, now: float) -> None:
        d.dp_waiting.add(number)
        self._send(d, _IAX, IAX_DPREQ, now, ies=_ies((IE_CALLED_NUMBER, number)))

    def _reject(self, d: Dialog, cause: Text, code: IntLike, now: float,
                subclass: _Sub = IAX_REJECT) -> None:
        self._send(d, _IAX, subclass, now, ies=_ies((IE_CAUSE, cause), (IE_CAUSECODE, code)),
                   final=True)
        self._close(d)

    def _refuse(self, d: Dialog, reason: tuple[str, int], now: float) -> None:
        """The engine rejects an incoming call itself and reports it."""
        self._reject(d, reason[0], reason[1], now)
        self._events.append(ev.CallRefused(d.callno, d.addr, d.called_number, d.context,
                                           reason[0], reason[1]))
        self.stats.calls_refused += 1

    # ------------------------------------------------------------------ receiving
    def _on_full(self, f: FullFrame, addr: Address, now: float) -> None:
        st = self.stats
        st.frames_received += 1
        sub = f.subclass if f.frametype == _IAX else None
        if f.dest_call:
            d = self._calls.get(f.dest_call)
            if (d is None or d.addr != addr
                    or (d.peer_callno is not None and d.peer_callno != f.source_call)):
                st.unknown_call += 1
                self._maybe_inval(f, addr, sub)
                return
        else:
            d = self._by_peer.get((addr, f.source_call))
            if d is None:
                if sub in (IAX_NEW, IAX_REGREQ, IAX_REGREL):
                    self._on_dialog_start(f, addr, sub, now)
                elif sub == IAX_POKE:
                    # Answered without allocating a call number (no state for strangers).
                    self._send_apathetic(f, addr, IAX_PONG)
                    st.pokes_answered += 1
                else:
                    st.unknown_call += 1
                return
        self._on_dialog_frame(d, f, sub, now)

    def _maybe_inval(self, f: FullFrame, addr: Address, sub: _Sub) -> None:
        """A frame for a call we do not have: INVAL back (not for ACK/INVAL/VNAK/TX*)."""
        if sub in UNSEQUENCED or sub == IAX_CALLTOKEN:
            return
        r = FullFrame(source_call=f.dest_call, dest_call=f.source_call, timestamp=f.timestamp,
                      oseqno=f.iseqno, iseqno=(f.oseqno + 1) & 0xFF, frametype=_IAX,
                      subclass=IAX_INVAL)
        self._out.append((r.encode(), addr))
        self.stats.invals_sent += 1

    def _on_dialog_start(self, f: FullFrame, addr: Address, sub: _Sub, now: float) -> None:
        """NEW/REGREQ/REGREL from a stranger: the call-token gate, then a new dialog."""
        st = self.stats
        cfg = self.config
        refusal = IAX_REJECT if sub == IAX_NEW else IAX_REGREJ
        token = None
        for item in f.ies:   # f.ie(IE_CALLTOKEN) where present, in one pass
            if item[0] == IE_CALLTOKEN:
                token = item.value
                break
        wall = cfg.wallclock_offset + now
        if token is not None:
            if not token:
                self._send_apathetic(f, addr, IAX_CALLTOKEN,
                                     [IE(IE_CALLTOKEN, self._late_stream()[1].issue(addr, wall))])
                st.tokens_issued += 1
                return
            if not self._late_stream()[1].valid(token, addr, wall):
                self._send_apathetic(f, addr, refusal)
                st.token_rejects += 1
                return
            if cfg.user_calltoken_policy or cfg.peer_calltoken_policy:
                self._calltoken_seen(f, sub)
        elif not self._tokenless_allowed(f, addr, sub):
            self._send_apathetic(f, addr, refusal)
            st.token_rejects += 1
            return
        elif self._nonvalidated >= cfg.max_calls_nonvalidated:
            self._send_apathetic(f, addr, refusal)
            st.nonvalidated_limit += 1
            return
        trunk = sub == IAX_NEW and addr in cfg.trunk_peers
        try:
            d = self._new_dialog(addr, K_CALL if sub == IAX_NEW else K_REGISTRAR, False, now,
                                 trunk=trunk)
        except EngineError:
            self._send_apathetic(f, addr, refusal)
            return
        if token is None:
            d.validated = False
            self._nonvalidated += 1
        d.peer_callno = f.source_call
        d.trunk = trunk
        self._by_peer[(addr, f.source_call)] = d
        if sub == IAX_NEW:
            st.calls_received += 1
        self._on_dialog_frame(d, f, sub, now)

    def _tokenless_allowed(self, f: FullFrame, addr: Address, sub: _Sub) -> bool:
        """May a NEW/REGREQ/REGREL without a CALLTOKEN IE start a dialog? (chan_iax2.c
        calltoken_required, inverted): the named user (NEW) or peer's requirecalltoken
        decides -- no or auto (until that name once sent a valid token) let it in, yes
        refuses -- and a name without one falls back to the address rules."""
        cfg = self.config
        if cfg.user_calltoken_policy or cfg.peer_calltoken_policy:
            new = sub == IAX_NEW
            name = f.ie(IE_USERNAME) or "guest"
            policy = cfg.calltoken_policy_for(new, name)
            if policy is not None:
                if policy == "auto" and (new, name) in self._calltoken_auto_done:
                    return False
                return policy != "yes"
        return cfg.token_optional_for(addr[0])

    def _calltoken_seen(self, f: FullFrame, sub: _Sub) -> None:
        """A request with a valid token: a requirecalltoken=auto user (NEW) or peer
        (REGREQ/REGREL) it names by USERNAME requires tokens from now on (chan_iax2.c
        requirecalltoken_mark_auto; a request naming nobody changes nothing)."""
        name = f.ie(IE_USERNAME)
        if not name:
            return
        new = sub == IAX_NEW
        if self.config.calltoken_policy_for(new, name) == "auto":
            self._calltoken_auto_done.add((new, name))

    def _on_dialog_frame(self, d: Dialog, f: FullFrame, sub: _Sub, now: float) -> None:
        st = self.stats
        if d.peer_callno is None:
            if sub == IAX_CALLTOKEN:
                self._on_calltoken(d, f, now)
                return
            d.peer_callno = f.source_call
            self._by_peer[(d.addr, f.source_call)] = d
        if sub != IAX_INVAL:
            self._implicit_ack(d, f.iseqno, now)
            if not d.alive:
                return
        sequenced = sub not in UNSEQUENCED
        if sequenced:
            expected, oseqno = d.iseqno, f.oseqno
            if oseqno != expected:  # reliability.classify, inlined: not "ok"
                if ((expected - oseqno) & 0xFF) < 128:  # "duplicate"
                    st.duplicates += 1
                    self._send_ack(d, f)
                else:
                    st.out_of_order += 1
                    d.rx_ooo += 1
                    self._send_unreliable(d, IAX_VNAK, self._next_ts(d, now), d.iseqno)
                    st.vnaks_sent += 1
                return
            d.iseqno = (d.iseqno + 1) & 0xFF
        key = (f.frametype, sub if sub is not None else
               (f.subclass if f.frametype == _CONTROL else None))
        entry = _FRAME_HANDLERS.get(key)
        if entry is None:
            if f.frametype == _IAX and sub is not None and not isinstance(sub, IAXSubclass):
                self._send(d, _IAX, IAX_UNSUPPORT, now, ies=[IE(IE_IAX_UNKNOWN, int(sub) & 0xFF)])
            st.unhandled += 1
        else:
            kinds, states, handler = entry
            if d.kind in kinds and d.state in states:
                handler(self, d, f, now)
            else:
                st.unexpected += 1
        if sequenced and d.alive and d.aseqno != d.iseqno:
            self._send_ack(d, f)

    def _implicit_ack(self, d: Dialog, iseqno: int, now: float) -> None:
        rseqno = d.rseqno
        n = (iseqno - rseqno) & 0xFF   # reliability.acked_by, inlined
        if not n or n > ((d.oseqno - rseqno) & 0xFF):
            return
        pending = d.pending
        seq = d.rseqno
        for _ in range(n):
            p = pending.pop(seq, None)
            if p is not None and p.final:
                self._destroy(d, now)
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
                    heapq.heappush(self._heap, (deadline, next(self._seq), d))

    def _on_calltoken(self, d: Dialog, f: FullFrame, now: float) -> None:
        """Resend our request with the token in place of the empty CALLTOKEN IE."""
        token = f.ie(IE_CALLTOKEN)
        if d.request is None or d.token_sent or d.state is not ST_WAIT_REPLY or not token:
            self.stats.unexpected += 1
            return
        subclass, ies = d.request
        if ies and ies[-1][0] == IE_CALLTOKEN:
            ies = ies[:-1]
        ies = ies + [IE(IE_CALLTOKEN, token)]
        d.request = (subclass, ies)
        d.token_sent = True
        d.pending.clear()
        d.oseqno = d.iseqno = d.rseqno = d.aseqno = 0
        self._send(d, _IAX, subclass, now, ies=ies)

    def _on_mini(self, f: MiniFrame, addr: Address, now: float) -> None:
        d = self._by_peer.get((addr, f.source_call))
        if d is None or d.kind is not K_CALL or d.state is ST_CLOSING:
            self.stats.unknown_call += 1
            return
        if not d.rx_format:
            self.stats.mini_before_full += 1  # Asterisk drops these too
            return
        self._voice_in(d, f.payload, unwrap_timestamp(d.last_rx_ts, f.timestamp))

    def _on_trunk(self, f: TrunkFrame, addr: Address, now: float) -> None:
        self.stats.trunk_received += 1
        for e in f.entries:
            d = self._by_peer.get((addr, e.source_call))
            if d is None or d.kind is not K_CALL or d.state is ST_CLOSING:
                self.stats.unknown_call += 1
                continue
            if not d.rx_format:
                self.stats.mini_before_full += 1
                continue
            ts16 = e.timestamp if e.timestamp is not None else f.timestamp & 0xFFFF
            self._voice_in(d, e.payload, unwrap_timestamp(d.last_rx_ts, ts16))

    def _voice_in(self, d: Dialog, payload: bytes, ts: int) -> None:
        d.last_rx_ts = ts
        d.rx_voice += 1
        self.stats.voice_received += 1
        self._events.append(ev.VoiceReceived(d.callno, payload, d.rx_format, ts))

    # ------------------------------------------------------------------ timers
    def _dialog_timer(self, d: Dialog, now: float) -> None:
        cfg = self.config
        for p in list(d.pending.values()):
            if p.deadline > now:
                continue
            if p.sends >= cfg.max_sends:
                self._give_up(d, p, now)
                return
            self._out.append((p.retransmission(), d.addr))
            p.sends += 1
            p.rto = next_rto(p.rto, cfg.retry_factor, cfg.max_retry)
            p.deadline = now + p.rto
            self.stats.retransmissions += 1
        for name in [n for n, t in d.timers.items() if t <= now]:
            del d.timers[name]
            kind, _, arg = name.partition(":")
            _TIMER_HANDLERS[kind](self, d, now, arg)
            if not d.alive:
                return
        self._schedule(d, d.next_deadline())

    def _give_up(self, d: Dialog, p: Pending, now: float) -> None:
        """Retransmissions exhausted: destroy silently (Asterisk sends nothing) and tell."""
        self.stats.gave_up += 1
        self._destroy(d, now)
        if p.final or (d.tbd and not d.caller):   # the application never saw this one
            return
        if d.kind is K_CALL:
            for number in sorted(d.dp_waiting | set(d.dp_queue)):
                self._events.append(ev.DialplanTimeout(d.callno, number))
            self._events.append(ev.CallFailed(d.callno, *OUT_OF_ORDER))
        elif d.kind is K_REGISTER and d.reg is not None and d.reg.alive:
            reg = d.reg
            self._events.append(ev.RegistrationFailed(reg.reg_id, reg.addr, reg.username,
                                                      "timeout", None))
            reg.deadline = now + self.config.reg_retry
            self._schedule(reg, reg.deadline)
        elif d.kind is K_POKE:
            self._events.append(ev.PokeTimeout(d.callno, d.addr))

    def _timer_ping(self, d: Dialog, now: float, arg: str) -> None:
        self._send_ping(d, now)
        if self.config.ping_interval:
            d.timers["ping"] = now + self.config.ping_interval

    def _timer_lagrq(self, d: Dialog, now: float, arg: str) -> None:
        self._send(d, _IAX, IAX_LAGRQ, now)
        if self.config.lagrq_interval:
            d.timers["lagrq"] = now + self.config.lagrq_interval

    def _timer_dp(self, d: Dialog, now: float, number: str) -> None:
        if number in d.dp_waiting or number in d.dp_queue:
            d.dp_waiting.discard(number)
            if number in d.dp_queue:
                d.dp_queue.remove(number)
            self._events.append(ev.DialplanTimeout(d.callno, number))
        self._arm_idle(d, now)

    def _timer_congest(self, d: Dialog, now: float, arg: str) -> None:
        if d.state is ST_WAIT_REPLY:
            self._events.append(ev.CallCongestion(d.callno))

    def _timer_idle(self, d: Dialog, now: float, arg: str) -> None:
        if d.state in _ANY_OPEN:
            self._send(d, _IAX, IAX_HANGUP, now, ies=_ies((IE_CAUSECODE, 16)), final=True)
            self._close(d)

    def _arm_idle(self, d: Dialog, now: float) -> None:
        if d.tbd and d.caller and not d.dp_waiting and not d.dp_queue:
            d.timers["idle"] = now + self.config.tbd_idle

    def _registration_timer(self, reg: Registration, now: float) -> None:
        reg.deadline = None
        if reg.dialog is None:
            self._register_attempt(reg, now)

    def _peer_timer(self, p: PeerEntry, now: float) -> None:
        if p.deadline is not None and p.deadline <= now and self._peers.get(p.username) is p:
            del self._peers[p.username]
            p.alive = False
            self._events.append(ev.PeerUnregistered(p.username, p.addr, "expired"))
        elif p.alive:
            self._schedule(p, p.deadline)

    # ------------------------------------------------------------------ registration (client)
    def _register_attempt(self, reg: Registration, now: float) -> None:
        try:
            d = self._new_dialog(reg.addr, K_REGISTER, True, now)
        except EngineError:
            reg.deadline = now + self.config.reg_retry
            self._schedule(reg, reg.deadline)
            return
        d.reg, d.username, d.secret = reg, reg.username, reg.secret
        reg.dialog = d
        self._send_request(d, IAX_REGREQ, _ies((IE_USERNAME, reg.username),
                                             (IE_REFRESH, reg.refresh)), now)

    # ------------------------------------------------------------------ trunking
    def _trunk_add(self, d: Dialog, ts: int, payload: bytes, now: float) -> None:
        buf = self._trunks.get(d.addr)
        if buf is None:
            buf = self._trunks[d.addr] = TrunkBuffer(d.addr, now)
        per = 6 if self.config.trunk_timestamps else 4
        if buf.entries and buf.size + per + len(payload) > self.config.trunk_mtu:
            self._trunk_emit(buf, now)
        buf.entries.append(TrunkEntry(source_call=d.callno, payload=payload,
                                      timestamp=ts & 0xFFFF if self.config.trunk_timestamps
                                      else None))
        buf.size += per + len(payload)
        if buf.deadline is None:
            buf.deadline = now + self.config.trunk_freq
            self._schedule(buf, buf.deadline)

    def _trunk_emit(self, buf: TrunkBuffer, now: float) -> None:
        if not buf.entries:
            return
        f = TrunkFrame(timestamp=int((now - buf.start) * 1000.0) & 0xFFFFFFFF,
                       timestamps=self.config.trunk_timestamps, entries=buf.entries)
        self._out.append((f.encode(), buf.addr))
        self.stats.trunk_sent += 1
        buf.entries, buf.size = [], 0

    def _trunk_flush(self, buf: TrunkBuffer, now: float) -> None:
        buf.deadline = None
        self._trunk_emit(buf, now)

    # ------------------------------------------------------------------ frame handlers
    def _h_new(self, d: Dialog, f: FullFrame, now: float) -> None:
        cfg = self.config
        first = _first_ies(f)
        d.called_number = str(_ie_value(first, IE_CALLED_NUMBER) or "s")
        d.context = str(_ie_value(first, IE_CALLED_CONTEXT) or cfg.default_context)
        d.calling_number = _ie_value(first, IE_CALLING_NUMBER)
        d.calling_name = _ie_value(first, IE_CALLING_NAME)
        d.username = _ie_value(first, IE_USERNAME)
        d.format = int(_ie_value(first, IE_FORMAT) or 0)
        d.capability = int(_ie_value(first, IE_CAPABILITY) or 0) | d.format
        d.tbd = d.called_number == "TBD"
        if d.username is not None:
            secret = cfg.users.get(d.username)
            if secret is None or secret:
                d.secret = secret
                d.decoy = secret is None
                self._challenge(d, IAX_AUTHREQ, now)
                return
        elif not cfg.allow_guest:
            self._refuse(d, NO_AUTHORITY, now)
            return
        self._admit(d, now)

    def _challenge(self, d: Dialog, subclass: _Sub, now: float) -> None:
        d.challenge = new_challenge(self._late_stream()[0])
        d.state = ST_AUTHENTICATING
        self._send(d, _IAX, subclass, now, ies=_ies(
            (IE_AUTHMETHODS, AuthMethod.MD5), (IE_CHALLENGE, d.challenge),
            (IE_USERNAME, d.username)))

    def _h_authrep(self, d: Dialog, f: FullFrame, now: float) -> None:
        if d.decoy or d.challenge is None or d.secret is None or not md5_matches(
                d.challenge, d.secret, f.ie(IE_MD5_RESULT)):
            self.stats.auth_failures += 1
            self._send_ack(d, f)
            self._refuse(d, NO_AUTHORITY, now)
            return
        self._admit(d, now)

    def _admit(self, d: Dialog, now: float) -> None:
        """Credentials are fine: negotiate the codec, consult the dialplan, tell the app."""
        cfg = self.config
        common = d.capability & int(cfg.formats)
        if not common:
            self._refuse(d, NO_CODEC, now)
            return
        if not d.format & common:
            pref = int(cfg.preferred_format)
            d.format = pref if pref & common else common & -common
        if d.tbd:
            self._accept(d, now)
            return
        dp = cfg.dialplan
        accepted = False
        if dp is not None and cfg.answer_from_dialplan:
            if not self._dp_bool(dp.exists, d.called_number, d.context, d.calling_number):
                self._refuse(d, NO_EXTENSION, now)
                return
            self._accept(d, now)
            accepted = True
            if cfg.auto_answer:
                self._send(d, _CONTROL, CTRL_ANSWER, now)
                d.state = ST_UP
        else:
            d.state = ST_WAIT_APP
        self._events.append(ev.IncomingCall(
            d.callno, d.addr, d.called_number, d.context, d.calling_number, d.calling_name,
            d.username, d.format, d.capability, accepted))

    @staticmethod
    def _dp_bool(fn: Callable[..., Any], number: Text, context: Text,
                 callerid: Optional[Text] = None) -> bool:
        try:
            return bool(fn(number, context, callerid=callerid))
        except TypeError:
            return bool(fn(number, context))
        except (IaxsimError, KeyError, LookupError):
            return False

    def _accept(self, d: Dialog, now: float) -> None:
        self._send(d, _IAX, IAX_ACCEPT, now, ies=_ies((IE_FORMAT, d.format)))
        d.state = ST_ACCEPTED
        self._start_call_timers(d, now)

    def _start_call_timers(self, d: Dialog, now: float) -> None:
        if d.tbd:
            return
        cfg = self.config
        if cfg.ping_interval:
            d.timers["ping"] = now + cfg.ping_interval
        if cfg.lagrq_interval:
            d.timers["lagrq"] = now + cfg.lagrq_interval
        self._schedule(d, d.next_deadline())

    def _h_authreq(self, d: Dialog, f: FullFrame, now: float) -> None:
        methods = int(f.ie(IE_AUTHMETHODS) or 0)
        challenge = f.ie(IE_CHALLENGE)
        if d.secret is None or challenge is None or not methods & (AuthMethod.MD5 |
                                                                    AuthMethod.PLAINTEXT):
            self._send(d, _IAX, IAX_HANGUP, now, ies=_ies(
                (IE_CAUSE, "No authentication secret"), (IE_CAUSECODE, NO_AUTHORITY[1])),
                final=True)
            self._close(d)
            self._events.append(ev.CallFailed(d.callno, "No authentication secret",
                                              NO_AUTHORITY[1]))
            return
        if methods & AuthMethod.MD5:
            ies = [IE(IE_MD5_RESULT, md5_response(str(challenge), d.secret))]
        else:
            ies = [IE(IE_PASSWORD, d.secret)]
        self._send(d, _IAX, IAX_AUTHREP, now, ies=ies)

    def _h_accept(self, d: Dialog, f: FullFrame, now: float) -> None:
        d.timers.pop("congest", None)
        d.format = int(f.ie(IE_FORMAT) or d.format)
        d.state = ST_ACCEPTED
        self._events.append(ev.CallAccepted(d.callno, d.format))
        self._start_call_timers(d, now)
        queue, d.dp_queue = d.dp_queue, []
        for number in queue:
            self._send_dpreq(d, number, now)

    def _h_ringing(self, d: Dialog, f: FullFrame, now: float) -> None:
        if d.state is ST_ACCEPTED:
            d.state = ST_RINGING
        self._events.append(ev.CallRinging(d.callno))

    def _h_answer(self, d: Dialog, f: FullFrame, now: float) -> None:
        d.state = ST_UP
        self._events.append(ev.CallAnswered(d.callno))

    def _h_progress(self, d: Dialog, f: FullFrame, now: float) -> None:
        name = getattr(f.subclass, "name", str(f.subclass))
        self._events.append(ev.CallProgress(d.callno, name))

    def _h_busy(self, d: Dialog, f: FullFrame, now: float) -> None:
        self._events.append(ev.CallBusy(d.callno))

    def _h_congestion(self, d: Dialog, f: FullFrame, now: float) -> None:
        self._events.append(ev.CallCongestion(d.callno))

    def _h_hangup(self, d: Dialog, f: FullFrame, now: float) -> None:
        closing = d.state is ST_CLOSING       # hang-ups crossed: ours was already told
        self._send_ack(d, f)
        self._destroy(d, now)
        if not closing and not (d.tbd and not d.caller):
            self._events.append(ev.CallHungUp(d.callno, f.ie(IE_CAUSE), f.ie(IE_CAUSECODE)))

    def _h_reject(self, d: Dialog, f: FullFrame, now: float) -> None:
        self._send_ack(d, f)
        self._destroy(d, now)
        cause, code = f.ie(IE_CAUSE), f.ie(IE_CAUSECODE)
        if d.kind is K_CALL:
            for number in sorted(d.dp_waiting | set(d.dp_queue)):
                self._events.append(ev.DialplanTimeout(d.callno, number))
            self._events.append(ev.CallRejected(d.callno, cause, code))
        else:
            self._reg_failed(d, cause, code, now)

    def _h_inval(self, d: Dialog, f: FullFrame, now: float) -> None:
        was_call = (d.kind is K_CALL and d.state is not ST_CLOSING
                    and not (d.tbd and not d.caller))
        self._destroy(d, now)
        if was_call:
            self._events.append(ev.CallHungUp(d.callno, None, None))
        elif d.kind is K_REGISTER:
            self._reg_failed(d, "INVAL", None, now)

    def _h_vnak(self, d: Dialog, f: FullFrame, now: float) -> None:
        for p in sorted(d.pending.values(), key=lambda p: (p.oseqno - f.iseqno) & 0xFF):
            self._out.append((p.retransmission(), d.addr))
            self.stats.retransmissions += 1

    def _h_ack(self, d: Dialog, f: FullFrame, now: float) -> None:
        pass  # the implicit acknowledgement above did the work

    def _h_voice(self, d: Dialog, f: FullFrame, now: float) -> None:
        d.rx_format = int(f.subclass)
        self._voice_in(d, f.payload, f.timestamp)

    def _h_dtmf(self, d: Dialog, f: FullFrame, now: float) -> None:
        try:
            digit = chr(int(f.subclass))
        except (ValueError, OverflowError):
            return
        self._events.append(ev.DtmfReceived(d.callno, digit))

    def _h_ping(self, d: Dialog, f: FullFrame, now: float) -> None:
        self._send(d, _IAX, IAX_PONG, now, ts=f.timestamp, ies=_ies(
            (IE_RR_JITTER, 0), (IE_RR_LOSS, 0), (IE_RR_PKTS, d.rx_voice & 0xFFFFFFFF),
            (IE_RR_DELAY, 0), (IE_RR_DROPPED, 0), (IE_RR_OOO, d.rx_ooo & 0xFFFFFFFF)))

    def _h_pong(self, d: Dialog, f: FullFrame, now: float) -> None:
        sent = d.ping_sent.pop(f.timestamp, None)
        # round trip from our send time of the echoed timestamp (the PING's first send)
        rtt = now - sent if sent is not None else max(0, d.ms(now) - f.timestamp) / 1000.0
        if d.kind is K_CALL:
            d.pingtime = max(rtt, 0.001)
        self._events.append(ev.PongReceived(d.callno, d.addr, rtt))
        if d.kind is K_POKE:
            self._send_ack(d, f)
            self._destroy(d, now)

    def _h_lagrq(self, d: Dialog, f: FullFrame, now: float) -> None:
        self._send(d, _IAX, IAX_LAGRP, now, ts=f.timestamp)

    def _h_lagrp(self, d: Dialog, f: FullFrame, now: float) -> None:
        self._events.append(ev.LagReply(d.callno, max(0, d.ms(now) - f.timestamp) / 1000.0))

    def _h_dpreq(self, d: Dialog, f: FullFrame, now: float) -> None:
        number = str(f.ie(IE_CALLED_NUMBER) or "")
        status = self.dp_status(number, d.context, d.calling_number)
        self._send(d, _IAX, IAX_DPREP, now, ies=_ies(
            (IE_CALLED_NUMBER, number), (IE_DPSTATUS, status), (IE_REFRESH, self.config.dp_refresh)))

    def dp_status(self, number: Text, context: Text, callerid: Optional[Text] = None) -> DPStatus:
        """DPSTATUS flags for ``number`` in ``context`` from the configured dialplan, as
        Asterisk's dp_lookup computes them (NONEXISTENT when there is no dialplan)."""
        dp = self.config.dialplan
        if dp is None:
            return DPStatus.NONEXISTENT
        if self._dp_bool(dp.exists, number, context, callerid):
            status = DPStatus.EXISTS
        elif self._dp_bool(dp.canmatch, number, context, callerid):
            status = DPStatus.CANEXIST
        else:
            status = DPStatus.NONEXISTENT
        ignorepat = getattr(dp, "ignorepat", None)
        if ignorepat is not None and self._dp_bool(ignorepat, number, context):
            status |= DPStatus.IGNOREPAT
        if self._dp_bool(dp.matchmore, number, context, callerid):
            status |= DPStatus.MATCHMORE
        return status

    def _h_dprep(self, d: Dialog, f: FullFrame, now: float) -> None:
        number = str(f.ie(IE_CALLED_NUMBER) or "")
        d.dp_waiting.discard(number)
        d.timers.pop("dp:" + number, None)
        status = f.ie(IE_DPSTATUS)
        self._events.append(ev.DialplanReply(
            d.callno, number, DPStatus(int(status)) if status is not None else DPStatus(0),
            f.ie(IE_REFRESH)))
        self._arm_idle(d, now)

    def _h_unsupport(self, d: Dialog, f: FullFrame, now: float) -> None:
        self.stats.unsupported_received += 1

    # registration, registrar side
    def _h_regreq(self, d: Dialog, f: FullFrame, now: float) -> None:
        cfg = self.config
        sub = f.subclass
        username = f.ie(IE_USERNAME)
        secret = cfg.users.get(username) if isinstance(username, str) else None
        if secret is None:
            self.stats.auth_failures += 1
            self._reject(d, *REG_REFUSED, now, subclass=IAX_REGREJ)
            return
        d.username, d.secret = username, secret
        if secret:
            answer = f.ie(IE_MD5_RESULT)
            if answer is None:
                if d.challenge is None:
                    self._challenge(d, IAX_REGAUTH, now)
                    return
            if d.challenge is None or not md5_matches(d.challenge, secret, answer):
                self.stats.auth_failures += 1
                self._send_ack(d, f)
                self._reject(d, *REG_REFUSED, now, subclass=IAX_REGREJ)
                return
        asked = f.ie(IE_REFRESH)
        refresh = int(asked) if isinstance(asked, int) else 60
        refresh = min(max(refresh, cfg.min_reg_expire), cfg.max_reg_expire)
        ies = _ies((IE_USERNAME, username), (IE_DATETIME, self._datetime(now)))
        old = self._peers.pop(username, None)
        if old is not None:
            old.alive = False
        if sub == IAX_REGREL:
            ies += _ies((IE_APPARENT_ADDR, d.addr))
            if old is not None:
                self._events.append(ev.PeerUnregistered(username, old.addr, "released"))
        else:
            ies += _ies((IE_REFRESH, refresh), (IE_APPARENT_ADDR, d.addr))
            p = PeerEntry(username, d.addr, refresh, now + refresh + cfg.reg_expire_grace)
            self._peers[username] = p
            self._schedule(p, p.deadline)
            self._events.append(ev.PeerRegistered(username, d.addr, refresh))
        self._send(d, _IAX, IAX_REGACK, now, ies=ies, final=True)
        self._close(d)

    # registration, client side
    def _h_regauth(self, d: Dialog, f: FullFrame, now: float) -> None:
        challenge = f.ie(IE_CHALLENGE)
        methods = int(f.ie(IE_AUTHMETHODS) or 0)
        if d.secret is None or challenge is None or not methods & AuthMethod.MD5:
            self._destroy(d, now)
            self._reg_failed(d, "No secret for REGAUTH", None, now)
            return
        subclass = d.request[0] if d.request else IAX_REGREQ
        ies = _ies((IE_USERNAME, d.username))
        if subclass == IAX_REGREQ and d.reg is not None:
            ies += _ies((IE_REFRESH, d.reg.refresh))
        ies.append(IE(IE_MD5_RESULT, md5_response(str(challenge), d.secret)))
        self._send(d, _IAX, subclass, now, ies=ies)

    def _h_regack(self, d: Dialog, f: FullFrame, now: float) -> None:
        self._send_ack(d, f)
        self._destroy(d, now)
        reg = d.reg
        if reg is None or not reg.alive:
            return
        refresh = f.ie(IE_REFRESH)
        refresh = int(refresh) if isinstance(refresh, int) and refresh > 0 else reg.refresh
        apparent = f.ie(IE_APPARENT_ADDR)
        reg.registered = True
        self._events.append(ev.Registered(reg.reg_id, reg.addr, reg.username, refresh,
                                          (apparent[0], apparent[1]) if apparent else None))
        reg.deadline = now + refresh * 5.0 / 6.0
        self._schedule(reg, reg.deadline)

    def _h_regrej(self, d: Dialog, f: FullFrame, now: float) -> None:
        self._send_ack(d, f)
        self._destroy(d, now)
        self._reg_failed(d, f.ie(IE_CAUSE), f.ie(IE_CAUSECODE), now)

    def _reg_failed(self, d: Dialog, cause: Optional[str], code: Optional[int],
                    now: float) -> None:
        reg = d.reg
        if reg is None or not reg.alive:
            return
        reg.registered = False
        self._events.append(ev.RegistrationFailed(reg.reg_id, reg.addr, reg.username,
                                                  cause, code))
        reg.deadline = now + self.config.reg_retry
        self._schedule(reg, reg.deadline)


_CALLS = frozenset({K_CALL})
_CALLER_WAIT = frozenset({ST_WAIT_REPLY})
_ALL_KINDS = frozenset(Kind)
_ALL_STATES = frozenset(State)
_OPEN_CALL = frozenset({ST_WAIT_REPLY, ST_WAIT_APP, ST_ACCEPTED, ST_RINGING,
                        ST_UP})

#: (frame type, subclass) -> (dialog kinds, dialog states, handler). A frame outside the
#: listed kinds/states is acknowledged (it consumed a sequence number) and counted as
#: ``stats.unexpected``; one with no row at all as ``stats.unhandled`` (UNSUPPORT for an
#: unknown IAX subclass).
_FRAME_HANDLERS: dict[tuple[int, Any], tuple[frozenset, frozenset, Callable]] = {
    (_IAX, IAX_NEW): (_CALLS, _CALLER_WAIT, Endpoint._h_new),
    (_IAX, IAX_AUTHREQ): (_CALLS, _CALLER_WAIT, Endpoint._h_authreq),
    (_IAX, IAX_AUTHREP): (_CALLS, frozenset({ST_AUTHENTICATING}), Endpoint._h_authrep),
    (_IAX, IAX_ACCEPT): (_CALLS, _CALLER_WAIT, Endpoint._h_accept),
    (_IAX, IAX_REJECT): (frozenset({K_CALL, K_REGISTER}), _ALL_STATES, Endpoint._h_reject),
    (_IAX, IAX_HANGUP): (_CALLS, _ALL_STATES, Endpoint._h_hangup),
    (_IAX, IAX_INVAL): (_ALL_KINDS, _ALL_STATES, Endpoint._h_inval),
    (_IAX, IAX_VNAK): (_ALL_KINDS, _ALL_STATES, Endpoint._h_vnak),
    (_IAX, IAX_ACK): (_ALL_KINDS, _ALL_STATES, Endpoint._h_ack),
    (_IAX, IAX_PING): (_CALLS, _OPEN_CALL, Endpoint._h_ping),
    (_IAX, IAX_PONG): (frozenset({K_CALL, K_POKE}), _ALL_STATES, Endpoint._h_pong),
    (_IAX, IAX_LAGRQ): (_CALLS, _OPEN_CALL, Endpoint._h_lagrq),
    (_IAX, IAX_LAGRP): (_CALLS, _ALL_STATES, Endpoint._h_lagrp),
    (_IAX, IAX_DPREQ): (_CALLS, frozenset({ST_ACCEPTED}), Endpoint._h_dpreq),
    (_IAX, IAX_DPREP): (_CALLS, frozenset({ST_ACCEPTED}), Endpoint._h_dprep),
    (_IAX, IAX_UNSUPPORT): (_ALL_KINDS, _ALL_STATES, Endpoint._h_unsupport),
    (_IAX, IAX_REGREQ): (frozenset({K_REGISTRAR}),
                       frozenset({ST_WAIT_REPLY, ST_AUTHENTICATING}), Endpoint._h_regreq),
    (_IAX, IAX_REGREL): (frozenset({K_REGISTRAR}),
                       frozenset({ST_WAIT_REPLY, ST_AUTHENTICATING}), Endpoint._h_regreq),
    (_IAX, IAX_REGAUTH): (frozenset({K_REGISTER}), _CALLER_WAIT, Endpoint._h_regauth),
    (_IAX, IAX_REGACK): (frozenset({K_REGISTER}), _CALLER_WAIT, Endpoint._h_regack),
    (_IAX, IAX_REGREJ): (frozenset({K_REGISTER}), _CALLER_WAIT, Endpoint._h_regrej),
    (_CONTROL, CTRL_RINGING): (_CALLS, frozenset({ST_ACCEPTED, ST_RINGING}),
                            Endpoint._h_ringing),
    (_CONTROL, CTRL_ANSWER): (_CALLS, _CALL_ACTIVE, Endpoint._h_answer),
    (_CONTROL, CTRL_PROCEEDING): (_CALLS, _CALL_ACTIVE, Endpoint._h_progress),
    (_CONTROL, CTRL_PROGRESS): (_CALLS, _CALL_ACTIVE, Endpoint._h_progress),
    (_CONTROL, CTRL_BUSY): (_CALLS, _CALL_ACTIVE, Endpoint._h_busy),
    (_CONTROL, CTRL_CONGESTION): (_CALLS, _CALL_ACTIVE, Endpoint._h_congestion),
    (_VOICE, None): (_CALLS, _CALL_ACTIVE, Endpoint._h_voice),
    (_DTMF_END, None): (_CALLS, _CALL_ACTIVE, Endpoint._h_dtmf),
}

#: Dialog timer name (before ":") -> handler.
_TIMER_HANDLERS: dict[str, Callable[[Endpoint, Dialog, float, str], None]] = {
    "ping": Endpoint._timer_ping,
    "lagrq": Endpoint._timer_lagrq,
    "dp": Endpoint._timer_dp,
    "idle": Endpoint._timer_idle,
    "congest": Endpoint._timer_congest,
}
