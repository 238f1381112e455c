"""Scenarios: what to simulate, as frozen dataclasses built in Python or loaded from TOML.

A scenario names servers (numbering, addresses, CPU, channels, matcher, timeouts), the
network between them (latency, jitter, loss, firewalls, reach of internal addresses),
the offered traffic (busy-hour attempts or Erlangs, holding times, calling matrix,
dialling mode) and the run (duration, warm-up, seed, linking mode, media accounting).
``docs/scenarios.md`` documents every field with its unit and default.

Every validation error is a :class:`iaxsim.errors.ConfigError` naming the file (when
loaded from one), the table and the field, e.g.
``two.toml:12: [servers.B] channels: must be an integer ≥ 1, got 0``.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from iaxsim.errors import ConfigError
from iaxsim.sim.distributions import Distribution, DistributionError

LINKING_MODES = ("linked", "switch")
MEDIA_MODES = ("formula", "frames")
MATCHERS = ("linear", "trie")
DIALLING_MODES = ("enbloc", "digits")
ADDRESS_KINDS = ("any", "internal", "external")
INTERNAL_SCOPES = ("site", "global")
LINK_MODES = ("exact", "block")
IAX2_PORT = 4569


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class ServerSpec:
    """One PBX. Extensions are numbers or inclusive ranges ``"6000-6099"``."""

    id: str
    extensions: tuple[str, ...] = ()
    internal: str = ""
    external: str = ""
    site: str = ""
    cores: int = 1
    channels: int = 1000
    matcher: str = "linear"
    digit_timeout: float = 5.0
    qualify: bool = True
    nat: bool = False
    external_conf: str | None = None
    link_conf: str | None = None

    def numbers(self) -> list[str]:
        """Every extension number this server owns, ranges expanded, in order."""
        out: list[str] = []
        for item in self.extensions:
            lo, _, hi = item.partition("-")
            if not hi:
                out.append(lo)
                continue
            width = len(lo)
            out.extend(str(n).zfill(width) for n in range(int(lo), int(hi) + 1))
        return out


@dataclass(frozen=True)
class LinkSpec:
    """Per directed server pair override of the network defaults (``src`` → ``dst``)."""

    src: str
    dst: str
    latency: Distribution | None = None
    jitter: float | None = None
    loss: float | None = None


@dataclass(frozen=True)
class FirewallRule:
    """Drop UDP ``port`` datagrams from ``src`` to ``dst`` addresses of ``kind``.

    ``stateful`` rules (the default, like a NAT/conntrack firewall) let replies through:
    a datagram is dropped only if ``dst`` has not sent to ``src`` on that address pair
    within the network's ``conntrack_timeout``.
    """

    src: str = "*"
    dst: str = "*"
    kind: str = "any"
    port: int = IAX2_PORT
    stateful: bool = True


@dataclass(frozen=True)
class NetworkSpec:
    """The simulated IP network between servers (times in seconds, loss as a probability)."""

    latency: Distribution = field(default_factory=lambda: Distribution.fixed(0.02))
    site_latency: Distribution = field(default_factory=lambda: Distribution.fixed(0.0005))
    jitter: float = 0.0
    loss: float = 0.0
    internal_scope: str = "site"
    conntrack_timeout: float = 30.0
    links: tuple[LinkSpec, ...] = ()
    firewall: tuple[FirewallRule, ...] = ()


@dataclass(frozen=True)
class TrafficSpec:
    """Offered traffic of one server (busy hour).

    Give ``calls_per_hour`` (call attempts) or ``erlangs`` (then attempts = erlangs × 3600 /
    mean holding). The calling matrix ``local`` + ``remote`` + Σ ``to`` + ``unassigned`` = 1;
    ``remote`` is spread evenly over the other servers. With none of ``local``, ``remote`` and
    ``to`` given, the plan decides (:meth:`calling_shares`): every extension of the plan is called
    alike. A missing ``local`` is what the other shares leave; a missing ``remote`` is 0.
    """

    calls_per_hour: float | None = None
    erlangs: float | None = None
    holding: Distribution = field(default_factory=lambda: Distribution.exponential(180.0))
    answer_delay: Distribution = field(default_factory=lambda: Distribution.fixed(0.0))
    dialling: str = "enbloc"
    digit_interval: Distribution = field(default_factory=lambda: Distribution.fixed(0.3))
    local: float | None = None
    remote: float | None = None
    to: Mapping[str, float] = field(default_factory=dict)
    unassigned: float = 0.0
    extension_busy: bool = True

    def attempts_per_hour(self) -> float:
        """Busy-hour call attempts."""
        if self.calls_per_hour is not None:
            return float(self.calls_per_hour)
        if self.erlangs is not None:
            return float(self.erlangs) * 3600.0 / self.holding.mean
        return 0.0

    @property
    def by_plan(self) -> bool:
        """True when none of ``local``, ``remote`` and ``to`` is given: calls spread over the plan."""
        return self.local is None and self.remote is None and not self.to

    def calling_shares(self, own: int = 0, others: Mapping[str, int] | None = None) -> tuple[float, dict[str, float]]:
        """(local share, share per other server) of the calls.

        As given: ``local`` (default: what ``remote``, ``to`` and ``unassigned`` leave) and, per
        other server, its ``to`` share plus an even part of ``remote``. When none of ``local``,
        ``remote`` and ``to`` is given (:attr:`by_plan`), the calls that are not ``unassigned``
        go to every extension of the plan alike: the local share is ``own`` (this server's
        extensions) over all extensions, each other server's is its ``others[id]`` over all.
        """
        others = dict(others or {})
        rest = 1.0 - self.unassigned
        if self.by_plan:
            total = own + sum(others.values())
            if total == 0:
                return rest, {o: 0.0 for o in others}
            return rest * own / total, {o: rest * n / total for o, n in others.items()}
        remote = self.remote or 0.0
        local = self.local if self.local is not None else rest - remote - sum(self.to.values())
        even = remote / len(others) if others else 0.0
        return local, {o: self.to.get(o, 0.0) + even for o in others}


@dataclass(frozen=True)
class CpuModel:
    """CPU time charged per dialplan lookup: ``base + per_comparison × comparisons`` seconds.

    Model parameters. The defaults are calibrated from the dialplan benchmark
    (``benchmarks/bench_dialplan.py``): our linear matcher answers a 10-pattern context in
    about 10 µs and spends about 0.6 µs per pattern tested in a 1000-pattern context.
    """

    base: float = 10e-6
    per_comparison: float = 0.6e-6


@dataclass(frozen=True)
class NumberingSpec:
    """Optional generated or file-based numbering plan assigning extensions to servers."""

    plan: str | None = None
    extensions_per_server: int = 100
    overlap: float = 0.0
    length: int = 4
    seed: int = 0
    link_mode: str = "block"
    block_digits: int = 2


@dataclass(frozen=True)
class Scenario:
    """A complete simulation scenario. Times in seconds."""

    name: str = "scenario"
    servers: tuple[ServerSpec, ...] = ()
    network: NetworkSpec = field(default_factory=NetworkSpec)
    traffic: TrafficSpec = field(default_factory=TrafficSpec)
    server_traffic: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    cpu: CpuModel = field(default_factory=CpuModel)
    numbering: NumberingSpec | None = None
    linking: str = "linked"
    switch_cache: float = 0.0
    media: str = "formula"
    codec: str = "ulaw"
    trunk: bool = False
    trunk_timestamps: bool = False
    trunk_mtu: int = 1240
    duration: float = 3600.0
    warmup: float = 0.0
    seed: int = 0
    account: str = "1000"
    keepalive: bool = False
    capture: bool = False
    base_dir: str = "."

    def server(self, sid: str) -> ServerSpec:
        """The server with id ``sid``."""
        for s in self.servers:
            if s.id == sid:
                return s
        raise ConfigError(f"no server {sid!r} in scenario {self.name!r}")

    def traffic_of(self, sid: str) -> TrafficSpec:
        """Traffic of server ``sid``: the default ``traffic`` with that server's overrides."""
        over = self.server_traffic.get(sid)
        if not over:
            return self.traffic
        return replace(self.traffic, **over)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (TOML shape) — the inverse of :func:`scenario_from_dict`."""
        d = _to_plain(self)
        over = d.pop("server_traffic", {})
        if over:
            d["traffic"]["servers"] = over
        return d

    def key(self, seed: int | None = None) -> str:
        """Stable hash of the scenario content, a seed and the iaxsim version (cache key)."""
        from iaxsim import __version__

        d = self.to_dict()
        d.pop("base_dir", None)
        d["seed"] = self.seed if seed is None else seed
        d["iaxsim_version"] = __version__
        d["files"] = self._file_digests()
        blob = json.dumps(d, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:24]

    def _file_digests(self) -> dict[str, str]:
        """SHA-256 of every file the scenario reads (dialplans, plan CSV), so edits change keys."""
        names = [n for s in self.servers for n in (s.external_conf, s.link_conf) if n]
        if self.numbering is not None and self.numbering.plan:
            names.append(self.numbering.plan)
        out = {}
        for name in names:
            try:
                out[name] = hashlib.sha256((Path(self.base_dir) / name).read_bytes()).hexdigest()
            except OSError:
                out[name] = "missing"
        return out

    def with_values(self, values: Mapping[str, Any]) -> "Scenario":
        """A copy with dotted-path fields replaced, re-validated (e.g. ``servers.B.channels``)."""
        d = self.to_dict()
        for path, value in values.items():
            set_path(d, path, value)
        return scenario_from_dict(d, base_dir=self.base_dir)


# --------------------------------------------------------------------------- dict/TOML I/O


def _to_plain(obj: Any) -> Any:
    if isinstance(obj, Distribution):
        return obj.to_dict()
    if hasattr(obj, "__dataclass_fields__"):
        out = {}
        for f in fields(obj):
            v = getattr(obj, f.name)
            if v is None:
                continue
            out[f.name] = _to_plain(v)
        if isinstance(obj, LinkSpec | FirewallRule):
            out["from"] = out.pop("src")
            out["to"] = out.pop("dst")
        return out
    if isinstance(obj, Mapping):
        return {k: _to_plain(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, (tuple, list)):
        return [_to_plain(v) for v in obj]
    return obj


def set_path(d: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path in a scenario dict; ``servers.ID.field`` / ``servers.*.field`` address servers."""
    parts = path.split(".")
    if parts[0] == "servers" and len(parts) >= 3:
        targets = [s for s in d.get("servers", []) if parts[1] in ("*", s.get("id"))]
        if not targets:
            raise ConfigError(f"sweep field {path!r}: no server {parts[1]!r}")
        for s in targets:
            _set_in(s, parts[2:], value, path)
        return
    _set_in(d, parts, value, path)


def _set_in(d: dict[str, Any], parts: list[str], value: Any, path: str) -> None:
    for p in parts[:-1]:
        nxt = d.setdefault(p, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"field {path!r}: {p!r} is not a table")
        d = nxt
    d[parts[-1]] = copy.deepcopy(value)


class _Where:
    """Names the place of a value: file, table, field — and the line when it can be found."""

    def __init__(self, path: str | None, text: str | None):
        self.path = path
        self.lines = text.splitlines() if text else []

    def line_of(self, table: str, key: str | None) -> int | None:
        if not self.lines:
            return None
        header = _header_regex(table)
        start = 0
        if header is not None:
            for i, line in enumerate(self.lines):
                if header.match(line):
                    start = i
                    break
        if key is None:
            return start + 1 if header is not None else None
        keyre = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for i in range(start, len(self.lines)):
            if (i > start or header is None) and self.lines[i].lstrip().startswith("["):
                break
            if keyre.match(self.lines[i]):
                return i + 1
        return start + 1 if header is not None else None

    def error(self, table: str, key: str | None, message: str) -> ConfigError:
        where = f"[{table}] " if table else ""
        what = f"{key}: " if key else ""
        return ConfigError(f"{where}{what}{message}", self.path, self.line_of(table, key))


def _header_regex(table: str) -> re.Pattern | None:
    if not table:
        return None
    m = re.fullmatch(r"servers\.(.+)", table)
    if m:  # [[servers]] blocks: match the block whose id is this one later — use the id line
        return re.compile(rf"^\s*id\s*=\s*[\"']{re.escape(m.group(1))}[\"']")
    return re.compile(rf"^\s*\[+\s*{re.escape(table)}\s*\]+\s*$")


def _take(d: Mapping[str, Any], known: set[str], where: _Where, table: str) -> None:
    for k in d:
        if k not in known:
            raise where.error(table, k, f"unknown field (known: {', '.join(sorted(known))})")


def _num(d, key, default, where, table, *, lo=None, hi=None, integer=False, allow_none=False,
         strict_lo=False):
    if key not in d:
        return default
    v = d[key]
    if v is None and allow_none:
        return None
    kind = "an integer" if integer else "a number"
    ok = isinstance(v, int) if integer else isinstance(v, (int, float))
    if isinstance(v, bool) or not ok:
        raise where.error(table, key, f"must be {kind}, got {v!r}")
    if lo is not None and (v <= lo if strict_lo else v < lo):
        raise where.error(table, key, f"must be {kind} {'>' if strict_lo else '≥'} {lo}, got {v!r}")
    if hi is not None and v > hi:
        raise where.error(table, key, f"must be {kind} ≤ {hi}, got {v!r}")
    return int(v) if integer else float(v)


def _str(d, key, default, where, table, choices=None):
    if key not in d:
        return default
    v = d[key]
    if not isinstance(v, str):
        raise where.error(table, key, f"must be a string, got {v!r}")
    if choices is not None and v not in choices:
        raise where.error(table, key, f"must be one of {', '.join(choices)}, got {v!r}")
    return v


def _bool(d, key, default, where, table):
    if key not in d:
        return default
    v = d[key]
    if not isinstance(v, bool):
        raise where.error(table, key, f"must be true or false, got {v!r}")
    return v


def _dist(d, key, default, where, table):
    if key not in d:
        return default
    try:
        return Distribution.parse(d[key])
    except DistributionError as err:
        raise where.error(table, key, str(err)) from None


def _table(d, key, where, table) -> dict[str, Any]:
    v = d.get(key, {})
    if not isinstance(v, Mapping):
        raise where.error(table, key, f"must be a table, got {v!r}")
    return dict(v)


_EXT_RE = re.compile(r"^\d+(-\d+)?$")


def _server(d: Mapping[str, Any], index: int, where: _Where) -> ServerSpec:
    if not isinstance(d, Mapping):
        raise where.error("servers", None, f"entry {index + 1} must be a table")
    sid = d.get("id")
    if not isinstance(sid, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", sid or ""):
        raise where.error("servers", "id", f"entry {index + 1} needs an id of letters, digits, _ or -, "
                                           f"got {sid!r}")
    t = f"servers.{sid}"
    _take(d, {f.name for f in fields(ServerSpec)}, where, t)
    exts = d.get("extensions", [])
    if not isinstance(exts, list) or not all(isinstance(e, str) and _EXT_RE.match(e) for e in exts):
        raise where.error(t, "extensions", f"must be a list of numbers or ranges like \"6000-6099\", got {exts!r}")
    for e in exts:
        lo, _, hi = e.partition("-")
        if hi and (len(lo) != len(hi) or int(hi) < int(lo)):
            raise where.error(t, "extensions", f"range {e!r} must go up and keep its length")
    return ServerSpec(
        id=sid,
        extensions=tuple(exts),
        internal=_str(d, "internal", "", where, t),
        external=_str(d, "external", "", where, t),
        site=_str(d, "site", "", where, t),
        cores=_num(d, "cores", 1, where, t, lo=1, integer=True),
        channels=_num(d, "channels", 1000, where, t, lo=1, integer=True),
        matcher=_str(d, "matcher", "linear", where, t, MATCHERS),
        digit_timeout=_num(d, "digit_timeout", 5.0, where, t, lo=0),
        qualify=_bool(d, "qualify", True, where, t),
        nat=_bool(d, "nat", False, where, t),
        external_conf=_str(d, "external_conf", None, where, t),
        link_conf=_str(d, "link_conf", None, where, t),
    )


_TRAFFIC_KEYS = {f.name for f in fields(TrafficSpec)}


def _traffic_overrides(d: Mapping[str, Any], where: _Where, table: str) -> dict[str, Any]:
    _take(d, _TRAFFIC_KEYS, where, table)
    out: dict[str, Any] = {}
    if "calls_per_hour" in d and "erlangs" in d:
        raise where.error(table, "erlangs", "give calls_per_hour or erlangs, not both")
    for key, other in (("calls_per_hour", "erlangs"), ("erlangs", "calls_per_hour")):
        if key in d:  # one replaces the other when a server overrides the default
            out[key] = _num(d, key, None, where, table, lo=0)
            out[other] = None
    for key in ("local", "remote", "unassigned"):
        if key in d:
            out[key] = _num(d, key, None, where, table, lo=0, hi=1)
    for key in ("holding", "answer_delay", "digit_interval"):
        if key in d:
            out[key] = _dist(d, key, None, where, table)
    if "dialling" in d:
        out["dialling"] = _str(d, "dialling", None, where, table, DIALLING_MODES)
    if "extension_busy" in d:
        out["extension_busy"] = _bool(d, "extension_busy", True, where, table)
    if "to" in d:
        to = d["to"]
        if not isinstance(to, Mapping):
            raise where.error(table, "to", f"must be a table of server id = share, got {to!r}")
        out["to"] = {str(k): _num(to, k, None, where, table, lo=0, hi=1) for k in to}
    return out


def _link(d, where, i) -> LinkSpec:
    t = "network.links"
    if not isinstance(d, Mapping):
        raise where.error(t, None, f"entry {i + 1} must be a table")
    _take(d, {"from", "to", "latency", "jitter", "loss"}, where, t)
    for key in ("from", "to"):
        if not isinstance(d.get(key), str):
            raise where.error(t, key, f"entry {i + 1} needs a server id, got {d.get(key)!r}")
    return LinkSpec(d["from"], d["to"], _dist(d, "latency", None, where, t),
                    _num(d, "jitter", None, where, t, lo=0), _num(d, "loss", None, where, t, lo=0, hi=1))


def _rule(d, where, i) -> FirewallRule:
    t = "network.firewall"
    if not isinstance(d, Mapping):
        raise where.error(t, None, f"entry {i + 1} must be a table")
    _take(d, {"from", "to", "kind", "port", "stateful"}, where, t)
    return FirewallRule(_str(d, "from", "*", where, t), _str(d, "to", "*", where, t),
                        _str(d, "kind", "any", where, t, ADDRESS_KINDS),
                        _num(d, "port", IAX2_PORT, where, t, lo=1, hi=65535, integer=True),
                        _bool(d, "stateful", True, where, t))


def scenario_from_dict(data: Mapping[str, Any], *, path: str | None = None, text: str | None = None,
                       base_dir: str | None = None) -> Scenario:
    """Validate a scenario dict (TOML shape) and build the :class:`Scenario`."""
    where = _Where(path, text)
    d = dict(data)
    top = {f.name for f in fields(Scenario)} - {"server_traffic"}
    _take(d, top, where, "")
    servers_raw = d.get("servers", [])
    if not isinstance(servers_raw, list) or not servers_raw:
        raise where.error("", "servers", "a scenario needs at least one [[servers]] entry")
    servers = [_server(s, i, where) for i, s in enumerate(servers_raw)]
    ids = [s.id for s in servers]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise where.error("servers", "id", f"duplicate server id {sorted(dup)[0]!r}")
    servers = _assign_addresses(servers)

    nd = _table(d, "network", where, "")
    _take(nd, {f.name for f in fields(NetworkSpec)}, where, "network")
    links_raw = nd.get("links", [])
    rules_raw = nd.get("firewall", [])
    if not isinstance(links_raw, list):
        raise where.error("network", "links", "must be an array of tables [[network.links]]")
    if not isinstance(rules_raw, list):
        raise where.error("network", "firewall", "must be an array of tables [[network.firewall]]")
    network = NetworkSpec(
        latency=_dist(nd, "latency", Distribution.fixed(0.02), where, "network"),
        site_latency=_dist(nd, "site_latency", Distribution.fixed(0.0005), where, "network"),
        jitter=_num(nd, "jitter", 0.0, where, "network", lo=0),
        loss=_num(nd, "loss", 0.0, where, "network", lo=0, hi=1),
        internal_scope=_str(nd, "internal_scope", "site", where, "network", INTERNAL_SCOPES),
        conntrack_timeout=_num(nd, "conntrack_timeout", 30.0, where, "network", lo=0),
        links=tuple(_link(x, where, i) for i, x in enumerate(links_raw)),
        firewall=tuple(_rule(x, where, i) for i, x in enumerate(rules_raw)),
    )
    for ln in network.links:
        for key, sid in (("from", ln.src), ("to", ln.dst)):
            if sid not in ids:
                raise where.error("network.links", key, f"unknown server {sid!r}")
    for r in network.firewall:
        for key, sid in (("from", r.src), ("to", r.dst)):
            if sid != "*" and sid not in ids:
                raise where.error("network.firewall", key, f"unknown server {sid!r}")

    td = _table(d, "traffic", where, "")
    per_server_raw = td.pop("servers", {})
    if not isinstance(per_server_raw, Mapping):
        raise where.error("traffic", "servers", "must be a table of per-server tables")
    traffic = replace(TrafficSpec(), **_traffic_overrides(td, where, "traffic"))
    server_traffic: dict[str, dict[str, Any]] = {}
    for sid, over in per_server_raw.items():
        t = f"traffic.servers.{sid}"
        if sid not in ids:
            raise where.error(t, None, f"unknown server {sid!r}")
        if not isinstance(over, Mapping):
            raise where.error(t, None, "must be a table")
        server_traffic[sid] = _traffic_overrides(over, where, t)
    for sid in ids:
        t = f"traffic.servers.{sid}" if sid in server_traffic else "traffic"
        tr = replace(traffic, **server_traffic.get(sid, {}))
        for target in tr.to:
            if target not in ids:
                raise where.error(t, "to", f"unknown server {target!r}")
            if target == sid:
                raise where.error(t, "to", f"server {sid!r} cannot list itself; use `local`")
        if tr.remote and len(ids) < 2:
            raise where.error(t, "remote", "needs at least two servers")
        if tr.by_plan:
            continue  # the plan's extensions decide the split; it sums to 1 by construction
        others = (tr.remote or 0.0) + tr.unassigned + sum(tr.to.values())
        if tr.local is None:
            if others > 1.0 + 1e-9:
                raise where.error(t, "remote", f"calling matrix shares (remote + to + unassigned) exceed 1, "
                                               f"got {others:g} for server {sid!r}")
            continue
        total = tr.local + others
        if abs(total - 1.0) > 1e-9:
            raise where.error(t, "local", f"calling matrix shares (local + remote + to + unassigned) must "
                                          f"sum to 1, got {total:g} for server {sid!r}")

    cd = _table(d, "cpu", where, "")
    _take(cd, {"base", "per_comparison"}, where, "cpu")
    cpu = CpuModel(_num(cd, "base", CpuModel.base, where, "cpu", lo=0),
                   _num(cd, "per_comparison", CpuModel.per_comparison, where, "cpu", lo=0))

    numbering = None
    if "numbering" in d:
        nb = _table(d, "numbering", where, "")
        _take(nb, {f.name for f in fields(NumberingSpec)}, where, "numbering")
        numbering = NumberingSpec(
            plan=_str(nb, "plan", None, where, "numbering"),
            extensions_per_server=_num(nb, "extensions_per_server", 100, where, "numbering", lo=1, integer=True),
            overlap=_num(nb, "overlap", 0.0, where, "numbering", lo=0, hi=1),
            length=_num(nb, "length", 4, where, "numbering", lo=1, hi=15, integer=True),
            seed=_num(nb, "seed", 0, where, "numbering", lo=0, integer=True),
            link_mode=_str(nb, "link_mode", "block", where, "numbering", LINK_MODES),
            block_digits=_num(nb, "block_digits", 2, where, "numbering", lo=0, integer=True),
        )
    elif not any(s.extensions or s.external_conf for s in servers):
        raise where.error("servers", "extensions", "no server has extensions; give extensions, "
                                                   "external_conf, or a [numbering] table")

    duration = _num(d, "duration", 3600.0, where, "", lo=0, strict_lo=True)
    return Scenario(
        name=_str(d, "name", "scenario", where, ""),
        servers=tuple(servers),
        network=network,
        traffic=traffic,
        server_traffic=server_traffic,
        cpu=cpu,
        numbering=numbering,
        linking=_str(d, "linking", "linked", where, "", LINKING_MODES),
        switch_cache=_num(d, "switch_cache", 0.0, where, "", lo=0),
        media=_str(d, "media", "formula", where, "", MEDIA_MODES),
        codec=_codec(d, where),
        trunk=_bool(d, "trunk", False, where, ""),
        trunk_timestamps=_bool(d, "trunk_timestamps", False, where, ""),
        trunk_mtu=_num(d, "trunk_mtu", 1240, where, "", lo=0, integer=True),
        duration=duration,
        warmup=_num(d, "warmup", 0.0, where, "", lo=0),
        seed=_num(d, "seed", 0, where, "", lo=0, integer=True),
        account=_str(d, "account", "1000", where, ""),
        keepalive=_bool(d, "keepalive", False, where, ""),
        capture=_bool(d, "capture", False, where, ""),
        base_dir=base_dir or _str(d, "base_dir", ".", where, ""),
    )


def _codec(d, where) -> str:
    from iaxsim.theory import CODECS

    return _str(d, "codec", "ulaw", where, "", tuple(CODECS))


def _assign_addresses(servers: list[ServerSpec]) -> list[ServerSpec]:
    """Fill in missing sites and addresses: internal 10.<site>.0.<n>, external 198.51.100.<n>."""
    sites: dict[str, int] = {}
    out = []
    for n, s in enumerate(servers, start=1):
        site = s.site or s.id
        sites.setdefault(site, len(sites) + 1)
        out.append(replace(s, site=site,
                           internal=s.internal or f"10.{sites[site]}.0.{n}",
                           external=s.external or f"198.51.{100 + n // 250}.{n % 250 + 1}"))
    return out


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file; relative file names resolve beside it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read scenario: {err.strerror}", str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        m = re.search(r"line (\d+)", str(err))
        raise ConfigError(f"not valid TOML: {err}", str(path), int(m.group(1)) if m else None) from None
    return scenario_from_dict(data, path=str(path), text=text, base_dir=str(path.parent))
