"""The stored reference runs: scenarios whose simulated calls are kept on disk.

``tests/test_golden_runs.py`` re-runs each and compares every call, column by column, with the
rows stored in ``tests/data/golden/``. The rows were written by this module
(``python tests/golden_runs.py``) from a run of the simulator *before* a refactoring; a change
that alters a result on purpose rewrites them and says why in CHANGELOG.md.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "data" / "golden"

#: name -> (scenario file, overrides, seed)
RUNS: dict[str, tuple[str, dict[str, object], int]] = {
    "seed_two_servers": ("seed_two_servers.toml", {"duration": 1800.0}, 1),
    "seed_two_servers_switch": ("seed_two_servers.toml", {"duration": 1200.0, "linking": "switch"}, 2),
    "seed_interleaved": ("seed_interleaved.toml", {"duration": 1200.0}, 3),
    "one_way_firewall": ("one_way_firewall.toml", {"duration": 900.0}, 1),
    "company_10": ("company_10.toml", {"duration": 600.0, "warmup": 60.0}, 4),
}


def run(name: str):
    """Simulate the stored run ``name`` with datagram capture on; returns the SimResult."""
    from iaxsim.sim import load_scenario, simulate

    path, overrides, seed = RUNS[name]
    scenario = load_scenario(ROOT / "data" / "scenarios" / path).with_values({**overrides, "capture": True})
    return simulate(scenario, seed=seed)


def datagram_digest(result) -> str:
    """SHA-256 over every captured datagram: its time, both addresses and its bytes, in order."""
    h = hashlib.sha256()
    for *where, data in result.datagrams:
        h.update(repr(tuple(where)).encode())
        h.update(bytes(data))
    return h.hexdigest()


def main() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name in RUNS:
        result = run(name)
        result.calls.to_parquet(GOLDEN / f"{name}.parquet", index=False)
        (GOLDEN / f"{name}.datagrams").write_text(f"{len(result.datagrams)} {datagram_digest(result)}\n")
        print(name, len(result.calls), "calls", len(result.datagrams), "datagrams")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
