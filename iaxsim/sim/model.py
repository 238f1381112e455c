"""The SimPy model of linked PBXs.

Every server runs the real IAX2 engine (:class:`iaxsim.iax2.engine.Endpoint`) behind an
:class:`~iaxsim.sim.driver.EngineDriver`; the :class:`~iaxsim.sim.network.Network` carries
the engine's actual datagrams. Every lookup runs the real matcher
(:class:`iaxsim.dialplan.linked.LinkedServer` on the calling side, the server's
``external.conf`` dialplan on the called side) and charges ``base + per_comparison ×
comparisons`` seconds on that server's CPU resource (``cores`` servers), so an overloaded
server queues. Channels are finite: a server with every channel busy refuses the call
(CONGESTION).

Call flow (``linking = "linked"``, the trixbox/FONcore model):

1. a call attempt arrives at its origin server (Poisson); it needs a channel there;
2. the number is dialled en bloc, or digit by digit — then the origin waits the digit
   timeout whenever the dialled string can still match more (MATCHMORE);
3. the origin resolves the number: external.conf first, then link.conf;
4. a local number rings the extension (busy if it is in a call);
5. otherwise the link.conf attempts run in order: a NEW to the peer's internal or external
   address. The called server looks the number up in its external.conf: unknown →
   REJECT "No such context/extension" (3) and the origin tries the next attempt at once; no
   channel → REJECT congestion (34); extension in a call → BUSY; else ACCEPT, RINGING,
   ANSWER. An attempt that gets no ACCEPT fails after Asterisk's auto-congest time
   (2 × qualify maxms = 4 s) when the peer is qualified, or when the engine's
   retransmissions give up (≈32 s) when it is not; a peer that qualify found UNREACHABLE
   fails at once.

With ``linking = "switch"`` the origin's dialplan is external.conf plus one
``switch => IAX2/<peer>/external`` per peer: numbers not found locally are asked of each
peer in turn with DPREQ over a standing TBD call (5 s wait, answers cached 600 s,
timeouts 60 s; dialling digit by digit, a prefix no local extension can complete is asked of
the peers in turn until one answers MATCHMORE), and the call goes to the first peer that
answers EXISTS.

Media is accounted by formula (:mod:`iaxsim.theory`) unless ``media =
"frames"``, which sends real voice frames every 20 ms (mini frames, or trunk frames when
``trunk = true``).

The simulator reads SimPy's clock as ``env.now``: compiled, the public ``env.now`` property
would cost a Python call each time (tens per simulated call).
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import simpy

from iaxsim.errors import ConfigError
from iaxsim import theory
from iaxsim.iax2.constants import DPStatus
from iaxsim.iax2.engine import (CallAccepted, CallAnswered, CallBusy, CallCongestion, CallFailed,
                                CallHungUp, CallRefused, CallRejected, CallRinging,
                                DialplanReply, DialplanTimeout, Endpoint, EndpointConfig,
                                IncomingCall, PokeTimeout, PongReceived)
from iaxsim.iax2.media import MediaFormat
from iaxsim.sim.driver import EngineDriver, Mailbox
from iaxsim.sim.network import Network
from iaxsim.sim.plans import ServerPlan, build_plans
from iaxsim.sim.results import CALL_COLUMNS, SimResult, TimeWeighted
from iaxsim.sim.scenario import IAX2_PORT, Scenario, ServerSpec, TrafficSpec

CONTEXT = "external"
NO_EXTENSION = ("No such context/extension", 3)
CONGESTION = ("Circuit/channel congestion", 34)
USER_BUSY = ("User busy", 17)
QUALIFY_OK_EVERY = 60.0
QUALIFY_NOTOK_EVERY = 10.0
DP_CACHE = 600.0
DP_CACHE_TIMEOUT = 60.0
BIN_SECONDS = 60.0
_AUTO_CONGEST = object()

_FORMATS = {"ulaw": MediaFormat.ULAW, "alaw": MediaFormat.ALAW, "gsm": MediaFormat.GSM,
            "g729": MediaFormat.G729, "g722": MediaFormat.G722, "slinear": MediaFormat.SLINEAR,
            "ilbc": MediaFormat.ILBC}


@dataclass
class CallRecord:
    """One row of ``SimResult.calls`` while the call is in progress."""

    start: float
    origin: str
    dialled: str
    target: str
    answered_by: str = ""
    outcome: str = ""
    post_dial_delay: float = float("nan")
    comparisons: int = 0
    attempts: int = 0
    frames: int = 0
    bytes: int = 0
    lookup_cpu: float = 0.0
    duration: float = 0.0
    cause_code: int = 0
    digit_wait: float = 0.0

    def row(self) -> tuple:
        return (self.start, self.origin, self.dialled, self.target, self.answered_by, self.outcome,
                self.post_dial_delay, self.comparisons, self.attempts, self.frames, self.bytes,
                self.lookup_cpu, self.duration, self.cause_code, self.digit_wait)


class _DialplanMeter:
    """Dialplan proxy for the engine (DPREQ answers) that counts the matcher's work."""

    def __init__(self, dialplan, engine: str):
        self.dp = dialplan
        self.engine = engine
        self.work = 0
        self.last_cost: dict[str, int] = {}

    def _ask(self, number: str, context: str, mode: str) -> bool:
        ext, cost = self.dp.lookup(number, context, engine=self.engine, mode=mode)
        self.work += cost.comparisons
        self.last_cost[number] = self.last_cost.get(number, 0) + cost.comparisons
        return ext is not None

    def exists(self, number, context, callerid=None):
        return self._ask(number, context, "match")

    def canmatch(self, number, context, callerid=None):
        return self._ask(number, context, "canmatch")

    def matchmore(self, number, context, callerid=None):
        return self._ask(number, context, "matchmore")

    def take(self) -> int:
        work, self.work = self.work, 0
        return work


class SimServer:
    """One simulated PBX: engine, dialplans, CPU, channels and bookkeeping."""

    def __init__(self, model: "Model", spec: ServerSpec, plan: ServerPlan, index: int):
        from iaxsim.dialplan import Dialplan
        from iaxsim.dialplan.linked import LinkedServer

        sc = model.scenario
        env = model.env
        self.model = model
        self.spec = spec
        self.id = spec.id
        self.numbers = np.array(plan.numbers, dtype=object)
        where = f"[servers.{spec.id}]"
        try:
            local = Dialplan.from_string(plan.external_conf, f"{spec.id}/external.conf",
                                         default_context=CONTEXT)
            link = Dialplan.from_string(plan.link_conf, f"{spec.id}/link.conf", default_context="link")
        except ConfigError as err:
            raise ConfigError(f"{where} dialplan: {err}") from None
        link_ctx = "link" if "link" in link.contexts else (next(iter(link.contexts), "link"))
        self.linked = LinkedServer(local, link, sc.account, spec.id, local_context=CONTEXT,
                                   link_context=link_ctx)
        self.local_dp = local
        self.link_dp = link
        self.cpu = simpy.Resource(env, capacity=spec.cores)
        self.channels_busy = 0
        self.busy_ext: set[str] = set()
        self.tw_channels = TimeWeighted(BIN_SECONDS)
        self.tw_cpu = TimeWeighted(BIN_SECONDS)
        self.peer_status: dict[str, str] = {}
        self.dp_cache: dict[tuple[str, str], tuple[float, int]] = {}
        self.meter = _DialplanMeter(local, spec.matcher)
        trunk_peers: list[tuple[str, int]] = []
        if sc.trunk:
            trunk_peers = [(s.internal, IAX2_PORT) for s in sc.servers if s.id != spec.id] + \
                          [(s.external, IAX2_PORT) for s in sc.servers if s.id != spec.id]
        fmt = _FORMATS[sc.codec]
        config = EndpointConfig(
            formats=int(fmt) | int(MediaFormat.ULAW), preferred_format=fmt,
            dialplan=self.meter, answer_from_dialplan=False, default_context=CONTEXT,
            ping_interval=21.0 if sc.keepalive else None,
            lagrq_interval=10.0 if sc.keepalive else None,
            trunk_peers=trunk_peers, trunk_timestamps=sc.trunk_timestamps, trunk_mtu=sc.trunk_mtu)
        self.endpoint = Endpoint(config, seed=int(model.seeds.integers(2 ** 31)) + index)
        self.driver = EngineDriver(env, spec.id, self.endpoint, model.network,
                                   default_handler=self._default_event,
                                   on_sent=self._account, cpu_charge=self.charge_cpu_work,
                                   dp_proxy=self.meter)
        self.calls_by_callno: dict[int, CallRecord] = {}
        self.tbd_waiters: dict[int, dict[str, list[Mailbox]]] = {}
        self.tbd_dialogs: dict[int, Any] = {}

    # -- CPU and channels
    def charge_cpu(self, comparisons: int, rec: CallRecord | None = None):
        """Generator: hold one of the server's CPU cores (a SimPy resource, FIFO) for the
        lookup's CPU time, ``base + per_comparison × comparisons``."""
        cpu_model = self.model.scenario.cpu
        service = cpu_model.base + cpu_model.per_comparison * comparisons
        env = self.model.env
        with self.cpu.request() as req:
            if not req.triggered:  # a core is busy: queue (a free core is granted at once)
                yield req
            self.tw_cpu.set(env.now, len(self.cpu.users) / self.spec.cores)
            yield env.timeout(service)
        self.tw_cpu.set(env.now, len(self.cpu.users) / self.spec.cores)
        if rec is not None:
            rec.lookup_cpu += service
            rec.comparisons += comparisons

    def charge_cpu_work(self, comparisons: int):
        yield from self.charge_cpu(comparisons)

    def seize(self) -> bool:
        if self.channels_busy >= self.spec.channels:
            return False
        self.channels_busy += 1
        self.tw_channels.set(self.model.env.now, self.channels_busy)
        return True

    def release(self) -> None:
        self.channels_busy -= 1
        self.tw_channels.set(self.model.env.now, self.channels_busy)

    # -- engine plumbing
    def _account(self, datagrams: list[tuple[bytes, Any]]) -> None:
        """Attribute datagrams we send to their calls (by our source call number) for the call records."""
        calls, overhead = self.calls_by_callno, theory.IP_UDP_BYTES
        for data, _addr in datagrams:
            if len(data) < 4:
                continue
            first = data[0]
            if first & 0x80:
                callno = ((first & 0x7F) << 8) | data[1]
            elif first or data[1]:
                callno = (first << 8) | data[1]
            else:
                continue  # meta (trunk) frames carry several calls: counted per link only
            rec = calls.get(callno)
            if rec is not None:
                rec.frames += 1
                rec.bytes += len(data) + overhead

    def _default_event(self, event) -> None:
        if isinstance(event, IncomingCall):
            self.model.env.process(self.model.serve_incoming(self, event))
        # other unsolicited events (late replies for finished dialogs, refusals) need no action

    def watch(self, call_id: int, rec: CallRecord | None = None) -> Mailbox:
        mb = Mailbox(self.model.env)
        self.driver.handlers[call_id] = mb.put
        if rec is not None:
            self.calls_by_callno[call_id] = rec
        return mb

    def unwatch(self, call_id: int) -> None:
        self.driver.handlers.pop(call_id, None)
        self.calls_by_callno.pop(call_id, None)


class Model:
    """Builds the servers and network of a scenario and runs its traffic."""

    def __init__(self, scenario: Scenario, seed: int, progress: Any = None):
        self.scenario = scenario
        self.seed = seed
        self.progress = progress  # told the simulated time as arrivals come (a progress bar)
        root = np.random.SeedSequence(seed)
        streams = root.spawn(4)
        self.seeds = np.random.default_rng(streams[0])
        self.net_rng = np.random.default_rng(streams[1])
        self.traffic_rngs = [np.random.default_rng(s) for s in streams[2].spawn(len(scenario.servers))]
        self.env = simpy.Environment()
        self.capture: list | None = [] if scenario.capture else None
        self.network = Network(self.env, scenario.servers, scenario.network, self.net_rng, self.capture)
        plans = build_plans(scenario)
        self.servers: dict[str, SimServer] = {}
        for i, spec in enumerate(scenario.servers):
            self.servers[spec.id] = SimServer(self, spec, plans[spec.id], i)
        self.owner: dict[str, str] = {}
        for sid, srv in self.servers.items():
            for n in srv.numbers:
                self.owner.setdefault(n, sid)
        self.records: list[CallRecord] = []
        self.active = 0
        self.arrivals_done = False
        self.done = self.env.event()
        self.end = scenario.warmup + scenario.duration
        pairs = [(a, b) for a in self.servers for b in self.servers if a != b]
        self.link_calls = {p: 0 for p in pairs}
        self.tw_links = {p: TimeWeighted(BIN_SECONDS) for p in pairs}
        self._lengths = sorted({len(n) for n in self.owner}) or [4]
        self._kbps_memo: dict[int, float] = {}  # media kbit/s of n calls on a link (pure function of n)
        self._rates_memo: dict[int, tuple[float, float]] = {}  # one call's (frames/s, kbit/s) beside n calls

    # ------------------------------------------------------------------ helpers
    def peer_server(self, peer: str) -> SimServer | None:
        """Scenario server named by a link.conf peer id (``B`` or ``serverB`` style)."""
        srv = self.servers.get(peer)
        if srv is None and peer.startswith("server"):
            srv = self.servers.get(peer[len("server"):])
        return srv

    def address(self, srv: SimServer, kind: str) -> str:
        return srv.spec.internal if kind == "internal" else srv.spec.external

    def _finish(self, rec: CallRecord) -> None:
        self.active -= 1
        if self.arrivals_done and self.active == 0 and not self.done.triggered:
            self.done.succeed()

    # ------------------------------------------------------------------ traffic
    def _destinations(self, sid: str, tr: TrafficSpec) -> tuple[list[str], np.ndarray]:
        others = [s for s in self.servers if s != sid]
        kinds = ["local"]
        shares = [tr.local]
        for o in others:
            share = tr.to.get(o, 0.0) + (tr.remote / len(others) if others else 0.0)
            kinds.append(o)
            shares.append(share)
        kinds.append("")
        shares.append(tr.unassigned)
        p = np.array(shares, dtype=float)
        return kinds, p / p.sum()

    def arrivals(self, srv: SimServer, rng: np.random.Generator):
        """Poisson call attempts at ``srv`` from time 0 to the end of the measured period."""
        tr = self.scenario.traffic_of(srv.id)
        rate = tr.attempts_per_hour() / 3600.0
        if rate <= 0:
            return
        kinds, probs = self._destinations(srv.id, tr)
        for k, share in zip(kinds, probs):
            if share > 0 and k not in ("", "local") and not len(self.servers[k].numbers):
                raise ConfigError(f"[traffic] server {srv.id!r} calls {k!r}, which has no extensions")
        if probs[0] > 0 and not len(srv.numbers):
            raise ConfigError(f"[traffic] server {srv.id!r} makes local calls but has no extensions")
        env = self.env
        batch = 4096
        while True:
            gaps = rng.exponential(1.0 / rate, batch)
            dests = rng.choice(len(kinds), batch, p=probs)
            picks = rng.random(batch)
            holds = tr.holding.sample(rng, batch)
            gaps = gaps.tolist()  # Python floats: a numpy scalar here would make the whole
            # simulation clock (env.now and every time derived from it) numpy.float64, whose
            # arithmetic and comparisons are several times slower; the values are the same
            tick = self.progress.at if self.progress is not None else None
            for i in range(batch):
                yield env.timeout(gaps[i])
                if env.now >= self.end:
                    return
                if tick is not None:
                    tick(env.now)
                kind = kinds[dests[i]]
                if kind == "local":
                    pool = srv.numbers
                    number = pool[int(picks[i] * len(pool))]
                    target = srv.id
                elif kind:
                    pool = self.servers[kind].numbers
                    number = pool[int(picks[i] * len(pool))]
                    target = kind
                else:
                    number = self._unassigned(rng)
                    target = ""
                rec = CallRecord(env.now, srv.id, str(number), target)
                if env.now >= self.scenario.warmup:
                    self.records.append(rec)
                self.active += 1
                env.process(self.place(srv, rec, tr, float(holds[i]), rng))

    def _unassigned(self, rng: np.random.Generator) -> str:
        length = self._lengths[int(rng.integers(len(self._lengths)))]
        for _ in range(1000):
            n = str(int(rng.integers(10 ** (length - 1), 10 ** length)))
            if n not in self.owner:
                return n
        raise ConfigError("cannot find an unassigned number: every number of that length is taken")

    # ------------------------------------------------------------------ origin side
    def place(self, o: SimServer, rec: CallRecord, tr: TrafficSpec, holding: float,
              rng: np.random.Generator):
        """Process of one call attempt at its origin server."""
        env = self.env
        if not o.seize():
            rec.outcome, rec.post_dial_delay, rec.cause_code = "congestion", 0.0, CONGESTION[1]
            self._finish(rec)
            return
        try:
            number = rec.dialled
            t_dialled = env.now
            if tr.dialling == "digits":
                went_with, t_dialled = yield from self.collect_digits(o, rec, tr, rng)
                if went_with is None:  # nothing dialled matches
                    rec.outcome = "rejected"
                    rec.cause_code = NO_EXTENSION[1]
                    rec.post_dial_delay = env.now - t_dialled
                    return
                number = went_with
            if self.scenario.linking == "switch":
                yield from self.place_switch(o, rec, number, tr, holding, t_dialled, rng)
            else:
                yield from self.place_linked(o, rec, number, tr, holding, t_dialled, rng)
        finally:
            o.release()
            self._finish(rec)

    def collect_digits(self, o: SimServer, rec: CallRecord, tr: TrafficSpec, rng):
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

    def union_status(self, o: SimServer, prefix: str, rec: CallRecord):
        """(exists, matchmore, canmatch) of ``prefix`` on the origin's whole dialplan."""
        engine = o.spec.matcher
        cost = 0
        flags = []
        dps = [(o.local_dp, CONTEXT)]
        if self.scenario.linking == "linked":
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
        if self.scenario.linking == "switch" and not more:
            # Asterisk's digit loop asks MATCHMORE first; the switches are consulted only when no
            # local extension answers it, in order, and the first that says MATCHMORE ends the
            # search (pbx_find_extension). One DPREQ answers every question about a number (its
            # DPREP flags are cached), so EXISTS after that costs no new query.
            for peer in self._switch_peers(o):
                status = yield from self.dp_query(o, peer, prefix, rec)
                exists = exists or bool(status & DPStatus.EXISTS)
                can = can or bool(status & (DPStatus.CANEXIST | DPStatus.EXISTS))
                if status & DPStatus.MATCHMORE:
                    more = True
                    break
        return exists, more, can

    def place_linked(self, o: SimServer, rec: CallRecord, number: str, tr: TrafficSpec, holding: float,
                            t_dialled: float, rng: Any):
        res = o.linked.resolve(number, engine=o.spec.matcher)
        yield from o.charge_cpu(res.cost.comparisons, rec)
        if res.local is not None:
            yield from self.local_call(o, rec, number, tr, holding, t_dialled, rng)
            return
        if not res.attempts:
            rec.outcome, rec.cause_code = "rejected", NO_EXTENSION[1]
            rec.post_dial_delay = self.env.now - t_dialled
            return
        final = None
        for att in res.attempts:
            peer = self.peer_server(att.peer)
            rec.attempts += 1
            if peer is None:
                final = "failed"
                continue
            # the dial string says which number and context the peer is asked for
            result = yield from self.attempt(o, peer, self.address(peer, att.address), att.number or number,
                                             rec, tr, holding, t_dialled, context=att.context or CONTEXT)
            if result in ("answered", "busy", "congestion"):
                return
            final = "failed" if (result == "failed" or final == "failed") else "rejected"
        rec.outcome = final or "rejected"
        if rec.outcome == "rejected" and not rec.cause_code:
            rec.cause_code = NO_EXTENSION[1]
        rec.post_dial_delay = self.env.now - t_dialled

    def local_call(self, o: SimServer, rec: CallRecord, number: str, tr: TrafficSpec, holding: float,
                          t_dialled: float, rng: Any):
        env = self.env
        if tr.extension_busy and number in o.busy_ext:
            rec.outcome, rec.cause_code = "busy", USER_BUSY[1]
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
            rec.outcome = "answered" if right else "misrouted"
            rec.duration = holding
            yield env.timeout(holding)
        finally:
            o.busy_ext.discard(number)

    def attempt(self, o: SimServer, peer: SimServer, ip: str, number: str, rec: CallRecord,
                tr: TrafficSpec, holding: float, t_dialled: float, context: str = CONTEXT):
        """One Dial over IAX2; returns answered / busy / congestion / rejected / failed."""
        env = self.env
        if o.spec.qualify and o.peer_status.get(ip) == "unreachable":
            return "failed"
        ep = o.endpoint
        cid = ep.place_call((ip, IAX2_PORT), number, now=env.now, context=context,
                            calling_number=o.id)
        mb = o.watch(cid, rec)
        o.driver.pump()
        accepted = False
        if o.spec.qualify:  # Asterisk's auto-congest timer: 2 x maxms for a qualified peer
            env.timeout(2 * o.endpoint.config.qualify_maxms).callbacks.append(
                lambda _e: mb.put(_AUTO_CONGEST))
        try:
            while True:
                event = yield from mb.wait()
                if event is _AUTO_CONGEST:
                    if accepted:
                        continue
                    event = None
                if event is None:  # auto-congest: no ACCEPT within 2 x maxms
                    if ep.call_state(cid) is not None:
                        ep.hangup(cid, CONGESTION[0], CONGESTION[1], now=env.now)
                        o.driver.pump()
                    rec.cause_code = CONGESTION[1]
                    return "failed"
                kind = type(event)
                if kind is CallAccepted:
                    accepted = True
                elif kind is CallRinging:
                    accepted = True
                    if rec.post_dial_delay != rec.post_dial_delay:  # still NaN
                        rec.post_dial_delay = env.now - t_dialled
                elif kind is CallAnswered:
                    if rec.post_dial_delay != rec.post_dial_delay:
                        rec.post_dial_delay = env.now - t_dialled
                    rec.answered_by = peer.id
                    right = rec.target in (peer.id, "") and number == rec.dialled
                    rec.outcome = "answered" if right else "misrouted"
                    rec.duration = holding
                    yield from self.media(o, peer, cid, rec, holding)
                    if ep.call_state(cid) is not None:
                        ep.hangup(cid, now=env.now)
                        o.driver.pump()
                    return "answered"
                elif kind is CallRejected:
                    rec.cause_code = event.code or 0
                    if event.code == USER_BUSY[1]:
                        rec.outcome = "busy"
                    elif event.code == CONGESTION[1]:
                        rec.outcome = "congestion"
                    else:
                        return "rejected"
                    rec.post_dial_delay = env.now - t_dialled
                    return rec.outcome
                elif kind is CallBusy or kind is CallCongestion:
                    rec.outcome = "busy" if kind is CallBusy else "congestion"
                    rec.cause_code = USER_BUSY[1] if kind is CallBusy else CONGESTION[1]
                    rec.post_dial_delay = env.now - t_dialled
                    if ep.call_state(cid) is not None:
                        ep.hangup(cid, now=env.now)
                        o.driver.pump()
                    return rec.outcome
                elif kind is CallFailed or kind is CallHungUp:
                    rec.cause_code = event.code or 0
                    return "failed"
        finally:
            o.unwatch(cid)

    def media(self, o: SimServer, peer: SimServer, cid: int, rec: CallRecord, holding: float):
        """Carry the call's media for ``holding`` seconds (formula, or real frames)."""
        env = self.env
        sc = self.scenario
        pair, back = (o.id, peer.id), (peer.id, o.id)
        for p in (pair, back):
            self.link_calls[p] += 1
            self.tw_links[p].set(env.now, self._link_kbps(self.link_calls[p]))
        try:
            if sc.media == "frames":
                yield from self.frames_both_ways(o, peer, cid, holding)
            else:
                n = self.link_calls[pair] if sc.trunk else 0
                rates = self._rates_memo.get(n)
                if rates is None:  # a pure function of n: worked out once
                    rates = self._rates_memo[n] = theory.call_rates(
                        sc.codec, trunk_calls=n, mtu=sc.trunk_mtu or None, timestamps=sc.trunk_timestamps)
                frames, nbytes = theory.bytes_over(rates, holding)
                rec.frames += 2 * frames
                rec.bytes += 2 * nbytes
                yield env.timeout(holding)
        finally:
            for p in (pair, back):
                self.link_calls[p] -= 1
                self.tw_links[p].set(env.now, self._link_kbps(self.link_calls[p]))

    def _link_kbps(self, n: int) -> float:
        kbps = self._kbps_memo.get(n)
        if kbps is None:
            kbps = self._kbps_memo[n] = self._link_kbps_uncached(n)
        return kbps

    def _link_kbps_uncached(self, n: int) -> float:
        sc = self.scenario
        if n <= 0:
            return 0.0
        if sc.trunk:
            return theory.trunk_total_kbps(sc.codec, n, mtu=sc.trunk_mtu or None, timestamps=sc.trunk_timestamps)
        return n * theory.iax2_call_kbps(sc.codec)

    def frames_both_ways(self, o: SimServer, peer: SimServer, cid: int, holding: float):
        """Send real voice frames every packetisation interval in both directions."""
        env = self.env
        codec = theory.codec(self.scenario.codec)
        step = codec.frame_ms / 1000.0
        payload = b"\xff" * codec.payload_bytes
        peer_cid = self._peer_call(o, peer, cid)
        end = env.now + holding
        while env.now + step <= end + 1e-9:
            if o.endpoint.call_state(cid) == "up":
                o.endpoint.send_voice(cid, payload, now=env.now)
                o.driver.pump()
            if peer_cid is not None and peer.endpoint.call_state(peer_cid) == "up":
                peer.endpoint.send_voice(peer_cid, payload, now=env.now)
                peer.driver.pump()
            yield env.timeout(step)
        if end > env.now:
            yield env.timeout(end - env.now)

    def _peer_call(self, o: SimServer, peer: SimServer, cid: int) -> int | None:
        info = o.endpoint.call_info(cid)
        return getattr(info, "peer_callno", None) if info is not None else None

    # ------------------------------------------------------------------ switch mode
    def _switch_peers(self, o: SimServer) -> list[SimServer]:
        return [s for sid, s in self.servers.items() if sid != o.id]

    def _switch_address(self, o: SimServer, peer: SimServer) -> str:
        return peer.spec.internal if self.network.reachable(o.id, peer.spec.internal) else peer.spec.external

    def dp_query(self, o: SimServer, peer: SimServer, number: str, rec: CallRecord):
        """DPSTATUS of ``number`` at ``peer`` via DPREQ, through the origin's 600 s cache."""
        env = self.env
        key = (peer.id, number)
        hit = o.dp_cache.get(key)
        if hit is not None and hit[0] > env.now:
            return hit[1]
        ip = self._switch_address(o, peer)
        cid = o.endpoint.dial_lookup((ip, IAX2_PORT), number, CONTEXT, now=env.now)
        dialog = o.endpoint.call_info(cid)
        if o.tbd_dialogs.get(cid) is not dialog:
            # a new TBD call (call numbers are reused once a closed one's hold-off ends):
            # one dispatcher serves every lookup on it
            o.tbd_dialogs[cid] = dialog
            o.tbd_waiters[cid] = {}
            o.driver.handlers[cid] = functools.partial(self._tbd_event, o, cid)
        waiting = o.tbd_waiters[cid]
        mb = Mailbox(env)
        waiting.setdefault(number, []).append(mb)
        o.driver.pump()
        # Asterisk's dialplan thread waits at most iaxdefaulttimeout for the answer
        event = yield from mb.wait(o.endpoint.config.dp_timeout)
        if isinstance(event, DialplanReply):
            status = int(event.status)
            o.dp_cache[key] = (env.now + DP_CACHE, status)
            rec.comparisons += peer.meter.last_cost.pop(number, 0)
            return status
        o.dp_cache[key] = (env.now + DP_CACHE_TIMEOUT, 0)  # timeout, or the TBD call died
        return 0

    def _tbd_event(self, o: SimServer, cid: int, event) -> None:
        waiting = o.tbd_waiters.get(cid, {})
        if isinstance(event, (DialplanReply, DialplanTimeout)):
            for mb in waiting.pop(event.number, []):
                mb.put(event)
        elif isinstance(event, (CallFailed, CallHungUp, CallRejected)):
            o.tbd_waiters.pop(cid, None)
            o.tbd_dialogs.pop(cid, None)
            o.driver.handlers.pop(cid, None)
            for boxes in waiting.values():
                for mb in boxes:
                    mb.put(event)

    def place_switch(self, o: SimServer, rec: CallRecord, number: str, tr: TrafficSpec, holding: float,
                            t_dialled: float, rng: Any):
        ext, cost = o.local_dp.lookup(number, CONTEXT, engine=o.spec.matcher)
        yield from o.charge_cpu(cost.comparisons, rec)
        if ext is not None:
            yield from self.local_call(o, rec, number, tr, holding, t_dialled, rng)
            return
        for peer in self._switch_peers(o):
            status = yield from self.dp_query(o, peer, number, rec)
            if status & DPStatus.EXISTS:
                rec.attempts += 1
                result = yield from self.attempt(o, peer, self._switch_address(o, peer), number, rec,
                                                 tr, holding, t_dialled)
                if result in ("answered", "busy", "congestion"):
                    return
                rec.outcome = result
                rec.post_dial_delay = self.env.now - t_dialled
                return
        rec.outcome, rec.cause_code = "rejected", NO_EXTENSION[1]
        rec.post_dial_delay = self.env.now - t_dialled

    # ------------------------------------------------------------------ called side
    def serve_incoming(self, s: SimServer, event: IncomingCall):
        """Process at the called server for one incoming NEW."""
        env = self.env
        ep = s.endpoint
        cid = event.call_id
        if event.called_number == "TBD":
            return  # a switch lookup dialog: the engine answers its DPREQs itself
        mb = s.watch(cid, self._record_for(event, ep, cid))
        rec = s.calls_by_callno.get(cid)
        try:
            ext, cost = s.local_dp.lookup(event.called_number, event.context or CONTEXT,
                                          engine=s.spec.matcher)
            yield from s.charge_cpu(cost.comparisons, rec)
            if ep.call_state(cid) != "wait_app":
                return  # the caller gave up meanwhile
            number = event.called_number
            if ext is None:
                ep.reject(cid, *NO_EXTENSION, now=env.now)
                s.driver.pump()
                return
            if not s.seize():
                ep.reject(cid, *CONGESTION, now=env.now)
                s.driver.pump()
                return
            tr = self.scenario.traffic_of(s.id)
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
                if delay.mean:  # it rings for a while: ACCEPT and RINGING go out now
                    s.driver.pump()
                    wait = float(delay.sample(self.net_rng, 1)[0])
                # (answered at once: ACCEPT, RINGING and ANSWER leave together, below)
                answer_at = env.now + wait
                while env.now < answer_at:  # ringing; the caller may give up meanwhile
                    ev = yield from mb.wait(answer_at - env.now)
                    if ev is not None and type(ev) in (CallHungUp, CallFailed):
                        return
                if ep.call_state(cid) is None:
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

    def _until_closed(self, s: SimServer, cid: int, mb: Mailbox):
        while True:
            ev = yield from mb.wait()
            if type(ev) in (CallHungUp, CallFailed):
                return
            if s.endpoint.call_state(cid) is None:
                return

    def _record_for(self, event: IncomingCall, ep: Endpoint, cid: int) -> CallRecord | None:
        info = ep.call_info(cid)
        peer_callno = getattr(info, "peer_callno", None)
        owner = self.network.owner.get(event.addr[0])
        if owner is None or peer_callno is None:
            return None
        return self.servers[owner[0]].calls_by_callno.get(peer_callno)

    # ------------------------------------------------------------------ qualify
    def qualify(self, o: SimServer, ip: str, offset: float):
        """Asterisk's qualify=yes: POKE the peer address every 60 s (10 s while not OK)."""
        env = self.env
        yield env.timeout(offset)
        maxms = o.endpoint.config.qualify_maxms
        while True:
            cid = o.endpoint.poke((ip, IAX2_PORT), now=env.now)
            mb = o.watch(cid)
            o.driver.pump()
            ev = yield from mb.wait()
            while ev is not None and not isinstance(ev, (PongReceived, PokeTimeout)):
                ev = yield from mb.wait()
            o.unwatch(cid)
            ok = isinstance(ev, PongReceived) and ev.rtt <= maxms
            o.peer_status[ip] = "ok" if ok else "unreachable"
            yield env.timeout(QUALIFY_OK_EVERY if ok else QUALIFY_NOTOK_EVERY)

    # ------------------------------------------------------------------ run
    def run(self) -> SimResult:
        env = self.env
        wall = time.perf_counter()
        rng0 = np.random.default_rng(self.seeds.integers(2 ** 63))
        if self.scenario.linking == "linked":
            for o in self.servers.values():
                if not o.spec.qualify:
                    continue
                for peer in self.servers.values():
                    if peer.id == o.id:
                        continue
                    for ip in (peer.spec.internal, peer.spec.external):
                        env.process(self.qualify(o, ip, float(rng0.uniform(0, 1.0))))
        procs = [env.process(self.arrivals(srv, rng)) for srv, rng in
                 zip(self.servers.values(), self.traffic_rngs)]
        env.run(until=env.all_of(procs))
        self.arrivals_done = True
        if self.active > 0:
            env.run(until=self.done)
        end = env.now
        wall = time.perf_counter() - wall
        return SimResult(self.scenario, self.seed, self._calls_frame(), self._servers_frame(end),
                         self._links_frame(end), self._link_totals(), self.capture or [], wall)

    def _calls_frame(self) -> pd.DataFrame:
        rows = [r.row() for r in self.records]
        df = pd.DataFrame.from_records(rows, columns=list(CALL_COLUMNS))
        return df.astype(CALL_COLUMNS)

    def _servers_frame(self, end: float) -> pd.DataFrame:
        rows = []
        for sid, s in self.servers.items():
            ch = s.tw_channels.means(end)
            cpu = s.tw_cpu.means(end)
            for b in sorted(set(ch) | set(cpu)):
                rows.append({"time": b * BIN_SECONDS, "seconds": min(BIN_SECONDS, end - b * BIN_SECONDS),
                             "server": sid, "channels_busy": ch.get(b, 0.0),
                             "channel_utilisation": ch.get(b, 0.0) / s.spec.channels,
                             "cpu_utilisation": cpu.get(b, 0.0)})
        return pd.DataFrame(rows, columns=["time", "seconds", "server", "channels_busy", "channel_utilisation",
                                           "cpu_utilisation"])

    def _links_frame(self, end: float) -> pd.DataFrame:
        rows = []
        for (a, b), tw in self.tw_links.items():
            for k, kbps in sorted(tw.means(end).items()):
                rows.append({"time": k * BIN_SECONDS, "seconds": min(BIN_SECONDS, end - k * BIN_SECONDS),
                             "src": a, "dst": b, "media_kbps": kbps})
        return pd.DataFrame(rows, columns=["time", "seconds", "src", "dst", "media_kbps"])

    def _link_totals(self) -> pd.DataFrame:
        rows = []
        for (a, b), c in self.network.counters.items():
            rows.append({"src": a, "dst": b, "datagrams": c.sent, "bytes": c.sent_bytes,
                         "delivered": c.delivered, "dropped_firewall": c.dropped_firewall,
                         "dropped_scope": c.dropped_scope, "lost": c.lost})
        return pd.DataFrame(rows, columns=["src", "dst", "datagrams", "bytes", "delivered",
                                           "dropped_firewall", "dropped_scope", "lost"])
