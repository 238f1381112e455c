"""synthetic_plan(): deterministic, documented layout, overlap share as specified."""
from __future__ import annotations

import pytest

from iaxsim.numbering import NumberingPlan, PlanError, analyze, synthetic_plan
from iaxsim.numbering.synthetic import server_ids
from pathlib import Path

PLANS = Path(__file__).resolve().parent.parent / "data" / "plans"


def test_deterministic_for_a_seed():
    a = synthetic_plan(5, 80, 0.4, 5, seed=11)
    assert a == synthetic_plan(5, 80, 0.4, 5, seed=11)
    assert a != synthetic_plan(5, 80, 0.4, 5, seed=12)


def test_disjoint_blocks_at_zero_overlap():
    plan = synthetic_plan(3, 100, 0.0, 4, seed=0)
    # laid out from leading digit 2 in 100-number blocks, server after server
    assert plan.extensions["A"] == tuple(str(n) for n in range(2000, 2100))
    assert plan.extensions["B"] == tuple(str(n) for n in range(2100, 2200))
    assert plan.extensions["C"] == tuple(str(n) for n in range(2200, 2300))


def test_full_overlap_deals_one_common_range():
    plan = synthetic_plan(4, 50, 1.0, 4, seed=5)
    every = sorted(e for s in plan.servers for e in plan.extensions[s])
    # 4 x 50 = 200 numbers fill the two shared blocks 2000-2199 exactly
    assert every == [str(n) for n in range(2000, 2200)]
    assert all(len(plan.extensions[s]) == 50 for s in plan.servers)


@pytest.mark.parametrize("overlap", [0.1, 0.3, 0.7])
def test_overlap_is_the_share_in_shared_blocks(overlap):
    plan = synthetic_plan(6, 200, overlap, 5, seed=1)
    own = round((1 - overlap) * 200)
    for s in plan.servers:
        assert len(plan.extensions[s]) == 200
    assert analyze(plan).overlap_score == pytest.approx(overlap, abs=1e-9)
    assert own == 200 - round(overlap * 200)


def test_server_ids_and_errors():
    assert server_ids(28)[:3] == ["A", "B", "C"] and server_ids(28)[26:] == ["S27", "S28"]
    with pytest.raises(PlanError, match="use a longer length"):
        synthetic_plan(20, 1000, 0.0, 4)
    with pytest.raises(PlanError, match="overlap must lie"):
        synthetic_plan(2, 10, 1.5)
    with pytest.raises(PlanError, match="servers must be"):
        synthetic_plan(0, 10)


def test_bundled_twenty_site_plan_is_reproducible():
    assert NumberingPlan.from_csv(PLANS / "synthetic20.csv") == synthetic_plan(20, 200, 0.3, 5, seed=20)
