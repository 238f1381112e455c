"""trixbox/FONcore linked-server lookup: local ``external.conf`` first, then ``link.conf``.

A server looks a dialled number up among its own extensions (``external.conf``, context
``external``); when none answers it scans ``link.conf`` (context ``link``), whose priorities
dial the owning peer over IAX2, internal address first::

    exten => _6XXX,1,Dial(IAX2/c${ACCOUNT}i@cserverBi/${EXTEN}@external)
    exten => _6XXX,2,Dial(IAX2/c${ACCOUNT}x@cserverBx/${EXTEN}@external)

The peer name is ``c<server id>`` followed by ``i`` (internal address) or ``x`` (external).
Either file may omit the ``[context]`` header (as trixbox's fragments do); its lines then
belong to the default context.  Every Dial target is checked when the files are loaded, so a
malformed line is reported with its file and line before any call is placed.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Final

from iaxsim.dialplan.dialplan import Dialplan
from iaxsim.dialplan.model import DialplanWarning, Extension, LookupCost, Priority
from iaxsim.errors import ConfigError

#: One parsed Dial target: (peer id, address, dial string, context, number).
Target = tuple[str, str, str, str, str]

__all__ = ["LinkedServer", "Resolution", "DialAttempt", "parse_dial_target"]

_TARGET = re.compile(r"^IAX2/(?:(?P<user>[^@/]*)@)?(?P<peer>[^/]+)/(?P<number>[^@]*)(?:@(?P<context>.*))?$", re.I)
_PEER = re.compile(r"^c(?P<id>.+?)(?P<where>[ix])$")
_ADDRESS = {"i": "internal", "x": "external"}
#: Stands for a digits-only number while a Dial line is split (see LinkedServer._targets).
_HOLE: Final = "\x00"


@dataclass(frozen=True, slots=True)
class DialAttempt:
    """One IAX2 dial the server would try, in order."""

    peer: str
    address: str
    priority: int
    dial_string: str
    context: str
    number: str


@dataclass(slots=True)
class Resolution:
    """Answer for one dialled number: a local extension, or the ordered remote attempts."""

    local: Extension | None
    attempts: list[DialAttempt]
    cost: LookupCost

    @property
    def is_local(self) -> bool:
        """True when the number is one of this server's own extensions."""
        return self.local is not None

    @property
    def found(self) -> bool:
        """True when the number is local or some peer is tried."""
        return self.local is not None or bool(self.attempts)


def parse_dial_target(target: str, path: str = "<string>", line: int | None = None) -> tuple[str, str, str, str]:
    """Split ``IAX2/user@c<id>(i|x)/number@context`` into (peer id, address, number, context)."""
    m = _TARGET.match(target.strip())
    if not m:
        raise ConfigError(f"link.conf Dial target {target!r} is not IAX2/[user@]peer/number[@context]", path, line)
    pm = _PEER.match(m.group("peer"))
    if not pm:
        raise ConfigError(f"link.conf peer {m.group('peer')!r} is not c<server>i or c<server>x", path, line)
    return pm.group("id"), _ADDRESS[pm.group("where")], m.group("number"), m.group("context") or "default"


def _substitute(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    return text


@dataclass
class LinkedServer:
    """One linked server: its local dialplan, its link dialplan and its account number."""

    local: Dialplan
    link: Dialplan
    account: str
    name: str = "server"
    local_context: str = "external"
    link_context: str = "link"
    warnings: list[DialplanWarning] = field(default_factory=list)
    # (id of a Dial priority, number) → (that priority, its parsed targets): the dialplans
    # do not change once loaded, and a busy server dials the same numbers again and again
    _target_cache: dict[tuple[int, str], tuple[Priority, list[Target]]] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    # a Dial line's application data → its targets split with the placeholder for the number
    # (None: the split refused it). Generated link.conf files repeat one line per peer address.
    _templates: dict[str, list[Target] | None] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.warnings = list(self.local.warnings) + list(self.link.warnings)
        ctx = self.link.contexts.get(self.link_context)
        for ext in (ctx.extensions if ctx else []):
            for prio in ext.priorities:
                # validates every Dial line at load time (an error names its file and line)
                if prio.app.lower() == "dial" and self._template(prio) is None:
                    self._parse_targets(prio, "0")

    @classmethod
    def from_strings(cls, external: str, link: str, account: str = "1001", name: str = "server",
                     external_path: str = "external.conf", link_path: str = "link.conf") -> "LinkedServer":
        """Build from the text of external.conf and link.conf."""
        local = Dialplan.from_string(external, external_path, default_context="external")
        linkdp = Dialplan.from_string(link, link_path, default_context="link")
        return cls(local, linkdp, str(account), name)

    @classmethod
    def from_dir(cls, path: "str | os.PathLike[str]", account: str = "1001", name: str | None = None) -> "LinkedServer":
        """Build from a directory holding external.conf and link.conf."""
        d = os.fspath(path)
        local = Dialplan.from_file(os.path.join(d, "external.conf"), default_context="external")
        linkdp = Dialplan.from_file(os.path.join(d, "link.conf"), default_context="link")
        return cls(local, linkdp, str(account), name or os.path.basename(os.path.normpath(d)))

    def _targets(self, prio: Priority, number: str) -> list[Target]:
        """The Dial targets of ``prio`` for ``number``, as ``_parse_targets`` splits them.

        Remembered by (priority, number). A number of ASCII digits cannot change how a target
        splits (every part of the target syntax treats a digit as it treats the NUL
        placeholder): for a new one, the line split once with the placeholder for ``${EXTEN}``
        is reused, the number put in its place. Lines that already hold a NUL, and anything
        the split refuses, take the full path (which raises the error with the real number).
        """
        key = (id(prio), number)
        cache = self._target_cache
        hit = cache.get(key)
        if hit is not None and hit[0] is prio:
            return hit[1]
        out: list[Target] | None = None
        if number.isdigit() and number.isascii():
            template = self._template(prio)
            if template is not None:
                out = [(peer.replace(_HOLE, number), address, dial.replace(_HOLE, number),
                        ctx.replace(_HOLE, number), num.replace(_HOLE, number))
                       for peer, address, dial, ctx, num in template]
        if out is None:
            out = self._parse_targets(prio, number)
        if len(cache) >= 65536:
            cache.clear()
        cache[key] = (prio, out)
        return out

    def _template(self, prio: Priority) -> list[Target] | None:
        """``prio``'s targets split once with the placeholder for the number, remembered by the
        line's text; None when the line or the account already holds the placeholder, or the
        split refuses it (the full parse then raises the error with the real number)."""
        data = prio.data
        templates = self._templates
        if data in templates:
            return templates[data]
        template: list[Target] | None = None
        if _HOLE not in data and _HOLE not in self.account:
            try:
                template = self._parse_targets(prio, _HOLE)
            except ConfigError:
                template = None
        templates[data] = template
        return template

    def _parse_targets(self, prio: Priority, number: str) -> list[Target]:
        if prio.app.lower() != "dial":
            return []
        values = {"EXTEN": number, "ACCOUNT": self.account}
        first = prio.data.split(",", 1)[0]
        out: list[Target] = []
        for part in first.split("&"):
            dial = _substitute(part.strip(), values)
            peer, address, num, ctx = parse_dial_target(dial, prio.path, prio.line)
            out.append((peer, address, dial, ctx, num))
        return out

    def first_dial(self, number: str, engine: str = "linear",
                   callerid: str | None = None) -> tuple[Extension | None, DialAttempt | None]:
        """``(local extension, None)`` when ``number`` is local, else ``(None, the first attempt
        of`` :meth:`resolve` ``or None)``: the same answer without splitting the later priorities."""
        ext = self.local.find(number, self.local_context, engine=engine, callerid=callerid)
        if ext is not None:
            return ext, None
        lext = self.link.find(number, self.link_context, engine=engine, callerid=callerid)
        if lext is not None:
            for prio in lext.priorities:
                for peer, address, dial, ctx, num in self._targets(prio, number):
                    return None, DialAttempt(peer, address, prio.number, dial, ctx, num)
        return None, None

    def resolve(self, number: str, engine: str = "linear", callerid: str | None = None) -> Resolution:
        """Local extension, else the link.conf attempts in priority order; cost of both searches.

        The arguments are checked by the lookups (a wrong type is a DialplanError)."""
        ext, cost = self.local.lookup(number, self.local_context, engine=engine, callerid=callerid)
        if ext is not None:
            return Resolution(ext, [], cost)
        lext, lcost = self.link.lookup(number, self.link_context, engine=engine, callerid=callerid)
        cost = cost + lcost
        attempts: list[DialAttempt] = []
        if lext is not None:
            for prio in lext.priorities:
                for peer, address, dial, ctx, num in self._targets(prio, number):
                    attempts.append(DialAttempt(peer, address, prio.number, dial, ctx, num))
        return Resolution(None, attempts, cost)
