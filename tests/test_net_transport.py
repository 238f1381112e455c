"""The asyncio transport: the engine's timers on the loop's clock, reply routing, filters,
capture."""
from __future__ import annotations

import asyncio
import socket
import time

import pytest
from net_helpers import run

from iaxsim.iax2 import FullFrame, IAXSubclass, decode
from iaxsim.iax2.engine import CallFailed, Endpoint, EndpointConfig
from iaxsim.net.transport import NetError, Transport


def test_retransmissions_follow_the_rto_on_the_event_loop_clock():
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))
    hole.setblocking(False)
    arrivals: list[float] = []

    async def main():
        loop = asyncio.get_running_loop()
        loop.add_reader(hole.fileno(), lambda: (hole.recv(2048), arrivals.append(time.monotonic())))
        tr = Transport(Endpoint(EndpointConfig(initial_pingtime=0.05, max_sends=2), seed=1))
        await tr.bind(("127.0.0.1", 0))
        failed = tr.expect(lambda e: isinstance(e, CallFailed))
        t0 = time.monotonic()
        tr.command("place_call", hole.getsockname(), "100")
        event = await tr.wait(failed, 5)
        t_fail = time.monotonic() - t0
        loop.remove_reader(hole.fileno())
        tr.close()
        return t0, event, t_fail

    try:
        t0, event, t_fail = run(main())
    finally:
        hole.close()
    # RTO = 2 x ping time = 0.1 s; x10 per retry: sends at 0 and 0.1 s, give up at 1.1 s
    rel = [t - t0 for t in arrivals]
    assert len(rel) == 2
    assert rel[0] < 0.08 and 0.09 <= rel[1] < 0.4
    assert 1.09 <= t_fail < 2.0
    assert (event.cause, event.code) == ("Max retries exceeded", 27)


def test_reply_leaves_from_the_socket_the_request_reached_and_is_captured():
    async def main():
        capture: list = []
        server = Transport(Endpoint(seed=2), capture=capture)
        first = await server.bind(("127.0.0.2", 0))
        second = await server.bind(("127.0.0.3", 0))
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client.bind(("127.0.0.1", 0))
        client.setblocking(False)
        loop = asyncio.get_running_loop()
        poke = FullFrame(source_call=77, subclass=IAXSubclass.POKE).encode()
        await loop.sock_sendto(client, poke, second)
        data, src = await asyncio.wait_for(loop.sock_recvfrom(client, 2048), 5)
        # a filter drops the next one before the engine sees it
        server.filters.append(lambda d, local, remote, b: d == "in")
        await loop.sock_sendto(client, poke, first)
        await asyncio.sleep(0.1)
        stats = server.stats.as_dict()
        client.close()
        server.close()
        return first, second, data, src, capture, stats, client

    first, second, data, src, capture, stats, _ = run(main())
    assert src == second                                # not from the first socket
    pong = decode(data)
    assert pong.subclass == IAXSubclass.PONG and pong.dest_call == 77
    assert [(c.src == second or c.dst == second) for c in capture] == [True, True, False]
    assert capture[1].data == data and capture[1].dst[0] == "127.0.0.1"
    assert stats["received"] == 1 and stats["sent"] == 1 and stats["dropped_in"] == 1


def test_bind_errors_are_net_errors():
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    port = taken.getsockname()[1]

    async def main():
        tr = Transport(Endpoint())
        try:
            await tr.bind(("127.0.0.1", port))   # already in use
        finally:
            tr.close()

    try:
        with pytest.raises(NetError, match=f"cannot bind UDP 127.0.0.1:{port}"):
            run(main())
    finally:
        taken.close()


def test_wait_for_times_out_with_a_net_error():
    async def main():
        tr = Transport(Endpoint())
        await tr.bind(("127.0.0.1", 0))
        try:
            await tr.wait_for(lambda e: True, timeout=0.05)
        finally:
            tr.close()

    with pytest.raises(NetError, match="no matching event within 0.05 s"):
        run(main())


def test_route_table_is_bounded_under_many_sources():
    async def main():
        server = Transport(Endpoint(seed=3))
        server.max_routes = 10
        await server.bind(("127.0.0.2", 0))
        second = await server.bind(("127.0.0.3", 0))
        loop = asyncio.get_running_loop()
        socks = []
        poke = FullFrame(source_call=9, subclass=IAXSubclass.POKE).encode()
        for _ in range(30):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
            socks.append(s)
            await loop.sock_sendto(s, poke, second)
        replies = [await asyncio.wait_for(loop.sock_recvfrom(s, 2048), 5) for s in socks]
        routes = dict(server._routes)
        names = [s.getsockname() for s in socks]
        for s in socks:
            s.close()
        server.close()
        return replies, routes, names

    replies, routes, names = run(main())
    assert all(src == replies[0][1] for _, src in replies)   # each answered from the 2nd socket
    assert replies[0][1][0] == "127.0.0.3"
    assert list(routes) == names[-10:]           # only the 10 most recent sources kept
