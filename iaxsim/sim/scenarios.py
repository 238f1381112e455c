"""Named scenarios for validation and examples (also written as TOML in data/scenarios/)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from iaxsim.errors import ConfigError
from iaxsim.sim.distributions import Distribution
from iaxsim.sim.scenario import Scenario, scenario_from_dict


#: The seed example's external.conf/link.conf files (bundled data).
SEED_DIR = Path(__file__).resolve().parents[2] / "data" / "seed"


def erlang_b(erlangs: float, channels: int, hours: float = 1.0, holding: Any = None,
             mean_holding: float = 180.0, warmup: float | None = None, seed: int = 0) -> Scenario:
    """One server, Poisson arrivals, ``channels`` channels, blocked calls cleared.

    Offered load ``erlangs``; holding times exponential with ``mean_holding`` seconds unless
    ``holding`` gives another distribution (a :class:`Distribution` or its TOML table).
    Calls are local and extensions never busy, so blocking is channel congestion only —
    what Erlang B predicts. Warm-up defaults to five mean holding times.
    """
    hold = Distribution.parse(holding) if holding is not None else Distribution.exponential(mean_holding)
    return scenario_from_dict({
        "name": f"erlang_b_{erlangs:g}E_{channels}ch",
        "duration": hours * 3600.0,
        "warmup": 5 * hold.mean if warmup is None else warmup,
        "seed": seed,
        "servers": [{"id": "A", "extensions": ["1000-1999"], "channels": channels, "qualify": False}],
        "traffic": {"erlangs": float(erlangs), "holding": hold.to_dict(), "local": 1.0,
                    "extension_busy": False},
    })


def seed_two_servers(calls_per_hour: float = 600.0, hours: float = 1.0, remote: float = 0.5,
                     seed: int = 0, **overrides: Any) -> Scenario:
    """The seed's A/B example, on its own dialplan files (``data/seed``): A owns 7000–7999,
    B owns 6000–6999, link.conf dials the other server's internal address, then its external one. Sites differ, so only the external
    address is reachable from the other server (the internal one costs a fallback).

    ``overrides`` are dotted scenario paths, e.g. ``{"servers.A.qualify": False}`` written as
    ``seed_two_servers(**{"servers.A.qualify": False})``.
    """
    if not (SEED_DIR / "serverA" / "external.conf").exists():
        raise ConfigError(f"the seed example's dialplans are missing from {SEED_DIR}", str(SEED_DIR))
    sc = scenario_from_dict({
        "name": "seed_two_servers",
        "duration": hours * 3600.0,
        "warmup": 120.0,
        "seed": seed,
        "servers": [{"id": "A", "extensions": ["7000-7999"], "channels": 60,
                     "external_conf": "serverA/external.conf", "link_conf": "serverA/link.conf"},
                    {"id": "B", "extensions": ["6000-6999"], "channels": 60,
                     "external_conf": "serverB/external.conf", "link_conf": "serverB/link.conf"}],
        "traffic": {"calls_per_hour": calls_per_hour, "local": 1.0 - remote, "remote": remote,
                    "holding": {"dist": "exponential", "mean": 180.0}},
    }, base_dir=str(SEED_DIR))
    return sc.with_values(overrides) if overrides else sc
