"""The study of one network: lint, renumbering, link.conf modes, busy hour simulated, capacity.

:func:`load_network` reads a plan CSV, a scenario TOML or an imported ``NETDIR``;
:func:`run_study` analyses the plan and simulates the busy hour on it (several seeds, 95 %
Student-t intervals), and :func:`recommend` turns the numbers into advice in plain words.
Every simulation is a scenario built from the plan (:func:`busy_hour_scenario`) and run by
:func:`iaxsim.sim.simulate`; runs may be cached on disk so that the study notebook reuses the
command's runs instead of repeating them.
"""
from __future__ import annotations

import hashlib
import json
import math
import tomllib
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import pandas as pd

from iaxsim import theory
from iaxsim.dialplan import Dialplan
from iaxsim.errors import ConfigError, PlanWarning
from iaxsim.numbering import NumberingPlan, PlanAnalysis, RenumberResult, analyze, renumber
from iaxsim.sim.remote import is_remote
from iaxsim.study.capacity import (link_capacity, remote_shares, server_loads, traffic_matrix,
                                   traffic_matrix_per_extension)

__all__ = ["StudyOptions", "Network", "Study", "load_network", "busy_hour_scenario", "run_metrics",
           "run_study", "recommend", "one_way_failures", "both_way_failures", "unrouted_pairs",
           "blocked_servers",
           "METRICS", "REMOTE",
           "DEPLOYED", "DEPLOYED_CONDITION",
           "remote_headline", "default_network", "summary_markdown",
           "options_dict", "options_from_dict", "save_study", "load_study"]

#: The remote calls' headline metrics (:func:`iaxsim.sim.remote.remote_metrics`, prefixed
#: ``remote_``): calls, mean and 95th-percentile post-dial delay of those that rang, dial and
#: wrong-server attempts per call, digit-timeout waits, failures by what the caller hears.
REMOTE: tuple[str, ...] = ("remote_calls", "remote_pdd_mean", "remote_pdd_p95", "remote_attempts",
                           "remote_wrong_server", "remote_digit_waits", "remote_p_busy",
                           "remote_p_congestion", "remote_p_unobtainable", "remote_p_misrouted")

#: ``link_mode`` of a run on the dialplan files the servers run now.
DEPLOYED = "deployed"
#: The condition of those runs (the network as it is, when its files are known).
DEPLOYED_CONDITION = "current, deployed link.conf"

#: Per-run metrics (:func:`run_metrics`): shares in [0, 1], times in s.
METRICS: tuple[str, ...] = REMOTE + ("calls", "p_answered", "p_busy", "p_misrouted", "p_rejected",
                                     "p_failed", "p_congestion", "p_waited", "pdd", "pdd_remote",
                                     "attempts")


@dataclass(frozen=True)
class StudyOptions:
    """What the study assumes about the busy hour (all per server) and how much it simulates."""

    calls_per_hour: float | None = None   # busy-hour call attempts per server
    erlangs: float | None = None          # or offered Erlangs per server (then attempts = E × 3600 / holding)
    #: or offered Erlangs per extension: each server offers E × its extensions, and its remote
    #: calls go to the other servers in proportion to their extensions
    erlangs_per_extension: float | None = None
    remote: float = 0.5                   # share of calls to the other servers (spread evenly)
    latency: float = 0.020                # one-way latency between sites, s
    holding: float = 180.0                # mean holding time (exponential), s
    seeds: int = 3                        # replications (seeds seed, seed + 1, …)
    seed: int = 1
    duration: float = 3600.0              # measured period, s (at most; see max_calls)
    max_calls: int = 3000                 # call attempts measured per run, all servers together
    switch_calls: int = 600               # the same for a switch => run (each call asks its peers in turn)
    warmup: float = 120.0                 # simulated before measuring (qualify learns addresses), s
    dialling: str = "digits"              # phones dial digit by digit
    gos: float = 0.01                     # target blocking for capacity (Erlang B)
    codecs: tuple[str, ...] = ("ulaw", "g729")

    def __post_init__(self) -> None:
        given = [self.calls_per_hour, self.erlangs, self.erlangs_per_extension]
        if sum(v is not None for v in given) > 1:
            raise ConfigError("give busy-hour calls or Erlangs per server, or Erlangs per "
                              "extension: one of them")
        checks = [
            (self.calls_per_hour is None or self.calls_per_hour > 0, "calls per hour must be > 0"),
            (self.erlangs is None or self.erlangs > 0, "Erlangs must be > 0"),
            (self.erlangs_per_extension is None or 0 < self.erlangs_per_extension <= 1,
             f"Erlangs per extension must lie in (0, 1] (one extension holds one call at most), "
             f"got {self.erlangs_per_extension}"),
            (0 <= self.remote <= 1, f"remote share must lie in [0, 1], got {self.remote}"),
            (self.latency >= 0, f"latency must be ≥ 0 s, got {self.latency}"),
            (self.holding > 0, f"holding time must be > 0 s, got {self.holding}"),
            (self.seeds >= 2, f"seeds must be ≥ 2 (an interval needs two runs), got {self.seeds}"),
            (self.seed >= 0, f"seed must be ≥ 0, got {self.seed}"),
            (self.duration > 0, f"duration must be > 0 s, got {self.duration}"),
            (self.max_calls >= 100, f"max calls per run must be ≥ 100, got {self.max_calls}"),
            (self.switch_calls >= 100, f"switch calls per run must be ≥ 100, got {self.switch_calls}"),
            (self.warmup >= 0, f"warm-up must be ≥ 0 s, got {self.warmup}"),
            (self.dialling in ("digits", "enbloc"), f"dialling must be digits or enbloc, got {self.dialling!r}"),
            (0 < self.gos < 1, f"grade of service must lie strictly between 0 and 1, got {self.gos}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        for name in self.codecs:
            theory.codec(name)

    @property
    def per_extension(self) -> bool:
        """Whether each server's traffic follows its extensions (``erlangs_per_extension``)."""
        return self.erlangs_per_extension is not None

    @property
    def attempts_per_hour(self) -> float:
        """Busy-hour call attempts per server (default 600); with ``erlangs_per_extension`` they
        depend on the plan: :meth:`attempts_by_server`."""
        if self.erlangs_per_extension is not None:
            raise ConfigError("with Erlangs per extension every server offers its own attempts: "
                              "use attempts_by_server(extensions per server)")
        if self.erlangs is not None:
            return self.erlangs * 3600.0 / self.holding
        return 600.0 if self.calls_per_hour is None else float(self.calls_per_hour)

    def attempts_by_server(self, sizes: Mapping[str, int]) -> dict[str, float]:
        """Busy-hour call attempts of each server, given its number of extensions."""
        if self.erlangs_per_extension is not None:
            per_extension = self.erlangs_per_extension * 3600.0 / self.holding
            return {server: per_extension * n for server, n in sizes.items()}
        return {server: self.attempts_per_hour for server in sizes}

    def measured_seconds(self, servers: int | Mapping[str, int], linking: str = "linked") -> float:
        """The busy-hour stretch each run measures on a network of ``servers`` (how many, or the
        extensions of each): :meth:`seconds_at` their attempts per hour in all."""
        if not isinstance(servers, int) and not self.per_extension:
            servers = len(servers)  # every server alike: attempts × servers, as one product
        if isinstance(servers, int):
            return self.seconds_at(self.attempts_per_hour * max(servers, 1), linking)
        return self.seconds_at(sum(self.attempts_by_server(servers).values()), linking)

    def seconds_at(self, attempts_per_hour: float, linking: str = "linked") -> float:
        """The busy-hour stretch a run offered ``attempts_per_hour`` measures: ``duration``, or
        less when that would offer more than ``max_calls`` attempts (``switch_calls`` for a
        ``switch =>`` run). The rate stays the busy hour's, so load-dependent delays are the
        same; only the number of calls averaged shrinks, and the intervals show it."""
        if attempts_per_hour <= 0:
            return float(self.duration)
        rate = attempts_per_hour / 3600.0
        budget = self.switch_calls if linking == "switch" else self.max_calls
        return min(float(self.duration), budget / rate)


@dataclass
class Network:
    """The planner's network: its numbering plan, where it came from, what is known of qualify,
    and (from a scenario) the IP network between the servers."""

    plan: NumberingPlan
    source: str
    qualify_off: tuple[str, ...] = ()
    #: a scenario's ``[network]`` table as written (latency, per-link overrides, jitter, loss,
    #: firewall rules, reach of internal addresses, conntrack timeout): every run uses it
    ip_network: dict[str, Any] = field(default_factory=dict)
    #: a scenario's per-server ``nat`` and ``site`` settings, by server
    server_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the dialplan files each server runs now (``external_conf``, ``link_conf``: absolute
    #: paths), from a scenario or an imported network
    deployed: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def has_deployed_link_confs(self) -> bool:
        """Whether every server's deployed ``link.conf`` is known (the study then simulates it)."""
        return all("link_conf" in self.deployed.get(s, {}) for s in self.plan.servers)

    @property
    def firewall(self) -> list[dict[str, Any]]:
        """The scenario's firewall rules (``[[network.firewall]]`` tables), in order."""
        rules = self.ip_network.get("firewall", [])
        return list(rules) if isinstance(rules, list) else []


def _plan_from_scenario(path: Path) -> Network:
    from iaxsim.sim import load_scenario

    scenario = load_scenario(path)
    base = Path(scenario.base_dir)
    mapping: dict[str, list[str]] = {s.id: [] for s in scenario.servers}
    nb = scenario.numbering
    if nb is not None and nb.plan:
        csv_plan = NumberingPlan.from_csv(base / nb.plan, servers=list(mapping))
        for sid in csv_plan.servers:
            mapping[sid] = list(csv_plan.of(sid))
    for s in scenario.servers:
        if s.extensions:
            mapping[s.id] = s.numbers()
    if not any(mapping.values()):
        raise ConfigError("the scenario gives no server an extension (a synthetic plan is not a "
                          "network to study)", str(path))
    for s in scenario.servers:  # the configs in use must parse: the first bad line is an error
        for conf, context in ((s.external_conf, "external"), (s.link_conf, "link")):
            if conf:
                Dialplan.from_string(_read(base / conf), str(base / conf), strict=True,
                                     default_context=context)
    plan = NumberingPlan.from_dict({k: v for k, v in mapping.items() if v})
    off = tuple(s.id for s in scenario.servers if not s.qualify)
    raw = tomllib.loads(_read(path))  # valid: load_scenario checked it
    settings = {str(srv["id"]): {k: srv[k] for k in ("nat", "site") if k in srv}
                for srv in raw.get("servers", []) if isinstance(srv, dict) and "id" in srv}
    deployed = {s.id: {key: str((base / conf).resolve()) for key, conf in
                       (("external_conf", s.external_conf), ("link_conf", s.link_conf)) if conf}
                for s in scenario.servers if s.id in plan.servers}
    return Network(plan, str(path), off, dict(raw.get("network", {})),
                   {sid: v for sid, v in settings.items() if v and sid in plan.servers},
                   {sid: confs for sid, confs in deployed.items() if confs})


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(err.strerror or "cannot be read", str(path)) from None


def load_network(path: str | Path) -> Network:
    """Read a plan CSV, a scenario TOML or an imported NETDIR (``plan.csv`` + ``network.toml``)."""
    p = Path(path)
    if p.is_dir():
        if not (p / "plan.csv").exists():
            raise ConfigError("not an imported network: no plan.csv (run `iaxsim import` first)", str(p))
        net = Network(NumberingPlan.from_csv(p / "plan.csv"), str(p))
        if (p / "network.toml").exists():
            described = _plan_from_scenario(p / "network.toml")
            net.qualify_off = described.qualify_off
            net.ip_network, net.server_settings = described.ip_network, described.server_settings
            net.deployed = described.deployed
    elif not p.exists():
        raise ConfigError("no such file or directory", str(p))
    elif p.suffix.lower() == ".toml":
        net = _plan_from_scenario(p)
    else:
        net = Network(NumberingPlan.from_csv(p), str(p))
    if not net.plan.servers or len(net.plan) == 0:
        raise ConfigError("the plan has no servers", str(p))
    if len(net.plan.servers) < 2:
        raise ConfigError(f"the plan has one server ({net.plan.servers[0]}): a study of linked "
                          "servers needs at least two (add the other servers' extensions)", str(p))
    return net


def busy_hour_scenario(plan: NumberingPlan, opts: StudyOptions, link_mode: str = "block",
                       linking: str = "linked", name: str = "busy_hour",
                       network: Network | None = None) -> dict[str, Any]:
    """The scenario (as a dict for :func:`iaxsim.sim.scenario_from_dict`) of ``plan``'s busy hour:
    link.conf generated in ``link_mode`` or ``switch =>`` lookups, each server its own site, the
    options' latency between sites; or, for a ``network`` read from a scenario, its ``[network]``
    table (its latency, when it gives one, instead of the options') and its servers' ``nat`` and
    ``site``. ``link_mode`` ``"deployed"``: the servers run the dialplan files of ``network``
    (:attr:`Network.deployed`) instead of generated ones."""
    deployed = link_mode == DEPLOYED
    if deployed and (network is None or not network.has_deployed_link_confs):
        raise ConfigError("the deployed link.conf of every server is needed to simulate it "
                          "(a scenario or an imported network gives them)")
    sizes = extensions_per_server(plan)
    holding = {"dist": "exponential", "mean": float(opts.holding)}
    traffic: dict[str, Any]
    if opts.per_extension:
        # each server its own rate, its remote calls to the others in proportion to their size
        traffic = {"local": 1.0 - opts.remote, "remote": 0.0, "dialling": opts.dialling,
                   "holding": holding, "servers": {
                       s: {"calls_per_hour": rate, "to": remote_shares(sizes, s, opts.remote)}
                       for s, rate in opts.attempts_by_server(sizes).items()}}
    else:
        traffic = {"calls_per_hour": opts.attempts_per_hour, "local": 1.0 - opts.remote,
                   "remote": opts.remote, "dialling": opts.dialling, "holding": holding}
    return {
        "name": name, "duration": opts.measured_seconds(sizes, linking),
        "warmup": float(opts.warmup),
        "seed": int(opts.seed), "linking": linking,
        "numbering": {"link_mode": "block" if deployed else link_mode},
        "servers": [{"id": s, "extensions": list(plan.of(s)),
                     **(network.server_settings.get(s, {}) if network is not None else {}),
                     **(network.deployed[s] if deployed and network is not None else {})}
                    for s in plan.servers],
        "network": {"latency": float(opts.latency), **(network.ip_network if network is not None else {})},
        "traffic": traffic,
    }


def extensions_per_server(plan: NumberingPlan) -> dict[str, int]:
    """How many extensions each server of ``plan`` owns, in the plan's server order."""
    return {s: len(plan.of(s)) for s in plan.servers}


def _mean(values: pd.Series) -> float:
    values = values.dropna()
    return float(values.mean()) if len(values) else math.nan


def run_metrics(calls: pd.DataFrame) -> dict[str, float]:
    """One run's :data:`METRICS` from its calls table: the remote calls' headline
    (:data:`REMOTE`), then over all calls. ``p_waited``: share of calls that waited out a digit
    timeout (their number prefixes another); ``pdd_remote``: mean post-dial delay of answered
    calls to another server."""
    from iaxsim.sim.remote import remote_metrics

    n = len(calls)
    row: dict[str, float] = {f"remote_{k}": v for k, v in remote_metrics(calls).items()}
    row["calls"] = float(n)
    for outcome in ("answered", "busy", "misrouted", "rejected", "failed", "congestion"):
        row[f"p_{outcome}"] = float((calls["outcome"] == outcome).mean()) if n else math.nan
    row["p_waited"] = float((calls["digit_wait"] > 0).mean()) if n else math.nan
    row["pdd"] = _mean(calls["post_dial_delay"])
    remote = calls[(calls["target"] != "") & (calls["target"] != calls["origin"])
                   & (calls["outcome"] == "answered")]
    row["pdd_remote"] = _mean(remote["post_dial_delay"])
    row["attempts"] = _mean(calls["attempts"].astype(float))
    return row


def _simulate(scenario: dict[str, Any], seed: int, cache_dir: Path | None) -> pd.DataFrame:
    """The calls of one run, from ``cache_dir`` when an identical run was stored there."""
    from iaxsim.sim import scenario_from_dict, simulate

    key = hashlib.sha256(json.dumps([scenario, seed], sort_keys=True).encode()).hexdigest()[:24]
    cached = cache_dir / f"{key}.parquet" if cache_dir is not None else None
    if cached is not None and cached.exists():
        return pd.read_parquet(cached)
    with warnings.catch_warnings():  # the lint's findings already name numbers owned twice
        warnings.simplefilter("ignore", PlanWarning)
        calls = simulate(scenario_from_dict(scenario), seed=seed).calls
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        calls.to_parquet(cached)
    return calls


@dataclass
class Study:
    """Everything the study found; :func:`recommend` reads it, the notebook plots it."""

    network: Network
    options: StudyOptions
    lint: PlanAnalysis                 # the current plan, block link.conf (as administrators write it)
    lint_exact: PlanAnalysis           # the current plan, exact link.conf
    proposal: RenumberResult | None    # None when the plan has nothing to renumber
    runs: pd.DataFrame                 # condition, plan, link_mode, linking, seed + METRICS
    calls: pd.DataFrame                # every call of every run, with the same labels
    matrix: pd.DataFrame               # offered Erlangs origin → destination
    servers: pd.DataFrame              # per server: Erlangs, channels
    links: pd.DataFrame                # capacity per link and codec
    capacity_check: pd.DataFrame       # Erlang B against the simulation at the sized channels
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def recommended_plan(self) -> NumberingPlan:
        """The proposed plan when renumbering is recommended, else the current one."""
        return self.proposal.plan if self.proposal is not None else self.network.plan

    def intervals(self) -> pd.DataFrame:
        """Mean and 95 % interval half-width of every metric per condition."""
        rows = []
        for cond, group in self.runs.groupby("condition", sort=False):
            row: dict[str, Any] = {"condition": cond}
            for m in METRICS:
                mean, lo, hi = theory.mean_ci(group[m].dropna().to_numpy())
                row[m] = mean
                row[f"{m}_ci"] = (hi - lo) / 2 if not math.isnan(hi) else math.nan
            rows.append(row)
        return pd.DataFrame(rows).set_index("condition")

    @property
    def baseline(self) -> str:
        """The condition that is the network as it is: its deployed link.conf when the study
        simulated it (a scenario or an imported network), else the current plan with block
        link.conf."""
        return (DEPLOYED_CONDITION if DEPLOYED_CONDITION in set(self.runs["condition"])
                else "current, block link.conf")

    def conditions(self) -> pd.DataFrame:
        """Every condition's figures over all its calls, to read: headings with units, shares
        in %, "mean (low–high)" over the seeds (:func:`iaxsim.study.tables.conditions_table`)."""
        from iaxsim.study.tables import conditions_table

        return conditions_table(self.runs)

    def server_table(self) -> pd.DataFrame:
        """:attr:`servers` to read (:func:`iaxsim.study.tables.servers_table`)."""
        from iaxsim.study.tables import servers_table

        return servers_table(self.servers, self.options.gos)

    def link_table(self, limit: int | None = None) -> pd.DataFrame:
        """:attr:`links` to read, busiest first (``limit``: that many rows at most;
        :func:`iaxsim.study.tables.links_table`)."""
        from iaxsim.study.tables import links_table

        busiest = self.links.sort_values("erlangs", ascending=False, kind="stable")
        return links_table(busiest if limit is None else busiest.head(limit), self.options.gos)

    def capacity_table(self) -> pd.DataFrame:
        """:attr:`capacity_check` to read (:func:`iaxsim.study.tables.capacity_check_table`)."""
        from iaxsim.study.tables import capacity_check_table

        return capacity_check_table(self.capacity_check)

    def _remote_intervals(self, condition: str | None, pairs: bool = True) -> pd.DataFrame:
        """:func:`iaxsim.sim.remote.remote_intervals` over the seeds, per condition in the
        study's order (``condition``: that one only)."""
        from iaxsim.sim.remote import remote_intervals

        calls = self.calls if condition is None else self.calls[self.calls["condition"] == condition]
        iv = remote_intervals(calls, seed="seed", groups=["condition"], pairs=pairs)
        order = {c: i for i, c in enumerate(self.runs["condition"].drop_duplicates())}
        return iv.sort_values("condition", key=lambda c: c.map(order), kind="stable")

    def remote(self, condition: str | None = None, pairs: bool = True) -> pd.DataFrame:
        """Remote calls per origin → target pair (and ``all → all``; ``pairs`` False: that row
        only) of every condition, or of ``condition`` only: mean (95 % interval over seeds) as a
        table to read (:func:`iaxsim.sim.remote.planner_view`)."""
        from iaxsim.sim.remote import planner_view

        return planner_view(self._remote_intervals(condition, pairs))

    def slowest_pairs(self, condition: str, limit: int = 30) -> tuple[pd.DataFrame, int]:
        """:meth:`remote` of ``condition`` cut to its ``limit`` origin → target pairs with the
        longest mean post-dial delay (slowest first; unanswered pairs after them), then
        ``all → all``; and how many pairs there are in all."""
        from iaxsim.sim.remote import planner_view

        iv = self._remote_intervals(condition).drop(columns="condition")
        pdd = iv[iv["metric"] == "pdd_mean_ms"]
        pairs = pdd[pdd["origin"] != "all"].sort_values("mean", ascending=False, kind="stable",
                                                       na_position="last")
        order = list(zip(pairs["origin"].head(limit), pairs["target"].head(limit))) + [("all", "all")]
        keep = set(order)
        view = planner_view(iv[[(o, t) in keep for o, t in zip(iv["origin"], iv["target"])]])
        return view.reindex(pd.MultiIndex.from_tuples(order, names=view.index.names)), len(pairs)


def _conditions(net: Network, proposal: RenumberResult | None) -> list[tuple[str, NumberingPlan, str, str]]:
    """(condition, plan, link_mode, linking) runs of the study."""
    plan = net.plan
    out = [(DEPLOYED_CONDITION, plan, DEPLOYED, "linked")] if net.has_deployed_link_confs else []
    out += [("current, block link.conf", plan, "block", "linked"),
            ("current, exact link.conf", plan, "exact", "linked")]
    best = proposal.plan if proposal is not None else plan
    if proposal is not None:
        out.append(("proposed, exact link.conf", best, "exact", "linked"))
    out.append(("recommended plan, switch =>", best, "exact", "switch"))
    return out


def _capacity_scenarios(servers: pd.DataFrame, opts: StudyOptions) -> list[tuple[float, int, dict[str, Any]]]:
    """One single-server scenario per distinct server load, offered to its Erlang B channel count:
    as long as a one-server busy hour of the study or, with Erlangs per extension, as long as it
    takes to offer ``max_calls`` attempts."""
    out = []
    for load, channels in sorted({(round(float(e), 6), int(c)) for e, c in
                                  zip(servers["erlangs"], servers["channels"]) if c > 0}):
        out.append((load, channels, {
            # per extension, a small server's busy hour offers too few calls to see blocking
            # of about 1 %: its run lasts until it has offered max_calls attempts
            "name": f"erlang_{load:g}",
            "duration": (opts.max_calls * opts.holding / load if opts.per_extension
                         else opts.measured_seconds(1)),
            "warmup": 600.0, "seed": opts.seed, "servers": [{"id": "A", "extensions": ["1000-1999"], "channels": channels}],
            "traffic": {"erlangs": load, "local": 1.0, "extension_busy": False,
                        "holding": {"dist": "exponential", "mean": float(opts.holding)}}}))
    return out


def _capacity_check(cases: list[tuple[float, int, dict[str, Any]]], blocked: list[list[float]]) -> pd.DataFrame:
    """Erlang B blocking at each sized channel count against the simulated blocking's 95 % interval."""
    rows = []
    for (load, channels, _scenario), shares in zip(cases, blocked):
        mean, lo, hi = theory.mean_ci(shares)
        b = theory.erlang_b(load, channels)
        rows.append({"erlangs": load, "channels": channels, "erlang_b": b, "simulated": mean,
                     "ci_low": lo, "ci_high": hi, "agrees": bool(lo <= b <= hi)})
    return pd.DataFrame(rows, columns=["erlangs", "channels", "erlang_b", "simulated", "ci_low",
                                       "ci_high", "agrees"])


def _switch_first(scenario: dict[str, Any]) -> int:
    """Sort key putting switch-mode scenarios before the others."""
    return 0 if scenario.get("linking") == "switch" else 1


def _job(args: tuple[dict[str, Any], int, Path | None]) -> pd.DataFrame:
    return _simulate(*args)


def run_study(net: Network, opts: StudyOptions, cache_dir: str | Path | None = None,
              progress: bool = False, workers: int = 1) -> Study:
    """Analyse and simulate ``net`` under ``opts`` (see the module doc); deterministic for given
    options. ``workers`` > 1 runs the simulations on a local process pool (same results)."""
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm

    from iaxsim.sim import scenario_from_dict

    cache = Path(cache_dir) if cache_dir is not None else None
    plan = net.plan
    lint = analyze(plan, mode="block")
    lint_exact = analyze(plan, mode="exact")
    proposal = None
    if not lint.is_clean:
        proposal = renumber(plan)
    if opts.erlangs_per_extension is not None:
        matrix = traffic_matrix_per_extension(extensions_per_server(plan), opts.erlangs_per_extension,
                                              opts.remote)
    else:
        matrix = traffic_matrix(list(plan.servers), opts.attempts_per_hour, opts.remote, opts.holding)
    loads = server_loads(matrix, opts.gos)
    links = link_capacity(matrix, opts.gos, opts.codecs)
    labelled: list[dict[str, Any]] = []
    jobs: list[tuple[dict[str, Any], int, Path | None]] = []
    for cond, cplan, mode, linking in _conditions(net, proposal):
        scenario = busy_hour_scenario(cplan, opts, mode, linking, network=net)
        scenario_from_dict(scenario)  # a bad scenario fails here, before any run
        for r in range(opts.seeds):
            labelled.append({"condition": cond, "plan": "proposed" if cplan is not plan else "current",
                             "link_mode": mode, "linking": linking, "seed": opts.seed + r})
            jobs.append((scenario, opts.seed + r, cache))
    cases = _capacity_scenarios(loads, opts)
    for _load, _channels, scenario in cases:
        scenario_from_dict(scenario)
        jobs += [(scenario, opts.seed + r, cache) for r in range(opts.seeds)]
    with tqdm(total=len(jobs), desc="study", unit="run", disable=not progress) as bar:
        results: list[pd.DataFrame] = []
        if workers > 1:
            # the costliest runs first (switch mode: a DPREQ round trip per dialplan query), so
            # that no worker is left with one alone at the end; results keep the jobs' order
            order = sorted(range(len(jobs)), key=lambda i: _switch_first(jobs[i][0]))
            done: dict[int, pd.DataFrame] = {}
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for i, calls in zip(order, pool.map(_job, [jobs[i] for i in order])):
                    done[i] = calls
                    bar.update()
            results = [done[i] for i in range(len(jobs))]
        else:
            for job in jobs:
                results.append(_job(job))
                bar.update()
    rows, frames = [], []
    for labels, calls in zip(labelled, results):
        rows.append({**labels, **run_metrics(calls)})
        frames.append(calls.assign(**labels))
    rest = results[len(labelled):]
    blocked = [[float((c["outcome"] == "congestion").mean()) if len(c) else math.nan
                for c in rest[i * opts.seeds:(i + 1) * opts.seeds]] for i in range(len(cases))]
    return Study(net, opts, lint, lint_exact, proposal, pd.DataFrame(rows),
                 pd.concat(frames, ignore_index=True), matrix, loads, links,
                 _capacity_check(cases, blocked))


def save_study(study: Study, path: str | Path) -> Path:
    """Store ``study`` (every table and finding) so that :func:`load_study` gives it back as it was:
    the study notebook shows the command's results instead of computing them again."""
    import pickle

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("wb") as f:
        pickle.dump(study, f, protocol=pickle.HIGHEST_PROTOCOL)
    return p


def load_study(path: str | Path) -> Study:
    """The study stored by :func:`save_study` at ``path`` (a file this program wrote: it is
    unpickled, so never load one from elsewhere)."""
    import pickle

    p = Path(path)
    try:
        with p.open("rb") as f:
            study = pickle.load(f)
    except OSError as err:
        raise ConfigError(err.strerror or "cannot be read", str(p)) from None
    if not isinstance(study, Study):
        raise ConfigError("not a stored study", str(p))
    return study


def _fmt(mean: float, half: float, scale: float = 1.0, unit: str = "", digits: int = 2) -> str:
    if math.isnan(mean):
        return "n/a"
    text = f"{mean * scale:.{digits}f}"
    if not math.isnan(half):
        text += f" ± {half * scale:.{digits}f}"
    return text + unit


def _differs(a: dict[str, float], b: dict[str, float], metric: str) -> bool:
    """True when the 95 % intervals of ``metric`` for conditions ``a`` and ``b`` do not overlap."""
    ha, hb = a[f"{metric}_ci"], b[f"{metric}_ci"]
    if any(math.isnan(x) for x in (a[metric], b[metric], ha, hb)):
        return False
    return bool(abs(a[metric] - b[metric]) > ha + hb)


def failure_shares(calls: pd.DataFrame) -> dict[tuple[str, str], tuple[float, int]]:
    """Per ordered server pair, the share of the origin's remote calls to the target that failed
    (no server answered the dial) and how many calls there were."""
    remote = calls[is_remote(calls)]
    failed = (remote["outcome"] == "failed").groupby([remote["origin"], remote["target"]]).agg(["mean", "size"])
    return {(str(a), str(b)): (float(m), int(n))
            for (a, b), m, n in zip(failed.index, failed["mean"], failed["size"])}


def _both_directions(calls: pd.DataFrame, least: int) -> Iterator[tuple[str, str, float, float]]:
    """``(a, b, share failing from a to b, share failing back)`` for every ordered server pair
    with at least ``least`` remote calls each way (:func:`failure_shares`)."""
    share = failure_shares(calls)
    for (a, b), (there, n) in share.items():
        back, n_back = share.get((b, a), (math.nan, 0))
        if min(n, n_back) >= least:
            yield a, b, there, back


def one_way_failures(calls: pd.DataFrame, least: int = 3) -> list[tuple[str, str, float, float]]:
    """Server pairs whose remote calls fail one way only, as a firewall that drops UDP 4569 one
    way makes them: ``(origin, target, share of the origin's calls to the target that failed,
    share failing the other way)``, for pairs where at least half fail one way and at most a
    tenth the other, with at least ``least`` calls each way."""
    return [p for p in _both_directions(calls, least) if p[2] >= 0.5 and p[3] <= 0.1]


def both_way_failures(calls: pd.DataFrame, least: int = 3) -> list[tuple[str, str, float, float]]:
    """Server pairs whose remote calls fail both ways (at least half each way, with at least
    ``least`` calls each way): ``(a, b, share failing from a to b, share failing back)``, each
    pair once."""
    return [p for p in _both_directions(calls, least) if p[0] < p[1] and p[2] >= 0.5 and p[3] >= 0.5]


def unrouted_pairs(calls: pd.DataFrame, least: int = 3) -> list[tuple[str, str, float]]:
    """Server pairs where most remote calls from one to the other are refused as unknown numbers
    (cause 3), as a link.conf without a route to the other server's numbers makes them:
    ``(origin, target, share refused)`` for at least half refused, with at least ``least``
    calls."""
    remote = calls[is_remote(calls)]
    refused = (remote["cause_code"] == 3).groupby([remote["origin"], remote["target"]]).agg(["mean", "size"])
    return [(str(a), str(b), float(m)) for (a, b), m, n in zip(refused.index, refused["mean"], refused["size"])
            if n >= least and m >= 0.5]


def _dropping_rule(rules: list[dict[str, Any]], src: str | None = None,
                   dst: str | None = None) -> dict[str, Any] | None:
    """The first firewall rule of the network that drops IAX2 (UDP 4569) from ``src`` to
    ``dst`` (None: from or to any server), if any."""
    for rule in rules:
        if (src is None or rule.get("from") in (src, "*")) and (dst is None or rule.get("to") in (dst, "*")) \
                and int(rule.get("port", 4569)) == 4569:
            return rule
    return None


def blocked_servers(calls: pd.DataFrame, least: int = 10) -> list[tuple[str, str, float, float]]:
    """Servers that other servers' IAX2 cannot reach, or whose IAX2 cannot get out, as a firewall
    dropping UDP 4569 at one site makes them: ``(server, "to" or "from", share of the remote
    calls to (from) it that failed, share failing among the remote calls not touching it)``, when
    at least half of at least ``least`` such calls fail and at most a tenth of the others. On a
    large network each server pair has few calls, but each server has many."""
    remote = calls[is_remote(calls)]
    failed = remote["outcome"] == "failed"
    found = []
    for server in sorted(set(remote["origin"]) | set(remote["target"])):
        elsewhere = failed[(remote["origin"] != server) & (remote["target"] != server)]
        if len(elsewhere) < least or elsewhere.mean() > 0.1:
            continue
        for side, column in (("to", "target"), ("from", "origin")):
            mine = failed[remote[column] == server]
            if len(mine) >= least and mine.mean() >= 0.5:
                found.append((str(server), side, float(mine.mean()), float(elsewhere.mean())))
    return found


def _network_findings(study: Study) -> tuple[list[str], list[str]]:
    """What the network as it is does to calls that the numbering plan does not explain (failing
    servers and pairs, unrouted numbers of a deployed link.conf): findings, and the
    recommendations that fix them."""
    calls = study.calls[study.calls["condition"] == study.baseline]
    rules = study.network.firewall
    findings: list[str] = []
    recs: list[str] = []
    servers = blocked_servers(calls) if len(study.network.plan.servers) > 2 else []
    covered = {(server, side) for server, side, _share, _rest in servers}
    sides: dict[str, dict[str, tuple[float, float]]] = {}
    for server, side, share, rest in servers:
        sides.setdefault(server, {})[side] = (share, rest)
    for server, seen in sides.items():
        if "to" in seen:
            (share, rest), also = seen["to"], seen.get("from")
            findings.append(
                f"Calls to {server} fail from the other servers ({share:.0%} of them; the caller hears "
                "congestion)" + (f", and so do {server}'s own calls to them ({also[0]:.0%}: their "
                                 "replies do not get in either)" if also else "")
                + f", while {rest:.0%} fail elsewhere: IAX2 (UDP 4569) does not get in to {server}"
                + (" (firewall rules drop it)." if _dropping_rule(rules, dst=server) else "."))
            recs.append(f"Let UDP 4569 in to {server} from the other servers (on {server}'s firewall, "
                        f"and as a port forward if {server} sits behind NAT).")
        else:
            share, rest = seen["from"]
            findings.append(f"Calls from {server} to the other servers fail ({share:.0%} of them; the "
                            f"caller hears congestion) while {rest:.0%} fail elsewhere: IAX2 (UDP 4569) "
                            f"does not get out of {server}"
                            + (" (firewall rules drop it)." if _dropping_rule(rules, src=server) else "."))
            recs.append(f"Let UDP 4569 out of {server} to the other servers.")
    for a, b, there, back in both_way_failures(calls):
        if {(a, "from"), (b, "to"), (b, "from"), (a, "to")} & covered:
            continue
        cause = " (firewall rules drop it)" if (_dropping_rule(rules, a, b) or _dropping_rule(rules, b, a)) else ""
        findings.append(f"Calls between {a} and {b} fail both ways ({there:.0%} from {a}, {back:.0%} "
                        f"from {b}; the caller hears congestion): IAX2 (UDP 4569) does not get "
                        f"through between them{cause}.")
        recs.append(f"Let UDP 4569 through between {a} and {b}, both ways: until then their calls to "
                    "each other fail whatever the numbering plan.")
    for a, b, share, back in one_way_failures(calls):
        if (a, "from") in covered or (b, "to") in covered:
            continue
        rule = _dropping_rule(rules, a, b)
        findings.append(f"Calls from {a} to {b} fail ({share:.0%} of them; the caller hears congestion) "
                        f"while calls from {b} to {a} ring ({back:.0%} fail): IAX2 (UDP 4569) gets "
                        "through one way only"
                        + (f", as the firewall rule dropping UDP 4569 from {rule.get('from')} to "
                           f"{rule.get('to')} makes it" if rule is not None else "") + ".")
        recs.append(f"Let UDP 4569 through from {a} to {b} (on {b}'s firewall, and as a port "
                    f"forward if {b} sits behind NAT): until then calls from {a} to {b} fail "
                    "whatever the numbering plan.")
    if study.baseline == DEPLOYED_CONDITION:
        unrouted = unrouted_pairs(calls)
        for a, b, share in unrouted:
            findings.append(f"{a}'s deployed link.conf has no route to {b}'s numbers: {share:.0%} of "
                            f"{a}'s calls to {b} are refused as unknown numbers (the caller hears "
                            "number unobtainable).")
        for a in sorted({a for a, _b, _share in unrouted}):
            recs.append(f"Replace {a}'s link.conf with the generated one (artefacts/{a}/link.conf): "
                        "it routes every number of the plan to its server.")
    return findings, recs


def recommend(study: Study) -> dict[str, Any]:
    """The executive summary: findings (what is wrong now), recommendations and what they buy.

    Returns ``{"clean": bool, "renumber": bool, "link_mode": "exact"|"block", "linking":
    "linked"|"switch", "qualify": [servers], "headline": str, "findings": [str],
    "recommendations": [str]}``; ``headline`` is the remote calls of the network as it is, in
    words (:func:`remote_headline`).
    """
    lint = study.lint
    ci: dict[str, dict[str, float]] = {
        str(cond): {str(k): float(v) for k, v in row.items()} for cond, row in study.intervals().iterrows()}
    cur = ci[study.baseline]
    findings: list[str] = []
    headline = remote_headline(cur, "the link.conf deployed now" if study.baseline == DEPLOYED_CONDITION
                               else "the current plan and block link.conf")
    if lint.n_conflicts:
        findings.append(f"{lint.n_conflicts} number(s) belong to more than one server: a call to them "
                        "may ring the wrong site.")
    if lint.n_prefix_hazards:
        findings.append(f"{lint.n_prefix_hazards} number(s) are the beginning of a longer one: callers "
                        "wait the 5 s digit timeout or reach the shorter number.")
    if lint.n_reserved_collisions:
        findings.append(f"{lint.n_reserved_collisions} extension(s) start with the outside-line digit "
                        "or an emergency number.")
    if lint.overlap_score > 0:
        findings.append(f"Block link.conf patterns (as administrators write _60XX) overlap between servers "
                        f"(overlap score {lint.overlap_score:.2f}; 0 is disjoint): calls try wrong servers first.")
    if cur["p_misrouted"] > 0:
        findings.append("In the busy hour " + _fmt(cur["p_misrouted"], cur["p_misrouted_ci"], 100, " %")
                        + " of calls go to the wrong number or site.")
    if cur["p_waited"] > 0:
        findings.append(_fmt(cur["p_waited"], cur["p_waited_ci"], 100, " %")
                        + " of calls wait out a digit timeout before they ring.")
    net_findings, net_recs = _network_findings(study)
    findings += net_findings
    if study.network.qualify_off:
        findings.append(f"qualify is off on {', '.join(study.network.qualify_off)}: a dial to an "
                        "unreachable address waits for retransmissions (up to 32 s) before the next one.")
    recs: list[str] = []
    renum = study.proposal is not None
    if renum:
        assert study.proposal is not None
        p = study.proposal
        after = ci["proposed, exact link.conf"]
        recs.append(f"Renumber: {p.n_changed} of {len(p.mapping)} extensions change "
                    f"(artefacts/renumber-map.csv). Afterwards: {p.after.n_conflicts} conflicts, "
                    f"{p.after.n_prefix_hazards} prefix hazards; misrouted calls "
                    f"{_fmt(cur['p_misrouted'], cur['p_misrouted_ci'], 100, ' %')} → "
                    f"{_fmt(after['p_misrouted'], after['p_misrouted_ci'], 100, ' %')}, calls waiting a "
                    f"digit timeout {_fmt(cur['p_waited'], cur['p_waited_ci'], 100, ' %')} → "
                    f"{_fmt(after['p_waited'], after['p_waited_ci'], 100, ' %')}, remote calls' post-dial "
                    f"delay {_fmt(cur['remote_pdd_mean'], cur['remote_pdd_mean_ci'], 1000, ' ms', 0)} → "
                    f"{_fmt(after['remote_pdd_mean'], after['remote_pdd_mean_ci'], 1000, ' ms', 0)} on "
                    f"average, 95th percentile "
                    f"{_fmt(cur['remote_pdd_p95'], cur['remote_pdd_p95_ci'], 1000, ' ms', 0)} → "
                    f"{_fmt(after['remote_pdd_p95'], after['remote_pdd_p95_ci'], 1000, ' ms', 0)}.")
    else:
        recs.append("Keep the numbering plan: no conflict, no prefix hazard, no reserved-prefix collision.")
    exact = ci["current, exact link.conf"]
    if not renum and lint.overlap_score > 0:
        mode = "exact"
        recs.append("Write link.conf with exact patterns (artefacts/<server>/link.conf): block patterns "
                    f"overlap; dial attempts per remote call "
                    f"{_fmt(cur['remote_attempts'], cur['remote_attempts_ci'])} → "
                    f"{_fmt(exact['remote_attempts'], exact['remote_attempts_ci'])}, of them to a wrong server "
                    f"{_fmt(cur['remote_wrong_server'], cur['remote_wrong_server_ci'])} → "
                    f"{_fmt(exact['remote_wrong_server'], exact['remote_wrong_server_ci'])}.")
    elif renum:
        mode = "exact"
        recs.append("Deploy the link.conf generated from the proposed plan (artefacts/<server>/link.conf, "
                    "exact patterns: each number reaches its owner with the first dial).")
    else:
        mode = "block"
        block = ci["current, block link.conf"]
        recs.append("Block link.conf patterns are fine: they do not overlap, so exact ones buy nothing "
                    f"(dial attempts per remote call {_fmt(block['remote_attempts'], block['remote_attempts_ci'])} "
                    f"with block, {_fmt(exact['remote_attempts'], exact['remote_attempts_ci'])} with exact).")
    best = ci["proposed, exact link.conf" if renum else
                  ("current, exact link.conf" if mode == "exact" else "current, block link.conf")]
    sw = ci["recommended plan, switch =>"]
    if _differs(best, sw, "remote_pdd_mean") and sw["remote_pdd_mean"] < best["remote_pdd_mean"]:
        linking = "switch"
        recs.append("Use switch => IAX2 lookups instead of link.conf: remote calls ring after "
                    f"{_fmt(sw['remote_pdd_mean'], sw['remote_pdd_mean_ci'], 1000, ' ms', 0)} instead of "
                    f"{_fmt(best['remote_pdd_mean'], best['remote_pdd_mean_ci'], 1000, ' ms', 0)} on average.")
    else:
        linking = "linked"
        recs.append("Keep link.conf rather than switch =>: remote calls ring after "
                    f"{_fmt(best['remote_pdd_mean'], best['remote_pdd_mean_ci'], 1000, ' ms', 0)} on average "
                    f"with link.conf, {_fmt(sw['remote_pdd_mean'], sw['remote_pdd_mean_ci'], 1000, ' ms', 0)} "
                    "with switch => (whose DPREQ round trips come first).")
    recs[:0] = net_recs
    if study.network.qualify_off:
        recs.append(f"Turn qualify=yes on for {', '.join(study.network.qualify_off)}'s peers.")
    big = study.links.drop_duplicates(["a", "b"]).sort_values("erlangs", ascending=False).head(1)
    if len(big):
        row = big.iloc[0]
        recs.append(f"Size the busiest link ({row['a']}–{row['b']}, {row['erlangs']:.1f} E) for "
                    f"{int(row['channels'])} calls at {study.options.gos:.0%} blocking "
                    "(capacity table below).")
    clean = (lint.is_clean and lint.overlap_score == 0 and not study.network.qualify_off
             and not net_findings)
    if clean:
        findings.insert(0, "Nothing is wrong: no conflict, no prefix hazard, no overlapping link.conf "
                           "pattern, no reserved-prefix collision.")
    return {"clean": clean, "renumber": renum, "link_mode": mode, "linking": linking,
            "qualify": list(study.network.qualify_off), "headline": headline, "findings": findings,
            "recommendations": recs}


def remote_headline(ci: dict[str, float], as_is: str = "the current plan and block link.conf") -> str:
    """One condition's remote calls in words (``ci``: a row of :meth:`Study.intervals`; ``as_is``:
    what that condition runs)."""
    heard = ", ".join(f"{name} {_fmt(ci[f'remote_p_{key}'], ci[f'remote_p_{key}_ci'], 100, ' %')}"
                      for key, name in (("busy", "busy"), ("congestion", "congestion"),
                                        ("unobtainable", "number unobtainable"), ("misrouted", "misrouted")))
    return (f"Remote calls (to another server's extensions) with {as_is} ring after "
            f"{_fmt(ci['remote_pdd_mean'], ci['remote_pdd_mean_ci'], 1000, ' ms', 0)} on average, "
            f"{_fmt(ci['remote_pdd_p95'], ci['remote_pdd_p95_ci'], 1000, ' ms', 0)} at the 95th percentile; "
            f"each takes {_fmt(ci['remote_attempts'], ci['remote_attempts_ci'])} dial attempts (link.conf "
            "tries a server's internal address, then its external one; an address qualify found "
            "unreachable is passed over at once), "
            f"{_fmt(ci['remote_wrong_server'], ci['remote_wrong_server_ci'])} of them to a wrong server; "
            f"{_fmt(ci['remote_digit_waits'], ci['remote_digit_waits_ci'], 100, ' %')} wait out a digit "
            f"timeout; the caller hears {heard}.")


def options_dict(opts: StudyOptions) -> dict[str, Any]:
    """The options as plain JSON-able values (the notebook's parameters)."""
    d = asdict(opts)
    d["codecs"] = list(opts.codecs)
    return d


def options_from_dict(d: dict[str, Any]) -> StudyOptions:
    """Inverse of :func:`options_dict`."""
    d = dict(d)
    d["codecs"] = tuple(d.get("codecs", ("ulaw", "g729")))
    return StudyOptions(**d)


def default_network() -> Network:
    """The bundled network: the seed's two linked servers (A owns 7000-7999, B 6000-6999)."""
    plan = NumberingPlan.from_dict({"A": [str(n) for n in range(7000, 8000)],
                                    "B": [str(n) for n in range(6000, 7000)]})
    return Network(plan, "the seed's two servers")


def summary_markdown(study: Study, advice: dict[str, Any]) -> str:
    """The executive summary (findings, then recommendations) as Markdown."""
    head = "**Nothing is wrong with this network.**" if advice["clean"] else "**What is wrong now**"
    lines = [advice["headline"], "", head, ""] + [f"- {f}" for f in advice["findings"]]
    lines += ["", "**Recommendation**", ""] + [f"- {r}" for r in advice["recommendations"]]
    return "\n".join(lines)
