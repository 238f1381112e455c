"""An engine exchange written to pcap and dissected by Wireshark's tshark (an outside
oracle): every datagram is well formed and tshark reads the same frame kinds, subclasses,
R bits, call numbers and sequence numbers the engine meant to send."""
from __future__ import annotations

import subprocess

import pytest

from iaxsim.dialplan import Dialplan
from iaxsim.iax2 import FrameType, FullFrame
from iaxsim.iax2.engine import Endpoint, EndpointConfig, IncomingCall
from iaxsim.iax2.engine.wire import Wire
from iaxsim.iax2.pcap import write_pcap

A = ("10.0.0.1", 4569)
B = ("10.0.0.2", 4569)
FIELDS = ["iax2.packet_type", "iax2.src_call", "iax2.dst_call", "iax2.retransmission",
          "iax2.oseqno", "iax2.iseqno", "iax2.type", "iax2.iax.subclass",
          "iax2.control.subclass", "_ws.expert"]


@pytest.mark.tshark
def test_tshark_dissects_an_engine_call_as_the_engine_meant_it(tshark, tmp_path):
    a = Endpoint(EndpointConfig(), seed=1)
    b = Endpoint(EndpointConfig(users={"u": "p"},
                                dialplan=Dialplan.from_string("[default]\nexten => 6000,1,Answer\n")),
                 seed=2)
    w = Wire(latency=0.01, loss=0.1, seed=5)           # this seed loses frames: R bits appear
    w.attach(A, a)
    w.attach(B, b, lambda e, now: b.answer(e.call_id, now=now)
             if isinstance(e, IncomingCall) else None)
    cid = a.place_call(B, "6000", username="u", secret="p", now=0.0)
    w.run(until=3.0)
    for _ in range(5):
        a.send_voice(cid, b"\xff" * 160, now=w.now)
        w.run(until=w.now + 0.02)
    a.ping(cid, now=w.now)
    w.run(until=w.now + 1)
    a.hangup(cid, now=w.now)
    w.run(until=40.0)
    path = tmp_path / "call.pcap"
    write_pcap(path, [(1_700_000_000 + p.sent, p.src, p.dst, p.data) for p in w.log])
    cmd = [tshark, "-r", str(path), "-T", "fields", "-E", "separator=|"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = [line.split("|") for line in out.splitlines()]
    assert len(rows) == len(w.log)
    assert any(p.frame.retransmitted for p in w.log if isinstance(p.frame, FullFrame))
    for p, row in zip(w.log, rows):
        got = dict(zip(FIELDS, row))
        assert got["_ws.expert"] == "", (p.label, got)
        f = p.frame
        if not isinstance(f, FullFrame):
            assert got["iax2.packet_type"] == "0" and int(got["iax2.src_call"]) == f.source_call
            continue
        assert got["iax2.packet_type"] == "1"
        assert (int(got["iax2.src_call"]), int(got["iax2.dst_call"])) == (f.source_call,
                                                                          f.dest_call)
        assert got["iax2.retransmission"] == ("1" if f.retransmitted else "0"), p.label
        assert (int(got["iax2.oseqno"]), int(got["iax2.iseqno"])) == (f.oseqno, f.iseqno)
        assert int(got["iax2.type"]) == f.frametype
        if f.frametype == FrameType.IAX:
            assert int(got["iax2.iax.subclass"]) == f.subclass, p.label
        elif f.frametype == FrameType.CONTROL:
            assert int(got["iax2.control.subclass"]) == f.subclass, p.label
    labels = [p.label for p in w.log]
    assert labels[:5] == ["NEW", "CALLTOKEN", "NEW", "AUTHREQ", "AUTHREP"]
    assert {"PING", "PONG", "VOICE", "MINI", "HANGUP"} <= set(labels)
