"""Where the study notebooks write the files they produce (captures, exports).

``iaxsim report --out DIR`` starts every notebook's kernel with ``IAXSIM_REPORT_DIR=DIR`` so a
notebook's files land beside its HTML page; a notebook asks :func:`output_dir` instead of
naming a folder of its own, so nothing it writes ends up in the working tree by accident.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from iaxsim.errors import IaxsimError

__all__ = ["OUTPUT_ENV", "SCRATCH_PREFIX", "output_dir", "sweep_stale_scratch"]

#: The environment variable naming the folder notebooks write into.
OUTPUT_ENV = "IAXSIM_REPORT_DIR"

#: Temporary output folders are named ``iaxsim-report-<pid>-<random>`` after their process.
SCRATCH_PREFIX = "iaxsim-report-"

_scratch: Path | None = None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def sweep_stale_scratch(parent: Path | None = None) -> list[Path]:
    """Delete the temporary output folders in ``parent`` (default: the system's temporary folder)
    whose process has ended; return them.

    A kernel that is killed rather than shut down (nbval stops its kernels that way) never runs
    its exit handlers, so its folder is left behind until the next kernel sweeps it.
    """
    if os.name != "posix":  # process ids and owners are checked the POSIX way
        return []
    parent = Path(parent or tempfile.gettempdir())
    removed = []
    for folder in parent.glob(f"{SCRATCH_PREFIX}*"):
        pid = folder.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            mine = folder.is_dir() and not folder.is_symlink() and folder.stat().st_uid == os.getuid()
        except OSError:  # swept meanwhile by another process
            continue
        if mine and not _pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _scratch_dir() -> Path:
    """This process's temporary output folder, made on first use and removed when it exits."""
    global _scratch
    if _scratch is None or not _scratch.is_dir():
        sweep_stale_scratch()
        _scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
        atexit.register(shutil.rmtree, _scratch, ignore_errors=True)
    return _scratch


def output_dir() -> Path:
    """The folder a notebook writes its files into; it exists on return.

    * ``IAXSIM_REPORT_DIR`` set (``iaxsim report --out DIR`` sets it to ``DIR`` for the kernels it
      starts): that folder, created if missing. A relative value is taken from the current
      directory, which in a notebook is the notebook's folder.
    * unset or empty (a notebook run by hand, or by the test suite under nbval): a temporary folder
      private to this Python process — the same one on every call — that is deleted when the
      process (the notebook's kernel) exits, or, if it was killed, by the next process that asks
      for one. Nothing is written into the working tree. To keep the files of a run by hand,
      set ``IAXSIM_REPORT_DIR`` before starting the kernel.

    Raises :class:`~iaxsim.errors.IaxsimError` naming the variable when its folder cannot be made.
    """
    named = os.environ.get(OUTPUT_ENV, "")
    if not named:
        return _scratch_dir()
    path = Path(named).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise IaxsimError(f"{OUTPUT_ENV}={named}: cannot create the report folder: {err}") from None
    return path
