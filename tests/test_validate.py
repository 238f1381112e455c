"""``iaxsim validate``: the simulator against real nodes on loopback, call by call.

The two end-to-end tests run in real time (about 10 s each): the CI scenario must agree, and the
same scenario simulated with twice the emulator's latency must not -- the check can fail.
"""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pytest

from iaxsim.cli import main
from iaxsim.iax2.constants import FrameType, IAXSubclass
from iaxsim.iax2.frames import FullFrame, MiniFrame
from iaxsim.validate.compare import CallResult, compare, tolerance
from iaxsim.validate.recovery import RecoveryIndex, is_recovery

CI = Path(__file__).resolve().parent.parent / "data" / "scenarios" / "validate_ci.toml"
CALLS = 20


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["validate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------ end to end
def test_ci_scenario_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(CI), "--calls", str(CALLS), "--json")
    report = json.loads(out)
    if code != 0:
        # real time: a stall of the machine can delay one call's datagrams once; a wrong model
        # disagrees on every replay (test_a_wrong_model_is_caught)
        warnings.warn(f"first node replay disagreed, replayed once more: "
                      f"{json.dumps(report['disagreements'])}")
        code, out, _ = _run(capsys, str(CI), "--calls", str(CALLS), "--json")
        report = json.loads(out)
    assert code == 0, json.dumps(report["disagreements"])
    assert report["calls"] == CALLS and report["agree"] == 1.0 and report["disagreements"] == []
    classes = {c["class"]: c for c in report["classes"]}
    assert sum(c["calls"] for c in classes.values()) == CALLS
    # the scenario's interleaved plans give local calls, one-attempt and wrong-server calls
    assert "local" in classes and "remote, 1 attempt" in classes
    assert any(name.startswith("remote, ") and name != "remote, 1 attempt" for name in classes)
    # six one-way trips of 20 ms before the caller hears the far end ring (NEW, CALLTOKEN, NEW,
    # ACCEPT, its ACK — only then does the far end's dialplan start —, RINGING), plus the
    # scenario's 1 ms CPU per lookup step
    assert 0.115 < classes["remote, 1 attempt"]["node_pdd_mean"] < 0.14
    assert 0 <= report["loss_affected"] == len(report["loss_affected_calls"])


def test_a_wrong_model_is_caught(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(CI), "--calls", "12", "--model-set", "network.latency=0.04")
    assert code == 1
    assert "disagreements:" in out
    lines = [ln for ln in out.splitlines() if ln.startswith("  call ")]
    assert lines and all("post_dial_delay sim" in ln for ln in lines)
    assert all("remote" in ln for ln in lines)   # local calls cross no network: they still agree


# ------------------------------------------------------------------ bad input
def test_missing_scenario_is_a_one_line_error(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    code, out, err = _run(capsys, str(tmp_path / "nope.toml"))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("iaxsim: error:") and "nope.toml" in err


@pytest.mark.parametrize("calls", ["0", "-3"])
def test_calls_must_be_positive(capsys: pytest.CaptureFixture[str], calls: str) -> None:
    code, out, err = _run(capsys, str(CI), "--calls", calls)
    assert code == 2 and out == ""
    assert err == f"iaxsim: error: --calls must be at least 1, got {calls}\n"


def test_unsupported_scenario_is_refused(capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path) -> None:
    path = tmp_path / "digits.toml"
    path.write_text(CI.read_text().replace("[traffic]\n", "[traffic]\ndialling = \"digits\"\n"))
    code, _, err = _run(capsys, str(path), "--calls", "3")
    assert code == 2 and "dialling = 'digits'" in err and err.count("\n") == 1


# ------------------------------------------------------------------ comparison rules
def _row(i: int) -> tuple[int, float, str, str, str]:
    return (i, float(i), "A", "6001", "B")


def test_tolerance_is_ten_percent_or_five_ms() -> None:
    assert tolerance(0.0) == 0.005 and tolerance(0.03) == 0.005
    assert tolerance(0.2) == pytest.approx(0.02)


def test_compare_fields_and_delay() -> None:
    sim = [CallResult("answered", "B", 1, 0.080), CallResult("answered", "B", 1, 0.080),
           CallResult("answered", "B", 1, 0.200), CallResult("rejected", "", 2, 0.16)]
    node = [CallResult("answered", "B", 1, 0.0849), CallResult("answered", "C", 3, 0.081),
            CallResult("answered", "B", 1, 0.2210), CallResult("rejected", "", 2, math.nan)]
    report = compare([_row(i) for i in range(4)], sim, node, one_way_pairs=set())
    assert report.calls == 4 and report.agreeing == 1 and not report.ok
    fields = {d.index: d.fields for d in report.disagreements}
    assert fields[1] == {"answered_by": ("B", "C"), "attempts": (1, 3)}
    assert fields[2] == {"post_dial_delay": (0.200, 0.2210)}
    assert set(fields[3]) == {"post_dial_delay"}


def test_loss_affected_only_when_the_slower_run_recovered() -> None:
    sim = [CallResult("answered", "B", 1, 0.08), CallResult("answered", "B", 1, 0.08, recovered=True),
           CallResult("answered", "B", 1, 0.08)]
    node = [CallResult("answered", "B", 1, 0.28, recovered=True),
            CallResult("answered", "B", 1, 0.28),
            CallResult("answered", "C", 1, 0.28, recovered=True)]
    report = compare([_row(i) for i in range(3)], sim, node, one_way_pairs=set())
    assert report.loss_affected == [0, 2]
    fields = {d.index: d.fields for d in report.disagreements}
    assert 0 not in fields                          # slower run (node) recovered: delay excused
    assert fields[1] == {"post_dial_delay": (0.08, 0.28)}  # the faster run's recovery excuses nothing
    assert fields[2] == {"answered_by": ("B", "C")}      # other fields still count
    assert report.as_dict()["loss_affected"] == 2


def test_classes() -> None:
    rows = [(0, 0.0, "A", "7001", "A"), (1, 1.0, "A", "6001", "B"), (2, 2.0, "B", "7001", "A"),
            (3, 3.0, "A", "6101", "C")]
    sim = [CallResult("answered", "A", 0, 0.0), CallResult("answered", "B", 2, 1.0, "external"),
           CallResult("failed", "", 2, 2.0), CallResult("answered", "C", 3, 0.24)]
    report = compare(rows, sim, sim, one_way_pairs={("B", "A"), ("A", "B")})
    names = [c.name for c in report.classes]
    # A->B is a one-way pair too: the firewall class wins over the address fallback
    assert names == ["local", "one-way firewall", "remote, 3 attempts"]
    assert [c.calls for c in report.classes] == [1, 2, 1]


def test_recovery_frames() -> None:
    new = FullFrame(source_call=3, subclass=IAXSubclass.NEW)
    again = FullFrame(source_call=3, subclass=IAXSubclass.NEW, retransmitted=True)
    vnak = FullFrame(source_call=3, dest_call=4, subclass=IAXSubclass.VNAK)
    ringing = FullFrame(source_call=3, dest_call=4, frametype=FrameType.CONTROL, subclass=3)
    assert not is_recovery(new.encode()) and not is_recovery(ringing.encode())
    assert is_recovery(again.encode()) and is_recovery(vnak.encode())
    assert not is_recovery(MiniFrame(source_call=3, timestamp=1, payload=b"x").encode())
    assert not is_recovery(b"\x80")   # malformed: not a recovery, no exception
    a, b, c = ("127.0.0.2", 4569), ("127.0.0.3", 4569), ("127.0.0.4", 4569)
    index = RecoveryIndex([(1.0, a, b, new.encode()), (2.0, b, a, again.encode()),
                           (3.0, a, c, again.encode()), (5.0, c, a, ringing.encode()),
                           (6.0, a, b, again.encode())])
    assert index.any_between({a}, 1.5, 2.5)              # received: the far end was reachable
    assert not index.any_between({a}, 0.0, 1.9) and not index.any_between({c}, 0.0, 2.5)
    assert index.any_between({a}, 2.5, 5.0)               # sent to c, which answered in time
    assert not index.any_between({a}, 2.5, 4.9)           # ... but not yet
    assert not index.any_between({a}, 5.5, 9.0)          # sent to b, never heard from again


def test_recovery_on_the_calls_own_dialogs() -> None:
    a, b = ("127.0.0.2", 4569), ("127.0.0.3", 4569)
    other = FullFrame(source_call=9, dest_call=10, subclass=IAXSubclass.ACK, retransmitted=True)
    index = RecoveryIndex([(1.0, b, a, FullFrame(source_call=10, dest_call=9,
                                                  subclass=IAXSubclass.ACK).encode()),
                           (2.0, b, a, FullFrame(source_call=8, dest_call=7,
                                                 subclass=IAXSubclass.VNAK).encode()),
                           (3.0, a, b, other.encode()), (3.5, b, a, other.encode())])
    assert index.any_between({a}, 0.0, 9.0, {7})           # the VNAK for our call 7
    assert not index.any_between({a}, 2.5, 9.0, {7})       # later: only call 9's recoveries
    assert index.any_between({a}, 2.5, 9.0, {9})
    assert not index.any_between({a}, 0.0, 9.0, {11})
