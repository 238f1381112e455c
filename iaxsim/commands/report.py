"""``iaxsim report``: run the notebooks and write the HTML report."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "report", help="execute the study notebooks and write HTML reports",
        description="Execute every notebook in --notebooks and write one HTML page per notebook "
                    "plus index.html into --out, beside the files the notebooks write (their "
                    "kernels get IAXSIM_REPORT_DIR=--out). Exits non-zero naming the notebook and "
                    "cell if any cell fails.")
    p.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default: reports/)")
    p.add_argument("--notebooks", type=Path, default=Path("notebooks"),
                   help="folder of .ipynb files (default: notebooks/)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from iaxsim.report import build_report

    index = build_report(args.notebooks, args.out, progress=not args.no_progress)
    print(f"report written: {index}")
    return 0
