"""Registration, both sides (RFC 5456 §6.1; Asterisk chan_iax2.c iax2_do_register,
register_verify, update_registry).

Client: REGREQ(USERNAME, REFRESH) on a new call number -> [REGAUTH -> REGREQ + MD5_RESULT]
-> REGACK -> ACK, ``Registered``; the next attempt at 5/6 of the granted refresh; REGREJ or
no answer gives ``RegistrationFailed`` and a retry after ``reg_retry``. Registrar: REGREQ or
REGREL from a configured user (REGAUTH first when it has a secret) gets REGACK(USERNAME,
DATETIME, REFRESH, APPARENT_ADDR); the peer expires at refresh + ``reg_expire_grace``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from iaxsim.iax2.constants import AuthMethod, FrameType, IAXSubclass, IEType
from iaxsim.iax2.engine import events as ev
from iaxsim.iax2.engine.auth import md5_matches, md5_response
from iaxsim.iax2.engine.common import REG_REFUSED, EngineError, ies
from iaxsim.iax2.engine.dialog import Address, Dialog, Kind, PeerEntry, Registration
from iaxsim.iax2.frames import FullFrame
from iaxsim.iax2.ies import IE

if TYPE_CHECKING:
    from iaxsim.iax2.engine.core import Core


# ---------------------------------------------------------------------- client
def register(core: Core, addr: Address, username: str, secret: Optional[str], refresh: int,
             now: float) -> int:
    """See ``Endpoint.register``."""
    if not 1 <= int(refresh) <= 0xFFFF:
        raise EngineError(f"refresh must be 1..65535 seconds, got {refresh}")
    ies((IEType.USERNAME, username))  # a name that cannot be sent is refused before it is kept
    reg = Registration(next(core.reg_ids), (addr[0], addr[1]), username, secret, int(refresh))
    core.registrations[reg.reg_id] = reg
    attempt(core, reg, now)
    return reg.reg_id


def unregister(core: Core, reg_id: int, now: float) -> None:
    """See ``Endpoint.unregister``."""
    reg = core.registrations.pop(reg_id, None)
    if reg is None:
        raise EngineError(f"no registration {reg_id}")
    reg.alive = False
    if reg.dialog is not None and reg.dialog.alive:
        core.destroy(reg.dialog, now)
    d = core.new_dialog(reg.addr, Kind.REGISTER, True, now)
    d.username, d.secret = reg.username, reg.secret
    core.send_request(d, IAXSubclass.REGREL, ies((IEType.USERNAME, reg.username)), now)


def attempt(core: Core, reg: Registration, now: float) -> None:
    """REGREQ on a new call number (a retry later when none is free)."""
    try:
        d = core.new_dialog(reg.addr, Kind.REGISTER, True, now)
    except EngineError:
        reg.deadline = now + core.config.reg_retry
        core.schedule(reg, reg.deadline)
        return
    d.reg, d.username, d.secret = reg, reg.username, reg.secret
    reg.dialog = d
    core.send_request(d, IAXSubclass.REGREQ, ies((IEType.USERNAME, reg.username),
                                                 (IEType.REFRESH, reg.refresh)), now)


def registration_timer(core: Core, reg: Registration, now: float) -> None:
    """Time to refresh (or retry) the registration."""
    reg.deadline = None
    if reg.dialog is None:
        attempt(core, reg, now)


def on_regauth(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """The registrar's challenge: the request again with MD5_RESULT."""
    challenge = f.ie(IEType.CHALLENGE)
    methods = int(f.ie(IEType.AUTHMETHODS) or 0)
    if d.secret is None or challenge is None or not methods & AuthMethod.MD5:
        core.destroy(d, now)
        failed(core, d, "No secret for REGAUTH", None, now)
        return
    subclass = d.request[0] if d.request else IAXSubclass.REGREQ
    answer = ies((IEType.USERNAME, d.username))
    if subclass == IAXSubclass.REGREQ and d.reg is not None:
        answer += ies((IEType.REFRESH, d.reg.refresh))
    answer.append(IE(IEType.MD5_RESULT, md5_response(str(challenge), d.secret)))
    core.send(d, FrameType.IAX, subclass, now, ies=answer)


def on_regack(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """Registered: ACK, report it, refresh at 5/6 of the granted time."""
    core.send_ack(d, f)
    core.destroy(d, now)
    reg = d.reg
    if reg is None or not reg.alive:
        return
    asked = f.ie(IEType.REFRESH)
    refresh = int(asked) if isinstance(asked, int) and asked > 0 else reg.refresh
    apparent = f.ie(IEType.APPARENT_ADDR)
    reg.registered = True
    core.events.append(ev.Registered(reg.reg_id, reg.addr, reg.username, refresh,
                                     (apparent[0], apparent[1]) if apparent else None))
    reg.deadline = now + refresh * 5.0 / 6.0
    core.schedule(reg, reg.deadline)


def on_regrej(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """Refused: ACK, report it, retry later."""
    core.send_ack(d, f)
    core.destroy(d, now)
    failed(core, d, f.ie(IEType.CAUSE), f.ie(IEType.CAUSECODE), now)


def failed(core: Core, d: Dialog, cause: Optional[str], code: Optional[int],
           now: float) -> None:
    """The attempt ``d`` failed: ``RegistrationFailed``, retry after ``reg_retry``."""
    reg = d.reg
    if reg is None or not reg.alive:
        return
    reg.registered = False
    core.events.append(ev.RegistrationFailed(reg.reg_id, reg.addr, reg.username, cause, code))
    reg.deadline = now + core.config.reg_retry
    core.schedule(reg, reg.deadline)


# ---------------------------------------------------------------------- registrar
def on_regreq(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """A peer's REGREQ or REGREL: check the user (and MD5), then REGACK."""
    cfg = core.config
    username = f.ie(IEType.USERNAME)
    secret = cfg.users.get(username) if isinstance(username, str) else None
    if secret is None:
        core.stats.auth_failures += 1
        core.reject(d, *REG_REFUSED, now, subclass=IAXSubclass.REGREJ)
        return
    d.username, d.secret = username, secret
    if secret:
        answer = f.ie(IEType.MD5_RESULT)
        if answer is None and d.challenge is None:
            core.challenge(d, IAXSubclass.REGAUTH, now)
            return
        if d.challenge is None or not md5_matches(d.challenge, secret, answer):
            core.stats.auth_failures += 1
            core.send_ack(d, f)
            core.reject(d, *REG_REFUSED, now, subclass=IAXSubclass.REGREJ)
            return
    asked = f.ie(IEType.REFRESH)
    refresh = int(asked) if isinstance(asked, int) else 60
    refresh = min(max(refresh, cfg.min_reg_expire), cfg.max_reg_expire)
    ack = ies((IEType.USERNAME, username), (IEType.DATETIME, core.datetime(now)))
    old = core.peers.pop(username, None)
    if old is not None:
        old.alive = False
    if f.subclass == IAXSubclass.REGREL:
        ack += ies((IEType.APPARENT_ADDR, d.addr))
        if old is not None:
            core.events.append(ev.PeerUnregistered(username, old.addr, "released"))
    else:
        ack += ies((IEType.REFRESH, refresh), (IEType.APPARENT_ADDR, d.addr))
        p = PeerEntry(username, d.addr, refresh, now + refresh + cfg.reg_expire_grace)
        core.peers[username] = p
        core.schedule(p, p.deadline)
        core.events.append(ev.PeerRegistered(username, d.addr, refresh))
    core.send(d, FrameType.IAX, IAXSubclass.REGACK, now, ies=ack, final=True)


def peer_timer(core: Core, p: PeerEntry, now: float) -> None:
    """A registered peer's time is up: ``PeerUnregistered("expired")``."""
    if p.deadline is not None and p.deadline <= now and core.peers.get(p.username) is p:
        del core.peers[p.username]
        p.alive = False
        core.events.append(ev.PeerUnregistered(p.username, p.addr, "expired"))
    elif p.alive:
        core.schedule(p, p.deadline)
