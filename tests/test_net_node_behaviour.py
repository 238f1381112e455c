"""Node behaviour beyond routing: the tone answer, Busy/Congestion steps, a leg dying
mid-call, registration with a wrong secret, and configuration errors at the command line."""
from __future__ import annotations

import asyncio

import numpy as np
from net_helpers import Pair, Phone, run

from iaxsim import cli
from iaxsim.iax2.engine import (CallAnswered, CallHungUp, CallRejected, RegistrationFailed,
                                VoiceReceived)
from iaxsim.iax2.media import ulaw_decode
from iaxsim.net.node import Node


def _node_dir(tmp_path, extensions: str, iax: str = ""):
    d = tmp_path / "node"
    d.mkdir()
    (d / "extensions.conf").write_text(extensions)
    (d / "iax.conf").write_text(iax)
    return d


async def _call(phone: Phone, addr, number: str, context: str = "default"):
    done = phone.tr.expect(lambda e: isinstance(e, (CallAnswered, CallRejected, CallHungUp)))
    call = phone.tr.command("place_call", addr, number, context=context)
    return call, await phone.tr.wait(done, 8)


def test_tone_answer_sends_a_paced_1khz_tone_on_a_20ms_grid(tmp_path):
    d = _node_dir(tmp_path, "[default]\nexten => 1,1,Answer()\nexten => 2,1,Milliwatt()\n",
                  "[general]\nanswer = tone\n")

    async def main():
        node = Node(d, seed=1, log=lambda m: None)
        (addr,) = await node.start([("127.0.0.1", 0)])
        phone = await Phone().start()
        try:
            call, event = await _call(phone, addr, "1")
            await asyncio.sleep(0.5)
            phone.tr.command("hangup", call)
            await asyncio.sleep(0.1)
            return event, phone.of(VoiceReceived, call)
        finally:
            phone.close()
            node.close()

    event, voice = run(main())
    assert isinstance(event, CallAnswered)
    # 0.5 s at one frame per 20 ms is 25 frames; allow for scheduling on a busy machine
    assert 15 <= len(voice) <= 30
    stamps = [v.timestamp for v in voice]
    assert all(b - a == 20 for a, b in zip(stamps, stamps[1:]))    # iaxmodem's requirement
    samples = np.concatenate([ulaw_decode(v.payload) for v in voice]).astype(float)
    assert all(len(v.payload) == 160 for v in voice)                # 20 ms of G.711
    # 1000 Hz at 8000 samples/s: the waveform repeats every 8 samples and is not silence
    assert np.max(np.abs(samples[8:] - samples[:-8])) < 300 and samples.std() > 3000


def test_busy_and_congestion_steps_end_the_call(tmp_path):
    d = _node_dir(tmp_path, "[default]\nexten => 5,1,Busy()\nexten => 6,1,Congestion()\n")

    async def main():
        node = Node(d, seed=1, log=lambda m: None)
        (addr,) = await node.start([("127.0.0.1", 0)])
        phone = await Phone().start()
        try:
            return [(await _call(phone, addr, n))[1] for n in ("5", "6")]
        finally:
            phone.close()
            node.close()

    busy, congestion = run(main())
    assert isinstance(busy, CallHungUp) and busy.code == 17          # Q.931 user busy
    assert isinstance(congestion, CallHungUp) and congestion.code == 34


def test_a_leg_dying_mid_call_hangs_the_other_leg_up(tmp_path):
    async def main():
        # A pings B every 0.3 s during calls, so a dead B is noticed quickly
        pair = await Pair(tmp_path, engine_a={"ping_interval": 0.3}).start()
        phone = await Phone().start()
        try:
            call, event = await _call(phone, pair.a_addrs[0], "6001", "from-internal")
            assert isinstance(event, CallAnswered)
            hung = phone.tr.expect(lambda e: isinstance(e, CallHungUp))
            pair.b.transport.filters.append(lambda *args: True)       # B goes silent
            t0 = phone.tr.now()
            return pair, await phone.tr.wait(hung, 8), phone.tr.now() - t0
        finally:
            phone.close()
            pair.close()

    pair, hung, elapsed = run(main())
    # PING at 0.3 s, resent at +0.1 s, given up 1.0 s later: cause 27 passed to the caller
    assert hung.code == 27
    assert 1.0 <= elapsed < 4.0
    out = next(r for r in pair.a.records if r.direction == "out")
    assert (out.outcome, out.code) == ("failed", 27)


def test_registration_with_a_wrong_secret_is_refused(tmp_path):
    d = _node_dir(tmp_path, "[default]\nexten => 1,1,Echo()\n",
                  "[6005]\ntype = friend\nhost = dynamic\nsecret = right\n")

    async def main():
        node = Node(d, seed=1, log=lambda m: None)
        (addr,) = await node.start([("127.0.0.1", 0)])
        phone = await Phone().start()
        try:
            fut = phone.tr.expect(lambda e: isinstance(e, RegistrationFailed))
            phone.tr.command("register", addr, "6005", "wrong")
            return await phone.tr.wait(fut, 5), node.endpoint.registered_peers
        finally:
            phone.close()
            node.close()

    failed, registered = run(main())
    # Asterisk's REGREJ for a failed MD5: "Registration Refused", AST_CAUSE_FACILITY_REJECTED
    assert (failed.cause, failed.code) == ("Registration Refused", 29)
    assert registered == {}


def test_node_command_reports_config_errors_with_file_and_line(tmp_path, capsys):
    d = _node_dir(tmp_path, "[default]\nexten => 1,1,Echo()\n", "[general]\nbogus = 1\n")
    code = cli.main(["node", "--conf", str(d), "--bind", "127.0.0.1:0", "--duration", "0.1"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"iaxsim: error: {d / 'iax.conf'}:2: unknown setting 'bogus'" in err
