"""Known-answer vectors for the IAX2 codec.

Every expected byte string below is written out by hand from RFC 5456 §8 and the Asterisk
behaviour summarised in the project reference (subclass compression, APPARENT_ADDR layout,
DATETIME packing, trunk entry layouts, CALLTOKEN last); none is produced by the codec itself.
"""
from __future__ import annotations

import datetime as dt
import pickle

import pytest

from iaxsim.errors import IaxsimError
from iaxsim.iax2 import (IE, ControlSubclass, DecodeError, EncodeError, FrameType, FullFrame,
                         IAXSubclass, IEType, MediaFormat, MiniFrame, MsgCount, OspBlock, RRLoss,
                         SockAddr, TrunkEntry, TrunkFrame, VideoFrame, calltoken_last,
                         compress_subclass, decode, join_osp_blocks, merge_variables,
                         uncompress_subclass)

H = bytes.fromhex

# NEW from call 5, ts 3, VERSION=2, CALLED_NUMBER="6000", empty CALLTOKEN last.
NEW_HEX = ("8005" "0000" "00000003" "00" "00" "06" "01"
           "0b02" "0002"  "0104" "36303030"  "3600")


def test_new_frame_bytes_match_hand_layout():
    f = FullFrame(source_call=5, dest_call=0, timestamp=3, oseqno=0, iseqno=0,
                  frametype=FrameType.IAX, subclass=IAXSubclass.NEW,
                  ies=[IE(IEType.VERSION, 2), IE(IEType.CALLED_NUMBER, "6000"),
                       IE(IEType.CALLTOKEN, b"")])
    assert f.encode() == H(NEW_HEX)


def test_new_frame_decodes_to_typed_fields():
    g = decode(H(NEW_HEX))
    assert isinstance(g, FullFrame)
    assert (g.source_call, g.dest_call, g.timestamp, g.oseqno, g.iseqno) == (5, 0, 3, 0, 0)
    assert g.frametype is FrameType.IAX and g.subclass is IAXSubclass.NEW
    assert g.retransmitted is False
    assert g.ie(IEType.VERSION) == 2
    assert g.ie(IEType.CALLED_NUMBER) == "6000"
    assert g.ie(IEType.CALLTOKEN) == b""
    assert g.ie(IEType.USERNAME) is None
    assert [ie.id for ie in g.ies] == [IEType.VERSION, IEType.CALLED_NUMBER, IEType.CALLTOKEN]


def test_retransmit_bit_and_call_number_masks():
    # R bit on destination call 0x1234, seqnos 7 / 9, ACK
    data = H("8001" "9234" "0000000a" "07" "09" "06" "04")
    g = decode(data)
    assert g.retransmitted is True and g.dest_call == 0x1234 and g.source_call == 1
    assert (g.oseqno, g.iseqno, g.subclass) == (7, 9, IAXSubclass.ACK)
    assert g.replace(retransmitted=False).encode() == H("8001" "1234" "0000000a" "070906" "04")
    assert FullFrame(source_call=1, dest_call=0x1234, timestamp=10, oseqno=7, iseqno=9,
                     subclass=IAXSubclass.ACK, retransmitted=True).encode() == data


# --- subclass byte (RFC §8.1.1 vs Asterisk compress_subclass) ---------------------------------

@pytest.mark.parametrize("byte,value", [
    (0x04, MediaFormat.ULAW),      # Asterisk sends ulaw plain
    (0x82, MediaFormat.ULAW),      # RFC-literal C-bit form: 2**2
    (0x02, MediaFormat.GSM),
    (0x81, MediaFormat.GSM),
    (0x88, MediaFormat.G729),      # 0x100 = 2**8
    (0xA2, MediaFormat.OPUS),      # 2**34
])
def test_voice_subclass_byte_decodes(byte, value):
    g = decode(H("8002000000000064000102") + bytes([byte]) + b"\xff" * 4)
    assert g.frametype is FrameType.VOICE
    assert g.subclass == value and isinstance(g.subclass, MediaFormat)


def test_subclass_compression_table():
    assert compress_subclass(4) == 0x04
    assert compress_subclass(0x7F) == 0x7F
    assert compress_subclass(0x100) == 0x88
    assert compress_subclass(0x80) == 0x87
    assert compress_subclass(-1) == 0xFF
    assert uncompress_subclass(0xFF) == -1
    assert uncompress_subclass(0x82) == 4
    with pytest.raises(EncodeError):
        compress_subclass(0x300)          # two bits: Asterisk cannot send it either


def test_voice_frames_encode_like_asterisk():
    ulaw = FullFrame(source_call=2, timestamp=100, oseqno=1, frametype=FrameType.VOICE,
                     subclass=MediaFormat.ULAW, payload=b"\xff" * 4)
    assert ulaw.encode() == H("8002000000000064010002" "04" "ffffffff")
    g729 = ulaw.replace(subclass=MediaFormat.G729)
    assert g729.encode()[11] == 0x88


def test_rfc_literal_subclass_round_trips_exactly():
    data = H("8002000000000064000102" "82" "ffff")
    g = decode(data)
    assert g.encode() == data
    # a copy with another field changed keeps the received subclass byte form
    assert g.replace(timestamp=0x65).encode() == H("8002000000000065000102" "82" "ffff")
    # changing the subclass re-encodes it Asterisk's way
    assert g.replace(subclass=MediaFormat.ALAW).encode()[11] == 0x08


def test_video_full_frame_marker_bit():
    # H.264 = 2**21 -> 0x80|21 = 0x95, marker adds 0x40 -> 0xD5
    f = FullFrame(source_call=3, frametype=FrameType.VIDEO, subclass=MediaFormat.H264,
                  marker=True, payload=b"v")
    assert f.encode() == H("8003" "0000" "00000000" "00" "00" "03" "d5" "76")
    g = decode(f.encode())
    assert g.marker is True and g.subclass == MediaFormat.H264

    # 2**63 -> 0xBF; with the marker it would be 0xFF, which means subclass -1: refused
    assert FullFrame(frametype=FrameType.VIDEO, subclass=1 << 63).encode()[11] == 0xBF
    with pytest.raises(EncodeError, match="0xFF"):
        FullFrame(frametype=FrameType.VIDEO, subclass=1 << 63, marker=True).encode()


def test_control_and_dtmf_subclasses():
    g = decode(H("8003000400000010020204" "03"))
    assert g.frametype is FrameType.CONTROL and g.subclass is ControlSubclass.RINGING
    assert g.subclass_name == "RINGING"
    d = decode(H("80030004000000100202" "0c" "35"))  # DTMF begin '5'
    assert d.frametype is FrameType.DTMF_BEGIN and d.subclass == ord("5")
    assert d.subclass_name == "5"


def test_unknown_numbers_stay_ints():
    g = decode(H("800300040000001002" "02" "06" "7e"))  # IAX subclass 126
    assert g.subclass == 126 and type(g.subclass) is int and g.subclass_name is None
    h = decode(H("800300040000001002" "02" "63" "01" "abcd"))  # frame type 99
    assert h.frametype == 99 and type(h.frametype) is int and h.payload == H("abcd")
    assert h.frametype_name is None


# --- information elements ----------------------------------------------------------------------

def test_apparent_addr_asterisk_layout():
    ie = IE(IEType.APPARENT_ADDR, ("192.168.1.10", 4569))
    # family 2 little-endian, port 4569 = 0x11d9 big-endian, address, 8 bytes zero
    assert ie.data == H("0200" "11d9" "c0a8010a" "0000000000000000")
    assert ie.value == SockAddr("192.168.1.10", 4569) == ("192.168.1.10", 4569)
    assert ie.to_json()["value"] == "192.168.1.10:4569"


def test_apparent_addr_big_endian_family_and_ipv6_accepted():
    be = IE.from_data(18, H("0002" "11d9" "0a000001" "0000000000000000"))
    assert be.value == ("10.0.0.1", 4569)
    v6 = IE(IEType.APPARENT_ADDR, ("2001:db8::1", 4570))
    assert v6.data == (H("0a00" "11da" "00000000") + H("20010db8000000000000000000000001")
                       + H("00000000"))
    assert IE.from_data(18, v6.data).value == ("2001:db8::1", 4570)


def test_apparent_addr_bad_family_rejected():
    data = H("80010000000000000000060f") + H("1210" "0300" "11d9" "0a000001" + "00" * 8)
    with pytest.raises(DecodeError, match="APPARENT_ADDR"):
        decode(data)


def test_datetime_packing():
    ie = IE(IEType.DATETIME, dt.datetime(2026, 11, 28, 13, 10, 24))
    # (26<<25)|(11<<21)|(28<<16)|(13<<11)|(10<<5)|(24/2)
    assert ie.data == H("357c694c")
    assert IE.from_data(31, H("357c694c")).value == dt.datetime(2026, 11, 28, 13, 10, 24)
    assert ie.to_json()["value"] == "2026-11-28T13:10:24"


def test_datetime_invalid_date_is_decode_error():
    # 2009-02-29 23:59:58 does not exist
    data = H("80010000000000000000060f") + H("1f04" "125dbf7d")
    with pytest.raises(DecodeError) as err:
        decode(data)
    assert err.value.offset == 12 and err.value.ie == "DATETIME"


def test_capability_format_and_format2():
    cap = IE(IEType.CAPABILITY, MediaFormat.ULAW | MediaFormat.ALAW | MediaFormat.G729)
    assert cap.data == H("0000010c")
    assert IE(IEType.FORMAT, MediaFormat.ULAW).data == H("00000004")
    f2 = IE(IEType.FORMAT2, MediaFormat.OPUS)
    assert f2.data == H("00" "0000000400000000")
    assert IE.from_data(56, f2.data).value == MediaFormat.OPUS
    with pytest.raises(EncodeError):
        IE(IEType.CAPABILITY, MediaFormat.OPUS)      # bit 34 does not fit in u32


def test_rr_loss_and_msgcount_split():
    loss = IE.from_data(47, H("05" "0003e8")).value
    assert isinstance(loss, RRLoss) and (loss.percent, loss.count) == (5, 1000)
    assert loss == 0x050003E8
    assert IE(IEType.RR_LOSS, RRLoss.of(5, 1000)).data == H("050003e8")
    mc = IE.from_data(24, H("0203")).value
    assert isinstance(mc, MsgCount) and (mc.old, mc.new) == (2, 3)


def test_variable_osptoken_and_empty_ies():
    var = IE(IEType.VARIABLE, "ACCOUNT=42")
    assert var.encode() == b"\x34\x0aACCOUNT=42"
    osp = IE(IEType.OSPTOKEN, (1, b"ab"))
    assert osp.encode() == H("3503" "01" "6162")
    assert IE.from_data(53, H("016162")).value == (1, b"ab")
    assert IE(IEType.AUTOANSWER).encode() == H("1900")
    with pytest.raises(EncodeError):
        IE(IEType.AUTOANSWER, "x")


def test_duplicates_order_and_unknown_ies_preserved():
    body = (H("3408") + b"A=1;B=22"[:8] + H("0104") + b"6000" + H("c803") + H("010203")
            + H("3403") + b"C=3" + H("0104") + b"6001")
    data = H("80010000000000000000") + H("0601") + body
    g = decode(data)
    assert [int(ie.id) for ie in g.ies] == [52, 1, 200, 52, 1]
    assert g.ies_all(IEType.VARIABLE) == ["A=1;B=22", "C=3"]
    assert g.ie(IEType.CALLED_NUMBER) == "6000"
    unknown = g.ies[2]
    assert unknown.id == 200 and unknown.value == H("010203") and unknown.name == "IE_200"
    assert g.encode() == data
    # rebuilding from the decoded IEs gives the same bytes
    assert FullFrame(source_call=1, subclass=IAXSubclass.NEW, ies=list(g.ies)).encode() == data


def test_calltoken_kept_last():
    ies = [IE(IEType.VERSION, 2), IE(IEType.CALLTOKEN, b""), IE(IEType.CALLED_NUMBER, "6000")]
    ordered = calltoken_last(ies)
    assert [ie.id for ie in ordered] == [IEType.VERSION, IEType.CALLED_NUMBER, IEType.CALLTOKEN]
    data = FullFrame(subclass=IAXSubclass.NEW, ies=ordered).encode()
    assert data.endswith(H("3600"))
    token = b"1700000000?" + b"a" * 40
    resent = FullFrame(subclass=IAXSubclass.NEW, ies=ordered[:-1] + [IE(IEType.CALLTOKEN, token)])
    assert resent.encode().endswith(bytes([54, len(token)]) + token)
    assert decode(resent.encode()).ie(IEType.CALLTOKEN) == token


def test_strings_survive_non_utf8_bytes():
    ie = IE.from_data(4, b"caf\xe9")
    assert ie.value == "caf\udce9"
    assert IE(IEType.CALLING_NAME, ie.value).data == b"caf\xe9"
    assert IE(IEType.CALLING_NAME, "José").data == "José".encode()


def test_ie_equality_and_pickle():
    a = IE(IEType.CALLTOKEN, "tok")
    b = IE(IEType.CALLTOKEN, b"tok")
    assert a == b and hash(a) == hash(b)
    f = decode(H(NEW_HEX))
    assert pickle.loads(pickle.dumps(f)) == f


# --- mini, video and trunk frames ----------------------------------------------------------------

def test_mini_frame_layout():
    m = MiniFrame(source_call=5, timestamp=0x1234, payload=b"\x01\x02")
    assert m.encode() == H("0005" "1234" "0102")
    g = decode(H("0005" "1234" "0102"))
    assert isinstance(g, MiniFrame) and (g.source_call, g.timestamp, g.payload) == (5, 0x1234, b"\x01\x02")
    assert MiniFrame(source_call=5, timestamp=0x11234).encode()[2:4] == H("1234")   # low 16 bits


def test_video_mini_frame_layout():
    v = VideoFrame(source_call=5, timestamp=0x1234, marker=True, payload=b"\xaa")
    assert v.encode() == H("0000" "8005" "9234" "aa")
    g = decode(H("0000" "8005" "1234" "aa"))
    assert isinstance(g, VideoFrame) and g.marker is False and g.timestamp == 0x1234


def test_trunk_frame_without_timestamps():
    # meta 0000, cmd 1, cmddata 0, ts 100; entries: call 3 len 2 'ab'; call 4 len 1 'c'
    data = H("0000" "01" "00" "00000064" "0003" "0002" "6162" "0004" "0001" "63")
    g = decode(data)
    assert isinstance(g, TrunkFrame) and g.timestamps is False and g.timestamp == 100
    assert g.entries == [TrunkEntry(3, b"ab"), TrunkEntry(4, b"c")]
    assert TrunkFrame(timestamp=100, entries=[TrunkEntry(3, b"ab"), TrunkEntry(4, b"c")]).encode() == data


def test_trunk_frame_with_timestamps():
    # cmddata 1; entries: len 2, call 3, ts 0x0010, 'ab'; len 0, call 4, ts 0x0020
    data = H("0000" "01" "01" "00000064" "0002" "0003" "0010" "6162" "0000" "0004" "0020")
    g = decode(data)
    assert g.timestamps is True
    assert g.entries == [TrunkEntry(3, b"ab", 0x10), TrunkEntry(4, b"", 0x20)]
    built = TrunkFrame(timestamp=100, timestamps=True,
                       entries=[TrunkEntry(3, b"ab", 0x10), TrunkEntry(4, b"", 0x20)])
    assert built.encode() == data


def test_trunk_entry_timestamp_rules():
    with pytest.raises(EncodeError):
        TrunkFrame(timestamps=True, entries=[TrunkEntry(3, b"ab")]).encode()
    with pytest.raises(EncodeError):
        TrunkFrame(timestamps=False, entries=[TrunkEntry(3, b"ab", 5)]).encode()


# --- malformed input ------------------------------------------------------------------------------

@pytest.mark.parametrize("hexdata,offset,ie,words", [
    ("80", 0, None, "truncated header"),
    ("8001000000000000000006", 0, None, "truncated full frame"),
    ("800100000000000000000601" "0105" "6162", 12, "CALLED_NUMBER", "runs past"),
    ("800100000000000000000601" "0b01" "02", 12, "VERSION", "length 1"),
    ("800100000000000000000601" "0b020002" "09", 16, "FORMAT", "truncated IE header"),
    ("800100000000000000000601" "3701" "00", 12, "CAPABILITY2", "length 1"),
    ("0000" "0100" "00000064" "0003" "0009" "6162", 8, None, "trunk entry length 9"),
    ("0000" "0101" "00000064" "0002" "0003", 8, None, "truncated trunk entry"),
    ("0000" "0200" "00000064", 2, None, "meta command 2"),
    ("0000" "8005", 0, None, "meta video"),
])
def test_malformed_input_names_the_place(hexdata, offset, ie, words):
    with pytest.raises(DecodeError) as err:
        decode(H(hexdata))
    e = err.value
    assert isinstance(e, ValueError) and isinstance(e, IaxsimError)
    assert e.offset == offset and e.ie == ie
    assert words in str(e) and f"offset {offset}" in str(e)
    if ie:
        assert f"IE {ie}" in str(e)


def test_decode_rejects_non_bytes():
    with pytest.raises(DecodeError):
        decode("8001")  # type: ignore[arg-type]


def test_encode_range_errors_are_clear():
    with pytest.raises(EncodeError, match="oseqno"):
        FullFrame(oseqno=256).encode()
    with pytest.raises(EncodeError, match="source_call"):
        FullFrame(source_call=0x8000).encode()
    with pytest.raises(EncodeError, match="source_call"):
        MiniFrame(source_call=0).encode()       # would read as a meta frame
    with pytest.raises(EncodeError, match="IE"):
        FullFrame(ies=[IE(IEType.VERSION, 2)], payload=b"x").encode()
    with pytest.raises(EncodeError, match="255"):
        IE(IEType.CALLED_NUMBER, "9" * 256)
    with pytest.raises(EncodeError):
        IE(IEType.VERSION, 70000)


def test_variables_concatenate_and_osp_blocks_join():
    # Asterisk appends the value of a repeated VARIABLE name to the earlier one
    body = (bytes([52, 6]) + b"A=abc;" + bytes([52, 3]) + b"B=2" + bytes([52, 4]) + b"A=de")
    g = decode(H("80010000000000000000" "0601") + body)
    assert merge_variables(g.ies_all(IEType.VARIABLE)) == {"A": "abc;de", "B": "2"}
    blocks = [OspBlock(1, b"world"), OspBlock(0, b"hello ")]
    assert join_osp_blocks(blocks) == b"hello world"


def test_readable_repr():
    assert repr(decode(H(NEW_HEX))) == (
        "FullFrame(source_call=5, dest_call=0, timestamp=3, oseqno=0, iseqno=0, frametype=IAX, "
        "subclass=NEW, ies=[IE(VERSION, 2), IE(CALLED_NUMBER, '6000'), IE(CALLTOKEN, b'')])")
    assert repr(decode(H("0005" "1234" "0102"))) == "MiniFrame(source_call=5, timestamp=4660, payload=b'\\x01\\x02')"


def test_non_ie_items_are_refused():
    with pytest.raises(EncodeError, match="expected an IE"):
        FullFrame(ies=[IE(IEType.VERSION, 2), (1, b"6000x")]).encode()
    with pytest.raises(TypeError):
        FullFrame().replace(no_such_field=1)
