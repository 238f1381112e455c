"""Infer a scenario from IAX2 packet captures (``iaxsim scenario from-pcap``).

:func:`measure` reads pcap/pcapng files and measures, per pair of hosts, what a scenario
needs: round-trip time, loss, call arrivals, holding times, answer delay, codec mix and
trunking. :func:`scenario_dict` turns the measurement into a scenario in the schema of
``docs/scenarios.md`` and :func:`scenario_toml` writes it.

Estimators (``docs/scenarios.md``, "Scenarios from captures", says the same for users):

* Round trip. A reply echoes its request's timestamp: ACK echoes the acknowledged frame's
  (and its iseqno is that frame's oseqno + 1), PONG echoes PING's or POKE's, LAGRP echoes
  LAGRQ's (RFC 5456 §6.7, §6.8; Asterisk ``chan_iax2.c``: ``send_command_immediate(...
  IAX_COMMAND_ACK, fr->ts, ...)``, ``IAX_COMMAND_PONG``/``LAGRP`` with ``fr->ts``). For a
  request from A to B the sample is the capture time of the reply minus that of the request.
  Where the capture was taken decides what that interval is: at A it is the whole round trip
  and B's requests answered by A give ~0; at B it is ~0 and A's replies give the round trip;
  at a point in between the two directions give the two halves. The simulator records every
  datagram at its *arrival* (``iaxsim.sim.network``), so A→B samples measure B→A's latency
  and B→A samples A→B's. In every case the sum of the two directions' mean intervals is the
  round trip, which is the estimate (a pair with samples in one direction only takes that
  direction's mean, i.e. assumes the capture was at the requester). Requests seen more than
  once give no sample (Karn's rule), nor do replies that are retransmissions themselves
  (their first copy was lost); a request gives at most one sample.
  One-way latency is half the round trip.
* Loss. A reliable frame (every full frame but ACK, INVAL, TXCNT, TXACC, VNAK and the
  stateless CALLTOKEN reply) is retransmitted with the R bit set and the same oseqno and
  timestamp until acknowledged (RFC 5456 §7). Per direction: ``U`` distinct reliable frames
  seen, ``M`` of them seen only as retransmissions (the first copy never reached the capture
  point), ``R`` retransmitted copies. Where the capture shows missing first copies (captures
  at the receiver, or the simulator's), loss = M / U. Where a direction shows
  retransmissions but never a missing first copy (captured at its sender, which sees every
  copy it sends), a retransmission means the frame or its acknowledgement was lost, so loss
  = max(0, R / U − the reverse direction's loss). A pair's loss is the U-weighted mean of its
  two directions. VNAKs are counted and reported.
* Calls. A call is a NEW whose called number is not ``TBD`` (``TBD`` opens a DPREQ dialog),
  from the caller's call number to the callee. Arrival rate = (calls − 1) / (last NEW − first
  NEW) per hour; answer delay = NEW → ANSWER; ringing time = RINGING → ANSWER (the scenario's
  ``answer_delay``: the model adds its own set-up); holding = ANSWER → first HANGUP. A call
  whose NEW precedes the capture (frames of an unknown call) or whose end follows it (NEW
  without HANGUP/REJECT/BUSY) is counted as truncated and gives no holding time.
* Codec mix from the FORMAT IE of ACCEPT; trunking from meta trunk frames (and whether
  their entries carry timestamps).

Only inter-server traffic crosses the wire, so the scenario's calls are all ``to`` other
servers (``local = 0``): local calls are invisible to a capture.
"""
from __future__ import annotations

import ipaddress
import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from iaxsim.errors import IaxsimError
from iaxsim.iax2.constants import (DEFAULT_PORT, ControlSubclass, DecodeError, FrameType, IAXSubclass,
                                   IEType)
from iaxsim.iax2.frames import FullFrame, MiniFrame, TrunkFrame, VideoFrame, decode
from iaxsim.iax2.media import MediaFormat
from iaxsim.iax2.pcap import Datagram, PcapError, PcapReader
from iaxsim.sim.toml_text import toml_key, toml_value

#: IAX subclasses that consume no sequence number and are never retransmitted (RFC 5456 §7),
#: plus CALLTOKEN, which Asterisk sends as a stateless reply and does not retransmit.
_UNRELIABLE = frozenset({IAXSubclass.ACK, IAXSubclass.INVAL, IAXSubclass.TXCNT, IAXSubclass.TXACC,
                         IAXSubclass.VNAK, IAXSubclass.CALLTOKEN})
#: IAX subclasses that open or belong to dialogs other than calls.
_NOT_CALL = frozenset({IAXSubclass.REGREQ, IAXSubclass.REGAUTH, IAXSubclass.REGACK, IAXSubclass.REGREJ,
                       IAXSubclass.REGREL, IAXSubclass.POKE, IAXSubclass.PONG, IAXSubclass.CALLTOKEN,
                       IAXSubclass.INVAL, IAXSubclass.ACK, IAXSubclass.VNAK, IAXSubclass.DPREQ,
                       IAXSubclass.DPREP, IAXSubclass.NEW})
#: requests whose reply echoes their timestamp, and that reply
_ECHOED = {IAXSubclass.PING: IAXSubclass.PONG, IAXSubclass.POKE: IAXSubclass.PONG,
           IAXSubclass.LAGRQ: IAXSubclass.LAGRP}
#: media formats the scenario schema knows, by its codec name
CODEC_NAMES: dict[MediaFormat, str] = {
    MediaFormat.ULAW: "ulaw", MediaFormat.ALAW: "alaw", MediaFormat.GSM: "gsm",
    MediaFormat.G729: "g729", MediaFormat.G722: "g722", MediaFormat.SLINEAR: "slinear",
    MediaFormat.ILBC: "ilbc"}
_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",
           b"\x0a\x0d\x0d\x0a")

#: a reply later than this after its request belongs to another dialog (s)
_MAX_RTT = 10.0

Host = str
Pair = tuple[Host, Host]


@dataclass
class Direction:
    """What was seen from one host to another."""

    frames: int = 0
    rtt_samples: list[float] = field(default_factory=list)
    reliable: int = 0           # U: distinct reliable frames
    first_missing: int = 0      # M: of them seen only as retransmissions
    retransmitted: int = 0      # R: retransmitted copies seen
    vnaks: int = 0

    def missing_rate(self) -> float | None:
        return self.first_missing / self.reliable if self.reliable else None


@dataclass
class Call:
    """One call: a NEW (not TBD) from ``caller`` to ``callee``, times as captured."""

    caller: Host
    callee: Host
    callno: int
    new: float
    dialled: str | None
    callee_callno: int | None = None
    accept: float | None = None
    ringing: float | None = None
    answer: float | None = None
    end: float | None = None
    codec: str | None = None
    #: the ANSWER's first copy was seen (a retransmitted one arrives late)
    answer_on_time: bool = False

    @property
    def holding(self) -> float | None:
        if self.answer is None or self.end is None:
            return None
        return self.end - self.answer


@dataclass
class PairStats:
    """Counters for one unordered host pair (``a`` < ``b``)."""

    a: Host
    b: Host
    frames: int = 0
    undecodable: int = 0
    calls: int = 0
    truncated_calls: int = 0
    trunk_frames: int = 0


@dataclass
class Measurement:
    """Everything :func:`measure` found in the captures."""

    files: list[str] = field(default_factory=list)
    packets: int = 0
    datagrams: int = 0
    iax2_frames: int = 0
    undecodable: int = 0
    truncated_files: list[str] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    first: float | None = None
    last: float | None = None
    directions: dict[Pair, Direction] = field(default_factory=dict)
    pairs: dict[Pair, PairStats] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    truncated_start: int = 0
    codecs: Counter[str] = field(default_factory=Counter)
    trunk_frames: int = 0
    trunk_timestamps: int = 0
    keepalive: bool = False
    hosts: set[Host] = field(default_factory=set)

    # ---- derived figures

    def span(self) -> float:
        """Seconds from the first to the last datagram."""
        return 0.0 if self.first is None or self.last is None else self.last - self.first

    def direction(self, src: Host, dst: Host) -> Direction:
        return self.directions.get((src, dst)) or Direction()

    def rtt(self, a: Host, b: Host) -> float | None:
        """Round-trip estimate for a pair: sum of both directions' mean intervals."""
        ab, ba = self.direction(a, b).rtt_samples, self.direction(b, a).rtt_samples
        if ab and ba:
            return statistics.fmean(ab) + statistics.fmean(ba)
        if ab or ba:
            return statistics.fmean(ab or ba)
        return None

    def rtt_samples(self, a: Host, b: Host) -> int:
        return len(self.direction(a, b).rtt_samples) + len(self.direction(b, a).rtt_samples)

    def loss_of(self, src: Host, dst: Host) -> float | None:
        """Loss estimate of one direction (see the module docstring)."""
        d = self.direction(src, dst)
        if not d.reliable:
            return None
        if d.first_missing or not d.retransmitted:
            return d.first_missing / d.reliable
        rev = self.direction(dst, src)
        back = rev.missing_rate() if rev.first_missing else 0.0
        return max(0.0, d.retransmitted / d.reliable - (back or 0.0))

    def loss(self, a: Host, b: Host) -> float | None:
        """Loss of a pair: the two directions' estimates weighted by their reliable frames."""
        num = den = 0.0
        for s, t in ((a, b), (b, a)):
            est = self.loss_of(s, t)
            if est is not None:
                num += est * self.direction(s, t).reliable
                den += self.direction(s, t).reliable
        return num / den if den else None

    def complete_calls(self) -> list[Call]:
        return [c for c in self.calls if c.end is not None]

    def truncated_end(self) -> int:
        return sum(1 for c in self.calls if c.end is None)

    def calls_per_hour(self) -> float | None:
        """Arrival rate of calls (NEWs, truncated ones included) over their own span."""
        news = sorted(c.new for c in self.calls)
        if len(news) < 2 or news[-1] <= news[0]:
            span = self.span()
            return len(news) * 3600.0 / span if news and span > 0 else None
        return (len(news) - 1) * 3600.0 / (news[-1] - news[0])

    def holdings(self) -> list[float]:
        return [h for c in self.calls if (h := c.holding) is not None]

    def answer_delays(self) -> list[float]:
        return [c.answer - c.new for c in self.calls if c.answer is not None]

    def ringing_times(self) -> list[float]:
        return [c.answer - c.ringing for c in self.calls
                if c.answer is not None and c.ringing is not None and c.answer_on_time]


# --------------------------------------------------------------------------- reading


def check_capture(path: str | Path) -> None:
    """Raise IaxsimError naming ``path`` unless it starts like a pcap or pcapng file."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head not in _MAGICS:
        raise IaxsimError(f"{path}: not a pcap or pcapng capture")


def _read(path: str | Path, ports: Iterable[int] | None, m: Measurement) -> list[Datagram]:
    """The datagrams of one capture; a truncated or damaged tail is recorded, not raised."""
    check_capture(path)
    reader = PcapReader(path, ports)
    out: list[Datagram] = []
    try:
        for dg in reader:
            out.append(dg)
    except PcapError as err:
        m.truncated_files.append(str(err))
    m.packets += reader.stats.packets
    for reason, n in reader.stats.skipped().items():
        m.skipped[reason] += n
    return out


def _host_names(datagrams: list[Datagram]) -> dict[tuple[str, int], Host]:
    """Name each (address, port) by its address, or ``address:port`` for addresses that talk
    to themselves (several programs on one host, as on loopback)."""
    self_talk = {dg.src[0] for dg in datagrams if dg.src[0] == dg.dst[0]}
    names: dict[tuple[str, int], Host] = {}
    for dg in datagrams:
        for ep in (dg.src, dg.dst):
            if ep not in names:
                names[ep] = f"{ep[0]}:{ep[1]}" if ep[0] in self_talk else ep[0]
    return names


def measure(paths: Iterable[str | Path], ports: Iterable[int] | None = (DEFAULT_PORT,)) -> Measurement:
    """Read captures (datagrams of all files merged in time order) and measure them.

    ``ports``: UDP ports carrying IAX2 (a datagram counts when either port is one of them);
    None takes every UDP datagram. Raises IaxsimError for a file that is not a capture.
    """
    m = Measurement()
    datagrams: list[Datagram] = []
    for path in paths:
        m.files.append(str(path))
        datagrams.extend(_read(path, ports, m))
    datagrams.sort(key=lambda dg: dg.time)
    m.datagrams = len(datagrams)
    if datagrams:
        m.first, m.last = datagrams[0].time, datagrams[-1].time
    _Analyser(m, _host_names(datagrams)).run(datagrams)
    return m


class _Analyser:
    """One pass over the time-ordered datagrams."""

    def __init__(self, m: Measurement, names: dict[tuple[str, int], Host]):
        self.m = m
        self.names = names
        # reliable frames: (src, dst, scall, oseqno, ts, type, subclass) -> [first copy seen, copies]
        self.reliable: dict[tuple, list[int]] = {}
        # requests awaiting an echoing reply: (src, dst, scall, ts) -> (time, dcall, oseqno, subclass, key)
        self.pending: dict[tuple[Host, Host, int, int], tuple[float, int, int, int, tuple]] = {}
        self.calls: dict[tuple[Host, Host, int], Call] = {}       # (caller, callee, caller callno)
        self.by_callee: dict[tuple[Host, Host, int], Call] = {}   # (callee, caller, callee callno)
        self.other_dialogs: set[tuple[Host, Host, int]] = set()  # registrations, pokes, TBD
        self.unknown: set[tuple[Host, Host, int, int]] = set()   # dialogs of calls cut by the start
        self.unknown_side: dict[tuple[Host, int], tuple[Host, Host, int, int]] = {}

    def pair(self, s: Host, d: Host) -> PairStats:
        key = (s, d) if s <= d else (d, s)
        p = self.m.pairs.get(key)
        if p is None:
            p = self.m.pairs[key] = PairStats(*key)
        return p

    def run(self, datagrams: list[Datagram]) -> None:
        m = self.m
        for dg in datagrams:
            src, dst = self.names[dg.src], self.names[dg.dst]
            m.hosts.update((src, dst))
            pair = self.pair(src, dst)
            pair.frames += 1
            d = m.directions.get((src, dst))
            if d is None:
                d = m.directions[(src, dst)] = Direction()
            d.frames += 1
            try:
                frame = decode(dg.data)
            except DecodeError:
                m.undecodable += 1
                pair.undecodable += 1
                continue
            m.iax2_frames += 1
            if isinstance(frame, FullFrame):
                self.full(dg.time, src, dst, frame, d)
            elif isinstance(frame, TrunkFrame):
                m.trunk_frames += 1
                pair.trunk_frames += 1
                m.trunk_timestamps += frame.timestamps
            elif isinstance(frame, (MiniFrame, VideoFrame)):
                self.media(src, dst, frame.source_call)
        for call in m.calls:
            if call.end is None:
                self.pair(call.caller, call.callee).truncated_calls += 1
        for src, dst, _, _ in self.unknown:
            self.pair(src, dst).truncated_calls += 1
        m.truncated_start = len(self.unknown)

    def call_of(self, src: Host, dst: Host, f: FullFrame | None, scall: int) -> Call | None:
        """The call a frame from ``src`` to ``dst`` belongs to, if known.

        Call numbers are reused as soon as a call ends, so a frame is matched on both of its
        numbers: from the caller its source call number is the call's and its destination
        the callee's (or 0 before the ACCEPT); from the callee the other way round. A call
        still in progress wins over an ended one with the same numbers."""
        dcall = f.dest_call if f is not None else None
        found: list[Call] = []
        as_caller = self.calls.get((src, dst, scall))
        if as_caller is not None and (dcall is None or not dcall or as_caller.callee_callno in (None, dcall)):
            found.append(as_caller)
        if dcall:
            as_callee = self.calls.get((dst, src, dcall))
            if as_callee is not None and as_callee.callee_callno in (None, scall):
                found.append(as_callee)
        elif dcall is None:
            as_callee = self.by_callee.get((src, dst, scall))
            if as_callee is not None:
                found.append(as_callee)
        if not found:
            return None
        live = [c for c in found if c.end is None]
        return max(live or found, key=lambda c: c.new)

    def media(self, src: Host, dst: Host, scall: int) -> None:
        if self.call_of(src, dst, None, scall) is None:
            self.note_unknown(src, dst, scall, 0)

    def note_unknown(self, src: Host, dst: Host, scall: int, dcall: int) -> None:
        """Count the dialog of a call frame whose call is unknown (begun before the capture),
        once: by either side's (host, call number); a mini frame (``dcall`` 0) names only its
        sender's side, and a full frame of the same dialog later completes it."""
        if (src, dst, scall) in self.other_dialogs or (dst, src, dcall) in self.other_dialogs:
            return
        a, b = (src, scall), (dst, dcall)
        ka = self.unknown_side.get(a)
        kb = self.unknown_side.get(b) if dcall else None
        full = self._unknown_key(a, b)
        if not dcall:
            if ka is None:
                self.unknown.add(full)
                self.unknown_side[a] = full
            return
        if ka == full or kb == full:
            return
        # a full frame joins what mini frames of either side counted apart
        for old in (ka, kb):
            if old is not None:
                self.unknown.discard(old)
        self.unknown.add(full)
        self.unknown_side[a] = self.unknown_side[b] = full

    @staticmethod
    def _unknown_key(a: tuple[Host, int], b: tuple[Host, int]) -> tuple[Host, Host, int, int]:
        (h1, c1), (h2, c2) = (a, b) if a <= b else (b, a)
        return (h1, h2, c1, c2)

    def full(self, t: float, src: Host, dst: Host, f: FullFrame, d: Direction) -> None:
        m = self.m
        iax = f.frametype == FrameType.IAX
        sub = f.subclass
        if iax and sub == IAXSubclass.VNAK:
            d.vnaks += 1
        # --- loss bookkeeping
        key: tuple = ()
        if not (iax and sub in _UNRELIABLE):
            key = (src, dst, f.source_call, f.oseqno, f.timestamp, int(f.frametype), int(sub))
            seen = self.reliable.get(key)
            if seen is None:
                seen = self.reliable[key] = [0, 0]
                d.reliable += 1
                if f.retransmitted:
                    d.first_missing += 1
            seen[1] += 1
            if f.retransmitted:
                d.retransmitted += 1
                seen[0] = 1      # Karn: a retransmitted request gives no round-trip sample
            elif seen[1] == 1:
                self.pending[(src, dst, f.source_call, f.timestamp)] = (
                    t, f.dest_call, f.oseqno, int(sub) if iax else -1, key)
        # --- round trip: replies echo their request's timestamp
        if iax and sub in (IAXSubclass.ACK, IAXSubclass.PONG, IAXSubclass.LAGRP):
            req = self.pending.get((dst, src, f.dest_call, f.timestamp))
            if req is not None:
                rt, rdcall, oseq, rsub, rkey = req
                matches = ((oseq + 1) & 0xFF == f.iseqno) if sub == IAXSubclass.ACK else \
                    (_ECHOED.get(IAXSubclass(rsub)) == sub if rsub in _ECHOED else False)
                # the same dialog (the request named the replier's call number, or none yet)
                # and not a stale request of an earlier call that reused the call number
                if matches and rdcall in (0, f.source_call) and t - rt < _MAX_RTT:
                    del self.pending[(dst, src, f.dest_call, f.timestamp)]
                    if not self.reliable[rkey][0] and not f.retransmitted:
                        m.directions[(dst, src)].rtt_samples.append(t - rt)
        # --- calls
        if iax and sub == IAXSubclass.NEW:
            called = f.ie(IEType.CALLED_NUMBER)
            ckey = (src, dst, f.source_call)
            if called == "TBD":
                self.other_dialogs.add(ckey)
                return
            call = self.calls.get(ckey)
            # a retransmitted NEW (R bit) belongs to the call it opened, even after that call
            # gave up (auto-congest ends a call while its NEW is still being retransmitted);
            # the NEW re-sent with a call token continues it too
            if call is None or (not f.retransmitted and (call.end is not None or call.accept is not None)):
                call = Call(src, dst, f.source_call, t, called if isinstance(called, str) else None)
                self.calls[ckey] = call
                m.calls.append(call)
                self.pair(src, dst).calls += 1
            return
        if iax and sub in (IAXSubclass.REGREQ, IAXSubclass.POKE, IAXSubclass.REGREL):
            self.other_dialogs.add((src, dst, f.source_call))
            return
        call = self.call_of(src, dst, f, f.source_call)
        if call is None:
            if (f.dest_call and not (iax and sub in _NOT_CALL)) or \
                    (iax and sub == IAXSubclass.HANGUP):
                self.note_unknown(src, dst, f.source_call, f.dest_call)
            return
        if iax and sub in (IAXSubclass.PING, IAXSubclass.LAGRQ):
            m.keepalive = True
        from_callee = src == call.callee and f.source_call != call.callno
        if iax and sub == IAXSubclass.ACCEPT and from_callee and call.accept is None:
            call.accept = t
            call.callee_callno = f.source_call
            self.by_callee[(src, dst, f.source_call)] = call
            fmt = f.ie(IEType.FORMAT)
            if isinstance(fmt, int) and fmt:
                call.codec = CODEC_NAMES.get(MediaFormat(fmt), MediaFormat(fmt).name or hex(fmt))
                m.codecs[call.codec] += 1
        elif f.frametype == FrameType.CONTROL and from_callee:
            if sub == ControlSubclass.RINGING and call.ringing is None and not f.retransmitted:
                call.ringing = t
            elif sub == ControlSubclass.ANSWER and call.answer is None:
                call.answer = t
                call.answer_on_time = not f.retransmitted
            elif sub in (ControlSubclass.BUSY, ControlSubclass.CONGESTION) and call.end is None:
                call.end = t
        if call.end is None and ((iax and sub in (IAXSubclass.HANGUP, IAXSubclass.REJECT))
                                 or (f.frametype == FrameType.CONTROL and sub == ControlSubclass.HANGUP)):
            call.end = t


# --------------------------------------------------------------------------- the scenario


def _server_id(host: Host) -> str:
    return host.replace(".", "_").replace(":", "_").replace("[", "").replace("]", "")


def _is_internal(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    return any(addr in ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def _is_internal_host(host: Host) -> bool:
    ip = host.split(":")[0] if host.count(":") == 1 else host
    try:
        return _is_internal(ip)
    except ValueError:
        return False


def _ranges(numbers: Iterable[str]) -> list[str]:
    """Digit strings as a sorted list of single numbers and inclusive ranges of equal length."""
    out: list[str] = []
    by_len: dict[int, list[int]] = {}
    for n in set(numbers):
        if n.isdigit():
            by_len.setdefault(len(n), []).append(int(n))
    for width in sorted(by_len):
        vals = sorted(by_len[width])
        start = prev = vals[0]
        for v in vals[1:] + [None]:
            if v is not None and v == prev + 1:
                prev = v
                continue
            lo, hi = str(start).zfill(width), str(prev).zfill(width)
            out.append(lo if lo == hi else f"{lo}-{hi}")
            if v is not None:
                start = prev = v
    return out


def _weighted(values: list[tuple[float | None, int]]) -> float | None:
    """Mean of the known values weighted by their sample counts (None when none is known)."""
    known = [(v, n) for v, n in values if v is not None and n > 0]
    total = sum(n for _, n in known)
    return sum(v * n for v, n in known) / total if total else None


def fit_distribution(values: list[float]) -> dict[str, Any]:
    """A scenario distribution for samples: fixed when they barely vary, exponential when the
    coefficient of variation is near 1 (0.8–1.2), lognormal with their mean and sd otherwise."""
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    if mean <= 0:
        return {"dist": "fixed", "value": 0.0}
    cv = sd / mean
    if cv < 0.05:
        return {"dist": "fixed", "value": round(mean, 4)}
    if 0.8 <= cv <= 1.2:
        return {"dist": "exponential", "mean": round(mean, 4)}
    return {"dist": "lognormal", "mean": round(mean, 4), "sd": round(sd, 4)}


def scenario_dict(m: Measurement, names: Mapping[str, str] | None = None, name: str = "from_pcap"
                  ) -> dict[str, Any]:
    """The scenario (as a TOML-ready dict) that reproduces what ``m`` measured.

    ``names`` maps host addresses to server ids (several addresses may name one server);
    other hosts are named by their address.
    """
    names = dict(names or {})
    ids = {h: names.get(h) or names.get(h.rsplit(":", 1)[0] if h.count(":") == 1 else h) or _server_id(h)
           for h in sorted(m.hosts)}
    servers: dict[str, dict[str, Any]] = {}
    for host, sid in ids.items():
        servers.setdefault(sid, {"id": sid, "_hosts": []})["_hosts"].append(host)
    # addresses: one IPv4 address per kind per server, and no address shared by two servers
    ip_users = Counter(h.split(":")[0] if h.count(":") == 1 else h for h in ids)
    any_internal_only = False
    for srv in servers.values():
        for host in srv.pop("_hosts"):
            ip = host.split(":")[0] if host.count(":") == 1 else host
            try:
                v4 = ipaddress.ip_address(ip).version == 4
            except ValueError:
                v4 = False
            if not v4 or ip_users[ip] > 1 or ip.startswith("127."):
                continue
            kind = "internal" if _is_internal(ip) else "external"
            srv.setdefault(kind, ip)
        if "internal" in srv and "external" not in srv:
            any_internal_only = True
    # extensions: the numbers dialled to each server
    dialled: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for c in m.calls:
        if c.dialled and c.dialled.isdigit() and c.dialled not in owner:
            owner[c.dialled] = ids[c.callee]
            dialled.setdefault(ids[c.callee], []).append(c.dialled)
    for sid, nums in dialled.items():
        servers[sid]["extensions"] = _ranges(nums)
    # the scenario's duration is its arrival period: the calls' own span when there are any
    news = [c.new for c in m.calls]
    span = max(news) - min(news) if len(news) > 1 else m.span()
    out: dict[str, Any] = {"name": name, "duration": round(max(span, 1.0), 3), "seed": 1}
    if m.codecs:
        codec = m.codecs.most_common(1)[0][0]
        if codec in CODEC_NAMES.values():
            out["codec"] = codec
    if m.trunk_frames:
        out["trunk"] = True
        if m.trunk_timestamps * 2 > m.trunk_frames:
            out["trunk_timestamps"] = True
    if m.keepalive:
        out["keepalive"] = True
    out["servers"] = list(servers.values())
    if not dialled:
        out["numbering"] = {}
    # network: default from all pairs; per-direction links where pairs differ
    pairs = list(m.pairs.values())
    rtt = _weighted([(m.rtt(p.a, p.b), m.rtt_samples(p.a, p.b)) for p in pairs])
    loss = _weighted([(m.loss(p.a, p.b), m.direction(p.a, p.b).reliable + m.direction(p.b, p.a).reliable)
                      for p in pairs])
    net: dict[str, Any] = {}
    if rtt is not None:
        net["latency"] = round(rtt / 2, 6)
    if loss is not None:
        net["loss"] = round(loss, 6)
    # different servers talking on internal addresses: the scenario must let them (its servers
    # are at sites of their own)
    if any_internal_only or any(ids[p.a] != ids[p.b] and _is_internal_host(p.a) and _is_internal_host(p.b)
                                for p in m.pairs.values()):
        net["internal_scope"] = "global"
    # one link per pair of servers (a server named by several addresses has several host pairs),
    # when there is more than one: the estimates of its host pairs weighted by their samples
    groups: dict[tuple[str, str], list[PairStats]] = {}
    for p in m.pairs.values():
        x, y = sorted((ids[p.a], ids[p.b]))
        if x != y:
            groups.setdefault((x, y), []).append(p)
    links = []
    if len(groups) > 1:
        for (x, y), members in sorted(groups.items()):
            r = _weighted([(m.rtt(p.a, p.b), m.rtt_samples(p.a, p.b)) for p in members])
            lo = _weighted([(m.loss(p.a, p.b), m.direction(p.a, p.b).reliable + m.direction(p.b, p.a).reliable)
                            for p in members])
            for s, t in ((x, y), (y, x)):
                link: dict[str, Any] = {"from": s, "to": t}
                if r is not None:
                    link["latency"] = round(r / 2, 6)
                if lo is not None:
                    link["loss"] = round(lo, 6)
                if len(link) > 2:
                    links.append(link)
    if links:
        net["links"] = links
    if net:
        out["network"] = net
    # traffic
    # servers that call nobody keep the schema's default calling matrix (and no rate)
    traffic: dict[str, Any] = {}
    holdings = m.holdings()
    if holdings:
        traffic["holding"] = fit_distribution(holdings)
    rings = m.ringing_times() or m.answer_delays()
    if rings:
        traffic["answer_delay"] = fit_distribution(rings)
    rate = m.calls_per_hour()
    per_server: dict[str, Any] = {}
    if rate and m.calls:
        origins = Counter(ids[c.caller] for c in m.calls)
        for sid, n in sorted(origins.items()):
            to = Counter(ids[c.callee] for c in m.calls if ids[c.caller] == sid and ids[c.callee] != sid
                         and ids[c.callee] in dialled)
            if not to:
                continue
            k = sum(to.values())
            shares = {t: round(v / k, 6) for t, v in sorted(to.items())}
            last = sorted(shares)[-1]
            shares[last] = round(1.0 - sum(v for t, v in shares.items() if t != last), 6)
            per_server[sid] = {"calls_per_hour": round(rate * k / len(m.calls), 3), "local": 0.0,
                               "to": shares}
    out["traffic"] = traffic
    if per_server:
        traffic["servers"] = per_server
    return out


# --------------------------------------------------------------------------- TOML


#: tables written inline (distributions and calling shares)
_INLINE = frozenset({"holding", "answer_delay", "digit_interval", "latency", "to"})


def scenario_toml(d: Mapping[str, Any], header: str = "") -> str:
    """Write a scenario dict (as :func:`scenario_dict` returns) as TOML."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]

    def table(prefix: str, t: Mapping[str, Any]) -> None:
        nested = []
        for k, v in t.items():
            many = isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)
            if many or (isinstance(v, Mapping) and k not in _INLINE):
                nested.append((k, v))
            else:
                lines.append(f"{toml_key(k)} = {toml_value(v)}")
        for k, v in nested:
            name = f"{prefix}.{toml_key(k)}" if prefix else toml_key(k)
            for item in (v if isinstance(v, list) else [v]):
                lines.extend(["", f"[[{name}]]" if isinstance(v, list) else f"[{name}]"])
                table(name, item)

    table("", d)
    return "\n".join(lines).lstrip("\n") + "\n"


# --------------------------------------------------------------------------- the summary


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v * 1000:.1f}"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.2f}%"


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def summary(m: Measurement) -> dict[str, Any]:
    """The measurement as plain data (what ``--json`` prints)."""
    hold, ans, ring = m.holdings(), m.answer_delays(), m.ringing_times()
    return {
        "files": m.files, "packets": m.packets, "datagrams": m.datagrams, "iax2_frames": m.iax2_frames,
        "undecodable": m.undecodable, "truncated_files": m.truncated_files, "skipped": dict(m.skipped),
        "span_s": m.span(), "calls": len(m.calls), "complete_calls": len(m.complete_calls()),
        "truncated_calls_start": m.truncated_start, "truncated_calls_end": m.truncated_end(),
        "calls_per_hour": m.calls_per_hour(),
        "holding_mean_s": _mean(hold), "holding_samples": len(hold),
        "answer_delay_mean_s": _mean(ans), "answer_delay_samples": len(ans),
        "ringing_mean_s": _mean(ring), "ringing_samples": len(ring),
        "codecs": dict(m.codecs), "trunk_frames": m.trunk_frames,
        "pairs": [{
            "a": p.a, "b": p.b, "frames": p.frames, "rtt_samples": m.rtt_samples(p.a, p.b),
            "rtt_mean_s": m.rtt(p.a, p.b), "loss": m.loss(p.a, p.b),
            "retransmitted": m.direction(p.a, p.b).retransmitted + m.direction(p.b, p.a).retransmitted,
            "vnaks": m.direction(p.a, p.b).vnaks + m.direction(p.b, p.a).vnaks,
            "calls": p.calls, "truncated_calls": p.truncated_calls, "undecodable": p.undecodable,
            "trunk_frames": p.trunk_frames,
        } for p in sorted(m.pairs.values(), key=lambda p: (p.a, p.b))],
    }


def summary_text(m: Measurement) -> str:
    """A human summary: totals, then one row per host pair."""
    s = summary(m)
    out = [f"{len(m.files)} capture(s): {m.packets} packets, {m.datagrams} UDP datagrams on the IAX2 "
           f"port(s), {m.iax2_frames} IAX2 frames, {m.undecodable} undecodable, over {m.span():.1f} s"]
    for msg in m.truncated_files:
        out.append(f"truncated capture: {msg} (read up to there)")
    if m.skipped:
        out.append("packets skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(m.skipped.items())))
    cph = s["calls_per_hour"]
    out.append(f"calls: {len(m.calls)} ({s['truncated_calls_start']} cut by the capture's start, "
               f"{s['truncated_calls_end']} by its end), "
               f"{'-' if cph is None else f'{cph:.1f}'} per hour")
    for label, key, n in (("holding", "holding_mean_s", "holding_samples"),
                          ("answer delay (NEW -> ANSWER)", "answer_delay_mean_s", "answer_delay_samples"),
                          ("ringing (RINGING -> ANSWER)", "ringing_mean_s", "ringing_samples")):
        v = s[key]
        out.append(f"{label}: mean {'-' if v is None else f'{v:.3f} s'} from {s[n]} calls")
    if m.codecs:
        total = sum(m.codecs.values())
        out.append("codecs: " + ", ".join(f"{c} {n / total:.0%}" for c, n in m.codecs.most_common()))
    if m.trunk_frames:
        out.append(f"trunking: {m.trunk_frames} trunk frames "
                   f"({m.trunk_timestamps} with entry timestamps)")
    head = ("host pair", "frames", "RTT samples", "RTT mean ms", "loss", "calls", "truncated", "undecodable")
    rows = [head] + [(f"{p['a']} <-> {p['b']}", str(p["frames"]), str(p["rtt_samples"]), _ms(p["rtt_mean_s"]),
                      _pct(p["loss"]), str(p["calls"]), str(p["truncated_calls"]), str(p["undecodable"]))
                     for p in s["pairs"]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    out.append("")
    for r in rows:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(out)


def json_default(v: Any) -> Any:
    """``json.dumps`` helper: NaN-free floats are already fine; sets become lists."""
    if isinstance(v, set):
        return sorted(v)
    if isinstance(v, float) and math.isnan(v):
        return None
    raise TypeError(repr(v))
