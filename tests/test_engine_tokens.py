"""Call tokens as Asterisk does them (chan_iax2.c, doc/IAX2-security.txt; Asterisk 22 on the wire): nothing is allocated for a request
without a valid token; the client resends its request with the token."""
from __future__ import annotations

import random
import struct

import pytest

from iaxsim.dialplan import Dialplan
from iaxsim.iax2 import IAXSubclass as S, IEType as T, decode
from iaxsim.iax2.engine import CallAnswered, CallRejected, Endpoint, EndpointConfig, IncomingCall
from iaxsim.iax2.engine.wire import Wire

A = ("10.0.0.1", 4569)
B = ("10.0.0.2", 4569)
PLAN = Dialplan.from_string("[default]\nexten => 6000,1,Answer()\n")


def setup(cfg_a=None, cfg_b=None, **kw):
    a = Endpoint(cfg_a or EndpointConfig(), seed=21)
    b = Endpoint(cfg_b or EndpointConfig(dialplan=PLAN), seed=22)
    w = Wire(**kw)
    w.attach(A, a)
    w.attach(B, b, lambda e, now: b.answer(e.call_id, now=now)
             if isinstance(e, IncomingCall) else None)
    return a, b, w


def raw_new(scallno: int, ies: bytes, ts: int = 7) -> bytes:
    """A NEW built by hand from RFC 5456 §8.1.1 (not with the codec under test)."""
    head = struct.pack("!HHIBBBB", 0x8000 | scallno, 0, ts, 0, 0, 6, 1)
    return head + ies


def ie(num: int, data: bytes) -> bytes:
    return bytes([num, len(data)]) + data


def test_request_without_token_is_refused_statelessly_when_tokens_are_required():
    a, b, w = setup(cfg_a=EndpointConfig(send_calltoken=False))
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=5.0)
    assert w.labels(B) == ["REJECT"]
    reject = w.sent(B)[0].frame
    assert reject.source_call == 1 and reject.dest_call == cid and reject.ies == []
    assert w.events[A] == [CallRejected(cid, None, None)]
    assert b.stats.dialogs_created == 0 and b.stats.token_rejects == 1


def test_token_optional_network_lets_a_tokenless_client_in():
    a, b, w = setup(cfg_a=EndpointConfig(send_calltoken=False),
                    cfg_b=EndpointConfig(dialplan=PLAN, calltoken_optional=["10.0.0.0/24"]))
    a.place_call(B, "6000", now=0.0)
    w.run(until=5.0)
    assert w.labels(A)[0] == "NEW" and w.labels(B)[:2] == ["ACCEPT", "ANSWER"]
    assert len([e for e in w.events[A] if isinstance(e, CallAnswered)]) == 1


@pytest.mark.parametrize("delay, accepted", [(9.5, True), (10.5, False)])
def test_token_lifetime(delay, accepted):
    a, b, w = setup(latency=0.01)
    # hold back the tokened resend so it arrives `delay` seconds after the token was issued
    w.add_filter(lambda p: delay - 0.01 if p.src == A and p.frame_is(S.NEW)
                 and p.frame.ie(T.CALLTOKEN) else None)
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=15.0)
    if accepted:
        assert "ACCEPT" in w.labels(B)
    else:
        assert w.labels(B)[:2] == ["CALLTOKEN", "REJECT"] and w.sent(B)[1].frame.source_call == 1
        assert w.events[A] == [CallRejected(cid, None, None)]
        assert b.stats.dialogs_created == 0


def test_token_replayed_from_another_address_is_refused():
    a, b, w = setup()
    a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    tokened = [p for p in w.sent(A) if p.frame_is(S.NEW) and p.frame.ie(T.CALLTOKEN)][0]
    w.inject(tokened.frame.replace(source_call=99).encode(), ("10.0.0.66", 4569), B)
    before = b.stats.dialogs_created
    w.run(until=2.0)
    assert b.stats.dialogs_created == before and b.stats.token_rejects == 1


def test_hand_built_new_with_empty_calltoken_gets_token_reply_bytes():
    b = Endpoint(EndpointConfig(dialplan=PLAN), seed=5)
    data = raw_new(0x123, ie(11, b"\x00\x02") + ie(1, b"6000") + ie(54, b""), ts=77)
    b.receive_datagram(data, ("192.0.2.7", 4570), now=3.0)
    (reply, dst), = b.datagrams_to_send(3.0)
    assert dst == ("192.0.2.7", 4570)
    scall, dcall, ts, oseq, iseq, ftype, sub = struct.unpack("!HHIBBBB", reply[:12])
    assert (scall, dcall, ts, oseq, iseq, ftype, sub) == (0x8001, 0x123, 77, 0, 1, 6, 40)
    assert reply[12] == 54 and reply[13] == len(reply) - 14
    stamp, q, digest = reply[14:].partition(b"?")
    assert q == b"?" and stamp == b"946684803" and len(digest) == 40
    assert b.active_dialogs == 0


def test_flood_of_tokenless_and_probe_requests_creates_no_state():
    b = Endpoint(EndpointConfig(dialplan=PLAN), seed=6)
    rng = random.Random(0)
    for i in range(10_000):
        src = (f"198.51.100.{rng.randrange(1, 255)}", rng.randrange(1024, 65535))
        ies = ie(11, b"\x00\x02") + ie(1, b"6000") + (ie(54, b"") if i % 2 else b"")
        b.receive_datagram(raw_new(rng.randrange(1, 0x7FFF), ies), src, now=i * 1e-4)
        if i % 1000 == 0:
            b.datagrams_to_send(0.0)
    b.datagrams_to_send(1.0)
    assert b.stats.dialogs_created == 0 and b.active_dialogs == 0
    assert b.stats.token_rejects == 5000 and b.stats.tokens_issued == 5000
    assert b.get_timer() is None and not b._by_peer and not b._heap


def test_stale_token_after_call_setup_does_not_reopen_the_call():
    a, b, w = setup()
    a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    tokened = [p for p in w.sent(A) if p.frame_is(S.NEW) and p.frame.ie(T.CALLTOKEN)][0]
    # a retransmission of the same NEW is a duplicate of the live call: ACKed, nothing new
    w.inject(tokened.frame.replace(retransmitted=True).encode(), A, B)
    w.run(until=2.0)
    assert b.stats.dialogs_created == 1 and b.stats.duplicates == 1
    assert len([e for e in w.events[B] if isinstance(e, IncomingCall)]) == 1


def test_tokenless_dialogs_are_capped_by_max_calls_nonvalidated():
    b = Endpoint(EndpointConfig(dialplan=PLAN, calltoken_optional=["198.51.100.0/24"],
                                max_calls_nonvalidated=5), seed=7)
    for i in range(8):
        b.receive_datagram(raw_new(100 + i, ie(11, b"\x00\x02") + ie(1, b"6000") +
                                   ie(9, b"\x00\x00\x00\x04") + ie(8, b"\x00\x00\x00\x04")),
                           ("198.51.100.1", 4569), now=0.0)
    replies = [decode(d)
               for d, _ in b.datagrams_to_send(0.0)]
    assert [r.subclass for r in replies] == [S.ACCEPT] * 5 + [S.REJECT] * 3
    assert all(r.source_call == 1 for r in replies[5:])
    assert b.active_dialogs == 5 and b.stats.nonvalidated_limit == 3
    # a caller with a token is not limited by the cap
    a = Endpoint(EndpointConfig(), seed=8)
    w = Wire()
    w.attach(A, a)
    w.attach(B, b)
    a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    assert "ACCEPT" in w.labels(B)


def test_memory_stays_flat_under_a_flood_while_a_legitimate_call_completes():
    import tracemalloc

    b = Endpoint(EndpointConfig(dialplan=PLAN), seed=9)
    a = Endpoint(EndpointConfig(), seed=10)
    rng = random.Random(1)
    w = Wire()
    w.attach(A, a)
    w.attach(B, b, lambda e, now: b.answer(e.call_id, now=now)
             if isinstance(e, IncomingCall) else None)

    def flood(n):
        for i in range(n):
            src = (f"203.0.113.{rng.randrange(1, 255)}", rng.randrange(1024, 65535))
            if i % 4 == 0:
                data = raw_new(rng.randrange(1, 0x7FFF), ie(11, b"\x00\x02") + ie(1, b"6000"))
            else:
                data = rng.randbytes(rng.randrange(0, 60))
            b.receive_datagram(data, src, now=w.now)
        b.datagrams_to_send(w.now)        # the transport sends these and forgets them

    flood(2000)                            # warm caches before measuring
    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    cid = a.place_call(B, "6000", now=w.now)
    for _ in range(5):
        flood(3000)
        w.run(until=w.now + 0.1)
    grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(base, "filename"))
    tracemalloc.stop()
    assert a.call_state(cid) == "up"
    assert b.active_dialogs == 1 and b.stats.dialogs_created == 1
    assert b.stats.token_rejects >= 3750 and b.stats.garbage > 0
    assert grown < 200_000, grown        # bytes, for 15,000 datagrams
