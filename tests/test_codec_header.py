"""The 12-byte full frame header at its edges, written and read back.

These cases pin every field at its smallest and largest value, the bytes that tell the fields
apart, and the errors for values that do not fit. Expected bytes are derived by hand from
RFC 5456 §8.1.2: ``F|scallno(15)`` ``R|dcallno(15)`` ts(32) oseqno iseqno type subclass.
"""
from __future__ import annotations

import pytest

from iaxsim.iax2 import (IE, EncodeError, FrameType, FullFrame, IAXSubclass, IEType,
                         MediaFormat, decode)

H = bytes.fromhex


@pytest.mark.parametrize("fields,wire", [
    # every field at its largest: 7FFF call numbers, R bit, ts FFFFFFFF, seqnos FF, type FF
    (dict(source_call=0x7FFF, dest_call=0x7FFF, retransmitted=True, timestamp=0xFFFFFFFF,
          oseqno=255, iseqno=255, frametype=255, subclass=0x7F),
     "ffff" "ffff" "ffffffff" "ff" "ff" "ff" "7f"),
    # every field at its smallest (subclass 0)
    (dict(source_call=0, dest_call=0, timestamp=0, oseqno=0, iseqno=0, frametype=0,
          subclass=0), "8000" "0000" "00000000" "00" "00" "00" "00"),
    # bytes that tell the fields apart: 0x0102 / 0x0304, ts 0x05060708, 9, 10, IAX (6) NEW (1)
    (dict(source_call=0x0102, dest_call=0x0304, timestamp=0x05060708, oseqno=9, iseqno=10,
          subclass=IAXSubclass.NEW), "8102" "0304" "05060708" "09" "0a" "06" "01"),
    # voice ulaw: subclass 4 on the wire (Asterisk's form), payload after the header
    (dict(source_call=5, frametype=FrameType.VOICE, subclass=MediaFormat.ULAW, payload=b"\xff"),
     "8005" "0000" "00000000" "00" "00" "02" "04" "ff"),
])
def test_header_bytes_and_back(fields, wire):
    frame = FullFrame(**fields)
    assert frame.encode() == H(wire)
    back = decode(H(wire))
    for name, value in fields.items():
        assert getattr(back, name) == value, name
    assert back.encode() == H(wire)


@pytest.mark.parametrize("field_name,value", [
    ("timestamp", 1 << 32), ("timestamp", -1), ("oseqno", 256), ("iseqno", -1),
    ("frametype", 256), ("source_call", 0x8000), ("dest_call", -1), ("oseqno", 1.0),
    ("timestamp", "3"),
])
def test_out_of_range_header_fields_name_the_field(field_name, value):
    with pytest.raises(EncodeError, match=field_name):
        FullFrame(**{field_name: value}).encode()
    # the same with IEs to encode after the header
    with pytest.raises(EncodeError, match=field_name):
        FullFrame(ies=[IE(IEType.VERSION, 2)], **{field_name: value}).encode()


def test_a_subclass_error_wins_over_a_later_field():
    # the subclass is checked before the timestamp is packed: its message, not the timestamp's
    with pytest.raises(EncodeError, match="subclass"):
        FullFrame(subclass="x", timestamp=-1).encode()


def test_retransmitted_bit_reads_back_apart_from_the_call_number():
    # R bit set, dest call 0x0203: bytes 2-3 are 82 03
    f = decode(H("8001" "8203" "00000000" "00" "00" "06" "04"))
    assert (f.retransmitted, f.dest_call, f.source_call) == (True, 0x0203, 1)
    assert f.subclass is IAXSubclass.ACK
