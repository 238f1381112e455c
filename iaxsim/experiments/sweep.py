"""Sweeps: a grid over scenario fields × replications, run in parallel, cached, resumable.

``run_sweep`` expands the grid (dotted scenario paths such as ``traffic.erlangs`` or
``servers.*.channels``), skips every run already in the cache, submits the rest to an
executor — a local process pool by default, or anything with ``submit`` in the
``concurrent.futures`` style, e.g. a Dask ``distributed.Client`` — stores each run as it
finishes, and returns one tidy DataFrame (one row per run: grid values, replication,
seed, run metrics). An interrupted sweep resumes where it stopped.
"""
from __future__ import annotations

import concurrent.futures as cf
import itertools
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import pandas as pd

from iaxsim.errors import ConfigError, IaxsimError
from iaxsim.experiments.cache import RunCache
from iaxsim.sim.scenario import Scenario, load_scenario, scenario_from_dict

#: ``runner(scenario_dict, seed)``: the scenario as its TOML tables, one seed, one result frame.
Runner = Callable[[dict[str, Any], int], pd.DataFrame]


def run_metrics(scenario_dict: dict[str, Any], seed: int) -> pd.DataFrame:
    """Default runner: simulate one scenario with one seed and return its one-row metrics."""
    from iaxsim.sim import simulate

    scenario = scenario_from_dict(scenario_dict, base_dir=scenario_dict.get("base_dir"))
    return pd.DataFrame([simulate(scenario, seed=seed).metrics()])


@dataclass
class SweepStats:
    """What a sweep did: runs taken from the cache and runs computed now."""

    cached: int = 0
    computed: int = 0
    keys: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Run:
    values: tuple[tuple[str, Any], ...]
    replication: int
    seed: int
    scenario: Scenario

    @property
    def key(self) -> str:
        return self.scenario.key(self.seed)


def expand_grid(grid: Mapping[str, Iterable[Any]]) -> list[dict[str, Any]]:
    """Cartesian product of the grid, in the order given (last field varies fastest)."""
    names = list(grid)
    for name in names:
        if isinstance(grid[name], (str, bytes)) or not isinstance(grid[name], Iterable):
            raise ConfigError(f"grid field {name!r} needs a list of values, got {grid[name]!r}")
    return [dict(zip(names, combo)) for combo in itertools.product(*(list(grid[n]) for n in names))]


def plan_runs(scenario: Scenario, grid: Mapping[str, Iterable[Any]], replications: int,
              seed: int = 0) -> list[_Run]:
    """Every run of the sweep: grid points × replications (seeds ``seed + r``, shared across points)."""
    if replications < 1:
        raise ConfigError(f"replications must be ≥ 1, got {replications}")
    runs = []
    for values in expand_grid(grid):
        sc = scenario.with_values(values)
        for r in range(replications):
            runs.append(_Run(tuple(values.items()), r, seed + r, sc))
    return runs


def _label(run: _Run, frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    front = {name: value for name, value in run.values}
    front.update(replication=run.replication, seed=run.seed, key=run.key)
    for i, (name, value) in enumerate(front.items()):
        if name in frame.columns:
            frame = frame.drop(columns=name)
        frame.insert(i, name, [value] * len(frame))
    return frame


def _as_completed(executor: Any, futures: list[Any]) -> Iterable[Any]:
    module = type(executor).__module__.split(".")[0]
    if module == "distributed":
        from distributed import as_completed  # optional extra, imported only when given a Client

        return as_completed(futures)
    return cf.as_completed(futures)


def run_sweep(scenario: Scenario, grid: Mapping[str, Iterable[Any]], *, replications: int = 1,
              seed: int = 0, cache_dir: str | Path, runner: Runner = run_metrics,
              executor: Any = None, workers: int | None = None, progress: bool = True,
              stats: SweepStats | None = None) -> pd.DataFrame:
    """Run (or resume) a sweep; returns one row per run in plan order.

    ``executor``: any object with ``submit(fn, *args)`` returning futures (a
    ``concurrent.futures`` executor or a Dask ``distributed.Client``). Without one, runs go
    to a local process pool of ``workers`` processes (default: CPU count); ``workers=1``
    runs in this process.
    """
    runs = plan_runs(scenario, grid, replications, seed)
    cache = RunCache(cache_dir)
    stats = stats if stats is not None else SweepStats()
    done = cache.keys()
    todo = [r for r in runs if r.key not in done]
    stats.cached += len(runs) - len(todo)
    stats.keys = [r.key for r in runs]
    bar = _progress(len(runs), len(runs) - len(todo), progress)
    try:
        if todo:
            own = None
            if executor is None and (workers or os.cpu_count() or 1) > 1:
                own = executor = cf.ProcessPoolExecutor(max_workers=workers or os.cpu_count())
            try:
                if executor is None:
                    for run in todo:
                        cache.put(run.key, _check(runner(run.scenario.to_dict(), run.seed), run))
                        stats.computed += 1
                        bar.update(1)
                else:
                    pending = {}
                    for run in todo:
                        pending[executor.submit(runner, run.scenario.to_dict(), run.seed)] = run
                    for fut in _as_completed(executor, list(pending)):
                        run = pending[fut]
                        cache.put(run.key, _check(fut.result(), run))
                        stats.computed += 1
                        bar.update(1)
            finally:
                if own is not None:
                    own.shutdown(cancel_futures=True)
    finally:
        bar.close()
    return pd.concat([_label(r, cache.get(r.key)) for r in runs], ignore_index=True)


def _check(frame: Any, run: _Run) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise IaxsimError(f"sweep runner returned {type(frame).__name__} for seed {run.seed}, not a DataFrame")
    return frame


class _Bar(Protocol):
    def update(self, n: int) -> object: ...

    def close(self) -> None: ...


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, initial: int, enabled: bool) -> _Bar:
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="run", desc="sweep")


# --------------------------------------------------------------------------- sweep files


def default_cache_dir() -> Path:
    """Where sweeps cache runs unless told otherwise: ``$XDG_CACHE_HOME/iaxsim/sweeps``
    (``~/.cache/iaxsim/sweeps``)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "iaxsim" / "sweeps"


@dataclass(frozen=True)
class SweepSpec:
    """A sweep file: the scenario, the grid, replications, base seed and cache folder."""

    scenario: Scenario
    grid: Mapping[str, list[Any]]
    replications: int = 1
    seed: int = 0
    cache: Path = Path("sweeps")
    out: Path | None = None


def load_sweep(path: str | Path) -> SweepSpec:
    """Read a sweep TOML file (``scenario``, ``replications``, ``seed``, ``cache``, ``out``, ``[grid]``)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read sweep: {err.strerror}", str(path)) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"not valid TOML: {err}", str(path)) from None
    known = {"scenario", "grid", "replications", "seed", "cache", "out"}
    for k in data:
        if k not in known:
            raise ConfigError(f"unknown field {k!r} (known: {', '.join(sorted(known))})", str(path))
    if not isinstance(data.get("scenario"), str):
        raise ConfigError("scenario: needs the path of a scenario TOML file", str(path))
    grid = data.get("grid", {})
    if not isinstance(grid, Mapping) or not all(isinstance(v, list) and v for v in grid.values()):
        raise ConfigError("[grid]: each field needs a non-empty list of values", str(path))
    reps = data.get("replications", 1)
    seed = data.get("seed", 0)
    for name, v in (("replications", reps), ("seed", seed)):
        if isinstance(v, bool) or not isinstance(v, int) or v < (1 if name == "replications" else 0):
            raise ConfigError(f"{name}: must be an integer ≥ {1 if name == 'replications' else 0}, got {v!r}",
                              str(path))
    base = path.parent
    scenario = load_scenario(base / data["scenario"])
    try:
        for point in expand_grid(grid)[:1]:
            scenario.with_values(point)
    except ConfigError as err:
        raise ConfigError(f"[grid] {err}", str(path)) from None
    cache = base / data["cache"] if "cache" in data else default_cache_dir() / path.stem
    out = base / data["out"] if "out" in data else None
    return SweepSpec(scenario, dict(grid), reps, seed, cache, out)
