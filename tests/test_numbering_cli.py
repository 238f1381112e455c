"""``iaxsim plan``: lint, linkconf, renumber, cover, synth through the real CLI entry point."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from iaxsim.cli import main
from iaxsim.numbering import NumberingPlan

PLANS = Path(__file__).resolve().parent.parent / "data" / "plans"
SEED = Path(__file__).resolve().parent.parent / "data" / "seed"


def test_lint_clean_plan_exits_zero(capsys):
    assert main(["plan", "lint", str(PLANS / "seed.csv")]) == 0
    out = capsys.readouterr().out
    assert "Plan: 2 servers, 2000 extensions (2000 of 4 digits)" in out
    assert "Verdict: clean" in out


def test_lint_messy_plan_exits_one_and_lists_findings(capsys):
    assert main(["plan", "lint", str(PLANS / "five_sites.csv")]) == 1
    out = capsys.readouterr().out
    # planted in the file: HQ's 2100-2104 copied by SALES, and DEPOT's 4050 inside SALES's 4000-4099
    assert "Conflicts (same number on several servers, unroutable): 6" in out
    # LAB's 300..309 each prefix ten of PLANT's 3000..3099
    assert "Prefix hazards (dialling the shorter number waits the 5 s digit timeout): 100" in out
    # DEPOT: 9000-9019 (20) and 1120-1125 (6)
    assert "Reserved-prefix collisions (outside-line prefix 9, emergency number 112/911/999): 26" in out
    assert "Verdict: needs attention" in out


def test_lint_json_and_reserved_options(capsys):
    code = main(["plan", "lint", str(PLANS / "five_sites.csv"), "--json", "--outside-line", "",
                 "--emergency", "", "--mode", "exact"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["reserved_collisions"] == [] and len(data["conflicts"]) == 6
    assert data["mode"] == "exact"


def test_lint_unknown_server_is_reported_with_line(capsys):
    code = main(["plan", "lint", str(PLANS / "seed.csv"), "--servers", "A"])
    err = capsys.readouterr().err
    assert code == 2
    assert "seed.csv:4: unknown server 'B' (known: A)" in err


def test_linkconf_regenerates_seed(tmp_path, capsys):
    assert main(["plan", "linkconf", str(PLANS / "seed.csv"), "--server", "B", "--out", str(tmp_path)]) == 0
    got = [x for x in (tmp_path / "link.conf").read_text().splitlines() if x.startswith("exten")]
    want = [x for x in (SEED / "serverB" / "link.conf").read_text().splitlines() if x.startswith("exten")]
    assert got == want
    assert (tmp_path / "external.conf").read_text().count("exten => ") == 2 * 1000
    assert main(["plan", "linkconf", str(PLANS / "seed.csv"), "--all", "--out", str(tmp_path / "all")]) == 0
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == ["serverA", "serverB"]


def test_linkconf_unknown_server(tmp_path, capsys):
    assert main(["plan", "linkconf", str(PLANS / "seed.csv"), "--server", "Q", "--out", str(tmp_path)]) == 2
    assert "unknown server 'Q'" in capsys.readouterr().err
    assert not (tmp_path / "link.conf").exists()


def test_renumber_writes_plan_and_map(tmp_path, capsys):
    new, changes = tmp_path / "new.csv", tmp_path / "map.csv"
    assert main(["plan", "renumber", str(PLANS / "five_sites.csv"), "--out", str(new),
                 "--map", str(changes)]) == 0
    out = capsys.readouterr().out
    assert "conflicts 6 -> 0, prefix hazards 100 -> 0, reserved collisions 26 -> 0" in out
    plan = NumberingPlan.from_csv(new)
    assert len(plan) == 582
    assert main(["plan", "lint", str(new)]) == 0
    assert changes.read_text().splitlines()[0] == "server,old,new,changed"


def test_cover_command(capsys):
    assert main(["plan", "cover", "6000-6049"]) == 0
    assert capsys.readouterr().out.split() == ["_60[0-4]X"]
    assert main(["plan", "cover", "6049-6000"]) == 2
    assert "first <= last" in capsys.readouterr().err


def test_synth_command(tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert main(["plan", "synth", "--servers", "3", "--per-server", "100", "--out", str(out)]) == 0
    plan = NumberingPlan.from_csv(out)
    assert plan.extensions["B"][0] == "2100" and len(plan) == 300


def test_help_mentions_every_action(capsys):
    with pytest.raises(SystemExit):
        main(["plan", "--help"])
    out = capsys.readouterr().out
    for action in ("lint", "linkconf", "renumber", "cover", "synth"):
        assert action in out


def test_readme_lint_example_is_current(capsys):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    marker = "$ iaxsim plan lint data/plans/five_sites.csv --limit 1\n"
    assert marker in readme
    shown = readme.split(marker, 1)[1].split("```", 1)[0]
    main(["plan", "lint", str(PLANS / "five_sites.csv"), "--limit", "1"])
    assert capsys.readouterr().out == shown


def test_lint_tables_and_cover_verify(tmp_path, capsys):
    main(["plan", "lint", str(PLANS / "five_sites.csv"), "--tables", str(tmp_path)])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(f"{n}.csv" for n in ("conflicts", "prefix_hazards", "pattern_overlap",
                                                "pair_scores", "routes", "lengths", "reserved_collisions"))
    conflicts = (tmp_path / "conflicts.csv").read_text().splitlines()
    assert conflicts[0] == "number,servers,n_servers" and "2100,HQ;SALES,2" in conflicts
    capsys.readouterr()
    assert main(["plan", "cover", "6000-6049", "--verify"]) == 0
    assert "verified with the dialplan engine: exact" in capsys.readouterr().err
