"""pcap I/O against tshark: tshark reads what we write (addresses, ports, checksums, times),
and we read what tshark itself records from real UDP traffic on the loopback interface."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from iaxsim.iax2 import (IE, FrameType, FullFrame, IAXSubclass, IEType, MediaFormat, MiniFrame,
                         TrunkEntry, TrunkFrame, decode)
from iaxsim.iax2.pcap import Datagram, read_mini_frames, read_pcap, write_pcap

pytestmark = pytest.mark.tshark


def test_tshark_reads_our_pcap(tshark, tmp_path):
    dgs = [
        Datagram(1_700_000_000.125, ("192.0.2.1", 4569), ("192.0.2.2", 4569),
                 FullFrame(source_call=5, subclass=IAXSubclass.POKE).encode()),
        Datagram(1_700_000_000.5, ("2001:db8::1", 4569), ("2001:db8::2", 4569),
                 MiniFrame(5, 20, b"\xff" * 160).encode()),
        Datagram(1_700_000_001.0, ("192.0.2.1", 40000), ("192.0.2.2", 4569), b"\x00\x05\x00\x28abc"),
    ]
    path = tmp_path / "ours.pcap"
    write_pcap(path, dgs)
    res = subprocess.run(
        [tshark, "-r", str(path), "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-T", "fields", "-E",
         "separator=|", "-e", "frame.time_epoch", "-e", "ip.src", "-e", "ipv6.src", "-e",
         "ipv6.dst", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "udp.checksum.status",
         "-e", "ip.checksum.status", "-e", "iax2.packet_type", "-e", "_ws.malformed"],
        capture_output=True, text=True, timeout=60, check=True)
    rows = [line.split("|") for line in res.stdout.splitlines()]
    assert len(rows) == 3
    assert abs(float(rows[0][0]) - 1_700_000_000.125) < 1e-6
    # checksum status 1 = PROTO_CHECKSUM_E_GOOD in Wireshark
    assert rows[0][1] == "192.0.2.1" and rows[0][7] == "1" and rows[0][8] == "1"
    assert rows[1][2:4] == ["2001:db8::1", "2001:db8::2"]
    assert rows[1][6] == "1"            # IPv6 UDP checksum verified good by tshark
    assert rows[1][8] == "0"
    assert rows[2][4:6] == ["40000", "4569"] and rows[2][8] == "0"
    assert all(r[9] == "" for r in rows)  # nothing malformed


def _live_capture(tshark: str, out: Path, frames: list[bytes], fmt: str) -> tuple[tuple, tuple]:
    """Send ``frames`` over loopback UDP while tshark records them; returns (client, server)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    client.bind(("127.0.0.1", 0))
    server.settimeout(5)
    port = server.getsockname()[1]
    proc = subprocess.Popen(
        [tshark, "-i", "lo", "-f", f"udp port {port}", "-F", fmt, "-w", str(out),
         "-c", str(len(frames)), "-a", "duration:40"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        started = False
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if "Capturing on" in line:
                started = True
                break
        if not started:
            text = "".join(seen)
            if "ermission" in text and os.environ.get("IAXSIM_REQUIRE_ORACLES") != "1":
                pytest.skip(f"not allowed to capture on loopback here: {text.strip()}")
        assert started, f"tshark did not start capturing: {''.join(seen)}"
        time.sleep(0.5)   # let dumpcap settle after it reports the capture started
        for i, data in enumerate(frames):
            if i % 2:
                server.sendto(data, client.getsockname())
                assert client.recvfrom(4096)[0] == data
            else:
                client.sendto(data, ("127.0.0.1", port))
                assert server.recvfrom(4096)[0] == data
        assert proc.wait(timeout=45) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        client_addr, server_addr = client.getsockname(), server.getsockname()
        server.close()
        client.close()
    return client_addr, server_addr


FRAMES = [
    FullFrame(source_call=7, timestamp=3, subclass=IAXSubclass.NEW,
              ies=[IE(IEType.VERSION, 2), IE(IEType.CALLED_NUMBER, "6000"),
                   IE(IEType.FORMAT, MediaFormat.ULAW), IE(IEType.CALLTOKEN, b"")]).encode(),
    FullFrame(source_call=1, dest_call=7, timestamp=3, iseqno=1, subclass=IAXSubclass.CALLTOKEN,
              ies=[IE(IEType.CALLTOKEN, b"1700000000?abcdef")]).encode(),
    FullFrame(source_call=7, timestamp=40, frametype=FrameType.VOICE, subclass=MediaFormat.ULAW,
              payload=b"\xff" * 160).encode(),
    MiniFrame(9, 60, b"\x7f" * 160).encode(),
    MiniFrame(7, 80, b"\xff" * 160).encode(),
    TrunkFrame(timestamp=100, timestamps=True,
               entries=[TrunkEntry(7, b"\xff" * 160, 100), TrunkEntry(8, b"\xd5" * 160, 100)]).encode(),
]


@pytest.mark.parametrize("fmt", ["pcapng", "pcap"])
def test_read_capture_recorded_by_tshark(tshark, tmp_path, fmt):
    out = tmp_path / f"live.{fmt}"
    client, server = _live_capture(tshark, out, FRAMES, fmt)
    head = out.read_bytes()[:4]
    assert head == (b"\x0a\x0d\x0d\x0a" if fmt == "pcapng" else b"\xd4\xc3\xb2\xa1")
    got = read_pcap(out, ports=[server[1]])
    assert [d.data for d in got] == FRAMES
    for i, d in enumerate(got):
        ends = (client, server) if i % 2 == 0 else (server, client)
        assert (d.src, d.dst) == ends
    assert all(b.time >= a.time for a, b in zip(got, got[1:]))
    assert abs(got[0].time - time.time()) < 120
    assert [decode(d.data) for d in got] == [decode(f) for f in FRAMES]
    batch = read_mini_frames(out, ports=[server[1]])
    assert [batch.frame(i) for i in range(len(batch))] == [decode(FRAMES[3]), decode(FRAMES[4])]
    assert [f for _, f in batch.others] == [decode(f) for i, f in enumerate(FRAMES) if i not in (3, 4)]


def test_cli_json_matches_tshark_on_recorded_capture(tshark, tmp_path):
    from iaxsim.cli import main
    out = tmp_path / "live.pcapng"
    _, server = _live_capture(tshark, out, FRAMES[:3], "pcapng")
    res = subprocess.run([tshark, "-r", str(out), "-d", f"udp.port=={server[1]},iax2", "-T",
                          "fields", "-e", "iax2.src_call", "-e", "iax2.timestamp"],
                         capture_output=True, text=True, timeout=60, check=True)
    theirs = [tuple(map(int, line.split("\t"))) for line in res.stdout.splitlines()]
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["pcap", str(out), "--port", str(server[1]), "--json"]) == 0
    ours = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert [(o["source_call"], o["timestamp"]) for o in ours] == theirs
