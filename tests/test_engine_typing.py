"""What the engine promises at its boundary about the values it is given.

Whatever a caller passes, the engine answers with its own errors, never a bare TypeError: a
datagram of any type is counted, never raised; an unknown call id of any type is an
EngineError; a value that cannot go on the wire is an EncodeError naming the IE; bytes-like
payloads are taken like bytes. Expected bytes are derived by hand from RFC 5456 §8.1 (full
frame header) and §8.6 (IEs), and the apathetic CALLTOKEN reply from chan_iax2.c's
send_apathetic_reply (source call 1, timestamp echoed, oseqno 0, iseqno = received + 1).
"""
from __future__ import annotations

import pytest

from iaxsim.errors import ConfigError, IaxsimError
from iaxsim.iax2 import EncodeError, IAXSubclass, decode
from iaxsim.iax2.engine import (CallAnswered, Endpoint, EndpointConfig, EngineError,
                                IncomingCall, VoiceReceived)
from iaxsim.iax2.engine.dialog import State
from iaxsim.iax2.engine.wire import Wire

A = ("10.0.0.1", 4569)
B = ("10.0.0.2", 4569)

# NEW from call 5, ts 3, oseqno 0, iseqno 0: VERSION 2 (IE 0x0b), empty CALLTOKEN (IE 0x36)
NEW_ASKING_TOKEN = bytes.fromhex("8005" "0000" "00000003" "00" "00" "06" "01" "0b020002" "3600")
# the apathetic reply's header: F|1, dest 5, ts 3 echoed, oseqno 0, iseqno 1, IAX, CALLTOKEN
# (0x28), then the CALLTOKEN IE (0x36) carrying the token
CALLTOKEN_REPLY_HEAD = bytes.fromhex("8001" "0005" "00000003" "00" "01" "06" "28" "36")


@pytest.mark.parametrize("data", ["abc", None, 5, 3.5, ["\x80"]])
def test_a_datagram_of_any_type_is_counted_as_garbage_never_raised(data):
    ep = Endpoint(EndpointConfig(), seed=1)
    ep.receive_datagram(data, B, 0.0)
    assert (ep.stats.datagrams_received, ep.stats.garbage) == (1, 1)
    assert ep.datagrams_to_send(0.0) == []


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_bytes_like_datagrams_are_processed_like_bytes(wrap):
    ep = Endpoint(EndpointConfig(), seed=1)
    ep.receive_datagram(wrap(NEW_ASKING_TOKEN), B, 0.0)
    assert ep.stats.garbage == 0 and ep.stats.tokens_issued == 1
    [(data, addr)] = ep.datagrams_to_send(0.0)
    assert addr == B and data.startswith(CALLTOKEN_REPLY_HEAD)
    assert data[13] == len(data) - 14   # IE length byte: the rest of the datagram


def test_an_address_given_as_a_list_is_taken_as_a_tuple():
    ep = Endpoint(EndpointConfig(), seed=1)
    ep.receive_datagram(NEW_ASKING_TOKEN, ["10.0.0.2", 4569], 0.0)
    [(data, addr)] = ep.datagrams_to_send(0.0)
    assert addr == B and type(addr) is tuple and data.startswith(CALLTOKEN_REPLY_HEAD)


@pytest.mark.parametrize("call_id", ["7", None, 7.0, (7,)])
def test_an_unknown_call_id_of_any_type_is_an_engine_error(call_id):
    ep = Endpoint(EndpointConfig(), seed=1)
    for command in (ep.accept, ep.ring, ep.answer, ep.reject, ep.busy, ep.congestion,
                    ep.hangup, ep.ping, ep.lagrq, ep.unregister):
        with pytest.raises(EngineError):
            command(call_id, now=0.0)
    with pytest.raises(EngineError):
        ep.send_voice(call_id, b"\xff" * 160, now=0.0)
    with pytest.raises(EngineError):
        ep.send_dtmf(call_id, "1", now=0.0)
    assert ep.call_state(call_id) is None and ep.call_info(call_id) is None


@pytest.mark.parametrize("digit", [5, None, "12", "x", b"1"])
def test_a_bad_dtmf_digit_is_an_engine_error(digit):
    ep = Endpoint(EndpointConfig(), seed=1)
    with pytest.raises(EngineError, match="DTMF digit"):
        ep.send_dtmf(2, digit, now=0.0)


@pytest.mark.parametrize("kwargs, ie", [
    ({"number": 6000}, "CALLED_NUMBER"),
    ({"number": "6000", "context": 1}, "CALLED_CONTEXT"),
    ({"number": "6000", "username": 42}, "USERNAME"),
    ({"number": "6000", "calling_name": ["x"]}, "CALLING_NAME"),
])
def test_a_value_that_cannot_be_sent_is_an_encode_error_naming_the_ie(kwargs, ie):
    ep = Endpoint(EndpointConfig(), seed=1)
    with pytest.raises(EncodeError, match=ie) as err:
        ep.place_call(B, now=0.0, **kwargs)
    assert isinstance(err.value, IaxsimError)
    # refused before anything was allocated or sent
    assert ep.active_dialogs == 0 and ep.datagrams_to_send(0.0) == []
    with pytest.raises(EncodeError, match="USERNAME"):
        ep.register(B, 7, now=0.0)


def _answered_call():
    a = Endpoint(EndpointConfig(calltoken_required=False), seed=1)
    b = Endpoint(EndpointConfig(calltoken_required=False), seed=2)
    w = Wire()
    w.attach(A, a)

    def answer(e, now):
        if isinstance(e, IncomingCall):
            b.answer(e.call_id, now=now)
    w.attach(B, b, answer)
    cid = a.place_call(B, "6000", now=0.0)
    w.run(until=1.0)
    assert any(isinstance(e, CallAnswered) for e in w.events[A])
    return a, b, w, cid


def test_a_bad_hangup_code_is_an_encode_error_and_the_call_stays_up():
    a, b, w, cid = _answered_call()
    with pytest.raises(EncodeError, match="CAUSECODE"):
        a.hangup(cid, code="normal", now=1.0)
    assert a.call_state(cid) == "up" and a.call_info(cid).state is State.UP


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_bytes_like_voice_payloads_are_sent_like_bytes(wrap):
    a, b, w, cid = _answered_call()
    a.send_voice(cid, wrap(b"\xd5" * 160), now=1.0)
    w.run(until=2.0)
    [voice] = [e for e in w.events[B] if isinstance(e, VoiceReceived)]
    assert voice.payload == b"\xd5" * 160 and type(voice.payload) is bytes
    sent = [p.frame for p in w.sent(A) if p.frame_is(4, frametype=2)]  # VOICE, ULAW (0x04)
    assert len(sent) == 1 and sent[0].payload == b"\xd5" * 160


def test_a_str_seed_is_taken_like_an_int_one():
    firsts = [Endpoint(EndpointConfig(), seed=s).place_call(B, "6000", now=0.0)
              for s in ("pbx-a", "pbx-a", b"pbx-a", 1.5, 1.5)]
    assert firsts[0] == firsts[1] and firsts[3] == firsts[4]
    assert all(2 <= n < 16384 for n in firsts)


def test_replies_keep_the_enum_members_they_are_built_with():
    ep = Endpoint(EndpointConfig(), seed=1)
    ep.receive_datagram(NEW_ASKING_TOKEN, B, 0.0)
    [(data, _)] = ep.datagrams_to_send(0.0)
    assert decode(data).subclass is IAXSubclass.CALLTOKEN
    cid = ep.place_call(B, "6000", now=0.0)
    d = ep.call_info(cid)
    assert d.state is State.WAIT_REPLY
    [p] = d.pending.values()
    assert p.frame.subclass is IAXSubclass.NEW and type(p.frame.subclass) is IAXSubclass


def test_a_fractional_token_lifetime_is_taken_by_the_tokens_themselves():
    # ages are whole seconds (chan_iax2.c), so 2.5 s accepts a token 2 s old, not one 3 s old
    import random

    from iaxsim.iax2.engine.tokens import CallTokens
    t = CallTokens(random.Random(1), lifetime=2.5)
    token = t.issue(B, 100.0)
    assert t.valid(token, B, 102.9) and not t.valid(token, B, 103.0)


@pytest.mark.parametrize("name, value, wanted", [
    ("token_lifetime", 2.5, "an integer"),      # calltokenexpiration: whole seconds
    ("max_sends", "4", "an integer"),
    ("trunk_mtu", True, "an integer"),
    ("allow_guest", 1, "True or False"),
    ("auto_answer", "yes", "True or False"),
    ("min_retry", "0.1", "a number"),
    ("ping_interval", "21", "a number or None"),
    ("default_context", 5, "a string"),
])
def test_a_setting_of_the_wrong_type_is_a_config_error_naming_it(name, value, wanted):
    with pytest.raises(ConfigError, match=f"{name} must be {wanted}, got {value!r}"):
        EndpointConfig(**{name: value})


class _Index:
    """An integer that is not an int (like numpy's): taken through ``__index__``."""

    def __init__(self, n):
        self.n = n

    def __index__(self):
        return self.n


def test_settings_of_other_number_types_are_taken():
    cfg = EndpointConfig(max_sends=_Index(2), trunk_mtu=_Index(600), min_retry=1, ping_interval=30)
    assert (cfg.max_sends, cfg.trunk_mtu) == (2, 600) and type(cfg.max_sends) is int
    ep = Endpoint(cfg, seed=1)
    ep.place_call(B, "6000", now=0.0)
    ep.datagrams_to_send(0.0)
    # first retransmission at 2 x the initial 1 s ping time; with max_sends 2 it gives up at the
    # second deadline: 2 s, then x10 capped at 10 s (RFC 5456 §7 as Asterisk times it)
    assert ep.get_timer() == 2.0
    ep.handle_timer(2.0)
    assert len(ep.datagrams_to_send(2.0)) == 1 and ep.get_timer() == 12.0
    ep.handle_timer(12.0)
    assert ep.active_dialogs == 0 and ep.stats.gave_up == 1
