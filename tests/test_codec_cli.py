"""``iaxsim decode`` and ``iaxsim pcap``: table and JSON Lines output, ports, bad input."""
from __future__ import annotations

import datetime as dt
import json

from iaxsim.cli import main
from iaxsim.iax2 import (IE, FrameType, FullFrame, IAXSubclass, IEType, MediaFormat, MiniFrame,
                         TrunkEntry, TrunkFrame, VideoFrame)
from iaxsim.iax2.pcap import Datagram, write_pcap

NEW_HEX = "8005000000000003000006010b0200020104363030303600"


def test_decode_json(capsys):
    assert main(["decode", NEW_HEX, "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["kind"] == "full" and obj["source_call"] == 5 and obj["dest_call"] == 0
    assert obj["retransmitted"] is False and obj["timestamp"] == 3
    assert (obj["oseqno"], obj["iseqno"]) == (0, 0)
    assert obj["frametype"] == 6 and obj["frametype_name"] == "IAX"
    assert obj["subclass"] == 1 and obj["subclass_name"] == "NEW"
    assert obj["ies"] == [{"id": 11, "name": "VERSION", "value": 2},
                          {"id": 1, "name": "CALLED_NUMBER", "value": "6000"},
                          {"id": 54, "name": "CALLTOKEN", "value": ""}]
    assert obj["time"] is None and obj["src"] is None and obj["dst"] is None


def test_decode_table_accepts_separators(capsys):
    spaced = " ".join(NEW_HEX[i:i + 2] for i in range(0, len(NEW_HEX), 2))
    assert main(["decode", spaced.replace(" ", ":")]) == 0
    out = capsys.readouterr().out
    assert "IAX/NEW" in out and "CALLED_NUMBER='6000'" in out and "5->0" in out


def test_decode_errors_exit_2(capsys):
    assert main(["decode", "8001000000000000000006010105"]) == 2
    err = capsys.readouterr().err
    assert "offset 12" in err and "CALLED_NUMBER" in err
    assert main(["decode", "not-hex"]) == 2
    assert "not hexadecimal" in capsys.readouterr().err


def _capture(tmp_path):
    frames = [
        (4569, FullFrame(source_call=5, dest_call=0, timestamp=3, subclass=IAXSubclass.NEW,
                         ies=[IE(IEType.VERSION, 2), IE(IEType.CALLED_NUMBER, "6000"),
                              IE(IEType.FORMAT, MediaFormat.ULAW),
                              IE(IEType.APPARENT_ADDR, ("10.0.0.9", 4569)),
                              IE(IEType.DATETIME, dt.datetime(2026, 1, 2, 3, 4, 6)),
                              IE(77, b"\xab")]).encode()),
        (4569, FullFrame(source_call=5, dest_call=6, frametype=FrameType.VOICE,
                         subclass=MediaFormat.ULAW, payload=b"\xff" * 160).encode()),
        (4569, MiniFrame(5, 20, b"\xff" * 160).encode()),
        (4569, VideoFrame(5, 21, True, b"\x00" * 4).encode()),
        (4569, TrunkFrame(timestamp=9, timestamps=True, entries=[TrunkEntry(5, b"ab", 1)]).encode()),
        (4569, b"\x80\x01"),                                    # malformed
        (5060, b"INVITE sip:6000@x SIP/2.0"),                   # not IAX2
        (4570, MiniFrame(7, 40, b"\xd5" * 160).encode()),
    ]
    path = tmp_path / "c.pcap"
    write_pcap(path, [Datagram(1_700_000_000 + i, ("10.0.0.1", p), ("10.0.0.2", p), d)
                      for i, (p, d) in enumerate(frames)])
    return path


def test_pcap_json_lines(tmp_path, capsys):
    path = _capture(tmp_path)
    assert main(["pcap", str(path), "--json"]) == 0
    cap = capsys.readouterr()
    rows = [json.loads(line) for line in cap.out.splitlines()]
    assert [r["kind"] for r in rows] == ["full", "full", "mini", "video", "trunk"]
    assert rows[0]["time"] == 1_700_000_000 and rows[0]["src"] == "10.0.0.1:4569"
    assert rows[0]["dst"] == "10.0.0.2:4569"
    ies = {ie["name"]: ie["value"] for ie in rows[0]["ies"]}
    assert ies == {"VERSION": 2, "CALLED_NUMBER": "6000", "FORMAT": 4,
                   "APPARENT_ADDR": "10.0.0.9:4569", "DATETIME": "2026-01-02T03:04:06",
                   "IE_77": "ab"}
    assert rows[1]["subclass"] == 4 and rows[1]["subclass_name"] == "ULAW"
    assert rows[1]["frametype_name"] == "VOICE"
    assert (rows[2]["source_call"], rows[2]["timestamp"], rows[2]["payload_length"]) == (5, 20, 160)
    assert (rows[3]["source_call"], rows[3]["timestamp"], rows[3]["payload_length"]) == (5, 21, 4)
    assert rows[4]["timestamp"] == 9
    assert rows[4]["entries"] == [{"source_call": 5, "payload_length": 2, "timestamp": 1}]
    assert "not valid IAX2" in cap.err and "1 malformed" in cap.err


def test_pcap_ports_repeatable(tmp_path, capsys):
    path = _capture(tmp_path)
    assert main(["pcap", str(path), "--port", "4570", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["kind"], r["source_call"]) for r in rows] == [("mini", 7)]
    assert main(["pcap", str(path), "--port", "4569", "--port", "4570", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 6


def test_pcap_table(tmp_path, capsys):
    path = _capture(tmp_path)
    assert main(["pcap", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["time", "source"]
    assert len(lines) == 6
    assert "10.0.0.1:4569 -> 10.0.0.2:4569" in lines[1] and "IAX/NEW" in lines[1]
    assert "VOICE/ULAW" in lines[2] and "mini" in lines[3] and "trunk" in lines[5]


def test_pcap_missing_or_bad_file(tmp_path, capsys):
    assert main(["pcap", str(tmp_path / "nope.pcap")]) == 2
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"hello world, not a capture")
    assert main(["pcap", str(bad)]) == 2
    assert "not a pcap" in capsys.readouterr().err


def test_pcap_all_ports(tmp_path, capsys):
    path = _capture(tmp_path)
    assert main(["pcap", str(path), "--all-ports", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # every UDP datagram is tried: the SIP text happens to parse as a mini frame ("IN" = 0x494e)
    assert len(rows) == 7
    assert rows[5]["src"] == "10.0.0.1:5060" and rows[5]["source_call"] == 0x494E
