"""Media formats and G.711: values from the project reference (Asterisk format bits) and
hand-evaluated ITU-T G.711 segment coding."""
from __future__ import annotations

import numpy as np
import pytest

from iaxsim.iax2 import (EncodeError, MediaFormat, alaw_decode, alaw_encode, format_name,
                         payload_bytes, ulaw_decode, ulaw_encode)


def test_format_bits():
    assert (MediaFormat.G723_1, MediaFormat.GSM, MediaFormat.ULAW, MediaFormat.ALAW) == (1, 2, 4, 8)
    assert MediaFormat.G729 == 0x100 and MediaFormat.G722 == 0x1000 and MediaFormat.SLINEAR16 == 0x8000
    assert MediaFormat.H264 == 0x200000 and MediaFormat.T140 == 0x8000000
    assert MediaFormat.OPUS == 1 << 34 and MediaFormat.G719 == 1 << 32
    assert format_name(MediaFormat.ULAW | MediaFormat.G729) == "ULAW|G729"
    assert format_name(1 << 40) == hex(1 << 40)


@pytest.mark.parametrize("fmt,ms,size", [
    (MediaFormat.ULAW, 20, 160), (MediaFormat.ALAW, 20, 160), (MediaFormat.GSM, 20, 33),
    (MediaFormat.G729, 20, 20), (MediaFormat.G729, 30, 30), (MediaFormat.SLINEAR, 20, 320),
    (MediaFormat.G723_1, 30, 24), (MediaFormat.ULAW, 30, 240),
])
def test_payload_bytes(fmt, ms, size):
    assert payload_bytes(fmt, ms) == size


def test_payload_bytes_errors():
    with pytest.raises(ValueError):
        payload_bytes(MediaFormat.GSM, 30)      # GSM frames are 20 ms
    with pytest.raises(ValueError):
        payload_bytes(MediaFormat.SPEEX, 20)    # variable bit rate


@pytest.mark.parametrize("code,sample", [
    (0xFF, 0), (0x7F, 0), (0x80, 32124), (0x00, -32124), (0xEF, 132), (0x6F, -132),
])
def test_ulaw_decode_known(code, sample):
    assert int(ulaw_decode(bytes([code]))[0]) == sample


@pytest.mark.parametrize("code,sample", [
    (0xD5, 8), (0x55, -8), (0xAA, 32256), (0x2A, -32256),
])
def test_alaw_decode_known(code, sample):
    assert int(alaw_decode(bytes([code]))[0]) == sample


def test_encode_known():
    assert ulaw_encode(np.array([0, 132, 32767, -32768], np.int16)) == bytes([0xFF, 0xEF, 0x80, 0x00])
    assert alaw_encode(np.array([0, -1, 32767, -32768], np.int16)) == bytes([0xD5, 0x55, 0xAA, 0x2A])


def test_g711_decode_encode_is_identity_on_codes():
    codes = np.arange(256, dtype=np.uint8)
    # every μ-law code except the negative zero (0x7F decodes to 0 = code 0xFF) survives
    back = np.frombuffer(ulaw_encode(ulaw_decode(codes)), np.uint8)
    assert np.array_equal(ulaw_decode(back), ulaw_decode(codes))
    assert np.array_equal(back[codes != 0x7F], codes[codes != 0x7F])
    back_a = np.frombuffer(alaw_encode(alaw_decode(codes)), np.uint8)
    assert np.array_equal(back_a, codes)


def test_g711_monotonic_and_bad_input():
    lin = np.arange(-32768, 32768, 64, dtype=np.int16)
    u = ulaw_decode(ulaw_encode(lin))
    a = alaw_decode(alaw_encode(lin))
    assert np.all(np.diff(u.astype(int)) >= 0) and np.all(np.diff(a.astype(int)) >= 0)
    assert np.max(np.abs(u.astype(int) - lin)) < 1100 and np.max(np.abs(a.astype(int) - lin)) < 1100
    with pytest.raises(EncodeError):
        ulaw_encode(np.array([40000]))
    with pytest.raises(TypeError):
        ulaw_encode(np.array([0.5]))
