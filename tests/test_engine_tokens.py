"""Call tokens as Asterisk does them (chan_iax2.c, doc/IAX2-security.txt; Asterisk 22 on the wire): nothing is allocated for a request
without a valid token; the client resends its request with the token."""
from __future__ import annotations

import random
import struct

import pytest

from iaxsim.dialplan import Dialplan
from iaxsim.errors import ConfigError
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
    assert b.get_timer() is None and not b._core.by_peer and not b._core.heap


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


# --- requirecalltoken per user / peer --------------------------------------------------------
# Expected behaviour hand-derived from chan_iax2.c (Asterisk 13+ revision): calltoken_required()
# looks the NEW's USERNAME up among users ("guest" when it names none), a REGREQ/REGREL's among
# peers; "no" and "auto" let a token-less request in, "yes" refuses it, and only a name with no
# setting falls back to calltokenoptional. handle_call_token() validates any token that is sent
# (whatever the setting), answers an empty CALLTOKEN IE with a token, and on a valid token
# requirecalltoken_mark_auto() turns the named user's (NEW) or peer's (REG*) "auto" into "yes".
# A token-less request let in this way is not validated: it counts against
# maxcallnumbers_nonvalidated like one from a calltokenoptional network.

ULAW = b"\x00\x00\x00\x04"


def new_ies(user: bytes | None = None, token: bytes | None = None) -> bytes:
    """VERSION 2, CALLED_NUMBER 6000, [USERNAME], FORMAT and CAPABILITY ulaw, [CALLTOKEN last]."""
    ies = ie(11, b"\x00\x02") + ie(1, b"6000") + (ie(6, user) if user is not None else b"")
    ies += ie(9, ULAW) + ie(8, ULAW)
    return ies + (ie(54, token) if token is not None else b"")


def raw_regreq(scallno: int, user: bytes, token: bytes | None = None) -> bytes:
    """A REGREQ (IAX subclass 13) built by hand: USERNAME, REFRESH 60, [CALLTOKEN]."""
    head = struct.pack("!HHIBBBB", 0x8000 | scallno, 0, 3, 0, 0, 6, 13)
    return head + ie(6, user) + ie(19, b"\x00\x3c") + (ie(54, token) if token is not None else b"")


def exchange(ep: Endpoint, data: bytes, src, now: float = 0.0) -> list:
    """Feed one datagram; the decoded replies it caused."""
    ep.receive_datagram(data, src, now=now)
    return [decode(d) for d, _ in ep.datagrams_to_send(now)]


def is_stateless_refusal(frame, subclass) -> bool:
    return frame.subclass == subclass and frame.source_call == 1 and frame.ies == []


def token_for(ep: Endpoint, src, scallno: int, user: bytes | None, now: float = 0.0) -> bytes:
    """Ask for a token the way a client does: a NEW with an empty CALLTOKEN IE."""
    (reply,) = exchange(ep, raw_new(scallno, new_ies(user, b"")), src, now)
    assert reply.subclass == S.CALLTOKEN
    return reply.ie(T.CALLTOKEN)


def policy_endpoint(**kw) -> Endpoint:
    cfg = dict(dialplan=PLAN, users={"modem": "", "alice": "", "bob": ""})
    cfg.update(kw)
    return Endpoint(EndpointConfig(**cfg), seed=31)


def test_user_with_requirecalltoken_no_gets_in_without_a_token_another_user_does_not():
    b = policy_endpoint(user_calltoken_policy={"modem": "no"})
    (r,) = exchange(b, raw_new(10, new_ies(b"modem")), ("192.0.2.1", 4569))
    assert r.subclass == S.ACCEPT and r.dest_call == 10
    (r,) = exchange(b, raw_new(11, new_ies(b"alice")), ("192.0.2.2", 4569))
    assert is_stateless_refusal(r, S.REJECT) and r.dest_call == 11
    # no USERNAME: looked up as "guest", which has no setting -> tokens required
    (r,) = exchange(b, raw_new(12, new_ies()), ("192.0.2.3", 4569))
    assert is_stateless_refusal(r, S.REJECT)
    assert b.stats.dialogs_created == 1 and b.stats.token_rejects == 2


def test_guest_setting_covers_a_new_that_names_no_user():
    b = policy_endpoint(user_calltoken_policy={"guest": "no"})
    (r,) = exchange(b, raw_new(12, new_ies()), ("192.0.2.3", 4569))
    assert r.subclass == S.ACCEPT
    # an empty USERNAME is looked up as "guest" too: past the gate, a dialog answers it
    (r,) = exchange(b, raw_new(13, new_ies(b"")), ("192.0.2.4", 4569))
    assert r.source_call != 1 and r.dest_call == 13
    assert b.stats.dialogs_created == 2 and b.stats.token_rejects == 0


def test_user_policy_is_not_consulted_for_registration_and_peer_policy_not_for_calls():
    b = policy_endpoint(user_calltoken_policy={"modem": "no"})
    (r,) = exchange(b, raw_regreq(20, b"modem"), ("192.0.2.1", 4570))
    assert is_stateless_refusal(r, S.REGREJ) and r.dest_call == 20
    b = policy_endpoint(peer_calltoken_policy={"modem": "no"})
    (r,) = exchange(b, raw_new(21, new_ies(b"modem")), ("192.0.2.1", 4569))
    assert is_stateless_refusal(r, S.REJECT)
    (r,) = exchange(b, raw_regreq(22, b"modem"), ("192.0.2.1", 4570))
    assert r.subclass == S.REGACK and r.dest_call == 22          # no secret: granted at once


def test_auto_lets_token_less_news_in_until_that_user_once_sends_a_valid_token():
    b = policy_endpoint(user_calltoken_policy={"bob": "auto", "alice": "auto"})
    (r,) = exchange(b, raw_new(30, new_ies(b"bob")), ("192.0.2.5", 4569))
    assert r.subclass == S.ACCEPT
    (r,) = exchange(b, raw_new(31, new_ies(b"bob")), ("192.0.2.5", 4569))
    assert r.subclass == S.ACCEPT                                  # still no token seen
    # a valid token from a request naming nobody, or naming alice, leaves bob alone
    tok = token_for(b, ("192.0.2.6", 4569), 32, None)
    (r,) = exchange(b, raw_new(32, new_ies(None, tok)), ("192.0.2.6", 4569))
    assert r.subclass == S.ACCEPT
    tok = token_for(b, ("192.0.2.6", 4569), 33, b"alice")
    (r,) = exchange(b, raw_new(33, new_ies(b"alice", tok)), ("192.0.2.6", 4569))
    assert r.subclass == S.ACCEPT
    (r,) = exchange(b, raw_new(34, new_ies(b"bob")), ("192.0.2.5", 4569))
    assert r.subclass == S.ACCEPT
    # bob's own tokened NEW (from any address) switches bob to "yes"
    tok = token_for(b, ("198.51.100.9", 4569), 35, b"bob")
    (r,) = exchange(b, raw_new(35, new_ies(b"bob", tok)), ("198.51.100.9", 4569))
    assert r.subclass == S.ACCEPT
    (r,) = exchange(b, raw_new(36, new_ies(b"bob")), ("192.0.2.5", 4569))
    assert is_stateless_refusal(r, S.REJECT)
    # ...and so is alice, whose tokened NEW came earlier
    (r,) = exchange(b, raw_new(37, new_ies(b"alice")), ("192.0.2.7", 4569))
    assert is_stateless_refusal(r, S.REJECT)
    assert b.stats.token_rejects == 2


def test_auto_peer_flips_on_a_tokened_registration_not_on_a_tokened_call():
    b = policy_endpoint(user_calltoken_policy={"modem": "no"},
                        peer_calltoken_policy={"modem": "auto"})
    src = ("192.0.2.8", 4570)
    # a tokened NEW naming modem: user table, which says "no" -- the peer stays "auto"
    tok = token_for(b, src, 40, b"modem")
    (r,) = exchange(b, raw_new(40, new_ies(b"modem", tok)), src)
    assert r.subclass == S.ACCEPT
    (r,) = exchange(b, raw_regreq(41, b"modem"), src)
    assert r.subclass == S.REGACK
    (reply,) = exchange(b, raw_regreq(42, b"modem", b""), src)   # empty IE: a token comes back
    assert reply.subclass == S.CALLTOKEN
    (r,) = exchange(b, raw_regreq(42, b"modem", reply.ie(T.CALLTOKEN)), src)
    assert r.subclass == S.REGACK
    (r,) = exchange(b, raw_regreq(43, b"modem"), src)
    assert is_stateless_refusal(r, S.REGREJ)
    (r,) = exchange(b, raw_new(44, new_ies(b"modem")), src)       # the user is still "no"
    assert r.subclass == S.ACCEPT


def test_explicit_yes_overrides_a_calltokenoptional_network():
    b = policy_endpoint(calltoken_optional=["192.0.2.0/24"],
                        user_calltoken_policy={"alice": "yes"})
    (r,) = exchange(b, raw_new(50, new_ies(b"alice")), ("192.0.2.1", 4569))
    assert is_stateless_refusal(r, S.REJECT)
    (r,) = exchange(b, raw_new(51, new_ies(b"bob")), ("192.0.2.1", 4569))
    assert r.subclass == S.ACCEPT                                 # bob has no setting
    (r,) = exchange(b, raw_new(52, new_ies(b"bob")), ("203.0.113.1", 4569))
    assert is_stateless_refusal(r, S.REJECT)                      # ...outside the network


def test_tokens_offered_under_no_are_still_issued_and_checked():
    b = policy_endpoint(user_calltoken_policy={"modem": "no"})
    src = ("192.0.2.1", 4569)
    (r,) = exchange(b, raw_new(60, new_ies(b"modem", b"")), src)
    assert r.subclass == S.CALLTOKEN and r.source_call == 1
    (r,) = exchange(b, raw_new(61, new_ies(b"modem", b"946684800?" + b"0" * 40)), src)
    assert is_stateless_refusal(r, S.REJECT)
    assert b.stats.dialogs_created == 0


def test_token_less_calls_let_in_by_policy_count_as_nonvalidated():
    b = policy_endpoint(user_calltoken_policy={"modem": "no"}, max_calls_nonvalidated=2)
    replies = [exchange(b, raw_new(70 + i, new_ies(b"modem")), ("192.0.2.1", 4569))[0]
               for i in range(3)]
    assert [r.subclass for r in replies] == [S.ACCEPT, S.ACCEPT, S.REJECT]
    assert is_stateless_refusal(replies[2], S.REJECT) and b.stats.nonvalidated_limit == 1


def test_engine_client_without_tokens_calls_a_user_with_no_through_the_wire():
    a, b, w = setup(cfg_a=EndpointConfig(send_calltoken=False),
                    cfg_b=EndpointConfig(dialplan=PLAN, users={"modem": "pw"},
                                         user_calltoken_policy={"modem": "no"}))
    cid = a.place_call(B, "6000", now=0.0, username="modem", secret="pw")
    w.run(until=5.0)
    assert w.labels(B)[:3] == ["AUTHREQ", "ACCEPT", "ANSWER"]
    assert a.call_state(cid) == "up"


@pytest.mark.parametrize("table, words", [
    ({"modem": "maybe"}, "user_calltoken_policy['modem'] must be one of yes, no, auto"),
    ({"modem": True}, "must be one of yes, no, auto, got True"),
    ({"": "no"}, "names must be non-empty strings"),
    (["modem"], "must be a mapping"),
])
def test_calltoken_policy_is_validated(table, words):
    with pytest.raises(ConfigError) as info:
        EndpointConfig(user_calltoken_policy=table)
    assert words in str(info.value)
    with pytest.raises(ConfigError, match="peer_calltoken_policy"):
        EndpointConfig(peer_calltoken_policy=table)
