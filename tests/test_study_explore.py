"""The explorer's estimate against call set-up delays measured on Asterisk 22 (20 ms one-way
latency through a relay, callee answering at once) and hand-worked plans."""
from __future__ import annotations

import pytest

from iaxsim.errors import ConfigError
from iaxsim.numbering import NumberingPlan
from iaxsim.study.explore import estimate, estimate_plan, setup_delay, switch_dpreqs

MS = 0.001
TOLERANCE = 5 * MS  # the measurements' own spread (relay scheduling) is a few ms


def test_owner_first_is_124_ms_at_20_ms():
    assert setup_delay(0.020) == pytest.approx(124 * MS, abs=TOLERANCE)


def test_two_wrong_addresses_first_is_296_ms():
    assert setup_delay(0.020, wrong_addresses=2) == pytest.approx(296 * MS, abs=TOLERANCE)


def test_switch_b_256_ms_and_switch_c_340_ms():
    assert switch_dpreqs(1) == 3 and switch_dpreqs(2) == 5  # B, B, B and B, C, B, C, C
    assert setup_delay(0.020, dpreqs=switch_dpreqs(1)) == pytest.approx(256 * MS, abs=TOLERANCE)
    assert setup_delay(0.020, dpreqs=switch_dpreqs(2)) == pytest.approx(340 * MS, abs=TOLERANCE)


def test_black_hole_without_qualify_waits_32_s_and_is_skipped_with_it():
    # loopback, first address a black hole, qualify off: answered by the next priority at 32.00 s
    assert setup_delay(0.0, dead_addresses=1, qualify=False) == pytest.approx(32.0, abs=0.01)
    assert setup_delay(0.0, dead_addresses=1, qualify=True) < 0.01


def test_block_plan_by_hand():
    # 6000 (A) and 6001 (B) share the block _60XX, claimed A then B; C owns 7000. Remote pairs:
    # 6000 from B, C: A first, 0 wrong; 6001 from A: 0 wrong; from C: A rejects first (1 wrong);
    # 7000 from A, B: 0 wrong. Each server on its own site: every dialled server's internal
    # address is silent (skipped with qualify): 1 + 1 + 1 + 2 + 1 + 1 = 7 silent addresses.
    plan = NumberingPlan.from_dict({"A": ["6000"], "B": ["6001"], "C": ["7000"]})
    est = estimate_plan(plan, "block", latency=0.020, qualify=True)
    assert est.wrong_addresses == pytest.approx(1 / 6)
    assert est.dead_addresses == pytest.approx(7 / 6)
    trip = 0.020 + 0.001
    assert est.pdd_remote == pytest.approx((6 * 6 * trip + 4 * trip) / 6)
    assert est.pdd_remote_max == pytest.approx(10 * trip)
    exact = estimate_plan(plan, "exact", latency=0.020, qualify=True)
    assert exact.wrong_addresses == 0 and exact.pdd_remote == pytest.approx(6 * trip)
    off = estimate_plan(plan, "block", latency=0.020, qualify=False)
    assert off.pdd_remote == pytest.approx(est.pdd_remote + 32.0 * 7 / 6)


def test_switch_positions_by_hand():
    # switches in plan order without the origin: 6000 (A) is 1st for B and C (3 DPREQs);
    # 6001 (B) is 1st for A, 2nd for C (3, 5); 7000 (C) is 2nd for A and B (5, 5)
    plan = NumberingPlan.from_dict({"A": ["6000"], "B": ["6001"], "C": ["7000"]})
    est = estimate_plan(plan, "switch", latency=0.020)
    assert est.dpreqs == pytest.approx((3 + 3 + 3 + 5 + 5 + 5) / 6)
    assert est.pdd_remote_max == pytest.approx((6 + 2 * 5) * 0.021)


def test_lint_findings_follow_the_plan():
    clean = estimate(servers=4, per_server=50, overlap=0.0, link_mode="block")
    messy = estimate(servers=4, per_server=50, overlap=1.0, link_mode="block")
    assert clean.lint.overlap_score == 0 and clean.wrong_addresses == 0
    assert messy.lint.overlap_score > 0 and messy.wrong_addresses > 0
    assert "lint:" in messy.summary()


def test_bad_link_mode_is_named():
    with pytest.raises(ConfigError, match="link mode"):
        estimate(link_mode="trunk")
