"""The simulator benchmark's bare-SimPy skeleton of the call flow matches the model it is
compared with: every call completes, the same datagrams per call, the same SimPy events per
call (both counted with the benchmark's ``count_events``, which wraps ``Environment.step``)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_sim.py"
CALLS_PER_HOUR = 300.0
HOURS = 0.5
# One answered call, hand-derived from the exchange with Asterisk's call tokens (NEW with an
# empty CALLTOKEN IE, the server's CALLTOKEN reply, NEW with the token) and RFC 5456's rule
# that every full frame but an ACK is acknowledged: NEW, CALLTOKEN, NEW with token, ACK of it,
# ACCEPT, RINGING, ANSWER, their three ACKs, HANGUP, its ACK.
DATAGRAMS_PER_CALL = 12


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_sim", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def model(bench):
    sc = bench.two_servers(CALLS_PER_HOUR).with_values({"duration": 3600.0 * HOURS})
    res, events = bench.count_events(lambda: bench.simulate(sc, seed=1))
    return res, events


@pytest.fixture(scope="module")
def faithful(bench):
    return bench.count_events(lambda: bench.skeleton_faithful(CALLS_PER_HOUR, HOURS, seed=1))


def test_faithful_skeleton_completes_every_call(faithful):
    run, _ = faithful
    assert run.started > 100  # about 150 expected (300/h for 0.5 h)
    assert run.completed == run.started
    assert run.blocked == 0 and run.failed == 0


def test_faithful_skeleton_sends_the_calls_datagrams(faithful, model):
    run, _ = faithful
    # the run ends when the last caller hangs up, before the ACK of that HANGUP is sent
    assert run.datagrams - run.qualify_datagrams == DATAGRAMS_PER_CALL * run.started - 1
    res, _ = model
    model_per_call = res.link_totals["datagrams"].sum() / len(res.calls)
    assert run.datagrams / run.started == pytest.approx(model_per_call, rel=0.05)


def test_faithful_skeleton_has_the_models_events_per_call(faithful, model):
    run, sk_events = faithful
    res, model_events = model
    assert len(res.calls) > 100
    model_per_call = model_events / len(res.calls)
    assert sk_events / run.started == pytest.approx(model_per_call, rel=0.10)


def test_minimal_skeleton_is_the_critical_path_only(bench, model):
    res, model_events = model
    calls, events = bench.count_events(lambda: bench.skeleton_minimal(CALLS_PER_HOUR, HOURS, 12.0, seed=1))
    assert calls > 100
    # per call: process start and end 2, arrival 1, two CPU holds (a timeout each) 2, hops 5,
    # no-op deliveries 12 - 6 = 6, holding 1: 17, well below the model's
    assert events / calls == pytest.approx(17.0, abs=0.2)
    assert events / calls < 0.8 * model_events / len(res.calls)


def test_repeats_below_one_is_refused_with_the_option_named(bench, capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(["--repeats", "0"])
    assert exc.value.code == 2
    assert "--repeats must be at least 1" in capsys.readouterr().err


def test_breakdown_times_the_engine_and_matcher_and_restores_them(bench):
    from iaxsim.dialplan.dialplan import Dialplan
    from iaxsim.iax2.engine import Endpoint

    before = (Endpoint.receive_datagram, Dialplan.lookup)
    sc = bench.two_servers(CALLS_PER_HOUR).with_values({"duration": 600.0})
    b = bench.breakdown(sc)
    assert (Endpoint.receive_datagram, Dialplan.lookup) == before
    assert b.calls > 20  # about 50 expected (300/h for 10 min)
    assert 0 < b.matcher_us < b.engine_us < b.total_us
    assert b.engine_us + b.matcher_us < b.total_us
    assert b.ceiling == pytest.approx(1e6 / (b.engine_us + b.matcher_us))


def test_python_calls_count_every_call_of_the_run(bench, model):
    """Each SimPy event is at least a step and a callback or a resumed process (more than two
    Python calls), and each of the 12 datagrams a call sends is at least encoded, sent, decoded
    and dispatched: the count can be neither zero nor near the events alone."""
    sc = bench.two_servers(CALLS_PER_HOUR).with_values({"duration": 3600.0 * HOURS})
    per_call = bench.python_calls_per_call(sc)
    res, events = model
    assert per_call > 2 * events / len(res.calls)
    assert per_call > 4 * DATAGRAMS_PER_CALL
