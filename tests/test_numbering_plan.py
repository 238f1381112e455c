"""NumberingPlan: CSV and DataFrame in and out, and validation errors naming the place."""
from __future__ import annotations

import pandas as pd
import pytest

from iaxsim.errors import ConfigError, IaxsimError
from iaxsim.numbering import NumberingPlan, PlanError


def test_single_extensions_and_ranges_mix():
    text = ("server,extension,first,last,name\n"
            "A,7001,,,Reception\n"
            "A,,7010,7012,\n"
            "# a comment line\n"
            "\n"
            "B,,0600,0602,\n")
    plan = NumberingPlan.from_csv_text(text)
    assert plan.servers == ("A", "B")
    assert plan.extensions["A"] == ("7001", "7010", "7011", "7012")
    # leading zeros are part of the number
    assert plan.extensions["B"] == ("0600", "0601", "0602")
    assert plan.names[("A", "7001")] == "Reception"
    assert len(plan) == 7


def test_extensions_sorted_by_length_then_value():
    plan = NumberingPlan.from_dict({"A": ["7001", "600", "6000", "99"]})
    assert plan.of("A") == ("99", "600", "6000", "7001")


def test_owners_lists_every_server_of_a_number():
    plan = NumberingPlan.from_dict({"A": ["6001", "6002"], "B": ["6001"]})
    assert plan.owners() == {"6001": ("A", "B"), "6002": ("A",)}


@pytest.mark.parametrize("text, line, fragment", [
    ("server,extension\nA,6001\nA,60x1\n", 3, "'60x1' is not all digits"),
    ("server,extension\nA,6001\nA, \n", 3, "gives no extension"),
    ("server,extension\n,6001\n", 2, "missing server id"),
    ("server,extension\nserver B,6001\n", 2, "not a valid peer name"),
    ("server,first,last\nA,6000,6099\nA,6050,6150\n", 3, "overlaps 6000-6099 on server A (line 2)"),
    ("server,first,last\nA,6000,6099\nB,6050,6150\nA,6099,6099\n", 4, "overlaps 6000-6099"),
    ("server,extension\nA,6001\nB,6001\nA,6001\n", 4, "extension 6001 repeated on server A (line 2)"),
    ("server,first,last\nA,6099,6000\n", 2, "runs backwards"),
    ("server,first,last\nA,600,6000\n", 2, "mixes widths"),
    ("server,first,last\nA,6000,\n", 2, "needs both 'first' and 'last'"),
    ("server,extension,first,last\nA,6001,6000,6005\n", 2, "both 'extension' and"),
    ("server,extension\nA,6001,extra\n", 2, "3 fields but the header has 2"),
    ("server,first,last,name\nA,6000,6009,Sales\n", 2, "only be given for a single extension"),
    ("# only a comment\nserver,phone\nA,6001\n", 2, "unknown column 'phone'"),
    ("server,first\nA,6001\n", 1, "needs both 'first' and 'last' columns"),
    ("extension\n6001\n", 1, "missing column 'server'"),
])
def test_errors_name_the_line(text, line, fragment):
    with pytest.raises(PlanError) as info:
        NumberingPlan.from_csv_text(text, path="plan.csv")
    err = info.value
    assert isinstance(err, ConfigError) and isinstance(err, IaxsimError)
    assert err.path == "plan.csv" and err.line == line
    assert str(err).startswith(f"plan.csv:{line}: ")
    assert fragment in str(err)


def test_unknown_server_against_declared_list():
    with pytest.raises(PlanError, match=r"plan.csv:3: unknown server 'C' \(known: A, B\)"):
        NumberingPlan.from_csv_text("server,extension\nA,1\nC,2\n", path="plan.csv", servers=["A", "B"])
    plan = NumberingPlan.from_csv_text("server,extension\nB,2\n", servers=["A", "B"])
    # a declared server with no extension keeps its place
    assert plan.servers == ("A", "B") and plan.extensions["A"] == ()


def test_empty_file_is_an_error():
    with pytest.raises(PlanError, match="empty plan"):
        NumberingPlan.from_csv_text("# nothing\n\n", path="x.csv")


def test_huge_range_is_refused():
    with pytest.raises(PlanError, match="more than"):
        NumberingPlan.from_csv_text("server,first,last\nA,0000000000,9999999999\n")


def test_of_unknown_server():
    plan = NumberingPlan.from_dict({"A": ["1"]})
    with pytest.raises(PlanError, match="unknown server 'Z'"):
        plan.of("Z")


def test_dataframe_round_trip_keeps_text_and_names():
    plan = NumberingPlan.from_csv_text("server,extension,name\nA,0100,Desk\nB,200,\n")
    df = plan.to_dataframe()
    assert list(df.columns) == ["server", "extension", "name"]
    assert df["extension"].tolist() == ["0100", "200"]
    assert NumberingPlan.from_dataframe(df) == plan


def test_dataframe_errors_name_the_row():
    df = pd.DataFrame({"server": ["A", "B"], "extension": ["6001", "6x"]})
    with pytest.raises(PlanError, match=r"<DataFrame>:1: extension '6x' is not all digits"):
        NumberingPlan.from_dataframe(df)
    df = pd.DataFrame({"server": ["A"], "extension": [6001.0]})
    with pytest.raises(PlanError, match="store extensions as text"):
        NumberingPlan.from_dataframe(df)


def test_csv_round_trip_compresses_runs(tmp_path):
    plan = NumberingPlan.from_dict({"A": ["6000", "6001", "6002", "6005", "600"], "B": ["0700", "0701"]},
                                   names={("A", "6005"): "Fax"})
    text = plan.to_csv_text()
    assert text.splitlines() == [
        "server,first,last,name",
        "A,600,600,",
        "A,6000,6002,",
        "A,6005,6005,Fax",
        "B,0700,0701,",
    ]
    path = tmp_path / "p.csv"
    plan.to_csv(path)
    assert NumberingPlan.from_csv(path) == plan
    plan.to_csv(path, ranges=False)
    assert NumberingPlan.from_csv(path) == plan


def test_non_utf8_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"server,extension\nA,\xff\n")
    with pytest.raises(PlanError, match="not UTF-8"):
        NumberingPlan.from_csv(path)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='AB,0123456789-\n#" x\r;', max_size=120))
def test_fuzzed_csv_gives_a_plan_or_a_plan_error(body):
    for text in (body, "server,first,last,name\n" + body, "server,extension\n" + body):
        try:
            plan = NumberingPlan.from_csv_text(text, path="f.csv")
        except PlanError as err:
            assert str(err).startswith("f.csv")
        else:
            assert all(e.isdigit() for s in plan.servers for e in plan.extensions[s])
