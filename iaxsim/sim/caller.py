"""The calling side of a call: the origin server's process for one call attempt.

1. the attempt needs a channel at its origin (else CONGESTION);
2. the number is dialled en bloc, or digit by digit — then the origin waits the digit
   timeout whenever the dialled string can still match more (MATCHMORE);
3. ``linking = "linked"`` (trixbox/FONcore): the origin resolves the number, external.conf
   first, then link.conf; a local number rings the extension (busy if it is in a call);
   otherwise the link.conf attempts run in order, a NEW to the peer's internal or external
   address each. ``linking = "switch"``: external.conf, then each peer asked with DPREQ
   (:mod:`iaxsim.sim.switch`), and the call goes to the first that answers EXISTS;
4. an attempt that gets no ACCEPT fails after Asterisk's auto-congest time (2 × qualify maxms
   = 4 s) when the peer is qualified, or when the engine's retransmissions give up (≈32 s)
   when it is not; an address that qualify found UNREACHABLE or LAGGED fails at once, without
   a NEW (chan_iax2.c create_addr);
5. the call's ``cause_code`` is what the calling Asterisk channel reports: 17 when busy, 34 when
   the origin has no free channel, when a Dial ends in CONGESTION, and when every Dial of the
   chain failed (the dialplan runs out and Asterisk's autofallthrough plays Congestion(), which
   sets cause 34 whatever the last Dial's own cause was: REJECT 3, 27 after retransmissions,
   20 for an unreachable peer, auto-congest); 3 when no extension or pattern takes the number
   (Asterisk REJECTs such a NEW with CAUSECODE 3); 0 for answered calls.
"""
from __future__ import annotations

from typing import Generator

import numpy as np
import simpy

from iaxsim.iax2.constants import DPStatus
from iaxsim.iax2.engine import (CallAccepted, CallAnswered, CallBusy, CallCongestion, CallFailed,
                                CallHungUp, CallRejected, CallRinging)
from iaxsim.sim.calls import CAUSE_TEXT, CallLog, CallRecord, Cause, Outcome
from iaxsim.sim.media import Media
from iaxsim.sim.scenario import IAX2_PORT, Scenario, TrafficSpec
from iaxsim.sim.server import CONTEXT, SimServer
from iaxsim.sim.switch import SwitchLookup

#: what a Dial that ends the call returns (the others let the next attempt run)
_FINAL = (Outcome.ANSWERED, Outcome.BUSY, Outcome.CONGESTION)
_AUTO_CONGEST = object()  # put in the call's mailbox when Asterisk's auto-congest timer fires

Process = Generator[simpy.Event, object, None]


class CallerSide:
    """Places call attempts from their origin server."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, servers: dict[str, SimServer],
                 log: CallLog, media: Media, switch: SwitchLookup):
        self.env = env
        self.scenario = scenario
        self.servers = servers
        self.log = log
        self.media = media
        self.switch = switch
        self.linked = scenario.linking == "linked"

    def peer_server(self, peer: str) -> SimServer | None:
        """Scenario server named by a link.conf peer id (``B`` or ``serverB`` style)."""
        srv = self.servers.get(peer)
        if srv is None and peer.startswith("server"):
            srv = self.servers.get(peer[len("server"):])
        return srv

    def place(self, o: SimServer, rec: CallRecord, tr: TrafficSpec, holding: float,
              rng: np.random.Generator) -> Process:
        """Process of one call attempt at its origin server."""
        env = self.env
        if not o.seize():
            rec.outcome, rec.post_dial_delay, rec.cause_code = Outcome.CONGESTION, 0.0, Cause.CONGESTION
            self.log.finished()
            return
        try:
            number = rec.dialled
            t_dialled = env.now
            if tr.dialling == "digits":
                went_with, t_dialled = yield from self.collect_digits(o, rec, tr, rng)
                if went_with is None:  # nothing dialled matches
                    rec.outcome = Outcome.REJECTED
                    rec.cause_code = Cause.NO_EXTENSION
                    rec.post_dial_delay = env.now - t_dialled
                    return
                number = went_with
            if self.linked:
                yield from self.place_linked(o, rec, number, tr, holding, t_dialled, rng)
            else:
                yield from self.place_switch(o, rec, number, tr, holding, t_dialled, rng)
        finally:
            o.release()
            self.log.finished()

    def collect_digits(self, o: SimServer, rec: CallRecord, tr: TrafficSpec,
                       rng: np.random.Generator) -> Generator[simpy.Event, object, tuple[str | None, float]]:
        """Digit-by-digit dialling at the origin: returns (the number the PBX goes with, or
        None when invalid; the time the caller pressed the last digit it used).

        After each digit the PBX asks its dialplan (MATCH and MATCHMORE lookups, charged to
        the CPU): a prefix that exists and cannot match more is dialled at once; a prefix
        that cannot match anything is invalid; after the last digit, a number that could
        still match more waits the digit timeout. ``rec.digit_wait`` gets that wait.
        """
        env = self.env
        number = rec.dialled
        gaps = tr.digit_interval.sample(rng, len(number))
        pressed = env.now
        exists = False
        for i in range(1, len(number) + 1):
            if i > 1:
                # the next key press comes after the gap, or at once if the PBX was still busy
                yield env.timeout(max(0.0, pressed + float(gaps[i - 1]) - env.now))
                pressed = env.now
            prefix = number[:i]
            exists, more, can = yield from self.union_status(o, prefix, rec)
            if exists and not more:
                return prefix, pressed
            if not can and not more:
                return None, pressed
        wait = o.spec.digit_timeout  # Asterisk starts waiting once its lookup said MATCHMORE
        rec.digit_wait = wait
        yield env.timeout(wait)
        return (number if exists else None), pressed

    def union_status(self, o: SimServer, prefix: str,
                     rec: CallRecord) -> Generator[simpy.Event, object, tuple[bool, bool, bool]]:
        """(exists, matchmore, canmatch) of ``prefix`` on the origin's whole dialplan."""
        engine = o.spec.matcher
        cost = 0
        flags = []
        dps = [(o.local_dp, CONTEXT)]
        if self.linked:
            dps.append((o.link_dp, o.linked.link_context))
        for mode in ("match", "matchmore", "canmatch"):
            hit = False
            for dp, ctx in dps:
                ext, c = dp.lookup(prefix, ctx, engine=engine, mode=mode)
                cost += c.comparisons
                if ext is not None:
                    hit = True
                    break
            flags.append(hit)
        yield from o.charge_cpu(cost, rec)
        exists, more, can = flags
        if not self.linked and not more:
            # Asterisk's digit loop asks MATCHMORE first; the switches are consulted only when no
            # local extension answers it, in order, and the first that says MATCHMORE ends the
            # search (pbx_find_extension). One DPREQ answers every question about a number (its
            # DPREP flags are cached), so EXISTS after that costs no new query.
            for peer in self.switch.peers(o):
                status = yield from self.switch.query(o, peer, prefix, rec)
                exists = exists or bool(status & DPStatus.EXISTS)
                can = can or bool(status & (DPStatus.CANEXIST | DPStatus.EXISTS))
                if status & DPStatus.MATCHMORE:
                    more = True
                    break
        return exists, more, can

    def place_linked(self, o: SimServer, rec: CallRecord, number: str, tr: TrafficSpec, holding: float,
                     t_dialled: float, rng: np.random.Generator) -> Process:
        """external.conf, then link.conf's attempts in order (trixbox linked servers)."""
        res = o.linked.resolve(number, engine=o.spec.matcher)
        yield from o.charge_cpu(res.cost.comparisons, rec)
        if res.local is not None:
            yield from self.local_call(o, rec, number, tr, holding, t_dialled, rng)
            return
        if not res.attempts:
            rec.outcome, rec.cause_code = Outcome.REJECTED, Cause.NO_EXTENSION
            rec.post_dial_delay = self.env.now - t_dialled
            return
        # each priority runs Dial; a Dial that fails lets the next priority run
        final: Outcome | None = None
        for att in res.attempts:
            peer = self.peer_server(att.peer)
            rec.attempts += 1
            if peer is None or peer.id != rec.target:
                rec.wrong_server += 1
            if peer is None:
                final = Outcome.FAILED
                continue
            # the dial string says which number and context the peer is asked for
            address = peer.spec.internal if att.address == "internal" else peer.spec.external
            result = yield from self.attempt(o, peer, address, att.number or number, rec, holding, t_dialled,
                                             context=att.context or CONTEXT)
            if result in _FINAL:
                return
            final = Outcome.FAILED if Outcome.FAILED in (result, final) else Outcome.REJECTED
        rec.outcome = final or Outcome.REJECTED
        rec.cause_code = Cause.CONGESTION  # the priorities ran out: autofallthrough's Congestion()
        rec.post_dial_delay = self.env.now - t_dialled

    def place_switch(self, o: SimServer, rec: CallRecord, number: str, tr: TrafficSpec, holding: float,
                     t_dialled: float, rng: np.random.Generator) -> Process:
        """The dialplan queries Asterisk makes for the call, each through the switches
        (:meth:`SwitchLookup.find`), then the Dial of the peer that said EXISTS.

        1. ``ast_exists_extension``: an en bloc call enters through a Local channel, whose
           ``local_call`` (main/core_local.c) checks the number before starting the PBX; a
           digit-by-digit call's digit loop (``__ast_pbx_run``) checks the collected number.
           Nobody has it: refused, no NEW.
        2. The PBX spawns priority 1 (``pbx_extension_helper``): the same search again; a
           switch that says yes runs ``iax2_exec``, which asks that peer once more
           (``find_cache``) and then Dials it.
        3. After the call (off its set-up path): :meth:`after_call`.
        """
        env = self.env
        local_channel = tr.dialling != "digits"
        found = yield from self.switch.find(o, number, rec)
        if found is None:
            rec.outcome, rec.cause_code = Outcome.REJECTED, Cause.NO_EXTENSION
            rec.post_dial_delay = env.now - t_dialled
            # both halves of the Local channel go at once, after the pair was unlinked
            env.process(self.after_call(o, number, pbx_ran=False, devstate=2 if local_channel else 0))
            return
        try:
            found = yield from self.switch.find(o, number, rec)
            if found is o:
                yield from self.local_call(o, rec, number, tr, holding, t_dialled, rng)
                return
            status = 0
            if found is not None:  # iax2_exec: find_cache on the switch that said yes
                status = yield from self.switch.query(o, found, number, rec)
            if found is None or not status & DPStatus.EXISTS:
                rec.outcome, rec.cause_code = Outcome.REJECTED, Cause.NO_EXTENSION
                rec.post_dial_delay = env.now - t_dialled
                return
            rec.attempts += 1
            if found.id != rec.target:
                rec.wrong_server += 1
            result = yield from self.attempt(o, found, self.switch.address(o, found), number, rec,
                                             holding, t_dialled)
            if result not in _FINAL:
                rec.outcome, rec.cause_code = result, Cause.CONGESTION  # as in place_linked
                rec.post_dial_delay = env.now - t_dialled
        finally:
            # the Local channel's second half goes after the first: one device-state check
            env.process(self.after_call(o, number, pbx_ran=True, devstate=1 if local_channel else 0))

    def after_call(self, o: SimServer, number: str, pbx_ran: bool, devstate: int) -> Process:
        """Queries after a call, not charged to it: the PBX's hang-up check
        ``ast_exists_extension(…, "h")`` when it ran (every switch is asked unless one has an
        ``h``), then ``devstate`` device-state checks of the Local channel (main/core_local.c
        ``local_devicestate`` asks ``ast_exists_extension`` once its pvt is gone)."""
        if pbx_ran:
            yield from self.switch.find(o, "h", None)
        for _ in range(devstate):
            yield from self.switch.find(o, number, None)

    def local_call(self, o: SimServer, rec: CallRecord, number: str, tr: TrafficSpec, holding: float,
                   t_dialled: float, rng: np.random.Generator) -> Process:
        """A number the origin owns: ring the extension (busy if it is in a call)."""
        env = self.env
        if tr.extension_busy and number in o.busy_ext:
            rec.outcome, rec.cause_code = Outcome.BUSY, Cause.USER_BUSY
            rec.post_dial_delay = env.now - t_dialled
            return
        if tr.extension_busy:
            o.busy_ext.add(number)
        try:
            rec.post_dial_delay = env.now - t_dialled
            delay = float(tr.answer_delay.sample(rng, 1)[0]) if tr.answer_delay.mean else 0.0
            if delay:
                yield env.timeout(delay)
            rec.answered_by = o.id
            right = rec.target in (o.id, "") and number == rec.dialled
            rec.outcome = Outcome.ANSWERED if right else Outcome.MISROUTED
            rec.duration = holding
            yield env.timeout(holding)
        finally:
            o.busy_ext.discard(number)

    def attempt(self, o: SimServer, peer: SimServer, ip: str, number: str, rec: CallRecord, holding: float,
                t_dialled: float, context: str = CONTEXT) -> Generator[simpy.Event, object, Outcome]:
        """One Dial over IAX2; returns ANSWERED, BUSY, CONGESTION, REJECTED or FAILED."""
        env = self.env
        state = o.qualified.get(ip) if o.spec.qualify else None
        if state is not None and not state.usable:  # create_addr refuses it: no NEW
            return Outcome.FAILED
        ep = o.endpoint
        cid = ep.place_call((ip, IAX2_PORT), number, now=env.now, context=context, calling_number=o.id)
        mb = o.watch(cid, rec)
        o.driver.pump()
        accepted = False
        congest = None
        if o.spec.qualify:  # Asterisk's auto-congest timer: 2 x maxms for a qualified peer
            congest = o.deadlines.add(2 * ep.config.qualify_maxms, lambda: mb.put(_AUTO_CONGEST))
        try:
            while True:
                event = yield from mb.wait()
                if event is _AUTO_CONGEST:
                    if accepted:
                        continue
                    event = None
                if event is None:  # auto-congest: no ACCEPT within 2 x maxms
                    if ep.call_info(cid) is not None:
                        ep.hangup(cid, CAUSE_TEXT[Cause.CONGESTION], Cause.CONGESTION, now=env.now)
                        o.driver.pump()
                    return Outcome.FAILED
                kind = type(event)
                if kind is CallAccepted or kind is CallRinging:
                    accepted = True
                    if congest is not None:  # accepted in time: the timer has nothing left to do
                        congest.cancel()
                    if kind is CallRinging and rec.post_dial_delay != rec.post_dial_delay:  # NaN
                        rec.post_dial_delay = env.now - t_dialled
                elif kind is CallAnswered:
                    if rec.post_dial_delay != rec.post_dial_delay:
                        rec.post_dial_delay = env.now - t_dialled
                    rec.answered_by = peer.id
                    right = rec.target in (peer.id, "") and number == rec.dialled
                    rec.outcome = Outcome.ANSWERED if right else Outcome.MISROUTED
                    rec.duration = holding
                    yield from self.media.carry(o, peer, cid, rec, holding)
                    if ep.call_info(cid) is not None:
                        ep.hangup(cid, now=env.now)
                        o.driver.pump()
                    return Outcome.ANSWERED
                elif isinstance(event, CallRejected):
                    code = event.code or 0
                    if code == Cause.USER_BUSY:
                        rec.outcome = Outcome.BUSY
                    elif code == Cause.CONGESTION:
                        rec.outcome = Outcome.CONGESTION
                    else:
                        return Outcome.REJECTED
                    rec.cause_code = code
                    rec.post_dial_delay = env.now - t_dialled
                    return rec.outcome
                elif isinstance(event, (CallBusy, CallCongestion)):
                    busy = kind is CallBusy
                    rec.outcome = Outcome.BUSY if busy else Outcome.CONGESTION
                    rec.cause_code = Cause.USER_BUSY if busy else Cause.CONGESTION
                    rec.post_dial_delay = env.now - t_dialled
                    if ep.call_info(cid) is not None:
                        ep.hangup(cid, now=env.now)
                        o.driver.pump()
                    return rec.outcome
                elif isinstance(event, (CallFailed, CallHungUp)):
                    return Outcome.FAILED
        finally:
            if congest is not None:
                congest.cancel()
            o.unwatch(cid)
