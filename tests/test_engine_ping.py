"""PING/PONG and LAGRQ/LAGRP during a call (chan_iax2.c; intervals as Asterisk 22 sends them)."""
from __future__ import annotations

import pytest

from iaxsim.dialplan import Dialplan
from iaxsim.iax2 import IEType as T
from iaxsim.iax2.engine import Endpoint, EndpointConfig, IncomingCall, LagReply, PongReceived
from iaxsim.iax2.engine.wire import Wire

A = ("10.0.0.1", 4569)
B = ("10.0.0.2", 4569)


def setup(latency=0.01):
    a = Endpoint(EndpointConfig(), seed=51)
    b = Endpoint(EndpointConfig(dialplan=Dialplan.from_string("[default]\nexten => 1,1,Answer\n")),
                 seed=52)
    w = Wire(latency=latency)
    w.attach(A, a)
    w.attach(B, b, lambda e, now: b.answer(e.call_id, now=now)
             if isinstance(e, IncomingCall) else None)
    return a, b, w


def test_periodic_lagrq_every_10s_and_ping_every_21s():
    a, b, w = setup()
    a.place_call(B, "1", now=0.0)
    w.run(until=1.0)
    accepted = [p.sent for p in w.sent(B) if p.label == "ACCEPT"][0]
    w.run(until=50.0)
    lagrq = [round(p.sent - accepted, 2) for p in w.sent(B) if p.label == "LAGRQ"]
    ping = [round(p.sent - accepted, 2) for p in w.sent(B) if p.label == "PING"]
    assert lagrq == [10.0, 20.0, 30.0, 40.0]
    assert ping == [21.0, 42.0]


def test_pong_echoes_ping_timestamp_is_sequenced_and_carries_receiver_report():
    a, b, w = setup(latency=0.025)
    cid = a.place_call(B, "1", now=0.0)
    w.run(until=1.0)
    a.ping(cid, now=w.now)
    w.run(until=2.0)
    ping = [p.frame for p in w.sent(A) if p.label == "PING"][0]
    pong = [p.frame for p in w.sent(B) if p.label == "PONG"][0]
    assert pong.timestamp == ping.timestamp
    assert [i[0] for i in pong.ies] == [T.RR_JITTER, T.RR_LOSS, T.RR_PKTS, T.RR_DELAY,
                                        T.RR_DROPPED, T.RR_OOO]
    ack = [p.frame for p in w.sent(A) if p.label == "ACK" and p.frame.timestamp == pong.timestamp]
    assert len(ack) == 1                      # the PONG is reliable: A acknowledges it
    (pr,) = [e for e in w.events[A] if isinstance(e, PongReceived)]
    assert pr.call_id == cid and pr.rtt == pytest.approx(0.05)


def test_lagrp_echoes_timestamp_without_ies():
    a, b, w = setup(latency=0.04)
    cid = a.place_call(B, "1", now=0.0)
    w.run(until=1.0)
    a.lagrq(cid, now=w.now)
    w.run(until=2.0)
    lagrq = [p.frame for p in w.sent(A) if p.label == "LAGRQ"][0]
    lagrp = [p.frame for p in w.sent(B) if p.label == "LAGRP"][0]
    assert lagrp.timestamp == lagrq.timestamp and lagrp.ies == []
    (lag,) = [e for e in w.events[A] if isinstance(e, LagReply)]
    assert lag.lag == pytest.approx(0.08, abs=0.004)
