"""Replay a call list on real nodes on loopback UDP, linked through the WAN emulator.

Each scenario server becomes an :class:`iaxsim.net.node.Node` serving the external.conf and
link.conf the simulator uses (:func:`iaxsim.sim.plans.build_plans`), on addresses of its own
(internal ``127.0.K.2``, external ``127.0.K.3``, ephemeral ports). Its iax.conf names every peer
address of its link.conf (``c<peer>i`` / ``c<peer>x``) at the WAN emulator's proxy address for it.
A caller endpoint per origin (``127.0.K.9``) sends the call's NEW straight to its server (the
simulator's calls, too, start at the origin without a network hop) in the node's internal
context, where the node resolves external.conf then link.conf, and hangs up after the call's
holding time. The WAN emulator runs in a process of its own; the nodes share one asyncio loop.
"""
from __future__ import annotations

import asyncio
import math
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from iaxsim.errors import ConfigError
from iaxsim.iax2.engine import (CallAnswered, CallBusy, CallCongestion, CallFailed, CallHungUp,
                                CallRejected, CallRinging, Endpoint, EndpointConfig, Event)
from iaxsim.iax2.pcap import Datagram
from iaxsim.net.node import CallRecord, Node
from iaxsim.net.transport import Address, Transport
from iaxsim.net.wan import WanConfig
from iaxsim.sim import Scenario
from iaxsim.sim.plans import build_plans
from iaxsim.validate.compare import CallResult
from iaxsim.validate.recovery import RecoveryIndex
from iaxsim.validate.wanproc import WanProcess, realtime_while

#: The node's internal context (iax.conf ``[general] context``): external.conf, then link.conf.
INTERNAL_CONTEXT = "from-internal"
#: A call still unfinished this long after its start (or 1.5 times its simulated post-dial delay
#: plus 5 s, when longer) is given up and recorded as failed.
CALL_TIMEOUT = 60.0
#: How long a warm-up call is waited for (one to an unreachable address is then hung up).
WARM_UP_WAIT = 5.0
_ATTEMPT = re.compile(r"-> (\S+):(\d+) \(call (\d+)\)")
_DIAL_PEER = re.compile(r"IAX2/(?:[^@/]*@)?([^/,:\s]+)")


@dataclass(frozen=True)
class ReplayCall:
    """One call to replay: when (s from the start), where from, what, for how long."""

    offset: float
    origin: str
    dialled: str
    target: str
    holding: float
    #: how long to wait for the call to ring or end before giving up on it
    wait: float = CALL_TIMEOUT


def unsupported(scenario: Scenario) -> list[str]:
    """What the scenario models that a replay on nodes cannot reproduce (empty when none)."""
    out = []
    if scenario.linking != "linked":
        out.append(f"linking = {scenario.linking!r} (only 'linked' is replayed)")
    tr = scenario.traffic
    if tr.dialling != "enbloc" or any(o.get("dialling", "enbloc") != "enbloc"
                                      for o in scenario.server_traffic.values()):
        out.append("dialling = 'digits' (the nodes take numbers en bloc)")
    if tr.answer_delay.mean or any(o.get("answer_delay") for o in scenario.server_traffic.values()):
        out.append("traffic.answer_delay (the nodes answer at once)")
    if scenario.trunk:
        out.append("trunk = true")
    if scenario.media == "frames":
        out.append("media = 'frames'")
    return out


def _addresses(scenario: Scenario) -> dict[str, dict[str, str]]:
    return {s.id: {"internal": f"127.0.{k}.2", "external": f"127.0.{k}.3"}
            for k, s in enumerate(scenario.servers, start=1)}


def _peer_names(server: str) -> tuple[str, ...]:
    """iax.conf peer names a link.conf may use for ``server`` (internal, external, x2 styles)."""
    return (f"cserver{server}i", f"c{server}i", f"cserver{server}x", f"c{server}x")


def link_attempts(rec: CallRecord, link_peers: set[str]) -> int:
    """Dial attempts to linked servers in an origin's record: the simulator's ``attempts``
    (a local extension's ``Dial(IAX2/${EXTEN})`` to a phone is not one)."""
    n = 0
    for note in rec.attempts:
        m = _DIAL_PEER.search(note)
        if m is not None and m.group(1) in link_peers:
            n += 1
    return n


def _iax_conf(scenario: Scenario, viewer: str, wan: WanProcess) -> str:
    lines = ["[general]", f"account = {scenario.account}", f"context = {INTERNAL_CONTEXT}",
             "answer = echo", ""]
    for s in scenario.servers:
        if s.id == viewer:
            continue
        for kind, letter in (("internal", "i"), ("external", "x")):
            host, port = wan.proxy(viewer, s.id, kind)
            for name in _peer_names(s.id)[0:2] if kind == "internal" else _peer_names(s.id)[2:]:
                lines += [f"[{name}]", "type = peer", f"host = {host}", f"port = {port}", ""]
    return "\n".join(lines)


class _Caller:
    """An endpoint placing the replayed calls into one origin node; events per call."""

    def __init__(self, seed: int):
        self.endpoint = Endpoint(EndpointConfig(ping_interval=None, lagrq_interval=None),
                                 seed=seed)
        self.queues: dict[int, asyncio.Queue[tuple[float, Event]]] = {}
        self.transport = Transport(self.endpoint, on_event=self._event)

    def _event(self, e: Event) -> None:
        q = self.queues.get(getattr(e, "call_id", -1))
        if q is not None:
            q.put_nowait((self.transport.now(), e))


async def _one_call(caller: _Caller, node: Node, origin_addr: Address, call: ReplayCall,
                    tag: str) -> tuple[float, float, str, CallRecord | None]:
    """Place one call; returns (wall-clock start, post-dial delay, how it ended at the caller,
    the origin's record)."""
    tr = caller.transport
    t0 = tr.now()
    wall = time.time()
    cid = tr.command("place_call", origin_addr, call.dialled, context=INTERNAL_CONTEXT,
                     calling_number=tag)
    q: asyncio.Queue[tuple[float, Event]] = asyncio.Queue()
    caller.queues[cid] = q
    pdd = math.nan
    end = "timeout"
    try:
        while True:
            try:
                t, e = await asyncio.wait_for(q.get(), call.wait - (tr.now() - t0))
            except (asyncio.TimeoutError, ValueError):  # given up: hang up, so the origin stops too
                if caller.endpoint.call_state(cid) not in (None, "closing"):
                    tr.command("hangup", cid)
                break
            if isinstance(e, (CallRinging, CallAnswered)) and math.isnan(pdd):
                pdd = t - t0
            if isinstance(e, CallAnswered):
                end = "answered"
                await asyncio.sleep(call.holding)
                if caller.endpoint.call_state(cid) not in (None, "closing"):
                    tr.command("hangup", cid)
                break
            if isinstance(e, (CallBusy, CallCongestion)):
                end = "busy" if isinstance(e, CallBusy) else "congestion"
                pdd = t - t0 if math.isnan(pdd) else pdd
                tr.command("hangup", cid)
                break
            if isinstance(e, (CallRejected, CallHungUp, CallFailed)):
                end = "ended"
                pdd = t - t0 if math.isnan(pdd) else pdd
                break
    finally:
        caller.queues.pop(cid, None)
    rec = next((r for r in reversed(node.records) if r.direction == "in" and r.caller == tag),
               None)
    return wall, pdd, end, rec


def _result(call: ReplayCall, pdd: float, end: str, rec: CallRecord | None,
            where: dict[Address, tuple[str, str]], link_peers: set[str]) -> CallResult:
    """The node side of one call in the simulator's terms.

    The post-dial delay is taken at the origin, as the simulator takes it: from the incoming
    NEW (the dialled number reaching the origin server) to the call being answered there (the
    far end's ANSWER arriving: with no answer delay it travels with RINGING) or, for a call that
    is not answered, to its end. The caller's own view (``pdd``) serves only when the origin kept
    no record."""
    if rec is None:
        return CallResult("failed", "", 0, pdd)
    if rec.answered is not None:
        pdd = rec.answered - rec.start
    elif rec.end is not None:
        pdd = rec.end - rec.start
    attempts = link_attempts(rec, link_peers)
    if end == "answered":
        by, kind = call.origin, ""
        if rec.outcome == "answered-remote" and rec.attempts:
            m = _ATTEMPT.search(rec.attempts[-1])
            by, kind = where.get((m.group(1), int(m.group(2))), ("?", "")) if m else ("?", "")
        right = call.target in (by, "")
        return CallResult("answered" if right else "misrouted", by, attempts, pdd, kind)
    if end in ("busy", "congestion"):
        return CallResult(end, "", attempts, pdd)
    if end == "timeout" or any((" failed:" in a or "(call" not in a)
                               and (m := _DIAL_PEER.search(a)) is not None
                               and m.group(1) in link_peers for a in rec.attempts):
        return CallResult("failed", "", attempts, pdd)
    return CallResult("rejected", "", attempts, pdd)


async def _replay(scenario: Scenario, calls: list[ReplayCall], seed: int,
                  root: Path) -> tuple[list[CallResult], int]:
    plans = build_plans(scenario)
    ips = _addresses(scenario)
    nodes: dict[str, Node] = {}
    captures: dict[str, list[Datagram]] = {s.id: [] for s in scenario.servers}
    bound: dict[str, dict[str, Address]] = {}
    callers: dict[str, _Caller] = {}
    wan: WanProcess | None = None
    try:
        for k, s in enumerate(scenario.servers):
            d = root / s.id
            d.mkdir()
            (d / "external.conf").write_text(plans[s.id].external_conf, encoding="utf-8")
            (d / "link.conf").write_text(plans[s.id].link_conf, encoding="utf-8")
            (d / "iax.conf").write_text(f"[general]\naccount = {scenario.account}\n"
                                        f"context = {INTERNAL_CONTEXT}\nanswer = echo\n")
            nodes[s.id] = Node(d, seed=seed + k, log=lambda _m: None, capture=captures[s.id],
                               ping_interval=None,
                               lagrq_interval=None)
            a = await nodes[s.id].start([(ips[s.id]["internal"], 0), (ips[s.id]["external"], 0)])
            bound[s.id] = {"internal": a[0], "external": a[1]}
        faces = [(v.id, t.id, kind) for v in scenario.servers for t in scenario.servers
                 if t.id != v.id for kind in ("internal", "external")]
        wan = WanProcess(WanConfig.from_scenario(scenario.to_dict(), bound, seed=seed), faces,
                         realtime=True)
        where: dict[str, dict[Address, tuple[str, str]]] = {}
        for s in scenario.servers:
            (root / s.id / "iax.conf").write_text(_iax_conf(scenario, s.id, wan))
            nodes[s.id].reload()
            where[s.id] = {wan.proxy(s.id, t.id, kind): (t.id, kind)
                           for t in scenario.servers if t.id != s.id
                           for kind in ("internal", "external")}
        for k, s in enumerate(scenario.servers, start=1):
            callers[s.id] = _Caller(seed + 1000 + k)
            await callers[s.id].transport.bind((f"127.0.{k}.9", 0))
        link_peers = {name for s in scenario.servers for name in _peer_names(s.id)}
        # warm-up, as the simulator's: one call from every server to every other one, not
        # compared, so that no measured call pays first-use costs of the Python code
        warm = [ReplayCall(0.0, s.id, plans[t.id].numbers[0], t.id, 0.0, WARM_UP_WAIT)
                for s in scenario.servers for t in scenario.servers
                if t.id != s.id and plans[t.id].numbers]
        await asyncio.gather(*(_one_call(callers[c.origin], nodes[c.origin],
                                         bound[c.origin]["internal"], c, f"8{i:05d}")
                               for i, c in enumerate(warm)))
        await asyncio.sleep(0.2)
        lost_before = wan.lost()
        loop = asyncio.get_running_loop()
        t0 = loop.time() + 0.05

        async def later(i: int, c: ReplayCall) -> tuple[float, float, str, CallRecord | None]:
            await asyncio.sleep(max(0.0, t0 + c.offset - loop.time()))
            return await _one_call(callers[c.origin], nodes[c.origin],
                                   bound[c.origin]["internal"], c, f"9{i:05d}")

        outs = await asyncio.gather(*(later(i, c) for i, c in enumerate(calls)))
        await asyncio.sleep(0.2)  # let the last HANGUPs and ACKs cross
        index = {sid: RecoveryIndex((d.time, d.src, d.dst, d.data) for d in cap)
                 for sid, cap in captures.items()}
        results = []
        for c, (wall, pdd, end, rec) in zip(calls, outs):
            r = _result(c, pdd, end, rec, where[c.origin], link_peers)
            until = wall + (pdd if not math.isnan(pdd) else c.wait)
            dialogs = ({int(m.group(3)) for a in rec.attempts if (m := _ATTEMPT.search(a))}
                       if rec is not None else set())
            r.recovered = index[c.origin].any_between(set(bound[c.origin].values()), wall, until,
                                                      dialogs)
            results.append(r)
        return results, wan.lost() - lost_before
    finally:
        for caller in callers.values():
            caller.transport.close()
        for n in nodes.values():
            n.close()
        if wan is not None:
            wan.stop()


def replay(scenario: Scenario, calls: list[ReplayCall],
           seed: int = 0) -> tuple[list[CallResult], int]:
    """Run ``calls`` on real nodes; returns each call's result and how many datagrams the WAN
    emulator lost meanwhile."""
    if not calls:
        raise ConfigError("no calls to replay")
    problems = unsupported(scenario)
    if problems:
        raise ConfigError("cannot replay on nodes: " + "; ".join(problems))
    # nodes and emulator ahead of other work where permitted: real-time calls on a busy machine
    with tempfile.TemporaryDirectory(prefix="iaxsim-validate-") as tmp, realtime_while():
        return asyncio.run(_replay(scenario, calls, seed, Path(tmp)))
