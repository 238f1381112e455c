"""The ``iaxsim`` command: a thin dispatcher over the sub-commands in ``iaxsim.commands``.

Each module listed in ``COMMAND_MODULES`` defines ``register(subparsers)``, which adds its
sub-command(s) and sets ``func`` on the parsed arguments. No logic lives here.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from iaxsim import __version__
from iaxsim.errors import IaxsimError

#: In the order ``--help`` lists them: a planner's path first (study a network, import a real
#: one, work on its plan, simulate), then the protocol and test-bench tools.
COMMAND_MODULES = [
    "iaxsim.commands.study",
    "iaxsim.commands.deploy",
    "iaxsim.commands.plan",
    "iaxsim.commands.sim",
    "iaxsim.commands.scenario",
    "iaxsim.commands.report",
    "iaxsim.commands.validate",
    "iaxsim.commands.dialplan",
    "iaxsim.commands.codec",
    "iaxsim.commands.net",
    "iaxsim.commands.wan",
]


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="iaxsim",
        description="Measure what linking PBXs over IAX2 costs when numbering plans overlap.",
        epilog="Start here: iaxsim study PLAN.csv --out DIR (PLAN.csv: server,extension per line; "
               "or a folder made by iaxsim import). Each command has its own --help.",
    )
    parser.add_argument("--version", action="version", version=f"iaxsim {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def _discard_stdout() -> None:
    """Point standard output at the null device after its reader left.

    Output still buffered would otherwise be flushed again when the interpreter exits, fail
    again, and print "Exception ignored ... BrokenPipeError" with exit status 120 (the Python
    documentation's note on SIGPIPE recommends exactly this redirection).
    """
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # replaced or closed stream: nothing to flush later
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    """Run the ``iaxsim`` command line; returns the process exit code.

    A reader that closes the pipe early (``iaxsim pcap big.pcap | head``) is not an error: the
    command stops quietly, with exit status 0 when it was cut short, or its own status when only
    the final flush of its output found the reader gone. Ctrl-C ends a command with one line and
    exit status 130 (128 + SIGINT), as shells report it, instead of a traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    code = 0
    try:
        code = int(args.func(args) or 0)
    except IaxsimError as err:
        print(f"iaxsim: error: {err}", file=sys.stderr)
        code = 2
    except BrokenPipeError:  # the reader left while the command was still writing
        _discard_stdout()
        return 0
    except KeyboardInterrupt:  # Ctrl-C: the command has cleaned up on its way out
        print("iaxsim: interrupted", file=sys.stderr)
        return 130
    except OSError as err:
        print(f"iaxsim: error: {err}", file=sys.stderr)
        code = 2
    try:
        sys.stdout.flush()  # short outputs meet a closed pipe only here, not in the command
    except BrokenPipeError:
        _discard_stdout()
    return code


if __name__ == "__main__":
    sys.exit(main())
