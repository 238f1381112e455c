"""Numbering output checked by the dialplan engine (iaxsim.dialplan), the project's Asterisk matcher.

* cover patterns match exactly their set (every number of the length is asked);
* generated external.conf/link.conf load without warnings and route, through
  ``LinkedServer.resolve``, every extension of every server to its owner in a clean plan,
  and to a candidate list containing the owner in an interleaved one;
* the seed plan regenerates the seed's hand-written link.conf.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iaxsim.dialplan import Dialplan
from iaxsim.dialplan.linked import LinkedServer
from iaxsim.numbering import (NumberingPlan, analyze, cover, external_conf, link_conf, synthetic_plan,
                              verify_cover, write_all_confs)

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "data" / "plans"
SEED = ROOT / "data" / "seed"


def exists_set(patterns: list[str], length: int) -> set[str]:
    text = "[t]\n" + "".join(f"exten => {p},1,NoOp()\n" for p in patterns)
    dp = Dialplan.from_string(text, strict=True)
    return {n for n in (str(i).zfill(length) for i in range(10 ** length)) if dp.exists(n, "t")}


@pytest.mark.parametrize("lo, hi, expected", [
    (6000, 6099, ["_60XX"]),
    (6000, 6049, ["_60[0-4]X"]),
])
def test_issue_examples_verified_by_engine(lo, hi, expected):
    numbers = {str(i) for i in range(lo, hi + 1)}
    assert cover(numbers) == expected
    assert exists_set(expected, 4) == numbers


@settings(max_examples=60, deadline=None)
@given(st.sets(st.integers(0, 999), min_size=1, max_size=300))
def test_random_cover_matches_exactly_in_engine(ints):
    numbers = {str(i).zfill(3) for i in ints}
    pats = cover(numbers)
    assert exists_set(pats, 3) == numbers


def test_verify_cover_helper_catches_a_wrong_cover():
    numbers = [str(i) for i in range(6000, 6050)]
    verify_cover(cover(numbers), numbers)
    with pytest.raises(AssertionError, match="also matches 6050"):
        verify_cover(["_60[0-5]X"], numbers)
    with pytest.raises(AssertionError, match="misses 6040"):
        verify_cover(["_60[0-3]X"], numbers)


def servers_of(plan: NumberingPlan, mode: str) -> dict[str, LinkedServer]:
    out = {}
    for s in plan.servers:
        srv = LinkedServer.from_strings(external_conf(plan, s), link_conf(plan, s, mode=mode),
                                        account="1001", name=s)
        assert srv.warnings == [], srv.warnings
        out[s] = srv
    return out


def peers(res) -> list[str]:
    """Peer order of a resolution's attempts, one entry per peer (internal then external)."""
    seen = []
    for a in res.attempts:
        if a.peer not in seen:
            seen.append(a.peer)
    return seen


@pytest.mark.parametrize("mode", ["exact", "block"])
def test_clean_plan_routes_every_extension_to_its_owner(mode):
    plan = synthetic_plan(4, 100, 0.0, 4, seed=1)
    linked = servers_of(plan, mode)
    for origin, srv in linked.items():
        for owner in plan.servers:
            for number in plan.extensions[owner]:
                res = srv.resolve(number)
                if owner == origin:
                    assert res.is_local and not res.attempts
                    continue
                assert not res.is_local
                assert [(a.peer, a.address, a.priority) for a in res.attempts] == [
                    (f"server{owner}", "internal", 1), (f"server{owner}", "external", 2)]
                assert res.attempts[0].dial_string == f"IAX2/c1001i@cserver{owner}i/{number}@external"
                assert res.attempts[1].dial_string == f"IAX2/c1001x@cserver{owner}x/{number}@external"
    # a clean plan needs one pattern (two lines) per peer
    text = link_conf(plan, "A", mode=mode)
    assert sum(1 for line in text.splitlines() if line.startswith("exten")) == 2 * 3


@pytest.mark.parametrize("mode", ["exact", "block"])
@pytest.mark.parametrize("overlap", [0.5, 1.0])
def test_interleaved_plan_candidates_contain_the_owner(mode, overlap):
    plan = synthetic_plan(3, 60, overlap, 4, seed=7)
    linked = servers_of(plan, mode)
    routes = analyze(plan, mode=mode).routes.set_index("number")
    several = 0
    for origin, srv in linked.items():
        for owner in plan.servers:
            if owner == origin:
                continue
            for number in plan.extensions[owner]:
                res = srv.resolve(number)
                got = peers(res)
                assert f"server{owner}" in got
                if mode == "exact":
                    assert got == [f"server{owner}"]
                # the analysis' candidate list (minus the calling server) is what gets tried
                expected = [f"server{c}" for c in routes.loc[number, "candidates"] if c != origin]
                assert got == expected
                several += len(got) > 1
    if mode == "block":
        assert several > 0  # interleaving really does put wrong servers on the list
    # an interleaved plan needs more patterns than one per peer in exact mode
    if mode == "exact":
        lines = [x for x in link_conf(plan, "A", mode=mode).splitlines() if x.startswith("exten")]
        assert len(lines) > 2 * 2


def test_conflicting_number_tries_both_owners_in_plan_order():
    plan = NumberingPlan.from_dict({"A": ["7000"], "B": ["6000", "6001"], "C": ["6001"]})
    srv = servers_of(plan, "exact")["A"]
    res = srv.resolve("6001")
    assert [(a.peer, a.address, a.priority) for a in res.attempts] == [
        ("serverB", "internal", 1), ("serverB", "external", 2),
        ("serverC", "internal", 3), ("serverC", "external", 4)]
    assert peers(srv.resolve("6000")) == ["serverB"]
    assert srv.resolve("6002").attempts == []


def exten_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(("exten", "["))]


def test_seed_plan_regenerates_the_seed_files():
    plan = NumberingPlan.from_csv(PLANS / "seed.csv")
    for server in ("A", "B"):
        folder = SEED / f"server{server}"
        assert exten_lines(link_conf(plan, server)) == exten_lines((folder / "link.conf").read_text())
        assert exten_lines(external_conf(plan, server, external="patterns")) == \
            exten_lines((folder / "external.conf").read_text())


def test_written_folders_load_with_from_dir(tmp_path):
    plan = NumberingPlan.from_csv(PLANS / "five_sites.csv")
    dirs = write_all_confs(plan, tmp_path, mode="block")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"server{s}" for s in plan.servers)
    hq = LinkedServer.from_dir(dirs["HQ"], account="2000")
    assert hq.resolve("2005").is_local
    # 2100 is on HQ and SALES: HQ answers locally; PLANT tries HQ then SALES
    plant = LinkedServer.from_dir(dirs["PLANT"])
    assert peers(plant.resolve("2100")) == ["serverHQ", "serverSALES"]
    # 300 belongs to LAB only
    assert peers(plant.resolve("300")) == ["serverLAB"]


def test_link_confs_equals_one_call_per_server():
    from iaxsim.numbering import link_confs

    plan = synthetic_plan(4, 60, 0.5, 4, seed=3)
    for mode in ("exact", "block"):
        assert link_confs(plan, mode) == {s: link_conf(plan, s, mode) for s in plan.servers}


@pytest.mark.parametrize("mode", ["exact", "block"])
def test_messy_plan_engine_agrees_with_analysis(mode):
    # mixed lengths, conflicts and shared blocks: what LinkedServer tries from each server is
    # the analysis' candidate list without the calling server, or local when it owns the number
    plan = NumberingPlan.from_csv(PLANS / "five_sites.csv")
    linked = servers_of(plan, mode)
    routes = analyze(plan, mode=mode).routes.set_index("number")
    for origin, srv in linked.items():
        for number in routes.index:
            res = srv.resolve(number)
            if origin in routes.loc[number, "owners"]:
                assert res.is_local
                continue
            assert peers(res) == [f"server{c}" for c in routes.loc[number, "candidates"] if c != origin]
            assert all(f"server{o}" in peers(res) for o in routes.loc[number, "owners"])


def test_shared_link_table_keeps_each_servers_own_groups():
    """One LinkTable serves every server, yet a group's cover depends on whom the server leaves
    out: 6001 (A and B) joins A's "B only" group but stays a two-peer group on C."""
    from iaxsim.numbering import LinkTable

    plan = NumberingPlan.from_dict({"A": ["7000", "6001"], "B": ["6000", "6001"], "C": ["5000"]})
    table = LinkTable(plan, "exact")
    assert table.routes("A") == [("_600[01]", ("B",)), ("5000", ("C",))]
    assert table.routes("B") == [("6001", ("A",)), ("7000", ("A",)), ("5000", ("C",))]
    assert table.routes("C") == [("7000", ("A",)), ("6001", ("A", "B")), ("6000", ("B",))]
