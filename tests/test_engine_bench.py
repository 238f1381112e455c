"""The engine benchmark's call loop still runs (and asserts every call answered)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_engine.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_engine", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("tokens, auth, datagrams", [(True, False, 11), (False, False, 9),
                                                     (True, True, 13)])
def test_benchmark_variants_complete(bench, tokens, auth, datagrams):
    assert bench.run_calls(200, tokens, auth) > 0
    a, b = bench.make_pair(tokens, auth)
    log = []
    kw = {"username": "bench", "secret": "secret"} if auth else {}
    cid = a.place_call(bench.B, "6000", now=0.0, **kw)
    bench.pump(a, b, 0.0, log)
    a.hangup(cid, now=0.0)
    bench.pump(a, b, 0.0, log)
    assert len(log) == datagrams


def test_one_call_at_a_time_completes(bench):
    # run_calls asserts every call answered and every dialog gone; one call per batch
    assert bench.run_calls(50, True, False, batch=1) > 0
