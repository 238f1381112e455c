"""The top-level ``iaxsim`` command: help lists every sub-command; a closed pipe is not an error."""
from __future__ import annotations

import subprocess
import sys

from iaxsim.cli import build_parser


def test_help_lists_every_command() -> None:
    text = build_parser().format_help()
    for command in ("decode", "pcap", "dialplan", "plan", "probe", "node", "simulate", "sweep", "report"):
        assert command in text, command


def test_reader_closing_the_pipe_is_not_an_error(tmp_path) -> None:
    conf = tmp_path / "extensions.conf"
    conf.write_text("[big]\n" + "".join(f"exten => {6000 + i},1,NoOp()\n" for i in range(3000)))
    proc = subprocess.Popen([sys.executable, "-m", "iaxsim.cli", "dialplan", "show", "big", "--conf", str(conf)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert b"big" in first
    assert "Broken pipe" not in stderr and "Traceback" not in stderr
