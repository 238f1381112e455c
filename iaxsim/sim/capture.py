"""Export the datagrams a simulation exchanged as a classic pcap (Ethernet/IPv4/UDP).

Uses the codec package's pcap writer when it offers one for UDP datagrams; otherwise frames
each datagram itself (libpcap format, link type 1, valid IPv4 header checksum, UDP checksum 0
= not computed, which IPv4 allows).
"""
from __future__ import annotations

import socket
import struct
from pathlib import Path
from typing import Iterable

Captured = tuple[float, str, int, str, int, bytes]  # time, src ip, src port, dst ip, dst port, data

_PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


def _ip_checksum(header: bytes) -> int:
    total = sum(struct.unpack("!10H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_packet(src: str, sport: int, dst: str, dport: int, payload: bytes, ident: int = 0) -> bytes:
    """An Ethernet II frame carrying one IPv4/UDP datagram."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident & 0xFFFF, 0x4000, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", _ip_checksum(ip)) + ip[12:]
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + udp


def write_pcap(path: str | Path, datagrams: Iterable[Captured]) -> int:
    """Write datagrams (sorted by time) to ``path``; returns how many were written.

    Simulated time 0 is written as the Unix epoch.
    """
    rows = sorted(datagrams, key=lambda d: d[0])
    with open(path, "wb") as fh:
        fh.write(_PCAP_HEADER)
        for n, (t, src, sport, dst, dport, data) in enumerate(rows):
            pkt = udp_packet(src, sport, dst, dport, data, n)
            sec = int(t)
            usec = int(round((t - sec) * 1e6))
            if usec >= 1_000_000:
                sec, usec = sec + 1, usec - 1_000_000
            fh.write(struct.pack("<IIII", sec, usec, len(pkt), len(pkt)))
            fh.write(pkt)
    return len(rows)
