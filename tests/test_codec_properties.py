"""Property tests: generated frames of every kind round-trip; random and mutated bytes raise
only DecodeError (and whatever decodes re-encodes to the same bytes and renders as JSON)."""
from __future__ import annotations

import datetime as dt
import ipaddress
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iaxsim.iax2 import (IE, IE_TABLE, DecodeError, FrameType, FullFrame, IEType,
                         MiniFrame, TrunkEntry, TrunkFrame, VideoFrame, decode)

SETTINGS = settings(deadline=None, max_examples=200,
                    suppress_health_check=[HealthCheck.too_slow])

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
text = st.binary(max_size=40).map(lambda b: b.decode("utf-8", "surrogateescape"))
datetimes = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2127, 12, 31, 23, 59, 58)
                         ).map(lambda d: d.replace(microsecond=0, second=d.second - d.second % 2))
addrs = st.one_of(
    st.tuples(st.ip_addresses(v=4).map(str), u16),
    st.tuples(st.ip_addresses(v=6).map(str), u16),
)

KIND_STRATEGY = {
    "str": text, "raw": st.binary(max_size=40), "token": st.binary(max_size=60),
    "empty": st.just(b""), "u8": u8, "u16": u16, "u32": u32,
    "format2": st.integers(0, (1 << 64) - 1), "sockaddr": addrs, "datetime": datetimes,
    "osp": st.tuples(u8, st.binary(max_size=40)),
}


def _value_strategy(spec):
    return KIND_STRATEGY[spec.kind.name]


known_ies = st.sampled_from(IE_TABLE).flatmap(
    lambda spec: _value_strategy(spec).map(lambda v, s=spec: (s.id, v)))
unknown_ies = st.tuples(st.integers(58, 255), st.binary(max_size=30))


@st.composite
def ie_lists(draw):
    pairs = draw(st.lists(st.one_of(known_ies, unknown_ies), max_size=12))
    return [IE(i, v) for i, v in pairs]


subclass_values = st.one_of(st.integers(0, 127), st.integers(0, 63).map(lambda k: 1 << k),
                            st.just(-1))


@st.composite
def full_frames(draw):
    ftype = draw(st.sampled_from(list(range(0, 14)) + [200]))
    common = dict(source_call=draw(st.integers(0, 0x7FFF)), dest_call=draw(st.integers(0, 0x7FFF)),
                  timestamp=draw(u32), oseqno=draw(u8), iseqno=draw(u8), frametype=ftype,
                  retransmitted=draw(st.booleans()))
    if ftype == FrameType.IAX:
        return FullFrame(subclass=draw(st.integers(0, 127)), ies=draw(ie_lists()), **common)
    if ftype == FrameType.VIDEO:
        sub = draw(st.one_of(st.integers(0, 63), st.integers(16, 63).map(lambda k: 1 << k)))
        # 2**63 with the marker is unrepresentable (byte 0xFF); test_codec_vectors checks the refusal
        marker = draw(st.booleans()) and sub != 1 << 63
        return FullFrame(subclass=sub, marker=marker,
                         payload=draw(st.binary(max_size=60)), **common)
    return FullFrame(subclass=draw(subclass_values), payload=draw(st.binary(max_size=60)), **common)


minis = st.builds(MiniFrame, source_call=st.integers(1, 0x7FFF), timestamp=u16,
                  payload=st.binary(max_size=200))
videos = st.builds(VideoFrame, source_call=st.integers(0, 0x7FFF), timestamp=st.integers(0, 0x7FFF),
                   marker=st.booleans(), payload=st.binary(max_size=60))


@st.composite
def trunks(draw):
    with_ts = draw(st.booleans())
    entries = draw(st.lists(st.builds(
        TrunkEntry, source_call=st.integers(0, 0x7FFF), payload=st.binary(max_size=60),
        timestamp=u16 if with_ts else st.none()), max_size=8))
    return TrunkFrame(timestamp=draw(u32), timestamps=with_ts, entries=entries)


any_frame = st.one_of(full_frames(), minis, videos, trunks())


@SETTINGS
@given(any_frame)
def test_generated_frames_round_trip(frame):
    data = frame.encode()
    back = decode(data)
    assert back == frame
    assert back.encode() == data
    json.dumps(back.to_json())


@SETTINGS
@given(st.lists(known_ies, min_size=1, max_size=6))
def test_ie_values_round_trip(pairs):
    frame = FullFrame(ies=[IE(i, v) for i, v in pairs])
    back = decode(frame.encode())
    for (i, v), ie in zip(pairs, back.ies):
        got = ie.value
        if i == IEType.APPARENT_ADDR:
            assert (got.ip, got.port) == (ipaddress.ip_address(v[0]), v[1])
        elif i == IEType.CALLTOKEN or isinstance(v, (bytes, str, int, dt.datetime)):
            assert got == v
        else:
            assert tuple(got) == tuple(v)


def _check_total(data: bytes) -> None:
    try:
        frame = decode(data)
    except DecodeError as err:
        assert str(err)
        return
    assert frame.encode() == data
    json.dumps(frame.to_json())
    frame.describe()
    if isinstance(frame, FullFrame):
        for ie in frame.ies:
            ie.value, ie.text()
        frame.replace(retransmitted=not frame.retransmitted).encode()


@SETTINGS
@given(st.binary(max_size=80))
def test_random_bytes_only_raise_decode_error(data):
    _check_total(data)


@SETTINGS
@given(st.binary(min_size=1, max_size=40).map(lambda b: b"\x80" + b))
def test_random_full_frames_only_raise_decode_error(data):
    _check_total(data)


@SETTINGS
@given(st.binary(max_size=60).map(lambda b: b"\x80\x01\x00\x00\x00\x00\x00\x00\x00\x00\x06\x01" + b))
def test_random_ie_walks_only_raise_decode_error(data):
    _check_total(data)


@SETTINGS
@given(any_frame, st.data())
def test_mutated_frames_only_raise_decode_error(frame, data):
    raw = bytearray(frame.encode())
    op = data.draw(st.sampled_from(["flip", "truncate", "extend", "overwrite"]))
    if op == "flip" and raw:
        for _ in range(data.draw(st.integers(1, 4))):
            pos = data.draw(st.integers(0, len(raw) - 1))
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
    elif op == "truncate":
        raw = raw[:data.draw(st.integers(0, len(raw)))]
    elif op == "extend":
        raw += data.draw(st.binary(min_size=1, max_size=20))
    elif raw:
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(u8)
    _check_total(bytes(raw))
