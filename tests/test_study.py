"""``iaxsim study``: capacity against Erlang B tables, advice on clean and messy plans, the report
folder, the notebook template, and bad input."""
from __future__ import annotations

import csv
import dataclasses
import json
import numbers
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iaxsim import theory
from iaxsim.cli import main
from iaxsim.dialplan.linked import LinkedServer
from iaxsim.errors import ConfigError
from iaxsim.numbering import NumberingPlan
from iaxsim.study import (StudyOptions, busy_hour_scenario, link_capacity, load_network, recommend, run_study,
                          server_loads, traffic_matrix, verify_routes, write_artefacts)
from iaxsim.study.output import study_notebook, write_study

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "data" / "plans"
#: Short busy hours keep the file fast; the advice does not depend on the length.
FAST = StudyOptions(duration=300.0, warmup=30.0, seeds=2)
FAST_ARGS = ["--duration", "300", "--seeds", "2", "--no-progress"]


# --------------------------------------------------------------------------- capacity

@pytest.mark.parametrize("erlangs, channels", [(5.0, 11), (10.0, 18), (20.0, 30), (1.0, 5)])
def test_channels_match_published_erlang_b_table_at_one_percent(erlangs, channels):
    # Erlang B table, 1 % grade of service (e.g. ITU-T E.520 / any traffic-engineering handbook).
    two = traffic_matrix(["A", "B"], calls_per_hour=erlangs * 3600 / 180 / 0.5 / 2, remote=0.5,
                         holding_s=180.0)
    # A and B each send erlangs/2 to the other: the link carries ``erlangs``.
    row = link_capacity(two, blocking=0.01, codecs=("ulaw",)).iloc[0]
    assert row["erlangs"] == pytest.approx(erlangs)
    assert row["channels"] == channels


def test_traffic_matrix_and_server_loads_by_hand():
    # 600 attempts/h × 180 s = 30 E per server; half stays local, half goes to the other server.
    m = traffic_matrix(["A", "B"], 600.0, 0.5, 180.0)
    assert m.loc["A", "A"] == pytest.approx(15.0)
    assert m.loc["A", "B"] == pytest.approx(15.0)
    # A's channels carry its 30 E originated plus the 15 E B sends it.
    loads = server_loads(m).set_index("server")
    assert loads.loc["A", "erlangs"] == pytest.approx(45.0)
    three = traffic_matrix(["A", "B", "C"], 600.0, 0.4, 180.0)
    assert three.loc["A", "C"] == pytest.approx(30.0 * 0.4 / 2)
    assert three.loc["B", "B"] == pytest.approx(30.0 * 0.6)


def test_link_kbps_hand_worked():
    # 10 E on the link → 18 channels. ulaw, 20 ms: 160 B payload + 4 mini + 28 IP/UDP + 18 Ethernet
    # = 210 B × 50 /s = 84 kbit/s a call; g729: 20 + 4 + 28 + 18 = 70 B → 28 kbit/s.
    m = pd.DataFrame({"A": [0.0, 5.0], "B": [5.0, 0.0]}, index=["A", "B"])
    rows = link_capacity(m, 0.01, ("ulaw", "g729")).set_index("codec")
    assert rows.loc["ulaw", "kbps_untrunked"] == pytest.approx(18 * 84.0)
    assert rows.loc["g729", "kbps_untrunked"] == pytest.approx(18 * 28.0)
    # Trunked g729: one meta frame of 18 entries (20 B + 4 B header each) = 432 B < MTU 1240,
    # plus 8 meta + 28 IP/UDP + 18 Ethernet = 486 B × 50 /s = 194.4 kbit/s.
    assert rows.loc["g729", "kbps_trunked"] == pytest.approx(194.4)


def test_link_kbps_trunked_ulaw_two_channels_by_hand():
    # 0.15 E → 2 channels (B(0.15, 1) = 13 %, B(0.15, 2) = 0.98 %). One trunk frame with two
    # ulaw entries: 2 × 164 + 8 + 28 + 18 = 382 B × 50 /s = 152.8 kbit/s.
    m = pd.DataFrame({"A": [0.0, 0.075], "B": [0.075, 0.0]}, index=["A", "B"])
    row = link_capacity(m, 0.01, ("ulaw",)).iloc[0]
    assert row["channels"] == 2
    assert row["kbps_trunked"] == pytest.approx(152.8)
    assert row["blocking"] <= 0.01


def test_capacity_rejects_impossible_grade_of_service():
    with pytest.raises(ConfigError):
        link_capacity(traffic_matrix(["A", "B"], 100.0, 0.5, 180.0), blocking=1.5)


# --------------------------------------------------------------------------- advice

def test_clean_plan_recommends_no_change():
    study = run_study(load_network(PLANS / "seed.csv"), FAST)
    advice = recommend(study)
    assert advice["clean"] is True
    assert advice["renumber"] is False
    assert advice["link_mode"] == "block"
    assert study.proposal is None
    assert advice["findings"][0].startswith("Nothing is wrong")
    # the simulation's blocking at the Erlang B size lies in its interval
    assert study.capacity_check["agrees"].all()


def test_workers_do_not_change_results():
    opts = StudyOptions(duration=120.0, warmup=10.0, seeds=2)
    one = run_study(load_network(PLANS / "seed.csv"), opts, workers=1)
    two = run_study(load_network(PLANS / "seed.csv"), opts, workers=2)
    pd.testing.assert_frame_equal(one.calls, two.calls)
    pd.testing.assert_frame_equal(one.capacity_check, two.capacity_check)


@pytest.fixture(scope="module")
def five_sites_study():
    return run_study(load_network(PLANS / "five_sites.csv"), FAST)


def test_messy_plan_recommends_renumbering(five_sites_study):
    advice = recommend(five_sites_study)
    assert advice["clean"] is False
    assert advice["renumber"] is True
    assert advice["link_mode"] == "exact"
    assert any("belong to more than one server" in f for f in advice["findings"])
    assert advice["recommendations"][0].startswith("Renumber:")
    runs = five_sites_study.runs.set_index(["condition", "seed"])
    # the renumbered plan has no digit timeouts left, the current one has some
    assert runs.loc["proposed, exact link.conf", "p_waited"].max() == 0.0
    assert runs.loc["current, block link.conf", "p_waited"].min() > 0.0


def test_remote_calls_headline_and_pairs(five_sites_study):
    advice = recommend(five_sites_study)
    assert advice["headline"].startswith("Remote calls (to another server's extensions)")
    runs = five_sites_study.runs.set_index(["condition", "seed"])
    # exact link.conf of the renumbered plan: every remote number reaches its owner with the
    # first dial and no number prefixes another (no wrong server, no digit timeout)
    assert (runs.loc["proposed, exact link.conf", "remote_wrong_server"] == 0).all()
    assert (runs.loc["proposed, exact link.conf", "remote_digit_waits"] == 0).all()
    # as written: SALES's numbers in HQ's 21XX and 24XX blocks are tried on HQ first
    assert runs.loc["current, block link.conf", "remote_wrong_server"].sum() > 0
    # LAB's 3-digit numbers prefix PLANT's: their callers wait the 5 s digit timeout
    assert (runs.loc["current, block link.conf", "remote_pdd_p95"] > 5.0).all()
    table = five_sites_study.remote("current, block link.conf")
    assert len(table) == 5 * 4 + 1 and table.index[-1] == ("current, block link.conf", "all", "all")


def test_generated_link_conf_routes_every_extension_to_its_owner(five_sites_study, tmp_path):
    folders = write_artefacts(five_sites_study, tmp_path, "exact")
    plan = NumberingPlan.from_csv(tmp_path / "plan-proposed.csv")
    assert verify_routes(plan, folders) == []
    # and by hand with the dialplan engine, for one number of each server from another server
    for owner in plan.servers:
        other = next(s for s in plan.servers if s != owner)
        res = LinkedServer.from_dir(folders[other]).resolve(plan.of(owner)[0])
        assert res.attempts[0].peer in (owner, f"server{owner}")
    with open(tmp_path / "renumber-map.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["server", "old", "new"]
    assert sum(r["old"] != r["new"] for r in rows) == five_sites_study.proposal.n_changed


def test_verify_routes_finds_a_misrouting_link_conf(five_sites_study, tmp_path):
    folders = write_artefacts(five_sites_study, tmp_path, "exact")
    plan = five_sites_study.recommended_plan
    link = folders["HQ"] / "link.conf"
    link.write_text(link.read_text().replace("cserverPLANTi", "cserverLABi")
                    .replace("cserverPLANTx", "cserverLABx"))
    bad = verify_routes(plan, folders)
    assert bad and all(b.startswith("HQ:") for b in bad)
    assert len(bad) == len(plan.of("PLANT"))


# --------------------------------------------------------------------------- the command

def test_study_command_writes_the_report(tmp_path, capfd):
    out = tmp_path / "study"
    assert main(["study", str(PLANS / "five_sites.csv"), "--out", str(out), *FAST_ARGS]) == 0
    # --no-progress: nothing on the terminal's error stream, the notebook kernel's included
    assert capfd.readouterr().err == ""
    for name in ("index.html", "study.ipynb", "study.html", "artefacts/renumber-map.csv",
                 "artefacts/plan-proposed.csv", "artefacts/calls.csv", "artefacts/calls.parquet",
                 "artefacts/HQ/external.conf", "artefacts/HQ/link.conf"):
        assert (out / name).is_file(), name
    index = (out / "index.html").read_text()
    assert index.index("Executive summary") < index.index("<h2>Figures")
    assert "Renumber:" in index
    # the remote calls lead: the headline in words, then their table per origin → target pair
    assert index.index("Remote calls (to another server") < index.index("What is wrong now")
    assert index.index("Remote calls per origin → target") < index.index("<h2>Figures")
    assert (out / "index.html").stat().st_mode & 0o044  # readable by others, like any report
    # the tables read in words and units: no raw column names, no raw floats
    for heading in ("post-dial delay, all calls (ms)", "channels for 1 % blocking",
                    "simulated blocking (%)", "post-dial delay, 95th percentile (ms)"):
        assert heading in index, heading
    for raw in ("remote_p_busy_ci", "kbps_untrunked", "pdd_mean_ms", "ci_low", "e+0"):
        assert raw not in index, raw
    calls = pd.read_parquet(out / "artefacts" / "calls.parquet")
    assert set(calls["condition"]) >= {"current, block link.conf", "proposed, exact link.conf"}
    page = (out / "study.html").read_text()
    assert "run_study(" not in page  # code hidden
    assert "What is wrong now" in page
    nb = json.loads((out / "study.ipynb").read_text())
    assert not any(o.get("output_type") == "error" for c in nb["cells"] for o in c.get("outputs", []))
    tags = [t for c in nb["cells"] for t in c.get("metadata", {}).get("tags", [])]
    assert "parameters" in tags and "injected-parameters" in tags


def test_progress_names_each_step_after_the_runs(tmp_path, capsys):
    write_study(PLANS / "five_sites.csv", tmp_path / "study", FAST, progress=True, notebook=False)
    err = capsys.readouterr().err
    assert "10/10" in err  # the runs' progress bar came first
    steps = [line for line in err.replace("\r", "\n").splitlines()
             if line.startswith("study: ") and "run/s" not in line]
    assert steps == ["study: writing the configuration files and checking that they route each of "
                     "the 582 numbers to its server", "study: writing index.html"]


def test_notebook_template_runs_with_its_bundled_parameters():
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(study_notebook(), as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and "network = None" in params[0].source
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    text = "".join(o.get("text", "") + str(o.get("data", {}).get("text/markdown", ""))
                   for c in nb.cells for o in c.get("outputs", []))
    assert "Nothing is wrong with this network" in text
    assert sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", [])) == 3


@pytest.mark.parametrize("content, args, needle", [
    ("server,extension\n", [], "the plan has no servers"),
    ("server,extension\nA,100\nA,101\n", [], "the plan has one server (A)"),
    ("server,extension\nA,100\nB,1x\n", [], "bad.csv:3:"),
    ("server,extension\nA,100\nB,200\n", ["--remote", "1.5"], "remote share"),
    ("server,extension\nA,100\nB,200\n", ["--seeds", "1"], "seeds"),
    ("server,extension\nA,100\nB,200\n", ["--max-calls", "10"], "max calls"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, content, args, needle):
    plan = tmp_path / "bad.csv"
    plan.write_text(content)
    out = tmp_path / "out"
    assert main(["study", str(plan), "--out", str(out), *FAST_ARGS, *args]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.csv"]


def test_unparseable_config_in_an_imported_network_names_file_and_line(tmp_path, capsys):
    net = tmp_path / "net"
    assert main(["import", str(ROOT / "data/seed/serverA"), str(ROOT / "data/seed/serverB"),
                 "--out", str(net)]) == 0
    capsys.readouterr()
    with open(net / "A" / "link.conf", "a") as f:
        f.write("this line has no arrow\n")
    n = len((net / "A" / "link.conf").read_text().splitlines())
    assert main(["study", str(net), "--out", str(tmp_path / "out"), *FAST_ARGS]) == 2
    assert f"link.conf:{n}:" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_imported_network_and_scenario_give_the_seed_plan(tmp_path):
    net = tmp_path / "net"
    assert main(["import", str(ROOT / "data/seed/serverA"), str(ROOT / "data/seed/serverB"),
                 "--out", str(net)]) == 0
    seed = NumberingPlan.from_csv(PLANS / "seed.csv")
    assert load_network(net).plan == seed
    assert load_network(ROOT / "data/scenarios/seed_two_servers.toml").plan == seed


def test_options_reject_calls_and_erlangs_together():
    with pytest.raises(ConfigError):
        StudyOptions(calls_per_hour=100.0, erlangs=5.0)
    assert StudyOptions(erlangs=5.0, holding=180.0).attempts_per_hour == pytest.approx(100.0)
    assert theory.channels_for(5.0, 0.01) == 11


def test_the_report_lists_the_slowest_pairs_first(five_sites_study):
    study = five_sites_study
    view, total = study.slowest_pairs("current, block link.conf", limit=3)
    calls = study.calls[study.calls["condition"] == "current, block link.conf"]
    remote = calls[(calls["target"] != "") & (calls["target"] != calls["origin"])
                   & calls["outcome"].isin(["answered", "misrouted"])]
    # mean over seeds of each seed's mean post-dial delay, per pair, from the calls themselves
    per_seed = remote.groupby(["origin", "target", "seed"])["post_dial_delay"].mean()
    means = per_seed.groupby(["origin", "target"]).mean().sort_values(ascending=False)
    assert total == calls.loc[(calls["target"] != "") & (calls["target"] != calls["origin"]),
                              ["origin", "target"]].drop_duplicates().shape[0]
    assert list(view.index)[:3] == list(means.index[:3])
    assert list(view.index)[-1] == ("all", "all") and len(view) == 4


def test_a_large_network_measures_a_shorter_stretch_at_the_full_rate():
    """50 servers × 600 attempts/h offer 30,000 attempts an hour: a 3,000-call budget is 6 min
    (3,000 / 30,000 h), a 600-call switch budget 72 s; five servers (3,000 an hour) keep the
    whole hour with link.conf, 12 min with switch."""
    opts = StudyOptions()
    assert opts.measured_seconds(50) == pytest.approx(360.0)
    assert opts.measured_seconds(50, "switch") == pytest.approx(72.0)
    assert opts.measured_seconds(5) == 3600.0
    assert opts.measured_seconds(5, "switch") == pytest.approx(720.0)
    plan = NumberingPlan.from_dict({f"S{i}": [str(1000 + 10 * i + k) for k in range(10)] for i in range(50)})
    scenario = busy_hour_scenario(plan, opts)
    assert scenario["duration"] == pytest.approx(360.0)
    assert scenario["traffic"]["calls_per_hour"] == 600.0  # the busy hour's rate, unchanged
    assert busy_hour_scenario(plan, opts, "exact", "switch")["duration"] == pytest.approx(72.0)
    wide = StudyOptions(max_calls=60_000, switch_calls=60_000)
    assert wide.measured_seconds(50) == wide.measured_seconds(50, "switch") == 3600.0


def test_stored_study_loads_as_it_was(five_sites_study, tmp_path):
    from iaxsim.study import load_study, save_study

    back = load_study(save_study(five_sites_study, tmp_path / "s.pickle"))
    assert recommend(back) == recommend(five_sites_study)
    pd.testing.assert_frame_equal(back.runs, five_sites_study.runs)
    (tmp_path / "other.pickle").write_bytes(__import__("pickle").dumps({"not": "a study"}))
    with pytest.raises(ConfigError, match="not a stored study"):
        load_study(tmp_path / "other.pickle")


def test_pairs_table_names_every_planner_column(five_sites_study) -> None:
    from iaxsim.study import pairs_table

    view = pairs_table(five_sites_study.remote(pairs=False))
    assert "post-dial delay, 95th percentile (ms)" in view.columns
    assert not [c for c in view.columns if "_" in c]  # no raw column name left
    assert view.columns.name is None


@pytest.mark.parametrize("method", ["conditions", "server_table", "link_table", "capacity_table"])
def test_study_views_have_no_raw_figures(five_sites_study, method: str) -> None:
    """Every cell a planner reads is text or a whole number: no 1.47e+03 or 0.0694 of the raw tables."""
    table = getattr(five_sites_study, method)()
    assert len(table) > 0
    for col in table.columns:
        assert table[col].map(lambda v: isinstance(v, (str, numbers.Integral)) and "e+" not in str(v)).all(), col


def test_every_call_ends_one_way_per_condition(five_sites_study) -> None:
    """The all-call shares of each run cover every call exactly once (answered, busy, misrouted,
    rejected, failed, congestion), and each is the share counted from the calls themselves."""
    runs, calls = five_sites_study.runs, five_sites_study.calls
    shares = ["p_answered", "p_busy", "p_misrouted", "p_rejected", "p_failed", "p_congestion"]
    assert (runs[shares].sum(axis=1) - 1.0).abs().max() < 1e-12
    row = runs.iloc[0]
    mine = calls[(calls["condition"] == row["condition"]) & (calls["seed"] == row["seed"])]
    assert row["p_busy"] == (mine["outcome"] == "busy").sum() / len(mine) > 0



def test_conditions_figure_keeps_every_interval_within_what_it_can_take(five_sites_study) -> None:
    """No whisker below 0 ms or 0 %, none above 100 % (two seeds give wide t intervals)."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    from iaxsim.study import conditions_figure

    # two seeds far apart: the t interval of every figure reaches below 0 (and a share above 100 %)
    runs = five_sites_study.runs.copy()
    first = runs.groupby("condition").cumcount() == 0
    for metric, low, high in (("remote_pdd_mean", 0.05, 0.9), ("remote_pdd_p95", 0.1, 5.0),
                              ("remote_p_busy", 0.0, 0.9)):
        runs[metric] = np.where(first, low, high)
    fig = conditions_figure(dataclasses.replace(five_sites_study, runs=runs))
    try:
        for ax, high in zip(fig.axes, (None, 100.0)):
            ends = [x for c in ax.collections if isinstance(c, LineCollection)
                    for seg in c.get_segments() for x in seg[:, 0]]
            assert ends, "no whiskers drawn"
            assert min(ends) >= 0.0
            if high is not None:
                assert max(ends) <= high + 1e-9
    finally:
        plt.close(fig)
