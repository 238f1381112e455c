"""Each replayed call's result, measured from what the Asterisk servers sent and logged.

The WAN emulator keeps every full frame it relays (``TapRecord``: as it arrived from a server,
and as it was sent on to the other one). A call's datagrams are found by its tag: the replay
sets the caller ID of each call to a tag of its own, which every NEW the origin sends for the
call carries as CALLING_NUMBER (RFC 5456 section 8.6.2); the replies of the far end are those
on the same address pair addressed to the NEW's source call number. The replay's dialplan logs,
per call and with the server's clock in microseconds, when it was dialled at the origin, when an
own extension answered it, and when the origin's channel ended (:mod:`asterisk_conf`).

Per call, in the simulator's terms (:mod:`iaxsim.validate`):

* *attempts*: the distinct addresses the origin sent the call's NEW to, or, when more, the
  link.conf ``Dial(IAX2/…)`` steps Asterisk logged for the call (a peer that qualify marked
  UNREACHABLE is skipped without a NEW, and still counts, as in the simulator);
* *answered_by*: the server whose ANSWER reached the origin (by the real address it came from),
  or the origin itself when one of its own extensions answered;
* *outcome*: ``answered``/``misrouted`` as for the nodes; else ``busy``/``congestion`` when the
  last final reply was BUSY/CONGESTION (or a REJECT with cause 17/34/42), ``failed`` when an
  attempt got no final reply (given up) or was skipped, else ``rejected``;
* *post-dial delay*: from the first NEW the origin sent (as it arrived at the emulator) to the
  ANSWER arriving at the origin (as the emulator sent it on); for a call that is not answered,
  to the last final reply, or to the end of the origin's channel when an attempt was given up;
  for a call that sent no NEW, between the dialplan's own log lines (dialled, answered/ended).
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from iaxsim.iax2 import ControlSubclass, DecodeError, FrameType, FullFrame, IAXSubclass, IEType, decode
from iaxsim.net.transport import Address
from iaxsim.net.wan import TapRecord
from iaxsim.validate.asterisk_conf import LOG_MARK, TAG_DIGITS
from iaxsim.validate.compare import CallResult
from iaxsim.validate.recovery import RecoveryIndex

_EVENT = re.compile(rf"app_verbose\.c: {LOG_MARK} (dial|answer|end) (\d+) (\d+(?:\.\d+)?) (\S+)")
#: a Dial over IAX2 of a replayed call: its extensions in external.conf answer without one, so
#: every such Dial is a link.conf step (the log names the channel's context, from-internal)
_DIAL = re.compile(r'Executing \[[^\]]*\] Dial\("Local/(\d+)@iaxsim-call-[^"]*", "IAX2/')
_BUSY_CAUSES = {17}
_CONGESTION_CAUSES = {34, 42}


@dataclass
class CallLog:
    """What the dialplans logged for one call (times in the servers' epoch seconds)."""

    dialled: float = math.nan
    answers: list[tuple[str, float]] = field(default_factory=list)
    ended: float = math.nan
    link_dials: int = 0


def parse_logs(texts: Iterable[str]) -> dict[int, CallLog]:
    """Every tag's :class:`CallLog`, from the ``full`` logs of all servers."""
    out: dict[int, CallLog] = {}
    for text in texts:
        for line in text.splitlines():
            m = _EVENT.search(line)
            if m is not None:
                what, tag, when, server = m.group(1), int(m.group(2)), float(m.group(3)), m.group(4)
                log = out.setdefault(tag, CallLog())
                if what == "dial":
                    log.dialled = when
                elif what == "answer":
                    log.answers.append((server, when))
                else:
                    log.ended = when
                continue
            m = _DIAL.search(line)
            if m is not None:
                out.setdefault(int(m.group(1)[:TAG_DIGITS]), CallLog()).link_dials += 1
    return out


@dataclass
class _Attempt:
    """The call's dialogs to one address of a far server."""

    peer: Address
    callnos: set[int] = field(default_factory=set)
    final: str = ""          # "rejected", "busy", "congestion" or "" (no final reply)
    final_at: float = math.nan
    answered_at: float = math.nan


@dataclass
class _Call:
    origin: str
    first_new: float = math.nan
    attempts: dict[Address, _Attempt] = field(default_factory=dict)


def _frame(data: bytes) -> FullFrame | None:
    try:
        frame = decode(data)
    except DecodeError:
        return None
    return frame if isinstance(frame, FullFrame) else None


def _final(frame: FullFrame) -> str:
    """The end a reply puts to an attempt ("" when it is not final)."""
    if frame.frametype == FrameType.IAX:
        if frame.subclass == IAXSubclass.REJECT:
            code = frame.ie(IEType.CAUSECODE)
            if code in _BUSY_CAUSES:
                return "busy"
            if code in _CONGESTION_CAUSES:
                return "congestion"
            return "rejected"
        if frame.subclass == IAXSubclass.HANGUP:
            return "rejected"
    elif frame.frametype == FrameType.CONTROL:
        if frame.subclass == ControlSubclass.BUSY:
            return "busy"
        if frame.subclass == ControlSubclass.CONGESTION:
            return "congestion"
    return ""


def _dialogs(tap: list[TapRecord], origins: Mapping[int, str],
             where: Mapping[Address, tuple[str, str]]) -> dict[int, _Call]:
    calls = {tag: _Call(origin) for tag, origin in origins.items()}
    dialog: dict[tuple[Address, Address, int], tuple[int, _Attempt]] = {}
    for rec in sorted(tap, key=lambda r: r.time):
        frame = _frame(rec.data)
        if frame is None:
            continue
        if rec.way == "in":
            if frame.frametype != FrameType.IAX or frame.subclass != IAXSubclass.NEW:
                continue
            number = frame.ie(IEType.CALLING_NUMBER)
            if not isinstance(number, str) or not number.isdigit():
                continue
            call = calls.get(int(number))
            if call is None or where.get(rec.src, ("", ""))[0] != call.origin:
                continue
            if math.isnan(call.first_new):
                call.first_new = rec.time
            att = call.attempts.setdefault(rec.dst, _Attempt(rec.dst))
            att.callnos.add(frame.source_call)
            dialog[(rec.src, rec.dst, frame.source_call)] = (int(number), att)
            continue
        found = dialog.get((rec.dst, rec.src, frame.dest_call))
        if found is None:
            continue
        _, att = found
        if (frame.frametype == FrameType.CONTROL and frame.subclass == ControlSubclass.ANSWER
                and math.isnan(att.answered_at)):
            att.answered_at = rec.time
        elif not att.final:
            end = _final(frame)
            if end:
                att.final, att.final_at = end, rec.time
    return calls


def measure(tags: list[int], origins: list[str], targets: list[str], tap: list[TapRecord],
            logs: Mapping[int, CallLog], where: Mapping[Address, tuple[str, str]],
            epoch_offset: float, waits: list[float] | None = None) -> list[CallResult]:
    """Each call's :class:`CallResult`.

    ``tags``/``origins``/``targets``: per call, its tag, origin server and the number's owner
    (``""`` for none); ``tap``: the emulator's records (:func:`time.monotonic` times);
    ``logs``: :func:`parse_logs`; ``where``: server and address kind of every real address;
    ``epoch_offset``: ``time.time() - time.monotonic()``, to put log times on the tap's clock;
    ``waits``: per call, how long after its start loss recovery is looked for when it has no
    post-dial delay (default 60 s).
    """
    calls = _dialogs(tap, dict(zip(tags, origins)), where)
    own: dict[str, set[Address]] = {}
    for addr, (server, _) in where.items():
        own.setdefault(server, set()).add(addr)
    views = {server: RecoveryIndex(
        (r.time, r.src, r.dst, r.data) for r in tap
        if (r.way == "in" and r.src in addrs) or (r.way == "out" and r.dst in addrs))
        for server, addrs in own.items()}
    results = []
    for i, (tag, origin, target) in enumerate(zip(tags, origins, targets)):
        call = calls[tag]
        log = logs.get(tag, CallLog())
        r = _result(call, log, origin, target, where, epoch_offset)
        start = call.first_new if not math.isnan(call.first_new) else log.dialled - epoch_offset
        wait = waits[i] if waits is not None else 60.0
        if not math.isnan(start):
            until = start + (r.post_dial_delay if not math.isnan(r.post_dial_delay) else wait)
            callnos = {n for a in call.attempts.values() for n in a.callnos}
            r.recovered = views[origin].any_between(own[origin], start, until, callnos)
        results.append(r)
    return results


def _result(call: _Call, log: CallLog, origin: str, target: str,
            where: Mapping[Address, tuple[str, str]], epoch_offset: float) -> CallResult:
    attempts = max(len(call.attempts), log.link_dials)
    answered = [a for a in call.attempts.values() if not math.isnan(a.answered_at)]
    if answered:
        first = min(answered, key=lambda a: a.answered_at)
        by, kind = where.get(first.peer, ("?", ""))
        outcome = "answered" if target in (by, "") else "misrouted"
        return CallResult(outcome, by, attempts, first.answered_at - call.first_new, kind)
    local = [t for server, t in log.answers if server == origin]
    if local and not call.attempts:
        outcome = "answered" if target in (origin, "") else "misrouted"
        return CallResult(outcome, origin, attempts, local[0] - log.dialled)
    ended = log.ended - epoch_offset
    start = call.first_new if not math.isnan(call.first_new) else log.dialled - epoch_offset
    finals = sorted((a for a in call.attempts.values() if a.final), key=lambda a: a.final_at)
    gave_up = len(finals) < len(call.attempts) or log.link_dials > len(call.attempts)
    if finals and finals[-1].final in ("busy", "congestion") and not gave_up:
        return CallResult(finals[-1].final, "", attempts, finals[-1].final_at - start)
    if gave_up or math.isnan(log.ended):
        return CallResult("failed", "", attempts, ended - start)
    end = finals[-1].final_at if finals else ended
    return CallResult("rejected", "", attempts, end - start)
