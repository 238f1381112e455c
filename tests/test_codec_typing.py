"""What the codec promises about the types it takes and gives back.

Decoded values keep their enum and int-subclass types; frame fields are plain dataclass fields
(no check on assignment), so ``encode`` is where a wrong value is refused, with an EncodeError
naming the field; bytes-like payloads and tuples of IEs are accepted; frames pickle, copy and
``replace``. Expected bytes are derived by hand from the RFC 5456 §8.1 header layout.
"""
from __future__ import annotations

import copy
import pickle

import pytest

from iaxsim.iax2 import (IE, AuthMethod, DecodeError, EncodeError, FrameType, FullFrame,
                         IAXSubclass, IEType, MediaFormat, MiniFrame, RRLoss, TrunkEntry,
                         TrunkFrame, VideoFrame, compress_subclass, decode)

# NEW from call 5, ts 3: VERSION 2, FORMAT ulaw, AUTHMETHODS md5, RR_LOSS 5 % / 1000
NEW = bytes.fromhex("8005" "0000" "00000003" "00" "00" "06" "01"
                    "0b020002" "090400000004" "0e020002" "2f04050003e8")


def test_decoded_frame_keeps_enum_members():
    f = decode(NEW)
    assert type(f.frametype) is FrameType and f.frametype is FrameType.IAX
    assert type(f.subclass) is IAXSubclass and f.subclass is IAXSubclass.NEW
    assert [type(ie.id) for ie in f.ies] == [IEType] * 4
    assert type(f.ie(IEType.FORMAT)) is MediaFormat
    assert type(f.ie(IEType.AUTHMETHODS)) is AuthMethod
    loss = f.ie(IEType.RR_LOSS)
    assert type(loss) is RRLoss and (loss.percent, loss.count) == (5, 1000)
    assert type(decode(bytes.fromhex("8002000000000064000102" "04")).subclass) is MediaFormat


def test_frame_built_with_enum_members_gives_them_back():
    f = FullFrame(frametype=FrameType.VOICE, subclass=MediaFormat.ULAW, payload=b"\xff")
    assert f.frametype is FrameType.VOICE and f.subclass is MediaFormat.ULAW
    assert "frametype=VOICE, subclass=ULAW" in repr(f)


@pytest.mark.parametrize("make,field_name", [
    (lambda: FullFrame(source_call="5"), "source_call"),
    (lambda: FullFrame(dest_call=None), "dest_call"),
    (lambda: FullFrame(timestamp=1.5), "timestamp"),
    (lambda: FullFrame(oseqno="1"), "oseqno"),
    (lambda: FullFrame(frametype=2.0, subclass=4), "frametype"),
    (lambda: MiniFrame(source_call="1"), "source_call"),
    (lambda: MiniFrame(timestamp=-1), "timestamp"),
    (lambda: VideoFrame(source_call=b"\x01"), "source_call"),
    (lambda: TrunkFrame(entries=[TrunkEntry("3", b"ab")]), "source_call"),
    (lambda: TrunkFrame(timestamp="now"), "timestamp"),
])
def test_wrong_field_types_give_an_encode_error_naming_the_field(make, field_name):
    frame = make()                      # construction accepts anything...
    with pytest.raises(EncodeError, match=field_name):
        frame.encode()                  # ...encoding names what is wrong


@pytest.mark.parametrize("value", [True, "4", 1.0, None])
def test_non_integer_subclass_is_refused(value):
    with pytest.raises(EncodeError, match="subclass"):
        compress_subclass(value)
    with pytest.raises(EncodeError, match="subclass"):
        FullFrame(subclass=value).encode()


@pytest.mark.parametrize("ie_id", [True, "1", 1.0, 256, -1])
def test_bad_ie_number_is_refused(ie_id):
    with pytest.raises(EncodeError, match="IE number"):
        IE(ie_id, b"")


@pytest.mark.parametrize("data", ["80050000", None, 12, [0x80, 5, 0, 0]])
def test_decode_refuses_non_bytes_with_decode_error(data):
    with pytest.raises(DecodeError, match="expected bytes"):
        decode(data)


def test_bytes_likes_and_truthy_flags_are_accepted():
    # header: 8005 (F|5) 8000 (R|0) ts 0 oseq 0 iseq 0 type 2 (voice) sub 04 (ulaw), payload ab
    want = bytes.fromhex("8005" "8000" "00000000" "00" "00" "02" "04" "6162")
    f = FullFrame(source_call=5, frametype=FrameType.VOICE, subclass=MediaFormat.ULAW,
                  payload=bytearray(b"ab"), retransmitted=1)
    assert f.encode() == want
    assert decode(bytearray(want)).encode() == want
    assert decode(memoryview(want)).payload == b"ab"
    assert MiniFrame(5, 0x10001, memoryview(b"xy")).encode() == bytes.fromhex("0005" "0001") + b"xy"


def test_ies_may_be_a_tuple():
    ies = [IE(IEType.VERSION, 2), IE(IEType.CALLED_NUMBER, "6000")]
    # IEs: 0b 02 0002, 01 04 "6000"
    body = bytes.fromhex("0b020002" "0104") + b"6000"
    assert FullFrame(source_call=1, ies=tuple(ies)).encode()[12:] == body
    assert FullFrame(source_call=1, ies=ies).encode()[12:] == body
    assert FullFrame().ies == [] and FullFrame().ies is not FullFrame().ies


def test_trunk_entries_may_be_a_tuple():
    # trunk header 0000 01 00 ts(4)=9, then entry callno 3, length 2, "ab"
    want = bytes.fromhex("0000" "0100" "00000009" "0003" "0002") + b"ab"
    assert TrunkFrame(9, False, (TrunkEntry(3, b"ab"),)).encode() == want
    assert TrunkFrame(9, False, [TrunkEntry(3, b"ab")]).encode() == want
    assert TrunkFrame().entries == [] and TrunkFrame().entries is not TrunkFrame().entries


def test_hand_made_ie_tuples_are_refused_with_an_encode_error():
    with pytest.raises(EncodeError, match="expected an IE"):
        FullFrame(ies=((1, b"6000"),)).encode()


def test_kind_names_each_frame_form():
    assert decode(NEW).kind == "full"
    assert decode(bytes.fromhex("0005" "0001") + b"x").kind == "mini"
    assert decode(VideoFrame(3, 7, True, b"v").encode()).kind == "video"
    assert decode(TrunkFrame(9, False, [TrunkEntry(3, b"ab")]).encode()).kind == "trunk"


@pytest.mark.parametrize("frame", [
    decode(NEW),
    MiniFrame(5, 40, b"\xff" * 4),
    VideoFrame(3, 7, True, b"v"),
    TrunkFrame(100, True, [TrunkEntry(3, b"ab", 0x10)]),
], ids=["full", "mini", "video", "trunk"])
def test_frames_pickle_copy_and_replace(frame):
    assert pickle.loads(pickle.dumps(frame)) == frame
    assert copy.copy(frame) == frame
    moved = frame.replace(timestamp=frame.timestamp + 1)
    assert moved.timestamp == frame.timestamp + 1 and moved != frame
    assert decode(moved.encode()).timestamp == (frame.timestamp + 1) & (
        0xFFFF if frame.kind == "mini" else 0x7FFF if frame.kind == "video" else 0xFFFFFFFF)
