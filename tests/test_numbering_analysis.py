"""analyze(): conflicts, prefix hazards, pattern overlap, overlap score, reserved prefixes.

Expected values are derived by hand or by a naive double loop written here (an oracle
independent of the bisect-based code under test).
"""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iaxsim.numbering import NumberingPlan, PlanError, analyze, find_prefix_pairs, synthetic_plan


def naive_prefix_pairs(numbers):
    nums = sorted(set(numbers))
    return sorted((a, b) for a in nums for b in nums if a != b and b.startswith(a))


def test_hand_example():
    plan = NumberingPlan.from_dict({
        "A": ["600", "6001", "6002", "9000"],
        "B": ["6001", "6100", "112"],
        "C": ["7000"],
    })
    a = analyze(plan, mode="exact")
    assert a.conflicts["number"].tolist() == ["6001"]
    assert a.conflicts["servers"].tolist() == [("A", "B")]
    hz = {(r.short, r.long, r.scope) for r in a.prefix_hazards.itertuples()}
    assert hz == {("600", "6001", "cross-server"), ("600", "6002", "same server")}
    col = {(r.server, r.extension, r.reserved) for r in a.reserved_collisions.itertuples()}
    assert col == {("A", "9000", "9"), ("B", "112", "112")}
    assert not a.uniform_length and not a.is_clean
    # exact patterns: A's patterns match B's 6001 and vice versa, nothing else
    assert a.pattern_overlap.loc["A", "B"] == 1 and a.pattern_overlap.loc["B", "A"] == 1
    assert a.pattern_overlap.loc["A", "C"] == 0
    r = a.routes.set_index("number")
    assert r.loc["6001", "candidates"] == ("A", "B") and r.loc["6001", "wrong_candidates"] == 0
    assert r.loc["600", "waits"] and not r.loc["6001", "waits"]
    text = a.summary()
    assert "Conflicts (same number on several servers, unroutable): 1" in text
    assert "6001: A, B" in text
    assert "600 (A) is a prefix of 6001 (A, B)" in text
    assert "A 9000 collides with outside-line prefix 9" in text


def test_block_mode_overlap_and_score_by_hand():
    # A: 40 numbers in block 60xx and 10 in block 61xx; B: 50 in block 61xx; C alone in 70xx.
    plan = NumberingPlan.from_dict({
        "A": [str(n) for n in range(6000, 6040)] + [str(n) for n in range(6100, 6110)],
        "B": [str(n) for n in range(6150, 6200)],
        "C": [str(n) for n in range(7000, 7010)],
    })
    a = analyze(plan, mode="block", block_digits=2)
    # A's patterns (_6[01]XX) match all 50 of B's; B's (_61XX) match A's 10 in 61xx
    assert a.pattern_overlap.loc["A", "B"] == 50
    assert a.pattern_overlap.loc["B", "A"] == 10
    assert a.pattern_overlap.loc["A", "C"] == 0 and a.pattern_overlap.loc["C", "A"] == 0
    pair = a.pair_scores.set_index(["server_a", "server_b"])
    # (10 of A in B's blocks + 50 of B in A's blocks) / (50 + 50)
    assert pair.loc[("A", "B"), "score"] == pytest.approx(0.6)
    assert pair.loc[("A", "C"), "score"] == 0
    # 60 extensions (A's 10 + B's 50) of 110 sit in a shared block
    assert a.overlap_score == pytest.approx(60 / 110)
    r = a.routes.set_index("number")
    assert r.loc["6155", "candidates"] == ("A", "B") and r.loc["6155", "wrong_candidates"] == 1
    assert r.loc["6005", "candidates"] == ("A",)
    assert a.candidate_histogram.to_dict() == {1: 50, 2: 60}
    assert a.pattern_counts == {"A": 1, "B": 1, "C": 1}


def test_block_mode_pattern_level_wait():
    # 601 is no prefix of 6050, but B's block pattern _60XX also matches 6010-6019
    plan = NumberingPlan.from_dict({"A": ["601"], "B": ["6050"]})
    a = analyze(plan, mode="block")
    assert a.n_prefix_hazards == 0
    assert bool(a.routes.set_index("number").loc["601", "waits"])
    assert not analyze(plan, mode="exact").routes["waits"].any()


@pytest.mark.parametrize("overlap", [0.0, 0.25, 0.5, 1.0])
def test_synthetic_clean_plan_has_no_findings(overlap):
    plan = synthetic_plan(4, 200, overlap, 4, seed=3)
    a = analyze(plan)
    assert a.n_conflicts == 0 and a.n_prefix_hazards == 0 and a.n_reserved_collisions == 0
    assert a.uniform_length and a.is_clean
    assert a.overlap_score == pytest.approx(overlap, abs=0.02)
    assert (a.routes["n_candidates"] >= 1).all()


def test_clean_disjoint_plan_needs_one_pattern_each():
    a = analyze(synthetic_plan(5, 100, 0.0, 4, seed=0))
    assert a.overlap_score == 0
    assert a.pattern_counts == {s: 1 for s in "ABCDE"}
    assert "Verdict: clean" in a.summary()


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 5), st.integers(20, 120), st.floats(0, 1), st.integers(0, 10_000),
       st.integers(0, 6), st.integers(0, 6))
def test_planted_conflicts_and_hazards_are_all_found(n_servers, eps, overlap, seed, n_conf, n_haz):
    base = synthetic_plan(n_servers, eps, overlap, 4, seed=seed)
    rnd = random.Random(seed)
    exts = {s: list(base.extensions[s]) for s in base.servers}
    planted_conf, planted_haz = set(), set()
    for _ in range(n_conf):  # copy a number onto another server
        src, dst = rnd.sample(base.servers, 2)
        num = rnd.choice(base.extensions[src])
        if num not in exts[dst]:
            exts[dst].append(num)
            planted_conf.add(num)
    placed: dict[str, set[str]] = {}
    for _ in range(n_haz):  # add a 3-digit prefix of some number on another server
        src, dst = rnd.sample(base.servers, 2)
        long = rnd.choice(base.extensions[src])
        if long[:3] not in exts[dst]:
            exts[dst].append(long[:3])
        placed.setdefault(long[:3], set()).add(dst)
        planted_haz.add((long[:3], long))
    # a short number planted on two servers is itself a conflict
    planted_conf |= {short for short, where in placed.items() if len(where) > 1}
    plan = NumberingPlan.from_dict(exts)
    a = analyze(plan, outside_line=(), emergency=())
    found_conf = set(a.conflicts["number"])
    assert found_conf == planted_conf
    found_haz = {(r.short, r.long) for r in a.prefix_hazards.itertuples()}
    assert planted_haz <= found_haz
    every = [e for s in plan.servers for e in plan.extensions[s]]
    assert sorted(found_haz) == naive_prefix_pairs(every)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text("0123", min_size=1, max_size=4), max_size=40))
def test_find_prefix_pairs_matches_naive(numbers):
    assert sorted(find_prefix_pairs(numbers)) == naive_prefix_pairs(numbers)


def test_reserved_prefix_rules():
    plan = NumberingPlan.from_dict({"A": ["11", "1120", "1130", "8000", "555"]})
    a = analyze(plan, outside_line=("8",), emergency=("112",), reserved=("55",))
    got = {(r.extension, r.kind) for r in a.reserved_collisions.itertuples()}
    # 11 is a prefix of 112, 1120 starts with 112, 8000 starts with 8, 555 starts with 55
    assert got == {("11", "emergency number"), ("1120", "emergency number"),
                   ("8000", "outside-line prefix"), ("555", "reserved prefix")}


def test_bad_parameters():
    plan = NumberingPlan.from_dict({"A": ["1"]})
    with pytest.raises(PlanError, match="unknown link.conf mode"):
        analyze(plan, mode="fuzzy")
    with pytest.raises(PlanError, match="emergency: '11a' is not a digit prefix"):
        analyze(plan, emergency=["11a"])


def test_lengths_table():
    plan = NumberingPlan.from_dict({"A": ["100", "1000", "1001"], "B": ["2000"]})
    a = analyze(plan)
    assert a.lengths.values.tolist() == [["A", 3, 1], ["A", 4, 2], ["B", 4, 1]]
    assert "Length: NOT uniform (A 3/4, B 4)" in a.summary()


def test_link_conf_sizes_by_hand():
    from pathlib import Path

    plans = Path(__file__).resolve().parent.parent / "data" / "plans"
    seed = analyze(NumberingPlan.from_csv(plans / "seed.csv"), link_sizes=True)
    assert seed.link_sizes == {"A": 1, "B": 1}
    five = analyze(NumberingPlan.from_csv(plans / "five_sites.csv"), link_sizes=True)
    # HQ's link.conf in block mode, grouped by the peers that claim each block:
    # PLANT 22XX and 30XX (2 patterns), LAB _3XX (1), SALES 21XX+24XX = _2[14]XX (1),
    # SALES+DEPOT 40XX (1), DEPOT 90XX and 11XX (2): 7 patterns.
    assert five.link_sizes["HQ"] == 7
    assert "Patterns in each server's own link.conf: HQ 7," in five.summary()
    assert analyze(NumberingPlan.from_csv(plans / "seed.csv")).link_sizes is None
