"""Qualify and failed calls in the simulator, against what Asterisk 22 did on the wire: with the
first server's internal address a black hole and qualify on, calls placed up to ~20 s after
start wait the 4 s auto-congest on the dead address; from ~23 s on (the peer UNREACHABLE ~22 s
after its first POKE) Dial skips it at once, without a NEW. And the Q.850 cause each failed
call's calling channel reports (app_dial + pbx.c autofallthrough: Congestion() sets 34,
Busy() 17; a NEW for a number nobody has gets REJECT cause 3)."""
from __future__ import annotations

import numpy as np
import pytest

from iaxsim.iax2 import FrameType, FullFrame, IAXSubclass, decode
from iaxsim.iax2.engine import PeerStatus
from iaxsim.sim import simulate
from iaxsim.sim.calls import CallRecord
from iaxsim.sim.model import Model
from iaxsim.sim.scenarios import seed_two_servers

# NEW → CALLTOKEN → NEW → ACCEPT → ACK → ANSWER: 6 one-way trips of 20 ms, plus the lookups'
# CPU time (origin 2 comparisons, callee 1; base 10 µs + 0.6 µs per comparison)
SETUP = 6 * 0.020 + (10e-6 + 2 * 0.6e-6) + (10e-6 + 1 * 0.6e-6)


def scripted(times: list[float]):
    """Calls from A to B (6000, 6001 …) placed at ``times`` s after start (no other traffic); returns
    (their records, A's NEWs — first sends, not retransmissions — as (send time, destination ip),
    B's addresses, A)."""
    sc = seed_two_servers(calls_per_hour=0.0, hours=0.05, remote=1.0, warmup=0.0)
    model = Model(sc, seed=1)
    env, a = model.env, model.servers["A"]
    b = model.servers["B"].spec
    news = []
    send_all = model.network.send_all

    def spy(src_id, datagrams, now=None):
        for data, dst in datagrams:
            f = decode(data)
            if src_id == "A" and isinstance(f, FullFrame) and f.frametype == FrameType.IAX \
                    and f.subclass == IAXSubclass.NEW and not f.retransmitted:
                news.append((env.now, dst[0]))
        send_all(src_id, datagrams, now)
    model.network.send_all = spy
    model.start_qualify(np.random.default_rng(7))
    recs = [CallRecord(t, "A", f"60{i:02d}", "B") for i, t in enumerate(times)]  # each its own extension

    def place(rec):
        yield env.timeout(rec.start)
        model.log.started(rec, True)
        yield from model.caller.place(a, rec, a.traffic, 5.0, np.random.default_rng(1))
    for rec in recs:
        env.process(place(rec))
    env.run(until=max(times) + 60.0)
    return recs, news, b, a


def test_call_at_21_s_waits_auto_congest_one_at_23_s_skips_the_dead_address():
    (early, late), news, b, a = scripted([21.0, 23.0])
    assert a.qualified[b.internal].status is PeerStatus.UNREACHABLE
    assert a.qualified[b.external].status is PeerStatus.OK
    assert early.outcome == "answered" and early.attempts == 2
    assert early.post_dial_delay == pytest.approx(4.0 + SETUP, abs=1e-5)   # 2 x maxms on the dead one
    assert late.outcome == "answered" and late.attempts == 2
    assert late.post_dial_delay == pytest.approx(SETUP, abs=1e-5)          # skipped at once
    # the NEWs A sent: 21 s to the internal address, 25 s to the external; 23 s external only
    to_internal = [t for t, ip in news if ip == b.internal]
    assert to_internal == pytest.approx([21.0])
    assert [t for t, ip in news if ip == b.external and t < 23.5] == pytest.approx([23.0, 23.04], abs=1e-3)


@pytest.mark.parametrize("start, skipped", [(5.0, False), (20.0, False), (23.0, True), (40.0, True)])
def test_the_qualify_boundary_lies_between_22_and_23_s(start, skipped):
    (rec,), news, b, _a = scripted([start])
    assert (b.internal not in {ip for _, ip in news}) is skipped
    assert rec.post_dial_delay == pytest.approx(SETUP if skipped else 4.0 + SETUP, abs=1e-5)


def test_failed_calls_carry_the_calling_channels_cause():
    # one-way firewall: B's calls fail (both of A's addresses UNREACHABLE): Dial fails at once,
    # the priorities run out, autofallthrough plays Congestion(): cause 34
    fw = simulate(seed_two_servers(calls_per_hour=300, hours=0.2, remote=1.0, **{
        "servers.A.nat": True, "network.firewall": [{"from": "B", "to": "A", "stateful": False}]}),
        seed=3).calls
    failed = fw[fw.outcome == "failed"]
    assert len(failed) > 20 and set(failed.origin) == {"B"} and set(failed.cause_code) == {34}
    assert set(fw.loc[fw.outcome == "answered", "cause_code"]) == {0}
    # qualify off: the NEW to the dead internal address is given up (27), the external answers:
    # an answered call reports no failure cause
    off = simulate(seed_two_servers(calls_per_hour=300, hours=0.2, remote=1.0,
                                    **{"servers.*.qualify": False}), seed=3).calls
    assert set(off.outcome) <= {"answered", "busy"} and set(off.loc[off.outcome == "answered", "cause_code"]) == {0}
    # a number nobody owns: no pattern takes it at the origin -> REJECT cause 3, nothing sent
    nobody = simulate(seed_two_servers(calls_per_hour=300, hours=0.2, remote=0.0, **{
        "traffic.local": 0.0, "traffic.unassigned": 1.0}), seed=3).calls
    assert set(nobody.outcome) == {"rejected"} and set(nobody.cause_code) == {3}
    assert (nobody.attempts == 0).all()


def test_busy_and_congestion_causes():
    busy = simulate(seed_two_servers(calls_per_hour=3000, hours=0.1, remote=0.0), seed=2).calls
    assert set(busy.loc[busy.outcome == "busy", "cause_code"]) == {17}
    full = simulate(seed_two_servers(calls_per_hour=600, hours=0.3, remote=1.0,
                                     **{"servers.B.channels": 2, "network.internal_scope": "global"}),
                    seed=4).calls
    assert set(full.loc[full.outcome == "congestion", "cause_code"]) == {34}


def test_scripted_calls_show_the_boundary_and_name_bad_input():
    from iaxsim.errors import ConfigError
    from iaxsim.sim.scripted import scripted_calls

    sc = seed_two_servers(calls_per_hour=0.0, hours=0.05, remote=1.0, warmup=0.0)
    calls = scripted_calls(sc, [(21.0, "A", "6000"), (23.0, "A", "6001"), (30.0, "B", "7000")], seed=1)
    assert list(calls.target) == ["B", "B", "A"] and set(calls.outcome) == {"answered"}
    assert calls.post_dial_delay.to_numpy() == pytest.approx([4.0 + SETUP, SETUP, SETUP], abs=1e-4)
    with pytest.raises(ConfigError, match="scripted call 1: no server 'Z'"):
        scripted_calls(sc, [(1.0, "Z", "6000")])
    with pytest.raises(ConfigError, match="scripted call 1: time"):
        scripted_calls(sc, [(-1.0, "A", "6000")])
