"""Counters an endpoint keeps: what it received, sent, refused and dropped."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(slots=True)
class EndpointStats:
    """Every datagram received ends up in exactly one of the receive-side buckets or is
    processed; nothing is dropped without a count."""

    datagrams_received: int = 0
    garbage: int = 0                 # did not decode (or decoded values no handler can use)
    frames_received: int = 0         # full frames decoded
    unknown_call: int = 0            # for a call number / peer we do not have
    duplicates: int = 0              # already-seen full frames (re-ACKed)
    out_of_order: int = 0            # ahead of sequence (VNAK sent, frame discarded)
    unexpected: int = 0              # known frame in a state that does not take it
    unhandled: int = 0               # frame types/subclasses the engine does not act on
    mini_before_full: int = 0        # mini voice before the first full voice frame
    unsupported_received: int = 0
    tokens_issued: int = 0
    token_rejects: int = 0           # NEW/REGREQ/REGREL without a valid token
    auth_failures: int = 0
    apathetic_sent: int = 0
    invals_sent: int = 0
    pokes_answered: int = 0
    dialogs_created: int = 0
    calls_placed: int = 0
    calls_received: int = 0
    calls_refused: int = 0
    callno_exhausted: int = 0
    nonvalidated_limit: int = 0      # token-less requests refused: max_calls_nonvalidated reached
    frames_sent: int = 0             # sequenced full frames (first sends)
    acks_sent: int = 0
    vnaks_sent: int = 0
    retransmissions: int = 0
    gave_up: int = 0
    voice_full_sent: int = 0
    mini_sent: int = 0
    voice_received: int = 0
    trunk_sent: int = 0
    trunk_received: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict."""
        return asdict(self)
