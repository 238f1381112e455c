"""WAN bandwidth measured from real frames, to set beside the formulas of :mod:`iaxsim.theory`.

:func:`measure_link_kbps` places ``calls`` simultaneous calls from endpoint A to endpoint B
(the real sans-I/O engine on an in-memory :class:`~iaxsim.iax2.engine.wire.Wire`), answers
them, then has A send one voice frame per call every packetisation interval for ``seconds``
and counts what A actually puts on the wire in that window: mini frames (untrunked) or meta
trunk frames (when B is a trunk peer). The count is of encoded datagrams, so it checks the
formula rather than restating it.
"""
from __future__ import annotations

from dataclasses import dataclass

from iaxsim.errors import IaxsimError
from iaxsim import theory
from iaxsim.iax2.media import MediaFormat

__all__ = ["LinkMeasurement", "measure_link_kbps", "CODEC_FORMATS"]

#: Codec names of :data:`iaxsim.theory.CODECS` → IAX2 media format bits.
CODEC_FORMATS: dict[str, int] = {"ulaw": MediaFormat.ULAW, "alaw": MediaFormat.ALAW, "gsm": MediaFormat.GSM,
                                 "g729": MediaFormat.G729, "g722": MediaFormat.G722,
                                 "slinear": MediaFormat.SLINEAR, "ilbc": MediaFormat.ILBC}

_A = ("192.0.2.1", 4569)
_B = ("192.0.2.2", 4569)
_MEDIA = ("MINI", "TRUNK", "VOICE")


@dataclass(frozen=True)
class LinkMeasurement:
    """What A sent toward B in the measuring window (one direction)."""

    codec: str
    calls: int
    trunk: bool
    seconds: float
    packets: int
    udp_bytes: int

    @property
    def ip_bytes(self) -> int:
        """Bytes at the IP layer (UDP payload + 8 UDP + 20 IPv4 per datagram)."""
        return self.udp_bytes + theory.IP_UDP_BYTES * self.packets

    @property
    def kbps(self) -> float:
        """IP-layer bit rate of the link, kbit/s."""
        return self.ip_bytes * 8.0 / self.seconds / 1000.0

    @property
    def kbps_per_call(self) -> float:
        """The link rate shared out per call, kbit/s."""
        return self.kbps / self.calls

    def kbps_per_call_at(self, layer: str = "ip") -> float:
        """The per-call rate at ``layer``, kbit/s: ``"ip"``, ``"ethernet"`` (+ 18 B of Ethernet II
        header and FCS per datagram) or ``"wire"`` (+ 20 B more of preamble and inter-frame gap)."""
        frame_bytes = self.ip_bytes + theory.ETHERNET_BYTES[layer] * self.packets
        return frame_bytes * 8.0 / self.seconds / 1000.0 / self.calls


def measure_link_kbps(codec_name: str, calls: int, trunk: bool = False, seconds: float = 1.0,
                      timestamps: bool = False, mtu: int = theory.DEFAULT_TRUNK_MTU,
                      seed: int = 0) -> LinkMeasurement:
    """Measure one direction of a link carrying ``calls`` simultaneous calls of ``codec_name``."""
    from iaxsim.iax2.engine import Endpoint, EndpointConfig, Event, IncomingCall
    from iaxsim.iax2.engine.wire import Wire

    c = theory.codec(codec_name)
    fmt = CODEC_FORMATS[c.name]
    if not isinstance(calls, int) or calls < 1:
        raise IaxsimError(f"calls must be a positive integer, not {calls!r}")
    if seconds <= 0:
        raise IaxsimError(f"seconds must be positive, not {seconds!r}")
    step = c.frame_ms / 1000.0
    frames = int(round(seconds / step))

    def config(peer: tuple[str, int]) -> EndpointConfig:
        return EndpointConfig(formats=fmt, preferred_format=fmt, trunk_timestamps=timestamps,
                              trunk_mtu=mtu, trunk_freq=step, ping_interval=None,
                              lagrq_interval=None, trunk_peers=[peer] if trunk else [])

    a = Endpoint(config(_B), seed=seed)
    b = Endpoint(config(_A), seed=seed + 1)
    wire = Wire(latency=0.005, seed=seed)

    def answer(event: Event, now: float) -> None:
        if isinstance(event, IncomingCall):
            b.accept(event.call_id, now=now)
            b.answer(event.call_id, now=now)

    wire.attach(_A, a)
    wire.attach(_B, b, handler=answer)
    ids = [a.place_call(_B, str(1000 + i), now=0.0) for i in range(calls)]
    wire.run(until=1.0)
    down = [i for i in ids if a.call_state(i) != "up"]
    if down:
        raise IaxsimError(f"{len(down)} of {calls} calls were not answered before measuring")
    payload = b"\xff" * c.payload_bytes
    # one frame per call to get past each call's first (full) voice frame, then measure;
    # each round: one frame per call at t, then run to t + step so a trunk flush due then goes out
    wire.run(until=2.0)
    t = wire.now
    for i in ids:
        a.send_voice(i, payload, now=t)
    wire.run(until=t + step + 1e-9)
    t = wire.now
    mark = len(wire.log)
    for _ in range(frames):
        for i in ids:
            a.send_voice(i, payload, now=t)
        wire.run(until=t + step + 1e-9)
        t = wire.now
    sent = [p for p in wire.log[mark:] if p.src == _A and p.label in _MEDIA]
    return LinkMeasurement(c.name, calls, trunk, frames * step, len(sent), sum(len(p.data) for p in sent))
