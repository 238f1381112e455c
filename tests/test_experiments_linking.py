"""link.conf dialling against switch lookups (iaxsim.experiments.linking), checked against the protocol.

Every expected delay below is written out from the datagram sequence and the model's documented
timers (docs/scenarios.md, docs/engine.md; Asterisk's defaults in ``channels/chan_iax2.c``:
dialplan cache ``iaxdefaultdpcache``, DPREQ wait ``iaxdefaulttimeout``, TBD idle hang-up, retransmission):
fixed 20 ms one-way latency between sites, so every datagram crossing costs exactly 0.020 s.

* A call over IAX2 (both modes), ringing after:
      A→B NEW(…, empty CALLTOKEN)   B→A CALLTOKEN(token)   A→B NEW(…, token)   B→A ACCEPT
      A→B ACK (B's dialplan starts only now, as Asterisk's does)   B→A RINGING
  = 6 crossings = 0.120 s. In linked mode link.conf's priority 1 names B's internal address, which
  another site cannot reach; qualify has marked it UNREACHABLE after ~25.5 s (POKE at 0, 0.5, 5.5,
  15.5 s, given up at 25.5 s), so after that the attempt fails at once and priority 2 (external)
  costs nothing extra.
* switch mode asks the peer first: A→B DPREQ(number)  B→A DPREP(DPSTATUS) = 2 crossings = 0.040 s,
  on the standing TBD call. When none is standing (never opened, or hung up after 30 s without
  lookups) the DPREQ waits for the TBD call's own set-up:
      A→B NEW(TBD, empty CALLTOKEN)  B→A CALLTOKEN  A→B NEW(TBD, token)  B→A ACCEPT   = +0.080 s
  (a TBD call needs no ACK of its ACCEPT before the DPREQ). So: answer cached (asked < 600 s
  before) → 0.120; not cached, TBD standing → 0.160; not cached, no TBD call → 0.240. With three servers the origin asks its peers in turn, so a number
  of the second peer costs one more DPREQ/DPREP (and possibly one more TBD set-up).

The only tolerance is the CPU the lookups hold (base 10 µs + 0.6 µs per comparison): with 10
literal extensions per server no lookup tests more than 40 patterns (3 modes × 10 literals of a
DPREQ answer + link.conf's patterns), so one hold is at most 10 + 0.6 × 40 = 34 µs, and a call's
critical path has at most 5 of them.
"""
from __future__ import annotations

import heapq
import math

import numpy as np
import pandas as pd
import pytest

from iaxsim.errors import ConfigError
from iaxsim.experiments.linking import (COLUMNS, cache_break_even, compare_linking, dp_cache_hit_share, headline,
                                        label_calls, linking_scenario, run_metrics)
from iaxsim.sim import simulate

HOP = 0.020
CALL = 6 * HOP           # NEW, CALLTOKEN, NEW, ACCEPT, ACK, RINGING
DPREQ = 2 * HOP          # DPREQ, DPREP
TBD = 4 * HOP            # the TBD call's NEW, CALLTOKEN, NEW, ACCEPT
CPU_TOL = 5 * (10e-6 + 0.6e-6 * 40)
SETTLE = 30.0            # qualify has found the internal addresses unreachable (25.5 s + the first POKE's offset ≤ 1 s)
CACHE, IDLE = 600.0, 30.0


def run(servers=2, linking="switch", dialling="enbloc", seed=5, duration=1500.0, rate=600.0, switch_cache=600.0):
    sc = linking_scenario(servers, "disjoint", linking, dialling, calls_per_hour=rate, duration=duration,
                          extensions_per_server=10, seed=seed, switch_cache=switch_cache)
    return label_calls(simulate(sc, seed=seed).calls)


def within_cpu(actual, expected) -> bool:
    """The delay is the network time plus at most the lookups' CPU holds — never less."""
    return expected - 1e-9 <= actual <= expected + CPU_TOL


def expected_switch_pdd(calls: pd.DataFrame, order: dict[str, list[str]], holding: float = 20.0) -> pd.Series:
    """Hand rule for en bloc switch calls with the 600 s cache: each origin asks its peers in
    ``order`` until the owner answers EXISTS (every peer for a number nobody owns), skipping numbers
    asked < 600 s before; a peer's TBD call stands if that peer was asked < 30 s before. After a
    call the PBX asks every peer for "h" and the Local channel asks for the number once more, each
    only when not cached: these refresh the cache and keep TBD calls up too. NaN where the call
    falls within a second of an edge (a lookup still in flight, the idle hang-up, the cache expiry)."""
    asked_number: dict[tuple[str, str], float] = {}
    asked_peer: dict[tuple[str, str], float] = {}
    out = pd.Series(np.nan, index=calls.index)
    events = [(c.start, 0, idx, c) for idx, c in calls.iterrows()]
    heapq.heapify(events)
    edge = [False]

    def ask(o, number, owner, t):
        """One query at ``t``; returns the network delay it costs."""
        last = asked_number.get((o, number), -math.inf)
        edge[0] |= abs(t - last - CACHE) < 1.0
        if t - last < CACHE:
            return 0.0
        asked_number[(o, number)] = t
        delay = 0.0
        for peer in order[o]:
            gap = t - asked_peer.get((o, peer), -math.inf)
            edge[0] |= gap < 1.0 or abs(gap - IDLE) < 1.0
            delay += DPREQ + (0.0 if gap < IDLE else TBD)
            asked_peer[(o, peer)] = t
            if peer == owner:
                break
        return delay

    while events:
        t, kind, idx, c = heapq.heappop(events)
        o = c.origin
        if kind == 1:  # the call ended: "h" of every peer, then the number (device state)
            ask(o, "h", None, t)
            if c.target != o:
                ask(o, c.dialled, c.target or None, t)
            continue
        edge[0] = False
        if c.target == o:
            heapq.heappush(events, (t + holding, 1, idx, c))
            continue
        delay = ask(o, c.dialled, c.target or None, t)
        if c.target:
            if not edge[0]:
                out[idx] = delay + CALL
            heapq.heappush(events, (t + delay + CALL + holding, 1, idx, c))
    return out


def cache_age(calls: pd.DataFrame) -> pd.Series:
    """Seconds since the origin last asked for the number with a query not answered from the cache."""
    asked: dict[tuple[str, str], float] = {}
    out = pd.Series(np.inf, index=calls.index)
    for idx, c in calls.sort_values("start").iterrows():
        key = (c.origin, c.dialled)
        age = c.start - asked.get(key, -math.inf)
        out[idx] = age
        if age >= CACHE:
            asked[key] = c.start
    return out


def test_label_calls_follows_the_600_s_cache_rule():
    calls = pd.DataFrame({
        "start": [0.0, 500.0, 700.0, 1250.0, 1299.0, 10.0, 20.0],
        "origin": ["A", "A", "A", "A", "A", "B", "A"],
        "dialled": ["2100", "2100", "2100", "2100", "2100", "2100", "2000"],
        "target": ["B", "B", "B", "B", "B", "B", "A"],
    })
    out = label_calls(calls)
    # asked at 0 (kept till 600); 500 is a hit and does not refresh; 700 asks again (kept till
    # 1300); 1250 and 1299 are hits. B's own cache is separate; 2000 is A's own number.
    assert out["cached"].tolist() == [False, True, False, True, True, False, False]
    assert out["remote"].tolist() == [True, True, True, True, True, False, False]
    with pytest.raises(ConfigError, match="origin"):
        label_calls(calls.drop(columns="origin"))


def test_linked_remote_call_is_the_call_setup_exchange():
    calls = run(linking="linked", duration=900.0)
    remote = calls[calls.remote & (calls.start >= SETTLE)]
    assert len(remote) > 50 and set(remote.outcome) == {"answered"}
    assert all(within_cpu(p, CALL) for p in remote.post_dial_delay)
    # priority 1 (internal address, known unreachable) then priority 2 (external)
    assert (remote.attempts == 2).all()
    # a number nobody owns matches no link.conf pattern: refused at once, no attempt
    nobody = calls[(calls.target == "") & (calls.start >= SETTLE)]
    assert len(nobody) > 0 and set(nobody.outcome) == {"rejected"}
    assert (nobody.attempts == 0).all() and (nobody.post_dial_delay < CPU_TOL).all()


def test_switch_first_call_adds_the_tbd_setup_and_a_dpreq_a_cached_one_nothing():
    calls = run(linking="switch")
    remote = calls[calls.remote]
    assert set(remote.outcome) == {"answered"} and (remote.attempts == 1).all()
    expected = expected_switch_pdd(calls, {"A": ["B"], "B": ["A"]})[remote.index]
    known = expected.notna()
    assert known.mean() > 0.9
    for actual, want in zip(remote.post_dial_delay[known], expected[known]):
        assert within_cpu(actual, want), (actual, want)
    # each of the three cases happened, and the very first remote call of each origin opened the TBD call
    assert {round(v, 3) for v in expected[known]} == {0.12, 0.16, 0.24}
    first = remote.sort_values("start").groupby("origin").head(1)
    assert all(within_cpu(p, TBD + DPREQ + CALL) for p in first.post_dial_delay)
    # label_calls' cached flag follows the calls' own queries only (not the device-state check after a
    # call, which may renew an entry): nearly all the calls it flags are the bare call set-up
    flagged = remote.loc[remote.cached, "post_dial_delay"]
    assert len(flagged) > 20 and sum(within_cpu(p, CALL) for p in flagged) >= 0.9 * len(flagged)


def test_switch_asks_peers_in_turn():
    calls = run(servers=3, linking="switch", duration=1200.0)
    remote = calls[calls.remote]
    expected = expected_switch_pdd(calls, {"A": ["B", "C"], "B": ["A", "C"], "C": ["A", "B"]})[remote.index]
    known = expected.notna()
    assert known.mean() > 0.85
    for actual, want in zip(remote.post_dial_delay[known], expected[known]):
        assert within_cpu(actual, want), (actual, want)
    # A reaches C's numbers only after B said NONEXISTENT: two DPREQ round trips at least
    a_to_c = remote[(remote.origin == "A") & (remote.target == "C") & ~remote.cached]
    assert len(a_to_c) > 5 and (a_to_c.post_dial_delay >= CALL + 2 * DPREQ - 1e-9).all()
    # the linked mode dials C's pattern directly
    linked = run(servers=3, linking="linked", duration=600.0)
    lr = linked[linked.remote & (linked.start >= SETTLE)]
    assert all(within_cpu(p, CALL) for p in lr.post_dial_delay)


def test_digit_by_digit_hides_the_tbd_setup_in_the_dialling():
    # digits every 0.3 s; each prefix is asked while the caller dials on, so after the last digit
    # only the full number's own DPREQ is left (0.120), unless it is cached (0.080). The TBD
    # set-up shows only when every prefix was already cached and the call had been idle 30 s.
    calls = run(linking="switch", dialling="digits", duration=1200.0)
    remote = calls[calls.remote & calls.outcome.eq("answered")]
    assert len(remote) > 50
    extra = remote.post_dial_delay - CALL
    edge = (cache_age(calls)[remote.index] - CACHE).abs() < 1.0  # the entry dates from its DPREP
    hit = remote[remote.cached & ~edge]
    assert len(hit) > 20 and all(within_cpu(p, CALL) for p in hit.post_dial_delay)
    miss = remote[~remote.cached & ~edge]
    near = [min((abs(e - d) for d in (DPREQ, DPREQ + TBD))) for e in miss.post_dial_delay - CALL]
    assert max(near) <= CPU_TOL
    assert ((miss.post_dial_delay - CALL - DPREQ).abs() <= CPU_TOL).mean() > 0.5
    assert (extra >= -1e-9).all()
    linked = run(linking="linked", dialling="digits", duration=600.0)
    lr = linked[linked.remote & (linked.start >= SETTLE)]
    assert len(lr) > 20 and all(within_cpu(p, CALL) for p in lr.post_dial_delay)


def small_table(seed=1):
    return compare_linking(servers=(2,), plans=("disjoint",), dialling=("enbloc",), replications=2, seed=seed,
                           duration=300.0, settle=SETTLE, extensions_per_server=10, calls_per_hour=(600.0,),
                           switch_cache=CACHE)


def test_table_columns_values_and_determinism():
    table = small_table()
    assert tuple(table.columns) == COLUMNS
    assert len(table) == 4  # 2 modes × 2 replications
    assert set(table.linking) == {"linked", "switch"} and set(table.seed) == {1, 2}
    linked = table[table.linking == "linked"]
    switch = table[table.linking == "switch"]
    assert ((linked.pdd_remote - CALL).between(-1e-9, CPU_TOL)).all()
    assert ((switch.pdd_remote_hit - CALL).between(-1e-9, CPU_TOL)).all()
    assert ((switch.pdd_remote_miss >= CALL + DPREQ - 1e-9) & (switch.pdd_remote_miss <= CALL + DPREQ + TBD + CPU_TOL)).all()
    # both modes see the same calls (same seeds), so the same numbers would be cache hits
    assert linked.hit_share.tolist() == switch.hit_share.tolist()
    assert linked.calls.tolist() == switch.calls.tolist()
    for col in ("p_answered", "p_busy", "p_congestion", "p_rejected", "p_failed", "p_misrouted"):
        assert table[col].between(0, 1).all()
    shares = table[["p_answered", "p_busy", "p_congestion", "p_rejected", "p_failed", "p_misrouted"]].sum(axis=1)
    assert np.allclose(shares, 1.0)
    # every datagram here is a full frame: 20 IPv4 + 8 UDP + a 12-byte header at least
    assert (table.datagrams_per_call > 0).all() and (table.bytes_per_call >= 40 * table.datagrams_per_call).all()
    pd.testing.assert_frame_equal(table, small_table())
    assert not table.equals(small_table(seed=7))


def test_run_metrics_counts_every_datagram_of_the_run():
    sc = linking_scenario(2, "disjoint", "switch", calls_per_hour=600.0, duration=300.0, extensions_per_server=10)
    row = run_metrics(sc.to_dict(), seed=3, settle=0.0).iloc[0]
    res = simulate(sc, seed=3)
    assert row.calls == len(res.calls)
    assert row.datagrams_per_call == pytest.approx(res.link_totals.datagrams.sum() / len(res.calls))
    # link_totals counts IAX2 bytes (UDP payload); the table gives the IP layer, as the calls table does
    ip = res.link_totals.bytes.sum() + (20 + 8) * res.link_totals.datagrams.sum()
    assert row.bytes_per_call == pytest.approx(ip / len(res.calls))


def test_headline_puts_the_modes_side_by_side():
    table = pd.DataFrame({"servers": [2, 2, 2, 2], "plan": ["disjoint"] * 4, "dialling": ["enbloc"] * 4,
                          "calls_per_hour": [300.0] * 4, "linking": ["linked", "linked", "switch", "switch"],
                          "pdd_remote": [0.08, 0.10, 0.12, 0.16]})
    out = headline(table, metrics=("pdd_remote",))
    assert out.pdd_remote_linked.tolist() == pytest.approx([0.09])
    assert out.pdd_remote_switch.tolist() == pytest.approx([0.14])
    assert out.pdd_remote_switch_minus_linked.tolist() == pytest.approx([0.05])
    with pytest.raises(ConfigError, match="attempts"):
        headline(table, metrics=("attempts",))


def test_steady_cache_hit_share_by_hand_and_against_the_simulated_calls():
    # 800 calls/h, 45 % to the one peer's 100 numbers: λ = 3.6 per hour per number = 0.001 /s;
    # λT = 0.6 over 600 s, so per miss 0.6 hits on average: 0.6 / 1.6 = 0.375
    assert dp_cache_hit_share(800.0, 2) == pytest.approx(0.375)
    # five servers: the 45 % spread over 4 × 100 numbers; 3200/h gives the same λT
    assert dp_cache_hit_share(3200.0, 5) == pytest.approx(0.375)
    assert dp_cache_hit_share(0.0, 2) == 0.0
    with pytest.raises(ConfigError, match="servers"):
        dp_cache_hit_share(300.0, 1)
    # the simulated arrivals, labelled by the cache rule, after the first 600 s of an hour
    shares = []
    for seed in (1, 2):
        sc = linking_scenario(2, "disjoint", "linked", calls_per_hour=800.0, duration=3600.0, seed=seed)
        calls = label_calls(simulate(sc, seed=seed).calls)
        remote = calls[calls.remote & (calls.start >= 600.0)]
        shares.append(remote.cached.mean())
    assert np.mean(shares) == pytest.approx(0.375, abs=0.05)  # ≈ 1000 remote calls: σ ≈ 0.02


def test_cache_break_even_by_hand():
    # link.conf 0.200 s; switch 0.250 s uncached, 0.080 s cached: equal when
    # 0.080 h + 0.250 (1 − h) = 0.200, h = 0.05 / 0.17
    table = pd.DataFrame({"servers": [5, 5, 2, 2], "plan": ["interleaved"] * 2 + ["disjoint"] * 2,
                          "dialling": ["enbloc"] * 4, "calls_per_hour": [300.0] * 4,
                          "linking": ["linked", "switch"] * 2,
                          "pdd_remote": [0.200, 0.240, 0.080, 0.120], "pdd_remote_miss": [0.2, 0.250, 0.08, 0.130],
                          "pdd_remote_hit": [0.2, 0.080, 0.08, 0.080], "hit_share": [0.1, 0.1, 0.2, 0.2]})
    out = cache_break_even(table).set_index("servers")
    assert out.loc[5, "break_even_hit_share"] == pytest.approx(0.05 / 0.17)
    assert out.loc[2, "break_even_hit_share"] == pytest.approx(1.0)  # a hit only catches up with link.conf
    assert out.loc[5, "pdd_linked"] == 0.2 and out.loc[5, "pdd_switch"] == 0.24
    with pytest.raises(ConfigError, match="both modes"):
        cache_break_even(table[table.linking == "switch"])


@pytest.mark.parametrize("kwargs, message", [
    ({"plans": ("overlapping",)}, "plans"),
    ({"dialling": ("pulse",)}, "dialling"),
    ({"linking": ()}, "linking"),
    ({"settle": 500.0, "duration": 300.0}, "settle"),
])
def test_bad_grid_is_refused_by_name(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        compare_linking(**kwargs)


def test_bad_scenario_arguments_are_refused_by_name():
    with pytest.raises(ConfigError, match="plan"):
        linking_scenario(2, "mixed")
    with pytest.raises(ConfigError, match="servers"):
        linking_scenario(1)
    with pytest.raises(ConfigError, match="linking"):
        linking_scenario(2, linking="bridged")
