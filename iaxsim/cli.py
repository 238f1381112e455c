"""The ``iaxsim`` command: a thin dispatcher over the sub-commands in ``iaxsim.commands``.

Each module listed in ``COMMAND_MODULES`` defines ``register(subparsers)``, which adds its
sub-command(s) and sets ``func`` on the parsed arguments. No logic lives here.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from iaxsim import __version__
from iaxsim.errors import IaxsimError

COMMAND_MODULES = [
    "iaxsim.commands.report",
    "iaxsim.commands.dialplan",
    "iaxsim.commands.codec",
    "iaxsim.commands.net",
    "iaxsim.commands.sim",
    "iaxsim.commands.plan",
]


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="iaxsim",
        description="Measure what linking PBXs over IAX2 costs when numbering plans overlap.",
    )
    parser.add_argument("--version", action="version", version=f"iaxsim {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``iaxsim`` command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except IaxsimError as err:
        print(f"iaxsim: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `iaxsim pcap big.pcap | head`: the reader left, not an error
        sys.stderr.close()
        return 0
    except OSError as err:
        print(f"iaxsim: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
