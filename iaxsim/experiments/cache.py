"""On-disk cache of finished runs: one Parquet file per (scenario, seed) key.

Files are written to a temporary name and renamed into place, so a run killed half-way
(even by SIGKILL) leaves either a complete file or none — never a torn one.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from iaxsim.errors import IaxsimError


class CacheError(IaxsimError):
    """A cache file exists but cannot be read."""


class RunCache:
    """A folder of ``<key>.parquet`` files."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """Where the run with this key is (or would be) stored."""
        return self.folder / f"{key}.parquet"

    def __contains__(self, key: str) -> bool:
        return self.path(key).exists()

    def keys(self) -> set[str]:
        """Keys of every finished run in the cache."""
        return {p.stem for p in self.folder.glob("*.parquet")}

    def get(self, key: str) -> pd.DataFrame:
        """Read one finished run."""
        try:
            return pd.read_parquet(self.path(key))
        except Exception as err:  # pyarrow raises several unrelated types
            raise CacheError(f"{self.path(key)}: unreadable cache file ({err}); delete it to recompute") from err

    def put(self, key: str, frame: pd.DataFrame) -> Path:
        """Store one finished run atomically."""
        target = self.path(key)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{key}.", suffix=".tmp")
        os.close(fd)
        try:
            frame.to_parquet(tmp, index=False)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return target
