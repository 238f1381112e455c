"""Two seed linked servers as real UDP nodes on loopback (internal and external addresses).

Expected behaviour comes from the seed README (A owns 7XXX, B owns 6XXX; link.conf tries the
peer's internal address, then its external one), the trixbox notes (a firewall blocking UDP
one way gives calls that work in one direction only) and Asterisk's wire behaviour in
``channels/chan_iax2.c`` (retransmission give-up in ``attempt_transmit``, REJECT "No such
context/extension" with cause 3 in ``socket_process``, DPSTATUS bits from ``dp_lookup``).
"""
from __future__ import annotations

import asyncio

from net_helpers import FAST, Pair, Phone, run

from iaxsim.iax2.constants import DPStatus
from iaxsim.iax2.engine import (CallAnswered, CallHungUp, CallRejected, DialplanReply,
                                IncomingCall, Registered, VoiceReceived)
from iaxsim.net.filters import DropLocal, StatefulInbound

VOICE = bytes(range(160))


async def _call(phone: Phone, node_addr, number: str, timeout: float = 8.0,
                context: str = "from-internal"):
    tr = phone.tr
    done = tr.expect(lambda e: isinstance(e, (CallAnswered, CallRejected, CallHungUp)))
    t0 = tr.now()
    call = tr.command("place_call", node_addr, number, context=context)
    event = await tr.wait(done, timeout)
    return call, event, tr.now() - t0


def test_call_from_a_reaches_b_over_the_internal_address_and_echoes(tmp_path):
    async def main():
        pair = await Pair(tmp_path).start()
        phone = await Phone().start()
        try:
            call, event, _ = await _call(phone, pair.a_addrs[0], "6001")
            assert isinstance(event, CallAnswered)
            for i in range(5):
                phone.tr.command("send_voice", call, VOICE)
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)
            echoed = [e.payload for e in phone.of(VoiceReceived, call)]
            phone.tr.command("hangup", call)
            await asyncio.sleep(0.2)
            return pair, echoed
        finally:
            phone.close()
            pair.close()

    pair, echoed = run(main())
    assert echoed == [VOICE] * 5                   # B echoed our audio back through A
    a_in = next(r for r in pair.a.records if r.direction == "in")
    assert a_in.outcome == "answered-remote"
    assert len(a_in.attempts) == 1
    assert a_in.attempts[0].startswith("IAX2/c1001i@cserverBi/6001@external -> 127.0.0.4:")
    b_in = next(r for r in pair.b.records if r.direction == "in")
    # B saw the call arrive on its internal address from A, as user c1001i, context external
    assert (b_in.number, b_in.context, b_in.username) == ("6001", "external", "c1001i")
    assert b_in.remote[0] == "127.0.0.2"
    assert b_in.outcome == "answered-local" and b_in.done
    assert any("answered locally (VoiceMail, echo)" in m for m in pair.logs["B"])


def test_dead_internal_address_falls_back_to_external_after_retransmission_timeout(tmp_path):
    async def main():
        pair = await Pair(tmp_path).start()
        pair.b.transport.filters.append(DropLocal([pair.b_addrs[0]]))
        phone = await Phone().start()
        try:
            call, event, elapsed = await _call(phone, pair.a_addrs[0], "6002")
            phone.tr.command("hangup", call)
            await asyncio.sleep(0.1)
            return pair, event, elapsed
        finally:
            phone.close()
            pair.close()

    pair, event, elapsed = run(main())
    assert isinstance(event, CallAnswered)
    # pingtime 0.05 s: NEW sent at 0 and at +0.1 s (RTO = 2 x ping time), then the next RTO
    # (x10 = 1.0 s) expires with no answer: give up at 1.1 s (chan_iax2.c attempt_transmit)
    assert 1.1 <= elapsed < 3.0
    a_in = next(r for r in pair.a.records if r.direction == "in")
    assert len(a_in.attempts) == 2
    assert "cserverBi" in a_in.attempts[0] and "failed: Max retries exceeded (27)" in a_in.attempts[0]
    assert a_in.attempts[1].startswith("IAX2/c1001x@cserverBx/6002@external -> 127.0.0.5:")
    b_in = [r for r in pair.b.records if r.direction == "in"]
    assert [(r.username, r.outcome) for r in b_in] == [("c1001x", "answered-local")]
    assert pair.b.transport.stats.dropped_in == 2   # the NEW and its one retransmission


def test_one_way_block_lets_calls_through_in_one_direction_only(tmp_path):
    async def main():
        pair = await Pair(tmp_path).start()
        # A's firewall drops new inbound UDP from B's addresses; replies to A's own calls pass
        pair.a.transport.filters.append(StatefulInbound(["127.0.0.4", "127.0.0.5"]))
        phone_b = await Phone(seed=6).start()
        phone_a = await Phone(seed=7).start()
        try:
            _, b_to_a, elapsed = await _call(phone_b, pair.b_addrs[0], "7001")
            _, a_to_b, _ = await _call(phone_a, pair.a_addrs[0], "6001")
            return pair, b_to_a, elapsed, a_to_b
        finally:
            phone_a.close()
            phone_b.close()
            pair.close()

    pair, b_to_a, elapsed, a_to_b = run(main())
    # B -> A: both link.conf priorities time out, B hangs the caller up with cause 27
    assert isinstance(b_to_a, CallHungUp) and b_to_a.code == 27
    assert elapsed >= 2.2                            # two attempts of 1.1 s each
    b_in = next(r for r in pair.b.records if r.direction == "in")
    assert len(b_in.attempts) == 2 and all("Max retries exceeded" in a for a in b_in.attempts)
    # A -> B works
    assert isinstance(a_to_b, CallAnswered)


def test_unknown_numbers_are_rejected_like_asterisk(tmp_path):
    async def main():
        pair = await Pair(tmp_path).start()
        phone = await Phone().start()
        try:
            results = []
            for number, context in (("5000", "from-internal"),   # neither local nor linked
                                    ("7001", "external"),        # B does not own 7XXX
                                    ("6001", "nosuchcontext")):
                results.append((await _call(phone, pair.b_addrs[0], number, context=context))[1])
            return pair, results
        finally:
            phone.close()
            pair.close()

    pair, results = run(main())
    for e in results:  # chan_iax2.c: REJECT "No such context/extension", CAUSECODE 3
        assert isinstance(e, CallRejected)
        assert (e.cause, e.code) == ("No such context/extension", 3)
    assert [r.outcome for r in pair.b.records] == ["rejected"] * 3
    assert not pair.a.records                        # nothing was forwarded


def test_dpreq_is_answered_from_the_context_the_tbd_call_names(tmp_path):
    async def main():
        pair = await Pair(tmp_path).start()
        phone = await Phone().start()
        try:
            replies = {}
            for number in ("6", "60", "6000", "9", "7001"):
                fut = phone.tr.expect(lambda e, n=number: isinstance(e, DialplanReply)
                                      and e.number == n)
                phone.tr.command("dial_lookup", pair.b_addrs[1], number, "external")
                replies[number] = (await phone.tr.wait(fut, 5)).status
            return replies
        finally:
            phone.close()
            pair.close()

    replies = run(main())
    # chan_iax2.c dp_lookup (B owns _6XXX): 6, 60 -> CANEXIST|MATCHMORE; 6000 -> EXISTS; 9 -> NONEXISTENT
    assert replies["6"] == DPStatus.CANEXIST | DPStatus.MATCHMORE == 0x8002
    assert replies["60"] == 0x8002
    assert replies["6000"] == DPStatus.EXISTS == 1
    assert replies["9"] == DPStatus.NONEXISTENT == 4
    assert replies["7001"] == 4                      # context external holds B's own only


def test_registered_phone_is_rung_for_its_extension_through_the_link(tmp_path):
    friend = "[6005]\ntype = friend\nhost = dynamic\nsecret = pw6005\n"

    async def main():
        pair = await Pair(tmp_path, general=FAST, extra_b=friend).start()
        desk = await Phone(seed=8).start()          # the phone of extension 6005, on B
        caller = await Phone(seed=9).start()        # a phone on A
        try:
            reg = desk.tr.expect(lambda e: isinstance(e, Registered))
            desk.tr.command("register", pair.b_addrs[0], "6005", "pw6005")
            await desk.tr.wait(reg, 5)
            ringing = desk.tr.expect(lambda e: isinstance(e, IncomingCall))
            answered = caller.tr.expect(lambda e: isinstance(e, CallAnswered))
            call = caller.tr.command("place_call", pair.a_addrs[0], "6005",
                                     context="from-internal")
            incoming = await desk.tr.wait(ringing, 5)
            desk.tr.command("answer", incoming.call_id)
            await caller.tr.wait(answered, 5)
            caller.tr.command("send_voice", call, VOICE)
            await asyncio.sleep(0.2)
            heard = [e.payload for e in desk.of(VoiceReceived, incoming.call_id)]
            caller.tr.command("hangup", call)
            await asyncio.sleep(0.2)
            return pair, incoming, heard, desk.of(CallHungUp, incoming.call_id)
        finally:
            desk.close()
            caller.close()
            pair.close()

    pair, incoming, heard, hungup = run(main())
    assert incoming.called_number == "6005" and incoming.addr[0] == "127.0.0.4"
    assert heard == [VOICE]                         # A relayed to B, B relayed to the phone
    assert len(hungup) == 1                         # the hangup followed through both nodes
    assert any("peer 6005 registered" in m for m in pair.logs["B"])


def test_node_command_contract_on_the_seed_directory(tmp_path):
    """DESIGN contract: `iaxsim node --conf DIR --bind ADDR:PORT` serves DIR's dialplan; the
    NEW's CALLED_CONTEXT picks the context (seed dial strings send `external`, as user
    c1001i) and a TBD call answers DPREQ from that context. No iax.conf: defaults."""
    import os
    import re
    import signal
    import subprocess
    import sys

    from net_helpers import ROOT, SEED

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "iaxsim.cli", "node", "--conf",
                             str(SEED / "serverB"), "--bind", "127.0.0.1:0", "--duration", "30"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=tmp_path)

    async def main(addr):
        phone = await Phone().start()
        try:
            answered = await _call_as(phone, addr, "6001", "external", "c1001i")
            rejected = await _call_as(phone, addr, "7001", "external", "c1001i")
            fut = phone.tr.expect(lambda e: isinstance(e, DialplanReply))
            phone.tr.command("dial_lookup", addr, "6", "external")
            dp = await phone.tr.wait(fut, 5)
            return answered, rejected, dp
        finally:
            phone.close()

    try:
        m = re.match(r"listening on 127\.0\.0\.1:(\d+)", proc.stdout.readline())
        assert m
        answered, rejected, dp = run(main(("127.0.0.1", int(m.group(1)))))
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert isinstance(answered, CallAnswered)
    assert isinstance(rejected, CallRejected) and rejected.code == 3
    assert dp.status == 0x8002                        # IAX_DPSTATUS_CANEXIST | IAX_DPSTATUS_MATCHMORE
    assert re.search(r"from 127\.0\.0\.1:\d+ \(c1001i\) to 6001@external", out)
    assert "answered locally (VoiceMail, echo)" in out
    assert "to 7001@external: rejected, No such context/extension (3)" in out


async def _call_as(phone: Phone, addr, number: str, context: str, username: str):
    tr = phone.tr
    done = tr.expect(lambda e: isinstance(e, (CallAnswered, CallRejected, CallHungUp)))
    call = tr.command("place_call", addr, number, context=context, username=username)
    event = await tr.wait(done, 8)
    if isinstance(event, CallAnswered):
        tr.command("hangup", call)
        await asyncio.sleep(0.1)
    return event
