"""``iaxsim import``: read each server's Asterisk configuration, write a plan and a scenario.

One directory per server; its name is the server id (a name ``server<ID>``, the folders
``iaxsim plan linkconf --all`` writes and trixbox's own peer naming ``cserver<ID>i``, gives
``<ID>`` unless ``keep_dir_names``). Two layouts are read:

* **trixbox**: ``external.conf`` (the server's own extensions, context ``external``) and
  ``link.conf`` (context ``link``: how to reach the other servers);
* **plain Asterisk**: ``extensions.conf``; ``context`` (default ``external``) holds the
  server's extensions. Within it, an extension whose ``Dial`` addresses a number on another
  server (``IAX2/[user@]peer/number[@context]``) is a route; every other one is the server's
  own (``Dial(IAX2/${EXTEN})`` rings a phone).

and, in either layout, an optional ``iax.conf`` (:mod:`iaxsim.deploy.iaxconf`).

Peers named in Dial strings map to servers by these rules, in order:

1. trixbox's convention ``c<id>i`` / ``c<id>x`` (internal / external address; ``cserver<id>i``
   too), exactly as the simulator resolves them;
2. otherwise the ``host`` of the peer's iax.conf section, when it equals an address another
   server is known by (its ``bindaddr``, or the host of a peer named by rule 1).

When the dialling server has an iax.conf, a Dial to a peer it does not define is left out of
the model (Asterisk would look the name up as a host name); without any iax.conf rule 1 alone
applies. A Dial that maps to no server, an unbounded pattern (``_X.``), an include of a missing
context and every iax.conf setting the model has no place for is listed in ``import.txt``
with its file and line. Nothing is dropped silently.

What the scenario gets: each server's numbers (``extensions``), its dialplans rewritten with
every mapped peer as ``c<id>i``/``c<id>x`` (``NETDIR/<id>/external.conf`` and ``link.conf``),
its internal/external addresses and qualify from iax.conf, the network's trunking and trunk
MTU, and traffic the importer sets explicitly (``docs/import.md``).
"""
from __future__ import annotations

import itertools
import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from iaxsim.deploy.iaxconf import IaxPeer, IaxSettings, read_iax_conf
from iaxsim.dialplan import Dialplan
from iaxsim.dialplan.linked import LinkedServer
from iaxsim.dialplan.model import DialplanWarning, Extension, Priority
from iaxsim.dialplan.patterns import BANG, DOT, SET
from iaxsim.errors import ConfigError
from iaxsim.numbering import NumberingPlan
from iaxsim.files import replace_folder
from iaxsim.sim.toml_text import toml_value

__all__ = ["ImportResult", "ServerImport", "import_deployment", "write_import",
           "MAX_PATTERN_NUMBERS", "DEFAULT_CALLS_PER_HOUR", "DEFAULT_REMOTE"]

#: A pattern standing for more numbers than this is reported, not expanded into the plan.
MAX_PATTERN_NUMBERS = 100_000
DEFAULT_CALLS_PER_HOUR = 600.0
DEFAULT_REMOTE = 0.5
LOCAL_CONTEXT = "external"
LINK_CONTEXT = "link"

_ID = re.compile(r"^[A-Za-z0-9_]+$")
_TARGET = re.compile(r"^IAX2/(?:(?P<user>[^@/]*)@)?(?P<peer>[^/@]+)"
                     r"(?:/(?P<number>[^@]*)(?:@(?P<context>.*))?)?$", re.I)
_PEER = re.compile(r"^c(?P<id>.+)(?P<where>[ix])$")
_KIND = {"i": "internal", "x": "external"}
_VARS = re.compile(r"\$\{(?!EXTEN\}|ACCOUNT\})")


@dataclass
class ServerImport:
    """One server as imported: where it came from and what the model holds of it."""

    id: str
    directory: str
    layout: str                        # "trixbox" | "asterisk"
    files: list[str]
    numbers: list[str]
    own_lines: int
    routes: int
    external_conf: str
    link_conf: str
    internal: str | None = None
    external: str | None = None
    qualify: bool | None = None
    dials: set[str] = field(default_factory=set)   # server ids its routes reach


@dataclass
class ImportResult:
    """Everything ``iaxsim import`` writes, before it is written."""

    servers: list[ServerImport]
    plan: NumberingPlan
    scenario_toml: str
    summary: list[str]
    notes: list[DialplanWarning]

    @property
    def report(self) -> str:
        """The text of ``import.txt``."""
        lines = list(self.summary)
        lines.append("")
        if self.notes:
            lines.append(f"Not part of the model ({len(self.notes)} line(s), file:line):")
            lines.extend(f"  {n}" for n in self.notes)
        else:
            lines.append("Not part of the model: nothing; every line read became part of it.")
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- reading


@dataclass
class _Source:
    id: str
    directory: Path
    layout: str
    files: list[str]
    own: list[Extension]
    routes: list[Extension]
    iax: IaxSettings | None
    account: str | None
    notes: list[DialplanWarning]


def _server_id(directory: Path, keep_dir_names: bool) -> str:
    name = directory.resolve().name
    sid = name
    if not keep_dir_names and name.startswith("server") and len(name) > len("server"):
        sid = name[len("server"):]
    if not _ID.match(sid):
        raise ConfigError(f"server id {sid!r} (the directory name) must be letters, digits "
                          "and _ only, as a plan and an IAX2 peer name need", str(directory))
    return sid


def _load(path: Path, default_context: str | None) -> Dialplan:
    try:
        return Dialplan.from_file(path, default_context=default_context)
    except OSError as err:
        raise ConfigError(f"cannot read: {err.strerror}", str(path)) from None


def _walk(dp: Dialplan, top: str, notes: list[DialplanWarning]) -> list[Extension]:
    """Extensions of ``top`` then of what it includes (depth first, each context once, the
    first of two equal extensions kept, as Asterisk's search finds it first)."""
    out: list[Extension] = []
    seen_keys: dict[object, Extension] = {}
    seen_ctx: set[str] = set()

    def visit(name: str) -> None:
        if name.lower() in seen_ctx:
            return
        seen_ctx.add(name.lower())
        ctx = dp.contexts[name]
        for ext in ctx.sorted_extensions():
            first = seen_keys.get(ext.sort_key)
            if first is not None:
                p = ext.priorities[0]
                notes.append(DialplanWarning(p.path, p.line, f"{ext.name} in [{name}] is hidden by "
                                             f"the same extension in [{first.context}]: left out"))
                continue
            seen_keys[ext.sort_key] = ext
            out.append(ext)
        for sw in ctx.switches:
            notes.append(DialplanWarning(sw.path, sw.line, f"switch => {sw.module}/{sw.data}: not "
                                         "part of the model (links are read from Dial lines)"))
        for inc in ctx.includes:
            if inc.target not in dp.contexts:
                notes.append(DialplanWarning(inc.path, inc.line, f"include => {inc.name}: no "
                                             f"context [{inc.target}] exists; left out"))
                continue
            notes.append(DialplanWarning(inc.path, inc.line, f"include => {inc.name}: its "
                                         f"extensions are merged into [{top}] (the model keeps "
                                         "one context; Asterisk searches the including one first)"))
            if inc.timespec is not None:
                notes.append(DialplanWarning(inc.path, inc.line, f"include => {inc.name}: the time "
                                             "condition is not modelled (always open)"))
            visit(inc.target)

    visit(top)
    return out


def _dialplan_notes(dp: Dialplan) -> list[DialplanWarning]:
    # a missing include is reported by _walk with what the import does about it
    return [w for w in dp.warnings if "tries to include nonexistent context" not in w.message]


def _targets(prio: Priority) -> list[str]:
    if prio.app.lower() != "dial":
        return []
    return [t.strip() for t in prio.data.split(",", 1)[0].split("&") if t.strip()]


def _is_route(ext: Extension) -> bool:
    for prio in ext.priorities:
        for t in _targets(prio):
            m = _TARGET.match(t)
            if m and m.group("number") is not None:
                return True
    return False


def _read_source(directory: Path, context: str, keep_dir_names: bool) -> _Source:
    if not directory.is_dir():
        raise ConfigError("not a directory", str(directory))
    sid = _server_id(directory, keep_dir_names)
    notes: list[DialplanWarning] = []
    ext_path, link_path = directory / "external.conf", directory / "link.conf"
    plain_path = directory / "extensions.conf"
    files: list[str] = []
    if ext_path.exists():
        layout = "trixbox"
        local = _load(ext_path, LOCAL_CONTEXT)
        files.append(str(ext_path))
        notes.extend(_dialplan_notes(local))
        own_ctx = LOCAL_CONTEXT
        if own_ctx not in local.contexts:
            if len(local.contexts) != 1:
                raise ConfigError(f"no context [{LOCAL_CONTEXT}] (trixbox's own extensions)",
                                  str(ext_path))
            own_ctx = next(iter(local.contexts))
            notes.append(DialplanWarning(str(ext_path), None, f"no context [{LOCAL_CONTEXT}]: its "
                                         f"only context [{own_ctx}] read as the own extensions"))
        own = _walk(local, own_ctx, notes)
        routes: list[Extension] = []
        account = local.globals.get("ACCOUNT")
        if link_path.exists():
            link = _load(link_path, LINK_CONTEXT)
            files.append(str(link_path))
            notes.extend(_dialplan_notes(link))
            top = LINK_CONTEXT if LINK_CONTEXT in link.contexts else next(iter(link.contexts), None)
            if top is not None:
                routes = _walk(link, top, notes)
            account = account or link.globals.get("ACCOUNT")
        else:
            notes.append(DialplanWarning(str(ext_path), None, "no link.conf beside it: this server "
                                         "reaches no other server"))
        if plain_path.exists():
            notes.append(DialplanWarning(str(plain_path), None, "extensions.conf not read: the "
                                         "trixbox files external.conf + link.conf are"))
    elif plain_path.exists():
        layout = "asterisk"
        dp = _load(plain_path, None)
        files.append(str(plain_path))
        notes.extend(_dialplan_notes(dp))
        if context not in dp.contexts:
            raise ConfigError(f"no context [{context}] (the server's own extensions; see --context)",
                              str(plain_path))
        both = _walk(dp, context, notes)
        own = [e for e in both if not _is_route(e)]
        routes = [e for e in both if _is_route(e)]
        account = dp.globals.get("ACCOUNT")
    else:
        raise ConfigError("holds neither external.conf + link.conf (trixbox) nor extensions.conf",
                          str(directory))
    iax = None
    iax_path = directory / "iax.conf"
    if iax_path.exists():
        iax = read_iax_conf(iax_path)
        files.append(str(iax_path))
        notes.extend(iax.notes)
        notes.extend(iax.calltoken_lines)
    return _Source(sid, directory, layout, files, own, routes, iax, account, notes)


# --------------------------------------------------------------------------- numbers


def _numbers(ext: Extension) -> tuple[list[str], str | None]:
    """The numbers one extension stands for, or why it stands for none the plan can hold."""
    c = ext.compiled
    if ext.cid is not None:
        return [], (f"{ext.name}/{ext.cid_display}: matches only callers {ext.cid_display} "
                    "(simulated calls match no caller ID): not in the plan")
    if not c.is_pattern:
        if ext.exten.isdigit() and ext.exten.isascii():
            return [ext.exten], None
        return [], f"{ext.name}: not a number: not in the plan"
    if not c.regular:
        return [], f"{ext.name}: a pattern Asterisk reads irregularly: not in the plan"
    sets: list[str] = []
    for kind, chars in c.elements:
        if kind in (DOT, BANG):
            return [], (f"{ext.name}: unbounded pattern (numbers of any length): not in the plan")
        if kind != SET:
            return [], f"{ext.name}: matches no number: not in the plan"
        digits = "".join(ch for ch in chars if "0" <= ch <= "9")
        if len(digits) != len(chars):
            return [], f"{ext.name}: matches characters other than digits: not in the plan"
        sets.append(digits)
    size = 1
    for s in sets:
        size *= len(s)
    if size > MAX_PATTERN_NUMBERS:
        return [], (f"{ext.name}: stands for {size} numbers, more than the importer expands "
                    f"({MAX_PATTERN_NUMBERS}): not in the plan")
    return ["".join(p) for p in itertools.product(*sets)], None


def _ranges(numbers: Sequence[str]) -> list[str]:
    """Sorted numbers as ``"6000-6999"`` runs (equal width) and single numbers."""
    out: list[str] = []
    run: list[str] = []
    for n in numbers:
        if run and len(n) == len(run[-1]) and int(n) == int(run[-1]) + 1:
            run.append(n)
            continue
        if run:
            out.append(run[0] if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [n]
    if run:
        out.append(run[0] if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return out


# --------------------------------------------------------------------------- writing dialplans


def _escape(text: str) -> str:
    return text.replace(";", "\\;")


def _prio_line(ext: Extension, prio: Priority, app: str, data: str) -> str:
    name = prio.name + (f"/{ext.cid_display}" if ext.cid is not None else "")
    number = "hint" if prio.is_hint else str(prio.number)
    label = f"({prio.label})" if prio.label else ""
    body = f"{app}({data})" if data or app.lower() in ("dial", "noop") else app
    return _escape(f"exten => {name},{number}{label},{body}")


def _own_text(sid: str, own: Iterable[Extension], source: str) -> str:
    lines = [f"; {sid}: its own extensions, imported from {source}", f"[{LOCAL_CONTEXT}]"]
    for ext in own:
        for prio in ext.priorities:
            lines.append(_prio_line(ext, prio, prio.app, prio.data))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the import


class _Peers:
    """Maps Dial peers to servers (rules in the module docstring) and learns addresses."""

    def __init__(self, sources: list[_Source], notes: list[DialplanWarning]):
        self.ids = [s.id for s in sources]
        self.notes = notes
        self.addresses: dict[tuple[str, str], tuple[str, str]] = {}   # (id, kind) -> (ip, where)
        for s in sources:
            if s.iax is not None and s.iax.bindaddr:
                self._learn(s.id, "internal", s.iax.bindaddr, s.iax.path, s.iax.bindaddr_line)
        for s in sources:
            if s.iax is None:
                continue
            for peer in s.iax.peers.values():
                hit = self.by_name(peer.name)
                if hit is not None and peer.dialable and peer.address:
                    self._learn(hit[0], hit[1], peer.address, peer.path, peer.line)
        self.by_address = {ip: key for key, (ip, _) in self.addresses.items()}

    def _learn(self, sid: str, kind: str, ip: str, path: str, line: int) -> None:
        known = self.addresses.get((sid, kind))
        if known is None:
            self.addresses[(sid, kind)] = (ip, f"{path}:{line}")
        elif known[0] != ip:
            self.notes.append(DialplanWarning(path, line, f"gives {sid}'s {kind} address as {ip}, "
                                              f"but {known[1]} says {known[0]}: the first is used"))

    def by_name(self, peer: str) -> tuple[str, str] | None:
        m = _PEER.match(peer)
        if not m:
            return None
        name = m.group("id")
        if name in self.ids:
            return name, _KIND[m.group("where")]
        if name.startswith("server") and name[len("server"):] in self.ids:
            return name[len("server"):], _KIND[m.group("where")]
        return None

    def resolve(self, src: _Source, peer: str) -> tuple[str, str] | str:
        """(server id, address kind) the peer reaches, or why it reaches none."""
        name = peer.split(":", 1)[0]
        if src.iax is not None:
            section = src.iax.peers.get(name)
            if section is None:
                return f"peer {name} is defined in no iax.conf ({src.iax.path})"
            if not section.dialable:
                return f"[{name}] in {src.iax.path} is a {section.type}, not a peer one can dial"
            hit = self.by_name(name)
            if hit is not None:
                return hit
            if section.address and section.address in self.by_address:
                return self.by_address[section.address]
            return (f"peer {name} (host {section.host}) is no imported server: neither named "
                    "c<id>i/c<id>x nor at an address one is known by")
        hit = self.by_name(name)
        if hit is not None:
            return hit
        return f"peer {name} is not named c<id>i or c<id>x for an imported server (and no iax.conf)"


def _route_text(src: _Source, peers: _Peers, notes: list[DialplanWarning],
                server: ServerImport, used: list[IaxPeer]) -> tuple[str, int]:
    lines = [f"; {src.id}: how it reaches the other servers, imported from {src.directory}",
             f"[{LINK_CONTEXT}]"]
    count = 0
    for ext in src.routes:
        count += 1
        for prio in ext.priorities:
            if prio.is_hint:
                notes.append(DialplanWarning(prio.path, prio.line, f"{ext.name} hint: not part of the "
                                             "model"))
                continue
            kept: list[str] = []
            why: list[str] = []
            for t in _targets(prio):
                m = _TARGET.match(t)
                if not m or m.group("number") is None:
                    why.append(f"Dial target {t} is no IAX2/[user@]peer/number dial to another "
                               "server")
                    continue
                number, ctx = m.group("number"), m.group("context")
                if _VARS.search(number) or (ctx and "${" in ctx):
                    why.append(f"Dial target {t}: only ${{EXTEN}} and ${{ACCOUNT}} are substituted "
                               "by the model")
                    continue
                hit = peers.resolve(src, m.group("peer"))
                if isinstance(hit, str):
                    why.append(f"Dial target {t}: {hit}")
                    continue
                sid, kind = hit
                server.dials.add(sid)
                if src.iax is not None:
                    used.append(src.iax.peers[m.group("peer").split(":", 1)[0]])
                user = f"{m.group('user')}@" if m.group("user") is not None else ""
                peer = m.group("peer") if peers.by_name(m.group("peer")) == hit else f"c{sid}{kind[0]}"
                kept.append(f"IAX2/{user}{peer}/{number}" + (f"@{ctx}" if ctx is not None else ""))
            if prio.app.lower() != "dial":
                why.append(f"application {prio.app}: the model runs only Dial in link routes")
            for w in why:
                notes.append(DialplanWarning(prio.path, prio.line, f"{ext.name}: {w}: left out"))
            if kept:
                rest = prio.data.split(",", 1)
                data = "&".join(kept) + ("," + rest[1] if len(rest) > 1 else "")
                lines.append(_prio_line(ext, prio, "Dial", data))
            else:
                # the pattern still matches (as in Asterisk), but the model dials nobody
                lines.append(_prio_line(ext, prio, "NoOp", f"left out of the model at "
                                        f"{os.path.basename(prio.path)} line {prio.line}"))
    return "\n".join(lines) + "\n", count


def import_deployment(dirs: Sequence[str | os.PathLike[str]], context: str = LOCAL_CONTEXT, *,
                      calls_per_hour: float = DEFAULT_CALLS_PER_HOUR, remote: float = DEFAULT_REMOTE,
                      keep_dir_names: bool = False) -> ImportResult:
    """Read every server directory and build the plan, the scenario and the report.

    Bad input (a config that does not parse, no numbers at all, an impossible option) raises
    :class:`~iaxsim.errors.ConfigError` naming the file and line.
    """
    if not dirs:
        raise ConfigError("no server directory given")
    if not context or any(ch in context for ch in "[]\n"):
        raise ConfigError(f"--context must name a context, got {context!r}")
    if not 0.0 <= remote <= 1.0:
        raise ConfigError(f"--remote must be a share in [0, 1], got {remote}")
    if not calls_per_hour >= 0.0:
        raise ConfigError(f"--calls-per-hour must be ≥ 0, got {calls_per_hour}")
    sources = [_read_source(Path(d), context, keep_dir_names) for d in dirs]
    ids = [s.id for s in sources]
    for sid in ids:
        if ids.count(sid) > 1:
            dup = [str(s.directory) for s in sources if s.id == sid]
            raise ConfigError(f"two directories give server id {sid!r}: {', '.join(dup)}")
    if len(ids) == 1 and remote > 0:
        remote = 0.0  # one server has nobody to call: recorded in the summary below
    notes: list[DialplanWarning] = []
    for s in sources:
        notes.extend(s.notes)
    peers = _Peers(sources, notes)

    servers: list[ServerImport] = []
    trunked: list[IaxPeer] = []
    for s in sources:
        numbers: set[str] = set()
        for ext in s.own:
            found, why = _numbers(ext)
            if why is not None:
                p = ext.priorities[0]
                notes.append(DialplanWarning(p.path, p.line, why))
            numbers.update(found)
        srv = ServerImport(s.id, str(s.directory), s.layout, s.files,
                           sorted(numbers, key=lambda n: (len(n), n)), len(s.own), 0,
                           _own_text(s.id, s.own, ", ".join(s.files)), "")
        used: list[IaxPeer] = []
        srv.link_conf, srv.routes = _route_text(s, peers, notes, srv, used)
        for kind in ("internal", "external"):
            hit = peers.addresses.get((s.id, kind))
            if hit is not None:
                setattr(srv, kind, hit[0])
        if s.iax is not None:
            srv.qualify = any(peer.qualify_ms > 0 for peer in used)
            if srv.qualify:
                for peer in sorted({p for p in used if not p.qualify_ms}, key=lambda p: p.line):
                    notes.append(DialplanWarning(
                        peer.path, peer.line, f"[{peer.name}] is not qualified, but other peers "
                        f"{s.id} dials are; the model qualifies all of a server's peers or none: all"))
            trunked.extend(used)
        servers.append(srv)
    if not any(srv.numbers for srv in servers):
        raise ConfigError("no server owns any number the plan can hold (see the contexts read): "
                          "nothing to simulate", servers[0].directory)

    trunk = any(p.trunk for p in trunked)
    if trunk:
        for peer in sorted({p for p in trunked if not p.trunk}, key=lambda p: (p.path, p.line)):
            notes.append(DialplanWarning(peer.path, peer.line, f"[{peer.name}] has no trunk = yes, "
                                         "but other linked peers do; the model trunks every link "
                                         "or none: all"))
    iaxes = [s.iax for s in sources if s.iax is not None]
    mtus = {x.trunkmtu for x in iaxes if x.trunkmtu is not None}
    tss = {x.trunktimestamps for x in iaxes if x.trunktimestamps is not None}
    for what, values in (("trunkmtu", mtus), ("trunktimestamps", tss)):
        if len(values) > 1:
            for x in iaxes:
                if getattr(x, what) is not None:
                    notes.append(DialplanWarning(x.path, None, f"{what} = {getattr(x, what)}, but "
                                                 "other servers differ; the model has one for the "
                                                 f"network: {min(values)}"))
    accounts = {s.account for s in sources if s.account}
    if len(accounts) > 1:
        for s in sources:
            if s.account:
                notes.append(DialplanWarning(s.files[0], None, f"ACCOUNT = {s.account}, but other "
                                             "servers differ; the model has one: "
                                             f"{sorted(accounts)[0]}"))

    plan = NumberingPlan.from_dict({srv.id: srv.numbers for srv in servers})
    top: dict[str, object] = {"name": "import", "duration": 3600.0, "warmup": 120.0, "seed": 1,
                              "linking": "linked", "trunk": trunk}
    if mtus:
        top["trunk_mtu"] = min(mtus)
    if tss:
        top["trunk_timestamps"] = min(tss)
    if accounts:
        top["account"] = sorted(accounts)[0]
    traffic = {"calls_per_hour": float(calls_per_hour), "local": 1.0 - remote, "remote": remote,
               "holding": {"dist": "exponential", "mean": 180.0}}
    toml = _scenario_toml(top, servers, traffic)
    notes.sort(key=lambda n: (n.path, n.line or 0))
    summary = _summary(servers, sources, trunk, traffic, plan, notes)
    return ImportResult(servers, plan, toml, summary, notes)


def _scenario_toml(top: dict[str, object], servers: list[ServerImport],
                   traffic: dict[str, object]) -> str:
    lines = ["# Written by `iaxsim import` (see import.txt for what was read and left out).",
             "# Servers, addresses, qualify and trunking come from the imported configuration;",
             "# the traffic is the importer's (docs/import.md): edit it to fit the deployment."]
    lines += [f"{k} = {toml_value(v)}" for k, v in top.items()]
    for srv in servers:
        lines += ["", "[[servers]]", f"id = {toml_value(srv.id)}",
                  f"extensions = {toml_value(_ranges(srv.numbers))}",
                  f"external_conf = {toml_value(f'{srv.id}/external.conf')}",
                  f"link_conf = {toml_value(f'{srv.id}/link.conf')}"]
        for key in ("internal", "external", "qualify"):
            value = getattr(srv, key)
            if value is not None:
                lines.append(f"{key} = {toml_value(value)}")
    lines += ["", "[traffic]"] + [f"{k} = {toml_value(v)}" for k, v in traffic.items()]
    return "\n".join(lines) + "\n"


def _summary(servers: list[ServerImport], sources: list[_Source], trunk: bool,
             traffic: dict[str, object], plan: NumberingPlan,
             notes: list[DialplanWarning]) -> list[str]:
    out = [f"iaxsim import: {len(servers)} server(s), {len(plan)} number(s) in plan.csv", ""]
    for srv, src in zip(servers, sources):
        named = Path(srv.directory).resolve().name
        how = "" if named == srv.id else f"; id {srv.id}: trixbox's 'server' prefix dropped"
        out.append(f"{srv.id} ({srv.layout}, directory {srv.directory}{how})")
        out.append(f"  read: {', '.join(srv.files)}")
        out.append(f"  own extensions: {srv.own_lines} line(s) -> {len(srv.numbers)} number(s)")
        reach = ", ".join(sorted(srv.dials)) or "no server"
        out.append(f"  routes: {srv.routes} pattern(s), dialling {reach}")
        for key in ("internal", "external"):
            value = getattr(srv, key)
            out.append(f"  {key} address: {value if value else 'not given: the simulator default'}")
        if srv.qualify is None:
            out.append("  qualify: no iax.conf: the simulator default (on)")
        else:
            out.append(f"  qualify: {'on' if srv.qualify else 'off'} (iax.conf)")
        out.append(f"  site: {srv.id} (each server its own site: internal addresses reach only "
                   "within a site; set `site` to share one)")
        if not srv.numbers:
            out.append("  owns no number: it only originates calls")
    tokens = [n for n in notes if "calltoken" in n.message]
    out += ["", f"network: trunking {'on' if trunk else 'off'}; call tokens: required everywhere "
            f"(the model always runs the exchange{'; see the lines below' if tokens else ''})",
            f"traffic (importer's, edit network.toml): {traffic['calls_per_hour']} calls/h per "
            f"server, local {traffic['local']}, remote {traffic['remote']}, holding exponential "
            "mean 180 s",
            "peers: mapped by name c<id>i / c<id>x (cserver<id>i too), else by iax.conf host"]
    return out


# --------------------------------------------------------------------------- writing


def _check_loads(result: ImportResult, base: Path) -> None:
    """The written scenario loads, and so does every server's pair of dialplans."""
    from iaxsim.sim.scenario import scenario_from_dict

    scenario_from_dict(tomllib.loads(result.scenario_toml), path=str(base / "network.toml"),
                       text=result.scenario_toml, base_dir=str(base))
    for srv in result.servers:
        LinkedServer.from_strings(srv.external_conf, srv.link_conf, name=srv.id,
                                  external_path=f"{srv.id}/external.conf",
                                  link_path=f"{srv.id}/link.conf")


def write_import(result: ImportResult, out: str | os.PathLike[str]) -> Path:
    """Write ``out/plan.csv``, ``network.toml``, ``import.txt`` and ``out/<id>/*.conf``.

    Everything is written to a temporary directory beside ``out`` and renamed into place at
    the end, so a failure leaves ``out`` as it was. An existing ``out`` is replaced only when
    it is empty or an earlier import (holds ``import.txt``).
    """
    target = Path(out)
    if target.exists():
        if not target.is_dir():
            raise ConfigError("exists and is not a directory", str(target))
        if any(target.iterdir()) and not (target / "import.txt").exists():
            raise ConfigError("exists and is not an earlier import (no import.txt): not replaced",
                              str(target))
    parent = target.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    try:
        for srv in result.servers:
            (tmp / srv.id).mkdir()
            (tmp / srv.id / "external.conf").write_text(srv.external_conf, encoding="utf-8")
            (tmp / srv.id / "link.conf").write_text(srv.link_conf, encoding="utf-8")
        result.plan.to_csv(tmp / "plan.csv")
        (tmp / "network.toml").write_text(result.scenario_toml, encoding="utf-8")
        _check_loads(result, tmp)
        (tmp / "import.txt").write_text(result.report, encoding="utf-8")
        replace_folder(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
