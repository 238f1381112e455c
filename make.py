#!/usr/bin/env python3
"""Set iaxsim up and run it: ``python3 make.py report`` or ``python3 make.py test``.

Needs only python3. Creates ``.venv`` when missing, installs the package with its
test extras, installs the Debian tools the interop tests use (``tshark``,
``iaxmodem``) when running as root with apt-get, then runs the requested job.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
STAMP = VENV / ".iaxsim-installed"
DEBIAN_TOOLS = {"tshark": "tshark", "iaxmodem": "iaxmodem"}
# the dask extra too: the sweep tests run on a local Dask cluster
EXTRAS = "dev,dask"


def run(cmd: list[str], **kw) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def apt_install(packages: list[str]) -> None:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], env=env)
    run(["apt-get", "install", "-y", "-qq", *packages], env=env)


def ensure_venv() -> None:
    if PY.exists():
        return
    try:
        run([sys.executable, "-m", "venv", str(VENV)])
    except subprocess.CalledProcessError:
        shutil.rmtree(VENV, ignore_errors=True)
        if is_root() and shutil.which("apt-get"):
            ver = f"python3.{sys.version_info.minor}-venv"
            apt_install(["python3-venv", ver])
            run([sys.executable, "-m", "venv", str(VENV)])
        else:
            sys.exit("make.py: cannot create .venv; install the venv module "
                     "(on Debian/Ubuntu: sudo apt-get install python3-venv) and retry")


def ensure_installed(extras: str) -> None:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    run([str(PY), "-m", "pip", "install", "-q", "--upgrade", "pip"])
    run([str(PY), "-m", "pip", "install", "-q", "-e", f".[{extras}]"], cwd=ROOT)
    STAMP.write_text(digest)


def ensure_debian_tools() -> None:
    missing = [pkg for tool, pkg in DEBIAN_TOOLS.items() if shutil.which(tool) is None]
    if not missing:
        return
    if is_root() and shutil.which("apt-get"):
        apt_install(missing)
    else:
        print(f"make.py: {', '.join(missing)} not installed; the tests that use them "
              f"will be skipped (install with: sudo apt-get install {' '.join(missing)})")


def main(argv: list[str]) -> int:
    job = argv[0] if argv else "help"
    rest = argv[1:]
    if job == "test":
        ensure_venv()
        ensure_installed(EXTRAS)
        ensure_debian_tools()
        # pyproject.toml's pytest settings collect tests/ and notebooks/ (the latter under --nbval)
        return subprocess.call([str(PY), "-m", "pytest", *rest], cwd=ROOT)
    if job == "report":
        ensure_venv()
        ensure_installed(EXTRAS)
        return subprocess.call([str(VENV / "bin" / "iaxsim"), "report", *rest], cwd=ROOT)
    if job == "bench":
        ensure_venv()
        ensure_installed(EXTRAS)
        ensure_debian_tools()
        return subprocess.call([str(PY), "benchmarks/run_all.py", *rest], cwd=ROOT)
    print(__doc__)
    print("jobs: report | test [pytest args] | bench")
    return 0 if job in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
