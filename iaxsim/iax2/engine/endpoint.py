"""The sans-I/O IAX2 endpoint: datagrams and commands in, datagrams, timers and events out.

``Endpoint`` is the public face (as h11's ``Connection`` is over its state module): the I/O
surface, the commands and the queries. The work is done by ``core.py`` (dialogs, timers,
sending, the receive path), ``machine.py`` (the state transitions, as one table) and the
role modules ``calls.py``, ``lookup.py``, ``registration.py``, ``trunking.py`` and
``calltoken.py``. docs/engine.md tells the whole story.
"""
from __future__ import annotations

from typing import Optional

from iaxsim.iax2.constants import ControlSubclass, DPStatus
from iaxsim.iax2.engine import calls, lookup, registration
from iaxsim.iax2.engine import events as ev
from iaxsim.iax2.engine.common import EngineError, unwrap_timestamp
from iaxsim.iax2.engine.config import EndpointConfig
from iaxsim.iax2.engine.core import Core
from iaxsim.iax2.engine.dialog import Address, Dialog
from iaxsim.iax2.engine.stats import EndpointStats

__all__ = ["Endpoint", "EngineError", "unwrap_timestamp"]


class Endpoint:
    """One PBX's IAX2 stack, without sockets or clock.

    Feed it ``receive_datagram(data, addr, now)`` and ``handle_timer(now)`` at
    ``get_timer()``; send what ``datagrams_to_send(now)`` returns; read ``next_event()``.
    Commands that cannot be carried out (unknown call id, wrong state, no call number free)
    raise :class:`EngineError`; a value that cannot go on the wire raises the codec's
    EncodeError naming the IE, before anything is allocated or sent.
    """

    def __init__(self, config: EndpointConfig | None = None,
                 seed: int | float | str | bytes = 0):
        self._core = Core(config if config is not None else EndpointConfig(), seed)

    @property
    def config(self) -> EndpointConfig:
        """The configuration (settings such as ``users`` may be changed in place)."""
        return self._core.config

    @property
    def stats(self) -> EndpointStats:
        """Counters of what was received, sent, refused and dropped."""
        return self._core.stats

    # ------------------------------------------------------------------ I/O surface
    def receive_datagram(self, data: bytes, addr: Address, now: float) -> None:
        """Process one received UDP payload from ``addr``. Never raises on bad input: a
        datagram that does not decode, or that no dialog wants, is counted in ``stats``."""
        self._core.receive_datagram(data, addr, now)

    def datagrams_to_send(self, now: float) -> list[tuple[bytes, Address]]:
        """Datagrams produced since the last call, in order, as (bytes, destination)."""
        core = self._core
        out, core.out = core.out, []
        return out

    def get_timer(self) -> Optional[float]:
        """The next time ``handle_timer`` has work to do, or None."""
        return self._core.get_timer()

    def handle_timer(self, now: float) -> None:
        """Run every timer due at ``now`` (retransmissions, refreshes, expiries...)."""
        self._core.handle_timer(now)

    def next_event(self) -> Optional[ev.Event]:
        """The oldest event not yet taken, or None."""
        events = self._core.events
        return events.popleft() if events else None

    # ------------------------------------------------------------------ queries
    def call_state(self, call_id: int) -> Optional[str]:
        """State name of a live dialog ("wait_reply", "up", "closing"...), or None."""
        d = self._core.dialogs.get(call_id)
        return d.state.value if d is not None else None

    def call_info(self, call_id: int) -> Optional[Dialog]:
        """The live dialog behind ``call_id`` (read-only use), or None."""
        return self._core.dialogs.get(call_id)

    @property
    def active_dialogs(self) -> int:
        """Call numbers currently in use."""
        return len(self._core.dialogs)

    @property
    def registered_peers(self) -> dict[str, Address]:
        """Peers currently registered with us: username -> address."""
        return {name: p.addr for name, p in self._core.peers.items()}

    def peer_address(self, username: str) -> Optional[Address]:
        """Where a registered peer can be reached, or None."""
        p = self._core.peers.get(username)
        return p.addr if p is not None else None

    def dp_status(self, number: str, context: str, callerid: Optional[str] = None) -> DPStatus:
        """DPSTATUS flags for ``number`` in ``context`` from the configured dialplan, as
        Asterisk's dp_lookup computes them (NONEXISTENT when there is no dialplan)."""
        return lookup.dp_status(self._core.config.dialplan, number, context, callerid)

    # ------------------------------------------------------------------ commands: calls
    def place_call(self, addr: Address, number: str, *, now: float, context: str = "default",
                   calling_number: Optional[str] = None, calling_name: Optional[str] = None,
                   username: Optional[str] = None, secret: Optional[str] = None,
                   formats: Optional[int] = None, format: Optional[int] = None,
                   maxtime: Optional[float] = None) -> int:
        """Send a NEW to ``addr`` for ``number`` in ``context``; returns the call id.

        ``maxtime`` (seconds) is Asterisk's auto-congest for a qualified peer (its maxms):
        ping time maxtime/2, and ``CallCongestion`` if no ACCEPT came within 2 x maxtime
        (the application then hangs up, as Asterisk's dialplan does)."""
        return calls.place_call(self._core, addr, number, now=now, context=context,
                                calling_number=calling_number, calling_name=calling_name,
                                username=username, secret=secret, formats=formats,
                                format=format, maxtime=maxtime)

    def accept(self, call_id: int, *, now: float, format: Optional[int] = None) -> None:
        """ACCEPT an incoming call (after ``IncomingCall``)."""
        calls.accept(self._core, call_id, now, format)

    def ring(self, call_id: int, *, now: float) -> None:
        """Send control RINGING (accepting first if needed)."""
        calls.ring(self._core, call_id, now)

    def answer(self, call_id: int, *, now: float) -> None:
        """Send control ANSWER (accepting first if needed)."""
        calls.answer(self._core, call_id, now)

    def reject(self, call_id: int, cause: str = "Call Rejected", code: int = 21, *,
               now: float) -> None:
        """REJECT an incoming call that is not yet answered."""
        calls.reject(self._core, call_id, cause, code, now)

    def busy(self, call_id: int, *, now: float) -> None:
        """Signal busy (control BUSY); the caller hangs up."""
        calls.control(self._core, call_id, ControlSubclass.BUSY, now)

    def congestion(self, call_id: int, *, now: float) -> None:
        """Signal congestion (control CONGESTION)."""
        calls.control(self._core, call_id, ControlSubclass.CONGESTION, now)

    def hangup(self, call_id: int, cause: Optional[str] = None, code: int = 16, *,
               now: float) -> None:
        """Send IAX HANGUP (final: the call number is released once it is acknowledged)."""
        calls.hangup(self._core, call_id, cause, code, now)

    def send_voice(self, call_id: int, payload: bytes, *, now: float,
                   format: Optional[int] = None, timestamp: Optional[int] = None) -> None:
        """Send voice: a full frame first (and on format change or 16-bit timestamp wrap),
        mini frames (or trunk entries toward a trunk peer) afterwards. Any bytes-like
        payload is taken."""
        calls.send_voice(self._core, call_id, payload, now, format, timestamp)

    def send_dtmf(self, call_id: int, digit: str, *, now: float) -> None:
        """Send one DTMF digit (frame type DTMF end, subclass = the digit's character code)."""
        calls.send_dtmf(self._core, call_id, digit, now)

    def ping(self, call_id: int, *, now: float) -> None:
        """Send PING on a call; the PONG gives ``PongReceived`` and updates the RTO."""
        calls.ping(self._core, call_id, now)

    def lagrq(self, call_id: int, *, now: float) -> None:
        """Send LAGRQ on a call; the LAGRP gives ``LagReply``."""
        calls.lagrq(self._core, call_id, now)

    # ------------------------------------------------------------------ commands: others
    def register(self, addr: Address, username: str, secret: Optional[str] = None,
                 refresh: int = 60, *, now: float) -> int:
        """Register ``username`` with the registrar at ``addr`` and keep refreshing it (at
        5/6 of the granted refresh); returns a registration id."""
        return registration.register(self._core, addr, username, secret, refresh, now)

    def unregister(self, reg_id: int, *, now: float) -> None:
        """Stop refreshing and send REGREL for the registration."""
        registration.unregister(self._core, reg_id, now)

    def poke(self, addr: Address, *, now: float, timeout: Optional[float] = None) -> int:
        """Qualify ``addr``: POKE it (retransmitted at 2 x qualify_maxms / 8, x10, capped);
        ``PongReceived`` follows, or ``PokeTimeout`` once ``timeout`` seconds passed without a
        PONG. The default is Asterisk's for a peer not known to be unreachable,
        min(2 x max_retry + qualify_maxms, qualify_freq_ok x 5/6) = 22 s;
        :meth:`Qualify.poke_timeout <iaxsim.iax2.engine.qualify.Qualify.poke_timeout>` gives the
        right one for a peer's state. Returns the call id."""
        return calls.poke(self._core, addr, now, timeout)

    def dial_lookup(self, addr: Address, number: str, context: str = "default", *, now: float,
                    username: Optional[str] = None, secret: Optional[str] = None) -> int:
        """Ask ``addr`` whether ``number`` exists in ``context`` (DPREQ over a "TBD" call,
        opened on first use and reused); ``DialplanReply`` or ``DialplanTimeout`` follows.
        Returns the TBD call's id."""
        return lookup.dial_lookup(self._core, addr, number, context, now, username, secret)
