"""Simulator benchmark: simulated calls per second, a 10-server busy hour, sweep speed-up.

Run: ``.venv/bin/python benchmarks/bench_sim.py`` (``--quick`` for a short run).

1. Two servers, every call crossing IAX2 (the real engine and codec on every datagram, the
   real matcher on every lookup): simulated calls per wall second and per CPU second, against
   two bare SimPy skeletons measured in the same run. Targets: ≥ 3,000 calls/s; ratio to the
   skeleton of the same call flow ≤ 4×.

   * ``skeleton_faithful`` — the model's call flow event for event, with no codec, engine or
     matcher: the same Poisson arrivals (batched draws); per call one origin process and one
     called-side process (spawned when the NEW with token arrives); every datagram carried
     as a ``(kind, call id)`` tuple, 12 per call (NEW, CALLTOKEN, NEW with token, ACK,
     ACCEPT, its ACK, RINGING, ANSWER, 2 ACKs, HANGUP, ACK), those sent together to one server
     in one delivery event (a Timeout plus a callback) as the model's network batches them: 9
     deliveries per call (the called side sends RINGING and ANSWER only once the caller's ACK
     of its ACCEPT arrives, as the engine and Asterisk do); at the receiver a dict look-up by
     call id instead of the engine, which sends the CALLTOKEN and the ACKs where the engine
     sends them and wakes the waiting process through a mailbox Event; one CPU hold (a timeout until
     the core is done, first come first served, as the model's ``iaxsim.sim.cpu``; fixed time)
     and one channel counter per side; the auto-congest limit in the model's heap of time
     limits (``iaxsim.sim.deadlines``: cancelled when the ACCEPT comes, so no event), the holding Timeout, one
     no-op engine-timer Timeout per call (the model wakes its engines ~0.8 times per call);
     and qualify's POKE / PONG / ACK every 60 s per peer address, counted rather than
     scheduled, as the model works qualify out over a fixed route.
   * ``skeleton_minimal`` — the critical path only: one process per call, six one-way hops
     of set-up and one of hang-up as plain Timeouts, two CPU holds, the remaining datagrams
     as no-op Timeouts; no called-side process, replies, mailboxes or timers (about 17 SimPy
     events per call against the model's).

   The model and the two skeletons run ``--repeats`` times (default 3), interleaved, so a drift
   in the machine's speed reaches all three alike; the best run of each is reported, as
   ``timeit`` does, with every run printed.

   SimPy events per call are counted for the model and both skeletons (by wrapping
   ``Environment.step``, on a quarter hour of the same traffic) and printed beside the
   ratios.
   Where a call's time goes (``--breakdown``, also printed after part 1): the same run with the
   engine's public methods and the matcher's lookups timed, giving the time per call spent
   inside the engine (encoding, decoding, protocol logic) and the matcher, and the rate the
   model could reach if everything else (SimPy, network, call logic) cost nothing.
   ``--python-calls``: the Python function calls per call of the same model (``cProfile``), a
   deterministic measure of the work per call for comparing two versions of the code.
2. A busy hour of 100k calls over 10 servers (``--quick``: a tenth of it, extrapolated).
   Target < 60 s.
3. A sweep of 4 runs on 1 worker, then on 2 local workers, twice over (the best time of each).
   Target speed-up ≥ 1.7×.

Wall times depend on what else the machine runs; CPU seconds (process time of this process)
are printed beside them.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import simpy
import simpy.core

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from iaxsim.experiments.sweep import run_sweep  # noqa: E402
from iaxsim.sim import simulate  # noqa: E402
from iaxsim.sim.deadlines import Deadlines  # noqa: E402
from iaxsim.sim.model import Model  # noqa: E402
from iaxsim.sim.scenario import scenario_from_dict  # noqa: E402
from iaxsim.sim.scenarios import seed_two_servers  # noqa: E402


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def two_servers(calls: int):
    """The seed's two servers, all traffic remote, internal addresses reachable."""
    per_server = calls / 2
    return seed_two_servers(calls_per_hour=per_server, hours=1.0, remote=1.0, seed=1, **{
        "warmup": 0.0, "network.internal_scope": "global", "servers.*.channels": 2000,
        "traffic.extension_busy": False})


def seed_mix(calls: int):
    """The seed scenario's own call mix: half the calls local, half to the other server, whose
    internal address is at another site (qualify finds it unreachable: Dial passes it over at
    once and dials the external one); channels raised and busy extensions off as in
    :func:`two_servers`, so every call is carried at this rate."""
    return seed_two_servers(calls_per_hour=calls / 2, hours=1.0, seed=1, **{
        "warmup": 0.0, "servers.*.channels": 2000, "traffic.extension_busy": False})


class _OneCore:
    """One CPU core serving holds first come, first served (as ``iaxsim.sim.cpu`` with one
    core): a hold lasts until the core has served every earlier one, then its own time."""

    __slots__ = ("env", "free_at")

    def __init__(self, env: simpy.Environment):
        self.env = env
        self.free_at = 0.0

    def hold(self, seconds: float):
        env = self.env
        self.free_at = max(env.now, self.free_at) + seconds
        yield env.timeout(self.free_at - env.now)


def skeleton_minimal(calls_per_hour: float, hours: float, datagrams_per_call: float, seed: int = 1) -> int:
    """The critical path of the call flow as bare SimPy: Poisson arrivals at two servers,
    channels, two CPU holds, 6 one-way hops on the critical path of set-up, the remaining
    datagram deliveries as scheduled no-op events, holding time, hang-up hop. Returns the
    number of calls."""
    env = simpy.Environment()
    rng = np.random.default_rng(seed)
    channels = {"A": 0, "B": 0}
    cores = {"A": _OneCore(env), "B": _OneCore(env)}
    extra = max(0, int(round(datagrams_per_call)) - 8)
    latency = 0.02
    count = [0]

    def call(o, d, hold):
        count[0] += 1
        channels[o] += 1
        yield from cores[o].hold(12e-6)
        for _ in range(2):  # NEW, CALLTOKEN
            yield env.timeout(latency)
        yield env.timeout(latency)  # NEW with token
        channels[d] += 1
        yield from cores[d].hold(12e-6)
        yield env.timeout(latency)  # ACCEPT
        yield env.timeout(latency)  # the caller's ACK of it: the called side starts
        yield env.timeout(latency)  # RINGING / ANSWER
        for _ in range(extra):  # ACKs and the rest: deliveries nobody waits for
            env.timeout(latency).callbacks.append(lambda e: None)
        yield env.timeout(hold)
        yield env.timeout(latency)  # HANGUP
        channels[o] -= 1
        channels[d] -= 1

    def arrivals(o, d):
        rate = calls_per_hour / 2 / 3600.0
        while True:
            yield env.timeout(rng.exponential(1 / rate))
            if env.now >= hours * 3600:
                return
            env.process(call(o, d, rng.exponential(180.0)))

    env.process(arrivals("A", "B"))
    env.process(arrivals("B", "A"))
    env.run()
    return count[0]


# ---------------------------------------------------------------- the same call flow, bare
# Datagram kinds of the faithful skeleton (what the engine would encode as IAX2 frames).
NEW, NEW_TOKEN, CALLTOKEN, ACK, ACCEPT, RINGING, ANSWER, HANGUP, REJECT = (
    "NEW", "NEW+token", "CALLTOKEN", "ACK", "ACCEPT", "RINGING", "ANSWER", "HANGUP", "REJECT")
_AUTO_CONGEST = "auto-congest"
#: delay of the engine's first retransmission timer for a call (set-up)
ENGINE_TIMER = 2.0


@dataclass
class FaithfulRun:
    """What ``skeleton_faithful`` did: calls started, calls answered and hung up, calls that
    found no channel or no ACCEPT in time, datagrams sent (qualify's included)."""

    started: int = 0
    completed: int = 0
    blocked: int = 0
    failed: int = 0
    datagrams: int = 0
    qualify_datagrams: int = 0


class _Mailbox:
    """Items for one call and the Event its process sleeps on (as the model's driver.Mailbox)."""

    __slots__ = ("env", "items", "waiter")

    def __init__(self, env: simpy.Environment):
        self.env = env
        self.items: list = []
        self.waiter: simpy.Event | None = None

    def put(self, item) -> None:
        self.items.append(item)
        w = self.waiter
        if w is not None and not w.triggered:
            w.succeed()

    def wait(self):
        if not self.items:
            self.waiter = w = self.env.event()
            yield w
            self.waiter = None
        return self.items.pop(0)


def _engine_timer(_event) -> None:
    """Stands for the engine's timer run (retransmissions, dialog timers): nothing to do here."""


def skeleton_faithful(calls_per_hour: float, hours: float, seed: int = 1, latency: float = 0.02,
                      cpu_hold: float = 12e-6, channels: int = 2000, holding_mean: float = 180.0,
                      qualify: bool = True, auto_congest: float = 4.0, local: float = 0.0) -> FaithfulRun:
    """The benchmark scenario's call flow (two servers A and B, every call to the other
    server) in bare SimPy, event for event as the model schedules it, without codec, engine
    or matcher: see the module docstring. ``calls_per_hour`` is the total over both servers.
    ``local``: the share of calls to the origin's own extensions, which the model serves
    without IAX2: a channel, one CPU hold for the lookup, the holding time."""
    env = simpy.Environment()
    rng = np.random.default_rng(seed)
    run = FaithfulRun()
    ids = itertools.count(1)
    link_calls = {("A", "B"): 0, ("B", "A"): 0}
    state = {"active": 0, "arrivals_done": False}
    limits = Deadlines(env)
    done = env.event()

    class Server:
        def __init__(self, sid: str):
            self.sid = sid
            self.cpu = _OneCore(env)
            self.busy = 0
            self.calls: dict[int, _Mailbox] = {}  # call id → mailbox of the process on that call
            self.starting: set[int] = set()  # called side: ACCEPT sent, waiting for its ACK

        def seize(self) -> bool:
            if self.busy >= channels:
                return False
            self.busy += 1
            return True

        def release(self) -> None:
            self.busy -= 1

        def receive(self, msgs: list, src: "Server") -> None:
            """What the engine does with frames arriving together: reply (the replies to
            one arrival leave together), and hand the call's process what concerns it."""
            replies = []
            for kind, cid in msgs:
                if kind is ACK:  # drops the acknowledged frame from the retransmission queue
                    if cid in self.starting:  # the caller's ACK of our ACCEPT: the call starts
                        self.starting.discard(cid)
                        self.calls[cid].put(ACK)
                    continue
                if kind is NEW:  # no token yet: stateless CALLTOKEN challenge
                    replies.append((CALLTOKEN, cid))
                elif kind is CALLTOKEN:
                    replies.append((NEW_TOKEN, cid))
                elif kind is NEW_TOKEN:
                    replies.append((ACK, cid))
                    self.calls[cid] = mb = _Mailbox(env)
                    env.process(serve_incoming(self, src, cid, mb))
                else:  # ACCEPT, RINGING, ANSWER, REJECT, HANGUP: acknowledged, dispatched by call id
                    replies.append((ACK, cid))
                    mb = self.calls.get(cid)
                    if mb is not None:
                        mb.put(kind)
            if replies:
                send(self, src, *replies)

    servers = {"A": Server("A"), "B": Server("B")}

    def send(src: Server, dst: Server, *msgs: tuple) -> None:
        """Datagrams sent together to one server: one delivery event, as the model's network
        batches them."""
        run.datagrams += len(msgs)
        receive = dst.receive
        env.timeout(latency).callbacks.append(lambda _e: receive(msgs, src))

    def finish() -> None:
        state["active"] -= 1
        if state["arrivals_done"] and state["active"] == 0 and not done.triggered:
            done.succeed()

    def place(o: Server, d: Server | None, hold: float):
        """A call from ``o`` to ``d``, or a local one (``d`` None: no IAX2, only the holding time)."""
        if not o.seize():
            run.blocked += 1
            finish()
            return
        try:
            yield from o.cpu.hold(cpu_hold)
            if d is None:
                yield env.timeout(hold)
                run.completed += 1
                return
            cid = next(ids)
            o.calls[cid] = mb = _Mailbox(env)
            send(o, d, (NEW, cid))
            env.timeout(ENGINE_TIMER).callbacks.append(_engine_timer)
            congest = limits.add(auto_congest, lambda: mb.put(_AUTO_CONGEST)) if qualify else None
            accepted = False
            try:
                while True:
                    kind = yield from mb.wait()
                    if kind is ACCEPT or kind is RINGING:
                        accepted = True
                        if congest is not None:
                            congest.cancel()
                    elif kind is ANSWER:
                        pair, back = (o.sid, d.sid), (d.sid, o.sid)
                        link_calls[pair] += 1
                        link_calls[back] += 1
                        yield env.timeout(hold)
                        link_calls[pair] -= 1
                        link_calls[back] -= 1
                        send(o, d, (HANGUP, cid))
                        run.completed += 1
                        return
                    elif kind is REJECT or (kind is _AUTO_CONGEST and not accepted):
                        if kind is _AUTO_CONGEST:
                            send(o, d, (HANGUP, cid))
                        run.failed += 1
                        return
            finally:
                del o.calls[cid]
        finally:
            o.release()
            finish()

    def serve_incoming(s: Server, caller: Server, cid: int, mb: _Mailbox):
        try:
            yield from s.cpu.hold(cpu_hold)
            if not s.seize():
                send(s, caller, (REJECT, cid))
                return
            try:
                s.starting.add(cid)
                send(s, caller, (ACCEPT, cid))
                while (yield from mb.wait()) is not ACK:
                    pass
                send(s, caller, (RINGING, cid), (ANSWER, cid))
                while (yield from mb.wait()) is not HANGUP:
                    pass
            finally:
                s.release()
        finally:
            del s.calls[cid]

    def arrivals(o: Server, d: Server):
        rate = calls_per_hour / 2 / 3600.0
        end = hours * 3600.0
        while True:
            gaps = rng.exponential(1.0 / rate, 4096).tolist()
            holds = rng.exponential(holding_mean, 4096).tolist()
            here = (rng.random(4096) < local).tolist() if local else [False] * 4096
            for gap, hold, is_local in zip(gaps, holds, here):
                yield env.timeout(gap)
                if env.now >= end:
                    return
                run.started += 1
                state["active"] += 1
                env.process(place(o, None if is_local else d, hold))

    a, b = servers["A"], servers["B"]
    # each server pokes both addresses (internal, external) of its peer; over a fixed route the
    # model works the exchange out instead of replaying it (iaxsim.sim.qualify_static), so the
    # skeleton counts the same POKE / PONG / ACK every 60 s without scheduling them
    offsets = [float(rng.uniform(0.0, 1.0)) for _ in range(4)] if qualify else []
    procs = [env.process(arrivals(a, b)), env.process(arrivals(b, a))]
    env.run(until=env.all_of(procs))
    state["arrivals_done"] = True
    if state["active"] > 0:
        env.run(until=done)
    end = env.now
    for offset in offsets:
        start = offset
        while start <= end:
            sent = sum(1 for at in (start, start + latency, start + 2 * latency) if at <= end)
            run.qualify_datagrams += sent
            run.datagrams += sent
            start += 2 * latency + 60.0
    return run


def count_events(fn):
    """Run ``fn()`` counting every event any SimPy environment processes meanwhile (its
    ``step`` calls); returns (fn's result, events)."""
    cls = simpy.core.Environment
    original = cls.step
    n = [0]

    def step(self):
        n[0] += 1
        original(self)

    cls.step = step
    try:
        out = fn()
    finally:
        cls.step = original
    return out, n[0]


#: the engine's entry points: every datagram, command and timer goes through one of them
ENGINE_METHODS = ("receive_datagram", "handle_timer", "place_call", "accept", "ring", "answer",
                  "reject", "busy", "congestion", "hangup", "poke", "dial_lookup")


@dataclass
class Breakdown:
    """Time per simulated call inside the engine and the matcher, and in the whole run."""

    calls: int
    total_us: float
    engine_us: float
    matcher_us: float

    @property
    def ceiling(self) -> float:
        """Calls per second if everything but the engine and the matcher cost nothing."""
        return 1e6 / (self.engine_us + self.matcher_us)


def breakdown(sc) -> Breakdown:
    """Simulate ``sc`` with the engine's entry points and the matcher's lookups timed (the
    outermost call only: a lookup the engine makes to answer a DPREQ counts as engine time)."""
    from iaxsim.dialplan.dialplan import Dialplan
    from iaxsim.dialplan.linked import LinkedServer
    from iaxsim.iax2.engine import Endpoint

    spent = {"engine": 0, "matcher": 0}
    depth = [0]
    clock = time.perf_counter_ns

    def timed_method(fn, part):
        def wrapper(*args, **kwargs):
            if depth[0]:
                return fn(*args, **kwargs)
            depth[0] = 1
            t0 = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[part] += clock() - t0
                depth[0] = 0
        return wrapper

    patched = [(Endpoint, name, "engine") for name in ENGINE_METHODS]
    patched += [(Dialplan, "lookup", "matcher"), (LinkedServer, "resolve", "matcher")]
    originals = [(cls, name, getattr(cls, name)) for cls, name, _ in patched]
    for (cls, name, part), (_, _, fn) in zip(patched, originals):
        setattr(cls, name, timed_method(fn, part))
    try:
        t0 = clock()
        res = simulate(sc, seed=1)
        total = clock() - t0
    finally:
        for cls, name, fn in originals:
            setattr(cls, name, fn)
    n = len(res.calls)
    return Breakdown(n, total / 1e3 / n, spent["engine"] / 1e3 / n, spent["matcher"] / 1e3 / n)


def print_breakdown(sc) -> None:
    b = min((breakdown(sc) for _ in range(3)), key=lambda b: b.total_us)
    rest = b.total_us - b.engine_us - b.matcher_us
    print(f"  where a call's time goes  {b.total_us:.0f} µs per call (timed run, best of 3): engine "
          f"{b.engine_us:.0f} µs ({b.engine_us / b.total_us:.0%}), matcher {b.matcher_us:.0f} µs "
          f"({b.matcher_us / b.total_us:.0%}), SimPy, network and call logic {rest:.0f} µs")
    print(f"  engine and matcher alone  at most {b.ceiling:,.0f} calls/s if nothing else cost "
          f"anything (target ≥ 3,000)")


def bench_calls(n: int, repeats: int = 3) -> None:
    print(f"# 1. two servers, {n} calls/h offered, all crossing IAX2")
    sc = two_servers(n)
    model_runs, faithful_runs, minimal_runs = [], [], []
    dg = 12.0
    for _ in range(repeats):
        # model and skeletons interleaved, so a drift in the machine's speed reaches all three
        res, wall, cpu = timed(lambda: simulate(sc, seed=1))
        calls = len(res.calls)
        dg = int(res.link_totals["datagrams"].sum()) / max(1, calls)
        model_runs.append((wall, cpu))
        fa, fa_wall, fa_cpu = timed(lambda: skeleton_faithful(n, 1.0))
        faithful_runs.append(fa_cpu)
        mi_calls, mi_wall, mi_cpu = timed(lambda: skeleton_minimal(n, 1.0, dg))
        minimal_runs.append(mi_cpu)
    wall = min(w for w, _ in model_runs)
    cpu = min(c for _, c in model_runs)
    fa_cpu, mi_cpu = min(faithful_runs), min(minimal_runs)
    print(f"  simulated calls          {calls}")
    print(f"  datagrams per call       {dg:.2f}  (every one encoded, sent, decoded by the engine)")
    print(f"  runs (wall s / CPU s)    " + ", ".join(f"{w:.2f} / {c:.2f}" for w, c in model_runs)
          + f"   (best of {repeats} counts, model and skeletons interleaved)")
    print(f"  calls per wall second    {calls / wall:,.0f}   (target ≥ 3,000)")
    print(f"  calls per CPU second     {calls / cpu:,.0f}")
    print(f"  same-flow skeleton       {fa.completed} of {fa.started} calls completed, "
          f"{fa.datagrams / max(1, fa.started):.2f} datagrams per call")
    print(f"    calls per CPU second   {fa.completed / fa_cpu:,.0f}   (runs: "
          + ", ".join(f"{c:.2f}" for c in faithful_runs) + " CPU s)")
    print(f"  minimal skeleton         {mi_calls} calls")
    print(f"    calls per CPU second   {mi_calls / mi_cpu:,.0f}   (runs: "
          + ", ".join(f"{c:.2f}" for c in minimal_runs) + " CPU s)")
    # SimPy events per call, counted on a quarter hour of the same traffic (counting slows runs)
    part = 0.25
    m_res, m_ev = count_events(lambda: simulate(sc.with_values({"duration": 3600.0 * part}), seed=1))
    f_res, f_ev = count_events(lambda: skeleton_faithful(n, part))
    i_calls, i_ev = count_events(lambda: skeleton_minimal(n, part, dg))
    print(f"  SimPy events per call    model {m_ev / max(1, len(m_res.calls)):.1f}, "
          f"same-flow skeleton {f_ev / max(1, f_res.started):.1f}, "
          f"minimal skeleton {i_ev / max(1, i_calls):.1f}   ({part:g} h run)")
    per_call = cpu / calls
    print(f"  ratio model / skeleton of the same call flow          "
          f"{per_call / (fa_cpu / fa.completed):.1f}×  (CPU per call; target ≤ 4×)")
    print(f"  ratio model / minimal skeleton (critical path only)   "
          f"{per_call / (mi_cpu / mi_calls):.1f}×  (CPU per call)")
    print_breakdown(sc)


def bench_seed_mix(n: int, repeats: int = 3) -> None:
    """Part 1 on the seed scenario's own call mix (:func:`seed_mix`): half the calls local."""
    print(f"# 1b. the seed scenario's call mix, {n} calls/h: half local, half to the other server")
    sc = seed_mix(n)
    model_runs, skeleton_runs = [], []
    for _ in range(repeats):
        res, wall, cpu = timed(lambda: simulate(sc, seed=1))
        model_runs.append((wall, cpu))
        fa, _fa_wall, fa_cpu = timed(lambda: skeleton_faithful(n, 1.0, local=0.5))
        skeleton_runs.append(fa_cpu)
    calls = len(res.calls)
    remote = float((res.calls["target"] != res.calls["origin"]).mean())
    wall = min(w for w, _ in model_runs)
    cpu = min(c for _, c in model_runs)
    fa_cpu = min(skeleton_runs)
    print(f"  simulated calls          {calls}   ({remote:.0%} to the other server)")
    print(f"  runs (wall s / CPU s)    " + ", ".join(f"{w:.2f} / {c:.2f}" for w, c in model_runs))
    print(f"  calls per wall second    {calls / wall:,.0f}   (target ≥ 3,000)")
    print(f"  same-flow skeleton       {fa.completed} of {fa.started} calls completed; "
          f"{fa.completed / fa_cpu:,.0f} calls per CPU second")
    part = 0.25
    m_res, m_ev = count_events(lambda: simulate(sc.with_values({"duration": 3600.0 * part}), seed=1))
    f_res, f_ev = count_events(lambda: skeleton_faithful(n, part, local=0.5))
    print(f"  SimPy events per call    model {m_ev / max(1, len(m_res.calls)):.1f}, "
          f"same-flow skeleton {f_ev / max(1, f_res.started):.1f}   ({part:g} h run)")
    print(f"  ratio model / skeleton of the same call flow          "
          f"{(cpu / calls) / (fa_cpu / fa.completed):.1f}×  (CPU per call; target ≤ 4×)")


def bench_busy_hour(fraction: float) -> None:
    calls = int(100_000 * fraction)
    print(f"# 2. busy hour over 10 servers: {calls} calls ({fraction:g} of 100k)")
    sc = scenario_from_dict({
        "name": "busy_hour_10", "duration": 3600.0 * fraction, "seed": 1,
        "numbering": {"extensions_per_server": 1000, "overlap": 0.2, "length": 5},
        "servers": [{"id": chr(ord("A") + i), "channels": 2000, "matcher": "trie"} for i in range(10)],
        "traffic": {"calls_per_hour": 10_000.0, "local": 0.7, "remote": 0.3, "extension_busy": False,
                    "holding": {"dist": "exponential", "mean": 180.0}},
    })
    model, build_wall, build_cpu = timed(lambda: Model(sc, seed=1))
    res, wall, cpu = timed(model.run)
    n = len(res.calls)
    print(f"  simulated calls          {n}")
    print(f"  wall s / CPU s           {build_wall:.2f} / {build_cpu:.2f} building the model (once), "
          f"{wall:.2f} / {cpu:.2f} running it")
    if fraction < 1.0:
        print(f"  100k calls would take    {build_wall + wall / n * 100_000:.1f} s wall, "
              f"{build_cpu + cpu / n * 100_000:.1f} s CPU   (the build once, the run extrapolated;"
              f" target < 60 s)")
    else:
        print(f"  100k calls took          {build_wall + wall:.1f} s wall, {build_cpu + cpu:.1f} s CPU"
              f"   (target < 60 s)")


def bench_sweep(calls: int, repeats: int = 2) -> None:
    """The sweep on 1 worker, then on 2, ``repeats`` times over; the best time of each is taken,
    so a moment when something else holds the second core does not pass for a slow sweep."""
    print(f"# 3. sweep of 4 runs ({calls} calls each): 1 worker vs 2 local workers, best of {repeats}")
    sc = two_servers(calls)
    grid = {"servers.B.channels": [1000, 1500]}
    times: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            for workers in (1, 2):
                _, wall, _ = timed(lambda: run_sweep(sc, grid, replications=2,
                                                     cache_dir=Path(tmp) / f"{workers}-{i}",
                                                     workers=workers, progress=False))
                times[workers].append(wall)
    w1, w2 = min(times[1]), min(times[2])
    print(f"  1 worker                 {w1:.2f} s   (runs: {', '.join(f'{t:.2f}' for t in times[1])})")
    print(f"  2 workers                {w2:.2f} s   (runs: {', '.join(f'{t:.2f}' for t in times[2])})")
    print(f"  speed-up                 {w1 / w2:.2f}×   (target ≥ 1.7×)")
    if calls < 5000:
        print("  (short runs: starting the 2 worker processes weighs on the speed-up; one worker runs"
              " in this process)")


def python_calls_per_call(sc) -> float:
    """Python function calls (builtins included) per simulated call of ``sc``'s run, as
    ``cProfile`` counts them: a measure of the work per call that does not drift with the
    machine's speed."""
    import cProfile
    import pstats

    model = Model(sc, seed=1)
    profile = cProfile.Profile()
    profile.enable()
    result = model.run()
    profile.disable()
    return pstats.Stats(profile).total_calls / len(result.calls)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short run")
    ap.add_argument("--model-only", type=float, default=None, metavar="CALLS_PER_HOUR",
                    help="only simulate the two-server scenario at this rate (0: nothing) and "
                         "print nothing, e.g. to count instructions under valgrind --tool=callgrind")
    ap.add_argument("--repeats", type=int, default=3, metavar="N",
                    help="runs of the model and of each skeleton in part 1, interleaved; the "
                         "best of each is reported (default 3)")
    ap.add_argument("--breakdown", action="store_true",
                    help="only time the engine and the matcher inside the two-server run")
    ap.add_argument("--busy-hour-only", type=float, default=None, metavar="FRACTION",
                    help="only run part 2, this fraction of the busy hour (1: all 100k calls)")
    ap.add_argument("--python-calls", action="store_true",
                    help="only count the Python function calls per call of the two-server run "
                         "(cProfile, 4000 calls/h; deterministic, unlike the times)")
    args = ap.parse_args(argv)
    if args.python_calls:
        print(f"# two servers, 4000 calls/h: {python_calls_per_call(two_servers(4_000)):,.1f} "
              "Python function calls per simulated call")
        return 0
    if args.busy_hour_only is not None:
        if not 0 < args.busy_hour_only <= 1:
            ap.error(f"--busy-hour-only takes a fraction in (0, 1], got {args.busy_hour_only}")
        bench_busy_hour(args.busy_hour_only)
        return 0
    if args.breakdown:
        print("# two servers, 4000 calls/h: time inside the engine and the matcher")
        print_breakdown(two_servers(4_000))
        return 0
    if args.repeats < 1:
        ap.error(f"--repeats must be at least 1, got {args.repeats}")
    if args.model_only is not None:
        if args.model_only > 0:
            simulate(two_servers(args.model_only), seed=1)
        return 0
    bench_calls(4_000 if args.quick else 20_000, repeats=args.repeats)
    bench_seed_mix(4_000 if args.quick else 20_000, repeats=args.repeats)
    bench_busy_hour(0.05 if args.quick else 1.0)
    bench_sweep(1_500 if args.quick else 6_000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
