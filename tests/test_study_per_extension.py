"""A study whose servers offer traffic in proportion to their extensions (``--erlangs-per-extension``):
the traffic matrix by hand, the scenario each server gets, the simulated calls against the
offered rates (Poisson counts), and the command end to end."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from iaxsim.cli import main
from iaxsim.errors import ConfigError
from iaxsim.numbering import NumberingPlan
from iaxsim.sim import scenario_from_dict, simulate
from iaxsim.study import StudyOptions, busy_hour_scenario, link_capacity
from iaxsim.study.capacity import traffic_matrix_per_extension
from iaxsim.study.core import _capacity_scenarios

PLANS = Path(__file__).resolve().parent.parent / "data" / "plans"
#: A: 100 extensions, B: 300, C: 100.
PLAN = NumberingPlan.from_dict({"A": [str(n) for n in range(2000, 2100)],
                                "B": [str(n) for n in range(3000, 3300)],
                                "C": [str(n) for n in range(4000, 4100)]})
SIZES = {"A": 100, "B": 300, "C": 100}


def test_traffic_matrix_by_hand() -> None:
    m = traffic_matrix_per_extension(SIZES, 0.1, 0.5)
    # A offers 10 E: 5 local, the other 5 to B and C as 300 : 100
    assert m.loc["A"].to_dict() == pytest.approx({"A": 5.0, "B": 3.75, "C": 1.25})
    # B offers 30 E: 15 local, 7.5 each to A and C (equal sizes)
    assert m.loc["B"].to_dict() == pytest.approx({"A": 7.5, "B": 15.0, "C": 7.5})
    assert m.loc["C"].to_dict() == pytest.approx({"A": 1.25, "B": 3.75, "C": 5.0})
    links = link_capacity(m, 0.01, ("ulaw",)).set_index(["a", "b"])["erlangs"]
    assert links[("A", "B")] == pytest.approx(11.25) and links[("A", "C")] == pytest.approx(2.5)


def test_options_take_one_traffic_figure_and_a_sane_one() -> None:
    with pytest.raises(ConfigError, match="one of them"):
        StudyOptions(erlangs=5.0, erlangs_per_extension=0.1)
    with pytest.raises(ConfigError, match=r"Erlangs per extension must lie in \(0, 1\]"):
        StudyOptions(erlangs_per_extension=1.5)
    opts = StudyOptions(erlangs_per_extension=0.1, holding=180.0)
    with pytest.raises(ConfigError, match="attempts_by_server"):
        opts.attempts_per_hour
    # 0.1 E × 300 extensions = 30 E = 30 × 3600 / 180 attempts an hour
    assert opts.attempts_by_server(SIZES) == pytest.approx({"A": 200.0, "B": 600.0, "C": 200.0})
    # 1,000 attempts an hour in all: 3,000 attempts take 3 h, more than the busy hour
    assert opts.measured_seconds(SIZES) == 3600.0
    assert opts.measured_seconds(SIZES, "switch") == pytest.approx(600 * 3.6)


def test_each_server_gets_its_rate_and_spreads_its_remote_calls_by_size() -> None:
    opts = StudyOptions(erlangs_per_extension=0.1, remote=0.4)
    sc = scenario_from_dict(busy_hour_scenario(PLAN, opts, "exact"))
    assert sc.traffic_of("B").calls_per_hour == pytest.approx(600.0)
    assert sc.traffic_of("A").calls_per_hour == pytest.approx(200.0)
    local, to = sc.traffic_of("A").calling_shares(100, {"B": 300, "C": 100})
    assert local == pytest.approx(0.6) and to == pytest.approx({"B": 0.3, "C": 0.1})


def test_simulated_calls_follow_the_offered_rates() -> None:
    """Calls per origin and per origin → destination are Poisson counts around the offered
    rates: each within four standard deviations."""
    opts = StudyOptions(erlangs_per_extension=0.5, remote=0.4, duration=1800.0, warmup=0.0)
    calls = simulate(scenario_from_dict(busy_hour_scenario(PLAN, opts, "exact", "linked")), seed=3).calls
    hours = 0.5
    rates = {"A": 1000.0, "B": 3000.0, "C": 1000.0}  # 0.5 E × extensions × 3600 / 180 s
    for origin, per_hour in rates.items():
        mine = calls[calls["origin"] == origin]
        expected = per_hour * hours
        assert abs(len(mine) - expected) < 4 * math.sqrt(expected), origin
    from_a = calls[calls["origin"] == "A"]
    for target, share in (("B", 0.3), ("C", 0.1), ("A", 0.6)):
        expected = rates["A"] * hours * share
        got = (from_a["target"] == target).sum()
        assert abs(got - expected) < 4 * math.sqrt(expected), target


def test_capacity_runs_offer_max_calls_attempts_whatever_the_load() -> None:
    opts = StudyOptions(erlangs_per_extension=0.1, max_calls=3000, holding=180.0)
    servers = pd.DataFrame([{"server": "A", "erlangs": 5.0, "channels": 11},
                            {"server": "B", "erlangs": 30.0, "channels": 40}])
    durations = {load: sc["duration"] for load, _channels, sc in _capacity_scenarios(servers, opts)}
    # 5 E = 100 attempts an hour: 3,000 of them take 30 h; 30 E = 600 an hour: 5 h
    assert durations == pytest.approx({5.0: 30 * 3600.0, 30.0: 5 * 3600.0})


def test_study_command_per_extension(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "study"
    assert main(["study", str(PLANS / "five_sites.csv"), "--out", str(out), "--erlangs-per-extension",
                 "0.1", "--duration", "300", "--seeds", "2", "--no-progress", "--no-notebook"]) == 0
    index = (out / "index.html").read_text()
    # 582 extensions × 0.1 E × 3600 / 180 s = 1,164 attempts an hour; HQ has 250 of them, DEPOT 27
    assert "0.1 Erlangs per extension (1,164 call attempts an hour in all, from 54 at DEPOT to 500 at HQ" in index
    # the two biggest sites (HQ 250, PLANT 150 extensions) share the busiest link
    assert "Size the busiest link (HQ–PLANT" in index


def test_per_extension_out_of_range_is_one_line_exit_2(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["study", str(PLANS / "five_sites.csv"), "--out", str(tmp_path / "s"),
                 "--erlangs-per-extension", "2"])
    assert code == 2
    assert "Erlangs per extension must lie in (0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_per_extension_with_calls_per_server_is_refused(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["study", str(PLANS / "five_sites.csv"), "--out", str(tmp_path / "s"),
              "--erlangs-per-extension", "0.1", "--calls", "600"])
    assert exit_.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
