"""The called side of a call: what a server does with an incoming NEW.

It looks the number up in its external.conf (the context the NEW names), on its CPU, then:
unknown → REJECT "No such context/extension" (3); no channel → REJECT congestion (34);
extension in a call → ACCEPT then BUSY; else ACCEPT, RINGING and, after the answer delay,
ANSWER, and it stays in the call until the caller hangs up. As in Asterisk, the called side's
dialplan starts only when the caller's ACK of the ACCEPT arrives (the engine holds RINGING,
ANSWER and BUSY until then and reports ``CallStarted``), so the answer delay counts from there.
"""
from __future__ import annotations

from typing import Generator

import numpy as np
import simpy

from iaxsim.iax2.engine import CallFailed, CallHungUp, CallStarted, Endpoint, IncomingCall
from iaxsim.sim.calls import CAUSE_TEXT, CallRecord, Cause
from iaxsim.sim.driver import Mailbox
from iaxsim.sim.network import Network
from iaxsim.sim.scenario import Scenario
from iaxsim.sim.server import CONTEXT, SimServer

_CLOSED = (CallHungUp, CallFailed)


class CalledSide:
    """Serves incoming calls at every server."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, network: Network,
                 servers: dict[str, SimServer], rng: np.random.Generator):
        self.env = env
        self.scenario = scenario
        self.network = network
        self.servers = servers
        self.rng = rng  # answer delays

    def incoming(self, s: SimServer, event: IncomingCall) -> None:
        """The engine at ``s`` announced a NEW: serve it in a process of its own."""
        if event.called_number == "TBD":
            return  # a switch lookup dialog: the engine answers its DPREQs itself
        self.env.process(self.serve(s, event))

    def serve(self, s: SimServer, event: IncomingCall) -> Generator[simpy.Event, object, None]:
        """Process at the called server for one incoming NEW."""
        env = self.env
        ep = s.endpoint
        cid = event.call_id
        rec = self._record_for(event, ep, cid)
        mb = s.watch(cid, rec)
        try:
            number = event.called_number
            ext, cost = s.local_dp.lookup(number, event.context or CONTEXT, engine=s.spec.matcher)
            yield from s.charge_cpu(cost.comparisons, rec)
            if ep.call_state(cid) != "wait_app":
                return  # the caller gave up meanwhile
            if ext is None:
                ep.reject(cid, CAUSE_TEXT[Cause.NO_EXTENSION], Cause.NO_EXTENSION, now=env.now)
                s.driver.pump()
                return
            if not s.seize():
                ep.reject(cid, CAUSE_TEXT[Cause.CONGESTION], Cause.CONGESTION, now=env.now)
                s.driver.pump()
                return
            tr = s.traffic
            ext_busy = tr.extension_busy
            try:
                if ext_busy and number in s.busy_ext:
                    ep.accept(cid, now=env.now)
                    ep.busy(cid, now=env.now)
                    s.driver.pump()
                    yield from self._until_closed(s, cid, mb)
                    return
                if ext_busy:
                    s.busy_ext.add(number)
                ep.accept(cid, now=env.now)
                ep.ring(cid, now=env.now)
                delay = tr.answer_delay
                wait = 0.0
                if delay.mean:  # it rings for a while, from when the dialplan starts
                    s.driver.pump()  # ACCEPT goes out; the engine holds RINGING until ...
                    while True:      # ... the caller's ACK of it arrives: the call starts
                        ev = yield from mb.wait()
                        if type(ev) in _CLOSED:
                            return
                        if type(ev) is CallStarted:
                            break
                    wait = float(delay.sample(self.rng, 1)[0])
                # (answered at once: the engine sends RINGING and ANSWER together when it starts)
                answer_at = env.now + wait
                while env.now < answer_at:  # ringing; the caller may give up meanwhile
                    ev = yield from mb.wait(answer_at - env.now)
                    if ev is not None and type(ev) in _CLOSED:
                        return
                if ep.call_info(cid) is None:
                    return
                ep.answer(cid, now=env.now)
                s.driver.pump()
                yield from self._until_closed(s, cid, mb)
            finally:
                if ext_busy:
                    s.busy_ext.discard(number)
                s.release()
        finally:
            s.unwatch(cid)

    def _until_closed(self, s: SimServer, cid: int, mb: Mailbox) -> Generator[simpy.Event, object, None]:
        while True:
            ev = yield from mb.wait()
            if type(ev) in _CLOSED:
                return
            if s.endpoint.call_info(cid) is None:
                return

    def _record_for(self, event: IncomingCall, ep: Endpoint, cid: int) -> CallRecord | None:
        """The caller's record of this call (found by the caller's call number), if a simulated
        server placed it."""
        info = ep.call_info(cid)
        peer_callno = info.peer_callno if info is not None else None
        owner = self.network.owner.get(event.addr[0])
        if owner is None or peer_callno is None:
            return None
        return self.servers[owner[0]].calls_by_callno.get(peer_callno)
