"""The stored validation runs notebook 08 reads (``data/validation/*.json``).

Each was written by ``iaxsim validate SCENARIO --calls N --json`` against real servers. Their real
half cannot be re-measured in a unit test (it runs in real time), but their simulated half is
deterministic: a model change that would simulate any stored call differently fails here, with
the command that re-measures the file.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from iaxsim.errors import ConfigError
from iaxsim.validate.compare import CallResult, compare
from iaxsim.validate.stored import class_table, load_stored, stale_calls

ROOT = Path(__file__).resolve().parents[1]
STORED = sorted((ROOT / "data" / "validation").glob("*.json"))


def _scenario_of(path: Path) -> Path:
    """``NAME.REAL.json`` was measured on ``data/scenarios/validate/NAME.toml``."""
    return ROOT / "data" / "scenarios" / "validate" / f"{path.name.split('.')[0]}.toml"


def test_every_validation_scenario_was_replayed_on_asterisk() -> None:
    scenarios = {p.stem for p in (ROOT / "data" / "scenarios" / "validate").glob("*.toml")}
    measured = {p.name.split(".")[0] for p in STORED if p.name.split(".")[1] == "asterisk"}
    assert scenarios and scenarios == measured
    # nodes do not POKE their peers: every scenario without qualify was replayed on them too
    nodes = {p.name.split(".")[0] for p in STORED if p.name.split(".")[1] == "nodes"}
    assert nodes == scenarios - {"fallback_qualify"}


def test_file_names_say_what_replayed_the_calls() -> None:
    for path in STORED:
        assert json.loads(path.read_text())["replay"] == path.name.split(".")[1]


@pytest.mark.parametrize("path", STORED, ids=[p.name for p in STORED])
def test_stored_run_is_current(path: Path) -> None:
    problems = stale_calls(path, _scenario_of(path))
    assert not problems, (f"{path.name} no longer matches the simulator; re-measure it with "
                          f"`iaxsim validate {_scenario_of(path).relative_to(ROOT)} --calls N --json "
                          f"> data/validation/{path.name}`:\n" + "\n".join(problems[:10]))


def test_a_stale_run_is_detected(tmp_path: Path) -> None:
    path = next(p for p in STORED if p.name.startswith("seed_two_servers.nodes"))
    report = json.loads(path.read_text())
    remote = next(c for c in report["per_call"] if c["sim_attempts"] == 1)
    remote["sim_attempts"] = 3
    remote["sim_post_dial_delay"] += 0.08
    changed = tmp_path / path.name
    changed.write_text(json.dumps(report))
    problems = stale_calls(changed, _scenario_of(path))
    assert len(problems) == 2
    assert all(f"call {remote['index']} " in p for p in problems)
    assert any("attempts stored 3, now 1" in p for p in problems)


def test_stored_runs_agree_and_cover_the_classes() -> None:
    calls = load_stored(STORED)
    assert len(calls) == sum(json.loads(p.read_text())["calls"] for p in STORED)
    classes = set(calls["class"])
    assert {"local", "remote, 1 attempt", "fallback to external", "one-way firewall"} <= classes
    assert any(c.startswith("remote, ") and c != "remote, 1 attempt" for c in classes)


def _report(tmp_path: Path) -> Path:
    rows = [(0, 1.0, "A", "6001", "B"), (1, 2.0, "A", "6002", "B"), (2, 3.0, "B", "6003", "B")]
    sim = [CallResult("answered", "B", 1, 0.122), CallResult("answered", "B", 1, 0.122),
           CallResult("answered", "B", 0, 0.001)]
    real = [CallResult("answered", "B", 1, 0.126), CallResult("answered", "B", 3, 0.290),
            CallResult("answered", "B", 0, 0.0002)]
    report = compare(rows, sim, real, one_way_pairs=set(), scenario="tiny", seed=1)
    path = tmp_path / "tiny.nodes.json"
    path.write_text(json.dumps(report.as_dict()))
    return path


def test_class_table_means_and_agreement(tmp_path: Path) -> None:
    table = class_table(load_stored([_report(tmp_path)])).set_index("class")
    remote = table.loc["remote, 1 attempt"]
    assert remote["calls"] == 2
    assert remote["sim_pdd_ms"] == pytest.approx(122.0)
    assert remote["real_pdd_ms"] == pytest.approx((126.0 + 290.0) / 2)
    assert remote["agree"] == pytest.approx(0.5)  # the second call took 3 attempts, not 1
    assert table.loc["local", "agree"] == 1.0


def test_not_a_stored_report_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.nodes.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="broken.nodes.json"):
        load_stored([bad])
    old = tmp_path / "old.nodes.json"
    old.write_text(json.dumps({"scenario": "x", "calls": 1}))
    with pytest.raises(ConfigError, match="old.nodes.json: no per_call"):
        load_stored([old])
