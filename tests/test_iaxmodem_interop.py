"""Interop with a peer nobody here wrote: Debian's iaxmodem (libiax2, 2007).

iaxmodem registers with MD5 to an iaxsim node on loopback; the node calls it, it rings, we
answer by writing ``ATA`` to its tty, voice flows both ways, the node hangs up and iaxmodem
acknowledges. The exchange is saved as a pcap with iaxsim's writer and tshark's dissection
of every packet must agree with iaxsim's decode. Needs root (iaxmodem's configuration lives
only in /etc/iaxmodem); CI runs as root with IAXSIM_REQUIRE_ORACLES=1.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from iaxsim.iax2 import FrameType, FullFrame, IAXSubclass, IEType, MiniFrame, decode
from iaxsim.iax2.engine import CallAnswered, CallRinging, PeerRegistered
from iaxsim.iax2.pcap import write_pcap
from iaxsim.net.node import Node

pytestmark = [pytest.mark.iaxmodem, pytest.mark.tshark]

SECRET = "s3cret-Modem"
EXTENSIONS = "[default]\nexten => 100,1,Answer()\n"
# This libiax2 predates call tokens: as an Asterisk admin would, let this one friend in
# without them (its REGREQ/REGREL are judged by the peer side of the friend); every other
# name and address still needs a token.
IAX_CONF = f"""[modem]
type = friend
host = dynamic
secret = {SECRET}
requirecalltoken = no
"""


def _free_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _need_root(iaxmodem: str) -> None:
    if os.geteuid() != 0 or not Path("/etc/iaxmodem").is_dir():
        msg = "iaxmodem interop needs root and /etc/iaxmodem"
        if os.environ.get("IAXSIM_REQUIRE_ORACLES") == "1":
            pytest.fail(msg)
        pytest.skip(msg)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()  # iaxmodem sends REGREL first; the node keeps running to answer it
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()


async def _session(iaxmodem: str, conf_dir: Path, log_path: Path) -> tuple[Node, list, dict]:
    capture: list = []
    node = Node(conf_dir, seed=7, log=lambda m: None, capture=capture)
    (addr,) = await node.start([("127.0.0.1", 0)])
    name = f"iaxsimtest{os.getpid()}{secrets.token_hex(3)}"
    device = Path(f"/dev/ttyIAXsim{secrets.token_hex(3)}")
    conf_file = Path("/etc/iaxmodem") / name
    conf_file.write_text(
        f"device\t{device}\nowner\troot:root\nmode\t660\nport\t{_free_udp_port()}\n"
        f"refresh\t60\nserver\t127.0.0.1:{addr[1]}\npeername\tmodem\nsecret\t{SECRET}\n"
        "cidname\tiaxsim\ncidnumber\t5551234\ncodec\tulaw\niax2debug\t1\n")
    out = {}
    tr = node.transport
    log = open(log_path, "wb")
    proc = None
    try:
        registered = tr.expect(lambda e: isinstance(e, PeerRegistered))
        # line-buffered, so its frame trace survives SIGTERM
        cmd = ["stdbuf", "-oL", "-eL", iaxmodem, name] if shutil.which("stdbuf") else [iaxmodem, name]
        proc = await asyncio.create_subprocess_exec(*cmd, stdout=log, stderr=subprocess.STDOUT)
        out["registered"] = await tr.wait(registered, 15)
        ringing = tr.expect(lambda e: isinstance(e, CallRinging))
        answered = tr.expect(lambda e: isinstance(e, CallAnswered))
        call = node.originate("modem", "100", media="tone", calling_number="7001")
        out["call"] = call
        await tr.wait(ringing, 10)
        fd = os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            os.write(fd, b"ATA\r")
            await tr.wait(answered, 10)
            await asyncio.sleep(1.0)          # ~50 voice frames each way
            out["state_before_hangup"] = node.endpoint.call_state(call)
            node.hangup(call)
            for _ in range(100):              # until iaxmodem's ACK releases the call number
                if node.endpoint.call_state(call) is None:
                    break
                await asyncio.sleep(0.02)
            out["state_after_hangup"] = node.endpoint.call_state(call)
        finally:
            os.close(fd)
        out["record"] = node.record(call)
    finally:
        if proc is not None:
            await _stop(proc)
        log.close()
        conf_file.unlink(missing_ok=True)
        if device.is_symlink():
            device.unlink()
        node.close()
    return node, capture, out


_FIELDS = ["iax2.packet_type", "iax2.src_call", "iax2.dst_call", "iax2.timestamp",
           "iax2.oseqno", "iax2.iseqno", "iax2.type", "iax2.iax.subclass",
           "iax2.control.subclass", "iax2.voice.subclass", "iax2.ie_id", "iax2.retransmission"]


def _tshark_rows(tshark: str, pcap: Path, port: int) -> list[list[str]]:
    cmd = [tshark, "-r", str(pcap), "-d", f"udp.port=={port},iax2", "-T", "fields",
           "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in _FIELDS:
        cmd += ["-e", f]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)
    return [line.split("|") for line in res.stdout.splitlines()]


def _expected_row(data: bytes) -> list[str]:
    """What tshark should print for one datagram, from iaxsim's decode."""
    f = decode(data)
    if isinstance(f, MiniFrame):
        return ["0", str(f.source_call), "", str(f.timestamp)] + [""] * 7 + [""]
    assert isinstance(f, FullFrame)
    sub = int(f.subclass)
    return ["1", str(f.source_call), str(f.dest_call), str(f.timestamp), str(f.oseqno),
            str(f.iseqno), str(int(f.frametype)),
            str(sub) if f.frametype == FrameType.IAX else "",
            str(sub) if f.frametype == FrameType.CONTROL else "",
            str(sub) if f.frametype == FrameType.VOICE else "",
            ",".join(str(ie[0]) for ie in f.ies),
            "1" if f.retransmitted else "0"]


def test_iaxmodem_registers_answers_talks_and_hangs_up(iaxmodem, tshark, tmp_path):
    _need_root(iaxmodem)
    conf = tmp_path / "node"
    conf.mkdir()
    (conf / "extensions.conf").write_text(EXTENSIONS)
    (conf / "iax.conf").write_text(IAX_CONF)
    log_path = tmp_path / "iaxmodem.log"
    node, capture, out = asyncio.run(asyncio.wait_for(
        _session(iaxmodem, conf, log_path), 60))
    modem_log = log_path.read_text(errors="replace")
    node_port = node.addresses[0][1] if node.transport else None

    # registration: REGREQ without call token -> REGAUTH(MD5) -> REGREQ(MD5_RESULT) -> REGACK
    frames = [(dg, decode(dg.data)) for dg in capture]
    full = [(dg, f) for dg, f in frames if isinstance(f, FullFrame)]
    regreqs = [f for _, f in full if f.frametype == FrameType.IAX and f.subclass == IAXSubclass.REGREQ]
    regauth = next(f for _, f in full if f.frametype == FrameType.IAX
                   and f.subclass == IAXSubclass.REGAUTH)
    assert out["registered"].username == "modem"
    assert not regreqs[0].has_ie(IEType.CALLTOKEN)
    # let in by the friend's requirecalltoken = no alone: no address is token-optional, and
    # the node's first answer to the token-less REGREQ is the challenge, not a REGREJ
    cfg = node.endpoint.config
    assert cfg.calltoken_required and not cfg.calltoken_optional
    assert cfg.peer_calltoken_policy == {"modem": "no"}
    node_sent = [f for dg, f in full if dg.dst[1] != node_port]
    assert node_sent[0].frametype == FrameType.IAX and node_sent[0].subclass == IAXSubclass.REGAUTH
    assert node.endpoint.stats.token_rejects == 0
    challenge = regauth.ie(IEType.CHALLENGE)
    # RFC 5456 §8.6.16 (chan_iax2.c authenticate): MD5 over challenge then secret, lowercase hex
    assert regreqs[1].ie(IEType.MD5_RESULT) == hashlib.md5(
        (challenge + SECRET).encode()).hexdigest()
    assert any(f.subclass == IAXSubclass.REGACK for _, f in full if f.frametype == FrameType.IAX)
    assert "Registration completed successfully" in modem_log

    # the call: iaxmodem ACKs our NEW, ACCEPTs, rings, answers after ATA
    rec = out["record"]
    assert rec.outcome == "answered" and rec.answered is not None
    assert out["state_before_hangup"] == "up"
    modem_sent = [f for dg, f in frames if dg.dst[1] == node_port]
    labels = [(int(f.frametype), int(f.subclass)) for f in modem_sent if isinstance(f, FullFrame)]
    assert (FrameType.IAX, IAXSubclass.ACCEPT) in labels
    assert (FrameType.CONTROL, 3) in labels and (FrameType.CONTROL, 4) in labels  # RINGING, ANSWER
    # voice both ways: we received iaxmodem's audio, iaxmodem logged ours
    assert rec.voice_in >= 10
    assert rec.voice_out >= 10
    assert sum(isinstance(f, MiniFrame) for f in modem_sent) >= 10
    assert re.search(r"Rx-Frame[^\n]*Type: VOICE", modem_log)
    # clean hangup: iaxmodem received it and acknowledged, so the call number was released
    assert "Subclass: HANGUP" in modem_log
    assert out["state_after_hangup"] is None
    hangup = next(f for dg, f in full if dg.dst[1] != node_port
                  and f.frametype == FrameType.IAX and f.subclass == IAXSubclass.HANGUP)
    assert any(f.frametype == FrameType.IAX and f.subclass == IAXSubclass.ACK
               and f.timestamp == hangup.timestamp and dg.dst[1] == node_port
               for dg, f in full)

    # on SIGTERM iaxmodem releases its registration (REGREL with MD5) and the node grants it
    i = next(i for i, (dg, f) in enumerate(full) if f.frametype == FrameType.IAX
             and f.subclass == IAXSubclass.REGREL and f.has_ie(IEType.MD5_RESULT))
    assert any(f.frametype == FrameType.IAX and f.subclass == IAXSubclass.REGACK
               for _, f in full[i:])

    # the capture, written by iaxsim, dissected by tshark: every packet agrees with decode
    pcap = tmp_path / "iaxmodem.pcap"
    assert write_pcap(pcap, capture) == len(capture)
    rows = _tshark_rows(tshark, pcap, node_port)
    assert len(rows) == len(capture)
    mismatches = [(i, row, _expected_row(dg.data)) for i, (row, dg) in enumerate(zip(rows, capture))
                  if row != _expected_row(dg.data)]
    assert not mismatches, mismatches[:5]
