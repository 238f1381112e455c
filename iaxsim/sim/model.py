"""The SimPy model of linked PBXs: builds a scenario's servers and network and runs its traffic.

Every server runs the real IAX2 engine (:class:`iaxsim.iax2.engine.Endpoint`) behind an
:class:`~iaxsim.sim.driver.EngineDriver`; the :class:`~iaxsim.sim.network.Network` carries
the engine's actual datagrams. Every lookup runs the real matcher
(:class:`iaxsim.dialplan.linked.LinkedServer` on the calling side, the server's
``external.conf`` dialplan on the called side) and charges ``base + per_comparison ×
comparisons`` seconds on that server's CPU resource (``cores`` servers), so an overloaded
server queues. Channels are finite: a server with every channel busy refuses the call
(CONGESTION).

The parts, one job each: :mod:`~iaxsim.sim.traffic` (call attempts),
:mod:`~iaxsim.sim.caller` (the origin's side of a call), :mod:`~iaxsim.sim.switch` (DPREQ
lookups, ``linking = "switch"``), :mod:`~iaxsim.sim.called` (the called server's side),
:mod:`~iaxsim.sim.qualify` (peer qualify), :mod:`~iaxsim.sim.media` (media and link
bandwidth) and :mod:`~iaxsim.sim.results` (the result tables).
"""
from __future__ import annotations

import time

import numpy as np
import simpy

from iaxsim.collector import paused
from iaxsim.sim.called import CalledSide
from iaxsim.sim.caller import CallerSide
from iaxsim.sim.calls import CallLog
from iaxsim.sim.capture import Captured
from iaxsim.sim.deadlines import Deadlines
from iaxsim.sim.media import Media
from iaxsim.sim.network import Network
from iaxsim.sim.plans import build_plans
from iaxsim.sim.qualify import qualify
from iaxsim.sim.qualify_static import StaticQualifying
from iaxsim.sim.results import SimResult, calls_frame, link_totals_frame, links_frame, servers_frame
from iaxsim.sim.scenario import Scenario
from iaxsim.sim.server import SimServer
from iaxsim.sim.switch import SwitchLookup
from iaxsim.sim.traffic import ClockWatcher, Traffic


class Model:
    """Builds the servers and network of a scenario and runs its traffic."""

    def __init__(self, scenario: Scenario, seed: int, progress: ClockWatcher | None = None,
                 replay_qualify: bool = False):
        self.scenario = scenario
        #: exchange every qualify POKE (always so with capture on), instead of working out the
        #: addresses behind static routes (:mod:`~iaxsim.sim.qualify_static`)
        self.replay_qualify = replay_qualify or scenario.capture
        self.static_qualify: StaticQualifying | None = None
        self.seed = seed
        root = np.random.SeedSequence(seed)
        streams = root.spawn(4)
        self.seeds = np.random.default_rng(streams[0])
        self.net_rng = np.random.default_rng(streams[1])
        self.traffic_rngs = [np.random.default_rng(s) for s in streams[2].spawn(len(scenario.servers))]
        self.env = env = simpy.Environment()
        self.capture: list[Captured] | None = [] if scenario.capture else None
        self.network = Network(env, scenario.servers, scenario.network, self.net_rng, self.capture)
        self.log = CallLog(env)
        self.deadlines = Deadlines(env)
        self.servers: dict[str, SimServer] = {}
        self.called = CalledSide(env, scenario, self.network, self.servers, self.net_rng)
        plans = build_plans(scenario)
        for i, spec in enumerate(scenario.servers):
            self.servers[spec.id] = SimServer(env, scenario, spec, plans[spec.id], self.network,
                                              int(self.seeds.integers(2 ** 31)) + i, self.called.incoming,
                                              self.deadlines)
        self.media = Media(env, scenario, list(self.servers))
        self.switch = SwitchLookup(env, self.network, self.servers, scenario.switch_cache)
        self.caller = CallerSide(env, scenario, self.servers, self.log, self.media, self.switch)
        self.traffic = Traffic(env, scenario, self.servers, self.caller, self.log, progress)

    def start_qualify(self, rng: np.random.Generator) -> None:
        """Linked servers with qualify on POKE each address of every other server, each
        address's first POKE at its own offset in the first second (drawn from ``rng``). An
        address behind a static route is worked out rather than replayed, unless
        ``replay_qualify``."""
        if self.scenario.linking != "linked":
            return
        env = self.env
        static = None if self.replay_qualify else StaticQualifying(env, self.network)
        self.static_qualify = static
        for o in self.servers.values():
            if not o.spec.qualify:
                continue
            targets = [(peer, ip, float(rng.uniform(0, 1.0))) for peer in self.servers.values()
                       if peer.id != o.id for ip in (peer.spec.internal, peer.spec.external)]
            for _peer, ip, offset in (targets if static is None else static.add_server(o, targets)):
                env.process(qualify(env, o, ip, offset))

    def run(self) -> SimResult:
        """Run the scenario until the last call attempt has ended; returns the results."""
        env = self.env
        wall = time.perf_counter()
        self.start_qualify(np.random.default_rng(self.seeds.integers(2 ** 63)))
        procs = [env.process(self.traffic.arrivals(srv, rng)) for srv, rng in
                 zip(self.servers.values(), self.traffic_rngs)]
        with paused():  # almost nothing a run frees is in a cycle: iaxsim/collector.py
            env.run(until=env.all_of(procs))
            self.log.arrivals_done = True
            if self.log.active > 0:
                env.run(until=self.log.done)
        end = env.now
        if self.static_qualify is not None:
            self.static_qualify.tally(end)
        wall = time.perf_counter() - wall
        servers = [(sid, s.tw_channels, s.tw_cpu, s.spec.channels) for sid, s in self.servers.items()]
        links = [(pair, load.kbps) for pair, load in self.media.pairs.items()]
        return SimResult(self.scenario, self.seed, calls_frame(self.log.records), servers_frame(servers, end),
                         links_frame(links, end), link_totals_frame(self.network.counters.items()),
                         self.capture or [], wall)
