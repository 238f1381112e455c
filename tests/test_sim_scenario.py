"""Scenario dataclasses and the TOML loader: defaults, round trip, errors naming file/table/field."""
from __future__ import annotations

import numpy as np
import pytest

from iaxsim.errors import ConfigError
from iaxsim.sim.distributions import Distribution, DistributionError
from iaxsim.sim.scenario import load_scenario, scenario_from_dict

GOOD = """\
name = "two"
duration = 600
seed = 3

[[servers]]
id = "A"
extensions = ["6000-6009"]

[[servers]]
id = "B"
extensions = ["7000-7009", "7100"]
channels = 4

[traffic]
calls_per_hour = 120
local = 0.5
remote = 0.5
holding = { dist = "lognormal", mean = 120, sd = 60 }

[traffic.servers.B]
erlangs = 2.0
"""


def write(tmp_path, text, name="s.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_load_good_scenario(tmp_path):
    sc = load_scenario(write(tmp_path, GOOD))
    assert sc.name == "two" and sc.duration == 600.0 and sc.seed == 3
    b = sc.server("B")
    assert b.channels == 4 and b.numbers()[-2:] == ["7009", "7100"] and len(b.numbers()) == 11
    # defaults from the docs: linear matcher, 5 s digit timeout, qualify on, sites = ids
    assert b.matcher == "linear" and b.digit_timeout == 5.0 and b.qualify and b.site == "B"
    assert sc.traffic_of("A").attempts_per_hour() == 120
    # 2 E with a 120 s mean holding time = 60 attempts per hour
    assert sc.traffic_of("B").attempts_per_hour() == pytest.approx(60.0)
    assert sc.server("A").internal != sc.server("B").internal


def test_round_trip_and_key(tmp_path):
    sc = load_scenario(write(tmp_path, GOOD))
    again = scenario_from_dict(sc.to_dict(), base_dir=sc.base_dir)
    assert again == sc
    assert again.key() == sc.key()
    assert sc.key(seed=4) != sc.key()
    changed = sc.with_values({"servers.B.channels": 9, "traffic.calls_per_hour": 60})
    assert changed.server("B").channels == 9 and changed.traffic.calls_per_hour == 60
    assert changed.key() != sc.key()
    assert sc.with_values({"servers.*.cores": 2}).server("A").cores == 2


@pytest.mark.parametrize("edit,table,field,line", [
    (("channels = 4", "channels = 0"), "[servers.B]", "channels", 12),
    (("channels = 4", 'channels = "x"'), "[servers.B]", "channels", 12),
    (('id = "B"', 'id = "A"'), "[servers]", "id", None),
    (("local = 0.5", "local = 0.7"), "[traffic]", "local", 16),
    (("erlangs = 2.0", "erlangs = 2.0\ncalls_per_hour = 5"), "[traffic.servers.B]", "erlangs", 21),
    (('mean = 120, sd = 60', 'mean = 120'), "[traffic]", "holding", 18),
    (("seed = 3", 'seed = 3\nlinking = "mesh"'), "", "linking", 4),
    (("seed = 3", "seed = 3\nbogus = 1"), "", "bogus", 4),
    (('extensions = ["6000-6009"]', 'extensions = ["6009-6000"]'), "[servers.A]", "extensions", 7),
])
def test_errors_name_file_table_field(tmp_path, edit, table, field, line):
    p = write(tmp_path, GOOD.replace(*edit))
    with pytest.raises(ConfigError) as info:
        load_scenario(p)
    err = info.value
    assert err.path == str(p)
    assert f"{field}:" in str(err)
    if table:
        assert table in str(err)
    if line is not None:
        assert err.line == line


def test_bad_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_scenario(write(tmp_path, "name = \n"))
    assert info.value.line == 1
    with pytest.raises(ConfigError, match="cannot read"):
        load_scenario(tmp_path / "absent.toml")


def test_unknown_server_references():
    base = {"servers": [{"id": "A", "extensions": ["1"]}]}
    with pytest.raises(ConfigError, match=r"\[traffic\] to: unknown server 'Z'"):
        scenario_from_dict({**base, "traffic": {"local": 0.5, "to": {"Z": 0.5}}})
    with pytest.raises(ConfigError, match=r"\[network.firewall\] from: unknown server 'Q'"):
        scenario_from_dict({**base, "network": {"firewall": [{"from": "Q"}]}})
    with pytest.raises(ConfigError, match="at least one"):
        scenario_from_dict({"servers": []})


def test_distributions_table():
    rng = np.random.default_rng(1)
    assert Distribution.parse(3).sample(rng, 2).tolist() == [3.0, 3.0]
    d = Distribution.parse({"dist": "erlang", "mean": 10, "k": 4})
    assert d.mean == 10
    x = d.sample(np.random.default_rng(5), 20000)
    assert x.mean() == pytest.approx(10, rel=0.03)
    # Erlang-4 variance = mean²/k = 25
    assert x.var() == pytest.approx(25, rel=0.06)
    ln = Distribution.parse({"dist": "lognormal", "mean": 100, "sd": 50}).sample(np.random.default_rng(2), 40000)
    assert ln.mean() == pytest.approx(100, rel=0.02) and ln.std() == pytest.approx(50, rel=0.05)
    for bad in ({"dist": "pareto"}, {"dist": "uniform", "low": 3, "high": 1}, {"mean": 1},
                {"dist": "exponential", "mean": -1}, {"dist": "fixed", "value": 1, "x": 2}):
        with pytest.raises(DistributionError):
            Distribution.parse(bad)


def test_key_follows_the_content_of_referenced_files(tmp_path):
    (tmp_path / "ext.conf").write_text("[external]\nexten => 100,1,Answer()\n")
    (tmp_path / "s.toml").write_text('[[servers]]\nid = "A"\nextensions = ["100"]\nexternal_conf = "ext.conf"\n')
    before = load_scenario(tmp_path / "s.toml").key()
    (tmp_path / "ext.conf").write_text("[external]\nexten => 100,1,Answer()\nexten => 101,1,Answer()\n")
    assert load_scenario(tmp_path / "s.toml").key() != before


def test_numbering_plan_csv_assigns_extensions(tmp_path):
    from iaxsim.sim.plans import build_plans

    (tmp_path / "plan.csv").write_text("server,first,last\nA,2000,2009\nB,3000,3004\nB,2010,2010\n")
    (tmp_path / "s.toml").write_text('[numbering]\nplan = "plan.csv"\nlink_mode = "exact"\n'
                                     '[[servers]]\nid = "A"\n[[servers]]\nid = "B"\n'
                                     '[traffic]\nlocal = 0.5\nremote = 0.5\n')
    plans = build_plans(load_scenario(tmp_path / "s.toml"))
    assert plans["A"].numbers == tuple(str(n) for n in range(2000, 2010))
    assert plans["B"].numbers == ("2010", "3000", "3001", "3002", "3003", "3004")
    assert "exten => 2010" in plans["B"].external_conf and "cserverBi" in plans["A"].link_conf
    (tmp_path / "bad.csv").write_text("server,first,last\nA,2009,2000\n")
    (tmp_path / "s.toml").write_text('[numbering]\nplan = "bad.csv"\n[[servers]]\nid = "A"\n')
    with pytest.raises(ConfigError, match="bad.csv"):
        build_plans(load_scenario(tmp_path / "s.toml"))
