"""The simulated network's deliveries on SimPy's clock: arrival times, order against other
SimPy events due at the same instant, batching and counters (a delivery is a SimPy timeout due at
its arrival time; these pin that it keeps its place among other events due then)."""
from __future__ import annotations

import numpy as np
import simpy

from iaxsim.sim.network import Network
from iaxsim.sim.scenario import scenario_from_dict

LATENCY = 0.02


def make(jitter: float = 0.0, loss: float = 0.0):
    sc = scenario_from_dict({
        "name": "net", "numbering": {"extensions_per_server": 10},
        "servers": [{"id": "A"}, {"id": "B"}],
        "network": {"latency": {"dist": "fixed", "value": LATENCY}, "jitter": jitter, "loss": loss,
                    "internal_scope": "global"}})
    env = simpy.Environment()
    net = Network(env, sc.servers, sc.network, np.random.default_rng(1), capture=[])
    log: list = []
    for s in sc.servers:
        net.attach(s.id, lambda dgs, addr, sid=s.id: log.append((env.now, sid, addr[0], list(dgs))))
    return env, net, sc, log


def test_a_datagram_arrives_after_the_link_latency_from_the_senders_address():
    env, net, sc, log = make()
    a, b = sc.servers
    env.timeout(1.0).callbacks.append(lambda _e: net.send_all("A", [(b"x", (b.external, 4569))]))
    env.run()
    assert log == [(1.0 + LATENCY, "B", a.external, [b"x"])]
    c = net.counters[("A", "B")]
    assert (c.sent, c.sent_bytes, c.delivered) == (1, 1, 1)
    assert net.capture == [(1.0 + LATENCY, a.external, 4569, b.external, 4569, b"x")]


def test_datagrams_sent_together_arrive_together_and_in_order():
    env, net, sc, log = make()
    _, b = sc.servers
    net.send_all("A", [(b"1", (b.internal, 4569)), (b"2", (b.internal, 4569)), (b"3", (b.external, 4569))])
    env.run()
    # same destination and source address: one delivery; the other address: a second one
    assert [(t, sid, dgs) for t, sid, _, dgs in log] == [(LATENCY, "B", [b"1", b"2"]), (LATENCY, "B", [b"3"])]


def test_a_delivery_keeps_its_place_among_events_due_at_the_same_time():
    env, net, sc, log = make()
    _, b = sc.servers
    order: list[str] = []
    # due at LATENCY too: one scheduled before the send, one after; SimPy runs same-time
    # events in the order they were scheduled, and the delivery must sit between them
    net.attach("B", lambda dgs, addr: order.append("delivery"))
    env.timeout(LATENCY).callbacks.append(lambda _e: order.append("before"))
    net.send_all("A", [(b"x", (b.external, 4569))])
    env.timeout(LATENCY).callbacks.append(lambda _e: order.append("after"))
    env.run()
    assert order == ["before", "delivery", "after"]
    assert env.now == LATENCY


def test_jittered_deliveries_never_overtake_each_other():
    env, net, sc, log = make(jitter=0.05)
    _, b = sc.servers
    for i in range(50):
        env.timeout(i * 0.001).callbacks.append(
            lambda _e, i=i: net.send_all("A", [(bytes([i]), (b.external, 4569))]))
    env.run()
    received = [d for _, _, _, dgs in log for d in dgs]
    assert received == [bytes([i]) for i in range(50)]
    # held back to the arrival before it: the very same time, not one a rounding away
    assert len(set(t for t, *_ in log)) < 50
    times = [t for t, *_ in log]
    assert times == sorted(times) and times[0] >= LATENCY


def test_lost_datagrams_are_counted_not_delivered():
    env, net, sc, log = make(loss=1.0)
    _, b = sc.servers
    net.send_all("A", [(b"x", (b.external, 4569))] * 3)
    env.run()
    assert log == []
    c = net.counters[("A", "B")]
    assert (c.sent, c.lost, c.delivered) == (3, 3, 0)
