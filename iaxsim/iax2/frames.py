"""IAX2 frames: full frames, mini (voice) frames, meta video frames and meta trunk frames.

``decode(data)`` turns one UDP payload into a frame object and ``frame.encode()`` turns it
back into bytes; ``decode(x).encode() == x`` for every datagram ``decode`` accepts: mini and
video frames re-encode exactly from their fields, full frames remember the received subclass
byte form and reuse their wire bytes while header and IEs are unchanged, and trunk frames
reuse theirs while unchanged (bits their fields do not model survive). Frames are mutable
dataclasses; ``frame.replace(...)`` returns a changed copy. Malformed input raises
:class:`DecodeError` naming the offset (and IE); nothing else escapes ``decode``.

Wire layouts (RFC 5456 §8.1, Asterisk ``iax2.h``):

* full frame: ``F|scallno`` ``R|dcallno`` ts(4) oseqno iseqno type csub, then IEs or payload;
* mini frame: ``0|scallno`` ts16, payload;
* meta video: ``0000`` ``1|scallno`` ``marker|ts15``, payload;
* meta trunk: ``0000`` cmd(1) cmddata(1) ts(4), then entries — without timestamps
  ``callno(2) len(2) data``, with timestamps (cmddata bit 0) ``len(2) callno(2) ts16(2) data``.
"""
from __future__ import annotations

import dataclasses
import enum
import struct
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from iaxsim.iax2.constants import (MAX_CALLNO, ControlSubclass, DecodeError, EncodeError,
                                   FrameType, IAXSubclass, IEType, ModemSubclass)
from iaxsim.iax2.ies import IE, encode_ies_after, ie_block, ie_name, ie_value
from iaxsim.iax2.media import MediaFormat, format_name

_FULL_HDR = struct.Struct("!HHIBBBB")
_MINI_HDR = struct.Struct("!HH")
_VIDEO_HDR = struct.Struct("!HHH")
_TRUNK_HDR = struct.Struct("!HBBI")
_TS_ENTRY = struct.Struct("!HHH")
_NOTS_ENTRY = struct.Struct("!HH")
# The frame types every decode and encode compares with, as module names: reading a member
# off its enum class goes through a descriptor (Python 3.11) and costs several times more.
_IAX = FrameType.IAX
_VIDEO = FrameType.VIDEO

# --- subclass byte ---------------------------------------------------------------------------


def compress_subclass(value: int) -> int:
    """Subclass value → byte 11, as Asterisk does it: < 0x80 plain, a power of two as
    ``0x80 | log2``, -1 as 0xFF. Raises EncodeError for anything else."""
    if value == -1:
        return 0xFF
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise EncodeError(f"subclass must be -1 or a non-negative integer, got {value!r}")
    if value < 0x80:
        return int(value)
    if value & (value - 1) or value.bit_length() - 1 > 0x3F:
        raise EncodeError(f"subclass {value:#x} >= 0x80 must be a single power of two <= 2**63")
    return 0x80 | (value.bit_length() - 1)


def uncompress_subclass(byte: int) -> int:
    """Byte 11 → subclass value: C bit clear → low 7 bits; C bit set → ``1 << (byte & 0x3F)``;
    0xFF → -1. Accepts both Asterisk's form (ulaw 0x04) and the RFC-literal one (0x82)."""
    if byte & 0x80:
        return -1 if byte == 0xFF else 1 << (byte & 0x3F)
    return byte


def _member(enum_cls: type[enum.IntEnum], value: int) -> int:
    """The enum member with this value, or the plain int when there is none."""
    return enum_cls(value) if value in enum_cls._value2member_map_ else value


#: Frame types whose subclasses are named by an enum of their own.
_SUBCLASS_ENUMS: dict[int, type[enum.IntEnum]] = {
    FrameType.IAX: IAXSubclass, FrameType.CONTROL: ControlSubclass, FrameType.MODEM: ModemSubclass}
#: Frame types whose subclass is a media format.
_MEDIA_FRAMETYPES = (FrameType.VOICE, FrameType.VIDEO, FrameType.IMAGE)


def _subclass_tables() -> list[list[int]]:
    """[byte 10][byte 11] → subclass value: a member of the frame type's subclass enum
    (IAXSubclass, ControlSubclass, ModemSubclass, MediaFormat) where it has one."""
    plain = [uncompress_subclass(b) for b in range(256)]
    media: list[int] = [MediaFormat(v) if v >= 0 else v for v in plain]
    tables = [plain] * 256
    tables[FrameType.VOICE] = tables[FrameType.IMAGE] = media
    # video: bit 0x40 is the marker (Asterisk), the rest is the compressed format
    tables[FrameType.VIDEO] = [media[b & ~0x40] if b != 0xFF else -1 for b in range(256)]
    for frametype, subclasses in _SUBCLASS_ENUMS.items():
        tables[frametype] = [_member(subclasses, v) for v in plain]
    return tables


#: Byte 10 → frame type (a FrameType member, or the int for numbers without a name).
_FRAMETYPES: list[int] = [_member(FrameType, b) for b in range(256)]
#: [byte 10][byte 11] → subclass value.
_SUBCLASSES: list[list[int]] = _subclass_tables()


def subclass_name(frametype: int, subclass: int) -> str | None:
    """Name of a subclass for its frame type (``"NEW"``, ``"RINGING"``, ``"ULAW"``), or None."""
    subclasses = _SUBCLASS_ENUMS.get(frametype)
    if subclasses is not None:
        return subclasses(subclass).name if subclass in subclasses._value2member_map_ else None
    if frametype in _MEDIA_FRAMETYPES and subclass > 0:
        return format_name(subclass)
    if frametype in (FrameType.DTMF_END, FrameType.DTMF_BEGIN) and 32 < subclass < 127:
        return chr(subclass)
    return None


def frametype_name(frametype: int) -> str | None:
    """Name of a frame type (``"IAX"``, ``"VOICE"``), or None for unknown numbers."""
    t = _FRAMETYPES[frametype] if 0 <= frametype < 256 else frametype
    return t.name if isinstance(t, FrameType) else None


# --- frame classes ---------------------------------------------------------------------------
#
# A frame field takes whatever the caller gives (a dataclass does not check types) and
# ``encode`` refuses a wrong value with an EncodeError naming the field.


@dataclass(slots=True)
class _Frame:
    """Behaviour shared by every frame class."""

    #: ``"full"``, ``"mini"``, ``"video"`` or ``"trunk"``.
    kind: ClassVar[str] = ""

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (``dataclasses.replace`` semantics)."""
        return dataclasses.replace(self, **changes)

    def encode(self) -> bytes:  # pragma: no cover - overridden
        """The frame on the wire."""
        raise NotImplementedError

    def __bytes__(self) -> bytes:
        return self.encode()


def _check_range(name: str, value: object, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise EncodeError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")


@dataclass(slots=True, repr=False)
class FullFrame(_Frame):
    """A full (reliable) frame: 12-byte header, then IEs (IAX frames) or a payload.

    ``subclass`` is the decoded value: an IAXSubclass, ControlSubclass or MediaFormat where the
    frame type calls for one, a plain int otherwise. ``marker`` is the video marker bit (video
    full frames only). A decoded frame remembers its subclass byte (so the RFC-literal 0x82
    form re-encodes as 0x82) and its wire bytes (returned by ``encode`` while the header and
    IEs are unchanged).
    """

    kind: ClassVar[str] = "full"

    source_call: int = 1
    dest_call: int = 0
    timestamp: int = 0
    oseqno: int = 0
    iseqno: int = 0
    frametype: int = FrameType.IAX
    subclass: int = IAXSubclass.PING
    ies: list[IE] = field(default_factory=list)
    payload: bytes = b""
    retransmitted: bool = False
    marker: bool = False
    #: the received datagram, the IEs decoded from it and its subclass byte (decoded frames)
    _raw: bytes | None = field(default=None, init=False, repr=False, compare=False)
    _ies_seen: tuple[IE, ...] | None = field(default=None, init=False, repr=False, compare=False)
    _csub: int | None = field(default=None, init=False, repr=False, compare=False)

    # -- IE access
    def ie(self, ie_id: int) -> Any:
        """Typed value of the first IE with this number, or None."""
        for item in self.ies:
            if item[0] == ie_id:
                return ie_value(item)
        return None

    def ies_all(self, ie_id: int) -> list[Any]:
        """Typed values of every IE with this number, in wire order."""
        return [ie_value(item) for item in self.ies if item[0] == ie_id]

    def has_ie(self, ie_id: int) -> bool:
        """True if an IE with this number is present (useful for empty IEs)."""
        return any(item[0] == ie_id for item in self.ies)

    def __repr__(self) -> str:
        ft = self.frametype_name or str(self.frametype)
        sub = self.subclass_name if isinstance(self.subclass, enum.Enum) else None
        parts = [f"source_call={self.source_call}", f"dest_call={self.dest_call}",
                 f"timestamp={self.timestamp}", f"oseqno={self.oseqno}", f"iseqno={self.iseqno}",
                 f"frametype={ft}", f"subclass={sub if sub else repr(self.subclass)}"]
        if self.ies:
            parts.append(f"ies={self.ies!r}")
        if self.payload:
            parts.append(f"payload=<{len(self.payload)} bytes>" if len(self.payload) > 16
                         else f"payload={self.payload!r}")
        if self.retransmitted:
            parts.append("retransmitted=True")
        if self.marker:
            parts.append("marker=True")
        return f"FullFrame({', '.join(parts)})"

    # -- names
    @property
    def frametype_name(self) -> str | None:
        """RFC name of the frame type (``"IAX"``), or None for unknown numbers."""
        return frametype_name(self.frametype)

    @property
    def subclass_name(self) -> str | None:
        """Name of the subclass (``"NEW"``, ``"RINGING"``, ``"ULAW"``), or None."""
        return subclass_name(self.frametype, self.subclass)

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (``dataclasses.replace`` semantics); keeps the
        received subclass byte form while it still stands for the subclass."""
        new = dataclasses.replace(self, **changes)
        new._csub = self._csub
        return new

    def _subclass_byte(self) -> int:
        """Byte 11: the received byte while it still stands for the subclass (and marker),
        else the subclass compressed as Asterisk does, with the video marker bit."""
        csub, ftype = self._csub, self.frametype
        if csub is not None and 0 <= ftype < 256 and _SUBCLASSES[ftype][csub] == self.subclass:
            if ftype != _VIDEO or self.marker == (csub != 0xFF and bool(csub & 0x40)):
                return csub
        try:
            byte = compress_subclass(self.subclass)
        except EncodeError as err:
            raise EncodeError(f"frame type {self.frametype}: {err}") from None
        if ftype == _VIDEO:
            if byte & 0x40 and byte != 0xFF:
                raise EncodeError(f"video subclass {self.subclass!r} collides with the marker bit")
            if self.marker:
                byte |= 0x40
                if byte == 0xFF:  # 2**63 + marker would read back as the special subclass -1
                    raise EncodeError("video subclass 2**63 with the marker bit encodes as 0xFF, "
                                      "which every decoder reads as subclass -1")
        elif self.marker:
            raise EncodeError("marker is only meaningful on video frames")
        return byte

    def encode(self) -> bytes:
        """The frame on the wire."""
        sc, dc = self.source_call, self.dest_call
        try:
            if not (0 <= sc <= MAX_CALLNO and 0 <= dc <= MAX_CALLNO):
                raise struct.error("call number out of range")
            head = _FULL_HDR.pack(0x8000 | sc, (0x8000 if self.retransmitted else 0) | dc,
                                  self.timestamp, self.oseqno, self.iseqno, self.frametype,
                                  self._subclass_byte())
        except (struct.error, TypeError):
            self._explain_range()
            raise
        if self.frametype == _IAX:
            if self.payload:
                raise EncodeError("IAX frames carry IEs, not a payload")
            raw = self._raw
            if raw is not None and raw.startswith(head) and self._ies_seen == tuple(self.ies):
                return raw
            return encode_ies_after(head, self.ies)
        if self.ies:
            raise EncodeError(f"only IAX frames carry IEs (frame type {self.frametype})")
        return head + bytes(self.payload)

    def _explain_range(self) -> None:
        """Raise an EncodeError naming the first header field that does not fit."""
        _check_range("source_call", self.source_call, 0, MAX_CALLNO)
        _check_range("dest_call", self.dest_call, 0, MAX_CALLNO)
        _check_range("timestamp", self.timestamp, 0, 0xFFFFFFFF)
        _check_range("oseqno", self.oseqno, 0, 255)
        _check_range("iseqno", self.iseqno, 0, 255)
        _check_range("frametype", self.frametype, 0, 255)

    def to_json(self) -> dict[str, Any]:
        """JSON view (see ``iaxsim decode --json``)."""
        out: dict[str, Any] = {
            "kind": "full", "source_call": self.source_call, "dest_call": self.dest_call,
            "retransmitted": self.retransmitted, "timestamp": self.timestamp,
            "oseqno": self.oseqno, "iseqno": self.iseqno, "frametype": int(self.frametype),
            "frametype_name": self.frametype_name, "subclass": int(self.subclass),
        }
        name = self.subclass_name
        if name is not None:
            out["subclass_name"] = name
        if self.frametype == FrameType.VIDEO:
            out["marker"] = self.marker
        if self.frametype == FrameType.IAX:
            out["ies"] = [ie.to_json() for ie in self.ies]
        else:
            out["payload_length"] = len(self.payload)
        return out

    def describe(self) -> str:
        """One-line human summary: type/subclass, IEs or payload length."""
        ft = self.frametype_name or str(self.frametype)
        sub = self.subclass_name or str(self.subclass)
        if self.frametype == FrameType.IAX:
            rest = " ".join(ie.text() for ie in self.ies)
        else:
            rest = f"{len(self.payload)} bytes"
        return f"{ft}/{sub} {rest}".rstrip()


@dataclass(slots=True)
class MiniFrame(_Frame):
    """A mini (voice) frame: source call number, low 16 bits of the timestamp, payload.

    ``encode`` sends ``timestamp & 0xFFFF``.
    """

    kind: ClassVar[str] = "mini"

    source_call: int = 1
    timestamp: int = 0
    payload: bytes = b""

    def encode(self) -> bytes:
        """The frame on the wire."""
        sc, ts = self.source_call, self.timestamp
        if isinstance(sc, int) and 0 < sc <= MAX_CALLNO and isinstance(ts, int) and ts >= 0:
            return _MINI_HDR.pack(sc, ts & 0xFFFF) + bytes(self.payload)
        _check_range("source_call", sc, 1, MAX_CALLNO)
        _check_range("timestamp", ts, 0, 0xFFFFFFFF)
        raise EncodeError(f"cannot encode {self!r}")

    def to_json(self) -> dict[str, Any]:
        """JSON view (see ``iaxsim decode --json``)."""
        return {"kind": "mini", "source_call": self.source_call, "timestamp": self.timestamp,
                "payload_length": len(self.payload)}

    def describe(self) -> str:
        """One-line human summary."""
        return f"voice {len(self.payload)} bytes"


@dataclass(slots=True)
class VideoFrame(_Frame):
    """A meta video (mini video) frame: call number, 15-bit timestamp, marker bit, payload.

    ``encode`` sends ``timestamp & 0x7FFF``.
    """

    kind: ClassVar[str] = "video"

    source_call: int = 1
    timestamp: int = 0
    marker: bool = False
    payload: bytes = b""

    def encode(self) -> bytes:
        """The frame on the wire."""
        _check_range("source_call", self.source_call, 0, MAX_CALLNO)
        _check_range("timestamp", self.timestamp, 0, 0xFFFFFFFF)
        return (_VIDEO_HDR.pack(0, 0x8000 | self.source_call,
                                (0x8000 if self.marker else 0) | (self.timestamp & 0x7FFF))
                + bytes(self.payload))

    def to_json(self) -> dict[str, Any]:
        """JSON view (see ``iaxsim decode --json``)."""
        return {"kind": "video", "source_call": self.source_call, "timestamp": self.timestamp,
                "marker": self.marker, "payload_length": len(self.payload)}

    def describe(self) -> str:
        """One-line human summary."""
        return f"video {len(self.payload)} bytes{' marker' if self.marker else ''}"


@dataclass(frozen=True, slots=True)
class TrunkEntry:
    """One call's media inside a trunk frame (``timestamp`` only in the timestamped form)."""

    source_call: int
    payload: bytes = b""
    timestamp: int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON view of the entry."""
        out: dict[str, Any] = {"source_call": self.source_call,
                               "payload_length": len(self.payload)}
        if self.timestamp is not None:
            out["timestamp"] = self.timestamp
        return out


@dataclass(slots=True)
class TrunkFrame(_Frame):
    """A meta trunk frame carrying several calls' mini frames.

    ``timestamps=True`` is Asterisk's ``trunktimestamps`` form (each entry has a 16-bit
    timestamp); otherwise entries are call number + length + data. A decoded frame returns
    its wire bytes from ``encode`` while unchanged (bits the fields do not model survive).
    """

    kind: ClassVar[str] = "trunk"

    timestamp: int = 0
    timestamps: bool = False
    entries: list[TrunkEntry] = field(default_factory=list)
    #: the received datagram and the (timestamp, timestamps, entries) decoded from it
    _raw: bytes | None = field(default=None, init=False, repr=False, compare=False)
    _seen: tuple[int, bool, tuple[TrunkEntry, ...]] | None = field(
        default=None, init=False, repr=False, compare=False)

    def encode(self) -> bytes:
        """The frame on the wire."""
        if self._raw is not None and self._seen == (self.timestamp, self.timestamps,
                                                    tuple(self.entries)):
            return self._raw
        _check_range("timestamp", self.timestamp, 0, 0xFFFFFFFF)
        parts = [_TRUNK_HDR.pack(0, 1, 1 if self.timestamps else 0, self.timestamp)]
        for i, e in enumerate(self.entries):
            if not isinstance(e, TrunkEntry):
                raise EncodeError(f"trunk entry {i}: expected a TrunkEntry, got {e!r}")
            _check_range(f"trunk entry {i} source_call", e.source_call, 0, MAX_CALLNO)
            if len(e.payload) > 0xFFFF:
                raise EncodeError(f"trunk entry {i}: payload of {len(e.payload)} bytes is too long")
            if self.timestamps:
                if e.timestamp is None:
                    raise EncodeError(f"trunk entry {i}: a timestamped trunk frame needs "
                                      "a timestamp on every entry")
                _check_range(f"trunk entry {i} timestamp", e.timestamp, 0, 0xFFFFFFFF)
                parts.append(_TS_ENTRY.pack(len(e.payload), e.source_call, e.timestamp & 0xFFFF))
            else:
                if e.timestamp is not None:
                    raise EncodeError(f"trunk entry {i} has a timestamp but the frame is the "
                                      "no-timestamp form (set timestamps=True)")
                parts.append(_NOTS_ENTRY.pack(e.source_call, len(e.payload)))
            parts.append(bytes(e.payload))
        return b"".join(parts)

    def to_json(self) -> dict[str, Any]:
        """JSON view (see ``iaxsim decode --json``)."""
        return {"kind": "trunk", "timestamp": self.timestamp, "timestamps": self.timestamps,
                "entries": [e.to_json() for e in self.entries]}

    def describe(self) -> str:
        """One-line human summary."""
        calls = ",".join(str(e.source_call) for e in self.entries)
        form = "with" if self.timestamps else "without"
        return f"trunk {len(self.entries)} entries {form} timestamps (calls {calls})"


Frame = FullFrame | MiniFrame | VideoFrame | TrunkFrame

# --- decoding --------------------------------------------------------------------------------


def decode(data: bytes) -> Frame:
    """Decode one IAX2 datagram (a UDP payload) into a frame object.

    Raises DecodeError for anything malformed, naming the offset and, for IEs, the IE
    (and for something that is not bytes-like at all).
    """
    if type(data) is not bytes:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise DecodeError(f"expected bytes, got {type(data).__name__}")
        data = bytes(data)
    n = len(data)
    if n < 4:
        raise DecodeError(f"truncated header: {n} bytes, an IAX2 frame has at least 4", offset=0)
    if data[0] & 0x80:
        return _decode_full(data, n)
    if data[0] == 0 and data[1] == 0:
        return _decode_meta(data, n)
    return MiniFrame((data[0] << 8) | data[1], (data[2] << 8) | data[3], data[4:])


def _decode_full(data: bytes, n: int) -> FullFrame:
    if n < 12:
        raise DecodeError(f"truncated full frame header: {n} bytes, need 12", offset=0)
    scall, dcall, ts, oseq, iseq, ftype, csub = _FULL_HDR.unpack_from(data)
    if ftype == _IAX:
        block = ie_block(data, 12) if n > 12 else ()  # a bare header (ACK, PING ...) has none
        frame = FullFrame(scall & 0x7FFF, dcall & 0x7FFF, ts, oseq, iseq, _FRAMETYPES[ftype],
                          _SUBCLASSES[ftype][csub], list(block), b"", dcall >= 0x8000, False)
        frame._raw = data
        frame._ies_seen = block
    else:
        frame = FullFrame(scall & 0x7FFF, dcall & 0x7FFF, ts, oseq, iseq, _FRAMETYPES[ftype],
                          _SUBCLASSES[ftype][csub], [], data[12:], dcall >= 0x8000,
                          ftype == _VIDEO and csub != 0xFF and csub & 0x40 != 0)
    frame._csub = csub
    return frame


def _decode_meta(data: bytes, n: int) -> VideoFrame | TrunkFrame:
    if data[2] & 0x80:
        if n < 6:
            raise DecodeError(f"truncated meta video header: {n} bytes, need 6", offset=0)
        _, callword, tsword = _VIDEO_HDR.unpack_from(data)
        return VideoFrame(callword & 0x7FFF, tsword & 0x7FFF, tsword >= 0x8000, data[6:])
    cmd = data[2]
    if cmd != 1:
        raise DecodeError(f"unsupported meta command {cmd} (only 1 = trunk is defined for IAX2 "
                          "media)", offset=2)
    if n < 8:
        raise DecodeError(f"truncated trunk header: {n} bytes, need 8", offset=0)
    _, _, cmddata, ts = _TRUNK_HDR.unpack_from(data)
    with_ts = bool(cmddata & 1)
    entries: list[TrunkEntry] = []
    pos = 8
    if with_ts:
        while pos < n:
            if pos + 6 > n:
                raise DecodeError(f"truncated trunk entry header ({n - pos} bytes left, need 6)",
                                  offset=pos)
            length, callno, ets = _TS_ENTRY.unpack_from(data, pos)
            end = pos + 6 + length
            if end > n:
                raise DecodeError(f"trunk entry length {length} runs past the end of the "
                                  f"datagram ({n - pos - 6} bytes left)", offset=pos)
            entries.append(TrunkEntry(callno & 0x7FFF, data[pos + 6:end], ets))
            pos = end
    else:
        while pos < n:
            if pos + 4 > n:
                raise DecodeError(f"truncated trunk entry header ({n - pos} bytes left, need 4)",
                                  offset=pos)
            callno, length = _NOTS_ENTRY.unpack_from(data, pos)
            end = pos + 4 + length
            if end > n:
                raise DecodeError(f"trunk entry length {length} runs past the end of the "
                                  f"datagram ({n - pos - 4} bytes left)", offset=pos)
            entries.append(TrunkEntry(callno & 0x7FFF, data[pos + 4:end]))
            pos = end
    trunk = TrunkFrame(ts, with_ts, entries)
    trunk._raw = data
    trunk._seen = (ts, with_ts, tuple(entries))
    return trunk


def frame_to_json(frame: Frame) -> dict[str, Any]:
    """JSON view of any frame."""
    return frame.to_json()


__all__ = ["FullFrame", "MiniFrame", "VideoFrame", "TrunkFrame", "TrunkEntry", "Frame",
           "decode", "compress_subclass", "uncompress_subclass", "subclass_name",
           "frametype_name", "frame_to_json", "IE", "IEType", "ie_name"]
