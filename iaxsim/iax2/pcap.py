"""Packet captures: write IAX2 datagrams as classic libpcap files, read pcap/pcapng back.

* :func:`write_pcap` writes ``Datagram(time, src, dst, data)`` records as Ethernet/IPv4 or
  IPv6/UDP packets that Wireshark and tshark open and dissect (on port 4569 as IAX2).
* :func:`read_pcap` reads classic pcap (either byte order, µs or ns timestamps) and pcapng
  (SHB/IDB/EPB/SPB/OPB, per-interface link type and timestamp resolution) captures with
  Ethernet (VLAN tags too), Linux cooked (SLL and SLL2), raw IP, and BSD/loop link types,
  IPv4 (fragments reassembled) and IPv6 (extension headers, fragments) UDP, on any port.
  Packets that are not UDP are counted in ``reader.stats`` rather than silently lost.
* :func:`read_mini_frames` is a numpy-vectorised reader for big captures of voice mini frames:
  it decodes the common layout (Ethernet/SLL/raw + IPv4 + UDP) column-wise and hands anything
  else to the general reader and ``decode``.
"""
from __future__ import annotations

import functools
import ipaddress
import mmap
import os
import struct
import sys
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, NamedTuple

import numpy as np

from iaxsim.errors import IaxsimError
from iaxsim.iax2.constants import DEFAULT_PORT, DecodeError, FrameType
from iaxsim.iax2.frames import Frame, FullFrame, MiniFrame, TrunkFrame, VideoFrame, decode


class PcapError(IaxsimError, ValueError):
    """A capture file is malformed or uses a format this reader does not know."""


class Datagram(NamedTuple):
    """One UDP datagram: capture time (s since the epoch), source and destination
    ``(host, port)``, and the UDP payload."""

    time: float
    src: tuple[str, int]
    dst: tuple[str, int]
    data: bytes


# link-layer types (www.tcpdump.org/linktypes.html)
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276
_DLT_RAW_ALIASES = (12, 14)

_PCAP_MAGIC_US = 0xA1B2C3D4
_PCAP_MAGIC_NS = 0xA1B23C4D
_PCAPNG_SHB = 0x0A0D0D0A
_BOM = 0x1A2B3C4D

_ETH_SRC = bytes.fromhex("020000000001")
_ETH_DST = bytes.fromhex("020000000002")


# --- writing ---------------------------------------------------------------------------------

def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    words = array("H", data)
    if sys.byteorder == "little":
        words.byteswap()
    s = sum(words)
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _ip_packet(src: tuple[str, int], dst: tuple[str, int], payload: bytes, ident: int) -> tuple[int, bytes]:
    """Return (ethertype, IP+UDP packet) for one datagram."""
    try:
        sip, dip = ipaddress.ip_address(src[0]), ipaddress.ip_address(dst[0])
        sport, dport = int(src[1]), int(dst[1])
    except (TypeError, ValueError, IndexError) as err:
        raise PcapError(f"bad datagram address {src!r} -> {dst!r}: {err}") from None
    if sip.version != dip.version:
        raise PcapError(f"source {sip} and destination {dip} are different IP versions")
    if not (0 <= sport <= 0xFFFF and 0 <= dport <= 0xFFFF):
        raise PcapError(f"port out of range in {src!r} -> {dst!r}")
    ulen = 8 + len(payload)
    if sip.version == 4:
        if ulen + 20 > 0xFFFF:
            raise PcapError(f"datagram of {len(payload)} bytes is too big for IPv4")
        udp = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, ident & 0xFFFF, 0x4000, 64, 17, 0,
                          sip.packed, dip.packed)
        hdr = hdr[:10] + struct.pack("!H", _checksum(hdr)) + hdr[12:]
        return 0x0800, hdr + udp
    if ulen > 0xFFFF:
        raise PcapError(f"datagram of {len(payload)} bytes is too big for UDP")
    pseudo = sip.packed + dip.packed + struct.pack("!IxxxB", ulen, 17)
    udp0 = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    csum = _checksum(pseudo + udp0) or 0xFFFF
    udp = udp0[:6] + struct.pack("!H", csum) + udp0[8:]
    hdr = struct.pack("!IHBB16s16s", 0x60000000, ulen, 17, 64, sip.packed, dip.packed)
    return 0x86DD, hdr + udp


def write_pcap(target: str | os.PathLike | BinaryIO, datagrams: Iterable[Datagram | tuple],
               snaplen: int = 65535) -> int:
    """Write datagrams as a classic libpcap file (Ethernet link type, µs timestamps).

    ``datagrams`` yields ``Datagram`` or ``(time, src, dst, data)`` tuples; returns how many
    records were written.
    """
    if isinstance(target, (str, os.PathLike)):
        with open(target, "wb") as fh:
            return _write_records(fh, datagrams, snaplen)
    return _write_records(target, datagrams, snaplen)


def _write_records(fh: BinaryIO, datagrams: Iterable[Datagram | tuple], snaplen: int) -> int:
    count = 0
    # IPv4 headers depend only on (addresses, ports, length) with ident 0 and DF set (an
    # atomic datagram, RFC 6864), so whole link+IP+UDP prefixes are cached; IPv6 headers carry
    # a payload-dependent UDP checksum and are built each time.
    prefixes: dict[tuple, bytes] = {}
    rec = struct.Struct("<IIII")
    write = fh.write
    write(struct.pack("<IHHiIII", _PCAP_MAGIC_US, 2, 4, 0, 0, snaplen, LINKTYPE_ETHERNET))
    for t, src, dst, data in datagrams:
        data = bytes(data)
        key = (src, dst, len(data))
        prefix = prefixes.get(key)
        if prefix is None:
            ethertype, pkt = _ip_packet(src, dst, data, 0)
            head = _ETH_DST + _ETH_SRC + struct.pack("!H", ethertype) + pkt[:len(pkt) - len(data)]
            if ethertype == 0x0800:
                if len(prefixes) > 4096:
                    prefixes.clear()
                prefixes[key] = head
            frame = head + data
        else:
            frame = prefix + data
        try:
            usec = round(t * 1_000_000)
        except TypeError:
            raise PcapError(f"record {count}: time {t!r} is not a number") from None
        if usec < 0:
            raise PcapError(f"record {count}: negative time {t!r}")
        sec, usec = divmod(usec, 1_000_000)
        n = len(frame)
        if n <= snaplen:
            write(rec.pack(sec, usec, n, n))
            write(frame)
        else:
            write(rec.pack(sec, usec, snaplen, n))
            write(frame[:snaplen])
        count += 1
    return count


# --- reading: link and network layers ----------------------------------------------------------

@dataclass
class CaptureStats:
    """What a reader saw: every packet is either a UDP datagram or counted here by reason."""

    packets: int = 0
    udp: int = 0
    not_ip: int = 0
    not_udp: int = 0
    truncated: int = 0
    fragments_pending: int = 0
    filtered_port: int = 0
    unknown_linktype: int = 0

    def skipped(self) -> dict[str, int]:
        """Non-zero skip counters by reason."""
        return {k: v for k, v in self.__dict__.items()
                if k not in ("packets", "udp") and v}


class _Reassembler:
    """IPv4/IPv6 fragment reassembly keyed by (version, src, dst, id, proto)."""

    def __init__(self) -> None:
        self.pending: dict[tuple, dict[int, bytes]] = {}
        self.last: dict[tuple, int] = {}

    def add(self, key: tuple, offset: int, more: bool, data: bytes) -> bytes | None:
        parts = self.pending.setdefault(key, {})
        parts[offset] = data
        if not more:
            self.last[key] = offset + len(data)
        total = self.last.get(key)
        if total is None:
            return None
        buf = bytearray()
        pos = 0
        for off in sorted(parts):
            if off > pos:
                return None
            chunk = parts[off]
            if off + len(chunk) > pos:
                buf += chunk[pos - off:]
                pos = off + len(chunk)
        if pos < total:
            return None
        del self.pending[key]
        del self.last[key]
        return bytes(buf[:total])


def _strip_link(linktype: int, pkt: bytes) -> tuple[int, bytes] | None:
    """Return (ip version hint 4/6/0, network-layer bytes) or None when not IP."""
    if linktype == LINKTYPE_ETHERNET:
        if len(pkt) < 14:
            return None
        etype = (pkt[12] << 8) | pkt[13]
        off = 14
        while etype in (0x8100, 0x88A8, 0x9100) and len(pkt) >= off + 4:
            etype = (pkt[off + 2] << 8) | pkt[off + 3]
            off += 4
        return _by_ethertype(etype, pkt[off:])
    if linktype in (LINKTYPE_RAW, *_DLT_RAW_ALIASES, LINKTYPE_IPV4, LINKTYPE_IPV6):
        return (0, pkt)
    if linktype == LINKTYPE_LINUX_SLL:
        if len(pkt) < 16:
            return None
        return _by_ethertype((pkt[14] << 8) | pkt[15], pkt[16:])
    if linktype == LINKTYPE_LINUX_SLL2:
        if len(pkt) < 20:
            return None
        return _by_ethertype((pkt[0] << 8) | pkt[1], pkt[20:])
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        if len(pkt) < 4:
            return None
        fam = int.from_bytes(pkt[:4], "big" if linktype == LINKTYPE_LOOP else sys.byteorder)
        if fam not in (2, 24, 28, 30, 10):
            fam = int.from_bytes(pkt[:4], "little")  # capture from a machine of other endianness
            if fam not in (2, 24, 28, 30, 10):
                fam = int.from_bytes(pkt[:4], "big")
        if fam == 2:
            return (4, pkt[4:])
        if fam in (24, 28, 30, 10):
            return (6, pkt[4:])
        return None
    raise KeyError(linktype)


def _by_ethertype(etype: int, rest: bytes) -> tuple[int, bytes] | None:
    if etype == 0x0800:
        return (4, rest)
    if etype == 0x86DD:
        return (6, rest)
    return None


_IPV6_EXT = {0, 43, 60, 51, 135, 139, 140}


@functools.lru_cache(maxsize=65536)
def _ip_text(packed: bytes) -> str:
    """Text form of a packed IPv4/IPv6 address (cached: captures repeat few addresses)."""
    return str(ipaddress.ip_address(packed))


def _udp_from_ip(net: bytes, stats: CaptureStats, frags: _Reassembler
                 ) -> tuple[tuple[str, int], tuple[str, int], bytes] | None:
    """Parse IPv4/IPv6 + UDP; returns (src, dst, payload) or None (counted in stats)."""
    if not net:
        stats.not_ip += 1
        return None
    version = net[0] >> 4
    if version == 4:
        if len(net) < 20:
            stats.truncated += 1
            return None
        ihl = (net[0] & 0x0F) * 4
        total = (net[2] << 8) | net[3]
        if ihl < 20 or len(net) < ihl:
            stats.truncated += 1
            return None
        if total < ihl:
            stats.truncated += 1
            return None
        if len(net) < total:
            stats.truncated += 1
            return None
        proto = net[9]
        src_ip, dst_ip = net[12:16], net[16:20]
        body = net[ihl:total]
        flags_off = (net[6] << 8) | net[7]
        more, offset = bool(flags_off & 0x2000), (flags_off & 0x1FFF) * 8
        if more or offset:
            whole = frags.add((4, src_ip, dst_ip, net[4:6], proto), offset, more, body)
            if whole is None:
                stats.fragments_pending += 1
                return None
            body = whole
        if proto != 17:
            stats.not_udp += 1
            return None
        src = _ip_text(bytes(src_ip))
        dst = _ip_text(bytes(dst_ip))
    elif version == 6:
        if len(net) < 40:
            stats.truncated += 1
            return None
        plen = (net[4] << 8) | net[5]
        if len(net) < 40 + plen:
            stats.truncated += 1
            return None
        nxt = net[6]
        src_ip, dst_ip = net[8:24], net[24:40]
        body = net[40:40 + plen]
        while nxt in _IPV6_EXT or nxt == 44:
            if len(body) < 8:
                stats.truncated += 1
                return None
            if nxt == 44:
                off_m = (body[2] << 8) | body[3]
                nh = body[0]
                whole = frags.add((6, src_ip, dst_ip, body[4:8], nh), off_m & 0xFFF8,
                                  bool(off_m & 1), body[8:])
                if whole is None:
                    stats.fragments_pending += 1
                    return None
                nxt, body = nh, whole
                continue
            hlen = (body[1] + 2) * 4 if nxt == 51 else (body[1] + 1) * 8
            nxt, body = body[0], body[hlen:]
        if nxt != 17:
            stats.not_udp += 1
            return None
        src = _ip_text(bytes(src_ip))
        dst = _ip_text(bytes(dst_ip))
    else:
        stats.not_ip += 1
        return None
    if len(body) < 8:
        stats.truncated += 1
        return None
    sport, dport, ulen = struct.unpack_from("!HHH", body)
    if ulen < 8 or ulen > len(body):
        stats.truncated += 1
        return None
    return (src, sport), (dst, dport), bytes(body[8:ulen])


# --- reading: file formats --------------------------------------------------------------------

class _Record(NamedTuple):
    time: float
    linktype: int
    data: bytes
    origlen: int


def _read_classic(buf: memoryview, name: str) -> Iterator[_Record]:
    magic_le = int.from_bytes(buf[:4], "little")
    if magic_le in (_PCAP_MAGIC_US, _PCAP_MAGIC_NS):
        endian = "<"
        magic = magic_le
    else:
        endian = ">"
        magic = int.from_bytes(buf[:4], "big")
    if len(buf) < 24:
        raise PcapError(f"{name}: truncated pcap file header")
    linktype = struct.unpack_from(endian + "I", buf, 20)[0] & 0x0FFFFFFF
    scale = 1e-9 if magic == _PCAP_MAGIC_NS else 1e-6
    rec = struct.Struct(endian + "IIII")
    pos, n = 24, len(buf)
    while pos < n:
        if pos + 16 > n:
            raise PcapError(f"{name}: truncated record header at offset {pos}")
        sec, frac, caplen, origlen = rec.unpack_from(buf, pos)
        end = pos + 16 + caplen
        if end > n:
            raise PcapError(f"{name}: record at offset {pos} claims {caplen} bytes, "
                            f"only {n - pos - 16} left")
        yield _Record(sec + frac * scale, linktype, bytes(buf[pos + 16:end]), origlen)
        pos = end


def _read_pcapng(buf: memoryview, name: str) -> Iterator[_Record]:
    pos, n = 0, len(buf)
    endian = "<"
    interfaces: list[tuple[int, float, float, int]] = []   # linktype, scale, offset, snaplen
    while pos < n:
        if pos + 12 > n:
            raise PcapError(f"{name}: truncated block header at offset {pos}")
        btype = int.from_bytes(buf[pos:pos + 4], "little")
        if btype == _PCAPNG_SHB:
            bom = buf[pos + 8:pos + 12].tobytes()
            if bom == b"\x4d\x3c\x2b\x1a":
                endian = "<"
            elif bom == b"\x1a\x2b\x3c\x4d":
                endian = ">"
            else:
                raise PcapError(f"{name}: bad pcapng byte-order magic at offset {pos + 8}")
            interfaces = []
        btype, blen = struct.unpack_from(endian + "II", buf, pos)
        if blen < 12 or blen % 4 or pos + blen > n:
            raise PcapError(f"{name}: bad block length {blen} at offset {pos}")
        body = buf[pos + 8:pos + blen - 4]
        if btype == 1:  # interface description
            if len(body) < 8:
                raise PcapError(f"{name}: truncated interface block at offset {pos}")
            linktype, _, snaplen = struct.unpack_from(endian + "HHI", body)
            scale, tsoff = 1e-6, 0.0
            opos = 8
            while opos + 4 <= len(body):
                code, olen = struct.unpack_from(endian + "HH", body, opos)
                if code == 0:
                    break
                val = body[opos + 4:opos + 4 + olen]
                if len(val) < olen:
                    raise PcapError(f"{name}: interface option {code} at offset "
                                    f"{pos + 8 + opos} runs past its block")
                if code == 9 and olen >= 1:
                    r = val[0]
                    scale = 2.0 ** -(r & 0x7F) if r & 0x80 else 10.0 ** -r
                elif code == 14 and olen >= 8:
                    tsoff = float(struct.unpack_from(endian + "q", val)[0])
                opos += 4 + ((olen + 3) & ~3)
            interfaces.append((linktype, scale, tsoff, snaplen))
        elif btype in (6, 2):  # enhanced / obsolete packet block
            if btype == 6:
                if len(body) < 20:
                    raise PcapError(f"{name}: truncated packet block at offset {pos}")
                iface, hi, lo, caplen, origlen = struct.unpack_from(endian + "IIIII", body)
            else:
                if len(body) < 20:
                    raise PcapError(f"{name}: truncated packet block at offset {pos}")
                iface, _, hi, lo, caplen, origlen = struct.unpack_from(endian + "HHIIII", body)
            if iface >= len(interfaces):
                raise PcapError(f"{name}: packet block at offset {pos} names interface {iface}, "
                                f"only {len(interfaces)} declared")
            if 20 + caplen > len(body):
                raise PcapError(f"{name}: packet block at offset {pos} overruns its block")
            linktype, scale, tsoff, _ = interfaces[iface]
            yield _Record(((hi << 32) | lo) * scale + tsoff, linktype,
                          bytes(body[20:20 + caplen]), origlen)
        elif btype == 3:  # simple packet block
            if not interfaces:
                raise PcapError(f"{name}: simple packet block at offset {pos} before any interface")
            if len(body) < 4:
                raise PcapError(f"{name}: truncated simple packet block at offset {pos}")
            origlen = struct.unpack_from(endian + "I", body)[0]
            linktype, _, _, snaplen = interfaces[0]
            caplen = min(origlen, snaplen or origlen, len(body) - 4)
            yield _Record(0.0, linktype, bytes(body[4:4 + caplen]), origlen)
        pos += blen


def _records(buf: memoryview, name: str) -> Iterator[_Record]:
    if len(buf) < 4:
        raise PcapError(f"{name}: too short to be a capture file ({len(buf)} bytes)")
    head = int.from_bytes(buf[:4], "little")
    if head == _PCAPNG_SHB:
        return _read_pcapng(buf, name)
    if head in (_PCAP_MAGIC_US, _PCAP_MAGIC_NS) or int.from_bytes(buf[:4], "big") in (
            _PCAP_MAGIC_US, _PCAP_MAGIC_NS):
        return _read_classic(buf, name)
    raise PcapError(f"{name}: not a pcap or pcapng file (magic {bytes(buf[:4]).hex()})")


def _load(source: str | os.PathLike | bytes | BinaryIO) -> tuple[memoryview, str]:
    """The capture's bytes and a name for messages; files are memory-mapped, not read."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return memoryview(bytes(source)), "<capture>"
    if hasattr(source, "read"):
        return memoryview(source.read()), getattr(source, "name", "<capture>")
    path = Path(source)
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return memoryview(b""), str(path)
        return memoryview(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)), str(path)


class PcapReader:
    """Iterate the UDP datagrams of a pcap/pcapng capture; ``stats`` counts everything else.

    ``ports``: keep only datagrams whose source or destination port is in it (None = all).
    """

    def __init__(self, source: str | os.PathLike | bytes | BinaryIO,
                 ports: Iterable[int] | None = None):
        self._buf, self.name = _load(source)
        self.ports = None if ports is None else frozenset(int(p) for p in ports)
        self.stats = CaptureStats()

    def __iter__(self) -> Iterator[Datagram]:
        stats = self.stats
        frags = _Reassembler()
        ports = self.ports
        for rec in _records(self._buf, self.name):
            stats.packets += 1
            try:
                net = _strip_link(rec.linktype, rec.data)
            except KeyError:
                stats.unknown_linktype += 1
                continue
            if net is None:
                stats.not_ip += 1
                continue
            got = _udp_from_ip(net[1], stats, frags)
            if got is None:
                continue
            src, dst, payload = got
            if ports is not None and src[1] not in ports and dst[1] not in ports:
                stats.filtered_port += 1
                continue
            stats.udp += 1
            yield Datagram(rec.time, src, dst, payload)
        stats.fragments_pending = sum(len(v) for v in frags.pending.values())


def read_pcap(source: str | os.PathLike | bytes | BinaryIO,
              ports: Iterable[int] | None = None) -> list[Datagram]:
    """All UDP datagrams of a capture (optionally only those to/from ``ports``)."""
    return list(PcapReader(source, ports))


# --- vectorised mini-frame reader ---------------------------------------------------------------

@dataclass
class MiniFrameBatch:
    """Voice mini frames of a capture as numpy columns, plus everything else decoded one by one.

    ``others`` holds ``(Datagram, frame)`` pairs for datagrams on the ports that are not mini
    frames on the fast layout (full frames, trunk frames, IPv6 ...); ``errors`` holds
    ``(Datagram, DecodeError)`` for the ones that failed to decode.
    """

    time: np.ndarray
    src_ip: np.ndarray           # uint32, IPv4 address
    src_port: np.ndarray
    dst_ip: np.ndarray
    dst_port: np.ndarray
    source_call: np.ndarray
    timestamp: np.ndarray
    payload_offset: np.ndarray   # into ``buffer``
    payload_length: np.ndarray
    buffer: np.ndarray = field(repr=False)
    others: list[tuple[Datagram, Frame]] = field(default_factory=list)
    errors: list[tuple[Datagram, DecodeError]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.time)

    def payload(self, i: int) -> bytes:
        """Payload bytes of mini frame ``i``."""
        o = int(self.payload_offset[i])
        return self.buffer[o:o + int(self.payload_length[i])].tobytes()

    def frame(self, i: int) -> MiniFrame:
        """Mini frame ``i`` as a MiniFrame object."""
        return MiniFrame(int(self.source_call[i]), int(self.timestamp[i]), self.payload(i))


class _Columns(NamedTuple):
    """The column fields of MiniFrameBatch, in its field order."""

    time: np.ndarray
    src_ip: np.ndarray
    src_port: np.ndarray
    dst_ip: np.ndarray
    dst_port: np.ndarray
    source_call: np.ndarray
    timestamp: np.ndarray
    payload_offset: np.ndarray
    payload_length: np.ndarray


def _record_runs(buf: np.ndarray, endian: str) -> list[tuple[int, int, int]]:
    """``(offset, stride, count)`` runs of equal-size records covering a classic pcap, found
    with numpy so the Python loop runs once per run rather than once per packet."""
    n = len(buf)
    runs: list[tuple[int, int, int]] = []
    pos = 24
    probe = 1024
    while pos < n:
        if pos + 16 > n:
            raise PcapError(f"truncated record header at offset {pos}")
        caplen = int(_gather_u32(buf, np.array([pos + 8]), endian)[0])
        stride = 16 + caplen
        if pos + stride > n:
            raise PcapError(f"record at offset {pos} claims {caplen} bytes, only {n - pos - 16} left")
        window = min((n - pos) // stride, probe)
        # caplen fields of the next ``window`` equally spaced records, as strided views
        end = pos + stride * window
        b = [buf[pos + 8 + k:end:stride].astype(np.uint32) for k in range(4)]
        lens = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) if endian == "<" else \
            ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3])
        bad = np.flatnonzero(lens != caplen)
        run = int(bad[0]) if len(bad) else window
        probe = probe * 4 if run == window else 1024
        if runs and runs[-1][1] == stride and runs[-1][0] + runs[-1][1] * runs[-1][2] == pos:
            runs[-1] = (runs[-1][0], stride, runs[-1][2] + run)     # extend the previous run
        else:
            runs.append((pos, stride, run))
        pos += stride * run
    return runs


def _gather_u32(buf: np.ndarray, at: np.ndarray, endian: str) -> np.ndarray:
    b = [buf[at + k].astype(np.uint32) for k in range(4)]
    if endian == "<":
        return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)
    return (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]


class _Rows:
    """Fixed-offset field access for a group of records. The first ``width`` bytes of every
    record are copied once into a compact 2-D array (a strided slice when the records are
    equally spaced, one fancy-index gather otherwise; bytes past a short record or the buffer
    end are filler, masked out later by the caller's length checks)."""

    def __init__(self, buf: np.ndarray, starts: np.ndarray, stride: int | None, width: int):
        self.starts = starts
        if stride is not None:
            first, count = int(starts[0]), len(starts)
            rows = buf[first:first + stride * count].reshape(count, stride)
            self.m = np.zeros((count, width), np.uint8)
            w = min(width, stride)
            self.m[:, :w] = rows[:, :w]
        else:
            idx = np.minimum(starts[:, None] + np.arange(width), len(buf) - 1)
            self.m = buf[idx]

    def col(self, off: int) -> np.ndarray:
        return self.m[:, off]

    def be16(self, off: int) -> np.ndarray:
        return (self.m[:, off].astype(np.uint16) << 8) | self.m[:, off + 1]

    def u32(self, off: int, endian: str = ">") -> np.ndarray:
        return np.ascontiguousarray(self.m[:, off:off + 4]).view(endian + "u4")[:, 0]


def _classify(rows: _Rows, endian: str, scale: float, linktype: int, linkoff: int,
              port_arr: np.ndarray | None) -> tuple[_Columns, np.ndarray]:
    """Columns of the fast mini frames in ``rows`` and the mask of rows needing the slow path
    (anything but Ethernet/SLL/raw + IPv4 without options + unfragmented UDP + mini frame)."""
    caplen = rows.u32(8, endian).astype(np.int64)
    p = 16 + linkoff                  # IPv4 header
    u = p + 20                        # UDP header
    ok = caplen >= linkoff + 32
    if linktype == LINKTYPE_ETHERNET:
        ok &= rows.be16(16 + 12) == 0x0800
    elif linktype == LINKTYPE_LINUX_SLL:
        ok &= rows.be16(16 + 14) == 0x0800
    total = rows.be16(p + 2).astype(np.int64)
    ok &= (rows.col(p) == 0x45) & (rows.col(p + 9) == 17) & ((rows.be16(p + 6) & 0x3FFF) == 0)
    ok &= (total >= 32) & (linkoff + total <= caplen)
    sport, dport = rows.be16(u), rows.be16(u + 2)
    ulen = rows.be16(u + 4).astype(np.int64)
    ok &= (ulen >= 12) & (ulen <= total - 20)
    on_port = (np.isin(sport, port_arr) | np.isin(dport, port_arr)) if port_arr is not None \
        else np.ones(len(ok), bool)
    w0 = rows.be16(u + 8)
    mini = ok & on_port & (w0 != 0) & (w0 < 0x8000)
    # not a fast mini frame, and not provably a UDP datagram on another port
    slow = ~mini & ~(ok & ~on_port)
    sel = np.flatnonzero(mini)
    cols = _Columns(
        time=rows.u32(0, endian)[sel] + rows.u32(4, endian)[sel].astype(np.float64) * scale,
        src_ip=rows.u32(p + 12)[sel], src_port=sport[sel],
        dst_ip=rows.u32(p + 16)[sel], dst_port=dport[sel],
        source_call=w0[sel], timestamp=rows.be16(u + 10)[sel],
        payload_offset=rows.starts[sel] + (u + 12), payload_length=ulen[sel] - 12,
    )
    return cols, slow


def _empty_columns() -> _Columns:
    u16, u32, i64 = np.zeros(0, np.uint16), np.zeros(0, np.uint32), np.zeros(0, np.int64)
    return _Columns(time=np.zeros(0), src_ip=u32, src_port=u16, dst_ip=u32, dst_port=u16,
                    source_call=u16, timestamp=u16, payload_offset=i64, payload_length=i64)


def read_mini_frames(source: str | os.PathLike | bytes, ports: Iterable[int] | None = (DEFAULT_PORT,)
                     ) -> MiniFrameBatch:
    """Decode every IAX2 datagram of a capture, voice mini frames column-wise with numpy.

    Classic pcap with Ethernet, Linux cooked or raw IPv4 framing takes the vectorised path
    (runs of equal-size records are processed as 2-D arrays); pcapng and anything unusual
    (IPv6, IP options, fragments, full/trunk frames) goes through :class:`PcapReader` and
    :func:`decode` into ``others``/``errors``. ``ports`` as in :class:`PcapReader`.
    """
    mv, name = _load(source)
    buf = np.frombuffer(mv, dtype=np.uint8)
    portset = None if ports is None else frozenset(int(p) for p in ports)
    magic = bytes(mv[:4])
    classic = {b"\xd4\xc3\xb2\xa1": ("<", 1e-6), b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
               b"\xa1\xb2\xc3\xd4": (">", 1e-6), b"\xa1\xb2\x3c\x4d": (">", 1e-9)}.get(magic)
    linkoff = None
    if classic is not None and len(buf) >= 24:
        endian, scale = classic
        linktype = int(_gather_u32(buf, np.array([20]), endian)[0]) & 0x0FFFFFFF
        linkoff = {LINKTYPE_ETHERNET: 14, LINKTYPE_LINUX_SLL: 16, LINKTYPE_RAW: 0,
                   LINKTYPE_IPV4: 0, 12: 0, 14: 0}.get(linktype)
    if linkoff is None:
        return _slow_batch(PcapReader(bytes(mv), portset))
    port_arr = None if portset is None else np.fromiter(portset, dtype=np.uint16)
    width = 16 + linkoff + 20 + 12    # record header + link + IPv4 + UDP + mini header
    groups: list[_Rows] = []
    scattered: list[np.ndarray] = []
    for start, stride, count in _record_runs(buf, endian):
        starts = start + stride * np.arange(count, dtype=np.int64)
        if count >= 64:
            groups.append(_Rows(buf, starts, stride, width))
        else:
            scattered.append(starts)
    if scattered:
        groups.append(_Rows(buf, np.concatenate(scattered), None, width))
    parts: list[_Columns] = []
    slow_starts: list[np.ndarray] = []
    for rows in groups:
        cols, slow = _classify(rows, endian, scale, linktype, linkoff, port_arr)
        parts.append(cols)
        slow_starts.append(rows.starts[slow])
    if not parts:
        merged = _empty_columns()
    elif len(parts) == 1:
        merged = parts[0]
    else:
        merged = _Columns(*(np.concatenate(column) for column in zip(*parts)))
        order = np.argsort(merged.payload_offset, kind="stable")   # back to file order
        merged = _Columns(*(column[order] for column in merged))
    batch = MiniFrameBatch(*merged, buffer=buf)
    slow_at = np.sort(np.concatenate(slow_starts)) if slow_starts else np.zeros(0, np.int64)
    if len(slow_at):
        # re-read just those records through the general reader (one code path for the rest)
        chunks = [bytes(mv[:24])]
        for r in slow_at.tolist():
            caplen = int(_gather_u32(buf, np.array([r + 8]), endian)[0])
            chunks.append(bytes(mv[r:r + 16 + caplen]))
        _fill_others(batch, PcapReader(b"".join(chunks), portset))
    return batch


def _fill_others(batch: MiniFrameBatch, reader: PcapReader) -> None:
    for dg in reader:
        try:
            batch.others.append((dg, decode(dg.data)))
        except DecodeError as err:
            batch.errors.append((dg, err))


def _slow_batch(reader: PcapReader) -> MiniFrameBatch:
    """Build a batch with the general reader (pcapng, unusual framing): IPv4 mini frames go
    to the columns, everything else to ``others``/``errors``."""
    cols: list[list] = [[] for _ in range(8)]
    payloads: list[bytes] = []
    others: list[tuple[Datagram, Frame]] = []
    errors: list[tuple[Datagram, DecodeError]] = []
    offset = 0
    for dg in reader:
        try:
            frame = decode(dg.data)
        except DecodeError as err:
            errors.append((dg, err))
            continue
        if isinstance(frame, MiniFrame) and ":" not in dg.src[0] and ":" not in dg.dst[0]:
            for col, val in zip(cols, (dg.time, int(ipaddress.IPv4Address(dg.src[0])), dg.src[1],
                                       int(ipaddress.IPv4Address(dg.dst[0])), dg.dst[1],
                                       frame.source_call, frame.timestamp, offset)):
                col.append(val)
            payloads.append(frame.payload)
            offset += len(frame.payload)
        else:
            others.append((dg, frame))
    return MiniFrameBatch(
        np.array(cols[0], np.float64), np.array(cols[1], np.uint32), np.array(cols[2], np.uint16),
        np.array(cols[3], np.uint32), np.array(cols[4], np.uint16), np.array(cols[5], np.uint16),
        np.array(cols[6], np.uint16), np.array(cols[7], np.int64),
        np.array([len(p) for p in payloads], np.int64),
        np.frombuffer(b"".join(payloads), np.uint8), others, errors)


# --- views used by ``iaxsim pcap`` / ``iaxsim decode`` ------------------------------------------

def _addr(a: tuple[str, int] | None) -> str | None:
    if a is None:
        return None
    host, port = a
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def iter_iax2(source: str | os.PathLike | bytes | BinaryIO, ports: Iterable[int] | None = (DEFAULT_PORT,)
              ) -> tuple[PcapReader, Iterator[tuple[Datagram, Frame | DecodeError]]]:
    """The reader (for its stats) and an iterator of ``(datagram, frame or DecodeError)``."""
    reader = PcapReader(source, ports)

    def gen() -> Iterator[tuple[Datagram, Frame | DecodeError]]:
        for dg in reader:
            try:
                yield dg, decode(dg.data)
            except DecodeError as err:
                yield dg, err
    return reader, gen()


def record_json(frame: Frame, dg: Datagram | None = None) -> dict:
    """One JSON Lines object: ``time``, ``src``, ``dst`` ("ip:port") then the frame's fields."""
    out = {"time": dg.time if dg else None, "src": _addr(dg.src) if dg else None,
           "dst": _addr(dg.dst) if dg else None}
    out.update(frame.to_json())
    return out


TABLE_HEADER = ("time", "source -> destination", "kind", "type/subclass", "calls", "seq o/i", "details")


def table_row(frame: Frame, dg: Datagram | None = None, t0: float = 0.0) -> tuple[str, ...]:
    """Columns of the human table for one frame."""
    when = f"{dg.time - t0:.6f}" if dg else "-"
    where = f"{_addr(dg.src)} -> {_addr(dg.dst)}" if dg else "-"
    if isinstance(frame, FullFrame):
        ft = frame.frametype_name or str(int(frame.frametype))
        sub = frame.subclass_name or str(int(frame.subclass))
        calls = f"{frame.source_call}->{frame.dest_call}" + (" R" if frame.retransmitted else "")
        seq = f"{frame.oseqno}/{frame.iseqno}"
        if frame.frametype == FrameType.IAX:
            details = f"ts={frame.timestamp} " + " ".join(ie.text() for ie in frame.ies)
        else:
            details = f"ts={frame.timestamp} {len(frame.payload)} bytes"
        return (when, where, "full", f"{ft}/{sub}", calls, seq, details.rstrip())
    if isinstance(frame, TrunkFrame):
        calls = ",".join(str(e.source_call) for e in frame.entries)
        return (when, where, "trunk", "-", calls, "-",
                f"ts={frame.timestamp} {len(frame.entries)} entries"
                f"{' with' if frame.timestamps else ' without'} timestamps")
    marker = isinstance(frame, VideoFrame) and frame.marker
    return (when, where, frame.kind, "-", str(frame.source_call), "-",
            f"ts={frame.timestamp} {len(frame.payload)} bytes" + (" marker" if marker else ""))
