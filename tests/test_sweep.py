"""Sweep expansion, caching and executors, with a cheap deterministic runner."""
from __future__ import annotations

import concurrent.futures as cf

import numpy as np
import pandas as pd
import pytest

from iaxsim.errors import ConfigError
from iaxsim.experiments.cache import CacheError, RunCache
from iaxsim.experiments.sweep import SweepStats, expand_grid, load_sweep, run_sweep
from iaxsim.sim.scenario import scenario_from_dict

CALLS: list[int] = []


def fake_runner(scenario: dict, seed: int) -> pd.DataFrame:
    """Depends on the scenario and the seed only, like a simulation."""
    CALLS.append(seed)
    ch = scenario["servers"][0]["channels"]
    noise = float(np.random.default_rng(seed).random())
    return pd.DataFrame([{"channels_seen": ch, "value": ch * 10 + noise}])


SC = scenario_from_dict({"servers": [{"id": "A", "extensions": ["100-199"], "channels": 3}],
                         "traffic": {"erlangs": 1.0}})


def test_expand_grid_order():
    assert expand_grid({"a": [1, 2], "b": ["x", "y"]}) == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]
    with pytest.raises(ConfigError, match="'a'"):
        expand_grid({"a": 3})


def test_sweep_table_and_cache(tmp_path):
    CALLS.clear()
    grid = {"servers.A.channels": [2, 5], "traffic.erlangs": [1.0, 2.0]}
    stats = SweepStats()
    table = run_sweep(SC, grid, replications=3, seed=10, cache_dir=tmp_path, runner=fake_runner,
                      workers=1, progress=False, stats=stats)
    assert len(table) == 12 and stats.computed == 12 and stats.cached == 0
    assert list(table.columns[:5]) == ["servers.A.channels", "traffic.erlangs", "replication", "seed", "key"]
    assert (table["channels_seen"] == table["servers.A.channels"]).all()
    assert table["seed"].tolist() == [10, 11, 12] * 4
    assert table["key"].nunique() == 12
    # second time: everything from the cache, identical table, runner never called
    CALLS.clear()
    stats2 = SweepStats()
    again = run_sweep(SC, grid, replications=3, seed=10, cache_dir=tmp_path, runner=fake_runner,
                      workers=1, progress=False, stats=stats2)
    assert CALLS == [] and stats2.cached == 12 and stats2.computed == 0
    pd.testing.assert_frame_equal(table, again)
    # lose two runs: only those two are recomputed
    cache = RunCache(tmp_path)
    for key in table["key"].iloc[[1, 7]]:
        cache.path(key).unlink()
    stats3 = SweepStats()
    third = run_sweep(SC, grid, replications=3, seed=10, cache_dir=tmp_path, runner=fake_runner,
                      workers=1, progress=False, stats=stats3)
    assert stats3.computed == 2 and sorted(CALLS) == sorted(table["seed"].iloc[[1, 7]].tolist())
    pd.testing.assert_frame_equal(table, third)


def test_sweep_with_thread_and_process_executors(tmp_path):
    grid = {"servers.A.channels": [2, 3, 4]}
    serial = run_sweep(SC, grid, replications=2, cache_dir=tmp_path / "s", runner=fake_runner,
                       workers=1, progress=False)
    with cf.ThreadPoolExecutor(2) as ex:
        threaded = run_sweep(SC, grid, replications=2, cache_dir=tmp_path / "t", runner=fake_runner,
                             executor=ex, progress=False)
    pooled = run_sweep(SC, grid, replications=2, cache_dir=tmp_path / "p", runner=fake_runner,
                       workers=2, progress=False)
    pd.testing.assert_frame_equal(serial, threaded)
    pd.testing.assert_frame_equal(serial, pooled)


def test_bad_runner_output_and_bad_cache(tmp_path):
    with pytest.raises(Exception, match="not a DataFrame"):
        run_sweep(SC, {}, cache_dir=tmp_path, runner=lambda d, s: 3, workers=1, progress=False)
    cache = RunCache(tmp_path / "c")
    cache.path("abc").write_bytes(b"not parquet")
    with pytest.raises(CacheError, match="abc.parquet"):
        cache.get("abc")


def test_load_sweep_file(tmp_path):
    (tmp_path / "sc.toml").write_text('[[servers]]\nid = "A"\nextensions = ["100-109"]\n'
                                      '[traffic]\nerlangs = 1.0\n')
    (tmp_path / "sw.toml").write_text('scenario = "sc.toml"\nreplications = 2\nseed = 5\n'
                                      '[grid]\n"servers.A.channels" = [1, 2]\n')
    spec = load_sweep(tmp_path / "sw.toml")
    assert spec.replications == 2 and spec.seed == 5 and spec.grid == {"servers.A.channels": [1, 2]}
    assert spec.cache.parts[-3:] == ("iaxsim", "sweeps", "sw")
    (tmp_path / "bad.toml").write_text('scenario = "sc.toml"\n[grid]\n"servers.Z.channels" = [1]\n')
    with pytest.raises(ConfigError, match="no server 'Z'"):
        load_sweep(tmp_path / "bad.toml")
    (tmp_path / "bad2.toml").write_text('scenario = "sc.toml"\nreplications = 0\n')
    with pytest.raises(ConfigError, match="replications"):
        load_sweep(tmp_path / "bad2.toml")
