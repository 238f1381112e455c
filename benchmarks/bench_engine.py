"""Engine in memory: complete call set-up + tear-down per second between two endpoints wired
back to back (no sockets), on one core.

Each call: NEW -> CALLTOKEN -> NEW(token) -> ACCEPT -> RINGING -> ANSWER (+3 ACKs) ->
HANGUP -> ACK, every datagram encoded to bytes and decoded by the receiver. Variants: call
tokens off (an optional network), and MD5 authentication on top of tokens.

The calls run 100 at a time at one instant, so the 100 NEWs of a batch carry the same IEs
(DATETIME, call token) and the codec's IE-block memo decodes them once. The last variant sets
up one call at a time, 61 s apart, as calls arrive in a simulation: every NEW's IE block is
new and decoded in full, and every call rebuilds its DATETIME IE. That is the engine's cost per
call inside the simulator.

Times are CPU time of this process (``time.process_time``), i.e. calls per second of one
busy core, so other programs competing for the cores do not dilute the figure.

Baseline, measured in the same run: the codec alone decoding and re-encoding the very same
datagrams one call exchanges (the floor any engine built on this codec pays), so the ratio
says how much the protocol logic costs on top of the bytes.

    .venv/bin/python benchmarks/bench_engine.py [--quick]
"""
from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

# measure the checkout this script sits in, not whichever iaxsim the interpreter would import
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from iaxsim.iax2 import FullFrame, decode  # noqa: E402
from iaxsim.iax2.engine import CallAnswered, Endpoint, EndpointConfig, IncomingCall  # noqa: E402

A = ("10.0.0.1", 4569)
B = ("10.0.0.2", 4569)
TARGET = 5000.0


class Plan:
    """Minimal dialplan: every number exists (keeps the benchmark about the engine)."""

    def exists(self, number, context, callerid=None):
        return True

    canmatch = matchmore = exists


def make_pair(tokens: bool, auth: bool):
    users = {"bench": "secret"} if auth else {}
    optional = () if tokens else ("10.0.0.0/8",)
    common = dict(ping_interval=None, lagrq_interval=None, max_calls=32768,
                  calltoken_optional=optional, send_calltoken=tokens)
    a = Endpoint(EndpointConfig(**common), seed=1)
    b = Endpoint(EndpointConfig(users=users, dialplan=Plan(), **common), seed=2)
    return a, b


def pump(a, b, now, log=None):
    """Deliver datagrams back and forth until both sides are quiet; answer incoming calls."""
    while True:
        moved = False
        for src, dst, sender, receiver in ((A, B, a, b), (B, A, b, a)):
            out = sender.datagrams_to_send(now)
            for data, _ in out:
                if log is not None:
                    log.append(data)
                receiver.receive_datagram(data, src, now)
            moved |= bool(out)
        e = b.next_event()
        while e is not None:
            if type(e) is IncomingCall:
                b.ring(e.call_id, now=now)
                b.answer(e.call_id, now=now)
                moved = True
            e = b.next_event()
        if not moved:
            return


def run_calls(n: int, tokens: bool, auth: bool, batch: int = 100) -> float:
    """Set up and tear down ``n`` calls in batches of ``batch`` concurrent calls; calls/s."""
    a, b = make_pair(tokens, auth)
    kw = {"username": "bench", "secret": "secret"} if auth else {}
    now = 0.0
    answered = 0
    gc.collect()
    t0 = time.process_time()
    for _ in range(n // batch):
        ids = [a.place_call(B, "6000", now=now, **kw) for _ in range(batch)]
        pump(a, b, now)
        e = a.next_event()
        while e is not None:
            answered += type(e) is CallAnswered
            e = a.next_event()
        for cid in ids:
            a.hangup(cid, now=now)
        pump(a, b, now)
        while a.next_event() is not None or b.next_event() is not None:
            pass
        now += 61.0            # past the call-number hold-off, so the pool never runs dry
    dt = time.process_time() - t0
    assert answered == (n // batch) * batch, f"only {answered} calls answered"
    assert a.active_dialogs == 0 and b.active_dialogs == 0
    return (n // batch) * batch / dt


def one_call_datagrams() -> list[bytes]:
    a, b = make_pair(True, False)
    log: list[bytes] = []
    cid = a.place_call(B, "6000", now=0.0)
    pump(a, b, 0.0, log)
    a.hangup(cid, now=0.0)
    pump(a, b, 0.0, log)
    return log


def codec_baseline(n: int) -> float:
    """Calls/s if a call cost only decoding and encoding its datagrams."""
    datagrams = one_call_datagrams()
    t0 = time.process_time()
    for _ in range(n):
        for data in datagrams:
            f = decode(data)
            if type(f) is FullFrame:
                f.replace(iseqno=f.iseqno).encode()   # a fresh encode, not the cached bytes
    return n / (time.process_time() - t0)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="short run")
    args = p.parse_args()
    n, reps = (2000, 1) if args.quick else (10000, 5)
    datagrams = len(one_call_datagrams())
    base = max(codec_baseline(n // 4) for _ in range(reps))   # best of reps: least disturbed
    print(f"datagrams per call: {datagrams}; {n} calls per run, best of {reps} runs")
    print(f"baseline codec only (decode+encode one call's datagrams): {base:,.0f} calls/s")
    rows = [("tokens on (Asterisk default)", True, False, 100),
            ("tokens off (optional network)", False, False, 100),
            ("tokens on + MD5 auth", True, True, 100),
            ("tokens on, one call at a time", True, False, 1)]
    for label, tokens, auth, batch in rows:
        rate = max(run_calls(n, tokens, auth, batch) for _ in range(reps))
        print(f"engine, {label}: {rate:,.0f} calls/s  "
              f"(x{rate / base:.2f} of codec baseline, x{rate / TARGET:.2f} of {TARGET:,.0f} target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
