"""The WAN emulator on real UDP (loopback only, free ports): latency kept on real datagrams,
seeded loss and duplication, one-way and stateful drop rules, NAT, site scope of internal
addresses, refusal of non-loopback addresses, clean stop, an IAX2 POKE through it, the CLI."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import tomllib

import pytest
from net_helpers import FAST, ROOT, Pair, Phone, _iax_conf, run

from iaxsim import cli
from iaxsim.iax2.engine import CallAnswered, CallHungUp, CallRejected, Endpoint, PongReceived
from iaxsim.net.probe import probe
from iaxsim.net.transport import NetError, Transport
from iaxsim.net.wan import (DropRule, Impairment, WanConfig, WanEmulator, WanServer, parse_drop,
                            parse_link)

STAMP = struct.Struct("!dI")


class Host:
    """A blocking UDP socket on 127.0.0.1 standing for a server; a thread collects what arrives."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.05)
        name = self.sock.getsockname()
        self.addr = (name[0], name[1])
        self.got: list[tuple[float, bytes, tuple[str, int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._recv, daemon=True)
        self._thread.start()

    def _recv(self) -> None:
        while not self._stop.is_set():
            try:
                data, src = self.sock.recvfrom(4096)
            except (socket.timeout, OSError):
                continue
            self.got.append((time.monotonic(), data, (src[0], src[1])))

    def send(self, data: bytes, to: tuple[str, int]) -> None:
        self.sock.sendto(data, to)

    def wait(self, count: int, timeout: float = 3.0) -> None:
        end = time.monotonic() + timeout
        while len(self.got) < count and time.monotonic() < end:
            time.sleep(0.005)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def hosts():
    made: list[Host] = []

    def make(n: int = 2, host: str = "127.0.0.1") -> list[Host]:
        made.extend(Host(host) for _ in range(n))
        return made[-n:]

    yield make
    for h in made:
        h.close()


def two(a: Host, b: Host, **kwargs) -> WanConfig:
    return WanConfig(servers=(WanServer("A", {"external": a.addr}), WanServer("B", {"external": b.addr})),
                     **kwargs)


def indices(host: Host) -> list[int]:
    return [STAMP.unpack_from(data)[1] for _, data, _ in host.got]


# ------------------------------------------------------------------ latency, loss, duplication


def test_latency_is_kept_on_real_datagrams(hosts):
    a, b = hosts()
    with WanEmulator(two(a, b, default=Impairment(latency=0.020))) as wan:
        to = wan.proxy("A", "B")
        sent = []
        for i in range(100):  # 200 datagrams/s
            sent.append(time.monotonic())
            a.send(STAMP.pack(sent[-1], i), to)
            time.sleep(0.005)
        b.wait(100)
    delays = [t - STAMP.unpack_from(data)[0] for t, data, _ in b.got]
    assert len(delays) == 100
    assert min(delays) >= 0.020 - 1e-4                      # never before its latency
    assert abs(statistics.median(delays) - 0.020) < 0.001
    assert abs(statistics.fmean(delays) - 0.020) < 0.001
    assert b.got[0][2] == wan.proxy("B", "A")               # B sees A at the address it reaches A at


def test_tap_keeps_full_frames_in_and_out_with_real_addresses(hosts):
    from iaxsim.iax2 import FullFrame, IAXSubclass, MiniFrame

    a, b = hosts()
    new = FullFrame(source_call=7, subclass=IAXSubclass.NEW).encode()
    mini = MiniFrame(source_call=7, timestamp=1, payload=b"x").encode()
    with WanEmulator(two(a, b, default=Impairment(latency=0.020)), tap=True) as wan:
        a.send(new, wan.proxy("A", "B"))
        a.send(mini, wan.proxy("A", "B"))
        b.wait(2)
        time.sleep(0.01)
        tapped = wan.tapped()
        assert wan.tapped() == []                            # read once
    assert len(b.got) == 2                                   # both relayed, only one kept
    assert [(r.way, r.src, r.dst, r.data) for r in tapped] == [("in", a.addr, b.addr, new),
                                                              ("out", a.addr, b.addr, new)]
    assert 0.019 < tapped[1].time - tapped[0].time < 0.030   # sent on after the latency
    with WanEmulator(two(a, b)) as plain:
        a.send(new, plain.proxy("A", "B"))
        b.wait(3)
        assert plain.tapped() == []                          # no tap unless asked


def _loss_run(a: Host, b: Host, seed: int) -> tuple[list[int], dict[str, int]]:
    b.got.clear()
    with WanEmulator(two(a, b, default=Impairment(loss=0.2, duplicate=0.1), seed=seed)) as wan:
        to = wan.proxy("A", "B")
        for i in range(2000):
            a.send(STAMP.pack(0.0, i), to)
            if i % 50 == 49:
                time.sleep(0.005)
        end = time.monotonic() + 3
        while time.monotonic() < end:  # all offered and sent on, and everything sent arrived
            c = wan.pair_counters("A", "B")
            if (c.received == 2000 and c.forwarded == c.received - c.lost + c.duplicated
                    and len(b.got) >= c.forwarded):
                break
            time.sleep(0.01)
    time.sleep(0.02)
    counts = wan.pair_counters("A", "B").as_dict()
    assert counts["received"] == 2000 and len(b.got) == counts["forwarded"]
    return indices(b), counts


def test_relay_works_with_the_default_selector_too(hosts, monkeypatch):
    import iaxsim.net.wan as wan_module

    monkeypatch.setattr(wan_module, "_SELECT_FDS", 0)       # as if descriptors were past FD_SETSIZE
    a, b = hosts()
    with WanEmulator(two(a, b, default=Impairment(latency=0.010))) as wan:
        for i in range(20):
            a.send(STAMP.pack(time.monotonic(), i), wan.proxy("A", "B"))
            time.sleep(0.002)
        b.wait(20)
    delays = [t - STAMP.unpack_from(data)[0] for t, data, _ in b.got]
    assert indices(b) == list(range(20))
    assert min(delays) >= 0.010 - 1e-4 and statistics.median(delays) < 0.010 + 0.003


def test_loss_and_duplication_rates_are_right_and_repeat_with_the_seed(hosts):
    a, b = hosts()
    first, counts = _loss_run(a, b, seed=7)
    assert counts["received"] == 2000
    assert 330 <= counts["lost"] <= 470                     # 400 +- 4 sd (binomial)
    assert 112 <= counts["duplicated"] <= 208               # 10% of ~1600 +- 4 sd
    assert counts["forwarded"] == 2000 - counts["lost"] + counts["duplicated"] == len(first)
    assert len(set(first)) == 2000 - counts["lost"]
    assert first == sorted(first)                           # no jitter: order kept
    again, _ = _loss_run(a, b, seed=7)
    assert again == first                                   # same seed: same datagrams lost and doubled
    other, _ = _loss_run(a, b, seed=8)
    assert other != first


def test_jitter_keeps_order_unless_reordering_is_asked(hosts):
    a, b = hosts()
    for reorder in (False, True):
        b.got.clear()
        imp = Impairment(latency=0.005, jitter=0.010, reorder=reorder)
        with WanEmulator(two(a, b, default=imp, seed=3)) as wan:
            for i in range(200):
                a.send(STAMP.pack(0.0, i), wan.proxy("A", "B"))
                time.sleep(0.0005)
            b.wait(200)
        got = indices(b)
        assert sorted(got) == list(range(200))
        assert (got == list(range(200))) is (not reorder)


# ------------------------------------------------------------------ firewalls, sites, NAT


def test_one_way_firewall_drops_one_direction_only(hosts):
    a, b = hosts()
    cfg = two(a, b, rules=(parse_drop("B->A"),))            # A's own port, whatever it is
    with WanEmulator(cfg) as wan:
        a.send(b"from A", wan.proxy("A", "B"))
        b.send(b"from B", wan.proxy("B", "A"))
        b.wait(1)
        time.sleep(0.05)
        ab, ba = wan.pair_counters("A", "B"), wan.pair_counters("B", "A")
    assert [d for _, d, _ in b.got] == [b"from A"] and a.got == []
    assert (ab.forwarded, ab.dropped_firewall) == (1, 0)
    assert (ba.received, ba.forwarded, ba.dropped_firewall) == (1, 0, 1)


def test_a_rule_on_another_port_drops_nothing(hosts):
    a, b = hosts()
    with WanEmulator(two(a, b, rules=(DropRule("B", "A", port=a.addr[1] + 1),))) as wan:
        b.send(b"x", wan.proxy("B", "A"))
        a.wait(1)
    assert [d for _, d, _ in a.got] == [b"x"]


def test_stateful_rule_lets_replies_through(hosts):
    a, b = hosts()
    cfg = two(a, b, rules=(DropRule("B", "A", stateful=True),), conntrack_timeout=30.0)
    with WanEmulator(cfg) as wan:
        b.send(b"unsolicited", wan.proxy("B", "A"))
        time.sleep(0.05)
        a.send(b"hello", wan.proxy("A", "B"))
        b.wait(1)
        b.send(b"reply", wan.proxy("B", "A"))
        a.wait(1)
        ba = wan.pair_counters("B", "A")
    assert [d for _, d, _ in a.got] == [b"reply"]
    assert (ba.received, ba.dropped_firewall, ba.forwarded) == (2, 1, 1)


def test_internal_address_is_reachable_only_within_its_site(hosts):
    ai, ax, bi, bx, ci = hosts(5)
    cfg = WanConfig(servers=(
        WanServer("A", {"internal": ai.addr, "external": ax.addr}, site="east"),
        WanServer("B", {"internal": bi.addr, "external": bx.addr}, site="west"),
        WanServer("C", {"internal": ci.addr}, site="east")))
    with WanEmulator(cfg) as wan:
        bi.send(b"B to A internal", wan.proxy("B", "A", "internal"))
        bx.send(b"B to A external", wan.proxy("B", "A", "external"))
        ci.send(b"C to A internal", wan.proxy("C", "A", "internal"))
        ax.wait(1)
        ai.wait(1)
        time.sleep(0.05)
        counts = wan.counters()
    assert [d for _, d, _ in ax.got] == [b"B to A external"]
    assert [d for _, d, _ in ai.got] == [b"C to A internal"]
    assert counts["B.internal>A.internal"].dropped_scope == 1
    assert counts["B.external>A.external"].forwarded == 1
    assert counts["C.internal>A.internal"].forwarded == 1


def test_scenario_nat_and_one_way_firewall_let_calls_through_one_way_only(hosts):
    a, b = hosts()
    scenario = tomllib.loads((ROOT / "data" / "scenarios" / "one_way_firewall.toml").read_text())
    cfg = WanConfig.from_scenario(scenario, {"A": {"external": a.addr}, "B": {"external": b.addr}})
    assert cfg.server("A").nat and cfg.rules == (DropRule("B", "A", "any", None, False),)
    with WanEmulator(cfg) as wan:
        a.send(b"NEW from A", wan.proxy("A", "B"))          # A opens: B answers where A came from
        b.wait(1)
        (_, _, seen_a), = b.got
        assert seen_a != wan.proxy("B", "A")                # A's translated address
        b.send(b"ACCEPT", seen_a)
        a.wait(1)
        b.send(b"NEW from B", wan.proxy("B", "A"))          # B opens: UDP 4569 dropped
        time.sleep(0.1)
        ba = wan.pair_counters("B", "A")
    assert [d for _, d, _ in a.got] == [b"ACCEPT"]
    assert (ba.forwarded, ba.dropped_firewall) == (1, 1)


def test_from_scenario_reads_the_network_table():
    scenario = tomllib.loads((ROOT / "data" / "scenarios" / "seed_two_servers.toml").read_text())
    addrs = {"A": {"external": ("127.0.0.1", 4001)}, "B": {"external": ("127.0.0.1", 4002)}}
    cfg = WanConfig.from_scenario(scenario, addrs)
    assert cfg.impairment("A", "B") == Impairment(latency=0.020)
    assert cfg.seed == 1
    scenario["network"]["latency"] = {"dist": "exponential", "mean": 0.02}
    with pytest.raises(NetError, match="constant latency"):
        WanConfig.from_scenario(scenario, addrs)
    with pytest.raises(NetError, match="no address given for server B"):
        WanConfig.from_scenario(scenario, {"A": addrs["A"]})
    with pytest.raises(NetError, match="the scenario has no server C"):
        WanConfig.from_scenario(scenario, {**addrs, "C": {"external": ("127.0.0.1", 4003)}})


def test_from_scenario_links_keep_the_pair_latency_as_the_simulator_does():
    scenario = {"servers": [{"id": "A", "site": "x"}, {"id": "B", "site": "x"}, {"id": "C"}],
                "network": {"latency": 0.03, "site_latency": 0.001, "loss": 0.1,
                            "links": [{"from": "A", "to": "B", "loss": 0.5},
                                      {"from": "A", "to": "C", "jitter": 0.004}],
                            "firewall": [{"from": "C", "to": "A", "kind": "internal", "port": 5060}]}}
    addrs = {n: {"external": ("127.0.0.1", 4000 + i)} for i, n in enumerate("ABC")}
    cfg = WanConfig.from_scenario(scenario, addrs, seed=5)
    assert cfg.impairment("A", "B") == Impairment(latency=0.001, loss=0.5)
    assert cfg.impairment("A", "C") == Impairment(latency=0.03, jitter=0.004, loss=0.1)
    assert cfg.impairment("B", "A") == Impairment(latency=0.001, loss=0.1)
    assert cfg.impairment("C", "B") == Impairment(latency=0.03, loss=0.1)
    assert cfg.rules == (DropRule("C", "A", "internal", 5060, True),)   # stateful by default
    assert cfg.seed == 5


def test_link_overrides_one_direction(hosts):
    a, b = hosts()
    (pair, imp), = [parse_link("B->A:loss=1")]
    with WanEmulator(two(a, b, links={pair: imp})) as wan:
        b.send(b"lost", wan.proxy("B", "A"))
        a.send(b"kept", wan.proxy("A", "B"))
        b.wait(1)
        time.sleep(0.05)
        assert wan.pair_counters("B", "A").lost == 1
    assert a.got == [] and [d for _, d, _ in b.got] == [b"kept"]


def test_proxy_network_gives_each_face_its_own_ip_and_the_real_port(hosts):
    a, b = hosts()
    with WanEmulator(two(a, b, proxy_network="127.88.0.0/16")) as wan:
        to_b = wan.proxy("A", "B")
        assert to_b[0].startswith("127.88.") and to_b[1] == b.addr[1]
        assert wan.proxy("B", "A")[0] != to_b[0] and wan.proxy("B", "A")[1] == a.addr[1]
        a.send(b"x", to_b)
        b.wait(1)
    assert b.got[0][2] == wan.proxy("B", "A")


def test_ipv6_loopback(hosts):
    a, b = hosts(2, "::1")
    with WanEmulator(two(a, b, default=Impairment(latency=0.005))) as wan:
        a.send(b"v6", wan.proxy("A", "B"))
        b.wait(1)
    assert [d for _, d, _ in b.got] == [b"v6"]


# ------------------------------------------------------------------ safety and stopping


@pytest.mark.parametrize("host", ["10.0.0.1", "192.168.1.5", "8.8.8.8", "::2", "localhost"])
def test_refuses_addresses_outside_loopback(host):
    with pytest.raises(NetError, match=host.replace(".", r"\.")):
        WanServer("A", {"external": (host, 4569)})


def test_refuses_a_proxy_network_outside_loopback():
    servers = (WanServer("A", {"external": ("127.0.0.2", 4569)}),
               WanServer("B", {"external": ("127.0.0.3", 4569)}))
    with pytest.raises(NetError, match=r"10\.9\.0\.0/16 is outside the loopback range"):
        WanConfig(servers, proxy_network="10.9.0.0/16")
    with pytest.raises(NetError, match="outside the loopback range"):
        WanConfig(servers, proxy_network="126.0.0.0/7")     # straddles 127/8


def test_bad_settings_are_refused():
    with pytest.raises(NetError, match="loss must be a probability"):
        Impairment(loss=1.5)
    with pytest.raises(NetError, match="latency and jitter must be >= 0"):
        Impairment(latency=-0.01)
    with pytest.raises(NetError, match="no server 'C'"):
        WanConfig((WanServer("A", {"external": ("127.0.0.2", 1)}),
                   WanServer("B", {"external": ("127.0.0.3", 1)})), rules=(DropRule("C", "A"),))
    with pytest.raises(NetError, match="expected SRC->DST"):
        parse_drop("B-A:4569")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_stop_closes_everything_and_counts_what_was_still_delayed(hosts):
    a, b = hosts()
    threads, fds = threading.active_count(), open_fds()
    wan = WanEmulator(two(a, b, default=Impairment(latency=1.0)))
    wan.start()
    assert threading.active_count() == threads + 1 and wan.running
    for i in range(5):
        a.send(b"late", wan.proxy("A", "B"))
    end = time.monotonic() + 2
    while wan.pair_counters("A", "B").received < 5 and time.monotonic() < end:
        time.sleep(0.005)
    socks = list(wan._socks)
    wan.stop()
    assert not wan.running and threading.active_count() == threads and open_fds() == fds
    assert socks and all(s.fileno() == -1 for s in socks)
    counts = wan.pair_counters("A", "B")
    assert (counts.received, counts.forwarded, counts.discarded) == (5, 0, 5)
    time.sleep(0.05)
    assert b.got == []
    with pytest.raises(NetError, match="starts once"):
        wan.start()


def test_async_with_and_a_bind_failure_leaves_nothing_open(hosts):
    a, b = hosts()

    async def main() -> tuple[bool, bool]:
        tasks = asyncio.all_tasks()
        async with WanEmulator(two(a, b)) as wan:
            running = wan.running
        return running, asyncio.all_tasks() == tasks        # no task of its own left behind

    fds = open_fds()
    assert run(main()) == (True, True)
    assert open_fds() == fds
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.89.0.1", b.addr[1]))                 # the face for B will want this address
    threads, fds = threading.active_count(), open_fds()
    try:
        wan = WanEmulator(two(a, b, proxy_network="127.89.0.0/30"))
        with pytest.raises(NetError, match="cannot bind"):
            wan.start()
    finally:
        blocker.close()
    assert threading.active_count() == threads and open_fds() == fds - 1  # the blocker closed


# ------------------------------------------------------------------ IAX2 through it


def test_iax2_poke_round_trip_is_twice_the_latency():
    async def main() -> float:
        a = Transport(Endpoint(seed=1))
        b = Transport(Endpoint(seed=2))
        try:
            a_addr = await a.bind(("127.0.0.1", 0))
            b_addr = await b.bind(("127.0.0.1", 0))
            cfg = WanConfig(servers=(WanServer("A", {"external": a_addr}),
                                     WanServer("B", {"external": b_addr})),
                            default=Impairment(latency=0.030))
            async with WanEmulator(cfg) as wan:
                pong = a.expect(lambda e: isinstance(e, PongReceived))
                a.command("poke", wan.proxy("A", "B"))
                event = await a.wait(pong, 3.0)
                assert isinstance(event, PongReceived)
                assert b.endpoint.stats.pokes_answered == 1
                return event.rtt
        finally:
            a.close()
            b.close()

    rtt = run(main())
    assert 0.060 <= rtt < 0.070  # timers in a busy virtual machine can fire ms late


# ------------------------------------------------------------------ the command


def test_cli_help_and_bad_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["wan", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "127.0.0.0/8" in out and "--drop" in out and "--latency" in out
    assert cli.main(["wan", "--server", "A=10.1.1.1:4569", "--server", "B=127.0.0.3:4569"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["iaxsim: error: --server 'A=10.1.1.1:4569': server A external address "
                   "10.1.1.1:4569 is outside the loopback range (127.0.0.0/8, ::1): the WAN "
                   "emulator never sends there"]
    assert cli.main(["wan", "--server", "A=127.0.0.2:1", "--server", "B=127.0.0.3:1",
                     "--drop", "B=>A"]) == 2
    assert capsys.readouterr().err.startswith("iaxsim: error: --drop 'B=>A': bad drop rule")
    scenario = str(ROOT / "data" / "scenarios" / "one_way_firewall.toml")
    assert cli.main(["wan", "--server", "A=127.0.0.2:1", "--server", "B=127.0.0.3:1",
                     "--scenario", scenario, "--latency", "0.1"]) == 2
    assert capsys.readouterr().err == ("iaxsim: error: --latency: the scenario gives the network; "
                                       "edit the scenario instead\n")


def test_cli_relays_until_terminated_and_prints_counters(hosts):
    a, b = hosts()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "iaxsim.cli", "wan", "--server", f"A={a.addr[0]}:{a.addr[1]}",
         "--server", f"B={b.addr[0]}:{b.addr[1]}", "--latency", "0.01", "--drop", "B->A",
         "--seed", "1", "--json"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        proxies = json.loads(proc.stdout.readline())["proxies"]
        where = {(p["viewer"], p["target"]): p["address"].rsplit(":", 1) for p in proxies}
        host, port = where[("A", "B")]
        a.send(b"through", (host, int(port)))
        host, port = where[("B", "A")]
        b.send(b"blocked", (host, int(port)))
        b.wait(1)
        time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    counters = json.loads(out)["counters"]
    assert counters["A.external>B.external"]["forwarded"] == 1
    assert counters["B.external>A.external"]["dropped_firewall"] == 1
    assert [d for _, d, _ in b.got] == [b"through"] and a.got == []


def test_probe_through_the_emulator_from_a_server_address_only():
    async def main():
        b = Transport(Endpoint(seed=2))
        try:
            b_addr = await b.bind(("127.0.0.1", 0))
            free = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            free.bind(("127.0.0.1", 0))
            p_addr = free.getsockname()
            free.close()
            cfg = WanConfig(servers=(WanServer("P", {"external": p_addr}),
                                     WanServer("B", {"external": b_addr})),
                            default=Impairment(latency=0.010))
            async with WanEmulator(cfg) as wan:
                ok = await probe(wan.proxy("P", "B"), [p_addr], timeout=2)
                other = await probe(wan.proxy("P", "B"), [("127.0.0.1", 0)], timeout=0.3)
                return ok, other, wan.strays
        finally:
            b.close()

    ok, other, strays = run(main())
    assert ok.reachable and 0.020 <= ok.results[0].rtt < 0.030
    assert [r.status for r in other.results] == ["silent"] and strays >= 1


def test_seed_nodes_call_each_other_through_the_emulated_wan(tmp_path):
    """The seed's linked servers as real nodes, each peer configured at its proxy addresses:
    B's internal address is out of A's reach (another site), so A's link.conf falls back to B's
    external address after the retransmission timeout, and the call is answered across 20 ms."""
    async def main():
        pair = await Pair(tmp_path).start()
        phone = await Phone().start()
        servers = (WanServer("A", {"internal": pair.a_addrs[0], "external": pair.a_addrs[1]}),
                   WanServer("B", {"internal": pair.b_addrs[0], "external": pair.b_addrs[1]}))
        try:
            async with WanEmulator(WanConfig(servers, default=Impairment(latency=0.020))) as wan:
                b_for_a = [wan.proxy("A", "B", k) for k in ("internal", "external")]
                a_for_b = [wan.proxy("B", "A", k) for k in ("internal", "external")]
                (pair.dirs["serverA"] / "iax.conf").write_text(_iax_conf(FAST, "serverB", b_for_a, "1001", ""))
                (pair.dirs["serverB"] / "iax.conf").write_text(_iax_conf(FAST, "serverA", a_for_b, "1001", ""))
                pair.a.reload()
                pair.b.reload()
                tr = phone.tr
                assert tr is not None
                done = tr.expect(lambda e: isinstance(e, (CallAnswered, CallRejected, CallHungUp)))
                call = tr.command("place_call", pair.a_addrs[0], "6001", context="from-internal")
                event = await tr.wait(done, 8.0)
                if isinstance(event, CallAnswered):
                    tr.command("hangup", call)
                await asyncio.sleep(0.2)
                return pair, event, wan.counters(), a_for_b
        finally:
            phone.close()
            pair.close()

    pair, event, counts, a_for_b = run(main())
    assert isinstance(event, CallAnswered)
    a_in = next(r for r in pair.a.records if r.direction == "in")
    assert [at.split(" -> ")[0] for at in a_in.attempts] == [
        "IAX2/c1001i@cserverBi/6001@external", "IAX2/c1001x@cserverBx/6001@external"]
    b_in = next(r for r in pair.b.records if r.direction == "in")
    assert b_in.remote == a_for_b[1]                        # B saw A at A's external proxy address
    assert counts["A.internal>B.internal"].dropped_scope >= 1
    assert counts["A.external>B.external"].forwarded > 0     # A's external address, as in the simulator
    assert "A.internal>B.external" not in counts
