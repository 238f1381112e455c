"""IAX2 media bandwidth by formula, per codec, trunked and untrunked.

IPv4+UDP 28 B, IAX2 mini header 4 B (RFC 5456 §8.1.2), RTP 12 B for comparison, Ethernet 18 B (or
38 B with preamble and inter-frame gap), trunk meta header 8 B plus 4 B per call entry (6 B with
trunk timestamps, RFC 5456 §8.1.3.1), and Asterisk's trunk MTU rule (``trunkmtu``, 1240 B by
default in ``channels/chan_iax2.c``: a trunk frame is sent as soon as one more entry of the same
size would reach the MTU).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from iaxsim.theory.erlang import TheoryError

IP_UDP_BYTES = 28
IAX_MINI_HEADER = 4
RTP_HEADER = 12
ETHERNET_BYTES = {"ip": 0, "ethernet": 18, "wire": 38}
TRUNK_META_HEADER = 8
TRUNK_ENTRY_HEADER = 4
TRUNK_ENTRY_HEADER_TS = 6
DEFAULT_TRUNK_MTU = 1240


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
