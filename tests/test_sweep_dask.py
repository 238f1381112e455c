"""Sweeps on a Dask cluster (the optional ``dask`` extra): skipped when Dask is not installed."""
from __future__ import annotations

import pandas as pd
import pytest

from iaxsim.experiments.sweep import SweepStats, run_sweep
from iaxsim.sim.scenarios import erlang_b

distributed = pytest.importorskip("distributed")


def test_sweep_on_a_local_dask_cluster_equals_the_serial_sweep(tmp_path):
    sc = erlang_b(2.0, 3, hours=0.3, mean_holding=5.0).with_values({"servers.A.extensions": ["100-109"]})
    grid = {"servers.A.channels": [2, 4]}
    serial = run_sweep(sc, grid, replications=2, seed=3, cache_dir=tmp_path / "serial", workers=1,
                       progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        stats = SweepStats()
        on_dask = run_sweep(sc, grid, replications=2, seed=3, cache_dir=tmp_path / "dask",
                            executor=client, progress=False, stats=stats)
    assert stats.computed == 4
    pd.testing.assert_frame_equal(serial, on_dask)


def test_sweep_command_with_scheduler_address(tmp_path, capsys):
    from iaxsim.cli import main

    (tmp_path / "sc.toml").write_text('[[servers]]\nid = "A"\nextensions = ["100-109"]\nchannels = 2\n'
                                      'qualify = false\n'
                                      '[traffic]\nerlangs = 1.0\nholding = 5.0\nextension_busy = false\n')
    (tmp_path / "sw.toml").write_text('scenario = "sc.toml"\nreplications = 2\ncache = "runs"\n'
                                      '[grid]\n"duration" = [600.0]\n')
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        assert main(["sweep", str(tmp_path / "sw.toml"), "--scheduler", cluster.scheduler_address,
                     "--no-progress", "--out", str(tmp_path / "t.parquet")]) == 0
    assert "2 runs: 2 computed" in capsys.readouterr().out
    assert len(pd.read_parquet(tmp_path / "t.parquet")) == 2
    assert len(list((tmp_path / "runs").glob("*.parquet"))) == 2
