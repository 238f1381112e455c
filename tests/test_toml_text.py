"""Scenario TOML text: what toml_value writes, tomllib reads back as the same value."""
from __future__ import annotations

import tomllib

import pytest

from iaxsim.sim.toml_text import toml_key, toml_value


@pytest.mark.parametrize("value", [True, False, 0, 600, 0.02, 1e-05, "A", 'a "quoted" \\ one',
                                   [1, 2.5, "x"], {"dist": "exponential", "mean": 180.0},
                                   {"127.0.0.1": 0.5, "B": 0.5}])
def test_round_trip_through_tomllib(value):
    assert tomllib.loads(f"v = {toml_value(value)}")["v"] == value


def test_keys_are_bare_when_allowed_and_quoted_otherwise():
    assert toml_key("calls_per_hour") == "calls_per_hour"
    assert toml_key("10.0.0.1") == '"10.0.0.1"'


def test_other_types_are_refused():
    with pytest.raises(TypeError):
        toml_value(object())
