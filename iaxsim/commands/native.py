"""``iaxsim native build|clean|status``: the optional compiled hot path (:mod:`iaxsim.native`)."""
from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    """Add the ``native`` sub-command."""
    p = subparsers.add_parser(
        "native", help="compile the simulator's hot path with mypyc, remove it, or show it",
        description="Compile the simulator's busiest modules with mypyc (needs a C compiler, the "
                    "Python headers and the 'native' extra: pip install 'iaxsim[native]'). The "
                    "results are the same; only speed changes. IAXSIM_PURE=1 runs the source.")
    p.add_argument("action", choices=("build", "clean", "status"),
                   help="build: compile the modules whose source changed; clean: remove the "
                        "compiled files; status: say how each module runs")
    p.add_argument("--force", action="store_true", help="build even when the build is current")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="compile N C files at once (default: one)")
    p.set_defaults(func=run_native)


def run_native(args: argparse.Namespace) -> int:
    """``iaxsim native``: build, clean or show the compiled modules."""
    from iaxsim import native

    if args.action == "clean":
        for path in native.clean():
            print(f"removed {path.relative_to(native.PACKAGE_DIR.parent)}")
        return 0
    if args.action == "build":
        try:
            did = native.build(force=args.force, jobs=args.jobs)
        except RuntimeError as err:
            print(f"iaxsim: {err}", file=sys.stderr)
            return 1
        print("built" if did else "up to date")
    status = native.status()
    width = max(map(len, status), default=0)
    for module, how in status.items():
        print(f"{module:{width}s} {how}")
    return 0
