"""The parts of a real ``iax.conf`` the simulator can model, read tolerantly.

:mod:`iaxsim.net.conf` reads the small iax.conf a live ``iaxsim node`` serves and refuses every
key it does not implement. A deployment's iax.conf holds many more (``allow``, ``secret``,
``context``, ``register`` …): here every line is read with Asterisk's generic config reader
(``main/config.c``: templates, ``#include``), the settings the scenario can express are
interpreted, and every other line is kept as a note with its file and line, so the import
report lists it. A value that cannot be read at all (``port = abc``, ``qualify = maybe``) is a
:class:`~iaxsim.errors.ConfigError` naming file and line.

Interpreted (``channels/chan_iax2.c``, ``set_config`` / ``build_peer``):

* ``[general]``: ``bindaddr`` (the server's own address), ``bindport``, ``trunkmtu``,
  ``trunktimestamps``, ``requirecalltoken``, ``calltokenoptional``;
* peer sections: ``type``, ``host``, ``port``, ``qualify`` (``yes`` = 2000 ms, a number of ms,
  ``no``/``0`` = off; Asterisk's default is off), ``trunk``, ``requirecalltoken``.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

from iaxsim.dialplan.config import ConfigReader
from iaxsim.dialplan.model import DialplanWarning
from iaxsim.errors import ConfigError

__all__ = ["IaxPeer", "IaxSettings", "read_iax_conf", "ast_bool"]

#: ast_true / ast_false (main/utils.c)
_TRUE = ("yes", "true", "y", "t", "1", "on")
_FALSE = ("no", "false", "n", "f", "0", "off")
#: qualify = yes means maxms 2000 (DEFAULT_MAXMS in chan_iax2.c)
DEFAULT_MAXMS = 2000


def ast_bool(value: str, key: str, path: str, line: int) -> bool:
    """Asterisk's yes/no words; anything else is a ConfigError naming file and line."""
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ConfigError(f"{key} must be yes or no, got {value!r}", path, line)


def _int(value: str, key: str, path: str, line: int, low: int, high: int) -> int:
    try:
        n = int(value.strip())
    except ValueError:
        raise ConfigError(f"{key} must be a whole number, got {value!r}", path, line) from None
    if not low <= n <= high:
        raise ConfigError(f"{key} must be between {low} and {high}, got {n}", path, line)
    return n


def _ipv4(value: str) -> str | None:
    try:
        return str(ipaddress.IPv4Address(value.strip()))
    except ValueError:
        return None


@dataclass(frozen=True)
class IaxPeer:
    """One section of iax.conf (peer, user or friend) with the settings the model uses."""

    name: str
    type: str
    host: str | None          # an IPv4 address, "dynamic", another host name, or None
    port: int
    qualify_ms: int            # 0: qualify off (Asterisk's default)
    trunk: bool
    requirecalltoken: str | None
    path: str
    line: int

    @property
    def dialable(self) -> bool:
        """Whether Dial(IAX2/…@name/…) reaches this section (a peer or friend)."""
        return self.type in ("peer", "friend")

    @property
    def address(self) -> str | None:
        """The peer's IPv4 address, or None (dynamic, a host name, no host)."""
        return _ipv4(self.host) if self.host else None


@dataclass
class IaxSettings:
    """What an iax.conf says that the model can use, and notes on everything it cannot."""

    path: str
    bindaddr: str | None = None
    bindaddr_line: int = 0
    trunkmtu: int | None = None
    trunktimestamps: bool | None = None
    peers: dict[str, IaxPeer] = field(default_factory=dict)
    calltoken_lines: list[DialplanWarning] = field(default_factory=list)
    notes: list[DialplanWarning] = field(default_factory=list)


_GENERAL_IGNORED_WHY = "not part of the model"


def read_iax_conf(path: str | os.PathLike[str]) -> IaxSettings:
    """Read ``path`` (an iax.conf); raises ConfigError with file:line for unreadable values."""
    p = os.fspath(path)
    reader = ConfigReader()
    try:
        reader.read_file(p)
    except OSError as err:
        raise ConfigError(f"cannot read: {err.strerror}", p) from None
    out = IaxSettings(p)
    out.notes.extend(reader.warnings)
    for cat in reader.categories:
        if cat.template:
            continue  # its lines reach the sections inheriting from it
        if cat.name.lower() == "general":
            for v in cat.lines:
                _general(out, v.name.lower(), v.value, v.path, v.line)
        else:
            _section(out, cat.name, cat.path, cat.line, [(v.name.lower(), v.value, v.path, v.line)
                                                          for v in cat.lines])
    return out


def _note(out: IaxSettings, path: str, line: int, message: str) -> None:
    out.notes.append(DialplanWarning(path, line, message))


def _general(out: IaxSettings, key: str, value: str, path: str, line: int) -> None:
    if key == "bindaddr":
        addr = _ipv4(value.split(":", 1)[0])
        if addr is None:
            raise ConfigError(f"bindaddr must be an IPv4 address, got {value!r}", path, line)
        if addr == "0.0.0.0":
            _note(out, path, line, "bindaddr = 0.0.0.0 names no address of the server: not used")
        else:
            out.bindaddr, out.bindaddr_line = addr, line
    elif key == "bindport":
        if _int(value, key, path, line, 1, 65535) != 4569:
            _note(out, path, line, f"bindport = {value}: the model always uses UDP 4569")
    elif key == "trunkmtu":
        out.trunkmtu = _int(value, key, path, line, 0, 65535)
    elif key == "trunktimestamps":
        out.trunktimestamps = ast_bool(value, key, path, line)
    elif key == "requirecalltoken":
        if not ast_bool(value, key, path, line):
            out.calltoken_lines.append(DialplanWarning(
                path, line, "requirecalltoken = no: not part of the model, which always runs "
                            "the call-token exchange (Asterisk's default)"))
    elif key == "calltokenoptional":
        out.calltoken_lines.append(DialplanWarning(
            path, line, f"calltokenoptional = {value}: not part of the model, which always runs "
                        "the call-token exchange"))
    else:
        _note(out, path, line, f"[general] {key} = {value}: {_GENERAL_IGNORED_WHY}")


def _section(out: IaxSettings, name: str, path: str, line: int,
             lines: list[tuple[str, str, str, int]]) -> None:
    kind = ""
    host: str | None = None
    port = 4569
    qualify = 0
    trunk = False
    calltoken: str | None = None
    for key, value, vpath, vline in lines:
        if key == "type":
            kind = value.strip().lower()
            if kind not in ("peer", "user", "friend"):
                raise ConfigError(f"[{name}] type must be peer, user or friend, got {value!r}",
                                  vpath, vline)
        elif key == "host":
            host = value.strip() or None
            if host and host.lower() != "dynamic" and _ipv4(host) is None:
                _note(out, vpath, vline, f"[{name}] host = {host}: not an IPv4 address, so it "
                                         "gives the model no address")
        elif key == "port":
            port = _int(value, key, vpath, vline, 1, 65535)
            if port != 4569:
                _note(out, vpath, vline, f"[{name}] port = {port}: the model always uses UDP 4569")
        elif key == "qualify":
            v = value.strip().lower()
            if v in _TRUE:
                qualify = DEFAULT_MAXMS
            elif v in _FALSE:
                qualify = 0
            else:
                qualify = _int(value, "qualify", vpath, vline, 0, 10_000_000)
            if qualify not in (0, DEFAULT_MAXMS):
                _note(out, vpath, vline, f"[{name}] qualify = {value}: the model's qualify uses "
                                         f"maxms {DEFAULT_MAXMS}, not {qualify}")
        elif key == "trunk":
            trunk = ast_bool(value, key, vpath, vline)
        elif key == "requirecalltoken":
            v = value.strip().lower()
            if v == "auto" or v in _FALSE:
                calltoken = "auto" if v == "auto" else "no"
                out.calltoken_lines.append(DialplanWarning(
                    vpath, vline, f"[{name}] requirecalltoken = {value}: not part of the model, "
                                  "which always runs the call-token exchange"))
            elif v in _TRUE:
                calltoken = "yes"
            else:
                raise ConfigError(f"[{name}] requirecalltoken must be yes, no or auto, "
                                  f"got {value!r}", vpath, vline)
        else:
            _note(out, vpath, vline, f"[{name}] {key} = {value}: {_GENERAL_IGNORED_WHY}")
    if not kind:
        raise ConfigError(f"[{name}] needs type = peer, user or friend", path, line)
    out.peers[name] = IaxPeer(name, kind, host, port, qualify, trunk, calltoken, path, line)
