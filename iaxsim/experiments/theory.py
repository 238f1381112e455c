"""Closed-form traffic theory: Erlang B/C, offered/carried load and IAX2 bandwidth.

Erlang B uses the numerically stable recursion ``B(E,0)=1, B(E,m)=E·B/(m+E·B)``;
Erlang C is derived from it.  Bandwidth follows the arithmetic of the project's
reference notes: IPv4+UDP 28 B, IAX2 mini header 4 B, RTP 12 B, Ethernet 18 B (or 38 B
with preamble and inter-frame gap), trunk meta header 8 B plus 4 B per call entry (6 B
with trunk timestamps), and Asterisk's trunk MTU rule (``trunkmtu`` 1240 B by default:
a trunk frame is sent as soon as one more entry of the same size would reach the MTU).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from iaxsim.errors import IaxsimError

IP_UDP_BYTES = 28
IAX_MINI_HEADER = 4
RTP_HEADER = 12
ETHERNET_BYTES = {"ip": 0, "ethernet": 18, "wire": 38}
TRUNK_META_HEADER = 8
TRUNK_ENTRY_HEADER = 4
TRUNK_ENTRY_HEADER_TS = 6
DEFAULT_TRUNK_MTU = 1240


class TheoryError(IaxsimError, ValueError):
    """A theory function was called with arguments outside its domain."""


@dataclass(frozen=True)
class Codec:
    """A voice codec as the bandwidth formulas need it: payload bytes per frame of ``frame_ms``."""

    name: str
    payload_bytes: int
    frame_ms: int = 20

    @property
    def packets_per_second(self) -> float:
        return 1000.0 / self.frame_ms


#: name → codec at Asterisk's default packetisation (20 ms unless the codec fixes it).
CODECS: dict[str, Codec] = {c.name: c for c in (
    Codec("ulaw", 160),
    Codec("alaw", 160),
    Codec("gsm", 33),
    Codec("g729", 20),
    Codec("g722", 160),
    Codec("slinear", 320),
    Codec("ilbc", 50, 30),
)}


def codec(name: str) -> Codec:
    """Look a codec up by name (``ulaw``, ``alaw``, ``gsm``, ``g729``, ``g722``, ``slinear``, ``ilbc``)."""
    try:
        return CODECS[name.lower()]
    except KeyError:
        raise TheoryError(f"unknown codec {name!r}; known: {', '.join(sorted(CODECS))}") from None


# --------------------------------------------------------------------------- Erlang


def _check_load(erlangs: float, channels: int) -> None:
    if not (isinstance(erlangs, (int, float)) and math.isfinite(erlangs) and erlangs >= 0):
        raise TheoryError(f"offered load must be a finite number ≥ 0 Erlang, got {erlangs!r}")
    if not isinstance(channels, int) or isinstance(channels, bool) or channels < 0:
        raise TheoryError(f"channels must be an integer ≥ 0, got {channels!r}")


def erlang_b(erlangs: float, channels: int) -> float:
    """Blocking probability of an M/G/N/N loss system (blocked calls cleared)."""
    _check_load(erlangs, channels)
    b = 1.0
    for m in range(1, channels + 1):
        b = erlangs * b / (m + erlangs * b)
    return b


def erlang_c(erlangs: float, channels: int) -> float:
    """Probability that a call waits in an M/M/N queue (blocked calls delayed).

    Returns 1.0 when the offered load is at or above the number of channels.
    """
    _check_load(erlangs, channels)
    if channels == 0 or erlangs >= channels:
        return 1.0
    b = erlang_b(erlangs, channels)
    return channels * b / (channels - erlangs * (1.0 - b))


def channels_for(erlangs: float, blocking: float) -> int:
    """Smallest number of channels whose Erlang B blocking is ≤ ``blocking``."""
    _check_load(erlangs, 0)
    if not 0 < blocking < 1:
        raise TheoryError(f"target blocking must lie strictly between 0 and 1, got {blocking!r}")
    b, m = 1.0, 0
    while b > blocking:
        m += 1
        b = erlangs * b / (m + erlangs * b)
    return m


def offered_load(calls_per_hour: float, mean_holding_s: float) -> float:
    """Offered traffic in Erlang: arrival rate × mean holding time."""
    if calls_per_hour < 0 or mean_holding_s < 0:
        raise TheoryError("calls per hour and holding time must be ≥ 0")
    return calls_per_hour * mean_holding_s / 3600.0


def carried_load(erlangs: float, channels: int) -> float:
    """Traffic carried by N channels when ``erlangs`` is offered: E·(1 − B(E, N))."""
    return erlangs * (1.0 - erlang_b(erlangs, channels))


# --------------------------------------------------------------------------- bandwidth


def _layer_bytes(layer: str) -> int:
    try:
        return ETHERNET_BYTES[layer]
    except KeyError:
        raise TheoryError(f"unknown layer {layer!r}; use one of {', '.join(ETHERNET_BYTES)}") from None


def _kbps(bytes_per_packet: float, pps: float) -> float:
    return bytes_per_packet * 8.0 * pps / 1000.0


def iax2_call_kbps(codec_name: str, layer: str = "ip") -> float:
    """One direction of one untrunked IAX2 call (mini frames), in kbit/s."""
    c = codec(codec_name)
    size = IP_UDP_BYTES + IAX_MINI_HEADER + c.payload_bytes + _layer_bytes(layer)
    return _kbps(size, c.packets_per_second)


def rtp_call_kbps(codec_name: str, layer: str = "ip") -> float:
    """One direction of one RTP stream (SIP media) for comparison, in kbit/s."""
    c = codec(codec_name)
    size = IP_UDP_BYTES + RTP_HEADER + c.payload_bytes + _layer_bytes(layer)
    return _kbps(size, c.packets_per_second)


def trunk_calls_per_packet(codec_name: str, mtu: int | None = DEFAULT_TRUNK_MTU,
                           timestamps: bool = False) -> int | None:
    """Most call entries one trunk frame carries before Asterisk flushes it (None: no MTU).

    Asterisk appends an entry, then sends the frame at once if the data so far plus one
    more entry of the same size (payload + 4) would reach ``trunkmtu``.
    """
    if not mtu:
        return None
    c = codec(codec_name)
    entry = c.payload_bytes + (TRUNK_ENTRY_HEADER_TS if timestamps else TRUNK_ENTRY_HEADER)
    n = 1
    while n * entry + c.payload_bytes + TRUNK_ENTRY_HEADER < mtu:
        n += 1
    return n


def trunk_packets(codec_name: str, calls: int, mtu: int | None = DEFAULT_TRUNK_MTU,
                  timestamps: bool = False) -> int:
    """Trunk frames sent per packetisation interval for ``calls`` simultaneous calls."""
    if calls < 0:
        raise TheoryError("number of calls must be ≥ 0")
    if calls == 0:
        return 0
    per = trunk_calls_per_packet(codec_name, mtu, timestamps)
    return 1 if per is None else math.ceil(calls / per)


def trunk_total_kbps(codec_name: str, calls: int, layer: str = "ip",
                     mtu: int | None = DEFAULT_TRUNK_MTU, timestamps: bool = False) -> float:
    """One direction of a trunk carrying ``calls`` simultaneous calls, in kbit/s."""
    c = codec(codec_name)
    packets = trunk_packets(codec_name, calls, mtu, timestamps)
    entry = c.payload_bytes + (TRUNK_ENTRY_HEADER_TS if timestamps else TRUNK_ENTRY_HEADER)
    per_interval = packets * (IP_UDP_BYTES + TRUNK_META_HEADER + _layer_bytes(layer)) + calls * entry
    return _kbps(per_interval, c.packets_per_second)


def trunk_call_kbps(codec_name: str, calls: int, layer: str = "ip",
                    mtu: int | None = DEFAULT_TRUNK_MTU, timestamps: bool = False) -> float:
    """Per-call share of a trunk carrying ``calls`` simultaneous calls, in kbit/s."""
    if calls < 1:
        raise TheoryError("a per-call share needs at least one call")
    return trunk_total_kbps(codec_name, calls, layer, mtu, timestamps) / calls


def call_rates(codec_name: str, trunk_calls: int = 0, layer: str = "ip",
               mtu: int | None = DEFAULT_TRUNK_MTU, timestamps: bool = False) -> tuple[float, float]:
    """(frames per second, kbit/s) one direction of a call sends: untrunked mini frames when
    ``trunk_calls`` = 0, else the call's share of a trunk with that many simultaneous calls."""
    c = codec(codec_name)
    if trunk_calls:
        kbps = trunk_call_kbps(codec_name, trunk_calls, layer, mtu, timestamps)
    else:
        kbps = iax2_call_kbps(codec_name, layer)
    return c.packets_per_second, kbps


def bytes_over(rates: tuple[float, float], duration_s: float) -> tuple[int, int]:
    """(frames, bytes) sent in ``duration_s`` seconds at ``rates`` (from :func:`call_rates`)."""
    if duration_s < 0:
        raise TheoryError("duration must be ≥ 0")
    pps, kbps = rates
    return int(round(duration_s * pps)), int(round(kbps * 1000.0 / 8.0 * duration_s))


def call_bytes(codec_name: str, duration_s: float, trunk_calls: int = 0, layer: str = "ip",
               mtu: int | None = DEFAULT_TRUNK_MTU, timestamps: bool = False) -> tuple[int, int]:
    """(frames, bytes) one direction of a call of ``duration_s`` seconds sends.

    ``trunk_calls`` = 0 means untrunked mini frames; otherwise the call's share of a trunk
    with that many simultaneous calls (frames counted as the call's share of trunk packets).
    """
    if duration_s < 0:
        raise TheoryError("duration must be ≥ 0")
    return bytes_over(call_rates(codec_name, trunk_calls, layer, mtu, timestamps), duration_s)
