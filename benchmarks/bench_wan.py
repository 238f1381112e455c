"""WAN emulator: how closely a 20 ms one-way latency is kept at 1,000 datagrams/s.

A traffic process (this script with ``--traffic``) plays two servers: a sender thread sends
``RATE`` datagrams/s, paced on the monotonic clock, each carrying its send time; the main
thread receives them and records the one-way delay (receive time - send time; Linux's
CLOCK_MONOTONIC is the same in every process). It runs twice:

* baseline: sender -> sink directly on loopback (what the measurement itself adds);
* emulated: sender -> the emulator's face for the sink (``LATENCY`` s, no jitter or loss),
  the emulator (in this process, its own thread) -> sink.

Printed: mean, p50 and p99 of the delay error (emulated delay - LATENCY) and of the baseline
delay, the emulator's own addition (error - baseline), and the emulator's CPU time per
datagram (this process's CPU seconds over the emulated run / datagrams relayed).

    .venv/bin/python benchmarks/bench_wan.py [--quick] [--rate 1000] [--seconds 5]
"""
from __future__ import annotations

import argparse
import json
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from iaxsim.net.wan import Impairment, WanConfig, WanEmulator, WanServer  # noqa: E402

LATENCY = 0.020
_STAMP = struct.Struct("!dI")


def traffic(src: tuple[str, int], sink: tuple[str, int], to: tuple[str, int], rate: float,
            seconds: float) -> dict[str, object]:
    """Send ``rate`` datagrams/s for ``seconds`` from ``src`` to ``to``, receive them at
    ``sink``; the one-way delays in seconds and the count sent."""
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.bind(src)
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(sink)
    rx.settimeout(1.0)
    count = int(rate * seconds)
    padding = bytes(160)  # a 20 ms G.711 frame's payload

    def send() -> None:
        start = time.monotonic() + 0.05
        for i in range(count):
            due = start + i / rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            tx.sendto(_STAMP.pack(time.monotonic(), i) + padding, to)

    thread = threading.Thread(target=send)
    thread.start()
    delays: list[float] = []
    while len(delays) < count:
        try:
            data = rx.recv(2048)
        except socket.timeout:
            break
        now = time.monotonic()
        sent, _ = _STAMP.unpack_from(data)
        delays.append(now - sent)
    thread.join()
    tx.close()
    rx.close()
    return {"sent": count, "delays": delays}


def _spawn(src, sink, to, rate, seconds) -> subprocess.Popen:
    args = [sys.executable, __file__, "--traffic", json.dumps([src, sink, to, rate, seconds])]
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True)


def _free_port(host: str) -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _stats(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    return (statistics.fmean(ordered), ordered[len(ordered) // 2],
            ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))])


def _ms(t: tuple[float, float, float]) -> str:
    return f"mean {t[0] * 1e3:7.3f}  p50 {t[1] * 1e3:7.3f}  p99 {t[2] * 1e3:7.3f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 s instead of 5")
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--traffic", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.traffic is not None:
        src, sink, to, rate, seconds = json.loads(args.traffic)
        print(json.dumps(traffic(tuple(src), tuple(sink), tuple(to), rate, seconds)))
        return 0
    seconds = args.seconds or (2.0 if args.quick else 5.0)
    src = ("127.0.0.1", _free_port("127.0.0.1"))
    sink = ("127.0.0.1", _free_port("127.0.0.1"))

    base = json.loads(_spawn(src, sink, sink, args.rate, seconds).communicate()[0])

    config = WanConfig(servers=(WanServer("A", {"external": src}), WanServer("B", {"external": sink})),
                       default=Impairment(latency=LATENCY), seed=1)
    with WanEmulator(config) as wan:
        cpu0 = time.process_time()
        emu = json.loads(_spawn(src, sink, wan.proxy("A", "B"), args.rate, seconds).communicate()[0])
        cpu = time.process_time() - cpu0
        counts = wan.pair_counters("A", "B")

    base_delays: list[float] = base["delays"]
    errors = [d - LATENCY for d in emu["delays"]]
    b, e = _stats(base_delays), _stats(errors)
    print(f"WAN emulator, {LATENCY * 1e3:g} ms one-way, {args.rate:g} datagrams/s for {seconds:g} s "
          f"(188-byte datagrams)")
    print(f"  baseline, direct loopback delay: {_ms(b)}   ({len(base_delays)}/{base['sent']} received)")
    print(f"  emulated, delay - {LATENCY * 1e3:g} ms:        {_ms(e)}   ({len(errors)}/{emu['sent']} received)")
    print(f"  added by the emulator (emulated error - baseline): mean {(e[0] - b[0]) * 1e3:.3f} ms, "
          f"p99 {(e[2] - b[2]) * 1e3:.3f} ms")
    print(f"  emulator CPU: {cpu / max(1, counts.forwarded) * 1e6:.1f} us per datagram relayed "
          f"({cpu / seconds * 100:.1f}% of one core); counters {counts.as_dict()}")
    ok = abs(e[0]) <= 0.001 and counts.forwarded == emu["sent"]
    print("  within 1 ms: " + ("yes" if ok else "NO"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
