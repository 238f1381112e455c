"""Asterisk's ``qualify`` of one peer as a small sans-I/O state machine: what the last POKE
told, the status a Dial sees, how long the next POKE may stay unanswered, and when it goes out.

chan_iax2.c keeps this per peer in ``lastms`` (the last round trip; -1 once a POKE went
unanswered) and ``historicms`` (the round trip the next status change is judged against):

* ``iax2_poke_peer``: a POKE call whose retransmissions use ping time maxms / 8 (RTO
  maxms / 4: sends at 0, 0.5, 5.5, 15.5 s with maxms 2 s), and a ``pokeexpire`` timer —
  ``min(2 x MAX_RETRY_TIME + maxms, pokefreqok x 5/6)`` (22 s by default) while the peer is
  not known to be unreachable, ``pokefreqnotok x 5/6`` (8.33 s) once it is;
* ``__iax2_poke_noanswer`` (the timer fired): "Peer is now UNREACHABLE", the POKE call is
  destroyed, the next POKE goes ``pokefreqnotok`` (10 s) later;
* the PONG case of ``socket_process``: ``lastms`` = the round trip; "REACHABLE" when it was
  unreachable or lagged and the round trip is within maxms, "TOO LAGGED" when it was fine and
  the round trip is over maxms; the next POKE ``pokefreqok`` (60 s) later, or ``pokefreqnotok``
  while the round trip is over maxms;
* ``create_addr``: a Dial to a qualified peer whose ``lastms`` is negative or over maxms fails
  at once (the channel is not even created, so no NEW is sent).

Times are in seconds here (Asterisk counts whole milliseconds).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from iaxsim.iax2.engine.config import EndpointConfig


class PeerStatus(enum.StrEnum):
    """What ``iax2 show peers`` prints for a qualified peer (``peer_status``)."""

    UNKNOWN = "unknown"          # no PONG yet (lastms 0): Dial still tries it
    OK = "ok"
    LAGGED = "lagged"            # last round trip over maxms: Dial skips it
    UNREACHABLE = "unreachable"  # last POKE unanswered: Dial skips it


@dataclass
class Qualify:
    """One qualified peer. Drive it with :meth:`poke_timeout` (pass it to ``Endpoint.poke``),
    then :meth:`answered` on ``PongReceived`` or :meth:`unanswered` on ``PokeTimeout``; each
    returns how long to wait before the next POKE."""

    maxms: float = 2.0
    freq_ok: float = 60.0
    freq_notok: float = 10.0
    max_retry: float = 10.0
    #: Asterisk's lastms (s): 0 before the first PONG, -1 after an unanswered POKE.
    last: float = 0.0
    #: Asterisk's historicms (s), without smoothing: the last round trip measured.
    historic: float = 0.0

    @classmethod
    def from_config(cls, cfg: EndpointConfig) -> "Qualify":
        """A peer qualified with the endpoint's maxms, POKE intervals and MAX_RETRY_TIME."""
        return cls(cfg.qualify_maxms, cfg.qualify_freq_ok, cfg.qualify_freq_notok, cfg.max_retry)

    @property
    def status(self) -> PeerStatus:
        """The peer's status, as Asterisk's ``peer_status`` words it."""
        if self.last < 0:
            return PeerStatus.UNREACHABLE
        if self.last > self.maxms:
            return PeerStatus.LAGGED
        return PeerStatus.OK if self.last else PeerStatus.UNKNOWN

    @property
    def usable(self) -> bool:
        """False when a Dial to the peer fails at once (``create_addr``)."""
        return not (self.last < 0 or self.last > self.maxms)

    def poke_timeout(self) -> float:
        """How long the next POKE may go unanswered before the peer is UNREACHABLE."""
        if self.last < 0:
            return self.freq_notok * 5 / 6
        return min(2 * self.max_retry + self.maxms, self.freq_ok * 5 / 6)

    def answered(self, rtt: float) -> float:
        """A PONG came back after ``rtt`` s: update the status; returns the wait until the
        next POKE."""
        self.last = rtt
        self.historic = rtt
        return self.freq_notok if self.historic > self.maxms else self.freq_ok

    def unanswered(self) -> float:
        """The POKE's timeout ran out: the peer is UNREACHABLE; returns the wait until the
        next POKE."""
        self.last = -1.0
        return self.freq_notok
