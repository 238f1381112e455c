"""Stored validation runs: what ``iaxsim validate --json`` measured on real servers, kept on disk.

A run against real servers takes real time (and, for Asterisk, the Asterisk build), so notebook 08
reads the reports that ``iaxsim validate SCENARIO --calls N --json`` wrote, one JSON file per
scenario and kind of real server (``data/validation/*.json``). Each file keeps every call, both
runs side by side (``per_call``). The simulated half of a stored run is deterministic:
:func:`stale_calls` re-simulates it and lists the calls the current simulator would give
differently, so a model change that leaves a stored run out of date is caught.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from iaxsim.errors import ConfigError

__all__ = ["load_stored", "class_table", "stale_calls", "STORED_COLUMNS"]

#: per-call columns of :func:`load_stored`, besides ``scenario``, ``real`` and the file's name
STORED_COLUMNS = ["index", "start", "origin", "dialled", "target", "class", "agree",
                  "loss_affected", "sim_outcome", "real_outcome", "sim_answered_by",
                  "real_answered_by", "sim_attempts", "real_attempts", "sim_post_dial_delay",
                  "real_post_dial_delay"]


def _read(path: Path) -> dict[str, Any]:
    try:
        report = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a stored validation report ({exc})") from exc
    if not isinstance(report, dict) or "per_call" not in report:
        raise ConfigError(f"{path}: no per_call list: write it with `iaxsim validate SCENARIO "
                          f"--json > {path.name}`")
    return report


def load_stored(paths: list[Path]) -> pd.DataFrame:
    """Every call of the stored reports ``paths``, one row each (:data:`STORED_COLUMNS`, plus
    ``scenario``, ``real`` — what replayed the calls, ``nodes`` or ``asterisk`` — and ``file``)."""
    frames = []
    for path in paths:
        report = _read(Path(path))
        real = str(report.get("replay", "nodes"))
        frame = pd.DataFrame([{k: call.get(k) for k in STORED_COLUMNS} for call in report["per_call"]],
                             columns=STORED_COLUMNS)
        frame.insert(0, "scenario", str(report.get("scenario", Path(path).stem)))
        frame.insert(1, "real", real)
        frame["file"] = Path(path).name
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["scenario", "real", *STORED_COLUMNS, "file"])
    out = pd.concat(frames, ignore_index=True)
    for col in ("sim_post_dial_delay", "real_post_dial_delay"):
        out[col] = out[col].astype(float)
    return out


def class_table(calls: pd.DataFrame) -> pd.DataFrame:
    """Per scenario, real server kind and call class: calls, mean post-dial delay of both runs
    (ms) and the share of calls that agree."""
    grouped = calls.groupby(["scenario", "real", "class"], sort=True)
    table = grouped.agg(calls=("index", "size"),
                        sim_pdd_ms=("sim_post_dial_delay", "mean"),
                        real_pdd_ms=("real_post_dial_delay", "mean"),
                        agree=("agree", "mean"))
    table["sim_pdd_ms"] *= 1000.0
    table["real_pdd_ms"] *= 1000.0
    return table.reset_index()


def stale_calls(path: Path, scenario_path: Path) -> list[str]:
    """Re-simulate the stored report ``path`` (scenario ``scenario_path``, the report's seed and
    call count) and describe each call whose simulated outcome, answering server, attempts or
    post-dial delay (to 0.1 ms) differs from the stored one; empty when the report is current."""
    from iaxsim.sim import load_scenario, simulate
    from iaxsim.validate.run import first_calls

    report = _read(Path(path))
    scenario = load_scenario(scenario_path)
    result = simulate(scenario, seed=int(report["seed"]))
    now = first_calls(result, int(report["calls"])).to_dict("records")
    problems = []
    if len(now) != len(report["per_call"]):
        problems.append(f"{len(report['per_call'])} calls stored, {len(now)} simulated")
    for stored, row in zip(report["per_call"], now):
        for name in ("outcome", "answered_by", "attempts", "post_dial_delay"):
            old, new = stored[f"sim_{name}"], row[name]
            if name == "post_dial_delay":
                new = None if new is None or math.isnan(float(new)) else float(new)
                same = (old is None) == (new is None) and (old is None or abs(old - new) < 1e-4)
            elif name == "attempts":
                same = int(old) == int(new)
            else:
                same = str(old or "") == str(new or "")
            if not same:
                problems.append(f"call {stored['index']} ({stored['origin']} dials "
                                f"{stored['dialled']}): {name} stored {old!r}, now {new!r}")
    return problems
