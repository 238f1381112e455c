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
# the dask extra too: the sweep tests run on a local Dask cluster; native: mypyc for the hot path
EXTRAS = "dev,dask,native"
# set to 1 (CI does) to fail when the compiled hot path cannot be built, instead of running
# the pure-Python source
REQUIRE_NATIVE_ENV = "IAXSIM_REQUIRE_NATIVE"


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


def ensure_native() -> None:
    """Compile the simulator's hot path (``iaxsim native build``) when its sources changed. Without
    a C compiler, or when the build fails, the pure-Python source runs (same results, slower),
    unless IAXSIM_REQUIRE_NATIVE=1."""
    if os.environ.get("IAXSIM_PURE", "") not in ("", "0"):
        return
    required = os.environ.get(REQUIRE_NATIVE_ENV, "") not in ("", "0")
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        msg = "make.py: no C compiler; the simulator runs its pure-Python source (install gcc)"
        if required:
            sys.exit(msg)
        print(msg)
        return
    print("+ iaxsim native build", flush=True)
    code = subprocess.call([str(VENV / "bin" / "iaxsim"), "native", "build", "--jobs", "2"], cwd=ROOT)
    if code != 0:
        if required:
            sys.exit("make.py: the compiled hot path did not build (see above)")
        print("make.py: the simulator runs its pure-Python source (same results, slower)")


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
        ensure_native()
        ensure_debian_tools()
        # pyproject.toml's pytest settings collect tests/ and notebooks/ (the latter under --nbval)
        return subprocess.call([str(PY), "-m", "pytest", *rest], cwd=ROOT)
    if job == "report":
        ensure_venv()
        ensure_installed(EXTRAS)
        ensure_native()
        return subprocess.call([str(VENV / "bin" / "iaxsim"), "report", *rest], cwd=ROOT)
    if job == "bench":
        ensure_venv()
        ensure_installed(EXTRAS)
        ensure_native()
        ensure_debian_tools()
        return subprocess.call([str(PY), "benchmarks/run_all.py", *rest], cwd=ROOT)
    print(__doc__)
    print("jobs: report | test [pytest args] | bench")
    return 0 if job in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
