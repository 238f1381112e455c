"""renumber(): zero conflicts, hazards and reserved collisions after; no more changes than brute force."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iaxsim.numbering import NumberingPlan, PlanError, renumber, synthetic_plan
from iaxsim.numbering.renumber import assign_units, free_units

RESERVED = ("9", "112")


def collides(n: str) -> bool:
    return any(n.startswith(r) or r.startswith(n) for r in RESERVED)


def brute_force_changes(plan: NumberingPlan, units: list[str], length: int) -> int:
    """Fewest changed extensions over every way to hand units to servers (each server >= 1)."""
    servers = list(plan.servers)
    total = len(plan)
    best_kept = -1
    for owner in itertools.product(range(len(servers) + 1), repeat=len(units)):
        if any(i not in owner for i in range(len(servers))):
            continue
        kept = 0
        for u, o in zip(units, owner):
            if o == len(servers):
                continue
            kept += sum(1 for e in plan.extensions[servers[o]]
                        if len(e) == length and e.startswith(u) and not collides(e))
        best_kept = max(best_kept, kept)
    return total - best_kept


def check_result(plan, res):
    after = res.after
    assert after.n_conflicts == 0 and after.n_prefix_hazards == 0 and after.n_reserved_collisions == 0
    assert after.uniform_length
    for s in plan.servers:
        rows = res.mapping[res.mapping["server"] == s]
        assert sorted(rows["old"]) == sorted(plan.extensions[s])
        assert len(set(rows["new"])) == len(rows)
        assert sorted(rows["new"]) == sorted(res.plan.extensions[s])
        for r in rows.itertuples():
            assert len(r.new) == res.length
            assert any(r.new.startswith(u) for u in res.units[s])
            assert r.changed == (r.new != r.old)


numbers = st.text("1234", min_size=2, max_size=3)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sets(numbers, min_size=1, max_size=8), min_size=2, max_size=3))
def test_changes_no_more_than_brute_force(sets):
    plan = NumberingPlan.from_dict({f"S{i}": sorted(s) for i, s in enumerate(sets)})
    res = renumber(plan, outside_line=("9",), emergency=("112",), first_digits="1234")
    check_result(plan, res)
    units = free_units(res.unit_digits, RESERVED, "1234")
    assert res.unit_digits == 1 and units == ["1", "2", "3", "4"]
    assert res.n_changed == brute_force_changes(plan, units, res.length)


def test_five_sites_example_by_hand():
    plan = NumberingPlan.from_csv_text(
        "server,first,last\nHQ,2000,2199\nPLANT,3000,3099\nPLANT,2200,2249\nLAB,300,329\n"
        "SALES,4000,4099\nSALES,2100,2104\nDEPOT,9000,9019\n")
    res = renumber(plan)
    check_result(plan, res)
    # HQ keeps 2XXX, PLANT 3XXX, SALES 4XXX; PLANT's 50 in 22XX, SALES's 5 copies,
    # LAB's 30 short numbers and DEPOT's 20 on the outside-line digit must move
    assert res.n_changed == 50 + 5 + 30 + 20
    assert res.units["HQ"] == ("2",) and res.units["PLANT"] == ("3",) and res.units["SALES"] == ("4",)
    m = res.mapping.set_index(["server", "old"])["new"]
    assert m[("PLANT", "2200")] == "3200"  # same last digits under the new prefix
    assert m[("LAB", "300")] in {u + "300" for u in res.units["LAB"]}
    assert "conflicts 5 -> 0" in res.summary()


def test_seed_plan_keeps_everything_and_no_spare_prefix():
    # A owns 7000-7999 and B 6000-6999: nothing moves, and neither gets a prefix it does not use.
    plan = NumberingPlan.from_csv_text("server,first,last\nA,7000,7999\nB,6000,6999\n")
    res = renumber(plan)
    assert res.n_changed == 0
    assert res.units == {"A": ("7",), "B": ("6",)}


def test_site_prefixes_when_servers_outnumber_digits():
    plan = synthetic_plan(12, 30, 1.0, 5, seed=2)
    res = renumber(plan)
    assert res.unit_digits == 2
    check_result(plan, res)


def brute_force_assign(values: np.ndarray) -> tuple[float, int]:
    """Best (kept, -units handed out) over every owner per unit, each server owning >= 1."""
    n, m = values.shape
    best = None
    for owner in itertools.product(range(n + 1), repeat=m):
        if any(s not in owner for s in range(n)):
            continue
        kept = sum(values[o, u] for u, o in enumerate(owner) if o < n)
        key = (kept, -sum(o < n for o in owner))
        best = key if best is None else max(best, key)
    assert best is not None
    return best


def test_assign_units_against_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 4))
        m = int(rng.integers(n, 6))
        values = rng.integers(0, 4, (n, m)).astype(float) * (rng.random((n, m)) < 0.6)
        owned = assign_units(values)
        assert all(owned)  # every server owns a unit, no unit has two owners
        assert sum(len(o) for o in owned) == len(set().union(*owned))
        kept = sum(values[s, u] for s, units in enumerate(owned) for u in units)
        assert (kept, -sum(len(o) for o in owned)) == brute_force_assign(values)


def test_assign_units_spare_units_lowest_first_in_server_order():
    # Servers 1 and 3 keep nothing anywhere: they get the two lowest units nobody keeps
    # anything in (1 and 2), in server order; 0 and 2 get only the units they keep in.
    values = np.array([[0.0, 0.0, 0.0, 7.0, 0.0, 0.0],
                       [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                       [3.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                       [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    assert assign_units(values) == [{3}, {1}, {0}, {2}]


def test_assign_units_every_server_gets_one():
    values = np.array([[5.0, 4.0, 0.0], [3.0, 0.0, 0.0]])
    # By hand: server 1 must own a unit. Giving it unit 2 (worth 0) lets server 0 keep
    # units 0 and 1 (5 + 4 = 9); giving it unit 0 keeps only 3 + 4 = 7.
    assert assign_units(values) == [{0, 1}, {2}]
    values = np.array([[5.0, 0.0], [3.0, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError):  # three servers, two units
        assign_units(values)


def test_bad_arguments():
    plan = NumberingPlan.from_dict({"A": ["100"]})
    with pytest.raises(PlanError, match="first_digits"):
        renumber(plan, first_digits="1a")
    with pytest.raises(PlanError, match="leaves no digits"):
        renumber(plan, length=1)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 12), st.integers(5, 60), st.floats(0, 1), st.integers(0, 1000),
       st.lists(st.text("0123456789", min_size=1, max_size=5), max_size=15))
def test_any_plan_comes_out_clean(n_servers, eps, overlap, seed, extra):
    base = synthetic_plan(n_servers, eps, overlap, 4, seed=seed)
    exts = {s: set(base.extensions[s]) for s in base.servers}
    for i, e in enumerate(extra):  # messy additions: short numbers, 9xxx, 112x, conflicts
        exts[base.servers[i % n_servers]].add(e)
    plan = NumberingPlan.from_dict({s: sorted(v) for s, v in exts.items()})
    res = renumber(plan, outside_line=("9",), emergency=RESERVED[1:])
    check_result(plan, res)
    assert res.unit_digits == (1 if n_servers <= 8 else 2)
