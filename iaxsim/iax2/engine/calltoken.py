"""The call-token gate before any state (chan_iax2.c handle_call_token, calltoken_required,
requirecalltoken_mark_auto; doc/IAX2-security.txt) and the client's resend with a token.

A NEW, REGREQ or REGREL from a stranger gets a dialog only past this gate: an empty
CALLTOKEN IE is answered with a token (stateless, from call number 1), a bad token with a
bare REJECT (REGREJ), and a request without the IE is let in only when the named user's or
peer's requirecalltoken, or else its network, makes tokens optional -- as an unvalidated
dialog, of which at most ``max_calls_nonvalidated`` may be open at once.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from iaxsim.iax2.constants import FrameType, IAXSubclass, IEType
from iaxsim.iax2.engine.common import EngineError
from iaxsim.iax2.engine.dialog import Address, Dialog, Kind, State
from iaxsim.iax2.frames import FullFrame
from iaxsim.iax2.ies import IE

if TYPE_CHECKING:
    from iaxsim.iax2.engine.core import Core

# read for every NEW: module constants (an enum member read goes through the enum metaclass)
_NEW, _REJECT, _REGREJ = IAXSubclass.NEW, IAXSubclass.REJECT, IAXSubclass.REGREJ
_CALLTOKEN_IE = IEType.CALLTOKEN
_CALL, _REGISTRAR = Kind.CALL, Kind.REGISTRAR
_WAIT_REPLY = State.WAIT_REPLY


def admit(core: Core, f: FullFrame, addr: Address, now: float) -> Optional[Dialog]:
    """NEW/REGREQ/REGREL from a stranger: the new dialog, or None when the gate answered
    (token issued, refusal) without creating one."""
    st = core.stats
    cfg = core.config
    new = f.subclass == _NEW
    refusal = _REJECT if new else _REGREJ
    token = None
    for item in f.ies:   # f.ie(IEType.CALLTOKEN) where present, in one pass
        if item[0] == _CALLTOKEN_IE:
            token = item[1]  # the IE's value is its wire data (bytes)
            break
    wall = cfg.wallclock_offset + now
    if token is not None:
        if not token:
            core.send_apathetic(f, addr, IAXSubclass.CALLTOKEN,
                                [IE(IEType.CALLTOKEN, core.tokens.issue(addr, wall))])
            st.tokens_issued += 1
            return None
        if not core.tokens.valid(token, addr, wall):
            core.send_apathetic(f, addr, refusal)
            st.token_rejects += 1
            return None
        if cfg.user_calltoken_policy or cfg.peer_calltoken_policy:
            token_seen(core, f, new)
    elif not tokenless_allowed(core, f, addr, new):
        core.send_apathetic(f, addr, refusal)
        st.token_rejects += 1
        return None
    elif core.nonvalidated >= cfg.max_calls_nonvalidated:
        core.send_apathetic(f, addr, refusal)
        st.nonvalidated_limit += 1
        return None
    trunk = new and addr in cfg.trunk_peers
    try:
        d = core.new_dialog(addr, _CALL if new else _REGISTRAR, False, now, trunk=trunk)
    except EngineError:
        core.send_apathetic(f, addr, refusal)
        return None
    if token is None:
        d.validated = False
        core.nonvalidated += 1
    d.peer_callno = f.source_call
    d.trunk = trunk
    core.by_peer[(addr, f.source_call)] = d
    if new:
        st.calls_received += 1
    return d


def tokenless_allowed(core: Core, f: FullFrame, addr: Address, new: bool) -> bool:
    """May a NEW (``new``) or REGREQ/REGREL without a CALLTOKEN IE start a dialog?
    (chan_iax2.c calltoken_required, inverted): the named user (NEW) or peer's
    requirecalltoken decides -- no or auto (until that name once sent a valid token) let it
    in, yes refuses -- and a name without one falls back to the address rules."""
    cfg = core.config
    if cfg.user_calltoken_policy or cfg.peer_calltoken_policy:
        name = f.ie(IEType.USERNAME) or "guest"
        policy = cfg.calltoken_policy_for(new, name)
        if policy is not None:
            if policy == "auto" and (new, name) in core.calltoken_auto_done:
                return False
            return policy != "yes"
    return cfg.token_optional_for(addr[0])


def token_seen(core: Core, f: FullFrame, new: bool) -> None:
    """A request with a valid token: a requirecalltoken=auto user (NEW) or peer
    (REGREQ/REGREL) it names by USERNAME requires tokens from now on (chan_iax2.c
    requirecalltoken_mark_auto; a request naming nobody changes nothing)."""
    name = f.ie(IEType.USERNAME)
    if not name:
        return
    if core.config.calltoken_policy_for(new, name) == "auto":
        core.calltoken_auto_done.add((new, name))


def resend_with_token(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """Client side: resend our request with the token in place of the empty CALLTOKEN IE
    (sequence numbers restarted at 0); a second token reply is ignored."""
    # the token IE as received goes back as it is (the codec validated it)
    token = next((item for item in f.ies if item[0] == _CALLTOKEN_IE), None)
    if d.request is None or d.token_sent or d.state is not _WAIT_REPLY or not token or not token[1]:
        core.stats.unexpected += 1
        return
    subclass, request_ies = d.request
    if request_ies and request_ies[-1][0] == _CALLTOKEN_IE:
        request_ies = request_ies[:-1]
    request_ies = request_ies + [token]
    d.request = (subclass, request_ies)
    d.token_sent = True
    d.pending.clear()
    d.oseqno = d.iseqno = d.rseqno = d.aseqno = 0
    core.send(d, FrameType.IAX, subclass, now, ies=request_ies)
