"""Link bandwidth measured from real encoded frames against the header arithmetic of RFC 5456
§8.1.2 (mini frames) and §8.1.3 (trunk meta frames)."""
from __future__ import annotations

import pytest

from iaxsim.errors import IaxsimError
from iaxsim.experiments.bandwidth import measure_link_kbps


@pytest.mark.parametrize("codec, kbps", [("ulaw", 76.8), ("gsm", 26.0), ("g729", 20.8)])
def test_untrunked_mini_frames_per_direction(codec: str, kbps: float) -> None:
    # (28 IP+UDP + 4 mini header + payload) bytes x 50 packets/s
    m = measure_link_kbps(codec, 3, trunk=False, seconds=0.4)
    assert m.packets == 3 * 20
    assert m.kbps_per_call == pytest.approx(kbps)


@pytest.mark.parametrize("codec, calls, kbps", [
    ("ulaw", 1, 80.0), ("gsm", 1, 29.2), ("g729", 1, 24.0),
    ("ulaw", 2, 72.8), ("gsm", 2, 22.0), ("g729", 2, 16.8),
    ("ulaw", 5, 68.48), ("gsm", 5, 17.68), ("g729", 5, 12.48),
])
def test_trunked_share_per_call(codec: str, calls: int, kbps: float) -> None:
    # packet = 28 + 8 meta header + n x (4 + payload), one per 20 ms
    m = measure_link_kbps(codec, calls, trunk=True, seconds=0.4)
    assert m.packets == 20
    assert m.kbps_per_call == pytest.approx(kbps)


def test_trunk_mtu_splits_eight_ulaw_calls_into_two_packets() -> None:
    # 8 entries of 164 B exceed trunkmtu 1240: 2 packets per 20 ms →
    # (2 x 36 + 8 x 164) B x 50/s x 8 / 8 calls = 69.2 kbit/s per call
    m = measure_link_kbps("ulaw", 8, trunk=True, seconds=0.4)
    assert m.packets == 2 * 20
    assert m.kbps_per_call == pytest.approx(69.2)
    # without the MTU limit ten calls share one packet: (36 + 10 x 164) x 0.4 / 10 = 67.04
    big = measure_link_kbps("ulaw", 10, trunk=True, seconds=0.4, mtu=128000)
    assert big.packets == 20
    assert big.kbps_per_call == pytest.approx(67.04)


def test_ethernet_adds_eighteen_bytes_per_datagram() -> None:
    # μ-law untrunked: (28 + 4 + 160 + 18 Ethernet header and FCS) B x 50/s x 8 = 84.0 kbit/s,
    # + 20 B preamble and gap on the wire: 230 B x 50 x 8 = 92.0 kbit/s
    m = measure_link_kbps("ulaw", 2, trunk=False, seconds=0.4)
    assert m.kbps_per_call_at("ip") == pytest.approx(76.8)
    assert m.kbps_per_call_at("ethernet") == pytest.approx(84.0)
    assert m.kbps_per_call_at("wire") == pytest.approx(92.0)
    # five μ-law calls trunked: one packet per 20 ms, (36 + 5 x 164 + 18) B x 50 x 8 / 5 = 69.92
    t = measure_link_kbps("ulaw", 5, trunk=True, seconds=0.4)
    assert t.kbps_per_call_at("ethernet") == pytest.approx(69.92)


def test_bad_arguments_are_named() -> None:
    with pytest.raises(IaxsimError, match="calls must be a positive integer"):
        measure_link_kbps("ulaw", 0)
    with pytest.raises(IaxsimError, match="seconds must be positive"):
        measure_link_kbps("ulaw", 1, seconds=0)
    with pytest.raises(IaxsimError, match="unknown codec"):
        measure_link_kbps("opus", 1)
