"""Call set-up and tear-down between two endpoints, driven only by the bytes on the wire.

Expected sequences are Asterisk <-> Asterisk call set-up as Asterisk 22 puts it on the wire
(chan_iax2.c: causes and codes it sends, its ACK rules); docs/engine.md tabulates them.
"""
from __future__ import annotations

import hashlib

import pytest

from iaxsim.dialplan import Dialplan
from iaxsim.iax2 import FullFrame, IAXSubclass as S, IEType as T, MediaFormat
from iaxsim.iax2.engine import (CallAccepted, CallAnswered, CallBusy, CallCongestion, CallHungUp,
                                CallRefused, CallRejected, CallRinging, CallStarted, DtmfReceived, Endpoint,
                                EndpointConfig, EngineError, IncomingCall, VoiceReceived)
from iaxsim.iax2.engine.wire import Wire

A = ("10.0.0.1", 4569)
B = ("10.0.0.2", 4569)
DIALPLAN = """
[default]
exten => 6000,1,Answer()
exten => 6001,1,Answer()
"""


def answering(ep: Endpoint):
    """An application that rings and answers every incoming call."""
    def handler(e, now):
        if isinstance(e, IncomingCall):
            ep.ring(e.call_id, now=now)
            ep.answer(e.call_id, now=now)
    return handler


def pair(cfg_a=None, cfg_b=None, app_b=None, **wire_kw):
    a = Endpoint(cfg_a or EndpointConfig(), seed=1)
    b = Endpoint(cfg_b or EndpointConfig(dialplan=Dialplan.from_string(DIALPLAN)), seed=2)
    w = Wire(**wire_kw)
    w.attach(A, a)
    w.attach(B, b, app_b(b) if app_b else answering(b))
    return a, b, w


def kinds(events, cls):
    return [e for e in events if isinstance(e, cls)]


def test_setup_with_calltoken_follows_asterisk_sequence():
    a, b, w = pair()
    cid = a.place_call(B, "6000", calling_number="7001", now=0.0)
    w.run(until=1.0)
    assert w.labels(A) == ["NEW", "NEW", "ACK", "ACK", "ACK"]
    assert w.labels(B) == ["CALLTOKEN", "ACCEPT", "RINGING", "ANSWER"]
    new1, token_reply, new2 = w.log[0].frame, w.log[1].frame, w.log[2].frame
    # the client appends an empty CALLTOKEN IE last, then resends with the token in its place
    assert new1.ies[-1][0] == T.CALLTOKEN and new1.ie(T.CALLTOKEN) == b""
    assert new2.ies[-1][0] == T.CALLTOKEN and new2.ie(T.CALLTOKEN) == token_reply.ie(T.CALLTOKEN)
    assert new2.ies[:-1] == new1.ies[:-1] and new2.oseqno == 0 and new2.dest_call == 0
    # the token reply is stateless: source call 1, our call number, timestamp echoed
    assert (token_reply.source_call, token_reply.dest_call) == (1, cid)
    assert token_reply.timestamp == new1.timestamp and token_reply.oseqno == 0
    assert token_reply.iseqno == 1
    ev_a = w.events[A]
    assert [type(e) for e in ev_a] == [CallAccepted, CallRinging, CallAnswered]
    assert ev_a[0].format == MediaFormat.ULAW
    incoming = kinds(w.events[B], IncomingCall)[0]
    assert (incoming.called_number, incoming.context, incoming.calling_number,
            incoming.accepted) == ("6000", "default", "7001", True)
    assert a.call_state(cid) == "up" and b.call_state(incoming.call_id) == "up"


def test_acks_echo_timestamp_and_take_oseqno_from_acked_frames_iseqno():
    a, b, w = pair()
    a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    from_b = [p.frame for p in w.sent(B)][1:]          # ACCEPT, RINGING, ANSWER
    acks = [p.frame for p in w.sent(A)][2:]
    assert [f.oseqno for f in from_b] == [0, 1, 2]
    for acked, ack in zip(from_b, acks):
        assert ack.subclass == S.ACK
        assert ack.timestamp == acked.timestamp
        assert ack.oseqno == acked.iseqno
        assert ack.iseqno == acked.oseqno + 1


def test_sequence_numbers_and_timestamps_on_the_wire():
    a, b, w = pair(latency=0.05)
    a.place_call(B, "6000", now=0.0)
    w.run(until=2.0)
    frames_b = [p.frame for p in w.sent(B)][1:]
    # B's dialog starts when the tokened NEW arrives (t=0.15): its frames are stamped from
    # there, strictly increasing (Asterisk adds 3 ms when the clock has not moved)
    ts = [f.timestamp for f in frames_b]
    assert ts == sorted(ts) and len(set(ts)) == 3 and ts[0] < 50
    assert all(f.iseqno == 1 for f in frames_b)


def test_unknown_extension_rejected_with_cause_3_and_both_sides_release():
    a, b, w = pair()
    cid = a.place_call(B, "9999", now=0.0)
    w.run(until=1.0)
    assert w.labels(B) == ["CALLTOKEN", "REJECT"]
    assert w.labels(A) == ["NEW", "NEW", "ACK"]
    reject = w.sent(B)[1].frame
    assert reject.ie(T.CAUSE) == "No such context/extension" and reject.ie(T.CAUSECODE) == 3
    assert kinds(w.events[A], CallRejected) == [CallRejected(cid, "No such context/extension", 3)]
    refused = kinds(w.events[B], CallRefused)[0]
    assert (refused.called_number, refused.code) == ("9999", 3)
    assert a.active_dialogs == 0 and b.active_dialogs == 0
    assert b.get_timer() is None and a.get_timer() is None


def test_called_context_selects_the_dialplan_context():
    plan = Dialplan.from_string("[default]\nexten => 1,1,Answer()\n[external]\n"
                                "exten => 6000,1,Answer()\n")
    a, b, w = pair(cfg_b=EndpointConfig(dialplan=plan))
    a.place_call(B, "6000", context="external", now=0.0)
    a.place_call(B, "6000", context="default", now=0.0)
    w.run(until=1.0)
    assert len(kinds(w.events[B], IncomingCall)) == 1
    assert kinds(w.events[B], IncomingCall)[0].context == "external"
    assert len(kinds(w.events[A], CallRejected)) == 1


def test_md5_authentication_success():
    cfg_b = EndpointConfig(users={"alice": "s3cret"}, allow_guest=False,
                           dialplan=Dialplan.from_string(DIALPLAN))
    a, b, w = pair(cfg_b=cfg_b)
    a.place_call(B, "6000", username="alice", secret="s3cret", now=0.0)
    w.run(until=1.0)
    assert w.labels(B) == ["CALLTOKEN", "AUTHREQ", "ACCEPT", "RINGING", "ANSWER"]
    assert w.labels(A)[:3] == ["NEW", "NEW", "AUTHREP"]
    authreq, authrep = w.sent(B)[1].frame, w.sent(A)[2].frame
    assert authreq.ie(T.AUTHMETHODS) == 2 and authreq.ie(T.USERNAME) == "alice"
    challenge = authreq.ie(T.CHALLENGE)
    assert challenge.isdigit()
    # RFC 5456 §8.6.16 / Asterisk: MD5 over challenge followed by the secret, lowercase hex
    assert authrep.ie(T.MD5_RESULT) == hashlib.md5((challenge + "s3cret").encode()).hexdigest()
    assert kinds(w.events[B], IncomingCall)[0].username == "alice"


def test_wrong_md5_gets_ack_then_reject_50():
    cfg_b = EndpointConfig(users={"alice": "s3cret"}, dialplan=Dialplan.from_string(DIALPLAN))
    a, b, w = pair(cfg_b=cfg_b)
    cid = a.place_call(B, "6000", username="alice", secret="wrong", now=0.0)
    w.run(until=1.0)
    assert w.labels(B) == ["CALLTOKEN", "AUTHREQ", "ACK", "REJECT"]
    reject = w.sent(B)[3].frame
    assert (reject.ie(T.CAUSE), reject.ie(T.CAUSECODE)) == ("No authority found", 50)
    assert kinds(w.events[A], CallRejected) == [CallRejected(cid, "No authority found", 50)]
    assert b.stats.auth_failures == 1 and b.active_dialogs == 0


def test_unknown_user_gets_a_decoy_challenge_then_reject_50():
    cfg_b = EndpointConfig(users={"alice": "s3cret"}, dialplan=Dialplan.from_string(DIALPLAN))
    a, b, w = pair(cfg_b=cfg_b)
    a.place_call(B, "6000", username="mallory", secret="guess", now=0.0)
    w.run(until=1.0)
    assert w.labels(B) == ["CALLTOKEN", "AUTHREQ", "ACK", "REJECT"]
    assert w.sent(B)[3].frame.ie(T.CAUSECODE) == 50


def test_guest_refused_when_not_allowed():
    cfg_b = EndpointConfig(allow_guest=False, dialplan=Dialplan.from_string(DIALPLAN))
    a, b, w = pair(cfg_b=cfg_b)
    a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    assert w.labels(B) == ["CALLTOKEN", "REJECT"]
    assert w.sent(B)[1].frame.ie(T.CAUSECODE) == 50


def test_user_without_secret_needs_no_challenge():
    cfg_b = EndpointConfig(users={"bob": ""}, dialplan=Dialplan.from_string(DIALPLAN))
    a, b, w = pair(cfg_b=cfg_b)
    a.place_call(B, "6000", username="bob", now=0.0)
    w.run(until=1.0)
    assert w.labels(B) == ["CALLTOKEN", "ACCEPT", "RINGING", "ANSWER"]


def test_no_common_codec_rejected_58():
    cfg_b = EndpointConfig(formats=MediaFormat.G729, preferred_format=MediaFormat.G729)
    a, b, w = pair(cfg_b=cfg_b)
    a.place_call(B, "6000", formats=MediaFormat.ULAW | MediaFormat.ALAW, now=0.0)
    w.run(until=1.0)
    reject = w.sent(B)[-1].frame
    assert (reject.subclass, reject.ie(T.CAUSE), reject.ie(T.CAUSECODE)) == (
        S.REJECT, "Unable to negotiate codec", 58)


def test_callee_picks_a_common_format_when_the_callers_preferred_one_is_not_ours():
    cfg_b = EndpointConfig(formats=MediaFormat.ALAW | MediaFormat.GSM,
                           preferred_format=MediaFormat.GSM)
    a, b, w = pair(cfg_b=cfg_b)
    a.place_call(B, "6000", now=0.0)            # FORMAT ulaw, CAPABILITY ulaw|alaw|gsm
    w.run(until=1.0)
    assert kinds(w.events[A], CallAccepted)[0].format == MediaFormat.GSM


def test_application_decides_without_dialplan_and_can_reject():
    def app(ep):
        def handler(e, now):
            if isinstance(e, IncomingCall):
                assert not e.accepted
                ep.reject(e.call_id, "No such context/extension", 3, now=now)
        return handler
    a, b, w = pair(cfg_b=EndpointConfig(), app_b=app)
    cid = a.place_call(B, "123", now=0.0)
    w.run(until=1.0)
    # B ACKs the NEW on its own (nothing else carried the new iseqno), then rejects
    assert w.labels(B) == ["CALLTOKEN", "ACK", "REJECT"]
    assert kinds(w.events[A], CallRejected) == [CallRejected(cid, "No such context/extension", 3)]


@pytest.mark.parametrize("command, event", [("busy", CallBusy), ("congestion", CallCongestion)])
def test_busy_and_congestion(command, event):
    def app(ep):
        def handler(e, now):
            if isinstance(e, IncomingCall):
                getattr(ep, command)(e.call_id, now=now)
        return handler
    a, b, w = pair(app_b=app)
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    assert w.labels(B)[-1] == command.upper()
    assert kinds(w.events[A], event) == [event(cid)]
    a.hangup(cid, cause="Normal Clearing", code=16, now=w.now)
    w.run(until=2.0)
    assert a.active_dialogs == 0 and b.active_dialogs == 0


@pytest.mark.parametrize("who", ["caller", "callee"])
def test_hangup_either_side_is_final_and_releases_call_numbers(who):
    a, b, w = pair()
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    bid = kinds(w.events[B], IncomingCall)[0].call_id
    if who == "caller":
        a.hangup(cid, now=w.now)
        hanger, other, other_id, other_addr = a, b, bid, B
    else:
        b.hangup(bid, cause="Normal Clearing", code=16, now=w.now)
        hanger, other, other_id, other_addr = b, a, cid, A
    w.run(until=3.0)
    labels = w.labels()
    assert labels[-2:] == ["HANGUP", "ACK"]
    assert kinds(w.events[other_addr], CallHungUp)[0].call_id == other_id
    assert kinds(w.events[other_addr], CallHungUp)[0].code == 16
    assert a.active_dialogs == 0 and b.active_dialogs == 0
    # both call numbers wait out the 60 s hold-off before reuse
    assert a._core.pool.held == 1 and b._core.pool.held == 1
    assert a.get_timer() is None and b.get_timer() is None
    with pytest.raises(EngineError):
        hanger.hangup(cid if hanger is a else bid, now=w.now)


def test_voice_first_full_then_mini_and_resync_on_16_bit_wrap():
    a, b, w = pair()
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    for ts in (1000, 1020, 65500, 65520, 65540, 65560):
        a.send_voice(cid, bytes([ts & 0xFF]) * 160, timestamp=ts, now=w.now)
    w.run(until=2.0)
    voice = [lbl for lbl in w.labels(A) if lbl in ("VOICE", "MINI")]
    assert voice == ["VOICE", "MINI", "MINI", "MINI", "VOICE", "MINI"]
    got = [(e.timestamp, e.payload[0], e.format) for e in kinds(w.events[B], VoiceReceived)]
    assert [g[0] for g in got] == [1000, 1020, 65500, 65520, 65540, 65560]
    assert [g[1] for g in got] == [ts & 0xFF for ts in (1000, 1020, 65500, 65520, 65540, 65560)]
    assert {g[2] for g in got} == {MediaFormat.ULAW}
    minis = [p.frame for p in w.sent(A) if p.label == "MINI"]
    assert [m.timestamp for m in minis] == [1020, 65500, 65520, 65560 & 0xFFFF]


def test_voice_timestamps_step_20ms_from_the_clock():
    a, b, w = pair()
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    for i in range(5):   # 160 bytes of ulaw = 20 ms, sent with a little scheduling jitter
        a.send_voice(cid, b"\x7f" * 160, now=1.0 + 0.02 * i + (0.003 if i % 2 else 0.0))
    w.run(until=2.0)
    ts = [e.timestamp for e in kinds(w.events[B], VoiceReceived)]
    assert [t2 - t1 for t1, t2 in zip(ts, ts[1:])] == [20, 20, 20, 20]


def test_mini_frame_before_any_full_voice_is_dropped_and_counted():
    a, b, w = pair()
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    from iaxsim.iax2 import MiniFrame
    w.inject(MiniFrame(source_call=cid, timestamp=5, payload=b"x" * 160).encode(), A, B)
    w.run(until=1.5)
    assert b.stats.mini_before_full == 1 and not kinds(w.events[B], VoiceReceived)


def test_dtmf_digits():
    a, b, w = pair()
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    for d in "12#":
        a.send_dtmf(cid, d, now=w.now)
    w.run(until=2.0)
    assert [e.digit for e in kinds(w.events[B], DtmfReceived)] == ["1", "2", "#"]
    with pytest.raises(EngineError):
        a.send_dtmf(cid, "x", now=w.now)


def test_trunked_voice_travels_in_meta_trunk_frames():
    cfg_a = EndpointConfig(trunk_peers=[B])
    a, b, w = pair(cfg_a=cfg_a)
    c1 = a.place_call(B, "6000", now=0.0)
    c2 = a.place_call(B, "6001", now=0.0)
    w.run(until=1.0)
    assert c1 >= 16384 and c2 >= 16384          # trunk calls use the upper half
    for i in range(3):
        for c in (c1, c2):
            a.send_voice(c, bytes([i]) * 160, timestamp=1000 + 20 * i, now=w.now)
        w.run(until=w.now + 0.02)
    w.run(until=2.0)
    labels = [lbl for lbl in w.labels(A) if lbl in ("VOICE", "MINI", "TRUNK")]
    assert labels[:2] == ["VOICE", "VOICE"] and "MINI" not in labels
    trunks = [p.frame for p in w.sent(A) if p.label == "TRUNK"]
    assert trunks and all(f.timestamps for f in trunks)
    assert sorted(e.source_call for f in trunks for e in f.entries) == sorted([c1, c2] * 2)
    got = kinds(w.events[B], VoiceReceived)
    assert len(got) == 6
    by_call: dict[int, list[int]] = {}
    for e in got:
        by_call.setdefault(e.call_id, []).append(e.timestamp)
    assert sorted(by_call.values()) == [[1000, 1020, 1040]] * 2


def test_frame_with_wrong_call_numbers_is_refused_with_inval_and_changes_nothing():
    a, b, w = pair()
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    bid = kinds(w.events[B], IncomingCall)[0].call_id
    bogus = FullFrame(source_call=cid + 1 if cid < 30000 else cid - 1, dest_call=bid,
                      timestamp=5000, oseqno=3, iseqno=3, subclass=S.HANGUP)
    w.inject(bogus.encode(), A, B)
    w.inject(bogus.encode(), ("10.9.9.9", 4569), B)     # right numbers, wrong address
    w.run(until=2.0)
    assert b.stats.unknown_call == 2
    assert b.call_state(bid) == "up" and not kinds(w.events[B], CallHungUp)
    invals = [p for p in w.sent(B) if p.label == "INVAL"]
    assert len(invals) == 2 and invals[0].frame.dest_call == bogus.source_call


def test_many_parallel_calls_get_distinct_call_numbers_and_all_complete():
    a, b, w = pair()
    ids = [a.place_call(B, "6000", now=0.0) for _ in range(50)]
    assert len(set(ids)) == 50 and all(2 <= i < 16384 for i in ids)
    w.run(until=1.0)
    assert len(kinds(w.events[A], CallAnswered)) == 50
    for cid in ids:
        a.hangup(cid, now=w.now)
    w.run(until=2.0)
    assert len(kinds(w.events[B], CallHungUp)) == 50
    assert a.active_dialogs == b.active_dialogs == 0


def test_commands_on_unknown_calls_or_in_wrong_state_raise_engine_error():
    a, b, w = pair()
    with pytest.raises(EngineError, match="no call"):
        a.answer(1234, now=0.0)
    cid = a.place_call(B, "6000", now=0.0)
    with pytest.raises(EngineError, match="called side"):
        a.answer(cid, now=0.0)
    with pytest.raises(EngineError, match="wait_reply"):
        a.send_voice(cid, b"x", now=0.0)


def test_auto_answer_policy_answers_existing_extensions_from_the_dialplan():
    cfg_b = EndpointConfig(dialplan=Dialplan.from_string(DIALPLAN), auto_answer=True)
    a, b, w = pair(cfg_b=cfg_b, app_b=lambda ep: (lambda e, now: None))
    ok = a.place_call(B, "6001", now=0.0)
    bad = a.place_call(B, "7000", now=0.0)
    w.run(until=1.0)
    assert kinds(w.events[A], CallAnswered) == [CallAnswered(ok)]
    assert kinds(w.events[A], CallRejected) == [CallRejected(bad, "No such context/extension", 3)]
    # the ANSWER waits for A's ACK of the ACCEPT (the dialplan starts only then), so the
    # REJECT of the second call, sent at once, goes out before it
    assert [lbl for lbl in w.labels(B) if lbl != "CALLTOKEN"] == ["ACCEPT", "REJECT", "ANSWER"]


def test_trunk_frames_without_per_call_timestamps():
    cfg_a = EndpointConfig(trunk_peers=[B], trunk_timestamps=False)
    a, b, w = pair(cfg_a=cfg_a)
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    for i in range(3):
        a.send_voice(cid, bytes([i]) * 160, now=w.now)
        w.run(until=w.now + 0.02)
    w.run(until=2.0)
    trunks = [p.frame for p in w.sent(A) if p.label == "TRUNK"]
    assert trunks and not any(f.timestamps for f in trunks)
    assert all(e.timestamp is None for f in trunks for e in f.entries)
    assert [e.payload[0] for e in kinds(w.events[B], VoiceReceived)] == [0, 1, 2]


def test_readme_example_output():
    """The README's engine example prints what the README says it prints."""
    plan = Dialplan.from_string("[default]\nexten => 6000,1,Answer()\n")
    a = Endpoint(EndpointConfig(), seed=1)
    b = Endpoint(EndpointConfig(dialplan=plan, users={"alice": "s3cret"}), seed=2)
    wire = Wire(latency=0.02, loss=0.05, seed=3)
    wire.attach(("10.0.0.1", 4569), a)
    wire.attach(("10.0.0.2", 4569), b,
                lambda e, now: b.answer(e.call_id, now=now) if isinstance(e, IncomingCall) else None)
    call = a.place_call(("10.0.0.2", 4569), "6000", username="alice", secret="s3cret", now=0.0)
    wire.run(until=5.0)
    # B's ANSWER waits for A's ACK of the ACCEPT; the seed loses that ACK, so B resends ACCEPT
    assert wire.labels() == ["NEW", "CALLTOKEN", "NEW", "AUTHREQ", "AUTHREP", "ACCEPT", "ACK",
                             "ACCEPT", "ACK", "ANSWER", "ACK"]
    assert wire.events[("10.0.0.1", 4569)] == [CallAccepted(call, 4), CallAnswered(call)]
    assert call == 2203


def test_crossing_hangups_release_both_sides_without_extra_events():
    a, b, w = pair(latency=0.05)
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    bid = kinds(w.events[B], IncomingCall)[0].call_id
    a.hangup(cid, now=w.now)
    b.hangup(bid, now=w.now)             # both HANGUPs are in flight at once
    w.run(until=40.0)
    assert not kinds(w.events[A], CallHungUp) and not kinds(w.events[B], CallHungUp)
    assert a.active_dialogs == 0 and b.active_dialogs == 0
    assert a.stats.gave_up == 0 and b.stats.gave_up == 0


def test_callee_side_voice_toward_a_trunk_peer_is_trunked_too():
    cfg_b = EndpointConfig(dialplan=Dialplan.from_string(DIALPLAN), trunk_peers=[A])
    a, b, w = pair(cfg_b=cfg_b)
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    bid = kinds(w.events[B], IncomingCall)[0].call_id
    assert bid >= 16384
    for i in range(3):
        b.send_voice(bid, bytes([i]) * 160, now=w.now)
        w.run(until=w.now + 0.02)
    w.run(until=2.0)
    assert [lbl for lbl in w.labels(B) if lbl in ("VOICE", "MINI", "TRUNK")][:1] == ["VOICE"]
    assert "MINI" not in w.labels(B) and "TRUNK" in w.labels(B)
    assert [e.payload[0] for e in kinds(w.events[A], VoiceReceived)] == [0, 1, 2]
    assert [e.call_id for e in kinds(w.events[A], VoiceReceived)] == [cid] * 3


def test_called_side_answers_only_after_the_callers_ack_of_accept():
    """Asterisk starts the called side's dialplan when the caller's ACK of ACCEPT arrives: with
    20 ms one-way latency a call answered at once rings through after 6 one-way trips (NEW,
    CALLTOKEN, NEW, ACCEPT, ACK, ANSWER) = 120 ms, not 4."""
    answered_at = []
    a, b, w = pair(latency=0.02)
    w.handlers[A] = lambda e, now: answered_at.append(now) if isinstance(e, CallAnswered) else None
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    assert answered_at == [pytest.approx(0.120)]
    sent_b = {p.label: p.sent for p in w.sent(B)}
    acks_a = [p.sent for p in w.sent(A) if p.label == "ACK"]
    assert sent_b["ACCEPT"] == pytest.approx(0.060)                        # second NEW in
    assert acks_a[0] == pytest.approx(0.080)                                # ACCEPT in
    assert sent_b["RINGING"] == sent_b["ANSWER"] == pytest.approx(0.100)   # the ACK in
    started = [e for e in w.events[B] if isinstance(e, CallStarted)]
    assert len(started) == 1 and a.call_state(cid) == "up"


def test_an_implicit_acknowledgement_of_accept_does_not_start_the_called_side():
    """A later frame whose iseqno covers ACCEPT stops its resends, but only an explicit ACK
    starts the dialplan (Asterisk 22, observed): the held ANSWER is not sent."""
    a, b, w = pair(latency=0.01)
    w.add_filter(lambda p: "drop" if p.src == A and p.label == "ACK" else None)
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=0.1)
    a.send_dtmf(cid, "5", now=w.now)      # carries iseqno 1: acknowledges the ACCEPT
    w.run(until=10.0)
    labels_b = w.labels(B)
    assert labels_b.count("ACCEPT") == 1 and "ANSWER" not in labels_b and "RINGING" not in labels_b
    assert not [e for e in w.events[B] if isinstance(e, CallStarted)]
