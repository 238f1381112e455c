"""DPREQ/DPREP over a "TBD" call, answered from a real Dialplan (chan_iax2.c dp_lookup; Asterisk 22's answers on the wire)."""
from __future__ import annotations

import pytest

from iaxsim.dialplan import Dialplan
from iaxsim.iax2 import DPStatus, IAXSubclass as S, IEType as T
from iaxsim.iax2.engine import (DialplanReply, DialplanTimeout, Endpoint,
                                EndpointConfig, IncomingCall)
from iaxsim.iax2.engine.wire import Wire

A = ("10.0.0.1", 4569)
B = ("10.0.0.2", 4569)
PLAN = """
[default]
exten => 6000,1,Answer()
ignorepat => 9
[external]
exten => _7XXX,1,Answer()
"""


def setup(keepalive=True, **wire_kw):
    timers = {} if keepalive else {"ping_interval": None, "lagrq_interval": None}
    a = Endpoint(EndpointConfig(**timers), seed=41)
    b = Endpoint(EndpointConfig(dialplan=Dialplan.from_string(PLAN), **timers), seed=42)
    w = Wire(**wire_kw)
    w.attach(A, a)
    w.attach(B, b)
    return a, b, w


def replies(w):
    return {e.number: e for e in w.events[A] if isinstance(e, DialplanReply)}


def test_dpstatus_values_match_asterisk():
    a, b, w = setup()
    numbers = ["6", "60", "600", "6000", "9", "7"]
    ids = {a.dial_lookup(B, n, "default", now=0.0) for n in numbers}
    w.run(until=1.0)
    assert len(ids) == 1                              # one TBD call carries every lookup
    got = replies(w)
    # Asterisk 22 on the wire: 6, 60, 600 -> 0x8002 when 6000 exists; 6000 -> 1; 9 -> 4
    assert {n: int(got[n].status) for n in ["6", "60", "600", "6000"]} == {
        "6": 0x8002, "60": 0x8002, "600": 0x8002, "6000": 0x1}
    assert got["9"].status == DPStatus.NONEXISTENT | DPStatus.IGNOREPAT   # ignorepat => 9
    assert got["7"].status == DPStatus.NONEXISTENT
    assert {e.refresh for e in got.values()} == {600}
    new = w.sent(A)[0].frame
    assert new.ie(T.CALLED_NUMBER) == "TBD" and new.ie(T.CALLED_CONTEXT) == "default"
    # the TBD call is not an incoming call for the application
    assert not [e for e in w.events[B] if isinstance(e, IncomingCall)]
    dpreps = [p.frame for p in w.sent(B) if p.label == "DPREP"]
    assert len(dpreps) == len(numbers) and all(f.ie(T.REFRESH) == 600 for f in dpreps)


def test_lookups_use_the_tbd_calls_context():
    a, b, w = setup()
    a.dial_lookup(B, "7001", "external", now=0.0)
    a.dial_lookup(B, "7001", "default", now=0.0)
    w.run(until=1.0)
    got = [e for e in w.events[A] if isinstance(e, DialplanReply)]
    statuses = sorted(int(e.status) for e in got)
    assert statuses == [int(DPStatus.EXISTS), int(DPStatus.NONEXISTENT)]
    assert len({e.call_id for e in got}) == 2         # one TBD call per context


def test_unacknowledged_dprep_is_resent_after_2s():
    a, b, w = setup()
    w.add_filter(lambda p: "drop" if p.src == A and p.frame_is(S.ACK) and p.sent > 0.03 else None)
    a.dial_lookup(B, "6000", "default", now=0.0)
    w.run(until=4.5)
    dpreps = [p for p in w.sent(B) if p.label == "DPREP"]
    assert len(dpreps) == 2 and dpreps[1].sent - dpreps[0].sent == pytest.approx(2.0)
    assert dpreps[1].frame.retransmitted
    assert len(replies(w)) == 1


def test_lookup_times_out_after_5s_then_idle_tbd_call_is_hung_up_after_30s():
    # (no PING/LAGRQ: a frame of B's after the lost DPREP would be VNAKed, and the DPREP is never let through)
    a, b, w = setup(keepalive=False)
    w.add_filter(lambda p: "drop" if p.src == B and p.frame_is(S.DPREP) else None)
    seen = []
    w.handlers[A] = lambda e, now: seen.append((e, now))
    cid = a.dial_lookup(B, "6000", "default", now=0.0)
    w.run(until=60.0)
    timeouts = [(e, t) for e, t in seen if isinstance(e, DialplanTimeout)]
    assert [e for e, _ in timeouts] == [DialplanTimeout(cid, "6000")]
    assert timeouts[0][1] == pytest.approx(5.0)
    # Asterisk 22 hangs a TBD call up 30.0 s after its last DPREQ (here sent on the ACCEPT, at 0.04 s)
    dpreq = [p for p in w.sent(A) if p.label == "DPREQ"][0]
    hangup = [p for p in w.sent(A) if p.label == "HANGUP"]
    assert hangup and hangup[0].sent == pytest.approx(dpreq.sent + 30.0)
    assert a.active_dialogs == 0 and b.active_dialogs == 0
    assert w.events[B] == []           # TBD calls never reach the callee's application


def test_dp_status_without_a_dialplan_is_nonexistent():
    ep = Endpoint(EndpointConfig(), seed=0)
    assert ep.dp_status("6000", "default") == DPStatus.NONEXISTENT


def test_a_new_tbd_call_is_opened_after_the_idle_one_was_hung_up():
    a, b, w = setup()
    first = a.dial_lookup(B, "6000", "default", now=0.0)
    w.run(until=1.0)
    assert a.dial_lookup(B, "60", "default", now=w.now) == first      # reused while open
    w.run(until=40.0)                        # 30 s after the last DPREQ: hung up
    assert a.call_state(first) is None
    second = a.dial_lookup(B, "6000", "default", now=w.now)
    assert second != first
    w.run(until=41.0)
    got = [e for e in w.events[A] if isinstance(e, DialplanReply)]
    assert [(e.call_id, e.number, int(e.status)) for e in got] == [
        (first, "6000", 1), (first, "60", 0x8002), (second, "6000", 1)]


def test_tbd_call_sends_lagrq_every_10s_and_ping_every_21s_until_its_idle_hang_up():
    # Asterisk 22 on the wire: LAGRQ every 10 s and PING every 21 s on each TBD call, which is
    # hung up 30.0 s after its last DPREQ
    a, b, w = setup()
    a.dial_lookup(B, "6000", "default", now=0.0)
    w.run(until=45.0)
    dpreq = [p.sent for p in w.sent(A) if p.label == "DPREQ"]
    lag = [p.sent for p in w.sent(A) if p.label == "LAGRQ"]
    ping = [p.sent for p in w.sent(A) if p.label == "PING"]
    hangup = [p.sent for p in w.sent(A) if p.label == "HANGUP"]
    accept = [p.sent for p in w.sent(B) if p.label == "ACCEPT"][0] + 0.01   # 10 ms one way here
    assert len(dpreq) == 1 and hangup == [pytest.approx(dpreq[0] + 30.0)]
    assert lag == [pytest.approx(accept + 10.0), pytest.approx(accept + 20.0)]
    assert ping == [pytest.approx(accept + 21.0)]
