"""Trunking: voice toward a trunk peer goes in meta trunk frames (RFC 5456 §8.2; Asterisk
chan_iax2.c iax2_trunk_queue, send_trunk), one per peer every ``trunk_freq`` seconds or
sooner when the next entry would pass ``trunk_mtu``."""
from __future__ import annotations

from typing import TYPE_CHECKING

from iaxsim.iax2.engine.dialog import Dialog, TrunkBuffer
from iaxsim.iax2.frames import TrunkEntry, TrunkFrame

if TYPE_CHECKING:
    from iaxsim.iax2.engine.core import Core


def add(core: Core, d: Dialog, ts: int, payload: bytes, now: float) -> None:
    """Queue one voice payload of call ``d`` for its peer's next trunk frame."""
    cfg = core.config
    buf = core.trunks.get(d.addr)
    if buf is None:
        buf = core.trunks[d.addr] = TrunkBuffer(d.addr, now)
    per = 6 if cfg.trunk_timestamps else 4
    if buf.entries and buf.size + per + len(payload) > cfg.trunk_mtu:
        emit(core, buf, now)
    buf.entries.append(TrunkEntry(source_call=d.callno, payload=payload,
                                  timestamp=ts & 0xFFFF if cfg.trunk_timestamps else None))
    buf.size += per + len(payload)
    if buf.deadline is None:
        buf.deadline = now + cfg.trunk_freq
        core.schedule(buf, buf.deadline)


def emit(core: Core, buf: TrunkBuffer, now: float) -> None:
    """Send what ``buf`` holds as one meta trunk frame."""
    if not buf.entries:
        return
    f = TrunkFrame(timestamp=int((now - buf.start) * 1000.0) & 0xFFFFFFFF,
                   timestamps=core.config.trunk_timestamps, entries=buf.entries)
    core.out.append((f.encode(), buf.addr))
    core.stats.trunk_sent += 1
    buf.entries, buf.size = [], 0


def flush(core: Core, buf: TrunkBuffer, now: float) -> None:
    """The trunk interval is over: send."""
    buf.deadline = None
    emit(core, buf, now)
