"""The simulated-time progress bar of ``simulate`` and ``iaxsim simulate``: it shows the
simulated clock, reaches the end, and changes no result."""
from __future__ import annotations

import io

import pandas as pd

from iaxsim.cli import main
from iaxsim.sim import simulate
from iaxsim.sim.progress import SimClockBar
from iaxsim.sim.scenarios import seed_two_servers


def _scenario():
    return seed_two_servers(calls_per_hour=600, hours=0.1, remote=0.5, seed=4)


def test_results_are_the_same_with_and_without_the_bar(capsys):
    sc = _scenario()
    plain = simulate(sc, seed=4)
    assert "sim s" not in capsys.readouterr().err
    shown = simulate(sc, seed=4, progress=True)
    err = capsys.readouterr().err
    total = int(round(sc.warmup + sc.duration))
    assert f"{total}/{total}" in err and "sim s" in err
    pd.testing.assert_frame_equal(plain.calls, shown.calls)
    pd.testing.assert_frame_equal(plain.servers, shown.servers)
    pd.testing.assert_frame_equal(plain.link_totals, shown.link_totals)


def test_bar_counts_whole_simulated_seconds_and_never_goes_back_or_past_the_end():
    out = io.StringIO()
    bar = SimClockBar(100.4, desc="t", file=out, mininterval=0)
    bar.at(10.9)
    assert bar.shown == 10
    bar.at(5.0)                 # an earlier time from another server's arrivals
    assert bar.shown == 10
    bar.at(250.0)
    assert bar.shown == 100
    bar.close()
    assert bar.bar.n == 100 and "100/100" in out.getvalue()


def test_cli_bar_on_stderr_unless_no_progress(tmp_path, capsys):
    toml = tmp_path / "s.toml"
    toml.write_text('name = "tiny"\nduration = 60.0\nwarmup = 0.0\nseed = 1\n'
                    '[[servers]]\nid = "A"\n[[servers]]\nid = "B"\n'
                    '[numbering]\nextensions_per_server = 20\n[traffic]\ncalls_per_hour = 600.0\n')
    assert main(["simulate", str(toml)]) == 0
    captured = capsys.readouterr()
    assert "60/60" in captured.err and "tiny:" in captured.out
    assert main(["simulate", str(toml), "--no-progress"]) == 0
    assert "sim s" not in capsys.readouterr().err
