"""Qualify over static routes, worked out instead of replayed (capture off): every result of a run
— each column of every call, the per-link datagram and byte counts, the server and link tables —
is the one the run that exchanges every POKE gives (``Model(..., replay_qualify=True)``), and the
counts follow Asterisk's qualify timings (chan_iax2.c: POKE resent at 0.5, 5.5, 15.5 s, given
up 22 s after it went out, 8.33 s while unreachable; next POKE 10 s later, 60 s after a timely
PONG; every IAX2 full frame without IEs is 12 bytes, RFC 5456 section 8.1.1)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from pandas.testing import assert_frame_equal

from iaxsim.iax2.engine import PeerStatus
from iaxsim.numbering.synthetic import synthetic_plan
from iaxsim.sim import SimResult, load_scenario, scenario_from_dict
from iaxsim.sim.model import Model
from iaxsim.sim.scenario import Scenario
from iaxsim.sim.scenarios import seed_two_servers
from iaxsim.study import StudyOptions, busy_hour_scenario

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from golden_runs import RUNS  # noqa: E402


def both(sc: Scenario, seed: int) -> tuple[Model, SimResult, SimResult]:
    """The run with qualify worked out where it can be (its model too), and the full replay."""
    model = Model(sc, seed)
    worked = model.run()
    replayed = Model(sc, seed, replay_qualify=True).run()
    return model, worked, replayed


def assert_same(a: SimResult, b: SimResult) -> None:
    assert_frame_equal(a.calls, b.calls, check_exact=True)
    assert_frame_equal(a.link_totals, b.link_totals, check_exact=True)
    assert_frame_equal(a.servers, b.servers, check_exact=True)
    assert_frame_equal(a.links, b.links, check_exact=True)


def worked_out(model: Model) -> int:
    return len(model.static_qualify.entries) if model.static_qualify is not None else 0


@pytest.mark.parametrize("name", list(RUNS))
def test_golden_scenarios_give_the_replays_results(name):
    path, overrides, seed = RUNS[name]
    sc = load_scenario(ROOT / "data" / "scenarios" / path).with_values({**overrides, "capture": False})
    model, worked, replayed = both(sc, seed)
    assert_same(worked, replayed)
    assert len(worked.calls) > 100
    # a firewall makes every route depend on conntrack state, switch mode does not qualify
    expected = {"seed_two_servers": 4, "seed_interleaved": 4, "company_10": 90}.get(name, 0)
    assert worked_out(model) == expected


def synthetic(servers: int, duration: float, **network: object) -> Scenario:
    plan = synthetic_plan(servers, 40, overlap=0.3, length=4, seed=1)
    d = busy_hour_scenario(plan, StudyOptions(calls_per_hour=900, duration=duration, warmup=60.0), "block")
    d["network"] = {**d["network"], "internal_scope": "site", **network}
    return scenario_from_dict(d)


@pytest.mark.parametrize("servers, duration", [(10, 600.0), (20, 240.0)])
def test_synthetic_networks_each_server_its_own_site(servers, duration):
    model, worked, replayed = both(synthetic(servers, duration), 1)
    assert_same(worked, replayed)
    assert worked_out(model) == 2 * servers * (servers - 1)  # every address of every peer
    assert worked.link_totals.dropped_scope.sum() > 0 and len(worked.calls) > 100


@pytest.mark.parametrize("latency", [1.2, 3.0])
def test_a_lagged_peer(latency):
    # one-way latency over maxms / 2: every PONG is later than maxms (2 s), the external address
    # is LAGGED and Dial skips it; the POKE is resent at 0.5 s (and at 5.5 s when the round trip
    # is 6 s), each later PONG finds the POKE call gone and gets an INVAL
    sc = seed_two_servers(calls_per_hour=120, hours=0.3, remote=1.0, **{"network.latency": latency})
    model, worked, replayed = both(sc, 2)
    assert_same(worked, replayed)
    assert worked_out(model) == 4
    b = model.servers["B"].spec
    assert model.servers["A"].qualified[b.external].status is PeerStatus.LAGGED
    assert model.servers["A"].qualified[b.internal].status is PeerStatus.UNREACHABLE
    remote = worked.calls[worked.calls.target != worked.calls.origin]
    assert len(remote) > 10 and (remote.start > 30).any()
    assert set(remote.loc[remote.start > 30, "outcome"]) == {"failed"}


@pytest.mark.parametrize("network, replayed_addresses", [
    ({"network.loss": 0.02}, 2),                    # external addresses: draws decide
    ({"network.jitter": 0.01}, 2),
    # a round trip of 0.5 s lands on the first resend: whether the PONG or the resend comes
    # first depends on when the engine armed its timer, so all of the server's POKEs are replayed
    ({"network.latency": 0.25}, 4),
    ({"network.latency": 0.25, "network.loss": 0.01}, 4),
    ({"servers.A.nat": True}, 2),                   # A's external POKEs leave translated
    ({"network.firewall": [{"from": "B", "to": "A", "stateful": True}]}, 4),
])
def test_routes_that_are_not_static_are_replayed(network, replayed_addresses):
    sc = seed_two_servers(calls_per_hour=300, hours=0.25, remote=1.0, **network)
    model, worked, replayed = both(sc, 3)
    assert_same(worked, replayed)
    assert worked_out(model) == 4 - replayed_addresses
    assert len(worked.calls) > 30


def test_counts_follow_asterisks_qualify_timings():
    # no calls, 178 s: A's POKEs to B's internal address (another site) are dropped: the first
    # at offset o < 1 s sent 4 times (o, +0.5, +5.5, +15.5), UNREACHABLE at o + 22; then one
    # every 18.33 s (10 s + 8.33 s timeout), each sent 3 times (+0, +0.5, +5.5): cycles at
    # o + 32 + 18.33 k, k = 0..7, all sends before 178 s -> 4 + 8 x 3 = 28. The external one
    # answers in 40 ms: POKE, PONG, ACK at o, o + 60.04, o + 120.08 -> 3 each way, plus the same
    # for B's POKEs of A.
    sc = seed_two_servers(calls_per_hour=0.0, hours=0.1, warmup=0.0)
    for replay in (False, True):
        model = Model(sc, 1, replay_qualify=replay)
        model.start_qualify(np.random.default_rng(5))
        model.env.run(until=178.0)
        if model.static_qualify is not None:
            assert len(model.static_qualify.entries) == 4
            model.static_qualify.tally(178.0)
        for pair in (("A", "B"), ("B", "A")):
            c = model.network.counters[pair]
            assert c.dropped_scope == 28
            assert c.sent == 28 + 3 + 3 + 3       # + POKEs, ACKs, PONGs (to the peer's POKEs)
            assert c.delivered == 9 and c.sent_bytes == 12 * c.sent
            assert c.lost == 0 and c.dropped_firewall == 0


def test_status_at_chosen_times_follows_the_timeline():
    # first POKEs at offsets in [0, 1): the internal address is UNKNOWN until 22 s after its
    # POKE, UNREACHABLE from 23 s on; the external one OK 40 ms after its POKE
    sc = seed_two_servers(calls_per_hour=0.0, hours=0.05, warmup=0.0)
    model = Model(sc, 1)
    model.start_qualify(np.random.default_rng(7))
    a, b = model.servers["A"], model.servers["B"].spec
    assert model.static_qualify is not None and len(model.static_qualify.entries) == 4
    seen = []
    for t in (1.1, 21.9, 23.1, 100.0):
        model.env.run(until=t)
        seen.append((a.qualified[b.internal].status, a.qualified[b.external].status))
    assert seen == [(PeerStatus.UNKNOWN, PeerStatus.OK), (PeerStatus.UNKNOWN, PeerStatus.OK),
                    (PeerStatus.UNREACHABLE, PeerStatus.OK), (PeerStatus.UNREACHABLE, PeerStatus.OK)]
