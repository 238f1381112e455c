"""Unit rules of the engine, each against a hand-derived or external expectation."""
from __future__ import annotations

import random

import pytest

from iaxsim.errors import ConfigError
from iaxsim.iax2.engine import EndpointConfig, unwrap_timestamp
from iaxsim.iax2.engine.auth import md5_matches, md5_response, new_challenge
from iaxsim.iax2.engine.callnumbers import CallNumberPool
from iaxsim.iax2.engine.reliability import acked_by, classify, first_rto, next_rto
from iaxsim.iax2.engine.tokens import CallTokens

# ---- MD5 (RFC 5456 §8.6.16, chan_iax2.c: lowercase hex of MD5(challenge || secret))
# Expected digest from coreutils: printf '%s' 1234567890secret | md5sum


def test_md5_response_known_answer():
    assert md5_response("1234567890", "secret") == "e9b7ae6c91f6694cfc36d893733b1f7c"


def test_md5_matches_accepts_any_of_semicolon_separated_secrets_and_uppercase():
    digest = "e9b7ae6c91f6694cfc36d893733b1f7c"
    assert md5_matches("1234567890", "other;secret", digest)
    assert md5_matches("1234567890", "secret", digest.upper())
    assert not md5_matches("1234567890", "Secret", digest)
    assert not md5_matches("1234567890", "secret", None)


def test_challenge_is_decimal_31_bit_and_seeded():
    a = [new_challenge(random.Random(7)) for _ in range(2)]
    assert a[0] == a[1]
    assert a[0].isdigit() and 0 <= int(a[0]) < 2**31


# ---- call tokens (chan_iax2.c: "<time>?<40 hex>", whole-second lifetime 10 s)

def test_token_shape_and_address_binding():
    t = CallTokens(random.Random(1), lifetime=10)
    tok = t.issue(("10.0.0.1", 4569), 1_000_000.25)
    stamp, _, digest = tok.decode().partition("?")
    assert stamp == "1000000" and len(digest) == 40 and int(digest, 16) >= 0
    assert t.valid(tok, ("10.0.0.1", 4569), 1_000_000.5)
    assert not t.valid(tok, ("10.0.0.1", 4570), 1_000_000.5)   # other port
    assert not t.valid(tok, ("10.0.0.2", 4569), 1_000_000.5)   # other host


@pytest.mark.parametrize("issued, checked, ok", [
    (100.9, 109.9, True),    # 9 whole seconds: accepted
    (100.0, 109.99, True),   # just under 10 s
    (100.9, 110.4, False),   # whole-second age 10 although only 9.5 s passed
    (100.0, 110.5, False),   # 10.5 s: Asterisk 22 rejects it on the wire
    (100.0, 99.0, False),    # from the future
])
def test_token_lifetime_whole_seconds(issued, checked, ok):
    t = CallTokens(random.Random(2), lifetime=10)
    addr = ("192.0.2.1", 4569)
    assert t.valid(t.issue(addr, issued), addr, checked) is ok


@pytest.mark.parametrize("bad", [b"", b"abc", b"100?", b"100?" + b"0" * 40, b"x?y", b"\xff\xfe"])
def test_token_garbage_is_invalid(bad):
    t = CallTokens(random.Random(3))
    assert not t.valid(bad, ("192.0.2.1", 1), 100.0)


def test_tokens_of_another_endpoint_are_invalid():
    mine, theirs = CallTokens(random.Random(4)), CallTokens(random.Random(5))
    addr = ("192.0.2.1", 4569)
    assert not mine.valid(theirs.issue(addr, 50.0), addr, 51.0)


# ---- call numbers

def test_pool_hands_out_each_number_once_and_holds_released_ones_off():
    pool = CallNumberPool(2, 5, random.Random(0), hold_off=60.0)
    got = [pool.allocate(0.0) for _ in range(4)]
    assert sorted(got) == [2, 3, 4, 5]
    assert pool.allocate(0.0) is None
    pool.release(got[0], now=10.0)
    assert pool.allocate(69.9) is None          # still held off
    assert pool.allocate(70.0) == got[0]        # 60 s after release


def test_pool_order_is_seeded():
    a = [CallNumberPool(2, 100, random.Random(9)).allocate(0) for _ in range(2)]
    assert a[0] == a[1]


# ---- retransmission timers (chan_iax2.c iax2_send, MIN/MAX_RETRY_TIME)

@pytest.mark.parametrize("pingtime, rto", [(1.0, 2.0), (0.02, 0.1), (0.25, 0.5), (6.0, 10.0)])
def test_first_rto_is_twice_ping_time_clamped(pingtime, rto):
    assert first_rto(pingtime, 0.1, 10.0) == pytest.approx(rto)


def test_rto_grows_tenfold_and_caps():
    assert next_rto(0.1, 10, 10.0) == pytest.approx(1.0)
    assert next_rto(2.0, 10, 10.0) == 10.0
    assert next_rto(10.0, 10, 10.0) == 10.0


@pytest.mark.parametrize("expected, got, verdict", [
    (5, 5, "ok"), (5, 4, "duplicate"), (5, 6, "ahead"), (0, 255, "duplicate"),
    (255, 0, "ahead"), (200, 73, "duplicate"), (200, 72, "ahead"),
])
def test_sequence_classification(expected, got, verdict):
    # behind by 1..127 (mod 256) is a duplicate; anything else is ahead
    assert classify(expected, got) == verdict


@pytest.mark.parametrize("iseqno, rseqno, oseqno, n", [
    (3, 1, 4, 2), (4, 1, 4, 3), (5, 1, 4, 0), (1, 1, 4, 0), (1, 254, 2, 3), (0, 0, 0, 0),
])
def test_implicit_ack_window(iseqno, rseqno, oseqno, n):
    assert acked_by(iseqno, rseqno, oseqno) == n


# ---- mini-frame timestamp reconstruction (16 low bits + last full timestamp)

@pytest.mark.parametrize("last, ts16, full", [
    (1000, 1020, 1020),
    (0x1FFF0, 0x0010, 0x20010),     # wrapped forward past 0x20000
    (0x20010, 0xFFF0, 0x1FFF0),     # a late frame from before the wrap
    (100, 0xFFF0, 0xFFF0),          # nothing before 0: stays in the first 64 s
])
def test_unwrap_timestamp(last, ts16, full):
    assert unwrap_timestamp(last, ts16) == full


# ---- configuration errors

@pytest.mark.parametrize("kwargs, words", [
    ({"calltoken_optional": ["not-a-net"]}, "calltoken_optional"),
    ({"max_calls": 2}, "max_calls"),
    ({"max_sends": 0}, "max_sends"),
    ({"min_retry": 0}, "min_retry"),
    ({"min_reg_expire": 90, "max_reg_expire": 60}, "min_reg_expire"),
    ({"formats": 4, "preferred_format": 8}, "preferred_format"),
])
def test_bad_config_raises_config_error(kwargs, words):
    with pytest.raises(ConfigError, match=words):
        EndpointConfig(**kwargs)


def test_calltoken_optional_networks():
    cfg = EndpointConfig(calltoken_optional=["127.0.0.0/8", "2001:db8::/32"])
    assert cfg.token_optional_for("127.0.0.2")
    assert cfg.token_optional_for("2001:db8::1")
    assert not cfg.token_optional_for("10.0.0.1")
    assert EndpointConfig(calltoken_required=False).token_optional_for("10.0.0.1")


def test_package_docstring_example_runs():
    import doctest

    import iaxsim.iax2.engine as engine
    result = doctest.testmod(engine)
    assert result.attempted >= 3 and result.failed == 0
