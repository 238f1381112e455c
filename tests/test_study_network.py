"""A study of a network described by a scenario keeps its IP network (firewall rules, NAT,
latency, per-link settings) in every run, and a firewall that lets IAX2 through one way only is
found and named in the advice."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from iaxsim.cli import main
from iaxsim.numbering import NumberingPlan
from iaxsim.sim import scenario_from_dict
from iaxsim.study import StudyOptions, busy_hour_scenario, load_network, recommend, run_study
from iaxsim.study.core import Network, blocked_servers, both_way_failures, one_way_failures

SCENARIOS = Path(__file__).resolve().parent.parent / "data" / "scenarios"
PLAN = NumberingPlan.from_dict({"A": ["7000", "7001"], "B": ["6000", "6001"]})


def _calls(rows: list[tuple[str, str, int, int]]) -> pd.DataFrame:
    """Remote calls: (origin, target, how many, how many of them failed)."""
    out = []
    for origin, target, n, failed in rows:
        out += [{"origin": origin, "target": target, "outcome": "failed" if i < failed else "answered"}
                for i in range(n)]
    return pd.DataFrame(out)


@pytest.mark.parametrize("rows, expected", [
    ([("A", "B", 20, 15), ("B", "A", 20, 1)], [("A", "B", 0.75, 0.05)]),
    ([("A", "B", 20, 15), ("B", "A", 20, 15)], []),      # both ways: not a one-way block
    ([("A", "B", 2, 2), ("B", "A", 20, 0)], []),         # too few calls to say
    ([("A", "B", 20, 9), ("B", "A", 20, 0)], []),        # fewer than half fail
    ([("A", "B", 20, 20), ("B", "A", 20, 3)], []),       # more than a tenth fail back
])
def test_one_way_failures_by_hand(rows, expected) -> None:
    found = one_way_failures(_calls(rows))
    assert [(a, b) for a, b, _, _ in found] == [(a, b) for a, b, _, _ in expected]
    for (_, _, there, back), (_, _, want_there, want_back) in zip(found, expected):
        assert (there, back) == pytest.approx((want_there, want_back))


def test_the_scenarios_network_goes_into_every_run() -> None:
    net = Network(PLAN, "net.toml", ip_network={
        "latency": 0.05, "firewall": [{"from": "B", "to": "A", "kind": "any", "port": 4569, "stateful": False}]},
        server_settings={"A": {"nat": True}})
    sc = scenario_from_dict(busy_hour_scenario(PLAN, StudyOptions(latency=0.02), "exact", network=net))
    assert sc.network.latency.params["value"] == 0.05  # the scenario's latency, not the option's
    assert [(r.src, r.dst, r.port) for r in sc.network.firewall] == [("B", "A", 4569)]
    assert [s.nat for s in sc.servers] == [True, False]
    plain = scenario_from_dict(busy_hour_scenario(PLAN, StudyOptions(latency=0.02), "exact"))
    assert plain.network.latency.params["value"] == 0.02 and not plain.network.firewall


def test_load_network_reads_the_ip_network_of_a_scenario() -> None:
    net = load_network(SCENARIOS / "one_way_firewall.toml")
    assert net.firewall == [{"from": "B", "to": "A", "kind": "any", "port": 4569, "stateful": False}]
    assert net.server_settings == {"A": {"nat": True}}


@pytest.fixture(scope="module")
def one_way_study():
    net = load_network(SCENARIOS / "one_way_firewall.toml")
    return run_study(net, StudyOptions(duration=600.0, warmup=60.0, seeds=2))


def test_a_one_way_firewall_is_found_and_named(one_way_study) -> None:
    advice = recommend(one_way_study)
    assert not advice["clean"]
    # B's calls to A never get through (A drops UDP 4569 from B); A's calls to B ring via A's NAT
    assert advice["findings"][0].startswith("Calls from B to A fail (100% of them; the caller hears "
                                            "congestion) while calls from A to B ring (0% fail)")
    assert "the firewall rule dropping UDP 4569 from B to A" in advice["findings"][0]
    assert advice["recommendations"][0].startswith("Let UDP 4569 through from B to A")
    calls = one_way_study.calls
    calls = calls[calls["condition"] == "current, block link.conf"]
    b_to_a = calls[(calls["origin"] == "B") & (calls["target"] == "A")]
    assert len(b_to_a) > 20 and (b_to_a["outcome"] == "failed").all()


def test_the_report_says_which_network_it_simulated(tmp_path: Path) -> None:
    out = tmp_path / "study"
    assert main(["study", str(SCENARIOS / "one_way_firewall.toml"), "--out", str(out), "--duration", "300",
                 "--seeds", "2", "--no-progress", "--no-notebook"]) == 0
    index = (out / "index.html").read_text()
    assert "20 ms one-way between sites (firewall rules, servers behind NAT as" in index
    assert "Let UDP 4569 through from B to A" in index


def test_both_way_failures_by_hand() -> None:
    calls = _calls([("A", "B", 20, 15), ("B", "A", 20, 20), ("A", "C", 20, 0), ("C", "A", 20, 20)])
    assert both_way_failures(calls) == [("A", "B", 0.75, 1.0)]  # A–C fails one way only
    assert one_way_failures(calls) == [("C", "A", 1.0, 0.0)]


def test_a_firewall_closed_both_ways_is_found(tmp_path: Path) -> None:
    text = (SCENARIOS / "one_way_firewall.toml").read_text().replace("nat = true\n", "")
    text = text.replace("../seed/", str(SCENARIOS.parent / "seed") + "/")
    text += '\n[[network.firewall]]\nfrom = "A"\nto = "B"\nkind = "any"\nport = 4569\nstateful = false\n'
    (tmp_path / "closed.toml").write_text(text)
    study = run_study(load_network(tmp_path / "closed.toml"), StudyOptions(duration=300.0, warmup=60.0, seeds=2))
    advice = recommend(study)
    assert advice["findings"][0].startswith("Calls between A and B fail both ways (100% from A, 100% from B")
    assert "(firewall rules drop it)" in advice["findings"][0]
    assert advice["recommendations"][0].startswith("Let UDP 4569 through between A and B, both ways")
    assert not advice["clean"]


def _imported(tmp_path: Path, b_link_conf: str | None = None) -> Path:
    """The seed's two servers imported as a planner's network (B's link.conf replaced when given)."""
    out = tmp_path / "net"
    assert main(["import", str(SCENARIOS.parent / "seed" / "serverA"), str(SCENARIOS.parent / "seed" / "serverB"),
                 "--out", str(out)]) == 0
    if b_link_conf is not None:
        (out / "B" / "link.conf").write_text(b_link_conf)
    return out


def test_an_imported_network_is_simulated_on_its_own_link_conf_first(tmp_path: Path) -> None:
    net = load_network(_imported(tmp_path))
    assert net.has_deployed_link_confs
    sc = scenario_from_dict(busy_hour_scenario(net.plan, StudyOptions(), "deployed", network=net))
    assert [Path(s.link_conf).parts[-2:] for s in sc.servers] == [("A", "link.conf"), ("B", "link.conf")]
    plain = NumberingPlan.from_dict({"A": ["7000"], "B": ["6000"]})
    with pytest.raises(Exception, match="deployed link.conf of every server"):
        busy_hour_scenario(plain, StudyOptions(), "deployed")


def test_a_deployed_link_conf_that_misses_a_server_shows_in_the_advice(tmp_path: Path) -> None:
    """B's deployed link.conf routes nothing to A: B's callers to A hear "number unobtainable"
    with the network as it is, which the generated link.conf of the other conditions would hide."""
    net = load_network(_imported(tmp_path, "[link]\nexten => _5XXX,1,Dial(IAX2/c${ACCOUNT}x@cserverAx/${EXTEN}@external)\n"))
    study = run_study(net, StudyOptions(duration=300.0, warmup=60.0, seeds=2))
    assert study.baseline == "current, deployed link.conf"
    assert list(study.runs["condition"].drop_duplicates())[0] == "current, deployed link.conf"
    advice = recommend(study)
    assert advice["headline"].startswith("Remote calls (to another server's extensions) with the "
                                         "link.conf deployed now ring after")
    calls = study.calls
    deployed = calls[(calls["condition"] == study.baseline) & (calls["origin"] == "B") & (calls["target"] == "A")]
    generated = calls[(calls["condition"] == "current, block link.conf") & (calls["origin"] == "B")
                      & (calls["target"] == "A")]
    assert len(deployed) > 5 and (deployed["outcome"] == "rejected").all()
    assert (generated["outcome"] != "rejected").all()
    assert not advice["clean"]
    assert advice["findings"][0] == ("B's deployed link.conf has no route to A's numbers: 100% of B's calls "
                                     "to A are refused as unknown numbers (the caller hears number "
                                     "unobtainable).")
    assert advice["recommendations"][0].startswith("Replace B's link.conf with the generated one "
                                                   "(artefacts/B/link.conf)")


def test_blocked_servers_by_hand() -> None:
    rows = [("A", "C", 6, 6), ("B", "C", 6, 5), ("A", "B", 10, 0), ("B", "A", 10, 1), ("C", "A", 6, 0),
            ("C", "B", 6, 0)]
    # 11 of the 12 calls to C fail, 1 of the 20 between A and B; C's own calls ring
    assert blocked_servers(_calls(rows)) == [("C", "to", pytest.approx(11 / 12), pytest.approx(0.05))]
    assert blocked_servers(_calls(rows), least=13) == []  # too few calls to C to say


def test_a_site_that_lets_no_iax2_in_is_found_on_a_larger_network(tmp_path: Path) -> None:
    """Four servers, C's firewall drops UDP 4569 from everyone: few calls per pair, one finding for C."""
    text = "\n".join([f'[[servers]]\nid = "{sid}"\nextensions = ["{d}000-{d}099"]\n'
                      for sid, d in (("A", 2), ("B", 3), ("C", 4), ("D", 5))])
    text += '\n[[network.firewall]]\nfrom = "*"\nto = "C"\nkind = "any"\nport = 4569\nstateful = false\n'
    (tmp_path / "net.toml").write_text('name = "blocked"\n' + text)
    study = run_study(load_network(tmp_path / "net.toml"), StudyOptions(duration=300.0, warmup=60.0, seeds=2))
    advice = recommend(study)
    assert advice["findings"][0].startswith("Calls to C fail from the other servers (100% of them")
    # C's own calls fail too: the other servers' replies to them are dropped on the way in
    assert ", and so do C's own calls to them (100%: their replies do not get in either)" in advice["findings"][0]
    assert advice["findings"][0].endswith("does not get in to C (firewall rules drop it).")
    assert advice["recommendations"][0].startswith("Let UDP 4569 in to C from the other servers")
    assert not [f for f in advice["findings"] if f.startswith("Calls from ") or f.startswith("Calls between")]
