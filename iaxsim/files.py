"""Writing a folder of results so that a failure never leaves it half-written."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def replace_folder(tmp: Path, target: Path) -> None:
    """Put the finished folder ``tmp`` in place of ``target`` (created or replaced) by renames
    in ``target``'s parent, so ``target`` is at every moment either the old or the new folder.

    ``tmp`` must lie in the same parent (``tempfile.mkdtemp(dir=target.parent)``).
    """
    if not target.exists():
        os.replace(tmp, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.resolve().parent))
    os.replace(target, old / "x")
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)
