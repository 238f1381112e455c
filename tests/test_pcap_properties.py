"""Property tests for capture reading: damaged files raise only PcapError, and the vectorised
mini-frame reader sees exactly the datagrams the general reader sees."""
from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iaxsim.iax2 import FullFrame, IAXSubclass, MiniFrame
from iaxsim.iax2.pcap import Datagram, PcapError, read_mini_frames, read_pcap, write_pcap

SETTINGS = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])

addresses = st.sampled_from([("10.0.0.1", 4569), ("10.0.0.2", 4569), ("10.0.0.3", 5060),
                             ("2001:db8::1", 4569)])
payloads = st.one_of(
    st.builds(lambda c, t, n: MiniFrame(c, t, b"\xff" * n).encode(),
              st.integers(1, 0x7FFF), st.integers(0, 0xFFFF), st.sampled_from([0, 20, 160])),
    st.builds(lambda c: FullFrame(source_call=c, subclass=IAXSubclass.PING).encode(),
              st.integers(0, 0x7FFF)),
    st.binary(max_size=12),
)


@st.composite
def captures(draw) -> bytes:
    dgs = []
    for i in range(draw(st.integers(0, 12))):
        src = draw(addresses)
        dst = ("10.0.0.9", 4569) if ":" not in src[0] else ("2001:db8::9", 4569)
        dgs.append(Datagram(1_700_000_000 + i * 0.02, src, dst, draw(payloads)))
    buf = io.BytesIO()
    write_pcap(buf, dgs)
    return buf.getvalue()


def _pcapng_of(classic: bytes) -> bytes:
    """Re-wrap a classic little-endian Ethernet pcap as pcapng (SHB, IDB, EPBs)."""
    import struct

    def block(btype: int, body: bytes) -> bytes:
        body += b"\x00" * (-len(body) % 4)
        return struct.pack("<II", btype, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))

    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", 1, 0, 65535))
    pos = 24
    while pos < len(classic):
        sec, usec, caplen, origlen = struct.unpack_from("<IIII", classic, pos)
        ts = sec * 1_000_000 + usec
        out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, caplen, origlen)
                     + classic[pos + 16:pos + 16 + caplen])
        pos += 16 + caplen
    return out


def _mutate(data: bytes, draw) -> bytes:
    raw = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "extend", "overwrite"]))
        if op == "flip" and raw:
            pos = draw(st.integers(0, len(raw) - 1))
            raw[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            raw = raw[:draw(st.integers(0, len(raw)))]
        elif op == "extend":
            raw += draw(st.binary(min_size=1, max_size=24))
        elif raw:
            pos = draw(st.integers(0, len(raw) - 1))
            raw[pos] = draw(st.integers(0, 255))
    return bytes(raw)


def _same_datagrams(data: bytes) -> None:
    """read_mini_frames and read_pcap agree (or both refuse the file with PcapError)."""
    try:
        general = read_pcap(data, ports=[4569])
    except PcapError:
        try:
            read_mini_frames(data)
        except PcapError:
            return
        raise AssertionError("read_mini_frames accepted a file read_pcap refused")
    batch = read_mini_frames(data)
    seen = [batch.frame(i).encode() for i in range(len(batch))]
    seen += [d.data for d, _ in batch.others] + [d.data for d, _ in batch.errors]
    assert sorted(seen) == sorted(d.data for d in general)


@SETTINGS
@given(captures())
def test_fast_and_general_readers_agree(cap):
    _same_datagrams(cap)
    _same_datagrams(_pcapng_of(cap))


@SETTINGS
@given(captures(), st.data())
def test_damaged_captures_raise_only_pcap_error(cap, data):
    for blob in (cap, _pcapng_of(cap)):
        damaged = _mutate(blob, data.draw)
        try:
            read_pcap(damaged)
        except PcapError as err:
            assert str(err)
        _same_datagrams(damaged)


@SETTINGS
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_pcap_error(blob):
    for prefix in (b"", b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + bytes(12) + b"\x01\x00\x00\x00",
                   b"\x0a\x0d\x0d\x0a"):
        try:
            read_pcap(prefix + blob)
        except PcapError:
            pass
