"""What a node does with a dialled number: the dialplan of its conf directory as steps.

A conf directory holds an ``extensions.conf`` or trixbox's ``external.conf`` + ``link.conf``.
For the linked-server pair the node serves three contexts:

``external``       its own extensions only (external.conf) -- what linked peers dial into;
``link``           link.conf only;
``from-internal``  (the ``[general] context`` of iax.conf) the FONcore lookup used for local
                   phones and for NEWs that name no context: external.conf first, then link.conf
                   (``LinkedServer.resolve``).

Any other context does not exist (Asterisk: REJECT "No such context/extension", cause 3).

The matching extension's priorities become :class:`Step`s, tried in order as Asterisk runs a
failed ``Dial`` on to the next priority: ``Dial(IAX2/[user[:secret]@]peer[/number[@context]])``
is a :class:`DialStep` (``&``-joined targets are tried one after the other); ``Hangup``,
``Busy``, ``Congestion`` end the list; any other application answers the call locally (echo
of the caller's audio, or a tone for ``Milliwatt``/``Playtones``) and ends the list.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable

from iaxsim.dialplan import Dialplan, Extension
from iaxsim.dialplan.linked import LinkedServer
from iaxsim.errors import ConfigError, IaxsimError

_DIAL = re.compile(r"^IAX2/(?:(?P<user>[^@/:]*)(?::(?P<secret>[^@/]*))?@)?(?P<peer>[^/@]+)"
                   r"(?:/(?P<number>[^@]*)(?:@(?P<context>.*))?)?$", re.I)
_END_APPS = {"hangup", "busy", "congestion"}
_TONE_APPS = {"milliwatt", "playtones"}


@dataclass(frozen=True)
class DialStep:
    """Dial ``peer`` (an iax.conf section, or a registered phone) for ``number``."""

    peer: str
    number: str
    context: str | None
    username: str | None
    secret: str | None
    dial_string: str
    priority: int


@dataclass(frozen=True)
class AnswerStep:
    """Answer locally: ``mode`` is "echo" or "tone" (None: the node's default)."""

    app: str
    mode: str | None
    priority: int


@dataclass(frozen=True)
class EndStep:
    """The dialplan ends the call (Hangup/Busy/Congestion)."""

    app: str
    priority: int


Step = DialStep | AnswerStep | EndStep


def _substitute(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    return text


def parse_dial(data: str, number: str, account: str, path: str = "<dialplan>",
               line: int | None = None, priority: int = 1) -> list[DialStep]:
    """The IAX2 targets of a Dial application's data, ``${EXTEN}``/``${ACCOUNT}`` substituted."""
    first = data.split(",", 1)[0]
    steps = []
    for part in first.split("&"):
        target = _substitute(part.strip(), {"EXTEN": number, "ACCOUNT": account})
        m = _DIAL.match(target)
        if not m:
            raise ConfigError(f"Dial target {target!r} is not IAX2/[user[:secret]@]peer[/number[@context]]",
                              path, line)
        steps.append(DialStep(m.group("peer"), m.group("number") if m.group("number") is not None
                              else number, m.group("context"), m.group("user") or None,
                              m.group("secret"), target, priority))
    return steps


def extension_steps(ext: Extension, number: str, account: str) -> list[Step]:
    """The steps of an extension's priorities (see the module docstring)."""
    steps: list[Step] = []
    for prio in ext.priorities:
        if prio.is_hint:
            continue
        app = prio.app.lower()
        if app == "dial" and prio.data.strip().upper().startswith("IAX2/"):
            steps.extend(parse_dial(prio.data, number, account, prio.path, prio.line, prio.number))
        elif app == "dial":
            continue  # a non-IAX2 technology: unavailable here, Asterisk moves on
        elif app in _END_APPS:
            steps.append(EndStep(prio.app, prio.number))
            break
        else:
            mode = "echo" if app == "echo" else "tone" if app in _TONE_APPS else None
            steps.append(AnswerStep(prio.app, mode, prio.number))
            break
    return steps


class NodeDialplan:
    """The dialplan a node serves, for routing and for the engine's DPREQ answers."""

    def __init__(self, dialplan: Dialplan | None = None, linked: LinkedServer | None = None,
                 internal_context: str = "from-internal"):
        source: Dialplan | LinkedServer
        if dialplan is not None and linked is None:
            source = dialplan
        elif linked is not None and dialplan is None:
            source = linked
        else:
            raise ValueError("give exactly one of dialplan and linked")
        self.source = source
        self.internal_context = internal_context
        self.warnings = list(source.warnings)

    @classmethod
    def from_dir(cls, directory: str | os.PathLike[str], account: str = "1001",
                 internal_context: str = "from-internal") -> NodeDialplan:
        """Load ``DIR/extensions.conf``, or ``DIR/external.conf`` + ``DIR/link.conf``."""
        d = Path(directory)
        if not d.is_dir():
            raise ConfigError("not a directory", str(d))
        if (d / "extensions.conf").exists():
            return cls(dialplan=Dialplan.from_file(d / "extensions.conf"),
                       internal_context=internal_context)
        if (d / "external.conf").exists() and (d / "link.conf").exists():
            return cls(linked=LinkedServer.from_dir(d, account=account),
                       internal_context=internal_context)
        raise ConfigError("no extensions.conf, nor external.conf + link.conf", str(d))

    @property
    def account(self) -> str:
        """``${ACCOUNT}`` for dial strings."""
        return self.source.account if isinstance(self.source, LinkedServer) else "1001"

    def link_usernames(self) -> list[str]:
        """User names our own link.conf dials peers as (``c${ACCOUNT}i``/``x``): by the trixbox
        convention linked servers call each other with them, so a node accepts them (no
        secret) unless iax.conf says otherwise."""
        if not isinstance(self.source, LinkedServer):
            return []
        names: list[str] = []
        for ctx in self.source.link.contexts.values():
            for ext in ctx.sorted_extensions():
                for prio in ext.priorities:
                    if prio.app.lower() == "dial" and prio.data.strip().upper().startswith("IAX2/"):
                        for step in parse_dial(prio.data, "0", self.account, prio.path, prio.line):
                            if step.username and step.username not in names:
                                names.append(step.username)
        return names

    def find(self, number: str, context: str, callerid: str | None = None) -> Extension | None:
        """The extension Asterisk would run for ``number`` in ``context``, or None."""
        ls = self.source
        try:
            if isinstance(ls, Dialplan):
                return ls.find(number, context, callerid=callerid)
            if context == ls.local_context:
                return ls.local.find(number, ls.local_context, callerid=callerid)
            if context == ls.link_context:
                return ls.link.find(number, ls.link_context, callerid=callerid)
            if context == self.internal_context:
                res = ls.resolve(number, callerid=callerid)
                if res.local is not None:
                    return res.local
                return ls.link.find(number, ls.link_context, callerid=callerid)
        except (IaxsimError, KeyError):
            return None  # no such context
        return None

    def route(self, number: str, context: str, callerid: str | None = None) -> list[Step] | None:
        """The steps for ``number`` in ``context``; None when no extension matches."""
        ext = self.find(number, context, callerid)
        if ext is None:
            return None
        return extension_steps(ext, number, self.account)

    # -- the interface the engine calls for DPREQ (exists/canmatch/matchmore)
    def _parts(self, context: str) -> list[tuple[Dialplan, str]]:
        """The (dialplan, context) pairs a DPREQ for ``context`` asks."""
        ls = self.source
        if isinstance(ls, Dialplan):
            return [(ls, context)]
        parts = []
        if context in (ls.local_context, self.internal_context):
            parts.append((ls.local, ls.local_context))
        if context in (ls.link_context, self.internal_context):
            parts.append((ls.link, ls.link_context))
        return parts

    def _ask(self, test: Callable[[Dialplan, str], bool], context: str) -> bool:
        try:
            return any(test(dp, ctx) for dp, ctx in self._parts(context))
        except (IaxsimError, KeyError):
            return False

    def exists(self, number: str, context: str, callerid: str | None = None) -> bool:
        """Asterisk's ast_exists_extension over the served contexts."""
        return self._ask(lambda dp, ctx: dp.exists(number, ctx, callerid=callerid), context)

    def canmatch(self, number: str, context: str, callerid: str | None = None) -> bool:
        """Asterisk's ast_canmatch_extension over the served contexts."""
        return self._ask(lambda dp, ctx: dp.canmatch(number, ctx, callerid=callerid), context)

    def matchmore(self, number: str, context: str, callerid: str | None = None) -> bool:
        """Asterisk's ast_matchmore_extension over the served contexts."""
        return self._ask(lambda dp, ctx: dp.matchmore(number, ctx, callerid=callerid), context)
