"""Retransmission, acknowledgement and sequencing under injected loss, duplication, delay and
reordering. Timings are Asterisk's, as observed on the wire (chan_iax2.c; docs/engine.md)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from iaxsim.dialplan import Dialplan
from iaxsim.iax2 import ControlSubclass, FrameType, IAXSubclass as S
from iaxsim.iax2.engine import (CallAccepted, CallAnswered, CallFailed, CallHungUp,
                                CallRinging, Endpoint, EndpointConfig, EngineError,
                                IncomingCall, PokeTimeout, PongReceived)
from iaxsim.iax2.engine.wire import Wire

A = ("10.0.0.1", 4569)
B = ("10.0.0.2", 4569)
PLAN = Dialplan.from_string("[default]\nexten => 6000,1,Answer()\n")
QUIET = dict(ping_interval=None, lagrq_interval=None)


def setup(app="answer", cfg_a=None, cfg_b=None, **wire_kw):
    a = Endpoint(cfg_a or EndpointConfig(**QUIET), seed=11)
    b = Endpoint(cfg_b or EndpointConfig(dialplan=PLAN, **QUIET), seed=12)
    w = Wire(**wire_kw)

    def handler(e, now):
        if isinstance(e, IncomingCall) and app == "answer":
            b.ring(e.call_id, now=now)
            b.answer(e.call_id, now=now)
    w.attach(A, a)
    w.attach(B, b, handler)
    return a, b, w


def of(events, cls):
    return [e for e in events if isinstance(e, cls)]


def drop_from(src, after=0.0):
    return lambda p: "drop" if p.src == src and p.sent >= after else None


def test_unanswered_new_is_sent_at_0_2_12_22_and_given_up_silently_at_32():
    a, b, w = setup()
    failed_at = []
    w.handlers[A] = lambda e, now: failed_at.append((e, now)) if isinstance(e, CallFailed) else None
    w.add_filter(drop_from(A))
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=100.0)
    sends = [p for p in w.sent(A)]
    assert [p.sent for p in sends] == pytest.approx([0.0, 2.0, 12.0, 22.0])
    assert [p.frame.retransmitted for p in sends] == [False, True, True, True]
    assert len({(p.frame.oseqno, p.frame.timestamp) for p in sends}) == 1
    assert len(failed_at) == 1
    event, when = failed_at[0]
    assert event == CallFailed(cid, "Max retries exceeded", 27)
    assert when == pytest.approx(32.0)
    assert a.active_dialogs == 0 and a.get_timer() is None   # nothing sent, nothing left


def test_after_a_measured_round_trip_retries_are_at_01_11_111_and_give_up_at_211():
    a, b, w = setup(latency=0.01)
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    a.ping(cid, now=w.now)
    w.run(until=2.0)
    rtt = of(w.events[A], PongReceived)[0].rtt
    assert rtt == pytest.approx(0.02, abs=0.001)    # two 10 ms hops
    failed = []
    w.handlers[A] = lambda e, now: failed.append(now) if isinstance(e, CallFailed) else None
    w.add_filter(drop_from(B, after=2.0))
    start = w.now
    a.send_dtmf(cid, "5", now=start)
    w.run(until=60.0)
    dtmf = [p.sent - start for p in w.sent(A) if p.frame.frametype == FrameType.DTMF_END]
    assert dtmf == pytest.approx([0.0, 0.1, 1.1, 11.1])   # RTO clamped to 100 ms, x10, cap 10 s
    assert failed and failed[0] - start == pytest.approx(21.1)


def test_unanswered_poke_retries_at_0_05_55_155_then_times_out():
    a = Endpoint(EndpointConfig(), seed=1)
    w = Wire()
    w.attach(A, a)
    pid = a.poke(("10.0.0.99", 4569), now=0.0)
    w.run(until=60.0)
    assert [p.sent for p in w.sent(A)] == pytest.approx([0.0, 0.5, 5.5, 15.5])
    assert w.events[A] == [PokeTimeout(pid, ("10.0.0.99", 4569))]
    assert a.active_dialogs == 0


def test_poke_answered_statelessly_with_rtt():
    a, b, w = setup(latency=0.03)
    pid = a.poke(B, now=0.0)
    w.run(until=5.0)
    assert w.labels(A) == ["POKE", "ACK"] and w.labels(B) == ["PONG"]
    pong = w.sent(B)[0].frame
    poke = w.sent(A)[0].frame
    assert pong.source_call == 1 and pong.dest_call == pid and pong.timestamp == poke.timestamp
    assert of(w.events[A], PongReceived) == [PongReceived(pid, B, pytest.approx(0.06, abs=0.002))]
    assert b.stats.dialogs_created == 0 and b.active_dialogs == 0
    assert a.active_dialogs == 0


def drop_first_ack_from(src):
    """A filter dropping the first ACK ``src`` sends (nothing after it)."""
    dropped = []

    def drop(p):
        if p.src == src and p.frame_is(S.ACK) and not dropped:
            dropped.append(p)
            return "drop"
        return None
    return drop


def test_lost_ack_for_accept_makes_accept_resend_at_2s_with_r_bit():
    a, b, w = setup(app="none")
    w.add_filter(drop_first_ack_from(A))
    a.place_call(B, "6000", now=0.0)
    w.run(until=10.0)
    accepts = [p for p in w.sent(B) if p.label == "ACCEPT"]
    assert [round(p.sent - accepts[0].sent, 3) for p in accepts] == [0.0, 2.0]
    assert [p.frame.retransmitted for p in accepts] == [False, True]
    assert accepts[0].frame.replace(retransmitted=True) == accepts[1].frame
    assert len(of(w.events[A], CallAccepted)) == 1       # the resend is a duplicate


def test_a_lost_ack_of_accept_delays_the_answer_until_the_resent_accept_is_acked():
    """The called side starts (rings, answers) only on an explicit ACK of its ACCEPT: when the
    first ACK is lost, the ANSWER waits for the ACK of the resent ACCEPT, a round trip later."""
    a, b, w = setup()                       # B rings and answers at once
    w.add_filter(drop_first_ack_from(A))
    a.place_call(B, "6000", now=0.0)
    w.run(until=5.0)
    accepts = [p for p in w.sent(B) if p.label == "ACCEPT"]
    answer = [p for p in w.sent(B) if p.label == "ANSWER"]
    assert len(accepts) == 2 and accepts[1].frame.retransmitted
    assert len(answer) == 1 and answer[0].sent == pytest.approx(accepts[1].sent + 0.02)
    assert a.stats.duplicates == 1


def test_later_frame_implicitly_acknowledges_accept():
    a, b, w = setup(app="none")
    w.add_filter(lambda p: "drop" if p.src == A and p.frame_is(S.ACK) else None)
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=0.5)
    a.send_dtmf(cid, "1", now=w.now)     # carries iseqno 1: covers ACCEPT
    w.run(until=10.0)
    assert [p.label for p in w.sent(B)].count("ACCEPT") == 1
    assert b.stats.retransmissions == 0


def test_duplicate_frame_is_acked_once_and_not_processed_again():
    a, b, w = setup()
    w.add_filter(lambda p: None)
    w.duplicate = 0.0

    def duplicate_ringing(p):
        if p.src == B and p.frame_is(ControlSubclass.RINGING, FrameType.CONTROL):
            w.inject(p.frame.replace(retransmitted=True).encode(), B, A, delay=0.05)
        return None
    w.add_filter(duplicate_ringing)
    a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    assert len(of(w.events[A], CallRinging)) == 1
    assert a.stats.duplicates == 1
    ringing = [p.frame for p in w.sent(B) if p.label == "RINGING"][0]
    acks = [p.frame for p in w.sent(A) if p.label == "ACK" and p.frame.timestamp == ringing.timestamp]
    assert len(acks) == 2                     # the normal ACK and one for the duplicate
    assert acks[1].iseqno == 3                # next expected after ACCEPT, RINGING, ANSWER


def test_frame_ahead_of_sequence_gets_vnak_and_everything_arrives_in_order():
    a, b, w = setup()
    # RINGING (B's oseqno 1) held back: the ANSWER right behind it arrives ahead of sequence
    w.add_filter(lambda p: 0.5 if p.src == B and p.frame_is(ControlSubclass.RINGING, FrameType.CONTROL)
                 and not p.frame.retransmitted else None)
    a.place_call(B, "6000", now=0.0)
    w.run(until=5.0)
    vnaks = [p.frame for p in w.sent(A) if p.label == "VNAK"]
    assert vnaks and all(v.oseqno == v.iseqno == 1 for v in vnaks)
    assert not any(v.retransmitted for v in vnaks)
    assert [type(e) for e in w.events[A]] == [CallAccepted, CallRinging, CallAnswered]
    assert b.stats.retransmissions >= 1       # VNAK made B resend what A discarded
    assert a.stats.out_of_order >= 1


def test_unacknowledged_hangup_is_given_up_silently():
    a, b, w = setup()
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    w.add_filter(drop_from(A, after=1.0))
    a.hangup(cid, now=w.now)
    w.run(until=40.0)
    assert [p.label for p in w.sent(A)][-4:] == ["HANGUP"] * 4
    assert not of(w.events[A], CallFailed) and a.active_dialogs == 0


def test_call_number_not_reused_within_60_seconds():
    a, b, w = setup(cfg_a=EndpointConfig(max_calls=8, **QUIET))   # call numbers 2 and 3
    first = [a.place_call(B, "6000", now=0.0) for _ in range(2)]
    with pytest.raises(EngineError, match="no call number"):
        a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    for cid in first:
        a.hangup(cid, now=w.now)
    w.run(until=2.0)
    with pytest.raises(EngineError):
        a.place_call(B, "6000", now=50.0)
    w.now = 62.0
    again = a.place_call(B, "6000", now=62.0)
    assert again in first


def _run_faulty(seed: int, loss: float, dup: float, jitter: float, calls: int = 4):
    cfg_a = EndpointConfig()
    cfg_b = EndpointConfig(dialplan=PLAN)
    a, b = Endpoint(cfg_a, seed=seed), Endpoint(cfg_b, seed=seed + 1)
    w = Wire(latency=0.02, seed=seed, loss=loss, duplicate=dup, jitter=jitter, keep_log=False)

    def app_b(e, now):
        if isinstance(e, IncomingCall) and b.call_state(e.call_id) is not None:
            b.answer(e.call_id, now=now)
    w.attach(A, a)
    w.attach(B, b, app_b)
    ids = [a.place_call(B, "6000", now=0.0) for _ in range(calls)]
    w.run(until=40.0)
    for cid in ids:
        if a.call_state(cid) is not None:
            a.hangup(cid, now=w.now)
    w.run(until=400.0)
    return a, b, w, ids


@pytest.mark.parametrize("seed", range(4))
def test_calls_survive_loss_duplication_and_reordering(seed):
    a, b, w, ids = _run_faulty(seed, loss=0.15, dup=0.1, jitter=0.08)
    answered = {e.call_id for e in of(w.events[A], CallAnswered)}
    failed = {e.call_id for e in of(w.events[A], CallFailed)}
    assert answered | failed == set(ids) and not answered & failed
    assert len(answered) >= 3
    for e in of(w.events[A], CallFailed):
        assert e.code == 27
    # every dialog is gone on both sides once hang-ups, INVALs and give-ups have played out
    assert a.active_dialogs == 0 and b.active_dialogs == 0
    assert w.dropped > 0


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), loss=st.floats(0.0, 0.3), dup=st.floats(0.0, 0.3),
       jitter=st.floats(0.0, 0.2))
def test_property_faulty_network_leaves_no_dialog_behind(seed, loss, dup, jitter):
    a, b, w, ids = _run_faulty(seed, loss, dup, jitter, calls=2)
    failed = [e.call_id for e in of(w.events[A], CallFailed)]
    assert len(failed) == len(set(failed)) and set(failed) <= set(ids)
    assert len(of(w.events[A], CallAnswered)) <= len(ids)
    assert a.active_dialogs == 0 and b.active_dialogs == 0
    for e in w.events[B]:
        if isinstance(e, CallHungUp):
            assert e.code in (16, None)


def test_ack_acknowledges_by_iseqno_even_without_echoed_timestamp():
    """iaxmodem does not echo a timestamp of 0 in its ACKs (libiax2): acknowledgement
    goes by sequence number, so such an ACK still stops the retransmissions."""
    from iaxsim.iax2 import FullFrame
    b = Endpoint(EndpointConfig(dialplan=PLAN, calltoken_optional=["10.0.0.0/8"], **QUIET),
                 seed=3)
    from iaxsim.iax2 import IE, IEType, MediaFormat
    new = FullFrame(source_call=9, dest_call=0, timestamp=0, subclass=S.NEW,
                    ies=[IE(IEType.CALLED_NUMBER, "6000"), IE(IEType.FORMAT, MediaFormat.ULAW),
                         IE(IEType.CAPABILITY, MediaFormat.ULAW)])
    b.receive_datagram(new.encode(), A, now=0.0)
    (accept, _), = b.datagrams_to_send(0.0)
    from iaxsim.iax2 import decode
    acc = decode(accept)
    assert acc.subclass == S.ACCEPT and b.get_timer() == pytest.approx(2.0)
    ack = FullFrame(source_call=9, dest_call=acc.source_call, timestamp=12345, oseqno=1,
                    iseqno=1, subclass=S.ACK)
    b.receive_datagram(ack.encode(), A, now=0.1)
    b.handle_timer(5.0)
    assert b.datagrams_to_send(5.0) == [] and b.stats.retransmissions == 0


@pytest.mark.parametrize("seed", [0, 1])
def test_sequence_numbers_wrap_past_255_under_loss_and_reordering(seed):
    """600 reliable frames each way: every one delivered exactly once and in order across
    two and a half wraps of the 8-bit sequence space (RFC 5456 §7: numbers are mod 256)."""
    from iaxsim.iax2.engine import DtmfReceived
    a, b, w = setup(loss=0.1, jitter=0.03, duplicate=0.05, seed=seed, keep_log=False)
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    while a.call_state(cid) != "up" and w.now < 30.0:  # a lost ACK of ACCEPT delays the answer
        w.run(until=w.now + 0.5)
    bid = of(w.events[B], IncomingCall)[0].call_id
    digits = "0123456789*#ABCD"
    sent = [digits[i % len(digits)] for i in range(600)]
    for i, d in enumerate(sent):
        a.send_dtmf(cid, d, now=w.now)
        b.send_dtmf(bid, d, now=w.now)
        if i % 8 == 7:                    # at most 8 frames in flight each way
            w.run(until=w.now + 0.5)
    w.run(until=w.now + 60.0)
    assert [e.digit for e in of(w.events[B], DtmfReceived)] == sent
    assert [e.digit for e in of(w.events[A], DtmfReceived)] == sent
    assert a.call_state(cid) == "up" and b.call_state(bid) == "up"
    assert a.stats.retransmissions > 0 and a.stats.duplicates > 0


def test_auto_congest_for_a_qualified_peer_after_twice_maxtime():
    """chan_iax2 with qualify: ping time maxms/2 (so the NEW is resent after maxms) and
    CONTROL_CONGESTION to the channel at 2 x maxms without an answer (chan_iax2.c auto_congest)."""
    from iaxsim.iax2.engine import CallCongestion
    a, b, w = setup()
    w.add_filter(drop_from(A))
    seen = []
    w.handlers[A] = lambda e, now: seen.append((e, now))
    cid = a.place_call(B, "6000", maxtime=2.0, now=0.0)
    w.run(until=4.5)
    assert seen == [(CallCongestion(cid), pytest.approx(4.0))]
    assert [round(p.sent, 3) for p in w.sent(A)] == [0.0, 2.0]      # RTO = maxtime
    a.hangup(cid, now=w.now)
    # an answered call is not congested
    a2, b2, w2 = setup()
    c2 = a2.place_call(B, "6000", maxtime=2.0, now=0.0)
    w2.run(until=10.0)
    assert not of(w2.events[A], CallCongestion) and a2.call_state(c2) == "up"


def test_an_acknowledged_frame_leaves_no_timer_behind():
    """Once the PING is answered, nothing is left to retransmit and no ping timer is
    configured: the endpoint has nothing to wake up for (RFC 5456 §7: a frame is
    retransmitted only until acknowledged)."""
    a, b, w = setup(latency=0.01)
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    assert a.get_timer() is None
    a.ping(cid, now=1.0)
    assert a.get_timer() is not None          # the PING waits for its acknowledgement
    w.run(until=2.0)
    assert of(w.events[A], PongReceived)      # the PONG acknowledged it
    assert a.get_timer() is None


def test_wire_clock_reaches_until_when_idle():
    a, b, w = setup(latency=0.01)
    assert w.run(until=5.0) == 5.0 and w.now == 5.0
