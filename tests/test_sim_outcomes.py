"""Call outcomes are an enum whose values are the strings users see in ``calls.outcome``; the
column itself holds plain strings, so pandas, Parquet and printed tables show the same text."""
from __future__ import annotations

import pandas as pd

from iaxsim.sim import OUTCOMES, Outcome, simulate
from iaxsim.sim.scenarios import erlang_b


def test_outcomes_are_the_documented_strings():
    assert OUTCOMES == ("answered", "busy", "congestion", "rejected", "failed", "misrouted")
    assert str(Outcome.CONGESTION) == "congestion" and f"{Outcome.BUSY}" == "busy"
    assert "answered" in OUTCOMES


def test_the_calls_column_holds_plain_strings_and_survives_parquet(tmp_path):
    calls = simulate(erlang_b(erlangs=5, channels=5, hours=0.2), seed=1).calls
    assert calls["outcome"].dtype == object
    assert {type(v) for v in calls["outcome"]} == {str}
    assert set(calls["outcome"]) == {"answered", "congestion"}
    calls.to_parquet(tmp_path / "calls.parquet", index=False)
    back = pd.read_parquet(tmp_path / "calls.parquet")
    assert list(back["outcome"]) == list(calls["outcome"])
