"""The SimPy model on the seed's stories, determinism, and the real frames it exchanges.

Expected values are hand-derived from the seed's dialplan files (one pattern per file),
from the network parameters (20 ms one-way between sites) and from Asterisk's timers in the
reference notes (§8: auto-congest at 2 × maxms = 4 s with qualify; §10: an unanswered NEW
is given up at 32 s).
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest

from iaxsim.iax2 import FullFrame, MiniFrame, TrunkFrame, decode
from iaxsim.iax2.constants import FrameType, IAXSubclass, IEType
from iaxsim.sim import CALL_COLUMNS, simulate
from iaxsim.sim.scenario import scenario_from_dict
from iaxsim.sim.scenarios import seed_two_servers

# Call set-up between sites, en bloc: NEW → CALLTOKEN → NEW(token) → ACCEPT → the caller's ACK
# (only then does the called side's dialplan start, as in Asterisk) → RINGING/ANSWER = 6 one-way
# trips of 20 ms, plus the lookups' CPU time (default base 10 µs + 0.6 µs per comparison): the
# origin's (2 comparisons) and the called server's (1 comparison).
SETUP = 6 * 0.020 + (10e-6 + 2 * 0.6e-6) + (10e-6 + 1 * 0.6e-6)


def remote_calls(overrides, calls_per_hour=300, hours=0.3, seed=3):
    sc = seed_two_servers(calls_per_hour=calls_per_hour, hours=hours, remote=1.0, **overrides)
    return simulate(sc, seed=seed).calls


def test_columns_and_outcomes():
    res = simulate(seed_two_servers(calls_per_hour=300, hours=0.2), seed=1)
    calls = res.calls
    assert list(calls.columns[:len(CALL_COLUMNS)]) == list(CALL_COLUMNS)
    assert set(calls["outcome"]) <= {"answered", "busy", "congestion", "rejected", "failed", "misrouted"}
    assert (calls["start"] >= 120.0).all()  # warm-up calls are not reported
    assert set(calls["origin"]) == {"A", "B"}
    # target = owner of the dialled number: A owns 7xxx, B owns 6xxx
    assert (calls["target"] == calls["dialled"].str[0].map({"7": "A", "6": "B"})).all()
    summary = res.summary()
    row = summary.loc["p_answered"]
    assert row["ci_low"] <= row["mean"] <= row["ci_high"]
    assert {"time", "server", "cpu_utilisation", "channel_utilisation"} <= set(res.servers.columns)
    assert {"src", "dst", "media_kbps"} <= set(res.links.columns)


def test_disjoint_plans_one_pattern_one_attempt():
    calls = remote_calls({"network.internal_scope": "global"})
    answered = calls[calls["outcome"] == "answered"]
    assert len(answered) > 50
    # origin: external.conf (_7XXX) 1 + link.conf (_6XXX) 1; callee: external.conf 1
    assert (calls["comparisons"] == 3).all()
    assert (calls["attempts"] == 1).all()
    assert answered["post_dial_delay"].to_numpy() == pytest.approx(SETUP, abs=2e-6)
    assert (answered["answered_by"] == answered["target"]).all()


def test_local_calls_scan_one_pattern():
    sc = seed_two_servers(calls_per_hour=300, hours=0.2, remote=0.0)
    calls = simulate(sc, seed=2).calls
    assert (calls["attempts"] == 0).all() and (calls["comparisons"] == 1).all()
    assert (calls.loc[calls.outcome == "answered", "answered_by"] == calls.loc[calls.outcome == "answered", "origin"]).all()
    assert (calls["frames"] == 0).all()  # local calls send nothing over IAX2


def test_unreachable_internal_address_costs_the_fallback_timeout():
    reach = remote_calls({"network.internal_scope": "global", "servers.*.qualify": False})
    noqual = remote_calls({"servers.*.qualify": False})
    ok = noqual[noqual.outcome == "answered"]
    assert (ok["attempts"] == 2).all()
    extra = ok["post_dial_delay"].mean() - reach.loc[reach.outcome == "answered", "post_dial_delay"].mean()
    assert extra == pytest.approx(32.0, abs=0.01)  # NEW sent at 0, 2, 12, 22 s; given up at 32 s
    # with qualify (default) the internal address is known UNREACHABLE after warm-up: no delay
    qual = remote_calls({})
    ok = qual[qual.outcome == "answered"]
    assert (ok["attempts"] == 2).all()
    assert ok["post_dial_delay"].to_numpy() == pytest.approx(SETUP, abs=2e-6)


def test_qualified_peer_not_yet_known_unreachable_auto_congests_after_4s():
    calls = remote_calls({"warmup": 0.0})
    early = calls[calls["start"] < 10.0]  # before the first POKE could have timed out
    assert len(early) >= 1
    assert early["post_dial_delay"].to_numpy() == pytest.approx(4.0 + SETUP, abs=2e-6)


def test_one_way_firewall_fails_one_direction_only():
    calls = remote_calls({"servers.A.nat": True,
                          "network.firewall": [{"from": "B", "to": "A", "stateful": False}]})
    by = calls.groupby("origin")["outcome"]
    assert set(by.get_group("B")) == {"failed"}
    assert "failed" not in set(by.get_group("A")) and (by.get_group("A") == "answered").sum() > 50
    per_origin = simulate(seed_two_servers(calls_per_hour=300, hours=0.3, remote=1.0, **{
        "servers.A.nat": True, "network.firewall": [{"from": "B", "to": "A", "stateful": False}]}),
        seed=3).summary(by="origin")
    assert per_origin.loc[("B", "p_failed"), "mean"] == 1.0
    assert per_origin.loc[("A", "p_failed"), "mean"] == 0.0
    # without NAT the replies to A are dropped too: both directions fail
    both = remote_calls({"network.firewall": [{"from": "B", "to": "A", "stateful": False}]})
    assert set(both["outcome"]) == {"failed"}


def test_same_seed_same_rows_other_seed_differs():
    sc = seed_two_servers(calls_per_hour=400, hours=0.2)
    a, b, c = simulate(sc, seed=11).calls, simulate(sc, seed=11).calls, simulate(sc, seed=12).calls
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_channel_limit_gives_congestion():
    sc = seed_two_servers(calls_per_hour=600, hours=0.3, remote=1.0,
                          **{"servers.B.channels": 2, "network.internal_scope": "global"})
    calls = simulate(sc, seed=4).calls
    to_b = calls[(calls.origin == "A")]
    assert (to_b["outcome"] == "congestion").sum() > 0
    assert (to_b.loc[to_b.outcome == "congestion", "cause_code"] == 34).all()


def interleaved(servers, overlap, seed=1):
    ids = [chr(ord("A") + i) for i in range(servers)]
    return scenario_from_dict({
        "duration": 600.0, "warmup": 60.0, "seed": seed,
        "numbering": {"extensions_per_server": 100, "overlap": overlap, "link_mode": "block"},
        "servers": [{"id": s, "qualify": False} for s in ids],
        "network": {"internal_scope": "global"},
        "traffic": {"calls_per_hour": 300.0, "local": 0.0, "remote": 1.0,
                    "holding": {"dist": "exponential", "mean": 60.0}},
    })


def test_interleaving_raises_comparisons_and_attempts():
    from iaxsim.experiments.sweep import run_sweep

    base = interleaved(3, 0.0)
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        table = run_sweep(base, {"numbering.overlap": [0.0, 0.5, 1.0]}, cache_dir=tmp, workers=1,
                          progress=False)
    attempts = table["mean_attempts"].tolist()
    comparisons = table["mean_comparisons"].tolist()
    assert attempts[0] == pytest.approx(1.0)
    assert attempts[0] < attempts[1] < attempts[2]
    assert comparisons[0] < comparisons[1] <= comparisons[2]
    by_servers = [simulate(interleaved(n, 1.0), seed=1).calls["attempts"].mean() for n in (2, 3, 4)]
    assert by_servers[0] < by_servers[1] < by_servers[2]


def test_frames_decode_with_the_codec():
    sc = seed_two_servers(calls_per_hour=600, hours=0.05, remote=1.0,
                          **{"capture": True, "media": "frames", "warmup": 30.0,
                             "traffic.holding": {"dist": "fixed", "value": 2.0}})
    res = simulate(sc, seed=5)
    assert len(res.datagrams) > 100
    kinds = {type(decode(d[5])) for d in res.datagrams}
    assert {FullFrame, MiniFrame} <= kinds
    answered = res.calls[res.calls.outcome == "answered"]
    # 2 s of ulaw both ways = 2 × 100 voice frames, plus the signalling of the call
    assert (answered["frames"] >= 200).all()


@pytest.mark.tshark
def test_exported_pcap_decodes_with_tshark(tmp_path, tshark):
    sc = seed_two_servers(calls_per_hour=600, hours=0.03, remote=1.0,
                          **{"capture": True, "media": "frames", "warmup": 30.0,
                             "traffic.holding": {"dist": "fixed", "value": 1.0}})
    res = simulate(sc, seed=6)
    path = tmp_path / "sim.pcap"
    n = res.write_pcap(path)
    out = subprocess.run([tshark, "-r", str(path), "-T", "fields", "-e", "iax2.packet_type",
                          "-e", "_ws.malformed", "-d", "udp.port==20000,iax2"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(out) == n
    types = [line.split("\t")[0] for line in out]
    assert all(t in ("0", "1") for t in types)  # 0 = mini voice, 1 = full frame
    assert {"0", "1"} <= set(types)
    assert not any(line.split("\t")[1:] != [""] for line in out)
    news = subprocess.run([tshark, "-r", str(path), "-Y", "iax2.iax.subclass == 1", "-T", "fields",
                           "-e", "iax2.iax.called_number"], capture_output=True, text=True, check=True)
    in_pcap = set(news.stdout.split())
    # every remote call of the measured period sent a NEW naming its number (warm-up calls too)
    assert set(res.calls["dialled"]) <= in_pcap
    assert all(n[0] in "67" and len(n) == 4 for n in in_pcap)


def test_trunked_frames_with_timestamps_decode():
    sc = seed_two_servers(calls_per_hour=1200, hours=0.03, remote=1.0,
                          **{"capture": True, "media": "frames", "trunk": True, "trunk_timestamps": True,
                             "warmup": 30.0, "traffic.holding": {"dist": "fixed", "value": 1.0}})
    res = simulate(sc, seed=6)
    frames = [decode(d[5]) for d in res.datagrams]
    trunks = [f for f in frames if isinstance(f, TrunkFrame)]
    assert len(trunks) > 100
    # each trunk frame carries one 160-byte ulaw entry per call active on the pair at that tick
    assert all(len(e.payload) == 160 for f in trunks for e in f.entries)


def test_digit_by_digit_waits_the_digit_timeout_on_ambiguous_prefixes():
    sc = scenario_from_dict({
        "duration": 1800.0, "seed": 2,
        "servers": [{"id": "A", "extensions": ["600", "6000-6009"], "qualify": False}],
        "traffic": {"calls_per_hour": 600.0, "local": 1.0, "dialling": "digits",
                    "digit_interval": 0.3, "extension_busy": False,
                    "holding": {"dist": "exponential", "mean": 30.0}},
    })
    calls = simulate(sc, seed=2).calls
    short = calls[calls.dialled == "600"]
    long = calls[calls.dialled != "600"]
    assert len(short) > 5 and len(long) > 50
    # after "600" more digits could still match (6000-6009): Asterisk waits 5 s for one
    assert (short["digit_wait"] == 5.0).all()
    assert short["post_dial_delay"].to_numpy() == pytest.approx(5.0, abs=1e-3)
    assert (short["outcome"] == "answered").all()
    # a 4-digit number is complete as soon as its last digit arrives: no wait
    assert (long["digit_wait"] == 0.0).all()
    assert (long["post_dial_delay"] < 1e-3).all()


def test_switch_mode_asks_with_dpreq_then_dials_once():
    calls = remote_calls({"linking": "switch", "switch_cache": 600.0, "network.internal_scope": "global",
                          "warmup": 0.0})
    ok = calls[calls.outcome == "answered"]
    assert (calls["attempts"] == 1).all() and len(ok) > 50
    # cached answer: call set-up only; DPREQ/DPREP on the standing TBD call first: +2 trips;
    # the very first lookup also opens the TBD call (NEW, CALLTOKEN, NEW, ACCEPT): +4 trips
    pdd = ok["post_dial_delay"].round(3)
    # (call set-up: 6 trips = 0.12 s; the TBD call needs no ACK of its ACCEPT before a DPREQ)
    assert set(pdd) <= {0.12, 0.16, 0.24}
    first_per_origin = ok.sort_values("start").groupby("origin").head(1)
    assert (first_per_origin["post_dial_delay"].round(3) == 0.24).all()
    assert (pdd == 0.16).sum() > (pdd == 0.12).sum()  # 1000 numbers per server: few repeats in 600 s


def test_per_pair_latency_overrides():
    calls = remote_calls({"network.internal_scope": "global",
                          "network.links": [{"from": "A", "to": "B", "latency": 0.05},
                                            {"from": "B", "to": "A", "latency": 0.01}]})
    ok = calls[calls.outcome == "answered"]
    cpu = (10e-6 + 2 * 0.6e-6) + (10e-6 + 0.6e-6)
    # set-up = three round trips A→B→A whichever side calls: 3 × (0.05 + 0.01)
    assert ok["post_dial_delay"].to_numpy() == pytest.approx(0.18 + cpu, abs=2e-6)


def test_overloaded_cpu_queues_lookups_like_md1():
    # One core, every lookup 0.5 s (base), local calls at 1 per second: an M/D/1 queue with
    # rho = 0.5. Pollaczek-Khinchine: Wq = rho / (2 mu (1 - rho)) = 0.25 s, so the post-dial
    # delay (wait + service) averages 0.75 s and the CPU is busy half of the time.
    sc = scenario_from_dict({
        "duration": 4000.0, "warmup": 100.0, "seed": 9,
        "servers": [{"id": "A", "extensions": ["100-109"], "qualify": False}],
        "cpu": {"base": 0.5, "per_comparison": 0.0},
        "traffic": {"calls_per_hour": 3600.0, "local": 1.0, "extension_busy": False,
                    "holding": {"dist": "exponential", "mean": 10.0}},
    })
    res = simulate(sc, seed=9)
    pdd = res.summary().loc["post_dial_delay"]
    assert pdd["ci_low"] <= 0.75 <= pdd["ci_high"]
    assert res.servers["cpu_utilisation"].mean() == pytest.approx(0.5, abs=0.03)
    assert (res.calls["lookup_cpu"] == 0.5).all()


def test_media_by_formula_per_call_and_per_link():
    sc = seed_two_servers(calls_per_hour=300, hours=0.3, remote=1.0, **{
        "warmup": 0.0, "network.internal_scope": "global", "traffic.extension_busy": False,
        "traffic.holding": {"dist": "fixed", "value": 10.0}})
    res = simulate(sc, seed=8)
    ok = res.calls[res.calls.outcome == "answered"]
    # 10 s of ulaw, 20 ms frames, both directions: 2 × 500 mini frames of 28 + 4 + 160 = 192 B
    media_frames, media_bytes = 2 * 500, 2 * 500 * 192
    signalling = ok["frames"] - media_frames
    assert signalling.between(6, 16).all()
    assert ((ok["bytes"] - media_bytes) >= signalling * (28 + 12)).all()  # each ≥ a bare header
    # per link: 76.8 kbit/s per active call in each direction; area under the curve = Σ holding
    a_to_b = res.links[(res.links.src == "A") & (res.links.dst == "B")]
    kbit = float((a_to_b["media_kbps"] * a_to_b["seconds"]).sum())
    assert kbit == pytest.approx(len(ok) * 10.0 * 76.8, rel=1e-6)


def test_simulate_command(tmp_path, capsys):
    from iaxsim.cli import main

    out = tmp_path / "calls.parquet"
    pcap = tmp_path / "calls.pcap"
    scenario = Path(__file__).resolve().parent.parent / "data" / "scenarios" / "one_way_firewall.toml"
    assert main(["simulate", str(scenario), "--seed", "2", "--out", str(out),
                 "--pcap", str(pcap)]) == 0
    text = capsys.readouterr().out
    assert "one_way_firewall" in text and "p_failed" in text
    calls = pd.read_parquet(out)
    assert set(calls.loc[calls.origin == "B", "outcome"]) == {"failed"}
    assert pcap.stat().st_size > 24
    assert main(["simulate", str(tmp_path / "missing.toml")]) == 2
    assert main(["simulate", str(scenario), "--by", "origin"]) == 0
    by_origin = capsys.readouterr().out
    assert "origin" in by_origin and by_origin.count("p_failed") == 2
    assert main(["simulate", str(scenario), "--by", "colour"]) == 2


def test_switch_mode_unreachable_peer_costs_the_5s_dialplan_wait():
    calls = remote_calls({"linking": "switch", "network.internal_scope": "global",
                          "network.links": [{"from": "A", "to": "B", "loss": 1.0}]})
    from_a = calls[calls.origin == "A"]
    # nothing reaches B: every DPREQ waits iaxdefaulttimeout (5 s), the number is not found
    assert len(from_a) > 50 and set(from_a["outcome"]) == {"rejected"}
    assert (from_a["attempts"] == 0).all()
    origin_lookup = 10e-6 + 1 * 0.6e-6  # external.conf: one pattern (_7XXX) tested
    pdd = from_a["post_dial_delay"]
    full_wait = (pdd - (5.0 + origin_lookup)).abs() < 2e-6
    assert full_wait.mean() > 0.8
    assert (pdd <= 5.0 + origin_lookup + 2e-6).all()
    # shorter: the TBD call's unanswered NEW gave up (32 s) while the lookup waited, which ends
    # every pending lookup on it; or the number's timeout is still cached (60 s): no wait at all


def test_switch_digits_asks_peers_in_order_until_one_says_more():
    """Digit by digit, Asterisk's PBX loop asks MATCHMORE after each digit. pbx.c's
    pbx_find_extension answers it from the context's own extensions first and consults the
    switches only when none matches, in their order, stopping at the first that says yes; one
    DPREQ answers every question about a number (chan_iax2 caches the DPREP flags). So for A
    (owns 2000) with switches to B (owns 3000-3001) then C (owns 3100):
    "2", "20", "200": A's 2000 can still match more: no DPREQ;
    "2000": complete locally, no local match-more: B and C are asked, both say NONEXISTENT;
    "3", "30": B says MATCHMORE: C is not asked."""
    from iaxsim.sim.calls import CallRecord
    from iaxsim.sim.model import Model

    sc = scenario_from_dict({
        "name": "switch_digits_order", "duration": 60.0, "warmup": 0.0, "seed": 1, "linking": "switch",
        "network": {"internal_scope": "global"}, "capture": True,
        "servers": [{"id": "A", "extensions": ["2000"], "qualify": False},
                    {"id": "B", "extensions": ["3000-3001"], "qualify": False},
                    {"id": "C", "extensions": ["3100"], "qualify": False}],
        "traffic": {"calls_per_hour": 0.0, "dialling": "digits"},
    })
    model = Model(sc, seed=1)
    answers = []
    a = model.servers["A"]
    rec = CallRecord(0.0, "A", "3000", "B")

    def dial():
        for prefix in ("2", "20", "200", "2000", "3", "30"):
            answers.append((prefix, (yield from model.caller.union_status(a, prefix, rec))))

    model.env.process(dial())
    model.env.run(until=30.0)
    # the questions as they went on the wire: every DPREQ captured, in sending order, with the
    # server owning the address it was sent to and the number it asked about
    asked = []
    for _arrive, _src_ip, _sport, dst_ip, _dport, data in model.capture:
        frame = decode(data)
        if isinstance(frame, FullFrame) and frame.frametype == FrameType.IAX \
                and frame.subclass == IAXSubclass.DPREQ:
            asked.append((model.network.owner[dst_ip][0], frame.ie(IEType.CALLED_NUMBER)))
    assert asked == [("B", "2000"), ("C", "2000"), ("B", "3"), ("B", "30")]
    # (exists, matchmore, canmatch)
    assert answers == [("2", (False, True, True)), ("20", (False, True, True)), ("200", (False, True, True)),
                       ("2000", (True, False, True)), ("3", (False, True, True)), ("30", (False, True, True))]
