"""replace_folder: a finished folder takes the place of the target, old content gone, never half."""
from __future__ import annotations

import tempfile
from pathlib import Path

from iaxsim.files import replace_folder


def _finished(parent: Path, name: str, text: str) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=".t.", dir=parent))
    (tmp / name).write_text(text)
    return tmp


def test_creates_the_target(tmp_path):
    target = tmp_path / "out"
    replace_folder(_finished(tmp_path, "a.txt", "new"), target)
    assert (target / "a.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_replaces_an_existing_target_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    replace_folder(_finished(tmp_path, "a.txt", "new"), target)
    assert sorted(p.name for p in target.iterdir()) == ["a.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
