"""Qualify (``qualify=yes``) as a real Asterisk 22 does it, observed on the wire: an unanswered
POKE is sent at 0, 0.5, 5.5 and 15.5 s and the peer is UNREACHABLE about 22 s after the first
POKE; the next POKE follows 10 s after that; a PONG 2.61 s late makes the peer LAGGED (maxms
2000 ms). The mechanism is chan_iax2.c's (iax2_poke_peer's pokeexpire, iax2_poke_noanswer):
the 22 s are min(2 x MAX_RETRY_TIME + maxms, pokefreqok x 5/6), 8.33 s (pokefreqnotok x 5/6)
for a POKE to a peer already UNREACHABLE."""
from __future__ import annotations

import asyncio
import socket

import pytest
from net_helpers import run

from iaxsim.iax2 import IAXSubclass, decode
from iaxsim.iax2.engine import (Endpoint, EndpointConfig, EngineError, PeerStatus, PokeTimeout,
                                PongReceived, Qualify)
from iaxsim.iax2.engine.wire import Wire
from iaxsim.net.transport import Transport

A = ("10.0.0.1", 4569)
B = ("10.0.0.2", 4569)
DEAD = ("10.0.0.99", 4569)


def test_unanswered_poke_sent_at_0_05_55_155_and_unreachable_at_22_s():
    a = Endpoint(EndpointConfig(), seed=1)
    w = Wire()
    timeouts = []
    w.attach(A, a, lambda e, now: timeouts.append((e, now)) if isinstance(e, PokeTimeout) else None)
    pid = a.poke(DEAD, now=0.0)
    w.run(until=60.0)
    sends = w.sent(A)
    assert [p.sent for p in sends] == pytest.approx([0.0, 0.5, 5.5, 15.5])
    assert [p.frame.retransmitted for p in sends] == [False, True, True, True]
    assert timeouts == [(PokeTimeout(pid, DEAD), pytest.approx(22.0))]
    assert a.active_dialogs == 0 and a.get_timer() is None


def test_poke_timeout_can_be_shorter_and_must_be_positive():
    a = Endpoint(EndpointConfig(), seed=1)
    w = Wire()
    timeouts = []
    w.attach(A, a, lambda e, now: timeouts.append(now) if isinstance(e, PokeTimeout) else None)
    a.poke(DEAD, now=0.0, timeout=25 / 3)   # pokefreqnotok x 5/6: the peer is already UNREACHABLE
    w.run(until=60.0)
    assert [p.sent for p in w.sent(A)] == pytest.approx([0.0, 0.5, 5.5])
    assert timeouts == [pytest.approx(8.3333, abs=1e-3)]
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(EngineError, match="poke timeout"):
            a.poke(DEAD, now=0.0, timeout=bad)


def qualify_run(latency: float | None, until: float, answer_from: float = 0.0):
    """A qualifies B with the Qualify state machine over the engine on a fake clock; B answers
    POKEs sent at or after ``answer_from`` (``latency`` s each way), or none (None).
    Returns (first-send times of the POKEs, (time, status) after each outcome, the state)."""
    a = Endpoint(EndpointConfig(), seed=1)
    b = Endpoint(EndpointConfig(), seed=2)
    w = Wire(latency=latency or 0.0)
    w.add_filter(lambda p: "drop" if p.src == A and (latency is None or p.sent < answer_from) else None)
    state = Qualify.from_config(a.config)
    history: list[tuple[float, PeerStatus]] = []
    pending = [0.0]   # when the next POKE goes out

    def outcome(e, now):
        if isinstance(e, PongReceived):
            wait = state.answered(e.rtt)
        elif isinstance(e, PokeTimeout):
            wait = state.unanswered()
        else:
            return
        history.append((now, state.status))
        pending.append(now + wait)

    w.attach(A, a, outcome)
    w.attach(B, b)
    while pending and pending[0] <= until:
        t = pending.pop()
        w.run(until=t)
        a.poke(B, now=t, timeout=state.poke_timeout())
        w.run(until=until, stop=lambda: bool(pending))
    pokes = [p.sent for p in w.sent(A) if p.frame_is(IAXSubclass.POKE) and not p.frame.retransmitted]
    return pokes, history, state


def test_unreachable_peer_is_poked_10_s_after_each_unanswered_poke():
    pokes, history, state = qualify_run(None, until=80.0)
    # UNREACHABLE 22 s after the first POKE; next POKE 10 s later, given up 8.33 s after it
    cycle = 10 + 25 / 3
    assert pokes == pytest.approx([0.0, 32.0, 32.0 + cycle, 32.0 + 2 * cycle])
    assert [t for t, _ in history] == pytest.approx([22.0] + [32.0 + k * cycle + 25 / 3 for k in range(3)])
    assert {s for _, s in history} == {PeerStatus.UNREACHABLE}
    assert not state.usable


def test_answered_peer_is_ok_and_poked_every_60_s():
    pokes, history, state = qualify_run(0.005, until=150.0)
    assert pokes == pytest.approx([0.0, 60.01, 120.02])   # 60 s after each PONG (10 ms round trip)
    assert [s for _, s in history] == [PeerStatus.OK] * 3
    assert state.usable and state.last == pytest.approx(0.01)


def test_a_pong_261_s_late_makes_the_peer_lagged_then_poked_every_10_s():
    pokes, history, state = qualify_run(1.305, until=30.0)
    assert history[0] == (pytest.approx(2.61), PeerStatus.LAGGED)
    assert state.last == pytest.approx(2.61) and not state.usable     # Dial skips a LAGGED peer
    assert pokes[:2] == pytest.approx([0.0, 12.61])


def test_peer_comes_back_reachable_after_being_unreachable():
    pokes, history, state = qualify_run(0.005, until=100.0, answer_from=30.0)
    assert history[0] == (pytest.approx(22.0), PeerStatus.UNREACHABLE)
    assert pokes[1] == pytest.approx(32.0)
    assert history[1] == (pytest.approx(32.01), PeerStatus.OK)
    assert pokes[2] == pytest.approx(92.01)


def test_qualify_states_and_timeouts_follow_chan_iax2():
    q = Qualify()   # maxms 2 s, pokefreqok 60 s, pokefreqnotok 10 s, MAX_RETRY_TIME 10 s
    assert q.status is PeerStatus.UNKNOWN and q.usable and q.poke_timeout() == 22.0
    assert q.answered(2.0) == 60.0 and q.status is PeerStatus.OK        # maxms itself is fine
    assert q.answered(2.001) == 10.0 and q.status is PeerStatus.LAGGED and not q.usable
    assert q.unanswered() == 10.0 and q.status is PeerStatus.UNREACHABLE
    assert q.poke_timeout() == pytest.approx(25 / 3)
    fast = Qualify(maxms=2.0, freq_ok=12.0)  # a short pokefreqok caps the timeout at 5/6 of it
    assert fast.poke_timeout() == 10.0


@pytest.mark.slow
def test_real_udp_poke_of_a_silent_socket_times_out_at_22_s():
    async def main():
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        silent.setblocking(False)
        loop = asyncio.get_running_loop()
        tr = Transport(Endpoint(EndpointConfig(), seed=3))
        try:
            await tr.bind(("127.0.0.1", 0))
            done = tr.expect(lambda e: isinstance(e, PokeTimeout))
            t0 = loop.time()
            tr.command("poke", silent.getsockname())
            arrivals = []

            async def listen():
                while True:
                    data, _ = await loop.sock_recvfrom(silent, 2048)
                    arrivals.append((loop.time() - t0, decode(data)))
            listener = asyncio.ensure_future(listen())
            await done
            gave_up = loop.time() - t0
            await asyncio.sleep(0.5)
            listener.cancel()
            return arrivals, gave_up
        finally:
            tr.close()
            silent.close()

    arrivals, gave_up = run(main(), timeout=40.0)
    assert [f.subclass for _, f in arrivals] == [IAXSubclass.POKE] * 4
    assert [t for t, _ in arrivals] == pytest.approx([0.0, 0.5, 5.5, 15.5], abs=0.15)
    assert gave_up == pytest.approx(22.0, abs=0.15)
