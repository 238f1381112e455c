"""``iaxsim import``: a thin wrapper over :mod:`iaxsim.deploy`."""
from __future__ import annotations

import argparse
from pathlib import Path

_EPILOG = """Each DIR is one server's Asterisk configuration (trixbox: external.conf + link.conf;
plain Asterisk: extensions.conf; either with an optional iax.conf). The server id is the
directory name (a name server<ID> gives <ID>). Writes NETDIR/plan.csv, NETDIR/network.toml
(run it with 'iaxsim simulate'), NETDIR/import.txt (what was read, and every line left out of
the model with file:line) and NETDIR/<id>/external.conf + link.conf.

exit status: 0 when written, 2 on bad input (nothing is written then).

example:
  iaxsim plan linkconf data/plans/seed.csv --all --out confs
  iaxsim import confs/serverA confs/serverB --out net
  iaxsim simulate net/network.toml
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``iaxsim import``."""
    p = subparsers.add_parser(
        "import", help="import a real deployment: a plan and a scenario from Asterisk configs",
        description="Read each server's Asterisk configuration and write the numbering plan, a "
                    "scenario 'iaxsim simulate' runs as it is, and an import report.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="one server's configuration")
    p.add_argument("--out", type=Path, required=True, metavar="NETDIR", help="folder to write")
    p.add_argument("--context", default="external", metavar="NAME",
                   help="plain Asterisk: the extensions.conf context holding the server's own "
                        "extensions (default: external; trixbox reads [external])")
    p.add_argument("--calls-per-hour", type=float, default=600.0, metavar="N",
                   help="busy-hour call attempts each server originates (default 600)")
    p.add_argument("--remote", type=float, default=0.5, metavar="SHARE",
                   help="share of calls to other servers' numbers, the rest local (default 0.5)")
    p.add_argument("--keep-dir-names", action="store_true",
                   help="server id = directory name even when it starts with 'server'")
    p.set_defaults(func=run_import)


def run_import(args: argparse.Namespace) -> int:
    from iaxsim.deploy import import_deployment, write_import

    result = import_deployment(args.dirs, args.context, calls_per_hour=args.calls_per_hour,
                               remote=args.remote, keep_dir_names=args.keep_dir_names)
    out = write_import(result, args.out)
    print(f"{len(result.servers)} server(s), {len(result.plan)} number(s); "
          f"{len(result.notes)} line(s) left out of the model (see {out / 'import.txt'})")
    print(f"written: {out / 'plan.csv'}, {out / 'network.toml'}, {out / 'import.txt'}")
    return 0
