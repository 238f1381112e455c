"""Calls: the commands on a call, the handlers of the frames a call receives, its timers.

Which handler runs in which state, and the state it leads to, is ``machine.TRANSITIONS``;
these functions do the work (RFC 5456 §6.2-6.4, Asterisk chan_iax2.c socket_process).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from iaxsim.iax2.constants import AuthMethod, ControlSubclass, FrameType, IAXSubclass, IEType
from iaxsim.iax2.engine import events as ev
from iaxsim.iax2.engine import registration, trunking
from iaxsim.iax2.engine.auth import md5_matches, md5_response
from iaxsim.iax2.engine.common import (MAX_TIMESTAMP_SKEW, NO_AUTHORITY, NO_CODEC, NO_EXTENSION,
                                       EngineError, dp_bool, first_ies, ie_value, ies, voice_ms)
from iaxsim.iax2.engine.dialog import OPEN, Address, Dialog, Kind, State
from iaxsim.iax2.frames import FullFrame, MiniFrame
from iaxsim.iax2.ies import IE
from iaxsim.iax2.media import MediaFormat

if TYPE_CHECKING:
    from iaxsim.iax2.engine.core import Core

_ACTIVE = (State.ACCEPTED, State.RINGING, State.UP)
_CALLEE_OPEN = (State.WAIT_APP, State.ACCEPTED, State.RINGING, State.UP)


# ---------------------------------------------------------------------- commands
def place_call(core: Core, addr: Address, number: str, *, now: float, context: str,
               calling_number: Optional[str], calling_name: Optional[str],
               username: Optional[str], secret: Optional[str], formats: Optional[int],
               format: Optional[int], maxtime: Optional[float]) -> int:
    """See ``Endpoint.place_call``."""
    cfg = core.config
    addr = (addr[0], addr[1])
    caps = int(formats if formats is not None else cfg.formats)
    fmt = int(format if format is not None else cfg.preferred_format)
    if not caps & fmt:
        raise EngineError(f"format {fmt:#x} is not among the offered formats {caps:#x}")
    if maxtime is not None and maxtime <= 0:
        raise EngineError(f"maxtime must be positive, got {maxtime}")
    # the IEs first: a value that cannot be sent is refused before a call number is taken
    # (FORMAT/CAPABILITY as plain ints: the same IE, same cache entry, as MediaFormat(x))
    new_ies = ies((IEType.VERSION, 2), (IEType.CALLED_NUMBER, number),
                  (IEType.CALLING_NUMBER, calling_number), (IEType.CALLINGPRES, 0),
                  (IEType.CALLINGTON, 0), (IEType.CALLINGTNS, 0),
                  (IEType.CALLING_NAME, calling_name), (IEType.CALLED_CONTEXT, context),
                  (IEType.USERNAME, username), (IEType.FORMAT, fmt), (IEType.CAPABILITY, caps))
    new_ies.append(core.datetime_ie_at(now))
    trunk = addr in cfg.trunk_peers
    d = core.new_dialog(addr, Kind.CALL, True, now, trunk=trunk,
                        pingtime=maxtime / 2.0 if maxtime is not None else None)
    if maxtime is not None:
        d.timers["congest"] = now + 2.0 * maxtime
    d.called_number, d.context, d.username, d.secret = number, context, username, secret
    d.calling_number, d.calling_name = calling_number, calling_name
    d.format, d.capability, d.tbd, d.trunk = fmt, caps, number == "TBD", trunk
    core.send_request(d, IAXSubclass.NEW, new_ies, now)
    core.schedule(d, d.next_deadline())
    core.stats.calls_placed += 1
    return d.callno


def accept(core: Core, call_id: int, now: float, format: Optional[int]) -> None:
    """See ``Endpoint.accept``."""
    d = core.dialog(call_id, Kind.CALL, caller=False, states=(State.WAIT_APP,))
    if format is not None:
        d.format = int(format)
    send_accept(core, d, now)


def ring(core: Core, call_id: int, now: float) -> None:
    """See ``Endpoint.ring``."""
    d = core.dialog(call_id, Kind.CALL, caller=False, states=_CALLEE_OPEN)
    if d.state is State.WAIT_APP:
        send_accept(core, d, now)
    send_control(core, d, ControlSubclass.RINGING, now)


def answer(core: Core, call_id: int, now: float) -> None:
    """See ``Endpoint.answer``."""
    d = core.dialog(call_id, Kind.CALL, caller=False, states=_CALLEE_OPEN)
    if d.state is State.WAIT_APP:
        send_accept(core, d, now)
    send_control(core, d, ControlSubclass.ANSWER, now)


def reject(core: Core, call_id: int, cause: str, code: int, now: float) -> None:
    """See ``Endpoint.reject``."""
    d = core.dialog(call_id, Kind.CALL, caller=False,
                    states=(State.WAIT_APP, State.ACCEPTED, State.RINGING))
    core.reject(d, cause, code, now)


def control(core: Core, call_id: int, subclass: ControlSubclass, now: float) -> None:
    """Send a control frame (BUSY, CONGESTION) on an open call."""
    d = core.dialog(call_id, Kind.CALL, states=OPEN)
    send_control(core, d, subclass, now)


def send_control(core: Core, d: Dialog, subclass: ControlSubclass, now: float) -> None:
    """Send a control frame, or hold it while the called side waits for the caller's ACK of
    our ACCEPT (the dialplan has not started yet; ``on_ack`` sends what was held)."""
    if d.held is not None:
        d.held.append(subclass)
        return
    core.send(d, FrameType.CONTROL, subclass, now)


def hangup(core: Core, call_id: int, cause: Optional[str], code: int, now: float) -> None:
    """See ``Endpoint.hangup``."""
    d = core.dialog(call_id, Kind.CALL, states=OPEN)
    core.send(d, FrameType.IAX, IAXSubclass.HANGUP, now,
              ies=ies((IEType.CAUSE, cause), (IEType.CAUSECODE, code)), final=True)


def send_voice(core: Core, call_id: int, payload: bytes, now: float, format: Optional[int],
               timestamp: Optional[int]) -> None:
    """See ``Endpoint.send_voice``."""
    d = core.dialog(call_id, Kind.CALL, states=_ACTIVE)
    fmt = int(format if format is not None else d.format or core.config.preferred_format)
    payload = bytes(payload)
    if timestamp is None:
        ms = d.ms(now)
        pred = d.next_voice_ts
        ts = pred if pred is not None and abs(ms - pred) <= MAX_TIMESTAMP_SKEW else ms
        if ts <= d.last_voice_ts:
            ts = d.last_voice_ts + 1
    else:
        ts = int(timestamp)
    d.next_voice_ts = ts + voice_ms(fmt, len(payload))
    st = core.stats
    if (d.tx_format == fmt and d.peer_callno is not None
            and (d.trunk or (ts >> 16) == (d.last_voice_ts >> 16))):
        if d.trunk:
            trunking.add(core, d, ts, payload, now)
        else:
            core.out.append((MiniFrame(source_call=d.callno, timestamp=ts & 0xFFFF,
                                       payload=payload).encode(), d.addr))
        st.mini_sent += 1
    else:
        core.send(d, FrameType.VOICE, MediaFormat(fmt), now, payload=payload, ts=ts)
        d.tx_format = fmt
        st.voice_full_sent += 1
    d.last_voice_ts = ts


def send_dtmf(core: Core, call_id: int, digit: str, now: float) -> None:
    """See ``Endpoint.send_dtmf``."""
    if not isinstance(digit, str) or len(digit) != 1 or digit not in "0123456789*#ABCD":
        raise EngineError(f"not a DTMF digit: {digit!r}")
    d = core.dialog(call_id, Kind.CALL, states=_ACTIVE)
    core.send(d, FrameType.DTMF_END, ord(digit), now)


def ping(core: Core, call_id: int, now: float) -> None:
    """See ``Endpoint.ping``."""
    core.send_ping(core.dialog(call_id, Kind.CALL, states=OPEN), now)


def lagrq(core: Core, call_id: int, now: float) -> None:
    """See ``Endpoint.lagrq``."""
    d = core.dialog(call_id, Kind.CALL, states=OPEN)
    core.send(d, FrameType.IAX, IAXSubclass.LAGRQ, now)


def poke(core: Core, addr: Address, now: float, timeout: Optional[float] = None) -> int:
    """See ``Endpoint.poke``."""
    cfg = core.config
    if timeout is None:  # iax2_poke_peer's pokeexpire for a peer not known to be unreachable
        timeout = min(2 * cfg.max_retry + cfg.qualify_maxms, cfg.qualify_freq_ok * 5 / 6)
    elif not timeout > 0:
        raise EngineError(f"poke timeout must be positive, got {timeout!r}")
    d = core.new_dialog((addr[0], addr[1]), Kind.POKE, True, now,
                        pingtime=cfg.qualify_maxms / 8.0)
    d.timers["pokeexpire"] = now + timeout
    core.send_ping(d, now, IAXSubclass.POKE)
    core.schedule(d, d.timers["pokeexpire"])
    return d.callno


def timer_poke(core: Core, d: Dialog, now: float, arg: str) -> None:
    """No PONG within the poke timeout: the POKE call is destroyed and ``PokeTimeout`` tells
    the application (Asterisk's iax2_poke_noanswer), whatever retransmissions were left."""
    core.destroy(d, now)
    core.events.append(ev.PokeTimeout(d.callno, d.addr))


def send_dpreq(core: Core, d: Dialog, number: str, now: float) -> None:
    """DPREQ for ``number`` on the TBD call ``d``; the call's idle hang-up is (re)armed
    ``tbd_idle`` after it (chan_iax2.c iax2_dprequest reschedules auto_hangup on every DPREQ)."""
    d.dp_waiting.add(number)
    d.timers["idle"] = now + core.config.tbd_idle
    core.send(d, FrameType.IAX, IAXSubclass.DPREQ, now, ies=ies((IEType.CALLED_NUMBER, number)))


def lookups_lost(core: Core, d: Dialog) -> None:
    """The call ``d`` ended: every DPREQ still unanswered times out."""
    for number in sorted(d.dp_waiting | set(d.dp_queue)):
        core.events.append(ev.DialplanTimeout(d.callno, number))


# ---------------------------------------------------------------------- callee: NEW
def on_new(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """A NEW that passed the token gate: credentials, then ``admit``."""
    cfg = core.config
    first = first_ies(f)
    d.called_number = str(ie_value(first, IEType.CALLED_NUMBER) or "s")
    d.context = str(ie_value(first, IEType.CALLED_CONTEXT) or cfg.default_context)
    d.calling_number = ie_value(first, IEType.CALLING_NUMBER)
    d.calling_name = ie_value(first, IEType.CALLING_NAME)
    d.username = ie_value(first, IEType.USERNAME)
    d.format = int(ie_value(first, IEType.FORMAT) or 0)
    d.capability = int(ie_value(first, IEType.CAPABILITY) or 0) | d.format
    d.tbd = d.called_number == "TBD"
    if d.username is not None:
        secret = cfg.users.get(d.username)
        if secret is None or secret:
            d.secret = secret
            d.decoy = secret is None
            core.challenge(d, IAXSubclass.AUTHREQ, now)
            return
    elif not cfg.allow_guest:
        core.refuse(d, NO_AUTHORITY, now)
        return
    admit(core, d, now)


def on_authrep(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """The caller's answer to our challenge."""
    if d.decoy or d.challenge is None or d.secret is None or not md5_matches(
            d.challenge, d.secret, f.ie(IEType.MD5_RESULT)):
        core.stats.auth_failures += 1
        core.send_ack(d, f)
        core.refuse(d, NO_AUTHORITY, now)
        return
    admit(core, d, now)


def admit(core: Core, d: Dialog, now: float) -> None:
    """Credentials are fine: negotiate the codec, consult the dialplan, tell the app."""
    cfg = core.config
    common = d.capability & int(cfg.formats)
    if not common:
        core.refuse(d, NO_CODEC, now)
        return
    if not d.format & common:
        pref = int(cfg.preferred_format)
        d.format = pref if pref & common else common & -common
    if d.tbd:
        send_accept(core, d, now)
        return
    dp = cfg.dialplan
    accepted = False
    if dp is not None and cfg.answer_from_dialplan:
        if not dp_bool(dp.exists, d.called_number, d.context, d.calling_number):
            core.refuse(d, NO_EXTENSION, now)
            return
        send_accept(core, d, now)
        accepted = True
        if cfg.auto_answer:
            send_control(core, d, ControlSubclass.ANSWER, now)
    else:
        core.wait_for_application(d)
    core.events.append(ev.IncomingCall(
        d.callno, d.addr, d.called_number, d.context, d.calling_number, d.calling_name,
        d.username, d.format, d.capability, accepted))


def send_accept(core: Core, d: Dialog, now: float) -> None:
    """ACCEPT with the chosen FORMAT; the call's PING/LAGRQ timers start. On a call (not a TBD
    lookup) the called side then holds its control frames until the caller's explicit ACK."""
    core.send(d, FrameType.IAX, IAXSubclass.ACCEPT, now, ies=ies((IEType.FORMAT, d.format)))
    if not d.tbd and not d.caller:
        d.held = []
    start_call_timers(core, d, now)


def start_call_timers(core: Core, d: Dialog, now: float) -> None:
    """In-call PING and LAGRQ, TBD calls included (Asterisk schedules both for every call
    number it allocates, chan_iax2.c)."""
    cfg = core.config
    if cfg.ping_interval:
        d.timers["ping"] = now + cfg.ping_interval
    if cfg.lagrq_interval:
        d.timers["lagrq"] = now + cfg.lagrq_interval
    core.schedule(d, d.next_deadline())


# ---------------------------------------------------------------------- caller
def on_authreq(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """Answer a challenge: MD5 (or the plaintext password if that is all it offers)."""
    methods = int(f.ie(IEType.AUTHMETHODS) or 0)
    challenge = f.ie(IEType.CHALLENGE)
    if d.secret is None or challenge is None or not methods & (AuthMethod.MD5 |
                                                                AuthMethod.PLAINTEXT):
        core.send(d, FrameType.IAX, IAXSubclass.HANGUP, now, ies=ies(
            (IEType.CAUSE, "No authentication secret"), (IEType.CAUSECODE, NO_AUTHORITY[1])),
            final=True)
        core.events.append(ev.CallFailed(d.callno, "No authentication secret",
                                         NO_AUTHORITY[1]))
        return
    if methods & AuthMethod.MD5:
        answer_ies = [IE(IEType.MD5_RESULT, md5_response(str(challenge), d.secret))]
    else:
        answer_ies = [IE(IEType.PASSWORD, d.secret)]
    core.send(d, FrameType.IAX, IAXSubclass.AUTHREP, now, ies=answer_ies)


def on_accept(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """Our NEW was accepted: report it, start the call's timers, send queued DPREQs."""
    d.timers.pop("congest", None)
    d.format = int(f.ie(IEType.FORMAT) or d.format)
    core.events.append(ev.CallAccepted(d.callno, d.format))
    start_call_timers(core, d, now)
    queue, d.dp_queue = d.dp_queue, []
    for number in queue:
        send_dpreq(core, d, number, now)


def on_ringing(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """Control RINGING."""
    core.events.append(ev.CallRinging(d.callno))


def on_answer(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """Control ANSWER."""
    core.events.append(ev.CallAnswered(d.callno))


def on_progress(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """Control PROCEEDING or PROGRESS."""
    name = getattr(f.subclass, "name", str(f.subclass))
    core.events.append(ev.CallProgress(d.callno, name))


def on_busy(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """Control BUSY."""
    core.events.append(ev.CallBusy(d.callno))


def on_congestion(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """Control CONGESTION."""
    core.events.append(ev.CallCongestion(d.callno))


# ---------------------------------------------------------------------- either side
def on_hangup(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """The peer hung up: ACK, and the call is gone."""
    closing = d.state is State.CLOSING       # hang-ups crossed: ours was already told
    core.send_ack(d, f)
    core.destroy(d, now)
    if not closing and not (d.tbd and not d.caller):
        core.events.append(ev.CallHungUp(d.callno, f.ie(IEType.CAUSE), f.ie(IEType.CAUSECODE)))


def on_reject(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """Our call or registration was rejected: ACK, and it is gone."""
    core.send_ack(d, f)
    core.destroy(d, now)
    cause, code = f.ie(IEType.CAUSE), f.ie(IEType.CAUSECODE)
    if d.kind is Kind.CALL:
        lookups_lost(core, d)
        core.events.append(ev.CallRejected(d.callno, cause, code))
    else:
        registration.failed(core, d, cause, code, now)


def on_inval(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """The peer does not know the call: it is gone."""
    was_call = (d.kind is Kind.CALL and d.state is not State.CLOSING
                and not (d.tbd and not d.caller))
    core.destroy(d, now)
    if was_call:
        core.events.append(ev.CallHungUp(d.callno, None, None))
    elif d.kind is Kind.REGISTER:
        registration.failed(core, d, "INVAL", None, now)


def on_vnak(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """Resend every unacknowledged frame at once (Asterisk vnak_retransmit)."""
    for p in sorted(d.pending.values(), key=lambda p: (p.oseqno - f.iseqno) & 0xFF):
        core.out.append((p.retransmission(), d.addr))
        core.stats.retransmissions += 1


def on_ack(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """The implicit acknowledgement did the bookkeeping. On the called side, the first explicit
    ACK after our ACCEPT starts the call, as Asterisk starts its dialplan only then: the control
    frames held meanwhile go out, and the application hears ``CallStarted``."""
    held = d.held
    if held is None:
        return
    d.held = None
    for subclass in held:
        core.send(d, FrameType.CONTROL, subclass, now)
    core.events.append(ev.CallStarted(d.callno))


def on_voice(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """A full voice frame: its subclass is the format mini frames will carry."""
    d.rx_format = int(f.subclass)
    core.voice_in(d, f.payload, f.timestamp)


def on_dtmf(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """DTMF end: the subclass is the digit's character code."""
    try:
        digit = chr(int(f.subclass))
    except (ValueError, OverflowError):
        return
    core.events.append(ev.DtmfReceived(d.callno, digit))


def on_ping(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """PONG echoing the PING's timestamp, with the receiver report IEs."""
    core.send(d, FrameType.IAX, IAXSubclass.PONG, now, ts=f.timestamp, ies=ies(
        (IEType.RR_JITTER, 0), (IEType.RR_LOSS, 0), (IEType.RR_PKTS, d.rx_voice & 0xFFFFFFFF),
        (IEType.RR_DELAY, 0), (IEType.RR_DROPPED, 0),
        (IEType.RR_OOO, d.rx_ooo & 0xFFFFFFFF)))


def on_pong(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """Round trip from our send time of the echoed timestamp; a POKE is done."""
    sent = d.ping_sent.pop(f.timestamp, None)
    # round trip from our send time of the echoed timestamp (the PING's first send)
    rtt = now - sent if sent is not None else max(0, d.ms(now) - f.timestamp) / 1000.0
    if d.kind is Kind.CALL:
        d.pingtime = max(rtt, 0.001)
    core.events.append(ev.PongReceived(d.callno, d.addr, rtt))
    if d.kind is Kind.POKE:
        core.send_ack(d, f)
        core.destroy(d, now)


def on_lagrq(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """LAGRP echoing the LAGRQ's timestamp."""
    core.send(d, FrameType.IAX, IAXSubclass.LAGRP, now, ts=f.timestamp)


def on_lagrp(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """The lag our LAGRQ measured."""
    core.events.append(ev.LagReply(d.callno, max(0, d.ms(now) - f.timestamp) / 1000.0))


def on_unsupport(core: Core, d: Dialog, f: FullFrame, now: float) -> None:
    """The peer did not understand something we sent: counted."""
    core.stats.unsupported_received += 1


# ---------------------------------------------------------------------- timers
def timer_ping(core: Core, d: Dialog, now: float, arg: str) -> None:
    """In-call PING, every ``ping_interval``."""
    core.send_ping(d, now)
    if core.config.ping_interval:
        d.timers["ping"] = now + core.config.ping_interval


def timer_lagrq(core: Core, d: Dialog, now: float, arg: str) -> None:
    """In-call LAGRQ, every ``lagrq_interval``."""
    core.send(d, FrameType.IAX, IAXSubclass.LAGRQ, now)
    if core.config.lagrq_interval:
        d.timers["lagrq"] = now + core.config.lagrq_interval


def timer_congest(core: Core, d: Dialog, now: float, arg: str) -> None:
    """No ACCEPT within 2 x maxtime: CallCongestion (Asterisk auto_congest)."""
    if d.state is State.WAIT_REPLY:
        core.events.append(ev.CallCongestion(d.callno))
