"""One simulated PBX: its IAX2 engine, dialplans, CPU cores and channels."""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Generator

import numpy as np
import simpy

from iaxsim import theory
from iaxsim.dialplan import Dialplan
from iaxsim.dialplan.linked import LinkedServer
from iaxsim.errors import ConfigError
from iaxsim.iax2.engine import Endpoint, EndpointConfig, Event, IncomingCall, Qualify
from iaxsim.iax2.media import MediaFormat
from iaxsim.sim.calls import CallRecord
from iaxsim.sim.cpu import Cores
from iaxsim.sim.deadlines import Deadlines
from iaxsim.sim.driver import Address, EngineDriver, Mailbox
from iaxsim.sim.network import Network
from iaxsim.sim.plans import ServerPlan
from iaxsim.sim.qualify_static import StaticQualify
from iaxsim.sim.results import BIN_SECONDS, TimeWeighted
from iaxsim.sim.scenario import IAX2_PORT, Scenario, ServerSpec

CONTEXT = "external"


@lru_cache(maxsize=128)
def loaded_dialplans(sid: str, external_conf: str, link_conf: str,
                     account: str) -> tuple[Dialplan, Dialplan, LinkedServer]:
    """Server ``sid``'s parsed external.conf and link.conf and their :class:`LinkedServer`.

    Remembered per process: the runs of one scenario with other seeds (and the conditions of a
    study that share a plan) load the same texts, and loaded dialplans never change (their
    lookup memos and tries answer exactly what a fresh load answers)."""
    where = f"[servers.{sid}]"
    try:
        local = Dialplan.from_string(external_conf, f"{sid}/external.conf", default_context=CONTEXT)
        link = Dialplan.from_string(link_conf, f"{sid}/link.conf", default_context="link")
    except ConfigError as err:
        raise ConfigError(f"{where} dialplan: {err}") from None
    link_ctx = "link" if "link" in link.contexts else (next(iter(link.contexts), "link"))
    return local, link, LinkedServer(local, link, account, sid, local_context=CONTEXT, link_context=link_ctx)

_FORMATS = {"ulaw": MediaFormat.ULAW, "alaw": MediaFormat.ALAW, "gsm": MediaFormat.GSM,
            "g729": MediaFormat.G729, "g722": MediaFormat.G722, "slinear": MediaFormat.SLINEAR,
            "ilbc": MediaFormat.ILBC}


class DialplanMeter:
    """Dialplan proxy for the engine (DPREQ answers) that counts the matcher's work."""

    def __init__(self, dialplan: Dialplan, engine: str):
        self.dp = dialplan
        self.engine = engine
        self.work = 0
        self.last_cost: dict[str, int] = {}

    def _ask(self, number: str, context: str, mode: str) -> bool:
        ext, cost = self.dp.lookup(number, context, engine=self.engine, mode=mode)
        self.work += cost.comparisons
        self.last_cost[number] = self.last_cost.get(number, 0) + cost.comparisons
        return ext is not None

    def exists(self, number: str, context: str, callerid: str | None = None) -> bool:
        return self._ask(number, context, "match")

    def canmatch(self, number: str, context: str, callerid: str | None = None) -> bool:
        return self._ask(number, context, "canmatch")

    def matchmore(self, number: str, context: str, callerid: str | None = None) -> bool:
        return self._ask(number, context, "matchmore")

    def take(self) -> int:
        """The comparisons counted since the last call (and start counting again)."""
        work, self.work = self.work, 0
        return work


class SimServer:
    """One simulated PBX: engine, dialplans, CPU, channels and the calls it is in."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, spec: ServerSpec, plan: ServerPlan,
                 network: Network, seed: int, on_incoming: Callable[["SimServer", IncomingCall], None],
                 deadlines: Deadlines):
        self.env = env
        #: the time limits of mailbox waits (shared by the model's servers)
        self.deadlines = deadlines
        self.spec = spec
        self.id = spec.id
        self.traffic = scenario.traffic_of(spec.id)  # worked out once: not per call
        self.numbers = np.array(plan.numbers, dtype=object)
        self.on_incoming = on_incoming
        local, link, self.linked = loaded_dialplans(spec.id, plan.external_conf, plan.link_conf,
                                                    scenario.account)
        self.local_dp = local
        self.link_dp = link
        self.tw_cpu = TimeWeighted(BIN_SECONDS)
        self.cpu = Cores(env, spec.cores, self.tw_cpu)
        self.cpu_base = scenario.cpu.base
        self.cpu_per_comparison = scenario.cpu.per_comparison
        self.channels_busy = 0
        self.busy_ext: set[str] = set()
        self.tw_channels = TimeWeighted(BIN_SECONDS)
        #: peer address -> its qualify state (replayed, or worked out over a static route)
        self.qualified: dict[str, Qualify | StaticQualify] = {}
        self.dp_cache: dict[tuple[str, str], tuple[float, int]] = {}  # (peer, number) -> (until, DPSTATUS)
        self.meter = DialplanMeter(local, spec.matcher)
        trunk_peers: list[Address] = []
        if scenario.trunk:
            others = [s for s in scenario.servers if s.id != spec.id]
            trunk_peers = [(s.internal, IAX2_PORT) for s in others] + [(s.external, IAX2_PORT) for s in others]
        fmt = _FORMATS[scenario.codec]
        config = EndpointConfig(
            formats=int(fmt) | int(MediaFormat.ULAW), preferred_format=fmt,
            dialplan=self.meter, answer_from_dialplan=False, default_context=CONTEXT,
            ping_interval=21.0 if scenario.keepalive else None,
            lagrq_interval=10.0 if scenario.keepalive else None,
            trunk_peers=trunk_peers, trunk_timestamps=scenario.trunk_timestamps, trunk_mtu=scenario.trunk_mtu)
        self.endpoint = Endpoint(config, seed=seed)
        self.driver = EngineDriver(env, spec.id, self.endpoint, network,
                                   default_handler=self._default_event,
                                   on_sent=self._account, after_cpu=self.after_cpu,
                                   dp_proxy=self.meter)
        self.calls_by_callno: dict[int, CallRecord] = {}

    # -- CPU and channels
    def cpu_time(self, comparisons: int) -> float:
        """CPU seconds of lookups that made ``comparisons``: ``base + per_comparison × comparisons``."""
        return self.cpu_base + self.cpu_per_comparison * comparisons

    def charge_cpu(self, comparisons: int, rec: CallRecord | None = None) -> Generator[simpy.Event, object, None]:
        """Generator: hold one of the server's CPU cores (first come, first served) for the
        lookup's CPU time (:meth:`cpu_time`)."""
        service = self.cpu_time(comparisons)
        cpu = self.cpu
        grant = cpu.request()
        if grant is not None:  # every core busy: wait for one
            yield grant
            cpu.granted()
        yield self.env.timeout(service)
        cpu.release()
        if rec is not None:
            rec.lookup_cpu += service
            rec.comparisons += comparisons

    def after_cpu(self, comparisons: int, then: Callable[[], None]) -> None:
        """Call ``then()`` once the CPU has served the lookups the engine made itself
        (answering DPREQs): their :meth:`cpu_time` on one core."""
        service = self.cpu_time(comparisons)
        env, cpu = self.env, self.cpu

        def done(_event: simpy.Event) -> None:
            cpu.release()
            then()

        def start(_grant: simpy.Event) -> None:
            cpu.granted()
            env.timeout(service).callbacks.append(done)

        grant = cpu.request()
        if grant is None:
            env.timeout(service).callbacks.append(done)
        else:
            grant.callbacks.append(start)

    def seize(self) -> bool:
        """Take a channel; False when every channel is busy."""
        if self.channels_busy >= self.spec.channels:
            return False
        self.channels_busy += 1
        self.tw_channels.set(self.env.now, self.channels_busy)
        return True

    def release(self) -> None:
        """Give a channel back."""
        self.channels_busy -= 1
        self.tw_channels.set(self.env.now, self.channels_busy)

    # -- engine plumbing
    def _account(self, datagrams: list[tuple[bytes, Address]]) -> None:
        """Attribute datagrams we send to their calls (by our source call number, RFC 5456
        sections 8.1.1 and 8.1.2) for the call records."""
        calls, overhead = self.calls_by_callno, theory.IP_UDP_BYTES
        for data, _addr in datagrams:
            # the first 15 bits: a full frame's source call number after its F bit, a mini
            # frame's (its top bit is 0); a meta (trunk) frame's are 0, a number no call has,
            # as its calls are counted per link only
            nbytes = len(data)
            rec = calls.get(((data[0] & 0x7F) << 8) | data[1]) if nbytes >= 4 else None
            if rec is not None:
                rec.frames += 1
                rec.bytes += nbytes + overhead

    def _default_event(self, event: Event) -> None:
        if type(event) is IncomingCall:
            self.on_incoming(self, event)
        # other unsolicited events (late replies for finished dialogs, refusals) need no action

    def watch(self, call_id: int, rec: CallRecord | None = None) -> Mailbox:
        """A mailbox for the engine's events about ``call_id`` (and its datagrams counted to ``rec``)."""
        mb = Mailbox(self.env, self.deadlines)
        self.driver.handlers[call_id] = mb.put
        if rec is not None:
            self.calls_by_callno[call_id] = rec
        return mb

    def unwatch(self, call_id: int) -> None:
        """Stop following ``call_id``."""
        self.driver.handlers.pop(call_id, None)
        self.calls_by_callno.pop(call_id, None)
