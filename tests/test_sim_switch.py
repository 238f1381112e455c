"""``linking = "switch"`` against what a real Asterisk 22.10.1 did on the wire.

The measured set-up: A's context has ``switch => IAX2/…@B/external`` then ``…@C/external``; calls
enter A through a Local channel; 20 ms one way on every link; the callee answers at once.
Asterisk 22 caches no DPREP answer (``iax2 show cache`` is empty right after a lookup), and it sent:

* before the call's NEW, DPREQs to B, B, B for a number B owns; B, C, B, C, C for a number C owns;
  B, C, B, C, B, C for a number nobody owns (3 to each, and no NEW);
* after the hang-up one DPREQ "h" per switch and one more for the number;
* a TBD call per peer, opened on first use (NEW "TBD", CALLTOKEN, NEW, ACCEPT) and hung up
  30.0 s after its last DPREQ;
* first DPREQ to ANSWER: 256 ms for a number on B, 340 ms for a number on C (each DPREQ waits a
  full round trip; then NEW … ANSWER in 6 one-way trips).

The simulator counts the network and the lookups' CPU, not Asterisk's own processing: the same
measurements show 124 ms for a bare 6-trip call (120 ms of network, 4 ms of Asterisk), so the
model is below the measured delays by a few ms per exchange (at most 4 ms per DPREQ round trip
and per call set-up), and the increment from B to C (two DPREQs) is within a few ms.
"""
from __future__ import annotations

import numpy as np
import pytest

from iaxsim.iax2 import FullFrame, decode
from iaxsim.iax2.constants import FrameType, IAXSubclass, IEType
from iaxsim.sim.calls import CallRecord
from iaxsim.sim.model import Model
from iaxsim.sim.scenario import scenario_from_dict

MEASURED_PDD = {"B": 0.256, "C": 0.340}      # first DPREQ to ANSWER, TBD calls standing
MEASURED_DPREQS = {"B": ["B", "B", "B"], "C": ["B", "C", "B", "C", "C"], "": ["B", "C"] * 3}
ASTERISK_PER_EXCHANGE = 0.004                # 124 ms measured − 120 ms of network for a bare call
OWNER = {"B": "3000", "C": "3100", "": "3999"}


def scenario(switch_cache=0.0, **extra):
    return scenario_from_dict({
        "name": "switch_measured", "duration": 600.0, "warmup": 0.0, "seed": 1, "linking": "switch",
        "switch_cache": switch_cache, "network": {"internal_scope": "global", "latency": 0.02},
        "capture": True,
        "servers": [{"id": "A", "extensions": ["2000"], "qualify": False},
                    {"id": "B", "extensions": ["3000"], "qualify": False},
                    {"id": "C", "extensions": ["3100"], "qualify": False}],
        "traffic": {"calls_per_hour": 0.0, "extension_busy": False, **extra},
    })


def place(model, calls, holding=5.0):
    """Place (time, number, target) calls from A; returns their records."""
    a = model.servers["A"]
    tr = model.scenario.traffic_of("A")
    recs = []

    def one(rec):
        yield model.env.timeout(rec.start - model.env.now)
        yield from model.caller.place(a, rec, tr, holding, np.random.default_rng(0))

    for at, number, target in calls:
        recs.append(CallRecord(at, "A", number, target))
        model.env.process(one(recs[-1]))
    return recs


def wire(model, subclass):
    """(arrival time, server the datagram went to, CALLED_NUMBER) of every IAX frame ``subclass`` A sent."""
    out = []
    a_ips = {model.scenario.server("A").internal, model.scenario.server("A").external}
    for arrive, src_ip, _sport, dst_ip, _dport, data in model.capture:
        frame = decode(data)
        if src_ip in a_ips and isinstance(frame, FullFrame) and frame.frametype == FrameType.IAX \
                and frame.subclass == subclass and not frame.retransmitted:
            out.append((arrive, model.network.owner[dst_ip][0], frame.ie(IEType.CALLED_NUMBER)))
    return out


@pytest.mark.parametrize("target", ["B", "C", ""])
def test_dpreqs_of_a_call_in_order_as_asterisk_22_sent_them(target):
    model = Model(scenario(), seed=1)
    rec, = place(model, [(1.0, OWNER[target], target)])
    model.env.run(until=20.0)
    dpreqs = wire(model, IAXSubclass.DPREQ)
    news = [n for n in wire(model, IAXSubclass.NEW) if n[2] != "TBD"]
    if target:
        assert rec.outcome == "answered" and rec.answered_by == target
        t_new = news[0][0]
        before = [(peer, num) for t, peer, num in dpreqs if t < t_new]
        after = [(peer, num) for t, peer, num in dpreqs if t > t_new]
        assert before == [(p, OWNER[target]) for p in MEASURED_DPREQS[target]]
        # after the hang-up: "h" to each switch, then the number once more (asked until one has it)
        assert after == [("B", "h"), ("C", "h")] + [(p, OWNER[target]) for p in MEASURED_DPREQS[target][:1]] \
            + ([("C", OWNER[target])] if target == "C" else [])
    else:
        assert rec.outcome == "rejected" and news == []
        assert [(peer, num) for _, peer, num in dpreqs] == [(p, OWNER[""]) for p in MEASURED_DPREQS[""]]


def test_post_dial_delay_with_the_tbd_calls_standing_is_the_measured_one():
    model = Model(scenario(), seed=1)
    # the first call opens both TBD calls; the next ones find them standing (< 30 s since a DPREQ)
    recs = place(model, [(1.0, "3999", ""), (3.0, "3000", "B"), (12.0, "3100", "C")])
    model.env.run(until=30.0)
    _, on_b, on_c = recs
    for rec, peer, n_dpreq in ((on_b, "B", 3), (on_c, "C", 5)):
        assert rec.outcome == "answered"
        gap = MEASURED_PDD[peer] - rec.post_dial_delay
        assert 0.0 < gap <= ASTERISK_PER_EXCHANGE * (1 + n_dpreq), (peer, rec.post_dial_delay)
    # a number on C costs two DPREQ round trips more than one on B: 84 ms measured
    assert on_c.post_dial_delay - on_b.post_dial_delay == pytest.approx(
        MEASURED_PDD["C"] - MEASURED_PDD["B"], abs=0.005)


def test_opening_a_tbd_call_adds_its_new_calltoken_new_accept():
    model = Model(scenario(), seed=1)
    first, = place(model, [(1.0, "3000", "B")])
    model.env.run(until=10.0)
    standing = Model(scenario(), seed=1)
    recs = place(standing, [(1.0, "3999", ""), (3.0, "3000", "B")])
    standing.env.run(until=10.0)
    assert first.post_dial_delay - recs[1].post_dial_delay == pytest.approx(4 * 0.020, abs=1e-4)


def test_tbd_call_opened_once_and_hung_up_30_s_after_its_last_dpreq():
    model = Model(scenario(), seed=1)
    place(model, [(1.0, "3000", "B"), (8.0, "3000", "B")], holding=5.0)
    model.env.run(until=120.0)
    to_b = [t for t, peer, _ in wire(model, IAXSubclass.DPREQ) if peer == "B"]
    opened = [t for t, peer, num in wire(model, IAXSubclass.NEW) if peer == "B" and num == "TBD"]
    hangups = [t for t, peer, _ in wire(model, IAXSubclass.HANGUP) if peer == "B"]
    # NEW "TBD" twice (the empty CALLTOKEN one and the one with the token), for one TBD call
    assert len(opened) == 2 and opened[1] - opened[0] == pytest.approx(0.04, abs=1e-4)
    # two calls of 3 DPREQs, each followed by "h" and the number: 10 DPREQs on the one TBD call;
    # the TBD call's HANGUP arrives 30 s after the last DPREQ did (both 20 ms on the way)
    tbd_hangups = [t for t in hangups if t > max(to_b)]
    assert len(to_b) == 10 and tbd_hangups[0] - max(to_b) == pytest.approx(30.0, abs=1e-3)


def test_with_switch_cache_600_each_peer_is_asked_once_per_number():
    model = Model(scenario(switch_cache=600.0), seed=1)
    recs = place(model, [(1.0, "3100", "C"), (10.0, "3100", "C"), (20.0, "3999", "")])
    model.env.run(until=60.0)
    asked = [(peer, num) for _, peer, num in wire(model, IAXSubclass.DPREQ)]
    # chan_iax2's documented 600 s cache: one DPREQ per peer and number (and "h"), then answers kept
    assert asked == [("B", "3100"), ("C", "3100"), ("B", "h"), ("C", "h"), ("B", "3999"), ("C", "3999")]
    first, second, nobody = recs
    assert first.outcome == second.outcome == "answered" and nobody.outcome == "rejected"
    # cached: the second call is the bare set-up, 6 one-way trips
    assert second.post_dial_delay == pytest.approx(6 * 0.020, abs=1e-4)


def test_switch_cache_must_not_be_negative():
    from iaxsim.errors import ConfigError

    with pytest.raises(ConfigError, match="switch_cache"):
        scenario(switch_cache=-1.0)
