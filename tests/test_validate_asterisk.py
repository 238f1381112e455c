"""``iaxsim validate --asterisk``: the simulator against real Asterisk 22 servers, call by call.

The two end-to-end tests start three Asterisk instances each (the ``asterisk_build`` fixture
unpacks the build once per session; they skip without its archive, and when the archive is there
but the build cannot run, fail under ``IAXSIM_REQUIRE_ORACLES=1``): the CI scenario must agree, and the same scenario simulated with
twice the emulator's latency must not. The rest checks the measurement on datagrams built here,
the log lines as Asterisk writes them, the generated configuration and the bad-input errors.
"""
from __future__ import annotations

import json
import math
import stat
import time
import warnings
from pathlib import Path

import pytest

from iaxsim.cli import main
from iaxsim.dialplan import Dialplan
from iaxsim.iax2 import IE, ControlSubclass, FrameType, FullFrame, IAXSubclass, IEType
from iaxsim.net.wan import TapRecord
from iaxsim.sim import load_scenario
from iaxsim.sim.plans import build_plans
from iaxsim.validate.asterisk_conf import (ANSWER_MEDIA_WAIT, call_code, dialled_peers,
                                           extensions_conf, iax_conf, own_extensions)
from iaxsim.validate.asterisk_wire import CallLog, measure, parse_logs

ROOT = Path(__file__).resolve().parent.parent
CI = ROOT / "data" / "scenarios" / "validate_asterisk_ci.toml"
CALLS = 30


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["validate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------ end to end (real Asterisk)
def test_ci_scenario_agrees_with_asterisk(capsys: pytest.CaptureFixture[str],
                                          asterisk_build: Path) -> None:
    start = time.monotonic()
    code, out, _ = _run(capsys, str(CI), "--calls", str(CALLS), "--json",
                        "--asterisk", str(asterisk_build))
    report = json.loads(out)
    if len(report["disagreements"]) > 2:  # a stalled machine: replay once more
        start = time.monotonic()  # the time bound below is the second replay's
        code, out, _ = _run(capsys, str(CI), "--calls", str(CALLS), "--json",
                            "--asterisk", str(asterisk_build))
        report = json.loads(out)
    # Real time inside a long test session: a stall of the machine can delay one call's
    # datagrams by ~10 ms. Outcome, answering server and attempts must agree on every call;
    # at most 2 of the 30 may miss the delay tolerance (a wrong model misses it on every remote
    # call: test_a_wrong_model_is_caught_with_asterisk).
    fields = [set(d["fields"]) for d in report["disagreements"]]
    assert all(f == {"post_dial_delay"} for f in fields), json.dumps(report["disagreements"])
    assert len(fields) <= 2, json.dumps(report["disagreements"])
    if fields:
        warnings.warn(f"Asterisk replay: {len(fields)} call(s) outside the delay tolerance: "
                      f"{json.dumps(report['disagreements'])}")
    assert report["replay"] == "asterisk"
    assert report["calls"] == CALLS and report["agree"] >= (CALLS - 2) / CALLS
    classes = {c["class"]: c for c in report["classes"]}
    assert sum(c["calls"] for c in classes.values()) == CALLS
    # local calls, calls the owner answers at the first attempt, and calls that try wrong
    # servers first (the interleaved plans)
    assert "local" in classes and "remote, 1 attempt" in classes
    assert any(name.startswith("remote, ") and name != "remote, 1 attempt" for name in classes)
    # Asterisk 22 on the wire: first NEW to ANSWER at the caller 124 ms at 20 ms one-way latency
    # (six one-way trips: NEW, CALLTOKEN, NEW, ACCEPT, the ACK of ACCEPT, ANSWER) and
    # 86 ms more per wrong address tried first (NEW, CALLTOKEN, NEW, REJECT)
    assert 0.118 < classes["remote, 1 attempt"]["node_pdd_mean"] < 0.135
    assert classes["local"]["node_pdd_mean"] < 0.005
    assert report["lost_datagrams"] == {"sim": 0, "node": 0}
    assert time.monotonic() - start < 90


def test_a_wrong_model_is_caught_with_asterisk(capsys: pytest.CaptureFixture[str],
                                               asterisk_build: Path) -> None:
    code, out, _ = _run(capsys, str(CI), "--calls", "10", "--asterisk", str(asterisk_build),
                        "--model-set", "network.latency=0.04")
    assert code == 1
    assert "asterisk pdd" in out and "disagreements:" in out
    lines = [ln for ln in out.splitlines() if ln.startswith("  call ")]
    assert lines and all("post_dial_delay sim" in ln and " asterisk " in ln for ln in lines)
    assert all("remote" in ln for ln in lines)   # local calls cross no network: they still agree


# ------------------------------------------------------------------ bad input
def _fake_build(root: Path) -> Path:
    (root / "sbin").mkdir(parents=True)
    (root / "lib" / "asterisk" / "modules").mkdir(parents=True)
    binary = root / "sbin" / "asterisk"
    binary.write_text("#!/bin/sh\nexit 1\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    (root / "lib" / "asterisk" / "modules" / "chan_iax2.so").write_bytes(b"")
    return root


def test_a_directory_without_asterisk_is_a_one_line_error(capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    code, out, err = _run(capsys, str(CI), "--calls", "3", "--asterisk", str(tmp_path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--asterisk" in err and "sbin/asterisk" in err


def test_a_build_without_chan_iax2_is_refused(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    build = _fake_build(tmp_path / "b")
    (build / "lib" / "asterisk" / "modules" / "chan_iax2.so").unlink()
    code, _, err = _run(capsys, str(CI), "--calls", "3", "--asterisk", str(build))
    assert code == 2 and err.count("\n") == 1 and "chan_iax2.so" in err


@pytest.mark.parametrize("edit, fragment", [
    (lambda t: t.replace('seed = 3\n', 'seed = 3\nlinking = "switch"\n'), "linking = 'switch'"),
    (lambda t: t.replace("[traffic]\n", "[traffic]\ndialling = \"digits\"\n"), "dialling = 'digits'"),
])
def test_unsupported_scenario_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                         edit, fragment: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(edit(CI.read_text()))
    code, out, err = _run(capsys, str(path), "--calls", "3",
                          "--asterisk", str(_fake_build(tmp_path / "b")))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "cannot replay on Asterisk" in err and fragment in err


def test_help_describes_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    out = capsys.readouterr().out
    assert "--asterisk DIR" in out and "sbin/asterisk" in out


# ------------------------------------------------------------------ configuration
def test_extensions_conf_answers_own_numbers_and_keeps_link_conf() -> None:
    scenario = load_scenario(CI)
    plan = build_plans(scenario)["A"]
    text = extensions_conf("A", scenario.account, plan.external_conf, plan.link_conf, 60.0)
    dp = Dialplan.from_string(text, "extensions.conf")
    own = dp.context("external")
    assert sorted(e.name for e in own.extensions) == sorted(plan.numbers)
    first = own.extensions[0]
    assert [p.app for p in first.priorities][:4] == ["Verbose", "Answer", "Wait", "Hangup"]
    # link.conf's Dial lines unchanged, in context link, reached after external.conf
    assert [i.target for i in dp.context("from-internal").includes] == ["external", "link"]
    link_lines = [ln for ln in plan.link_conf.splitlines() if ln.startswith("exten")]
    assert all(ln in text.splitlines() for ln in link_lines) and link_lines
    assert dp.globals.get("ACCOUNT") == scenario.account
    assert own_extensions("exten => 7001,1,Dial(IAX2/${EXTEN})\n") == ["7001"]  # no [external]


def test_iax_conf_peers_go_through_the_emulator() -> None:
    text = iax_conf({"internal": ("127.0.1.2", 5000), "external": ("127.0.1.3", 5001)},
                    {("B", "internal"): ("127.0.0.1", 6000), ("B", "external"): ("127.0.0.1", 6001)},
                    "1000", True)
    blocks = {b.split("]")[0]: b for b in text.split("\n[")[1:]}
    assert set(blocks) == {"cserverBi", "cBi", "cserverBx", "cBx", "c1000i", "c1000x"}
    assert "port = 6000" in blocks["cserverBi"] and "sourceaddress = 127.0.1.2:5000" in blocks["cBi"]
    assert "port = 6001" in blocks["cBx"] and "sourceaddress = 127.0.1.3:5001" in blocks["cserverBx"]
    assert "qualify = yes" in blocks["cBx"] and "context = external" in blocks["c1000x"]
    assert text.count("bindaddr = ") == 2
    # only the names the link.conf dials: two qualified peers at one address lose PONGs
    link = "exten => _6XXX,1,Dial(IAX2/c${ACCOUNT}i@cserverBi/${EXTEN}@external)\n" \
           "exten => _6XXX,2,Dial(IAX2/cBx/${EXTEN})\n"
    assert dialled_peers(link) == {"cserverBi", "cBx"}
    used = iax_conf({"internal": ("127.0.1.2", 5000), "external": ("127.0.1.3", 5001)},
                    {("B", "internal"): ("127.0.0.1", 6000), ("B", "external"): ("127.0.0.1", 6001)},
                    "1000", False, dialled_peers(link))
    assert {b.split("]")[0] for b in used.split("\n[")[1:]} == {"cserverBi", "cBx", "c1000i", "c1000x"}


def test_call_code() -> None:
    assert call_code(12, 1.5, "2318") == f"000012{round((1.5 - ANSWER_MEDIA_WAIT) * 1000):07d}2318"
    assert call_code(3, 0.1, "7") == "00000300000007"
    with pytest.raises(ValueError):
        call_code(10 ** 6, 1.0, "1")


# ------------------------------------------------------------------ what Asterisk logs
LOG = """\
[2026-12-07 15:41:06.146] VERBOSE[2425][C-00000001] pbx.c: Executing [2318@from-internal:1] Dial("Local/00000500010002318@iaxsim-call-00000009;2", "IAX2/c1000i@cserverBi/2318@external") in new stack
[2026-12-07 15:41:06.147] VERBOSE[2425][C-00000001] pbx.c: Executing [2318@from-internal:3] Dial("Local/00000500010002318@iaxsim-call-00000009;2", "IAX2/c1000i@cserverCi/2318@external") in new stack
[2026-12-07 15:41:06.150] VERBOSE[2425][C-00000001] pbx.c: Executing [s@iaxsim-end:1] Verbose("Local/00000500010002318@iaxsim-call-00000009;2", "0,iaxsim end 000005 1796658069.477045 A") in new stack
[2026-12-07 15:41:06.151] VERBOSE[2425][C-00000001] app_verbose.c: iaxsim end 000005 1796658069.477045 A
[2026-12-07 15:41:05.101] VERBOSE[2425][C-00000001] app_verbose.c: iaxsim dial 000005 1796658067.852799 A
[2026-12-07 15:41:05.200] VERBOSE[2470][C-00000005] app_verbose.c: iaxsim answer 000005 1796658067.9554 C
"""


def test_parse_logs_reads_the_replays_lines() -> None:
    logs = parse_logs([LOG])
    assert set(logs) == {5}
    log = logs[5]
    assert log.dialled == 1796658067.852799 and log.ended == 1796658069.477045
    assert log.answers == [("C", 1796658067.9554)]
    assert log.link_dials == 2   # the Executing line of Verbose is not counted, nor read as an event


# ------------------------------------------------------------------ measuring on datagrams
A_I, A_X = ("127.0.1.2", 5000), ("127.0.1.3", 5001)
B_I, B_X = ("127.0.2.2", 5002), ("127.0.2.3", 5003)
C_I = ("127.0.3.2", 5004)
WHERE = {A_I: ("A", "internal"), A_X: ("A", "external"), B_I: ("B", "internal"),
         B_X: ("B", "external"), C_I: ("C", "internal")}


def _new(tag: int, callno: int, retransmitted: bool = False) -> bytes:
    return FullFrame(source_call=callno, subclass=IAXSubclass.NEW, retransmitted=retransmitted,
                     ies=[IE(IEType.CALLED_NUMBER, "2318"),
                          IE(IEType.CALLING_NUMBER, f"{tag:06d}")]).encode()


def _reply(callno: int, to: int, frametype: int, subclass: int, ies: list[IE] | None = None) -> bytes:
    return FullFrame(source_call=to + 100, dest_call=callno, frametype=frametype, subclass=subclass,
                     ies=ies or []).encode()


def _exchange(t: float, src: tuple[str, int], dst: tuple[str, int], data: bytes,
              latency: float = 0.020) -> list[TapRecord]:
    return [TapRecord(t, "in", src, dst, data), TapRecord(t + latency, "out", src, dst, data)]


def test_measure_a_call_answered_after_a_wrong_server() -> None:
    # A dials: B internal rejects (cause 3), then C internal answers
    tap: list[TapRecord] = []
    tap += _exchange(10.000, A_I, B_I, _new(1, 11))
    tap += _exchange(10.020, B_I, A_I, _reply(11, 1, FrameType.IAX, IAXSubclass.CALLTOKEN))
    tap += _exchange(10.040, A_I, B_I, _new(1, 11))
    tap += _exchange(10.060, B_I, A_I, _reply(11, 2, FrameType.IAX, IAXSubclass.REJECT,
                                              [IE(IEType.CAUSECODE, 3)]))
    tap += _exchange(10.081, A_I, C_I, _new(1, 12))
    tap += _exchange(10.101, C_I, A_I, _reply(12, 3, FrameType.IAX, IAXSubclass.ACCEPT))
    tap += _exchange(10.122, C_I, A_I, _reply(12, 3, FrameType.CONTROL, ControlSubclass.ANSWER))
    # another call's frames on the same pair (other call number) change nothing
    tap += _exchange(10.130, C_I, A_I, _reply(99, 3, FrameType.CONTROL, ControlSubclass.ANSWER))
    logs = {1: CallLog(dialled=1000.0, answers=[("C", 1000.1)], ended=1002.0, link_dials=2)}
    [r] = measure([1], ["A"], ["C"], tap, logs, WHERE, epoch_offset=990.0)
    assert (r.outcome, r.answered_by, r.answered_kind, r.attempts) == ("answered", "C", "internal", 2)
    assert r.post_dial_delay == pytest.approx(0.142)      # first NEW in -> ANSWER out
    assert not r.recovered


def test_measure_rejected_failed_local_and_misrouted() -> None:
    tap: list[TapRecord] = []
    # call 1: rejected on both addresses of B
    tap += _exchange(1.0, A_I, B_I, _new(1, 21))
    tap += _exchange(1.02, B_I, A_I, _reply(21, 1, FrameType.IAX, IAXSubclass.REJECT))
    tap += _exchange(1.05, A_X, B_X, _new(1, 22))
    tap += _exchange(1.07, B_X, A_X, _reply(22, 2, FrameType.IAX, IAXSubclass.REJECT))
    # call 2: NEW to C internal never answered (retransmitted), the origin gives up at 32 s
    tap.append(TapRecord(5.0, "in", A_I, C_I, _new(2, 23)))
    tap.append(TapRecord(7.0, "in", A_I, C_I, _new(2, 23, retransmitted=True)))
    # call 4: answered by B's external address although C owns the number
    tap += _exchange(9.0, A_X, B_X, _new(4, 24))
    tap += _exchange(9.1, B_X, A_X, _reply(24, 4, FrameType.CONTROL, ControlSubclass.ANSWER))
    # call 5: B answers BUSY
    tap += _exchange(11.0, A_I, B_I, _new(5, 25))
    tap += _exchange(11.05, B_I, A_I, _reply(25, 5, FrameType.IAX, IAXSubclass.REJECT,
                                             [IE(IEType.CAUSECODE, 17)]))
    logs = {1: CallLog(dialled=100.9, ended=101.2, link_dials=2),
            2: CallLog(dialled=104.99, ended=137.0, link_dials=1),
            3: CallLog(dialled=108.0, answers=[("A", 108.0004)], ended=110.0),
            4: CallLog(dialled=108.9, answers=[("B", 109.05)], ended=111.0, link_dials=1),
            5: CallLog(dialled=110.9, ended=111.2, link_dials=1),
            6: CallLog(dialled=112.0, ended=112.001)}
    results = measure([1, 2, 3, 4, 5, 6], ["A"] * 6, ["", "C", "A", "C", "B", ""], tap, logs,
                      WHERE, epoch_offset=100.0)
    got = [(r.outcome, r.answered_by, r.attempts) for r in results]
    assert got == [("rejected", "", 2), ("failed", "", 1), ("answered", "A", 0),
                   ("misrouted", "B", 1), ("busy", "", 1), ("rejected", "", 0)]
    pdd = [r.post_dial_delay for r in results]
    assert pdd[0] == pytest.approx(0.09)       # first NEW -> last REJECT at the origin
    assert pdd[1] == pytest.approx(32.0)       # first NEW -> the channel's end (given up)
    assert pdd[2] == pytest.approx(0.0004)     # dialled -> own extension answered (log)
    assert pdd[3] == pytest.approx(0.12)
    assert pdd[4] == pytest.approx(0.07)
    assert pdd[5] == pytest.approx(0.001)      # no route: dialled -> ended (log)
    # the unanswered NEW retransmissions are no loss recovery: that address never answered
    assert not any(r.recovered for r in results)


def test_measure_sees_loss_recovery_and_skipped_dials() -> None:
    tap: list[TapRecord] = []
    tap += _exchange(1.0, A_I, B_I, _new(1, 31))
    tap.append(TapRecord(1.02, "in", B_I, A_I, _reply(31, 1, FrameType.IAX, IAXSubclass.CALLTOKEN)))
    tap += _exchange(3.0, A_I, B_I, _new(1, 31, retransmitted=True))   # CALLTOKEN was lost
    tap += _exchange(3.02, B_I, A_I, _reply(31, 1, FrameType.CONTROL, ControlSubclass.ANSWER))
    # call 2: the first Dial skipped (peer UNREACHABLE under qualify), no NEW at all
    logs = {1: CallLog(dialled=0.9, link_dials=1, ended=5.0),
            2: CallLog(dialled=4.0, link_dials=1, ended=4.001)}
    r1, r2 = measure([1, 2], ["A", "A"], ["B", "B"], tap, logs, WHERE, epoch_offset=0.0)
    assert r1.outcome == "answered" and r1.recovered and r1.post_dial_delay == pytest.approx(2.04)
    assert (r2.outcome, r2.attempts) == ("failed", 1) and r2.post_dial_delay == pytest.approx(0.001)
    assert not math.isnan(r2.post_dial_delay)
