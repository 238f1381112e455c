"""Pattern cover: hand-derived covers, rendering, exactness and minimality on small sets.

Expected patterns are derived by hand from Asterisk's pattern syntax (``main/pbx.c``,
``ext_cmp_pattern_pos``: X = 0-9, Z = 1-9, N = 2-9, [..] sets with ranges). The dialplan-engine check of the same
covers lives in test_numbering_engine.py.
"""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iaxsim.numbering.cover import cover, cover_masks, parse_simple, pattern_size, render


def rng(a: int, b: int, width: int = 4) -> list[str]:
    return [str(i).zfill(width) for i in range(a, b + 1)]


@pytest.mark.parametrize("numbers, expected", [
    (rng(6000, 6099), ["_60XX"]),
    (rng(6000, 6049), ["_60[0-4]X"]),
    (rng(6000, 6999), ["_6XXX"]),
    (rng(6010, 6019), ["_601X"]),
    (["6001"], ["6001"]),
    (rng(6001, 6009), ["_600Z"]),
    (rng(6002, 6009), ["_600N"]),
    (rng(2000, 9999), ["_NXXX"]),
    (rng(1000, 9999), ["_ZXXX"]),
    (["6000", "6002", "6004", "6006", "6008"], ["_600[02468]"]),
    (rng(6000, 6019) + rng(6050, 6059), ["_60[015]X"]),
    (rng(6000, 6099) + rng(7000, 7099), ["_[67]0XX"]),
    # 6001..6050: 6001-6049 without the multiples of ten, plus 6010,6020,...,6050
    (rng(6001, 6050), ["_60[0-4]Z", "_60[1-5]0"]),
    # two lengths never share a pattern
    (["600", "601", "6001"], ["_60[01]", "6001"]),
    ([], []),
])
def test_hand_derived_covers(numbers, expected):
    assert cover(numbers) == expected


@pytest.mark.parametrize("masks, text", [
    ((1 << 6, 1 << 0, 0x3FF, 0x3FF), "_60XX"),
    ((1 << 6, 0b11111), "_6[0-4]"),
    ((1 << 6, 0b1011), "_6[013]"),
    ((1 << 6, 0b1101101), "_6[02356]"),
    ((1 << 6, 0b1110111), "_6[0-24-6]"),
    ((1 << 6, 0x3FE), "_6Z"),
    ((1 << 6, 0x3FC), "_6N"),
    ((1 << 1, 1 << 2), "12"),
])
def test_render(masks, text):
    assert render(masks) == text
    assert parse_simple(text) == masks


def test_parse_simple_refuses_non_digit_patterns():
    for bad in ["_6X.", "_6!", "_6[a]", "_6[", "_6[]", "abc"]:
        with pytest.raises(ValueError):
            parse_simple(bad)


def test_cover_refuses_non_digits():
    with pytest.raises(ValueError, match="not a digit string"):
        cover(["60a1"])


def members(masks) -> set[str]:
    return {"".join(t) for t in itertools.product(
        *[[str(d) for d in range(10) if m >> d & 1] for m in masks])}


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(0, 999), max_size=200), st.sets(st.integers(0, 99), max_size=30))
def test_cover_is_exact(threes, twos):
    numbers = {str(n).zfill(3) for n in threes} | {str(n).zfill(2) for n in twos}
    masks = cover_masks(numbers)
    covered = set()
    for m in masks:
        covered |= members(m)
    assert covered == numbers
    assert len(set(masks)) == len(masks)
    # the rendered text reads back to the same digit sets
    assert [parse_simple(render(m)) for m in masks] == masks


def brute_minimum(numbers: set[str], digits: str, length: int) -> int:
    """Fewest products of digit sets (over ``digits``) whose union is exactly ``numbers``."""
    subsets = [frozenset(c) for r in range(1, len(digits) + 1) for c in itertools.combinations(digits, r)]
    inside = []
    for sets in itertools.product(subsets, repeat=length):
        mem = {"".join(t) for t in itertools.product(*sets)}
        if mem <= numbers:
            inside.append(frozenset(mem))
    inside = sorted(set(inside), key=len, reverse=True)
    for k in range(1, len(numbers) + 1):
        for combo in itertools.combinations(inside, k):
            if frozenset().union(*combo) == numbers:
                return k
    return 0


@settings(max_examples=120, deadline=None)
@given(st.sets(st.sampled_from(["".join(t) for t in itertools.product("012", repeat=2)]), min_size=1))
def test_cover_is_minimal_on_two_digit_sets(numbers):
    # Over digits {0,1,2}, every product that fits inside the set uses only those digits,
    # so the brute-force minimum over {0,1,2}-products is the true minimum.
    assert len(cover(numbers)) == brute_minimum(set(numbers), "012", 2)


@settings(max_examples=40, deadline=None)
@given(st.sets(st.sampled_from(["".join(t) for t in itertools.product("01", repeat=3)]), min_size=1))
def test_cover_is_minimal_on_three_digit_binary_sets(numbers):
    assert len(cover(numbers)) == brute_minimum(set(numbers), "01", 3)


@settings(max_examples=40, deadline=None)
@given(st.sets(st.sampled_from(["".join(t) for t in itertools.product("0123", repeat=2)]), min_size=1))
def test_cover_is_minimal_on_two_digit_sets_of_four_digits(numbers):
    assert len(cover(numbers)) == brute_minimum(set(numbers), "0123", 2)


def test_known_hard_cases_where_overlapping_patterns_win():
    # found by comparing the factored cover with brute force: overlapping patterns needed
    assert len(cover(["001", "010", "011", "100", "101", "110"])) == 3
    assert len(cover(["00", "01", "10", "12", "20", "21", "22"])) == 2


def test_pattern_size():
    assert pattern_size(parse_simple("_60[0-4]X")) == 50
    assert pattern_size(parse_simple("6001")) == 1
