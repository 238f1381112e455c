"""Theory module against the reference tables (Erlang B §4.2, bandwidth §4.1) and hand derivations."""
from __future__ import annotations

import pytest

from iaxsim import theory as th

# Reference §4.2: channels needed for a given offered load at a given grade of service.
ERLANG_B_TABLE = [
    # E, @0.1%, @1%, @2%, @5%
    (1, 6, 5, 4, 4),
    (2, 8, 7, 6, 5),
    (5, 14, 11, 10, 9),
    (10, 21, 18, 17, 15),
    (20, 35, 30, 28, 26),
    (50, 71, 64, 61, 56),
    (100, 128, 117, 113, 105),
]


@pytest.mark.parametrize("row", ERLANG_B_TABLE, ids=lambda r: f"{r[0]}E")
def test_channels_for_matches_reference_table(row):
    erl, *needed = row
    for gos, n in zip((0.001, 0.01, 0.02, 0.05), needed):
        assert th.channels_for(erl, gos) == n
        assert th.erlang_b(erl, n) <= gos < th.erlang_b(erl, n - 1)


def test_erlang_b_quoted_values():
    assert th.erlang_b(10, 18) == pytest.approx(0.00714, abs=5e-6)
    assert th.erlang_b(10, 17) == pytest.approx(0.01295, abs=5e-6)


def test_erlang_b_small_cases_by_hand():
    # B(E,1) = E/(1+E); B(1,2) = (1/2)/(1+1+1/2) = 0.2
    assert th.erlang_b(3, 1) == pytest.approx(0.75)
    assert th.erlang_b(1, 2) == pytest.approx(0.2)
    assert th.erlang_b(5, 0) == 1.0
    assert th.erlang_b(0, 4) == 0.0


def test_erlang_c_by_hand():
    # A=1, N=2: C = (A^2/2 · 2/(2-1)) / (1 + 1 + 1) = 1/3
    assert th.erlang_c(1, 2) == pytest.approx(1 / 3)
    # A=0.5, N=1 (M/M/1): P(wait) = rho = 0.5
    assert th.erlang_c(0.5, 1) == pytest.approx(0.5)
    assert th.erlang_c(3, 3) == 1.0


def test_loads():
    assert th.offered_load(360, 120) == pytest.approx(12.0)
    # carried = E(1-B): 1 E on 1 channel carries 0.5 E
    assert th.carried_load(1, 1) == pytest.approx(0.5)


@pytest.mark.parametrize("bad", [(-1, 3), (float("nan"), 3), (1, -2), (1, 2.5)])
def test_erlang_rejects_bad_arguments(bad):
    with pytest.raises(th.TheoryError):
        th.erlang_b(*bad)


def test_channels_for_rejects_bad_target():
    with pytest.raises(th.TheoryError, match="blocking"):
        th.channels_for(10, 1.5)


# Reference §4.1, one direction, 20 ms.
@pytest.mark.parametrize("name,ip,eth18,eth38,rtp", [
    ("ulaw", 76.8, 84.0, 92.0, 80.0),
    ("alaw", 76.8, 84.0, 92.0, 80.0),
    ("gsm", 26.0, 33.2, 41.2, 29.2),
    ("g729", 20.8, 28.0, 36.0, 24.0),
])
def test_untrunked_bandwidth_table(name, ip, eth18, eth38, rtp):
    assert th.iax2_call_kbps(name) == pytest.approx(ip)
    assert th.iax2_call_kbps(name, "ethernet") == pytest.approx(eth18)
    assert th.iax2_call_kbps(name, "wire") == pytest.approx(eth38)
    assert th.rtp_call_kbps(name) == pytest.approx(rtp)


@pytest.mark.parametrize("n,ulaw,gsm,g729", [
    (1, 80.0, 29.2, 24.0),
    (2, 72.8, 22.0, 16.8),
    (5, 68.5, 17.7, 12.5),
    (10, 67.0, 16.2, 11.0),
    (20, 66.3, 15.5, 10.3),
])
def test_trunked_bandwidth_table_without_mtu(n, ulaw, gsm, g729):
    for name, want in (("ulaw", ulaw), ("gsm", gsm), ("g729", g729)):
        assert th.trunk_call_kbps(name, n, mtu=None) == pytest.approx(want, abs=0.05)


def test_trunk_timestamps_add_0_8_kbps_per_call():
    for n in (1, 3, 7):
        diff = th.trunk_call_kbps("gsm", n, mtu=None, timestamps=True) - th.trunk_call_kbps("gsm", n, mtu=None)
        assert diff == pytest.approx(0.8)


def test_trunk_mtu_splits_ulaw_from_eight_calls():
    # ulaw entry = 164 B; 7 entries + one more = 1312 B ≥ 1240 → flush after 7 entries.
    assert th.trunk_calls_per_packet("ulaw") == 7
    assert th.trunk_packets("ulaw", 7) == 1
    assert th.trunk_packets("ulaw", 8) == 2
    assert th.trunk_packets("ulaw", 15) == 3
    # 10 calls: 2 packets × 36 B + 10 × 164 B = 1712 B per 20 ms → 68.48 kbps total/10
    assert th.trunk_call_kbps("ulaw", 10) == pytest.approx(1712 * 8 * 50 / 1000 / 10)
    # g729 entries are 24 B: 51 entries + 24 = 1248 ≥ 1240 → 51 per packet
    assert th.trunk_calls_per_packet("g729") == 51


def test_asymptote_is_codec_rate_plus_1_6_kbps():
    # codec rate for ulaw = 64 kbps; + 4 B × 50 pps × 8 = 1.6 kbps
    assert th.trunk_call_kbps("ulaw", 10_000, mtu=None) == pytest.approx(65.6, abs=0.01)


def test_call_bytes_counts_frames_and_bytes():
    frames, nbytes = th.call_bytes("ulaw", 60.0)
    assert frames == 3000
    assert nbytes == 3000 * 192


def test_call_rates_then_bytes_over_a_duration():
    # ulaw untrunked: 50 frames/s of 28 + 4 + 160 = 192 B → 76.8 kbit/s one way
    rates = th.call_rates("ulaw")
    assert rates == (50, pytest.approx(76.8))
    assert th.bytes_over(rates, 60.0) == (3000, 3000 * 192)
    # trunked beside 9 other calls: the call's share of 2 packets × 36 B + 10 × 164 B per 20 ms
    pps, kbps = th.call_rates("ulaw", trunk_calls=10)
    assert pps == 50 and kbps == pytest.approx(1712 * 8 * 50 / 1000 / 10)
    assert th.bytes_over((pps, kbps), 1.0) == (50, round(1712 * 50 / 10))
    with pytest.raises(th.TheoryError, match="duration"):
        th.bytes_over(rates, -1.0)


def test_unknown_codec_and_layer_are_named():
    with pytest.raises(th.TheoryError, match="opus"):
        th.iax2_call_kbps("opus")
    with pytest.raises(th.TheoryError, match="fibre"):
        th.iax2_call_kbps("ulaw", "fibre")


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(deadline=None, max_examples=60)
@given(st.floats(0.01, 200), st.integers(1, 200))
def test_erlang_b_properties(erl, n):
    b = th.erlang_b(erl, n)
    assert 0 <= b < 1
    if b > 1e-12:  # below that the comparisons are lost in floating-point rounding
        assert th.erlang_b(erl, n + 1) < b            # more channels, less blocking
        assert th.erlang_b(erl * 1.1, n) > b          # more traffic, more blocking
    assert th.carried_load(erl, n) <= min(erl, n)     # never more than offered, nor than N
    if erl < n:
        assert b <= th.erlang_c(erl, n) <= 1      # waiting is at least as likely as loss


@settings(deadline=None, max_examples=40)
@given(st.sampled_from(["ulaw", "gsm", "g729", "alaw"]), st.integers(1, 300))
def test_trunk_share_falls_with_calls_and_stays_above_payload(codec, n):
    share = th.trunk_call_kbps(codec, n, mtu=None)
    assert th.trunk_call_kbps(codec, n + 1, mtu=None) < share
    payload_kbps = th.codec(codec).payload_bytes * 8 * 50 / 1000
    assert share > payload_kbps + 1.6  # each call still pays its 4-byte entry header
    # the MTU only ever adds packets, never removes bytes
    assert th.trunk_call_kbps(codec, n) >= share


# two-sided 95 % Student-t quantiles (97.5 % points) from published t tables
@pytest.mark.parametrize("df, quantile", [(1, 12.7062047), (2, 4.3026527), (5, 2.5705818),
                                          (10, 2.2281389), (30, 2.0422725), (120, 1.9799304)])
def test_t975_matches_published_t_tables(df, quantile):
    assert th.t975(df) == pytest.approx(quantile, abs=1e-6)


def test_t975_refuses_no_degrees_of_freedom_and_tends_to_the_normal_quantile():
    with pytest.raises(ValueError):
        th.t975(0)
    assert th.t975(10**7) == pytest.approx(1.9599640, abs=1e-6)


def test_mean_ci_by_hand():
    mean, low, high = th.mean_ci([1.0, 2.0, 3.0, float("nan")])  # sd 1, n 3
    half = 4.3026527 / 3 ** 0.5
    assert (mean, low, high) == pytest.approx((2.0, 2.0 - half, 2.0 + half), abs=1e-6)
