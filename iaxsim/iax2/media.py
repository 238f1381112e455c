"""Media formats (the CAPABILITY/FORMAT bit mask), payload sizes, and G.711 sample conversion.

``MediaFormat`` is the Asterisk ``format_compatibility.h`` bit set, whose low bits match
RFC 5456 §8.7. ``payload_bytes`` gives the voice payload size for a packetisation time, and
``ulaw_decode``/``ulaw_encode``/``alaw_decode``/``alaw_encode`` convert between G.711 bytes and
16-bit linear samples with numpy lookup tables (ITU-T G.711 segment coding).
"""
from __future__ import annotations

import enum
from typing import NamedTuple

import numpy as np

from iaxsim.iax2.constants import EncodeError


class MediaFormat(enum.IntFlag, boundary=enum.KEEP):
    """Media format bits; a value may combine several (a CAPABILITY) or be one (a FORMAT)."""

    G723_1 = 1 << 0
    GSM = 1 << 1
    ULAW = 1 << 2
    ALAW = 1 << 3
    G726_AAL2 = 1 << 4
    ADPCM = 1 << 5
    SLINEAR = 1 << 6
    LPC10 = 1 << 7
    G729 = 1 << 8
    SPEEX = 1 << 9
    ILBC = 1 << 10
    G726 = 1 << 11
    G722 = 1 << 12
    SIREN7 = 1 << 13
    SIREN14 = 1 << 14
    SLINEAR16 = 1 << 15
    JPEG = 1 << 16
    PNG = 1 << 17
    H261 = 1 << 18
    H263 = 1 << 19
    H263P = 1 << 20
    H264 = 1 << 21
    MP4_VIDEO = 1 << 22
    VP8 = 1 << 23
    T140_RED = 1 << 26
    T140 = 1 << 27
    G719 = 1 << 32
    SPEEX16 = 1 << 33
    OPUS = 1 << 34


#: Every audio format bit (Asterisk's AST_FORMAT_AUDIO_MASK low part plus the 64-bit ones).
AUDIO_MASK = MediaFormat(0xFFFF | (1 << 32) | (1 << 33) | (1 << 34))
#: Video format bits.
VIDEO_MASK = MediaFormat((1 << 18) | (1 << 19) | (1 << 20) | (1 << 21) | (1 << 22) | (1 << 23))


class FrameSize(NamedTuple):
    """A constant-bit-rate codec's frame: ``nbytes`` of payload per ``ms`` milliseconds."""

    nbytes: int
    ms: int


#: Constant-bit-rate audio codecs: payload bytes per codec frame (bit rate × frame time / 8).
FRAME_SIZES: dict[MediaFormat, FrameSize] = {
    MediaFormat.ULAW: FrameSize(8, 1),         # 64 kbit/s
    MediaFormat.ALAW: FrameSize(8, 1),         # 64 kbit/s
    MediaFormat.SLINEAR: FrameSize(16, 1),     # 8 kHz × 16 bit
    MediaFormat.SLINEAR16: FrameSize(32, 1),   # 16 kHz × 16 bit
    MediaFormat.G722: FrameSize(8, 1),         # 64 kbit/s
    MediaFormat.G726: FrameSize(4, 1),         # 32 kbit/s
    MediaFormat.G726_AAL2: FrameSize(4, 1),    # 32 kbit/s
    MediaFormat.ADPCM: FrameSize(4, 1),        # 4 bit × 8 kHz
    MediaFormat.GSM: FrameSize(33, 20),        # GSM 06.10 full rate, 13.2 kbit/s
    MediaFormat.G729: FrameSize(10, 10),       # 8 kbit/s
    MediaFormat.G723_1: FrameSize(24, 30),     # 6.3 kbit/s
}


def payload_bytes(fmt: MediaFormat | int, ms: int = 20) -> int:
    """Voice payload size in bytes for ``ms`` milliseconds of ``fmt`` (one format bit).

    Raises ``ValueError`` for formats without a constant frame size or when ``ms`` is not a
    whole number of codec frames.
    """
    fmt = MediaFormat(fmt)
    size = FRAME_SIZES.get(fmt)
    if size is None:
        raise ValueError(f"no constant payload size known for media format {fmt!r}")
    if ms <= 0 or ms % size.ms:
        raise ValueError(f"{ms} ms is not a whole number of {fmt.name} frames ({size.ms} ms each)")
    return size.nbytes * (ms // size.ms)


def format_name(value: int) -> str:
    """Name of a media format value: ``"ULAW"``, ``"ULAW|ALAW"``, or ``"0x..."`` for unknown bits."""
    fmt = MediaFormat(value)
    names = [str(m.name) for m in MediaFormat if m & fmt]
    known = 0
    for m in MediaFormat:
        if m & fmt:
            known |= m.value
    rest = int(fmt) & ~known
    if rest:
        names.append(hex(rest))
    return "|".join(names) if names else "0"


# --- G.711 -----------------------------------------------------------------------------------

def _build_ulaw_decode() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = ((u & 0x0F) << 3) + 0x84
    t <<= (u & 0x70) >> 4
    return np.where(u & 0x80, 0x84 - t, t - 0x84).astype(np.int16)


def _build_alaw_decode() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = np.where(seg == 0, t + 8, t + 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    return np.where(a & 0x80, t, -t).astype(np.int16)


def _build_ulaw_encode() -> np.ndarray:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 2          # 14-bit magnitude domain
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    mag = np.minimum(np.where(pcm < 0, -pcm, pcm), 8159) + 0x21
    seg_end = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
    seg = np.searchsorted(seg_end, mag, side="left")
    uval = np.where(seg >= 8, 0x7F, (seg << 4) | ((mag >> (seg + 1)) & 0x0F))
    return (uval ^ mask).astype(np.uint8)


def _build_alaw_encode() -> np.ndarray:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 3          # 13-bit domain
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    mag = np.where(pcm >= 0, pcm, -pcm - 1)
    seg_end = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
    seg = np.searchsorted(seg_end, mag, side="left")
    low = np.where(seg < 2, (mag >> 1) & 0x0F, (mag >> np.maximum(seg, 1)) & 0x0F)
    aval = np.where(seg >= 8, 0x7F, (seg << 4) | low)
    return (aval ^ mask).astype(np.uint8)


ULAW_TO_LINEAR = _build_ulaw_decode()
ALAW_TO_LINEAR = _build_alaw_decode()
_LINEAR_TO_ULAW = _build_ulaw_encode()
_LINEAR_TO_ALAW = _build_alaw_encode()


def _as_bytes_array(data: bytes | np.ndarray) -> np.ndarray:
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8:
            raise TypeError(f"G.711 data must be bytes or a uint8 array, not {data.dtype}")
        return data
    return np.frombuffer(bytes(data), dtype=np.uint8)


def _as_samples(samples: np.ndarray) -> np.ndarray:
    arr = np.asarray(samples)
    if arr.dtype != np.int16:
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"linear samples must be integers, not {arr.dtype}")
        if arr.size and (arr.min() < -32768 or arr.max() > 32767):
            raise EncodeError("linear samples must fit in 16 bits (-32768..32767)")
        arr = arr.astype(np.int16)
    return arr


def ulaw_decode(data: bytes | np.ndarray) -> np.ndarray:
    """μ-law bytes → int16 linear samples."""
    return ULAW_TO_LINEAR[_as_bytes_array(data)]


def alaw_decode(data: bytes | np.ndarray) -> np.ndarray:
    """A-law bytes → int16 linear samples."""
    return ALAW_TO_LINEAR[_as_bytes_array(data)]


def ulaw_encode(samples: np.ndarray) -> bytes:
    """int16 linear samples → μ-law bytes."""
    arr = _as_samples(samples)
    return _LINEAR_TO_ULAW[arr.astype(np.int32) + 32768].tobytes()


def alaw_encode(samples: np.ndarray) -> bytes:
    """int16 linear samples → A-law bytes."""
    arr = _as_samples(samples)
    return _LINEAR_TO_ALAW[arr.astype(np.int32) + 32768].tobytes()
