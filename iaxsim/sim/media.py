"""The media of answered calls: link bandwidth over time, and each call's voice frames.

By formula (:mod:`iaxsim.theory`) unless the scenario says ``media = "frames"``, which sends
real voice frames every packetisation interval (mini frames, or trunk frames when
``trunk = true``) through the engine.
"""
from __future__ import annotations

from typing import Generator

import simpy

from iaxsim import theory
from iaxsim.sim.calls import CallRecord
from iaxsim.sim.results import BIN_SECONDS, TimeWeighted
from iaxsim.sim.scenario import Scenario
from iaxsim.sim.server import SimServer


class PairLoad:
    """Calls up between two servers, and the media bandwidth over time of either direction
    (a call sends media both ways, so both directions always carry the same calls)."""

    __slots__ = ("calls", "kbps")

    def __init__(self) -> None:
        self.calls = 0
        self.kbps = TimeWeighted(BIN_SECONDS)


class Media:
    """Counts the calls up on each server pair and carries their media."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, server_ids: list[str]):
        self.env = env
        self.scenario = scenario
        #: directed server pair -> its load, one object shared by the pair's two directions
        self.pairs: dict[tuple[str, str], PairLoad] = {}
        for a in server_ids:
            for b in server_ids:
                if a != b:
                    self.pairs[(a, b)] = self.pairs.get((b, a)) or PairLoad()
        self._kbps: dict[int, float] = {}  # media kbit/s of n calls on a link (a pure function of n)
        self._rates: dict[int, tuple[float, float]] = {}  # one call's (frames/s, kbit/s) beside n calls

    def carry(self, o: SimServer, peer: SimServer, cid: int, rec: CallRecord,
              holding: float) -> Generator[simpy.Event, object, None]:
        """Generator: carry the call's media for ``holding`` seconds (formula, or real frames)."""
        env, sc = self.env, self.scenario
        load = self.pairs[(o.id, peer.id)]
        load.calls += 1
        n = load.calls
        load.kbps.set(env.now, self.link_kbps(n))
        try:
            if sc.media == "frames":
                yield from self.frames_both_ways(o, peer, cid, holding)
            else:
                if not sc.trunk:
                    n = 0
                rates = self._rates.get(n)
                if rates is None:  # a pure function of n: worked out once
                    rates = self._rates[n] = theory.call_rates(
                        sc.codec, trunk_calls=n, mtu=sc.trunk_mtu or None, timestamps=sc.trunk_timestamps)
                frames, nbytes = theory.bytes_over(rates, holding)
                rec.frames += 2 * frames
                rec.bytes += 2 * nbytes
                yield env.timeout(holding)
        finally:
            load.calls -= 1
            load.kbps.set(env.now, self.link_kbps(load.calls))

    def link_kbps(self, n: int) -> float:
        """Media kbit/s one direction of a link carries with ``n`` calls up."""
        kbps = self._kbps.get(n)
        if kbps is None:
            sc = self.scenario
            if n <= 0:
                kbps = 0.0
            elif sc.trunk:
                kbps = theory.trunk_total_kbps(sc.codec, n, mtu=sc.trunk_mtu or None, timestamps=sc.trunk_timestamps)
            else:
                kbps = n * theory.iax2_call_kbps(sc.codec)
            self._kbps[n] = kbps
        return kbps

    def frames_both_ways(self, o: SimServer, peer: SimServer, cid: int,
                         holding: float) -> Generator[simpy.Event, object, None]:
        """Generator: send real voice frames every packetisation interval in both directions."""
        env = self.env
        codec = theory.codec(self.scenario.codec)
        step = codec.frame_ms / 1000.0
        payload = b"\xff" * codec.payload_bytes
        info = o.endpoint.call_info(cid)
        peer_cid = info.peer_callno if info is not None else None
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
