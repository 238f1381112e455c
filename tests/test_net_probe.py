"""``iaxsim probe`` on loopback: PONG round trip, nothing listening, silence, one-way block;
and the ``iaxsim node`` command serving a probe from a subprocess."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

from net_helpers import ROOT, SEED, run

from iaxsim import cli
from iaxsim.iax2 import IAXSubclass, decode
from iaxsim.iax2.pcap import read_pcap
from iaxsim.iax2.engine import Endpoint
from iaxsim.net.filters import DropRemote
from iaxsim.net.probe import probe
from iaxsim.net.transport import Transport


async def _server():
    tr = Transport(Endpoint(seed=9))
    addr = await tr.bind(("127.0.0.1", 0))
    return tr, addr


def test_probe_reports_pong_round_trip():
    async def main():
        tr, addr = await _server()
        try:
            return await probe(addr, [("127.0.0.1", 0)], timeout=2), tr.endpoint.stats
        finally:
            tr.close()

    report, server_stats = run(main())
    (r,) = report.results
    assert report.reachable and r.status == "answered"
    assert 0 < r.rtt < 0.5 and r.pokes_sent == 1
    assert server_stats.pokes_answered == 1 and server_stats.dialogs_created == 0
    assert "is reachable" in report.verdict() and "PONG, round trip" in report.lines()[0]


def test_probe_says_nothing_listens_on_a_closed_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    report = run(probe(("127.0.0.1", port), [("127.0.0.1", 0)], timeout=2))
    assert [r.status for r in report.results] == ["refused"]  # ICMP port unreachable
    assert not report.reachable
    assert f"nothing listens on UDP {port}" in report.verdict()


def test_probe_says_probably_blocked_on_silence():
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # receives, never answers
    hole.bind(("127.0.0.1", 0))
    try:
        t0 = time.monotonic()
        report = run(probe(hole.getsockname(), [("127.0.0.1", 0)], timeout=1.2))
        elapsed = time.monotonic() - t0
    finally:
        hole.close()
    (r,) = report.results
    assert r.status == "silent" and r.rtt is None
    # qualify_maxms 2 s -> POKE RTO 2 x 0.25 s, then x10: sent at 0 and 0.5 s (next at 5.5 s)
    assert r.pokes_sent == 2
    assert 1.15 <= elapsed < 4
    v = report.verdict()
    assert "No answer" in v and f"UDP {report.target[1]} is probably blocked" in v


def test_probe_from_two_addresses_exposes_a_one_way_block():
    async def main():
        tr, addr = await _server()
        tr.filters.append(DropRemote(["127.0.0.3"], directions=("out",)))  # replies lost
        try:
            report = await probe(addr, [("127.0.0.2", 0), ("127.0.0.3", 0)], timeout=1.2)
            return report, tr.endpoint.stats.pokes_answered
        finally:
            tr.close()

    report, answered = run(main())
    assert [r.status for r in report.results] == ["answered", "silent"]
    assert answered == 3          # the server did answer 127.0.0.3's two POKEs: one-way loss
    v = report.verdict()
    assert "blocked one way" in v and "127.0.0.2" in v and "127.0.0.3" in v


def test_node_command_serves_and_probe_command_reports(capsys, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    pcap = tmp_path / "node.pcap"
    proc = subprocess.Popen([sys.executable, "-m", "iaxsim.cli", "node", "--conf",
                             str(SEED / "serverB"), "--bind", "127.0.0.1:0", "--duration", "20",
                             "--pcap", str(pcap)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=tmp_path)
    try:
        line = proc.stdout.readline()
        m = re.match(r"listening on 127\.0\.0\.1:(\d+)", line)
        assert m, line + proc.stderr.read()
        port = int(m.group(1))
        code = cli.main(["probe", f"127.0.0.1:{port}", "--from", "127.0.0.1", "--timeout", "2"])
        out = capsys.readouterr().out
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=10)
    assert code == 0
    assert re.search(rf"127\.0\.0\.1:\d+ -> 127\.0\.0\.1:{port}: PONG, round trip \d+\.\d+ ms", out)
    assert f"127.0.0.1:{port} is reachable" in out
    assert proc.returncode == 0 and "stopping: 0 calls received" in rest
    # the node's capture: our POKE in, its PONG out, our ACK in
    assert f"wrote 3 datagrams to {pcap}" in rest
    frames = [(dg.dst[1] == port, decode(dg.data).subclass) for dg in read_pcap(pcap)]
    assert frames == [(True, IAXSubclass.POKE), (False, IAXSubclass.PONG), (True, IAXSubclass.ACK)]


def test_probe_command_exit_code_and_bad_address(capsys):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    assert cli.main(["probe", f"127.0.0.1:{port}", "--from", "127.0.0.1", "--timeout", "1"]) == 1
    assert "nothing listens" in capsys.readouterr().out
    assert cli.main(["probe", "127.0.0.1:99999"]) == 2
    assert "port out of range in '127.0.0.1:99999'" in capsys.readouterr().err
