"""Configuration files of one Asterisk server replaying a scenario's calls.

Each server gets its own ``asterisk.conf`` (its own directories under an instance directory),
``modules.conf`` (only the modules the replay uses), ``logger.conf`` (the ``full`` log the
replay reads), ``iax.conf`` and ``extensions.conf``:

* ``iax.conf``: ``bindaddr`` for the server's internal and external loopback addresses; a peer
  for every name its link.conf dials (``cserverBi`` or ``cBi`` for B's internal address,
  ``cserverBx`` or ``cBx`` for its external one) at the WAN emulator's face for it, sending from
  the server's own address of the same kind (``sourceaddress``), ``qualify`` as the scenario's
  server says; the users ``c<account>i`` and ``c<account>x`` the link.conf dials in with, in
  context ``external``. Call tokens stay at Asterisk's default (required), as the simulator's
  engine does it.
* ``extensions.conf``: ``[globals] ACCOUNT``; ``[external]``: every extension of the
  scenario's external.conf answered with ``Answer()``, held for the holding time the caller
  sends as its caller-ID name, then ``Hangup()``; ``[link]``: the scenario's link.conf as it
  is; ``[from-internal]``: ``include => external`` then ``include => link`` (external.conf
  first, as trixbox does); and the replay's own contexts that place the calls
  (``iaxsim-drive``, ``iaxsim-call``) and log them (``iaxsim-end``).

A call is placed as ``Local/<code>@iaxsim-drive``; the code is the call's 6-digit tag, its
holding time in milliseconds (7 digits) and the dialled number. ``iaxsim-drive`` originates
``Local/<code>@iaxsim-call/n`` from the dialplan (app_originate, which may wait longer than the
CLI's 30 s); ``iaxsim-call`` sets the caller ID to the tag (the CALLING_NUMBER of every NEW the
call sends) and its name to the holding time, logs the dial time, and goes to the number in
``from-internal``. Answers and call ends are logged too (``Verbose``), with the time from
``STRFTIME`` in microseconds.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

from iaxsim.dialplan import Dialplan

#: Modules every instance loads (``autoload = no``).
MODULES = ("res_timing_timerfd", "res_crypto", "res_speech", "res_agi", "chan_iax2", "pbx_config",
           "app_dial", "app_originate", "res_clioriginate", "app_stack", "app_verbose",
           "codec_ulaw", "bridge_simple", "func_strings", "func_channel", "func_callerid",
           "func_logic")
#: Tag digits and holding-time digits (milliseconds) at the start of a call's code.
TAG_DIGITS = 6
HOLD_DIGITS = 7
#: What the replay's dialplan writes to the log: ``iaxsim <what> <tag> <epoch s> [<more>]``.
LOG_MARK = "iaxsim"
_NOW = "${STRFTIME(,,%s.%6q)}"
_DIAL_PEER = re.compile(r"Dial\(\s*IAX2/(?:[^@/,)]*@)?([^/,:)\s]+)", re.I)
#: ``Answer()`` waits this long (s) for the first media frame before it returns (main/channel.c,
#: ``__ast_answer``: the larger of its delay argument and 500 ms); no media flows here.
ANSWER_MEDIA_WAIT = 0.5
#: The caller's side of an answered call waits this long (s): the far end hangs up first.
FOREVER = 86400


def peer_names(server: str) -> tuple[tuple[str, str], ...]:
    """(iax.conf peer name, address kind) for every name a link.conf may use for ``server``."""
    return ((f"cserver{server}i", "internal"), (f"c{server}i", "internal"),
            (f"cserver{server}x", "external"), (f"c{server}x", "external"))


def call_code(tag: int, holding: float, dialled: str) -> str:
    """The extension placed in ``iaxsim-drive`` for one call. The holding time it carries is
    what remains after ``Answer()``, which waits :data:`ANSWER_MEDIA_WAIT` for media itself."""
    ms = max(0, round((holding - ANSWER_MEDIA_WAIT) * 1000))
    if tag >= 10 ** TAG_DIGITS or ms >= 10 ** HOLD_DIGITS:
        raise ValueError(f"call tag {tag} or holding {holding} s out of range")
    return f"{tag:0{TAG_DIGITS}d}{ms:0{HOLD_DIGITS}d}{dialled}"


def asterisk_conf(instance: Path, build: Path, high_priority: bool = False) -> str:
    """``asterisk.conf``: the instance's own directories, the build's modules and data;
    ``high_priority``: Asterisk's real-time scheduling (``highpriority``, as ``-p``)."""
    return "\n".join([
        "[directories]",
        f"astetcdir => {instance / 'etc'}",
        f"astmoddir => {build / 'lib' / 'asterisk' / 'modules'}",
        f"astdatadir => {build / 'var' / 'lib' / 'asterisk'}",
        f"astvarlibdir => {instance / 'lib'}",
        f"astdbdir => {instance / 'lib'}",
        f"astkeydir => {instance / 'lib'}",
        f"astagidir => {instance / 'lib'}",
        f"astspooldir => {instance / 'spool'}",
        f"astrundir => {instance / 'run'}",
        f"astlogdir => {instance / 'log'}",
        f"astcachedir => {instance / 'cache'}",
        "[options]",
        "verbose = 3",
        f"highpriority = {'yes' if high_priority else 'no'}",
        ""])


def modules_conf() -> str:
    """``modules.conf``: no autoload, the replay's modules."""
    return "\n".join(["[modules]", "autoload = no"] + [f"load => {m}.so" for m in MODULES] + [""])


def logger_conf() -> str:
    """``logger.conf``: the ``full`` log with verbose messages."""
    return "[general]\ndateformat = %F %T.%3q\n[logfiles]\nfull => notice,warning,error,verbose\n"


def dialled_peers(link_conf: str) -> set[str]:
    """The peer names the ``Dial(IAX2/…)`` lines of a link.conf use."""
    return set(_DIAL_PEER.findall(link_conf))


def iax_conf(own: dict[str, tuple[str, int]], faces: dict[tuple[str, str], tuple[str, int]],
             account: str, qualify: bool, used: set[str] | None = None) -> str:
    """``iax.conf`` of one server: ``own`` its real addresses by kind, ``faces`` the WAN
    emulator's address for each (other server, kind) it reaches; ``used``: only these peer names
    (:func:`dialled_peers`; the rest would duplicate a peer at the same address, and two
    qualified peers at one address lose each other's PONGs)."""
    lines = ["[general]"]
    lines += [f"bindaddr = {host}:{port}" for host, port in own.values()]
    lines += ["disallow = all", "allow = ulaw", "jitterbuffer = no", "delayreject = no",
              "autokill = no", ""]
    for (server, kind), (host, port) in faces.items():
        for name, name_kind in peer_names(server):
            if name_kind != kind or (used is not None and name not in used):
                continue
            src = own.get(kind) or next(iter(own.values()))
            lines += [f"[{name}]", "type = peer", f"host = {host}", f"port = {port}",
                      f"sourceaddress = {src[0]}:{src[1]}", f"qualify = {'yes' if qualify else 'no'}",
                      "disallow = all", "allow = ulaw", ""]
    for letter in ("i", "x"):
        lines += [f"[c{account}{letter}]", "type = user", "context = external",
                  "disallow = all", "allow = ulaw", ""]
    return "\n".join(lines)


def own_extensions(external_conf: str, path: str = "external.conf") -> list[str]:
    """The extensions (as written, with a caller-ID match) of external.conf's ``external``."""
    dp = Dialplan.from_string(external_conf, path, default_context="external")
    if "external" not in dp.contexts:
        return []
    out = []
    for e in dp.context("external").extensions:
        out.append(e.name if e.cid is None else f"{e.name}/{e.cid}")
    return out


def _with_header(text: str, context: str) -> str:
    """``text`` with a ``[context]`` header first when its first line of content has none."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(";"):
            continue
        return text if stripped.startswith("[") else f"[{context}]\n{text}"
    return f"[{context}]\n{text}"


def extensions_conf(server: str, account: str, external_conf: str, link_conf: str,
                    wait: float) -> str:
    """``extensions.conf`` of one server (see the module); ``wait``: how long (s) a call may
    take to be answered before its Originate gives up."""
    lines = ["[general]", "static = yes", "writeprotect = yes", "", "[globals]",
             f"ACCOUNT = {account}", "", "[external]"]
    for name in own_extensions(external_conf):
        lines += [f"exten => {name},1,Verbose(0,{LOG_MARK} answer ${{CALLERID(num)}} {_NOW} {server})",
                  " same => n,Answer()",
                  " same => n,Wait(${CALLERID(name)})",
                  " same => n,Hangup()"]
    code = TAG_DIGITS + HOLD_DIGITS
    secs = HOLD_DIGITS - 3
    lines += ["", "[from-internal]", "include => external", "include => link", "",
              "[iaxsim-drive]",
              # a dialplan Originate may wait longer than the CLI's 30 s; the caller's side then
              # waits until the far end hangs up (or the server stops)
              f"exten => _X.,1,Originate(Local/${{EXTEN}}@iaxsim-call/n,app,Wait,{FOREVER},,"
              f"{max(1, math.ceil(wait))})",
              " same => n,Hangup()", "",
              "[iaxsim-call]",
              f"exten => _X.,1,Set(TAG=${{EXTEN:0:{TAG_DIGITS}}})",
              f" same => n,Set(CALLERID(all)=\"${{EXTEN:{TAG_DIGITS}:{secs}}}."
              f"${{EXTEN:{TAG_DIGITS + secs}:3}}\" <${{TAG}}>)",
              " same => n,Set(CHANNEL(hangup_handler_push)=iaxsim-end,s,1)",
              f" same => n,Verbose(0,{LOG_MARK} dial ${{TAG}} {_NOW} {server})",
              f" same => n,Goto(from-internal,${{EXTEN:{code}}},1)", "",
              "[iaxsim-end]",
              f"exten => s,1,Verbose(0,{LOG_MARK} end ${{CALLERID(num)}} {_NOW} {server})",
              " same => n,Return()", ""]
    return "\n".join(lines) + "\n" + _with_header(link_conf, "link") + "\n"
