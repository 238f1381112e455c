"""Bad input never escapes the engine as an exception: it is counted (DESIGN principle 6)."""
from __future__ import annotations

import struct

from hypothesis import given, settings, strategies as st

from iaxsim.dialplan import Dialplan
from iaxsim.iax2 import FullFrame, IAXSubclass as S, IE, IEType as T, decode
from iaxsim.iax2.engine import Endpoint, EndpointConfig, IncomingCall
from iaxsim.iax2.engine.wire import Wire

A = ("10.0.0.1", 4569)
B = ("10.0.0.2", 4569)
PLAN = Dialplan.from_string("[default]\nexten => 6000,1,Answer()\n")


def live_pair():
    a = Endpoint(EndpointConfig(calltoken_optional=["10.0.0.0/8"]), seed=61)
    b = Endpoint(EndpointConfig(dialplan=PLAN, calltoken_optional=["10.0.0.0/8"]), seed=62)
    w = Wire()
    w.attach(A, a)
    w.attach(B, b, lambda e, now: b.answer(e.call_id, now=now)
             if isinstance(e, IncomingCall) else None)
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    return a, b, w, cid


A_PAIR = live_pair()
SAMPLES = [p.data for p in A_PAIR[2].log]


def test_truncated_and_empty_datagrams_are_counted_as_garbage():
    b = Endpoint(EndpointConfig(), seed=1)
    for data in (b"", b"\x80", b"\x80\x01\x00\x00\x00\x00\x00\x00\x00\x00\x06", b"\x00\x00\x81"):
        b.receive_datagram(data, A, now=0.0)
    assert b.stats.garbage == 4 and b.stats.datagrams_received == 4
    assert b.datagrams_to_send(0.0) == []


def test_unknown_iax_subclass_in_a_call_gets_unsupport():
    a, b, w, cid = live_pair()
    call_b = next(iter(b._core.dialogs.values()))
    f = FullFrame(source_call=cid, dest_call=call_b.callno, timestamp=900,
                  oseqno=call_b.iseqno, iseqno=call_b.oseqno, subclass=99)
    w.inject(f.encode(), A, B)
    w.run(until=2.0)
    reply = [p.frame for p in w.sent(B) if p.label == "UNSUPPORT"]
    assert len(reply) == 1 and reply[0].ie(T.IAX_UNKNOWN) == 99


def test_frames_for_unknown_calls_are_counted():
    b = Endpoint(EndpointConfig(), seed=2)
    b.receive_datagram(FullFrame(source_call=5, dest_call=77, subclass=S.ACK).encode(), A, 0.0)
    b.receive_datagram(FullFrame(source_call=5, dest_call=0, subclass=S.ACCEPT).encode(), A, 0.0)
    b.receive_datagram(b"\x00\x05\x00\x10" + b"x" * 20, A, 0.0)           # mini frame
    assert b.stats.unknown_call == 3 and b.active_dialogs == 0
    assert b.datagrams_to_send(0.0) == []     # no INVAL for an ACK or for dest_call 0


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=80))
def test_random_bytes_never_raise(data):
    a, b, w, cid = A_PAIR
    before = b.stats.datagrams_received
    b.receive_datagram(data, A, now=w.now)
    b.receive_datagram(data, ("10.7.7.7", 4569), now=w.now)
    assert b.stats.datagrams_received == before + 2
    for out, _ in b.datagrams_to_send(w.now):
        decode(out)                            # whatever it answers is well formed


@settings(max_examples=300, deadline=None)
@given(index=st.integers(0, len(SAMPLES) - 1), flips=st.lists(
    st.tuples(st.integers(0, 200), st.integers(0, 7)), min_size=1, max_size=4),
    cut=st.integers(0, 200))
def test_mutated_valid_frames_never_raise(index, flips, cut):
    a, b, w, cid = A_PAIR
    raw = bytearray(SAMPLES[index])
    for pos, bit in flips:
        if pos < len(raw):
            raw[pos] ^= 1 << bit
    for target, src in ((a, B), (b, A)):
        before = target.stats.datagrams_received
        target.receive_datagram(bytes(raw[:max(cut, 1)]), src, now=w.now)
        target.receive_datagram(bytes(raw), src, now=w.now)
        assert target.stats.datagrams_received == before + 2
        for out, _ in target.datagrams_to_send(w.now):
            decode(out)


@settings(max_examples=150, deadline=None)
@given(sub=st.integers(0, 127), dest=st.integers(0, 0x7FFF), src=st.integers(1, 0x7FFF),
       oseq=st.integers(0, 255), iseq=st.integers(0, 255),
       ies=st.lists(st.sampled_from([IE(T.USERNAME, "x"), IE(T.REFRESH, 1), IE(T.CALLTOKEN, b""),
                                     IE(T.CALLTOKEN, b"1?x"), IE(T.MD5_RESULT, "ab"),
                                     IE(T.CAUSECODE, 3), IE(T.FORMAT, 4), IE(T.DPSTATUS, 1)]),
                    max_size=4))
def test_well_formed_frames_in_any_state_never_raise(sub, dest, src, oseq, iseq, ies):
    a, b, w, cid = A_PAIR
    frame = FullFrame(source_call=src, dest_call=dest, timestamp=5, oseqno=oseq, iseqno=iseq,
                      subclass=sub, ies=ies)
    before = (a.stats.datagrams_received, b.stats.datagrams_received)
    b.receive_datagram(frame.encode(), A, now=w.now)
    a.receive_datagram(frame.encode(), B, now=w.now)
    b.handle_timer(w.now + 100.0)
    assert (a.stats.datagrams_received, b.stats.datagrams_received) == (before[0] + 1,
                                                                        before[1] + 1)
    for ep in (a, b):
        while ep.next_event() is not None:
            pass
        for out, _ in ep.datagrams_to_send(w.now):
            decode(out)                        # every reply is a well-formed datagram


def test_raw_bytes_for_wrong_source_call_change_nothing():
    a, b, w, cid = live_pair()
    call_b = next(iter(b._core.dialogs.values()))
    hangup = struct.pack("!HHIBBBB", 0x8000 | (cid ^ 1), call_b.callno, 1, 0, 0, 6, 5)
    b.receive_datagram(hangup, A, now=w.now)
    assert b.call_state(call_b.callno) == "up" and b.stats.unknown_call == 1
