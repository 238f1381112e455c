"""pcap/pcapng reading and writing, with capture bytes laid out by hand in this file
(libpcap and pcapng formats, Ethernet/SLL/SLL2/raw/loopback framing, IPv4/IPv6/UDP)."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from iaxsim.iax2 import FullFrame, IAXSubclass, IE, IEType, MiniFrame, decode
from iaxsim.iax2.pcap import (Datagram, PcapError, PcapReader, read_mini_frames, read_pcap,
                              write_pcap)

PAYLOAD = bytes.fromhex("0005" "1234") + b"\xff" * 8          # a mini frame


def ipv4_udp(payload: bytes, sport=4569, dport=4569, src=b"\x0a\x00\x00\x01",
             dst=b"\x0a\x00\x00\x02", ident=1, flags_off=0x4000, proto=17, udp=True) -> bytes:
    body = (struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload) if udp else payload
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), ident, flags_off, 64, proto, 0,
                       src, dst) + body


def ipv6_udp(payload: bytes, sport=4569, dport=4569, ext: bytes = b"", first_nh=17) -> bytes:
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    src = bytes(15) + b"\x01"
    dst = bytes(15) + b"\x02"
    return struct.pack("!IHBB", 0x60000000, len(ext) + len(udp), first_nh, 64) + src + dst + ext + udp


def eth(net: bytes, ethertype=0x0800, vlan=False) -> bytes:
    tag = struct.pack("!HH", 0x8100, 10) if vlan else b""
    return b"\x02" * 6 + b"\x04" * 6 + tag + struct.pack("!H", ethertype) + net


def classic(linktype: int, packets: list[bytes], big=False, nano=False, t=1_700_000_000) -> bytes:
    e = ">" if big else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for i, p in enumerate(packets):
        out += struct.pack(e + "IIII", t + i, 500 if not nano else 500_000, len(p), len(p)) + p
    return out


def pcapng(linktype: int, packets: list[bytes], tsresol: int | None = None, big=False) -> bytes:
    e = ">" if big else "<"

    def block(btype: int, body: bytes) -> bytes:
        body += b"\x00" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)

    shb = block(0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    opts = b""
    if tsresol is not None:
        opts = struct.pack(e + "HH", 9, 1) + bytes([tsresol]) + b"\x00" * 3 + struct.pack(e + "HH", 0, 0)
    idb = block(1, struct.pack(e + "HHI", linktype, 0, 65535) + opts)
    out = shb + idb
    for i, p in enumerate(packets):
        ticks = (1_700_000_000 + i) * (10 ** (tsresol or 6))
        out += block(6, struct.pack(e + "IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, len(p), len(p)) + p)
    return out


def test_writer_layout_is_classic_ethernet_pcap(tmp_path):
    path = tmp_path / "w.pcap"
    n = write_pcap(path, [Datagram(1_700_000_000.25, ("10.0.0.1", 4569), ("10.0.0.2", 4570), PAYLOAD)])
    assert n == 1
    raw = path.read_bytes()
    assert raw[:24] == bytes.fromhex("d4c3b2a1" "0200" "0400" "00000000" "00000000" "ffff0000" "01000000")
    sec, usec, caplen, origlen = struct.unpack_from("<IIII", raw, 24)
    assert (sec, usec) == (1_700_000_000, 250_000)
    assert caplen == origlen == 14 + 20 + 8 + len(PAYLOAD) == len(raw) - 40
    frame = raw[40:]
    assert frame[12:14] == b"\x08\x00"
    ip = frame[14:34]
    assert ip[0] == 0x45 and ip[9] == 17 and ip[12:16] == bytes([10, 0, 0, 1])
    # IPv4 header checksum: the one's-complement sum of the header words is 0xFFFF
    s = sum(struct.unpack("!10H", ip))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    assert s == 0xFFFF
    assert struct.unpack("!HHH", frame[34:40]) == (4569, 4570, 8 + len(PAYLOAD))
    assert frame[42:] == PAYLOAD


def test_write_read_round_trip_ipv4_ipv6(tmp_path):
    dgs = [Datagram(1_700_000_000.0 + i / 50, ("10.0.0.1", 4569), ("10.0.0.2", 4569),
                    MiniFrame(5, i, b"\xff" * 160).encode()) for i in range(5)]
    dgs.append(Datagram(1_700_000_001.5, ("2001:db8::1", 4569), ("2001:db8::2", 40000), b"\x00\x07\x00\x01ab"))
    path = tmp_path / "rt.pcap"
    write_pcap(path, dgs)
    back = read_pcap(path)
    assert [(d.src, d.dst, d.data) for d in back] == [(d.src, d.dst, d.data) for d in dgs]
    assert all(abs(a.time - b.time) < 1e-6 for a, b in zip(back, dgs))


@pytest.mark.parametrize("linktype,packet", [
    (1, eth(ipv4_udp(PAYLOAD))),
    (1, eth(ipv4_udp(PAYLOAD), vlan=True)),
    (113, b"\x00\x00\x00\x01\x00\x06" + b"\x02" * 6 + b"\x00\x00" + b"\x08\x00" + ipv4_udp(PAYLOAD)),
    (276, b"\x08\x00\x00\x00" + b"\x00\x00\x00\x01" + b"\x00\x01\x00\x06" + b"\x02" * 6 + b"\x00\x00"
     + ipv4_udp(PAYLOAD)),
    (101, ipv4_udp(PAYLOAD)),
    (228, ipv4_udp(PAYLOAD)),
    (0, struct.pack("=I", 2) + ipv4_udp(PAYLOAD)),
    (108, struct.pack("!I", 2) + ipv4_udp(PAYLOAD)),
])
def test_link_types(linktype, packet):
    for data in (classic(linktype, [packet]), classic(linktype, [packet], big=True),
                 pcapng(linktype, [packet]), pcapng(linktype, [packet], big=True)):
        got = read_pcap(data)
        assert got == [Datagram(got[0].time, ("10.0.0.1", 4569), ("10.0.0.2", 4569), PAYLOAD)]
        assert abs(got[0].time - 1_700_000_000.0005) < 1e-6 or abs(got[0].time - 1_700_000_000) < 1e-6


def test_ipv6_with_extension_header():
    hop_by_hop = bytes([17, 0]) + b"\x01\x04\x00\x00\x00\x00"   # next=UDP, len 0 (8 bytes), PadN
    pkt = eth(ipv6_udp(PAYLOAD, ext=hop_by_hop, first_nh=0), ethertype=0x86DD)
    (d,) = read_pcap(classic(1, [pkt]))
    assert d.src == ("::1", 4569) and d.dst == ("::2", 4569) and d.data == PAYLOAD


def test_nanosecond_and_tsresol_timestamps():
    pkt = eth(ipv4_udp(PAYLOAD))
    (a,) = read_pcap(classic(1, [pkt], nano=True))
    assert abs(a.time - 1_700_000_000.0005) < 1e-6
    (b,) = read_pcap(pcapng(1, [pkt], tsresol=9))
    assert abs(b.time - 1_700_000_000) < 1e-6


def test_ipv4_fragments_reassembled():
    payload = b"\x80\x01" + b"x" * 30
    udp = struct.pack("!HHHH", 4569, 4569, 8 + len(payload), 0) + payload
    first, second = udp[:16], udp[16:]
    hdr = lambda body, fo: struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 7, fo, 64, 17, 0,
                                       b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02") + body
    cap = classic(1, [eth(hdr(second, 2)), eth(hdr(first, 0x2000))])   # out of order
    (d,) = read_pcap(cap)
    assert d.data == payload


def test_non_udp_and_other_ports_are_counted_not_lost():
    pkts = [eth(ipv4_udp(PAYLOAD)), eth(ipv4_udp(b"tcp?", proto=6, udp=False)),
            eth(b"\x00" * 28, ethertype=0x0806), eth(ipv4_udp(PAYLOAD, sport=5060, dport=5060))]
    reader = PcapReader(classic(1, pkts), ports=[4569])
    got = list(reader)
    assert len(got) == 1
    st = reader.stats
    assert (st.packets, st.udp, st.not_udp, st.not_ip, st.filtered_port) == (4, 1, 1, 1, 1)
    assert read_pcap(classic(1, pkts), ports=[5060])[0].src == ("10.0.0.1", 5060)


@pytest.mark.parametrize("data,words", [
    (b"\x00\x01", "too short"),
    (b"GIF89a" + b"\x00" * 30, "not a pcap"),
    (classic(1, [eth(ipv4_udp(PAYLOAD))])[:-3], "claims"),
    (classic(1, [eth(ipv4_udp(PAYLOAD))]) + b"\x01\x02", "truncated record header"),
])
def test_bad_captures_raise_pcap_error(data, words):
    with pytest.raises(PcapError, match=words):
        read_pcap(data)


def test_mini_frame_batch_matches_general_reader(tmp_path):
    new = FullFrame(source_call=5, timestamp=3, subclass=IAXSubclass.NEW,
                    ies=[IE(IEType.CALLED_NUMBER, "6000")]).encode()
    dgs = [Datagram(1_700_000_000 + i * 0.02, ("10.0.0.1", 4569), ("10.0.0.2", 4569),
                    MiniFrame(5, (i * 20) & 0xFFFF, bytes([i % 256]) * 160).encode()) for i in range(300)]
    dgs.insert(10, Datagram(1_700_000_000.001, ("10.0.0.1", 4569), ("10.0.0.2", 4569), new))
    dgs.insert(20, Datagram(1_700_000_000.002, ("10.0.0.1", 5060), ("10.0.0.2", 5060), b"SIP/2.0"))
    dgs.insert(30, Datagram(1_700_000_000.003, ("10.0.0.1", 4569), ("10.0.0.2", 4569), b"\x80"))
    dgs.insert(40, Datagram(1_700_000_000.004, ("10.0.0.1", 4569), ("10.0.0.2", 4569),
                            MiniFrame(9, 1, b"short").encode()))
    path = tmp_path / "m.pcap"
    write_pcap(path, dgs)
    batch = read_mini_frames(path)
    assert len(batch) == 301
    assert [int(c) for c in batch.source_call[:3]] == [5, 5, 5]
    assert batch.frame(0) == MiniFrame(5, 0, b"\x00" * 160)
    assert batch.frame(300) == MiniFrame(5, (299 * 20) & 0xFFFF, bytes([299 % 256]) * 160)
    # dgs[40] is the 38th mini frame (three non-mini datagrams come before it)
    assert batch.frame(37) == MiniFrame(9, 1, b"short")
    assert int(batch.src_ip[0]) == 0x0A000001 and int(batch.dst_port[0]) == 4569
    assert np.allclose(batch.time[1] - batch.time[0], 0.02)
    assert [f for _, f in batch.others] == [decode(new)]
    assert len(batch.errors) == 1 and batch.errors[0][0].data == b"\x80"
    # same answers as the general path
    general = [d for d in read_pcap(path, ports=[4569])]
    minis = [decode(d.data) for d in general if d.data[:1] != b"\x80"]
    assert minis == [batch.frame(i) for i in range(len(batch))]


def test_pcapng_option_and_simple_block_damage_is_pcap_error():
    import struct as st

    def block(btype: int, body: bytes) -> bytes:
        body += b"\x00" * (-len(body) % 4)
        return st.pack("<II", btype, 12 + len(body)) + body + st.pack("<I", 12 + len(body))

    shb = block(0x0A0D0D0A, st.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    # if_tsoffset (code 14) claims 8 bytes but the block ends after 4
    bad_idb = block(1, st.pack("<HHI", 1, 0, 65535) + st.pack("<HH", 14, 8) + b"\x00" * 4)
    with pytest.raises(PcapError, match="option 14"):
        read_pcap(shb + bad_idb)
    idb = block(1, st.pack("<HHI", 1, 0, 65535))
    with pytest.raises(PcapError, match="simple packet block"):
        read_pcap(shb + idb + st.pack("<III", 3, 12, 12))
    # a simple packet block carries the packet without a timestamp
    pkt = eth(ipv4_udp(PAYLOAD))
    (d,) = read_pcap(shb + idb + block(3, st.pack("<I", len(pkt)) + pkt))
    assert d.data == PAYLOAD and d.time == 0.0
