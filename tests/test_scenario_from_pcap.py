"""``iaxsim scenario from-pcap``: measurements recovered from captures of known scenarios.

The simulator writes the captures: two servers calling each other only (``remote = 1``, so
every call crosses the wire), fixed one-way latency, per-datagram loss, Poisson arrivals and
exponential holding times. Each run has about 1000 calls and 20 000 reliable frames, so the
sampling error of the call rate and mean holding time is about 3 % (1/√1000) and that of the
loss about 3–5 % (binomial, √((1−p)/(p·U))): a 10 % bound is 2–3 standard errors. The seeds
are fixed (one per run), so the outcome is repeatable.
"""
from __future__ import annotations

import asyncio
import json
import statistics
from pathlib import Path

import pytest

from iaxsim.cli import main
from iaxsim.iax2 import FullFrame, IAXSubclass
from iaxsim.iax2.pcap import write_pcap
from iaxsim.sim import load_scenario, scenario_from_dict, simulate
from iaxsim.sim.from_pcap import Measurement, measure, scenario_dict, scenario_toml

CALLS_PER_HOUR = 1800.0      # per server, both servers
HOLDING = 60.0
RUNS = {  # name: (one-way latency s, loss, seed)
    "lat20_loss2": (0.020, 0.02, 1),
    "lat50_loss3": (0.050, 0.03, 2),
}


def _scenario(latency: float, loss: float, **extra: object) -> dict:
    return {
        "name": "known", "duration": 1000.0, "keepalive": True, "capture": True,
        "servers": [{"id": "A", "extensions": ["7000-7099"]}, {"id": "B", "extensions": ["6000-6099"]}],
        "network": {"latency": latency, "loss": loss},
        "traffic": {"calls_per_hour": CALLS_PER_HOUR, "local": 0.0, "remote": 1.0,
                    "extension_busy": False, "answer_delay": 2.0,
                    "holding": {"dist": "exponential", "mean": HOLDING}},
        **extra,
    }


@pytest.fixture(scope="module")
def captures(tmp_path_factory) -> dict[str, Path]:
    out = {}
    d = tmp_path_factory.mktemp("captures")
    for name, (latency, loss, seed) in RUNS.items():
        result = simulate(scenario_from_dict(_scenario(latency, loss)), seed=seed)
        out[name] = d / f"{name}.pcap"
        result.write_pcap(out[name])
    return out


@pytest.fixture(scope="module")
def measured(captures) -> dict[str, Measurement]:
    return {name: measure([path]) for name, path in captures.items()}


def _within(measured: float | None, truth: float, rel: float = 0.10) -> bool:
    return measured is not None and abs(measured - truth) <= rel * truth


@pytest.mark.parametrize("name", sorted(RUNS))
def test_recovers_latency_loss_rate_and_holding(measured, name):
    latency, loss, _ = RUNS[name]
    m = measured[name]
    (pair,) = m.pairs.values()
    assert {pair.a, pair.b} == {"198.51.100.2", "198.51.100.3"}
    assert m.rtt_samples(pair.a, pair.b) > 5000
    assert _within(m.rtt(pair.a, pair.b), 2 * latency), m.rtt(pair.a, pair.b)
    assert _within(m.loss(pair.a, pair.b), loss), m.loss(pair.a, pair.b)
    assert _within(m.calls_per_hour(), 2 * CALLS_PER_HOUR), m.calls_per_hour()
    holdings = m.holdings()
    assert len(holdings) > 800
    assert _within(sum(holdings) / len(holdings), HOLDING), sum(holdings) / len(holdings)
    # the simulator runs every call to its end: nothing is cut
    assert m.undecodable == 0
    # a retransmission arriving after its call number was reused looks like a cut call
    assert m.truncated_start <= 2 and m.truncated_end() <= 2
    # ringing is the scenario's fixed answer delay; NEW -> ANSWER adds the set-up round trips
    ringing = m.ringing_times()
    assert ringing and all(abs(r - 2.0) < 1e-6 for r in ringing)
    delays = m.answer_delays()
    # captured at arrival: NEW at B, CALLTOKEN at A, NEW again at B, ACCEPT at A, its ACK at B
    # (B's dialplan starts: RINGING), ANSWER (2 s later) at A: 5 one-way trips after the first
    # (calls that lost a set-up frame differ: the median is one that lost none)
    assert statistics.median(delays) == pytest.approx(2.0 + 5 * latency, abs=1e-3)
    assert min(delays) >= 2.0
    assert set(m.codecs) == {"ulaw"} and sum(m.codecs.values()) >= 0.98 * len(m.calls)


def test_written_scenario_has_the_measured_values(measured, tmp_path):
    latency, loss, _ = RUNS["lat50_loss3"]
    out = tmp_path / "inferred.toml"
    data = scenario_dict(measured["lat50_loss3"], {"198.51.100.2": "A", "198.51.100.3": "B"})
    out.write_text(scenario_toml(data))
    sc = load_scenario(out)
    assert [s.id for s in sc.servers] == ["A", "B"]
    assert [s.external for s in sc.servers] == ["198.51.100.2", "198.51.100.3"]
    # the numbers dialled: nearly all of each server's 100 (a few may never be called)
    for sid, first in (("A", 7000), ("B", 6000)):
        numbers = sc.server(sid).numbers()
        assert set(numbers) <= {str(n) for n in range(first, first + 100)} and len(numbers) >= 95
    assert sc.network.latency.kind == "fixed"
    assert _within(sc.network.latency.mean, latency)
    assert _within(sc.network.loss, loss)
    assert sc.traffic.holding.kind == "exponential" and _within(sc.traffic.holding.mean, HOLDING)
    assert sc.traffic.answer_delay.kind == "fixed" and sc.traffic.answer_delay.mean == pytest.approx(2.0)
    for sid, other in (("A", "B"), ("B", "A")):
        t = sc.traffic_of(sid)
        assert t.local == 0.0 and dict(t.to) == {other: 1.0}
        # one server's rate has twice the relative sampling error of the total
        assert _within(t.calls_per_hour, CALLS_PER_HOUR, 0.15)
    assert sc.codec == "ulaw" and sc.keepalive and not sc.trunk


def test_summary_table_and_json(tmp_path, capsys):
    small = _small_capture(tmp_path)
    assert main(["scenario", "from-pcap", str(small)]) == 0
    text = capsys.readouterr().out
    header = next(line for line in text.splitlines() if line.startswith("host pair"))
    for column in ("frames", "RTT samples", "RTT mean ms", "loss", "calls", "truncated", "undecodable"):
        assert column in header
    row = next(line for line in text.splitlines() if "<->" in line).split()
    assert row[5] == "60.0"          # RTT mean ms: 2 x 30 ms
    assert main(["scenario", "from-pcap", str(small), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (pair,) = data["pairs"]
    assert pair["rtt_mean_s"] == pytest.approx(0.060)
    assert pair["calls"] == data["calls"] > 50


def _small_capture(tmp_path: Path, **extra: object) -> Path:
    sc = _scenario(0.030, 0.0, duration=120.0, **extra)
    sc["traffic"]["holding"] = {"dist": "exponential", "mean": 20.0}
    result = simulate(scenario_from_dict(sc), seed=3)
    path = tmp_path / "small.pcap"
    result.write_pcap(path)
    return path


def test_truncated_capture_is_read_up_to_the_cut(tmp_path, capsys):
    whole = _small_capture(tmp_path)
    data = whole.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:len(data) // 2 + 7])      # ends inside a record
    m = measure([cut])
    assert len(m.truncated_files) == 1 and str(cut) in m.truncated_files[0]
    full = measure([whole])
    assert 0 < m.datagrams < full.datagrams
    # calls in progress at the cut have no end: counted, not used for holding times
    assert m.truncated_end() > 0
    assert len(m.holdings()) == sum(1 for c in m.calls if c.answer is not None and c.end is not None)
    assert len(m.holdings()) < len(full.holdings())
    assert main(["scenario", "from-pcap", str(cut), "--out", str(tmp_path / "cut.toml")]) == 0
    out = capsys.readouterr().out
    assert "truncated capture" in out and f"{m.truncated_end()} by its end" in out
    load_scenario(tmp_path / "cut.toml")


def test_capture_starting_mid_call(tmp_path):
    sc = _scenario(0.030, 0.0, duration=120.0)
    sc["traffic"]["holding"] = {"dist": "exponential", "mean": 20.0}
    result = simulate(scenario_from_dict(sc), seed=3)
    late = tmp_path / "late.pcap"
    result_rows = [(t, (s, sp), (d, dp), data) for t, s, sp, d, dp, data in result.datagrams if t >= 60.0]
    write_pcap(late, sorted(result_rows, key=lambda r: r[0]))
    m = measure([late])
    calls = result.calls
    # calls surely in progress at the cut (answered over 2 s after their start) are counted;
    # nothing is counted that started after it
    surely_alive = ((calls.start < 59.0) & (calls.start + 2.0 + calls.duration > 61.0)).sum()
    assert 0 < surely_alive <= m.truncated_start <= (calls.start < 60.0).sum()
    # every call it counts began inside the capture
    assert all(c.new >= 60.0 for c in m.calls)


def test_capture_starting_mid_call_with_voice(tmp_path):
    # voice mini frames name only their sender's call number: a call cut by the start counts
    # once, when a full frame (PING, LAGRQ, HANGUP) names both sides
    sc = _scenario(0.030, 0.0, duration=40.0, media="frames")
    sc["traffic"].update(calls_per_hour=720.0, holding={"dist": "exponential", "mean": 20.0})
    # internal addresses reachable across sites: the first dial attempt goes through at once
    # (otherwise, before qualify learns it is unreachable, it waits 4 s for auto-congest)
    sc["network"]["internal_scope"] = "global"
    result = simulate(scenario_from_dict(sc), seed=5)
    late = tmp_path / "late_voice.pcap"
    write_pcap(late, [(t, (s, sp), (d, dp), data) for t, s, sp, d, dp, data in result.datagrams
                      if t >= 20.0])
    m = measure([late])
    calls = result.calls
    surely_alive = ((calls.start < 19.0) & (calls.start + 2.0 + calls.duration > 21.0)).sum()
    assert 0 < surely_alive <= m.truncated_start <= (calls.start < 20.0).sum()
    # the servers called each other on their internal (RFC 1918) addresses and qualified the
    # external ones too: --name merges each server's two addresses, and the scenario lets
    # internal addresses be reached across sites
    assert m.hosts == {"10.1.0.1", "10.2.0.2", "198.51.100.2", "198.51.100.3"}
    names = {"10.1.0.1": "A", "198.51.100.2": "A", "10.2.0.2": "B", "198.51.100.3": "B"}
    inferred = scenario_from_dict(scenario_dict(m, names))
    assert inferred.network.internal_scope == "global"
    assert [(s.id, s.internal, s.external) for s in inferred.servers] == [
        ("A", "10.1.0.1", "198.51.100.2"), ("B", "10.2.0.2", "198.51.100.3")]


def test_three_servers_get_a_link_per_pair(tmp_path):
    latency = {("A", "B"): 0.010, ("A", "C"): 0.040, ("B", "C"): 0.025}
    sc = {
        "name": "three", "duration": 300.0, "capture": True,
        "servers": [{"id": "A", "extensions": ["7000-7009"]}, {"id": "B", "extensions": ["6000-6009"]},
                    {"id": "C", "extensions": ["5000-5009"]}],
        "network": {"links": [{"from": x, "to": y, "latency": v} for (a, b), v in latency.items()
                              for x, y in ((a, b), (b, a))]},
        "traffic": {"calls_per_hour": 600.0, "local": 0.0, "remote": 1.0, "extension_busy": False,
                    "holding": {"dist": "exponential", "mean": 10.0}},
    }
    result = simulate(scenario_from_dict(sc), seed=1)
    path = tmp_path / "three.pcap"
    result.write_pcap(path)
    names = {"198.51.100.2": "A", "198.51.100.3": "B", "198.51.100.4": "C"}
    inferred = scenario_from_dict(scenario_dict(measure([path]), names))
    links = {(ln.src, ln.dst): ln for ln in inferred.network.links}
    assert len(links) == 6
    for (a, b), v in latency.items():
        for pair in ((a, b), (b, a)):
            assert links[pair].latency is not None
            assert links[pair].latency.mean == pytest.approx(v, rel=1e-6)
            assert links[pair].loss == 0.0
    # the calls spread evenly over the two other servers
    for sid in "ABC":
        shares = inferred.traffic_of(sid).to
        assert len(shares) == 2 and all(0.3 < v < 0.7 for v in shares.values())


def test_foreign_files_fail_with_one_line_naming_the_file(tmp_path, capsys):
    for content in (b"GIF89a not a capture at all", b""):
        bad = tmp_path / "bad.bin"
        bad.write_bytes(content)
        assert main(["scenario", "from-pcap", str(bad)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(bad) in err


def test_undecodable_datagrams_are_counted_per_pair(tmp_path):
    a, b = ("192.0.2.1", 4569), ("192.0.2.2", 4569)
    poke = FullFrame(source_call=5, subclass=IAXSubclass.POKE, timestamp=3).encode()
    pong = FullFrame(source_call=1, dest_call=5, subclass=IAXSubclass.PONG, timestamp=3,
                     iseqno=1).encode()
    rows = [(1.0, a, b, poke), (1.1, b, a, pong),
            (1.2, a, b, b"\x80"),                        # too short for any frame
            (1.3, b, a, b"\x80\x05\x00\x01" + b"\x00" * 5),  # a full frame header cut short
            (1.4, ("192.0.2.3", 53), ("192.0.2.1", 5353), b"dns")]   # another port: skipped
    path = tmp_path / "mixed.pcap"
    write_pcap(path, rows)
    m = measure([path])
    (pair,) = m.pairs.values()
    assert pair.undecodable == 2 and m.undecodable == 2
    assert m.iax2_frames == 2 and m.skipped["filtered_port"] == 1
    assert m.rtt(pair.a, pair.b) == pytest.approx(0.1)


def test_trunk_and_codec_from_the_wire(tmp_path):
    sc = _scenario(0.020, 0.0, duration=40.0, media="frames", trunk=True, codec="gsm")
    sc["traffic"].update(calls_per_hour=360.0, holding=5.0)
    sc["keepalive"] = False
    result = simulate(scenario_from_dict(sc), seed=1)
    path = tmp_path / "trunk.pcap"
    result.write_pcap(path)
    m = measure([path])
    assert m.trunk_frames > 0 and set(m.codecs) == {"gsm"}
    d = scenario_dict(m)
    assert d["trunk"] is True and d["codec"] == "gsm"
    scenario_from_dict(d)


def test_written_scenario_runs_with_simulate(tmp_path, capsys):
    out = tmp_path / "small.toml"
    assert main(["scenario", "from-pcap", str(_small_capture(tmp_path)), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["simulate", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "answered" in printed


def test_toml_writer_round_trips_every_table():
    import tomllib

    d = {"name": "x", "duration": 10.0, "servers": [{"id": "A", "extensions": ["1-3"]}],
         "network": {"latency": 0.01, "links": [{"from": "A", "to": "B", "latency": 0.02}]},
         "traffic": {"holding": {"dist": "exponential", "mean": 5.0},
                     "servers": {"A": {"calls_per_hour": 3.0, "to": {"B": 1.0}}}}}
    assert tomllib.loads(scenario_toml(d, "a\nheader")) == d


@pytest.mark.iaxmodem
def test_reads_the_iaxmodem_capture(iaxmodem, tmp_path):
    import test_iaxmodem_interop as interop

    interop._need_root(iaxmodem)
    conf = tmp_path / "node"
    conf.mkdir()
    (conf / "extensions.conf").write_text(interop.EXTENSIONS)
    (conf / "iax.conf").write_text(interop.IAX_CONF)
    node, capture, out = asyncio.run(asyncio.wait_for(
        interop._session(iaxmodem, conf, tmp_path / "iaxmodem.log"), 60))
    path = tmp_path / "iaxmodem.pcap"
    write_pcap(path, capture)
    ports = sorted({dg.src[1] for dg in capture} | {dg.dst[1] for dg in capture})
    m = measure([path], ports)
    assert m.undecodable == 0 and m.iax2_frames == len(capture)
    (call,) = m.calls
    assert call.dialled == "100" and call.answer is not None and call.end is not None
    assert call.codec == "ulaw"
    (pair,) = m.pairs.values()     # the node and iaxmodem, both on loopback: named by port
    assert pair.a.startswith("127.0.0.1:") and pair.b.startswith("127.0.0.1:")
    assert m.rtt_samples(pair.a, pair.b) > 0 and m.rtt(pair.a, pair.b) < 0.5
    # about one second of conversation (the interop session talks for 1 s, then hangs up)
    (holding,) = m.holdings()
    assert 0.9 < holding < 3.0
    d = scenario_dict(m)
    scenario_from_dict(d)
