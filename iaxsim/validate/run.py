"""Simulate, replay on real nodes, compare: :func:`validate`."""
from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

import pandas as pd

from iaxsim.errors import ConfigError
from iaxsim.iax2.constants import DEFAULT_PORT as IAX2_PORT
from iaxsim.iax2.pcap import read_pcap
from iaxsim.sim import Scenario, SimResult, simulate
from iaxsim.validate.asterisk_proc import check_build
from iaxsim.validate.asterisk_replay import replay_asterisk, unsupported_asterisk
from iaxsim.validate.compare import CallResult, Report, compare
from iaxsim.validate.recovery import RecoveryIndex
from iaxsim.validate.replay import CALL_TIMEOUT, ReplayCall, replay


def _sim_recoveries(res: SimResult) -> RecoveryIndex:
    """The simulated run's recovery datagrams, read back from its pcap (the documented output)."""
    with tempfile.TemporaryDirectory(prefix="iaxsim-validate-") as tmp:
        path = Path(tmp) / "sim.pcap"
        res.write_pcap(path)
        return RecoveryIndex((d.time, d.src, d.dst, d.data) for d in read_pcap(path))


def first_calls(result: SimResult, calls: int) -> pd.DataFrame:
    """The first ``calls`` calls of a simulated run's measured period, in start order: the call
    list a validation replays."""
    return result.calls.sort_values("start", kind="stable").head(calls)


def one_way_pairs(scenario: Scenario) -> set[tuple[str, str]]:
    """(origin, target) pairs whose datagrams a firewall rule of the scenario drops in one
    direction (``src`` → ``dst`` or its reverse), by server id; ``*`` stands for every server."""
    ids = [s.id for s in scenario.servers]
    pairs: set[tuple[str, str]] = set()
    for rule in scenario.network.firewall:
        srcs = ids if rule.src in ("*", "") else [rule.src]
        dsts = ids if rule.dst in ("*", "") else [rule.dst]
        for a in srcs:
            for b in dsts:
                if a != b:
                    pairs |= {(a, b), (b, a)}
    return pairs


def validate(scenario: Scenario, calls: int = 30, seed: int | None = None,
             model: Scenario | None = None, asterisk: Path | None = None) -> Report:
    """Run ``scenario`` in the simulator and its first ``calls`` measured calls on real nodes
    through the WAN emulator, and compare them call by call.

    ``model`` (default: ``scenario``) is what the simulator runs: give a deliberately changed
    copy to check that the comparison catches a wrong model; the nodes always run ``scenario``.
    ``asterisk``: the directory of an Asterisk build (holding ``sbin/asterisk``); the calls are
    then replayed on Asterisk servers instead of nodes (:mod:`iaxsim.validate.asterisk_replay`).
    """
    if calls < 1:
        raise ConfigError(f"--calls must be at least 1, got {calls}")
    if asterisk is not None:  # bad input is refused before the simulation runs
        check_build(asterisk)
        problems = unsupported_asterisk(scenario)
        if problems:
            raise ConfigError("cannot replay on Asterisk: " + "; ".join(problems))
    seed = scenario.seed if seed is None else int(seed)
    wall = time.perf_counter()
    sim_scenario = model if model is not None else scenario
    if not sim_scenario.capture:  # the datagrams tell which calls needed loss recovery
        sim_scenario = sim_scenario.with_values({"capture": True})
    res = simulate(sim_scenario, seed=seed)
    recoveries = _sim_recoveries(res)
    own = {s.id: {(s.internal, IAX2_PORT), (s.external, IAX2_PORT)} for s in sim_scenario.servers}
    df = first_calls(res, calls)
    if df.empty:
        raise ConfigError(f"scenario {scenario.name!r}: the simulation has no measured calls")
    rows = []
    replay_calls = []
    sim_results = []
    for index, r in enumerate(df.to_dict("records")):
        start, origin, outcome = float(r["start"]), str(r["origin"]), str(r["outcome"])
        rows.append((index, start, origin, str(r["dialled"]), str(r["target"])))
        holding = float(r["duration"]) if outcome in ("answered", "misrouted") else 0.0
        pdd = float(r["post_dial_delay"])
        wait = max(CALL_TIMEOUT, 1.5 * pdd + 5.0) if not math.isnan(pdd) else CALL_TIMEOUT
        replay_calls.append(ReplayCall(start - sim_scenario.warmup, origin, str(r["dialled"]),
                                       str(r["target"]), 0.0 if math.isnan(holding) else holding,
                                       wait))
        until = start + (pdd if not math.isnan(pdd) else CALL_TIMEOUT)
        sim_results.append(CallResult(outcome, str(r["answered_by"] or ""), int(r["attempts"]),
                                      pdd, recovered=recoveries.any_between(own[origin],
                                                                            start, until)))
    if asterisk is not None:
        node_results, node_lost = replay_asterisk(scenario, replay_calls, asterisk, seed)
    else:
        node_results, node_lost = replay(scenario, replay_calls, seed)
    sim_lost = int(res.link_totals["lost"].sum()) if len(res.link_totals) else 0
    report = compare(rows, sim_results, node_results, one_way_pairs=one_way_pairs(scenario),
                     scenario=scenario.name, seed=seed)
    report.replay = "asterisk" if asterisk is not None else "nodes"
    report.lost = {"sim": sim_lost, "node": node_lost}
    report.wall = time.perf_counter() - wall
    return report
