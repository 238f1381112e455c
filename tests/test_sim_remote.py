"""Remote-call headline figures, the default calling split and the conflicting-number warning.

Expected values are counted by hand from Asterisk's behaviour as measured on the wire (three
servers linked the trixbox way, shared blocks tried in plan order, internal then external
address, qualify off): a wrong server answers REJECT cause 3 on its internal and then its
external address, so an owner in third place costs 3 NEWs; the owner tried first rings after 6
one-way trips (NEW, CALLTOKEN, NEW, ACCEPT, the caller's ACK, ANSWER) and each wrong address
adds 4 (NEW, CALLTOKEN, NEW, REJECT).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from iaxsim.cli import main
from iaxsim.errors import ConfigError, PlanWarning
from iaxsim.sim import TrafficSpec, scenario_from_dict, simulate
from iaxsim.sim.remote import heard, planner_view, remote_intervals, remote_metrics, remote_table
from iaxsim.theory.stats import quantile_ci

LATENCY = 0.020
TRIP = LATENCY


def three_servers(c_extensions: list[str], **traffic) -> dict:
    """A calls B and C; B owns 6000-6009, C the given numbers; link.conf blocks in plan order."""
    return {
        "name": "three", "duration": 600.0, "warmup": 0.0, "seed": 1,
        "servers": [{"id": "A", "extensions": ["7000"], "qualify": False},
                    {"id": "B", "extensions": ["6000-6009"], "qualify": False},
                    {"id": "C", "extensions": c_extensions, "qualify": False}],
        "network": {"latency": LATENCY, "internal_scope": "global"},
        "traffic": {"holding": 1.0, "extension_busy": False,
                    "servers": {"A": {"calls_per_hour": 360.0, "local": 0.0, "to": {"B": 0.5, "C": 0.5},
                                      **traffic}}},
    }


@pytest.fixture(scope="module")
def run():
    return simulate(scenario_from_dict(three_servers(["6010-6019"])))


def test_every_remote_call_costs_the_hand_counted_attempts_and_trips(run):
    calls = run.calls
    to_b, to_c = calls[calls.target == "B"], calls[calls.target == "C"]
    assert len(to_b) > 10 and len(to_c) > 10 and set(calls.outcome) == {"answered"}
    # B is tried first: one NEW to its internal address, rings after 6 one-way trips
    assert (to_b.attempts == 1).all() and (to_b.wrong_server == 0).all()
    assert np.allclose(to_b.post_dial_delay, 6 * TRIP, atol=0.002)
    # C sits behind B in the shared 60XX block: B-internal, B-external refuse, C-internal rings
    assert (to_c.attempts == 3).all() and (to_c.wrong_server == 2).all()
    assert np.allclose(to_c.post_dial_delay, (6 + 2 * 4) * TRIP, atol=0.002)


def test_remote_table_per_pair_and_in_all(run):
    table = remote_table(run.calls).set_index(["origin", "target"])
    nb, nc = (run.calls.target == "B").sum(), (run.calls.target == "C").sum()
    assert list(table.index) == [("A", "B"), ("A", "C"), ("all", "all")]
    assert table.loc[("A", "B"), "calls"] == nb and table.loc[("A", "C"), "calls"] == nc
    assert table.loc[("A", "B"), ["attempts", "wrong_server"]].tolist() == [1.0, 0.0]
    assert table.loc[("A", "C"), ["attempts", "wrong_server"]].tolist() == [3.0, 2.0]
    assert table.loc[("A", "B"), "pdd_mean_ms"] == pytest.approx(120.0, abs=2.0)
    assert table.loc[("A", "C"), "pdd_p95_ms"] == pytest.approx(280.0, abs=2.0)
    assert table.loc[("all", "all"), "attempts"] == pytest.approx((nb + 3 * nc) / (nb + nc))
    assert table.loc[("all", "all"), "wrong_server"] == pytest.approx(2 * nc / (nb + nc))
    assert table.loc[("all", "all"), "pdd_p95_ms"] == pytest.approx(280.0, abs=2.0)
    for col in ("digit_wait_pct", "busy_pct", "congestion_pct", "unobtainable_pct", "misrouted_pct"):
        assert (table[col] == 0).all()
    overall = remote_table(run.calls, pairs=False).set_index(["origin", "target"])
    assert list(overall.index) == [("all", "all")]
    assert overall.loc[("all", "all"), "attempts"] == pytest.approx((nb + 3 * nc) / (nb + nc))


def test_summary_and_metrics_lead_with_remote_calls_only(run):
    summary = run.summary()
    assert list(summary.index[:2]) == ["remote_post_dial_delay", "remote_post_dial_delay_p95"]
    n = len(run.calls)
    assert summary.loc["remote_attempts", "n"] == n  # A makes no local call: every call is remote
    assert summary.loc["remote_post_dial_delay_p95", "mean"] == pytest.approx(0.280, abs=0.002)
    assert summary.loc["remote_p_unobtainable", "mean"] == 0.0
    for kept in ("p_answered", "post_dial_delay", "post_dial_delay_answered", "attempts", "bytes"):
        assert kept in summary.index
    m = run.metrics()
    nc = (run.calls.target == "C").sum()
    assert m["remote_calls"] == n
    assert m["remote_wrong_server"] == pytest.approx(2 * nc / n)
    assert m["remote_p95_pdd"] == pytest.approx(0.280, abs=0.002)
    assert "mean_post_dial_delay" in m and "p95_post_dial_delay" in m


def test_local_calls_are_left_out_of_the_remote_figures():
    sc = three_servers(["6010-6019"], local=0.5, to={"B": 0.5})
    sc["servers"][0]["extensions"] = ["7000-7009"]
    res = simulate(scenario_from_dict(sc), seed=2)
    local = res.calls[res.calls.target == "A"]
    assert len(local) > 10 and (local.post_dial_delay < 0.001).all()  # only the lookup's CPU time
    assert res.remote().set_index("origin").loc["all", "pdd_mean_ms"] == pytest.approx(120.0, abs=2.0)
    assert res.summary().loc["remote_post_dial_delay", "mean"] == pytest.approx(0.120, abs=0.002)


def test_failures_by_what_the_caller_hears():
    outcomes = ["answered", "busy", "congestion", "failed", "rejected", "misrouted", "failed"]
    causes = [0, 17, 34, 34, 3, 0, 17]  # heard by the calling channel's cause, whatever the outcome
    assert heard(pd.DataFrame({"outcome": outcomes, "cause_code": causes})).tolist() == [
        "answered", "busy", "congestion", "congestion", "unobtainable", "misrouted", "busy"]
    outcomes = outcomes[:-1]
    calls = pd.DataFrame({
        "cause_code": causes[:-1] + [0, 3],
        "origin": ["A"] * 8, "target": ["B"] * 6 + ["A", ""],
        "outcome": outcomes + ["answered", "rejected"],
        "post_dial_delay": [0.1, 0.2, 0.0, 32.0, 0.3, 0.5, 0.0, 0.3],
        "attempts": [1, 1, 0, 2, 2, 1, 0, 2], "wrong_server": [0, 0, 0, 0, 2, 1, 0, 2],
        "digit_wait": [0.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0]})
    m = remote_metrics(calls)  # six remote calls; the local one and the unassigned one do not count
    assert m["calls"] == 6
    assert m["p_busy"] == pytest.approx(1 / 6) and m["p_congestion"] == pytest.approx(2 / 6)
    assert m["p_unobtainable"] == pytest.approx(1 / 6) and m["p_misrouted"] == pytest.approx(1 / 6)
    assert m["pdd_mean"] == pytest.approx(0.3)  # the two that rang: answered 0.1 s, misrouted 0.5 s
    assert m["attempts"] == pytest.approx(7 / 6) and m["wrong_server"] == pytest.approx(3 / 6)
    assert m["digit_waits"] == pytest.approx(1 / 6)


def test_intervals_over_seeds_stay_in_range():
    rows = []
    for seed, (busy, pdd) in enumerate([(0, 0.10), (0, 0.12), (1, 0.14)]):
        rows.append({"seed": seed, "origin": "A", "target": "B", "outcome": "busy" if busy else "answered",
                     "post_dial_delay": pdd, "attempts": 1, "wrong_server": 0, "digit_wait": 0.0,
                     "cause_code": 17 if busy else 0})
    iv = remote_intervals(pd.DataFrame(rows)).set_index(["origin", "target", "metric"])
    busy = iv.loc[("A", "B", "busy_pct")]
    assert busy["mean"] == pytest.approx(100 / 3) and busy.ci_low == 0.0 and busy.ci_high == 100.0
    pdd = iv.loc[("all", "all", "pdd_mean_ms")]
    assert pdd["mean"] == pytest.approx(110.0) and pdd.n == 2  # the busy seed rang no call
    view = planner_view(iv.reset_index(), ["pdd_mean_ms", "busy_pct"])
    assert view.loc[("A", "B"), "busy_pct"].startswith("33.3 (0.0–100.0)")


def test_quantile_interval_ranks_match_the_published_table():
    # Campbell & Gardner (BMJ 1988): the 95 % interval of the median of 100 values lies between
    # the 40th and the 61st of them
    est, lo, hi = quantile_ci(np.arange(1.0, 101.0), 0.5)
    assert (est, lo, hi) == (50.5, 40.0, 61.0)
    assert math.isnan(quantile_ci(np.arange(1.0, 11.0), 0.95)[2])  # too few values for an upper bound


# --------------------------------------------------------------------------- default split


def test_default_split_follows_the_plans_extensions():
    tr = TrafficSpec(calls_per_hour=10.0)
    assert tr.by_plan
    local, to = tr.calling_shares(10, {"B": 20, "C": 30})
    assert local == pytest.approx(1 / 6) and to == pytest.approx({"B": 1 / 3, "C": 1 / 2})
    local, to = TrafficSpec(unassigned=0.1).calling_shares(10, {"B": 20, "C": 30})
    assert local == pytest.approx(0.15) and to == pytest.approx({"B": 0.3, "C": 0.45})
    assert TrafficSpec().calling_shares(5, {}) == (1.0, {})
    # given shares: local is what the others leave, remote spread evenly
    local, to = TrafficSpec(remote=0.4).calling_shares(10, {"B": 20, "C": 30})
    assert local == pytest.approx(0.6) and to == pytest.approx({"B": 0.2, "C": 0.2})


def test_scenario_without_local_or_remote_calls_the_other_servers():
    sc = scenario_from_dict({
        "duration": 3600.0, "servers": [{"id": "A", "extensions": ["1000-1009"]},
                                        {"id": "B", "extensions": ["2000-2029"]}],
        "traffic": {"calls_per_hour": 2000.0, "holding": 1.0, "extension_busy": False}})
    calls = simulate(sc, seed=1).calls
    from_a = calls[calls.origin == "A"]
    share_b = float((from_a.target == "B").mean())
    n = len(from_a)
    # 30 of the plan's 40 extensions are B's: 3/4 of A's calls go there (binomial, 4 sigma)
    assert abs(share_b - 0.75) < 4 * math.sqrt(0.75 * 0.25 / n)
    share_a = float((calls[calls.origin == "B"].target == "A").mean())
    assert abs(share_a - 0.25) < 4 * math.sqrt(0.25 * 0.75 / n)


def test_given_shares_still_must_add_up():
    base = {"servers": [{"id": "A", "extensions": ["1"]}, {"id": "B", "extensions": ["2"]}]}
    assert scenario_from_dict({**base, "traffic": {"remote": 0.3}}).traffic.calling_shares(1, {"B": 1})[0] \
        == pytest.approx(0.7)
    with pytest.raises(ConfigError, match="must sum to 1"):
        scenario_from_dict({**base, "traffic": {"local": 0.5}, })
    with pytest.raises(ConfigError, match="exceed 1"):
        scenario_from_dict({**base, "traffic": {"remote": 0.8, "unassigned": 0.5}})


# --------------------------------------------------------------------------- conflicting numbers


CONFLICT_TEXT = ("scenario 'three': 1 number(s) belong to more than one server (B and C both own 6000); "
                 "a call from elsewhere reaches whichever owner its server's link.conf tries first, "
                 "a call from an owner stays local")


def test_conflicting_number_warns_and_misroutes():
    sc = scenario_from_dict(three_servers(["6000", "6010-6019"], to={"C": 1.0}))
    with pytest.warns(PlanWarning) as caught:
        res = simulate(sc, seed=3)
    assert [str(w.message) for w in caught] == [CONFLICT_TEXT]
    calls = res.calls
    to_shared = calls[calls.dialled == "6000"]
    assert len(to_shared) > 0
    # C's 6000 is answered by B, tried first for the 60XX block: one wrong-server attempt
    assert (to_shared.outcome == "misrouted").all() and (to_shared.wrong_server == 1).all()
    table = res.remote().set_index("origin")
    assert table.loc["all", "misrouted_pct"] == pytest.approx(100 * len(to_shared) / len(calls))


def test_simulate_command_prints_the_conflict(tmp_path, capsys):
    toml = tmp_path / "three.toml"
    toml.write_text("""name = "three"
duration = 120.0
[[servers]]
id = "A"
extensions = ["7000"]
[[servers]]
id = "B"
extensions = ["6000-6009"]
[[servers]]
id = "C"
extensions = ["6000", "6010-6019"]
[traffic]
calls_per_hour = 60.0
""")
    assert main(["simulate", str(toml), "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert f"warning: {CONFLICT_TEXT}" in err
    assert "Remote calls per origin -> target" in out and "remote_post_dial_delay_p95" in out


def test_many_conflicts_are_counted_not_dropped():
    from iaxsim.sim.plans import conflict_text

    owners = {str(n): ("X", "Y") for n in range(100, 125)} | {"9": ("X", "Y", "Z"), "1": ("X",)}
    text = conflict_text(owners, "big", limit=3)
    assert text.startswith("scenario 'big': 26 number(s) belong to more than one server "
                           "(X and Y both own 100, 101, 102 and 22 more; X, Y, Z all own 9)")
