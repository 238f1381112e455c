"""The top-level ``iaxsim`` command: help lists every sub-command; a closed pipe is not an error."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from iaxsim.cli import build_parser
from iaxsim.iax2.frames import MiniFrame
from iaxsim.iax2.pcap import write_pcap

#: One mini frame with 160 bytes of µ-law: ``iaxsim decode`` prints two short lines (< 200 bytes).
MINI_HEX = MiniFrame(source_call=5, timestamp=20, payload=bytes(160)).encode().hex()
#: Datagrams in the big capture: ``iaxsim pcap --json`` prints about 140 bytes each (~5.6 MB),
#: far more than a pipe holds (64 KiB on Linux), so the writer must block until the reader leaves.
BIG_DATAGRAMS = 40_000


def test_help_lists_every_command() -> None:
    text = build_parser().format_help()
    for command in ("decode", "pcap", "dialplan", "plan", "probe", "node", "simulate", "sweep", "report"):
        assert command in text, command


def test_help_lists_the_planners_commands_first_and_says_where_to_start() -> None:
    text = build_parser().format_help()
    listed = [line.split()[0] for line in text.splitlines() if line.startswith("    ") and line[4] != " "]
    assert listed[:4] == ["study", "import", "plan", "simulate"]
    assert listed.index("decode") > listed.index("report")
    assert "Start here: iaxsim study PLAN.csv --out DIR" in " ".join(text.split())


@pytest.fixture(scope="module")
def big_pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A capture of 40 000 mini frames: several MB of ``iaxsim pcap --json`` output."""
    path = tmp_path_factory.mktemp("pipe") / "big.pcap"
    frames = ((i * 0.02, ("192.0.2.1", 4569), ("192.0.2.2", 4569),
               MiniFrame(source_call=5, timestamp=20 * i, payload=bytes(160)).encode())
              for i in range(BIG_DATAGRAMS))
    assert write_pcap(path, frames) == BIG_DATAGRAMS
    return path


def _env(buffered: bool) -> dict[str, str]:
    """The environment of a shell pipeline: stdout block-buffered unless ``buffered`` is False."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    return env


def _iaxsim(*args: str) -> list[str]:
    return [sys.executable, "-m", "iaxsim.cli", *args]


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
def test_reader_closing_the_pipe_midway_is_not_an_error(big_pcap: Path, buffered: bool) -> None:
    """Like ``iaxsim pcap --json big.pcap | head -1``: the reader takes one line and leaves while
    the command still has megabytes to write, so the command blocks on the full pipe and then
    meets EPIPE. Exit 0, nothing on stderr (no traceback, no "Exception ignored")."""
    proc = subprocess.Popen(_iaxsim("pcap", "--json", str(big_pcap)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_env(buffered))
    first = proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, stderr
    assert first.startswith(b'{"time": 0.0, "src": "192.0.2.1:4569"')
    assert stderr == ""


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("args", [
    pytest.param(("decode", MINI_HEX), id="short-output"),  # fits the buffer: fails at the final flush
    pytest.param(("pcap", "--json", "{big}"), id="line-by-line"),  # fails in the middle of a print
    pytest.param(("pcap", "{big}"), id="table"),
], )
def test_reader_gone_before_any_output_is_not_an_error(big_pcap: Path, args: tuple[str, ...],
                                                       buffered: bool) -> None:
    """The pipe's read end is closed before the command starts (``iaxsim ... | true``): every
    write fails, deterministically. A short output only meets the closed pipe when Python
    flushes stdout at exit, which alone would print "Exception ignored" and exit with 120."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(_iaxsim(*(a.format(big=big_pcap) for a in args)), stdout=write_end,
                              stderr=subprocess.PIPE, env=_env(buffered), timeout=60)
    finally:
        os.close(write_end)
    stderr = proc.stderr.decode()
    assert proc.returncode == 0, stderr
    assert stderr == ""


def test_short_output_is_written_whole_when_the_reader_stays() -> None:
    """The final flush added for closed pipes does not change a normal run's output."""
    proc = subprocess.run(_iaxsim("decode", MINI_HEX), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "mini" in proc.stdout and proc.stdout.endswith("\n")
    assert proc.stderr == ""


def test_every_sub_command_help_renders_cleanly() -> None:
    """argparse %-formats argument help but not descriptions: a '%%' meant as an escaped
    percent shows up doubled in a description (as 'iaxsim simulate --help' once said 95%%)."""
    import argparse

    parser = build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert len(subs.choices) >= 9
    for name, sub in subs.choices.items():
        text = sub.format_help()
        assert "%%" not in text and "%(" not in text, name
        assert f"iaxsim {name}" in text, name


def test_ctrl_c_ends_a_command_with_one_line_and_status_130() -> None:
    """A replay still waiting on a call (the fallback scenario's NEW to an unreachable address is
    given up only after 32 s) interrupted with SIGINT, as Ctrl-C sends it: one line, exit 130
    (128 + SIGINT, as a shell reports it), no traceback."""
    import signal
    import time

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(_iaxsim("validate", str(root / "data/scenarios/validate/fallback.toml"),
                                    "--calls", "1"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=root)
    time.sleep(6.0)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "iaxsim: interrupted" and "Traceback" not in err


def test_python_dash_m_iaxsim_runs_the_command() -> None:
    """``python -m iaxsim`` is the ``iaxsim`` command: same help, same exit status for an error."""
    done = subprocess.run([sys.executable, "-m", "iaxsim", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: iaxsim ")
    assert "Start here: iaxsim study PLAN.csv --out DIR" in " ".join(done.stdout.split())
    bad = subprocess.run([sys.executable, "-m", "iaxsim", "study", "/nonexistent/plan.csv",
                          "--out", "/nonexistent/study"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert bad.stderr.startswith("iaxsim: error:") and "/nonexistent/plan.csv" in bad.stderr
