"""A node's configuration directory: its dialplan and an ``iax.conf`` of peers and users.

The directory holds either an ``extensions.conf`` or trixbox's ``external.conf`` +
``link.conf``, and optionally ``iax.conf`` (Asterisk's syntax, a small subset)::

    [general]
    requirecalltoken = yes        ; yes (default) | no: every address as if calltokenoptional
    calltokenoptional = 127.0.0.1/32   ; may repeat: networks allowed in without a call token
    answer = echo                 ; what a local extension does: echo (default) | tone
    account = 1001                ; ${ACCOUNT} in link.conf dial strings
    context = from-internal       ; context of a NEW that names none
    pingtime = 1.0                ; initial ping time in s (first retransmission at 2x)
    maxsends = 4                  ; sends of a reliable frame before giving up

    [cserverBi]                   ; a peer named in link.conf dial strings
    type = peer
    host = 127.0.0.2
    port = 4569
    secret = ...                  ; used if that peer challenges us

    [c1001i]                      ; a user allowed to call us ("" secret: no authentication)
    type = user
    secret =

    [7001]                        ; a phone that registers (MD5) and can be called
    type = friend
    host = dynamic
    secret = s3cret
    requirecalltoken = no         ; yes | no | auto: see below

``requirecalltoken`` in a section is Asterisk's per-user/per-peer setting: a NEW without a
call token is judged by the ``user`` (or ``friend``) its USERNAME names, a REGREQ/REGREL by
the ``peer`` (or ``friend``); ``no`` lets it in, ``auto`` too until that name has once sent a
valid token, ``yes`` refuses it even from a ``calltokenoptional`` network. Values as Asterisk
reads them: yes/true/y/t/1/on, no/false/n/f/0/off, auto (any case).

Every key is checked; anything unknown or malformed is a ConfigError naming file and line.
With trixbox files, the user names the node's own link.conf dials with (``c${ACCOUNT}i`` and
``c${ACCOUNT}x``) are accepted without a secret unless iax.conf defines them.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from iaxsim.errors import ConfigError

GENERAL_KEYS = {"requirecalltoken", "calltokenoptional", "answer", "account", "context",
                "pingtime", "maxsends"}
PEER_KEYS = {"type", "host", "port", "secret", "username", "context", "requirecalltoken"}
ANSWER_MODES = ("echo", "tone")
#: requirecalltoken in a section: the words Asterisk accepts (ast_true, ast_false, "auto").
CALLTOKEN_WORDS = {**dict.fromkeys(("yes", "true", "y", "t", "1", "on"), "yes"),
                   **dict.fromkeys(("no", "false", "n", "f", "0", "off"), "no"),
                   "auto": "auto"}


@dataclass(frozen=True)
class PeerConf:
    """A section of iax.conf: a peer we call (``host``), a user who calls us, or both."""

    name: str
    type: str                       # peer | user | friend
    host: str | None = None      # None or "dynamic": reached at its registered address
    port: int = 4569
    secret: str = ""
    username: str | None = None
    context: str | None = None
    requirecalltoken: str | None = None   # yes | no | auto; None: not set

    @property
    def address(self) -> tuple[str, int] | None:
        """Static address of the peer, or None for a dynamic one."""
        if self.host is None or self.host == "dynamic":
            return None
        return self.host, self.port


@dataclass
class IaxConf:
    """The parsed iax.conf (defaults when the file is absent)."""

    requirecalltoken: bool = True
    calltokenoptional: list[str] = field(default_factory=list)
    answer: str = "echo"
    account: str = "1001"
    context: str = "from-internal"
    pingtime: float = 1.0
    maxsends: int = 4
    peers: dict[str, PeerConf] = field(default_factory=dict)
    path: str | None = None

    @property
    def users(self) -> dict[str, str]:
        """Names allowed to call or register, and their secrets (type user or friend)."""
        return {p.name: p.secret for p in self.peers.values() if p.type in ("user", "friend")}

    @property
    def user_calltoken_policy(self) -> dict[str, str]:
        """requirecalltoken of the sections that call in (user, friend) that set it."""
        return {p.name: p.requirecalltoken for p in self.peers.values()
                if p.type in ("user", "friend") and p.requirecalltoken is not None}

    @property
    def peer_calltoken_policy(self) -> dict[str, str]:
        """requirecalltoken of the sections that register (peer, friend) that set it."""
        return {p.name: p.requirecalltoken for p in self.peers.values()
                if p.type in ("peer", "friend") and p.requirecalltoken is not None}


def _bool(value: str, path: str, line: int, key: str) -> bool:
    v = value.lower()
    if v in ("yes", "true", "on", "1"):
        return True
    if v in ("no", "false", "off", "0"):
        return False
    raise ConfigError(f"{key} must be yes or no, got {value!r}", path, line)


def _number(value: str, path: str, line: int, key: str, kind: type, low: float) -> float:
    try:
        n = kind(value)
    except ValueError:
        raise ConfigError(f"{key} must be a number, got {value!r}", path, line) from None
    if n < low:
        raise ConfigError(f"{key} must be at least {low}, got {value!r}", path, line)
    return n


def parse_iax_conf(text: str, path: str = "iax.conf") -> IaxConf:
    """Parse iax.conf text (see the module docstring); raises ConfigError with file:line."""
    conf = IaxConf(path=path)
    section: str | None = None
    sections: dict[str, tuple[int, dict[str, tuple[str, int]]]] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                raise ConfigError(f"malformed section header {line!r}", path, lineno)
            section = line[1:-1].strip()
            if section in sections:
                raise ConfigError(f"section [{section}] appears twice", path, lineno)
            if section != "general":
                sections[section] = (lineno, {})
            continue
        if "=" not in line:
            raise ConfigError(f"expected 'key = value', got {line!r}", path, lineno)
        key, value = line.split("=", 1)
        key, value = key.strip().lower(), value.strip().lstrip(">").strip()
        if section is None:
            raise ConfigError(f"{key!r} before any [section]", path, lineno)
        if section == "general":
            _general(conf, key, value, path, lineno)
        else:
            if key not in PEER_KEYS:
                raise ConfigError(f"unknown setting {key!r} in [{section}] (known: "
                                  f"{', '.join(sorted(PEER_KEYS))})", path, lineno)
            entries = sections[section][1]
            if key in entries:
                raise ConfigError(f"{key!r} set twice in [{section}]", path, lineno)
            entries[key] = (value, lineno)
    for name, (lineno, entries) in sections.items():
        conf.peers[name] = _peer(name, entries, path, lineno)
    return conf


def _general(conf: IaxConf, key: str, value: str, path: str, lineno: int) -> None:
    if key not in GENERAL_KEYS:
        raise ConfigError(f"unknown setting {key!r} in [general] (known: "
                          f"{', '.join(sorted(GENERAL_KEYS))})", path, lineno)
    if key == "requirecalltoken":
        conf.requirecalltoken = _bool(value, path, lineno, key)
    elif key == "calltokenoptional":
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError as err:
            raise ConfigError(f"calltokenoptional: {err}", path, lineno) from None
        conf.calltokenoptional.append(value)
    elif key == "answer":
        if value not in ANSWER_MODES:
            raise ConfigError(f"answer must be one of {', '.join(ANSWER_MODES)}, got {value!r}",
                              path, lineno)
        conf.answer = value
    elif key == "pingtime":
        conf.pingtime = float(_number(value, path, lineno, key, float, 0.001))
    elif key == "maxsends":
        conf.maxsends = int(_number(value, path, lineno, key, int, 1))
    elif not value:
        raise ConfigError(f"{key} must not be empty", path, lineno)
    else:
        setattr(conf, key, value)


def _peer(name: str, entries: dict[str, tuple[str, int]], path: str, lineno: int) -> PeerConf:
    kind, kline = entries.get("type", ("", lineno))
    if kind not in ("peer", "user", "friend"):
        raise ConfigError(f"[{name}] needs type = peer, user or friend", path, kline)
    host = entries.get("host", (None, lineno))[0]
    if kind == "peer" and not host:
        raise ConfigError(f"[{name}] is a peer and needs host = ADDRESS (or dynamic)", path, lineno)
    port = 4569
    if "port" in entries:
        value, pline = entries["port"]
        port = int(_number(value, path, pline, "port", int, 0))
        if port > 65535:
            raise ConfigError(f"port out of range: {value}", path, pline)
    calltoken = None
    if "requirecalltoken" in entries:
        value, cline = entries["requirecalltoken"]
        calltoken = CALLTOKEN_WORDS.get(value.lower())
        if calltoken is None:
            raise ConfigError(f"requirecalltoken in [{name}] must be yes, no or auto, "
                              f"got {value!r}", path, cline)
    return PeerConf(name, kind, host or None, port, entries.get("secret", ("", 0))[0],
                    entries.get("username", (None, 0))[0] or None,
                    entries.get("context", (None, 0))[0] or None, calltoken)


def load_iax_conf(directory: "str | os.PathLike[str]") -> IaxConf:
    """``DIR/iax.conf`` parsed, or the defaults when there is none."""
    path = Path(directory) / "iax.conf"
    if not path.exists():
        return IaxConf()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read: {err}", str(path)) from None
    return parse_iax_conf(text, str(path))
