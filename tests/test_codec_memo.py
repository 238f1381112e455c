"""The codec's memos (parsed IEs, IE blocks, IE values, sent IEs' bytes) change nothing but speed.

IEs are immutable, so ``decode`` may hand out an IE it parsed before; every frame still gets
its own list, a changed frame re-encodes from its fields, malformed input raises the same
DecodeError whether or not a similar datagram was decoded first, and the memos stay bounded.
Expected bytes are derived by hand from RFC 5456 §8.1 (header) and §8.6 (IEs).
"""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iaxsim.iax2 import (IE, AuthMethod, DecodeError, EncodeError, IEType, MediaFormat, decode,
                         encode_ies, parse_ies)
from iaxsim.iax2 import ies as ies_module

H = bytes.fromhex
# full frame header: F|call 5, dest 0, ts 3, oseq 0, iseq 0, type 6 (IAX), subclass 1 (NEW)
HEAD = H("8005" "0000" "00000003" "00" "00" "06" "01")
# IEs: VERSION (11) = 2, CALLED_NUMBER (1) = "6000", FORMAT (9) = ulaw (4)
BODY = H("0b020002") + H("0104") + b"6000" + H("090400000004")
NEW = HEAD + BODY


@pytest.fixture(autouse=True)
def cold_memos():
    ies_module.clear_memos()
    yield
    ies_module.clear_memos()


def test_each_decode_gets_its_own_ie_list():
    a, b = decode(NEW), decode(NEW)        # the second one comes from the memos
    assert a.ies == b.ies == [IE(11, 2), IE(1, "6000"), IE(9, MediaFormat.ULAW)]
    assert a.ies is not b.ies
    a.ies.append(IE(IEType.USERNAME, "bob"))
    a.ies[0] = IE(IEType.VERSION, 3)
    assert b.ies == [IE(11, 2), IE(1, "6000"), IE(9, MediaFormat.ULAW)]
    assert decode(NEW).ies == [IE(11, 2), IE(1, "6000"), IE(9, MediaFormat.ULAW)]
    assert parse_ies(NEW, 12) is not parse_ies(NEW, 12)


def test_changed_frame_re_encodes_from_its_fields():
    decode(NEW)                               # warm every memo
    f = decode(NEW)
    assert f.encode() == NEW
    f.ies.append(IE(IEType.USERNAME, "bob"))  # USERNAME (6) = "bob"
    assert f.encode() == NEW + H("0603") + b"bob"
    f.ies[1] = IE(IEType.CALLED_NUMBER, "61")  # CALLED_NUMBER (1) = "61"
    assert f.encode() == HEAD + H("0b020002") + H("0102") + b"61" + H("090400000004") + H("0603") + b"bob"
    del f.ies[:]
    assert f.encode() == HEAD
    g = decode(NEW)
    g.timestamp = 0x01020304                  # header change: bytes 4..7
    assert g.encode() == H("8005" "0000" "01020304" "00" "00" "06" "01") + BODY
    assert decode(NEW).encode() == NEW


@pytest.mark.parametrize("body,offset,ie,message", [
    # VERSION with 1 byte of data instead of 2
    (H("0b0102"), 12, "VERSION", "data length 1, expected 2"),
    # FORMAT (u32) cut short: length 4 but only 2 bytes follow
    (H("0b020002") + H("09040000"), 16, "FORMAT", "length 4 runs past the end"),
    # a lone IE byte after VERSION: truncated header
    (H("0b020002") + H("09"), 16, "FORMAT", "truncated IE header"),
    # DATETIME (31) = 0: month 0 is no date
    (H("1f0400000000"), 12, "DATETIME", "invalid date/time fields 2000-00-00"),
])
def test_malformed_input_errors_the_same_with_warm_memos(body, offset, ie, message):
    def error() -> DecodeError:
        with pytest.raises(DecodeError) as info:
            decode(HEAD + body)
        return info.value

    cold = error()
    assert (cold.offset, cold.ie) == (offset, ie) and message in str(cold)
    # warm: the good IEs these blocks start with, and the same bad datagram again
    decode(NEW)
    decode(HEAD + H("0b020002") + H("090400000004"))
    decode(HEAD + H("1f04357c694c"))
    warm, again = error(), error()
    assert str(warm) == str(again) == str(cold)
    assert (warm.offset, warm.ie) == (again.offset, again.ie) == (offset, ie)


def test_a_bad_ie_is_refused_after_the_same_ie_was_parsed_well():
    assert decode(HEAD + H("0b020002")).ie(IEType.VERSION) == 2
    with pytest.raises(DecodeError, match="offset 16, IE VERSION: data length 1, expected 2"):
        decode(HEAD + H("0b020002") + H("0b0101"))


def test_values_come_back_typed_from_the_memo():
    # AUTHMETHODS (14) = md5 (2); DATETIME 0x357c694c = 2026-11-28 13:10:24 (§8.6.28 fields)
    frame = HEAD + H("0e020002") + H("1f04357c694c")
    for _ in range(3):
        f = decode(frame)
        assert type(f.ie(IEType.AUTHMETHODS)) is AuthMethod and f.ie(14) == AuthMethod.MD5
        assert f.ie(IEType.DATETIME) == dt.datetime(2026, 11, 28, 13, 10, 24)
        assert f.ies_all(IEType.AUTHMETHODS) == [AuthMethod.MD5]
        assert [ie.value for ie in f.ies] == [AuthMethod.MD5, dt.datetime(2026, 11, 28, 13, 10, 24)]
    # FORMAT and CAPABILITY share their data bytes but not their meaning
    assert IE(IEType.FORMAT, 4).value is MediaFormat.ULAW
    assert IE(IEType.CALLINGANI2, 4).value == 4 and type(IE(IEType.CALLINGANI2, 4).value) is int


def test_hand_made_ie_with_unhashable_data_is_not_refused_by_the_memo():
    odd = tuple.__new__(IE, (IEType.CALLED_NUMBER, bytearray(b"6000")))
    for _ in range(2):
        assert odd.value == "6000"


def test_memos_stay_bounded_and_right():
    limit = ies_module.MEMO_LIMIT
    for i in range(limit + 50):
        # CALLED_NUMBER (1) = the decimal digits of i: a new block and a new IE each time
        digits = str(i).encode()
        f = decode(HEAD + bytes([1, len(digits)]) + digits)
        assert f.ie(IEType.CALLED_NUMBER) == str(i)
    assert len(ies_module._BLOCK_MEMO) <= limit
    assert len(ies_module._IE_MEMO) <= limit
    assert len(ies_module._VALUES) <= limit
    assert decode(NEW).ies == [IE(11, 2), IE(1, "6000"), IE(9, MediaFormat.ULAW)]


def test_encode_ies_headers_for_every_length_edge():
    # id, length byte, data: lengths 0, 1 and 255
    assert encode_ies([IE(IEType.AUTOANSWER)]) == H("1900")  # AUTOANSWER is 0x19
    assert encode_ies([IE(200, b"x")]) == H("c801") + b"x"
    assert encode_ies((IE(IEType.CALLED_NUMBER, "9" * 255),)) == H("01ff") + b"9" * 255
    assert encode_ies([]) == b""


def test_hand_made_ie_out_of_range_is_still_refused():
    big_id = tuple.__new__(IE, (300, b""))
    with pytest.raises(Exception, match="255"):
        encode_ies([big_id])


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=30).map(lambda b: HEAD + b), min_size=1, max_size=4))
def test_warm_and_cold_decodes_agree(datagrams):
    """Whatever was decoded before, a datagram decodes (or fails) the same as from cold."""
    def outcome(data: bytes):
        try:
            f = decode(data)
        except DecodeError as err:
            return ("error", str(err))
        return ("ok", [(int(ie[0]), ie[1]) for ie in f.ies], f.encode())

    cold = []
    for data in datagrams:
        ies_module.clear_memos()
        cold.append(outcome(data))
    ies_module.clear_memos()
    warm = [outcome(data) for data in datagrams]
    again = [outcome(data) for data in datagrams]
    assert warm == cold and again == cold
    for data, result in zip(datagrams, cold):
        if result[0] == "ok":
            assert result[2] == data


def test_sent_ies_memo_stays_bounded_and_refuses_plain_tuples_when_warm():
    limit = ies_module.MEMO_LIMIT
    for i in range(limit + 50):
        digits = str(i)
        # CALLED_NUMBER (1), length, the digits (RFC 5456 §8.6.1)
        assert encode_ies([IE(IEType.CALLED_NUMBER, digits)]) == bytes([1, len(digits)]) + digits.encode()
    assert len(ies_module._WIRE) <= limit
    warm = IE(IEType.CALLED_NUMBER, "6000")
    assert encode_ies([warm, warm]) == H("0104") + b"6000" + H("0104") + b"6000"
    # a plain tuple equal to the remembered IE is still not an IE
    with pytest.raises(EncodeError, match="expected an IE"):
        encode_ies([(IEType.CALLED_NUMBER, b"6000")])  # type: ignore[list-item]
    odd = tuple.__new__(IE, (IEType.CALLED_NUMBER, bytearray(b"6000")))
    assert encode_ies([odd]) == H("0104") + b"6000"
