"""The matcher cost curve the headline notebook draws beside Asterisk's published trie speed-ups."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from iaxsim.errors import IaxsimError
from iaxsim.experiments.lookup import ASTERISK_TRIE_SPEEDUP, fit_step_cost, lookup_costs, matcher_cost_curve


def test_published_table_is_asterisks_sample_config_quote() -> None:
    # Asterisk's extensions.conf.sample (extenpatternmatchnew): 50 → 1.32x, 88 → 2.23x, 138 → 3.44x, 238 → 5.8x, 438 → 10.4x,
    # 1000 → ~25x, 10000 → 374x
    assert ASTERISK_TRIE_SPEEDUP == {50: 1.32, 88: 2.23, 138: 3.44, 238: 5.8, 438: 10.4, 1000: 25.0,
                                     10000: 374.0}


def test_linear_scan_stops_at_the_matching_literal_in_sorted_order() -> None:
    # sorted literals 20000 < 20001 < 20002 < 20003: finding the i-th tests i patterns → mean 2.5
    costs = lookup_costs(["20003", "20001", "20000", "20002"], ["20000", "20001", "20002", "20003"])
    assert costs["linear"] == 2.5
    assert lookup_costs(["20000", "20001", "20002", "20003"], ["20003"] * 3)["linear"] == 4.0
    # the trie reaches a 5-digit literal in at most root + one node per digit, at least one step
    assert 1.0 <= costs["trie"] <= 6.0


def test_lookup_of_an_absent_number_is_an_error() -> None:
    with pytest.raises(IaxsimError, match="did not find 30000 among 1 extensions"):
        lookup_costs(["20000"], ["30000"])
    with pytest.raises(IaxsimError, match="at least one number"):
        lookup_costs(["20000"], [])


def test_curve_columns_and_single_extension_context() -> None:
    c = matcher_cost_curve([1, 50], lookups=40, length=4, seed=3)
    assert list(c.columns) == ["extensions", "linear", "trie", "ratio", "lookups"]
    assert c.loc[0, "linear"] == 1.0  # one literal: one pattern tested
    assert 1.0 <= c.loc[1, "trie"] <= 5.0  # at most root + 4 digits
    assert 1.0 <= c.loc[1, "linear"] <= 50.0
    assert c.loc[1, "ratio"] == pytest.approx(c.loc[1, "linear"] / c.loc[1, "trie"])
    # seeded: the same call gives the same figures
    pd.testing.assert_frame_equal(c, matcher_cost_curve([1, 50], lookups=40, length=4, seed=3))


def test_curve_rejects_bad_sizes() -> None:
    with pytest.raises(IaxsimError, match="positive integer"):
        matcher_cost_curve([0])
    with pytest.raises(IaxsimError, match="do not fit in 2-digit numbers"):
        matcher_cost_curve([80], length=2)


def test_fit_step_cost_is_the_geometric_mean_of_ratio_over_published() -> None:
    curve = pd.DataFrame({"extensions": [50, 1000, 7], "ratio": [2 * 1.32, 8 * 25.0, 99.0]})
    # 7 has no published figure and is ignored; sqrt(2 * 8) = 4
    assert fit_step_cost(curve) == pytest.approx(4.0)
    assert fit_step_cost(curve.iloc[:1]) == pytest.approx(2.0)
    with pytest.raises(IaxsimError, match="no context size"):
        fit_step_cost(pd.DataFrame({"extensions": [7], "ratio": [1.0]}))
    assert math.isfinite(fit_step_cost(curve, {7: 9.0}))
