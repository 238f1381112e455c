"""Registration both ways (chan_iax2.c; iaxmodem's libiax2 quirks; Asterisk 22's REFRESH clamp)."""
from __future__ import annotations

import hashlib
import struct

import pytest

from iaxsim.iax2 import IAXSubclass as S, IEType as T, decode
from iaxsim.iax2.engine import (Endpoint, EndpointConfig, PeerRegistered, PeerUnregistered,
                                Registered, RegistrationFailed)
from iaxsim.iax2.engine.wire import Wire

A = ("10.0.0.1", 4570)
B = ("10.0.0.2", 4569)


def setup(users=None, **cfg_b):
    a = Endpoint(EndpointConfig(), seed=31)
    b = Endpoint(EndpointConfig(users=users if users is not None else {"modem": "pw"}, **cfg_b),
                 seed=32)
    w = Wire(latency=0.01)
    w.attach(A, a)
    w.attach(B, b)
    return a, b, w


def of(events, cls):
    return [e for e in events if isinstance(e, cls)]


def test_register_with_token_and_md5():
    a, b, w = setup()
    rid = a.register(B, "modem", "pw", refresh=20, now=0.0)
    w.run(until=1.0)
    assert w.labels(A) == ["REGREQ", "REGREQ", "REGREQ", "ACK"]
    assert w.labels(B) == ["CALLTOKEN", "REGAUTH", "REGACK"]
    first, tokened, answer = (p.frame for p in w.sent(A)[:3])
    assert first.ie(T.USERNAME) == "modem" and first.ie(T.REFRESH) == 20
    assert first.ies[-1][0] == T.CALLTOKEN and tokened.ie(T.CALLTOKEN)
    regauth = w.sent(B)[1].frame
    assert regauth.ie(T.AUTHMETHODS) == 2 and regauth.ie(T.USERNAME) == "modem"
    expected = hashlib.md5((regauth.ie(T.CHALLENGE) + "pw").encode()).hexdigest()
    assert answer.ie(T.MD5_RESULT) == expected and answer.dest_call == regauth.source_call
    regack = w.sent(B)[2].frame
    assert regack.ie(T.REFRESH) == 60                      # clamped to minregexpire
    assert tuple(regack.ie(T.APPARENT_ADDR)) == A          # where the REGREQ came from
    assert regack.ie(T.DATETIME).year == 2000 and regack.ie(T.USERNAME) == "modem"
    assert w.events[A] == [Registered(rid, B, "modem", 60, A)]
    assert w.events[B] == [PeerRegistered("modem", A, 60)]
    assert b.registered_peers == {"modem": A} and b.peer_address("modem") == A
    assert a.active_dialogs == 0 and b.active_dialogs == 0


def test_refresh_every_five_sixths_keeps_the_peer_registered():
    a, b, w = setup()
    a.register(B, "modem", "pw", now=0.0)
    w.run(until=205.0)
    regacks = [p.sent for p in w.sent(B) if p.label == "REGACK"]
    assert [round(t) for t in regacks] == [0, 50, 100, 150, 200]
    assert not of(w.events[B], PeerUnregistered)
    # each refresh is a new call number; none is reused within the 60 s hold-off
    firsts = [p.frame.source_call for p in w.sent(A) if p.label == "REGREQ"][::3]
    assert len(firsts) == 5 and all(x != y for x, y in zip(firsts, firsts[1:]))


def test_peer_expires_at_refresh_plus_10s_and_client_reports_timeout():
    a, b, w = setup()
    a.register(B, "modem", "pw", now=0.0)
    w.run(until=1.0)
    w.add_filter(lambda p: "drop" if p.src == A else None)
    expired, failed = [], []
    w.handlers[B] = lambda e, now: expired.append((e, now)) if isinstance(e, PeerUnregistered) else None
    w.handlers[A] = lambda e, now: failed.append((e, now)) if isinstance(e, RegistrationFailed) else None
    w.run(until=90.0)
    (event, when), = expired
    assert event == PeerUnregistered("modem", A, "expired")
    assert when == pytest.approx(70.0, abs=0.05)
    # the refresh at 50 s goes unanswered: given up after 32 s
    refresh_sent = [p.sent for p in w.sent(A) if p.label == "REGREQ" and p.sent > 40][0]
    assert refresh_sent == pytest.approx(50.0, abs=0.1)
    assert failed[0][0].cause == "timeout" and failed[0][1] - refresh_sent == pytest.approx(32.0)
    assert b.registered_peers == {}


@pytest.mark.parametrize("user, secret", [("modem", "wrong"), ("nobody", "pw")])
def test_bad_credentials_get_regrej(user, secret):
    a, b, w = setup()
    rid = a.register(B, user, secret, now=0.0)
    w.run(until=1.0)
    rej = [p.frame for p in w.sent(B) if p.label == "REGREJ"][0]
    assert (rej.ie(T.CAUSE), rej.ie(T.CAUSECODE)) == ("Registration Refused", 29)
    assert of(w.events[A], RegistrationFailed) == [
        RegistrationFailed(rid, B, user, "Registration Refused", 29)]
    assert b.registered_peers == {} and b.stats.auth_failures == 1
    w.run(until=10.5)                       # retried after reg_retry (10 s)
    assert len([p for p in w.sent(A) if p.label == "REGREQ" and p.sent > 9]) >= 1


def test_unregister_sends_regrel_and_releases_the_peer():
    a, b, w = setup()
    rid = a.register(B, "modem", "pw", now=0.0)
    w.run(until=1.0)
    a.unregister(rid, now=w.now)
    w.run(until=200.0)
    assert "REGREL" in w.labels(A)
    assert of(w.events[B], PeerUnregistered) == [PeerUnregistered("modem", A, "released")]
    assert b.registered_peers == {}
    assert [p.label for p in w.sent(A) if p.sent > 2].count("REGREQ") == 0   # no refresh


def _raw(scall, dcall, ts, oseq, iseq, sub, ies):
    return struct.pack("!HHIBBBB", 0x8000 | scall, dcall, ts, oseq, iseq, 6, sub) + ies


def _ie(num, data):
    return bytes([num, len(data)]) + data


def test_iaxmodem_style_registration_without_calltoken_from_an_optional_network():
    """libiax2 (iaxmodem) sends REGREQ(USERNAME, REFRESH) with no CALLTOKEN IE and reuses
    the first REGREQ's timestamp for its MD5 answer."""
    b = Endpoint(EndpointConfig(users={"modem": "pw"}, calltoken_optional=["127.0.0.0/8"]),
                 seed=3)
    modem = ("127.0.0.1", 4570)
    b.receive_datagram(_raw(7, 0, 40, 0, 0, 13, _ie(6, b"modem") + _ie(19, b"\x00\x3c")),
                       modem, now=1.0)
    (data, dst), = b.datagrams_to_send(1.0)
    regauth = decode(data)
    assert dst == modem and regauth.subclass == S.REGAUTH and regauth.dest_call == 7
    assert regauth.iseqno == 1 and regauth.oseqno == 0
    md5 = hashlib.md5((regauth.ie(T.CHALLENGE) + "pw").encode()).hexdigest().encode()
    b.receive_datagram(_raw(7, regauth.source_call, 40, 1, 1, 13,
                            _ie(6, b"modem") + _ie(19, b"\x00\x3c") + _ie(16, md5)),
                       modem, now=1.1)
    (data, dst), = b.datagrams_to_send(1.1)
    regack = decode(data)
    assert regack.subclass == S.REGACK and regack.oseqno == 1 and regack.iseqno == 2
    # APPARENT_ADDR as Asterisk sends it: sockaddr_in, family little-endian, port big-endian
    raw_addr = [item for item in regack.ies if item[0] == T.APPARENT_ADDR][0][1]
    assert raw_addr[:8] == b"\x02\x00\x11\xda\x7f\x00\x00\x01"
    b.receive_datagram(_raw(7, regauth.source_call, regack.timestamp, 2, 2, 4, b""), modem, 1.2)
    assert b.registered_peers == {"modem": modem} and b.active_dialogs == 0
    # the same REGREQ from outside the optional network is refused statelessly
    b.receive_datagram(_raw(8, 0, 40, 0, 0, 13, _ie(6, b"modem")), ("10.1.1.1", 4570), now=2.0)
    (data, _), = b.datagrams_to_send(2.0)
    assert decode(data).subclass == S.REGREJ and decode(data).source_call == 1
