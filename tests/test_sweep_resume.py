"""A sweep killed with SIGKILL resumes without recomputing or losing any finished run."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd

from iaxsim.experiments.sweep import SweepStats, load_sweep, run_sweep

SCENARIO = """\
name = "resume"
duration = 3000.0
warmup = 50.0
seed = 1

[[servers]]
id = "A"
extensions = ["1000-1009"]
channels = 3
qualify = false

[traffic]
erlangs = 2.0
holding = { dist = "exponential", mean = 1.0 }
local = 1.0
extension_busy = false
"""

SWEEP = """\
scenario = "scenario.toml"
replications = 2
seed = 7
cache = "cache"

[grid]
"servers.A.channels" = [2, 3, 4]
"""


def test_sigkill_then_resume(tmp_path):
    (tmp_path / "scenario.toml").write_text(SCENARIO)
    (tmp_path / "sweep.toml").write_text(SWEEP)
    cache = tmp_path / "cache"
    proc = subprocess.Popen([sys.executable, "-m", "iaxsim.cli", "sweep", str(tmp_path / "sweep.toml"),
                             "--workers", "1", "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(cache.glob("*.parquet"))) < 2:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    finished = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in cache.glob("*.parquet")}
    assert 2 <= len(finished) < 6, "the sweep must be killed mid-way"

    spec = load_sweep(tmp_path / "sweep.toml")
    stats = SweepStats()
    table = run_sweep(spec.scenario, spec.grid, replications=spec.replications, seed=spec.seed,
                      cache_dir=spec.cache, workers=1, progress=False, stats=stats)
    assert stats.cached == len(finished) and stats.computed == 6 - len(finished)
    for name, ident in finished.items():  # untouched: neither recomputed nor rewritten
        p = cache / name
        assert (p.stat().st_ino, p.stat().st_mtime_ns) == ident

    fresh = run_sweep(spec.scenario, spec.grid, replications=spec.replications, seed=spec.seed,
                      cache_dir=tmp_path / "fresh", workers=1, progress=False)
    pd.testing.assert_frame_equal(table, fresh)
    assert len(table) == 6 and table["blocking"].between(0, 1).all()
    # more channels, less blocking (mean over the two replications)
    b = table.groupby("servers.A.channels")["blocking"].mean()
    assert b[2] > b[3] > b[4]
