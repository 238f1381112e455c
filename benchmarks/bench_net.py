"""Real loopback: IAX2 calls per second through iaxsim nodes, and POKE round trip.

* calls/s, phone -> node: an iaxsim endpoint on a UDP socket calls a node's Echo() extension,
  batches of concurrent calls, each fully set up (NEW, CALLTOKEN, NEW+token, ACCEPT, RINGING,
  ANSWER, ACKs) and torn down (HANGUP, ACK) before the next batch;
* calls/s, phone -> node A -> node B: the seed's linked pair, the call routed by link.conf;
* POKE round trip: median over sequential POKEs (POKE -> PONG -> ACK) to a node.

Baselines measured in the same run: the same call flow between two endpoints wired back to
back in memory (no sockets, no event loop), and the median round trip of a bare asyncio UDP
echo on loopback. Everything runs in one process and one thread: call rates are per
CPU-second of that process (``time.process_time``, so other programs on the machine do not
dilute them; the sockets' kernel work is included), round trips are wall-clock.

    .venv/bin/python benchmarks/bench_net.py [--quick]
"""
from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from iaxsim.iax2.engine import (CallAnswered, CallHungUp, CallRejected, Endpoint,  # noqa: E402
                                EndpointConfig, PokeTimeout, PongReceived)
from iaxsim.net.node import Node  # noqa: E402
from iaxsim.net.transport import Transport  # noqa: E402
from bench_engine import run_calls  # noqa: E402  (this folder: the engine benchmark's call loop)

QUIET = dict(ping_interval=None, lagrq_interval=None)


def in_memory_calls(n: int, batch: int) -> float:
    """Baseline: the same calls (call tokens on, no authentication) between two endpoints
    handing bytes to each other in memory: ``bench_engine.run_calls``, measured in this run."""
    return run_calls(n, tokens=True, auth=False, batch=batch)


async def loopback_calls(target, phone: Transport, n: int, batch: int,
                         context: str = "default", number: str = "100") -> float:
    ep = phone.endpoint
    t0 = time.process_time()
    done = 0
    for _ in range(n // batch):
        pending = set()
        futs = []
        for _ in range(batch):
            cid = phone.command("place_call", target, number, context=context)
            pending.add(cid)
            futs.append(phone.expect(lambda e, c=cid: getattr(e, "call_id", None) == c and
                                     isinstance(e, (CallAnswered, CallRejected, CallHungUp))))
        events = await asyncio.wait_for(asyncio.gather(*futs), 30)
        bad = [e for e in events if not isinstance(e, CallAnswered)]
        if bad:
            raise RuntimeError(f"calls failed: {bad[:3]}")
        for cid in pending:
            phone.command("hangup", cid)
        while ep.active_dialogs:
            await asyncio.sleep(0.0005)
        done += batch
    return done / (time.process_time() - t0)


async def poke_rtts(target, count: int) -> list[float]:
    tr = Transport(Endpoint(EndpointConfig(**QUIET), seed=7))
    await tr.bind(("127.0.0.1", 0))
    out = []
    try:
        for _ in range(count):
            fut = tr.expect(lambda e: isinstance(e, (PongReceived, PokeTimeout)))
            t0 = time.perf_counter()
            tr.command("poke", target)
            e = await tr.wait(fut, 5)
            if not isinstance(e, PongReceived):
                raise RuntimeError("POKE unanswered")
            out.append(time.perf_counter() - t0)
            while tr.endpoint.active_dialogs:
                await asyncio.sleep(0)
    finally:
        tr.close()
    return out


class _Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.transport.sendto(data, addr)


class _Client(asyncio.DatagramProtocol):
    def __init__(self):
        self.fut = None

    def datagram_received(self, data, addr):
        if self.fut is not None and not self.fut.done():
            self.fut.set_result(data)


async def udp_echo_rtts(count: int) -> list[float]:
    loop = asyncio.get_running_loop()
    server, _ = await loop.create_datagram_endpoint(_Echo, local_addr=("127.0.0.1", 0))
    client, proto = await loop.create_datagram_endpoint(_Client, local_addr=("127.0.0.1", 0))
    dst = server.get_extra_info("sockname")
    payload = b"\x80\x05\x00\x00" + bytes(8) + b"\x06\x1e"    # a POKE-sized datagram
    out = []
    for _ in range(count):
        proto.fut = loop.create_future()
        t0 = time.perf_counter()
        client.sendto(payload, dst)
        await asyncio.wait_for(proto.fut, 5)
        out.append(time.perf_counter() - t0)
    server.close()
    client.close()
    return out


async def run(n_calls: int, n_linked: int, n_pokes: int, batch: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench-net-"))
    try:
        echo = tmp / "echo"
        echo.mkdir()
        (echo / "extensions.conf").write_text("[default]\nexten => 100,1,Echo()\n")
        node = Node(echo, seed=1, log=lambda m: None, keep_records=1000, **QUIET)
        (addr,) = await node.start([("127.0.0.1", 0)])
        phone = Transport(Endpoint(EndpointConfig(**QUIET), seed=2))
        await phone.bind(("127.0.0.1", 0))
        res = {"direct": await loopback_calls(addr, phone, n_calls, batch)}
        res["poke"] = await poke_rtts(addr, n_pokes)
        res["udp"] = await udp_echo_rtts(n_pokes)
        phone.close()
        node.close()

        dirs = []
        for name in ("serverA", "serverB"):
            shutil.copytree(ROOT / "data" / "seed" / name, tmp / name)
            dirs.append(tmp / name)
        a = Node(dirs[0], seed=3, log=lambda m: None, keep_records=1000, **QUIET)
        b = Node(dirs[1], seed=4, log=lambda m: None, keep_records=1000, **QUIET)
        a_addrs = await a.start([("127.0.0.2", 0), ("127.0.0.3", 0)])
        b_addrs = await b.start([("127.0.0.4", 0), ("127.0.0.5", 0)])
        (dirs[0] / "iax.conf").write_text(
            f"[cserverBi]\ntype=peer\nhost={b_addrs[0][0]}\nport={b_addrs[0][1]}\n"
            f"[cserverBx]\ntype=peer\nhost={b_addrs[1][0]}\nport={b_addrs[1][1]}\n")
        (dirs[1] / "iax.conf").write_text("[c1001i]\ntype=user\n[c1001x]\ntype=user\n")
        a.reload()
        b.reload()
        phone = Transport(Endpoint(EndpointConfig(**QUIET), seed=5))
        await phone.bind(("127.0.0.1", 0))
        res["linked"] = await loopback_calls(a_addrs[0], phone, n_linked, batch,
                                             context="from-internal", number="6001")
        phone.close()
        a.close()
        b.close()
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="short run")
    args = p.parse_args()
    n_calls, n_linked, n_pokes, batch = (200, 100, 100, 20) if args.quick else (2000, 1000, 1000, 50)
    base = in_memory_calls(n_calls, batch)
    res = asyncio.run(run(n_calls, n_linked, n_pokes, batch))
    print(f"{n_calls} calls in batches of {batch}; {n_pokes} POKEs; one process, one thread; "
          "calls/s per CPU-second")
    print(f"baseline: engine pair in memory (no sockets): {base:,.0f} calls/s")
    print(f"loopback phone -> node (Echo): {res['direct']:,.0f} calls/s "
          f"(x{res['direct'] / base:.2f} of in-memory)")
    print(f"loopback phone -> node A -> node B (link.conf): {res['linked']:,.0f} calls/s "
          f"(x{res['linked'] / base:.2f} of in-memory)")
    poke = statistics.median(res["poke"]) * 1e6
    udp = statistics.median(res["udp"]) * 1e6
    print(f"baseline: bare asyncio UDP echo round trip: median {udp:,.0f} us")
    print(f"POKE -> PONG round trip to a node: median {poke:,.0f} us (x{poke / udp:.2f} of UDP echo), "
          f"p90 {sorted(res['poke'])[int(0.9 * len(res['poke']))] * 1e6:,.0f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
