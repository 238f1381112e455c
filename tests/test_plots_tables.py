"""Frame tables shown by the notebooks: decoded by the codec, one row per datagram, nothing skipped."""
from __future__ import annotations

import pytest

from iaxsim.errors import IaxsimError
from iaxsim.iax2 import IE, DecodeError, FullFrame, IAXSubclass, IEType, MiniFrame
from iaxsim.iax2.pcap import Datagram
import pandas as pd

from iaxsim.report.tables import (as_datagram, break_even_verdict, call_frames, frame_counts, frame_table,
                                  qualify_rows)

A, B = "10.0.0.1", "10.0.0.2"


def full(sub, src, dst, **kw) -> bytes:
    return FullFrame(source_call=src, dest_call=dst, subclass=sub, **kw).encode()


def test_rows_from_simulator_capture_tuples() -> None:
    new = full(IAXSubclass.NEW, 5, 0, ies=[IE(IEType.CALLED_NUMBER, "6001")])
    mini = MiniFrame(source_call=5, timestamp=40, payload=b"\xff" * 160).encode()
    t = frame_table([(10.5, A, 4569, B, 4569, new), (10.52, A, 4569, B, 4569, mini)], t0=10.0)
    assert list(t.columns) == ["time", "src", "dst", "kind", "frame", "label", "calls", "seq", "bytes", "details"]
    assert t["time"].tolist() == pytest.approx([0.5, 0.52])
    assert t["src"].tolist() == [f"{A}:4569"] * 2
    assert t["frame"].tolist() == ["IAX/NEW", "-"]
    assert t["label"].tolist() == ["NEW", "MINI"]
    # 12-byte full header + IE (1 id + 1 len + 4 digits); mini header 4 + 160 payload
    assert t["bytes"].tolist() == [12 + 6, 4 + 160]
    assert "CALLED_NUMBER='6001'" in t.loc[0, "details"]
    assert t.loc[0, "calls"] == "5->0"


def test_datagram_and_four_tuples_are_accepted() -> None:
    data = full(IAXSubclass.PING, 3, 4)
    dg = Datagram(1.0, (A, 4569), (B, 4570), data)
    assert as_datagram(dg) is dg
    assert as_datagram((1.0, (A, 4569), (B, 4570), data)) == dg
    assert as_datagram((1.0, A, 4569, B, 4570, data)) == dg
    with pytest.raises(IaxsimError, match="not a datagram"):
        as_datagram("nope")


def test_undecodable_datagram_is_an_error_naming_it() -> None:
    good = full(IAXSubclass.PING, 3, 4)
    # a full frame header cut short: 0x80 flag set but only 5 bytes
    with pytest.raises(DecodeError, match="datagram 1 at t=2.000000"):
        frame_table([(1.0, A, 4569, B, 4569, good), (2.0, A, 4569, B, 4569, b"\x80\x01\x00\x00\x00")])


def test_qualify_dialogs_are_recognised_by_address_and_call_number() -> None:
    rows = [
        (0.0, A, 4569, B, 4569, full(IAXSubclass.POKE, 700, 0)),
        (0.1, B, 4569, A, 4569, full(IAXSubclass.PONG, 1, 700, iseqno=1)),
        (0.2, A, 4569, B, 4569, full(IAXSubclass.ACK, 700, 1, oseqno=1, iseqno=1)),
        (0.3, A, 4569, B, 4569, full(IAXSubclass.NEW, 9, 0, ies=[IE(IEType.CALLED_NUMBER, "6")])),
        (0.4, B, 4569, A, 4569, full(IAXSubclass.ACK, 1, 9)),  # ACK of the call: not qualify
    ]
    t = frame_table(rows)
    assert qualify_rows(t).tolist() == [True, True, True, False, False]
    window = call_frames(t, 0.25, 0.35)
    assert window["label"].tolist() == ["NEW"]
    assert window["time"].tolist() == pytest.approx([0.05])
    assert call_frames(t, 0.2499, 0.35, decimals=3)["time"].tolist() == [0.05]


def test_frame_counts() -> None:
    ping = full(IAXSubclass.PING, 3, 4)
    ack = full(IAXSubclass.ACK, 4, 3)
    t = frame_table([(0, A, 1, B, 1, ping), (1, A, 1, B, 1, ping), (2, B, 1, A, 1, ack)])
    c = frame_counts(t)
    assert c.to_dict("list") == {"label": ["PING", "ACK"], "frames": [2, 1], "bytes": [24, 12]}
    with pytest.raises(IaxsimError, match="missing columns"):
        frame_counts(t.drop(columns=["bytes"]))


def test_break_even_shares_are_cut_to_zero_one_and_read_out() -> None:
    # a hit that only catches up with link.conf gives a share just below 1 in floats
    caught_up = (0.208 - 0.120004) / (0.208 - 0.120)  # link.conf 4 µs slower than a hit: 0.99995
    table = pd.DataFrame({"servers": [2, 5, 5, 3, 2],
                          "break_even_hit_share": [1.4, 0.324, -0.078, float("nan"), caught_up]})
    out = break_even_verdict(table)
    assert out["break_even_hit_share"].tolist()[:3] == [1.0, 0.324, 0.0]
    assert out["break_even_hit_share"].iloc[4] == 1.0
    assert pd.isna(out["break_even_hit_share"].iloc[3])
    assert out["verdict"].tolist() == ["switch never quicker", "switch quicker above 32 % hits",
                                       "switch quicker even uncached", "unknown", "switch never quicker"]
    assert table["break_even_hit_share"].tolist()[2] == -0.078  # the caller's table is left as it was
    with pytest.raises(IaxsimError, match="share"):
        break_even_verdict(table.drop(columns="break_even_hit_share"))
