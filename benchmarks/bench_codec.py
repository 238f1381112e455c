"""Codec benchmarks: frames/s for decode+encode of a NEW (8 IEs), an ACK and a voice mini
frame, and decoding a capture of voice mini frames against ``tshark -T fields``.

The codec remembers IEs, IE blocks and IE values it has seen (a simulation repeats them), so
decoding one datagram over and over measures the remembered path; the "distinct tokens" cases
cycle through more different NEW frames than those memos hold (each block is new, seven of
its eight IEs are not), as a call set-up with a fresh call token is.

Each figure is the best of 5 timed loops (the least disturbed by other processes) and is
printed with its ratio against a baseline measured in the same run:
* round trips: the bare cost of unpacking the 12-byte header with a precompiled
  ``struct.Struct`` (the least any Python decoder must do per frame);
* capture: tshark extracting the same two fields from the same file.

    python benchmarks/bench_codec.py           # 1,000,000-frame capture
    python benchmarks/bench_codec.py --quick   # short run, 100,000 frames
"""
from __future__ import annotations

import argparse
import itertools
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from iaxsim.iax2 import (IE, FullFrame, IAXSubclass, IEType, MediaFormat, MiniFrame,  # noqa: E402
                         decode)
from iaxsim.iax2.pcap import Datagram, PcapReader, read_mini_frames, write_pcap  # noqa: E402


def rate(fn, data: bytes, seconds: float, repeats: int = 5) -> float:
    """Best calls/s of ``fn(data)`` over ``repeats`` timed loops of about ``seconds/repeats``
    each (the best run is the least disturbed by other processes, as with ``timeit``)."""
    n = 1000
    while True:                                    # calibrate the loop size
        t0 = time.perf_counter()
        for _ in range(n):
            fn(data)
        dt = time.perf_counter() - t0
        if dt >= seconds / repeats / 2:
            break
        n *= 2
    n = max(1, int(n * (seconds / repeats) / dt))
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn(data)
        best = max(best, n / (time.perf_counter() - t0))
    return best


def new_frame(token: bytes = b"") -> bytes:
    return FullFrame(source_call=5, timestamp=3, subclass=IAXSubclass.NEW, ies=[
        IE(IEType.VERSION, 2), IE(IEType.CALLED_NUMBER, "6000"),
        IE(IEType.CALLING_NUMBER, "5001"), IE(IEType.CALLING_NAME, "Alice"),
        IE(IEType.CALLED_CONTEXT, "external"), IE(IEType.FORMAT, MediaFormat.ULAW),
        IE(IEType.CAPABILITY, MediaFormat.ULAW | MediaFormat.ALAW), IE(IEType.CALLTOKEN, token),
    ]).encode()


#: Distinct NEW frames (each with its own call token), more than the codec's memos hold.
DISTINCT = 10_000


def cycling(fn, items):
    """``fn`` applied to the next of ``items`` (round and round) whatever it is passed."""
    nxt = itertools.cycle(items).__next__
    return lambda _: fn(nxt())


def bench_round_trips(seconds: float) -> None:
    hdr = struct.Struct("!HHIBBBB")
    baseline = rate(hdr.unpack_from, new_frame(), seconds)
    print(f"{'baseline: header struct.unpack_from':46s} {baseline:12,.0f} /s")
    tokened = [new_frame(b"%d:%08x" % (1_700_000_000 + i, i * 2654435761 & 0xFFFFFFFF))
               for i in range(DISTINCT)]
    cases = [
        ("NEW 8 IEs decode+encode", lambda d: decode(d).encode(), new_frame()),
        ("NEW 8 IEs decode+re-encode from fields",
         lambda d: decode(d).replace(retransmitted=True).encode(), new_frame()),
        ("NEW 8 IEs decode+read every IE value",
         lambda d: [ie.value for ie in decode(d).ies], new_frame()),
        (f"NEW, {DISTINCT:,} distinct tokens, decode+encode",
         cycling(lambda d: decode(d).encode(), tokened), new_frame()),
        (f"NEW, {DISTINCT:,} distinct tokens, decode+re-encode",
         cycling(lambda d: decode(d).replace(retransmitted=True).encode(), tokened), new_frame()),
        ("ACK decode+encode", lambda d: decode(d).encode(),
         FullFrame(source_call=5, dest_call=6, timestamp=40, oseqno=1, iseqno=2,
                   subclass=IAXSubclass.ACK).encode()),
        ("mini (160 B ulaw) decode+encode", lambda d: decode(d).encode(),
         MiniFrame(5, 40, b"\xff" * 160).encode()),
    ]
    for name, fn, data in cases:
        r = rate(fn, data, seconds)
        print(f"{name:46s} {r:12,.0f} /s   ({r / baseline:.3f} x baseline)")


def make_capture(path: Path, n: int) -> None:
    payload = b"\xff" * 160
    calls = 50
    write_pcap(path, (Datagram(1_700_000_000 + i * 0.0004, ("10.0.0.1", 4569), ("10.0.0.2", 4569),
                               MiniFrame(1 + i % calls, ((i // calls) * 20) & 0xFFFF, payload).encode())
                      for i in range(n)))


def bench_capture(n: int) -> None:
    tshark = shutil.which("tshark")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "minis.pcap"
        t0 = time.perf_counter()
        make_capture(path, n)
        print(f"capture: {n:,} voice mini frames, {path.stat().st_size / 1e6:.0f} MB "
              f"(written in {time.perf_counter() - t0:.1f} s)")
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            batch = read_mini_frames(path)
            times.append(time.perf_counter() - t0)
            assert len(batch) == n and not batch.others and not batch.errors
            del batch
        t_fast = min(times)
        print(f"read_mini_frames (numpy), best of 3      {n / t_fast:12,.0f} frames/s  ({t_fast:.2f} s; "
              f"first run {times[0]:.2f} s)")
        slow_n = min(n, 100_000)
        t0 = time.perf_counter()
        frames = [decode(d.data) for d in itertools.islice(PcapReader(path), slow_n)]
        t_slow = time.perf_counter() - t0
        assert len(frames) == slow_n
        print(f"PcapReader + decode() per datagram       {slow_n / t_slow:12,.0f} frames/s  "
              f"(first {slow_n:,})")
        if tshark is None:
            print("tshark not installed: no tshark baseline")
            return
        t0 = time.perf_counter()
        res = subprocess.run([tshark, "-r", str(path), "-T", "fields", "-e", "iax2.src_call",
                              "-e", "iax2.timestamp"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, check=True)
        t_tshark = time.perf_counter() - t0
        lines = res.stdout.count(b"\n")
        assert lines == n, lines
        print(f"baseline: tshark -T fields               {n / t_tshark:12,.0f} frames/s  ({t_tshark:.2f} s)")
        print(f"read_mini_frames vs tshark: {t_tshark / t_fast:.1f} x faster; "
              f"PcapReader+decode vs tshark: {(slow_n / t_slow) / (n / t_tshark):.1f} x")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short run (100,000-frame capture)")
    ap.add_argument("--frames", type=int, help="capture size (default 1,000,000; quick 100,000)")
    args = ap.parse_args()
    seconds = 0.3 if args.quick else 2.0
    n = args.frames or (100_000 if args.quick else 1_000_000)
    print(f"python {sys.version.split()[0]}, one core")
    bench_round_trips(seconds)
    bench_capture(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
