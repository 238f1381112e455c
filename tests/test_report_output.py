"""Where notebooks write their files: ``IAXSIM_REPORT_DIR`` when set, else a per-process temporary
folder that never lies inside the repository and is swept once its process is gone."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from iaxsim.errors import IaxsimError
from iaxsim.report import output as output_module
from iaxsim.report import output_dir
from iaxsim.report.output import SCRATCH_PREFIX, sweep_stale_scratch

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fresh_scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No ``IAXSIM_REPORT_DIR``, no scratch folder made yet, the system temp folder moved to tmp."""
    temp = tmp_path / "systemp"
    temp.mkdir()
    monkeypatch.delenv("IAXSIM_REPORT_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setattr(output_module, "_scratch", None)
    return temp


def test_named_folder_is_created_and_returned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out" / "deeper"
    monkeypatch.setenv("IAXSIM_REPORT_DIR", str(target))
    assert output_dir() == target
    assert target.is_dir()


def test_relative_folder_is_taken_from_the_current_directory(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IAXSIM_REPORT_DIR", "rel")
    assert output_dir().resolve() == (tmp_path / "rel").resolve()
    assert (tmp_path / "rel").is_dir()


def test_a_file_in_the_way_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder")
    monkeypatch.setenv("IAXSIM_REPORT_DIR", str(blocker))
    with pytest.raises(IaxsimError, match=r"IAXSIM_REPORT_DIR=.*taken.*cannot create"):
        output_dir()


@pytest.mark.parametrize("unset", ["absent", "empty"])
def test_unset_means_one_private_temporary_folder(fresh_scratch: Path, monkeypatch: pytest.MonkeyPatch,
                                                  unset: str) -> None:
    if unset == "empty":
        monkeypatch.setenv("IAXSIM_REPORT_DIR", "")
    first = output_dir()
    assert first.is_dir() and first.parent == fresh_scratch
    assert first.name.startswith(f"{SCRATCH_PREFIX}{os.getpid()}-")
    assert ROOT not in first.resolve().parents
    assert output_dir() == first  # the same folder for the whole process


def test_folder_of_a_killed_process_is_swept_by_the_next(fresh_scratch: Path) -> None:
    """nbval kills its kernels, so their exit handlers never run: the next process cleans up."""
    code = ("import os, signal\nfrom iaxsim.report import output_dir\n"
            "d = output_dir(); (d / 'left.pcap').write_bytes(b'x')\n"
            "print(d, flush=True)\nos.kill(os.getpid(), signal.SIGKILL)")
    env = {**os.environ, "TMPDIR": str(fresh_scratch)}
    env.pop("IAXSIM_REPORT_DIR", None)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == -9, proc.stderr
    left = Path(proc.stdout.strip())
    assert left.parent == fresh_scratch and (left / "left.pcap").is_file()  # exit handlers did not run
    mine = output_dir()
    assert not left.exists()
    assert mine.is_dir() and mine != left


def test_sweep_spares_live_processes_own_folder_and_other_names(tmp_path: Path) -> None:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = {"dead": f"{SCRATCH_PREFIX}{finished.pid}-a", "alive": f"{SCRATCH_PREFIX}{running.pid}-b",
                 "own": f"{SCRATCH_PREFIX}{os.getpid()}-c", "other": f"{SCRATCH_PREFIX}notes"}
        for name in names.values():
            (tmp_path / name).mkdir()
        removed = sweep_stale_scratch(tmp_path)
    finally:
        running.kill()
        running.wait()
    assert removed == [tmp_path / names["dead"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        names[k] for k in ("alive", "own", "other"))
