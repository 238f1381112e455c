"""Bounded resources under a flood, over real loopback UDP.

100,000 random datagrams plus 10,000 token-less NEWs (and a few thousand token-less REGREQs
and NEWs with forged tokens) hit a node that requires call tokens, while a legitimate phone
places calls that must all complete. Every datagram is counted, no state is created for a
request without a valid token (Asterisk's call-token rule, ``handle_call_token`` in
``channels/chan_iax2.c``), and the
process's resident memory grows by less than 10 MB.
"""
from __future__ import annotations

import asyncio
import random
import socket

from net_helpers import Phone, run

from iaxsim.iax2 import IE, FullFrame, IAXSubclass, IEType
from iaxsim.iax2.engine import CallAnswered, CallHungUp, CallRejected, VoiceReceived
from iaxsim.net.node import Node

RANDOM_DATAGRAMS = 100_000
TOKENLESS_NEWS = 10_000
TOKENLESS_REGREQS = 1_000
FORGED_TOKEN_NEWS = 1_000
LEGIT_CALLS = 10
BATCH = 100


def _rss_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def _attack(rng: random.Random):
    """The flood, in a seeded order: random bytes, token-less and forged requests."""
    kinds = (["random"] * RANDOM_DATAGRAMS + ["new"] * TOKENLESS_NEWS
             + ["regreq"] * TOKENLESS_REGREQS + ["forged"] * FORGED_TOKEN_NEWS)
    rng.shuffle(kinds)
    for kind in kinds:
        if kind == "random":
            yield rng.randbytes(rng.randrange(0, 200))
            continue
        callno = rng.randrange(1, 0x8000)
        if kind == "regreq":
            ies = [IE(IEType.USERNAME, "mallory"), IE(IEType.REFRESH, 60)]
            sub = IAXSubclass.REGREQ
        else:
            ies = [IE(IEType.VERSION, 2), IE(IEType.CALLED_NUMBER, "100")]
            sub = IAXSubclass.NEW
            if kind == "forged":
                ies.append(IE(IEType.CALLTOKEN, f"{rng.randrange(10**9)}?{rng.randbytes(20).hex()}"))
        yield FullFrame(source_call=callno, subclass=sub, ies=ies).encode()


async def _legit_calls(phone: Phone, target, results: list) -> None:
    tr = phone.tr
    for _ in range(LEGIT_CALLS):
        answered = tr.expect(lambda e: isinstance(e, (CallAnswered, CallRejected, CallHungUp)))
        call = tr.command("place_call", target, "100")
        event = await tr.wait(answered, 20)
        echo = tr.expect(lambda e, c=call: isinstance(e, VoiceReceived) and e.call_id == c)
        tr.command("send_voice", call, b"\x55" * 160)
        await tr.wait(echo, 20)
        tr.command("hangup", call)
        results.append(type(event).__name__)
        await asyncio.sleep(0.05)


def test_flood_is_counted_stateless_and_flat_while_legit_calls_complete(tmp_path):
    conf = tmp_path / "node"
    conf.mkdir()
    (conf / "extensions.conf").write_text("[default]\nexten => 100,1,Echo()\n")

    async def main():
        node = Node(conf, seed=3, log=lambda m: None, keep_records=100)
        (addr,) = await node.start([("127.0.0.1", 0)])
        phone = await Phone(seed=4).start()
        attacker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        attacker.bind(("127.0.0.1", 0))
        attacker.setblocking(False)
        stats = node.endpoint.stats
        try:
            # warm up every code path once before taking the memory baseline
            warm = []
            await _legit_calls(phone, addr, warm)
            await asyncio.sleep(0.3)
            base_rx = stats.datagrams_received
            base_dialogs = stats.dialogs_created
            base_phone = phone.tr.stats.sent
            base_rejects = stats.token_rejects
            rss0 = _rss_bytes()
            results: list = []
            legit = asyncio.ensure_future(_legit_calls(phone, addr, results))
            sent = 0
            for data in _attack(random.Random(2024)):
                attacker.sendto(data, addr)
                sent += 1
                if sent % BATCH == 0:       # let the node drain (no kernel drops)
                    while stats.datagrams_received - base_rx < sent - 50:
                        await asyncio.sleep(0)
            await asyncio.wait_for(legit, 60)
            for _ in range(500):
                if node.active_calls == 0 and node.endpoint.active_dialogs == 0:
                    break
                await asyncio.sleep(0.01)
            expected = sent + phone.tr.stats.sent - base_phone
            for _ in range(500):
                if stats.datagrams_received - base_rx >= expected:
                    break
                await asyncio.sleep(0.01)
            rss1 = _rss_bytes()
            return (node, stats.datagrams_received - base_rx, sent, expected, rss1 - rss0,
                    results, stats.dialogs_created - base_dialogs, warm,
                    stats.token_rejects - base_rejects)
        finally:
            attacker.close()
            phone.close()
            node.close()

    (node, received, sent, expected, growth, results, dialogs, warm,
     rejects) = run(main(), timeout=240)
    st = node.endpoint.stats
    assert warm == ["CallAnswered"] * LEGIT_CALLS
    assert results == ["CallAnswered"] * LEGIT_CALLS       # every legitimate call completed
    # every flood datagram reached the node and was counted (legit traffic comes on top)
    assert sent == RANDOM_DATAGRAMS + TOKENLESS_NEWS + TOKENLESS_REGREQS + FORGED_TOKEN_NEWS
    assert received == expected
    # no state for requests without a valid token: only the legitimate calls made dialogs
    assert dialogs == LEGIT_CALLS
    assert rejects >= TOKENLESS_NEWS + TOKENLESS_REGREQS + FORGED_TOKEN_NEWS
    # random bytes mostly parse as mini frames or full frames of calls the node does not
    # have (a first bit of 0 or 1 with a non-zero call number); the rest do not decode
    assert st.garbage > 0
    assert st.garbage + st.unknown_call >= 0.9 * RANDOM_DATAGRAMS
    assert node.endpoint.active_dialogs == 0 and node.active_calls == 0
    assert growth < 10 * 1024 * 1024, f"RSS grew by {growth / 1e6:.1f} MB"
    print(f"flood: {received} datagrams, RSS growth {growth / 1e6:.2f} MB")
