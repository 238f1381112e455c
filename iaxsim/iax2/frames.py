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
from typing import Any, Callable, Final, cast

from iaxsim.iax2.constants import (ControlSubclass, DecodeError, EncodeError, FrameType,
                                   IAXSubclass, IEType, ModemSubclass)
from iaxsim.iax2.ies import IE, encode_ies_after, ie_block, ie_name, ie_value
from iaxsim.iax2.media import MediaFormat, format_name

# Field annotations. A frame field takes whatever the caller gives and ``encode`` refuses a
# wrong value with an EncodeError naming the field; a decoded frame keeps enum members
# (FrameType, IAXSubclass ...). Typed ``int`` or ``bool``, a mypyc-compiled class would check
# on assignment (a bare TypeError instead) and store an IntEnum member as a plain int, so the
# fields are typed with these aliases of Any, named after what belongs there.
_Int = Any      # an int or IntEnum member, range-checked by encode()
_Bool = Any     # a truth value
_Bytes = Any    # bytes or another bytes-like object
_IEList = Any   # a list (or tuple) of IE
_EntryList = Any  # a list (or tuple) of TrunkEntry

#: Default of a list field: a fresh empty list each time (``field(default_factory=list)``).
_LIST: Any = object()

#: True when this module runs compiled (mypyc). ``decode`` then reads the full frame header
#: byte by byte with native int operations, cheaper there than ``struct`` (which builds a tuple
#: of boxed ints); the interpreter is faster with ``struct``. Both read the same fields (tests
#: run both). Writing the header stays with ``struct``: compiled, ``bytes((...))`` cost more.
_NATIVE: Final[bool] = not __file__.endswith(".py")
_FULL_HDR = struct.Struct("!HHIBBBB")
_pack_full: Final = _FULL_HDR.pack
#: The 12-byte full frame header as seven ints (typed so that compiled code unboxes them once).
_unpack_full: Final[Callable[[bytes], tuple[int, int, int, int, int, int, int]]] = \
    _FULL_HDR.unpack_from
_MINI_HDR = struct.Struct("!HH")
_VIDEO_HDR = struct.Struct("!HHH")
_TRUNK_HDR = struct.Struct("!HBBI")
_TS_ENTRY = struct.Struct("!HHH")
_NOTS_ENTRY = struct.Struct("!HH")

# --- subclass byte ---------------------------------------------------------------------------


def compress_subclass(value: _Int) -> int:
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


def _member(enum_cls: Any, value: int) -> Any:
    """The enum member with this value, or the plain int when there is none (typed Any so
    that compiled code keeps the member instead of unboxing it to an int)."""
    return enum_cls(value) if value in enum_cls._value2member_map_ else value


def _typed_tables() -> tuple[list[Any], list[list[Any]]]:
    ftypes = [_member(FrameType, i) for i in range(256)]

    def table(wrap) -> list[Any]:
        out = []
        for b in range(256):
            v = uncompress_subclass(b)
            try:
                out.append(wrap(v) if v >= 0 else v)
            except ValueError:
                out.append(v)
        return out

    def enum_wrap(enum_cls: Any) -> Any:
        return lambda v: _member(enum_cls, v)

    media = table(MediaFormat)
    plain = table(int)
    subs = {t: plain for t in range(256)}
    subs[FrameType.VOICE] = subs[FrameType.IMAGE] = media
    subs[FrameType.IAX] = table(enum_wrap(IAXSubclass))
    subs[FrameType.CONTROL] = table(enum_wrap(ControlSubclass))
    subs[FrameType.MODEM] = table(enum_wrap(ModemSubclass))
    # video: bit 0x40 is the marker (Asterisk), the rest is the compressed format
    subs[FrameType.VIDEO] = [media[b & ~0x40 & 0xFF] if b != 0xFF else -1 for b in range(256)]
    return ftypes, [subs[t] for t in range(256)]


#: Byte 10 -> frame type (a FrameType member or the int); [byte 10][byte 11] -> subclass value.
_TABLES: Final = _typed_tables()
_FTYPES: Final[list[Any]] = _TABLES[0]
_SUBCLASS: Final[list[list[Any]]] = _TABLES[1]
#: Subclass value types that encode 0..0x7F as themselves (``compress_subclass``'s plain case).
_PLAIN_SUBCLASS_TYPES: Final[frozenset[Any]] = frozenset({int, IAXSubclass, ControlSubclass,
                                                          ModemSubclass, MediaFormat})


def subclass_name(frametype: int, subclass: int) -> str | None:
    """Name of a subclass for its frame type (``"NEW"``, ``"RINGING"``, ``"ULAW"``), or None."""
    if frametype == FrameType.IAX and subclass in IAXSubclass._value2member_map_:
        return IAXSubclass(subclass).name
    if frametype == FrameType.CONTROL and subclass in ControlSubclass._value2member_map_:
        return ControlSubclass(subclass).name
    if frametype == FrameType.MODEM and subclass in ModemSubclass._value2member_map_:
        return ModemSubclass(subclass).name
    if frametype in (FrameType.VOICE, FrameType.VIDEO, FrameType.IMAGE) and subclass > 0:
        return format_name(subclass)
    if frametype in (FrameType.DTMF_END, FrameType.DTMF_BEGIN) and 32 < subclass < 127:
        return chr(subclass)
    return None


def frametype_name(frametype: int) -> str | None:
    """Name of a frame type (``"IAX"``, ``"VOICE"``), or None for unknown numbers."""
    t = _FTYPES[frametype] if 0 <= frametype < 256 else frametype
    return t.name if isinstance(t, FrameType) else None


# --- frame classes ---------------------------------------------------------------------------


class _Frame:
    """Behaviour shared by every frame class."""

    __slots__ = ()

    @property
    def kind(self) -> str:
        """``"full"``, ``"mini"``, ``"video"`` or ``"trunk"`` (a property rather than a class
        variable: mypyc lists class variables among a dataclass's fields)."""
        return ""

    def replace(self, **changes: Any):
        """A copy with some fields changed (``dataclasses.replace`` semantics)."""
        return dataclasses.replace(cast(Any, self), **changes)

    def encode(self) -> bytes:  # pragma: no cover - overridden
        raise NotImplementedError

    def __bytes__(self) -> bytes:
        return self.encode()


def _check_range(name: str, value: Any, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise EncodeError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")


# The frame classes write their __init__ out (init=False): compiled, a dataclass-generated
# __init__ would stay interpreted code setting each field through a descriptor.


@dataclass(slots=True, eq=True, repr=False, init=False)
class FullFrame(_Frame):
    """A full (reliable) frame: 12-byte header, then IEs (IAX frames) or a payload.

    ``subclass`` is the decoded value: an IAXSubclass, ControlSubclass or MediaFormat where the
    frame type calls for one, a plain int otherwise. ``marker`` is the video marker bit (video
    full frames only). A decoded frame remembers its subclass byte (so the RFC-literal 0x82
    form re-encodes as 0x82) and its wire bytes (returned by ``encode`` while the header and
    IEs are unchanged).
    """

    source_call: _Int = 1
    dest_call: _Int = 0
    timestamp: _Int = 0
    oseqno: _Int = 0
    iseqno: _Int = 0
    frametype: _Int = FrameType.IAX
    subclass: _Int = IAXSubclass.PING
    ies: _IEList = field(default_factory=list)
    payload: _Bytes = b""
    retransmitted: _Bool = False
    marker: _Bool = False
    _raw: bytes | None = field(default=None, init=False, repr=False, compare=False)
    _csub: int | None = field(default=None, init=False, repr=False, compare=False)
    _ies_seen: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def __init__(self, source_call: _Int = 1, dest_call: _Int = 0, timestamp: _Int = 0,
                 oseqno: _Int = 0, iseqno: _Int = 0, frametype: _Int = FrameType.IAX,
                 subclass: _Int = IAXSubclass.PING, ies: _IEList = _LIST, payload: _Bytes = b"",
                 retransmitted: _Bool = False, marker: _Bool = False) -> None:
        self.source_call = source_call
        self.dest_call = dest_call
        self.timestamp = timestamp
        self.oseqno = oseqno
        self.iseqno = iseqno
        self.frametype = frametype
        self.subclass = subclass
        self.ies = [] if ies is _LIST else ies
        self.payload = payload
        self.retransmitted = retransmitted
        self.marker = marker
        self._raw = None
        self._csub = None
        self._ies_seen = None

    @property
    def kind(self) -> str:
        """``"full"``."""
        return "full"

    # -- IE access
    def ie(self, ie_id: int) -> Any:
        """Typed value of the first IE with this number, or None."""
        for item in self.ies:
            if item[0] == ie_id:
                return ie_value(item) if type(item) is IE else item.value
        return None

    def ies_all(self, ie_id: int) -> list[Any]:
        """Typed values of every IE with this number, in wire order."""
        return [ie_value(item) if type(item) is IE else item.value
                for item in self.ies if item[0] == ie_id]

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

    def replace(self, **changes: Any) -> "FullFrame":
        """A copy with some fields changed (``dataclasses.replace`` semantics); keeps the
        received subclass byte form while it still stands for the subclass."""
        new = FullFrame(
            changes.pop("source_call", self.source_call), changes.pop("dest_call", self.dest_call),
            changes.pop("timestamp", self.timestamp), changes.pop("oseqno", self.oseqno),
            changes.pop("iseqno", self.iseqno), changes.pop("frametype", self.frametype),
            changes.pop("subclass", self.subclass), changes.pop("ies", self.ies),
            changes.pop("payload", self.payload), changes.pop("retransmitted", self.retransmitted),
            changes.pop("marker", self.marker))
        if changes:
            raise TypeError(f"FullFrame has no field(s) {', '.join(sorted(changes))}")
        new._csub = self._csub
        return new

    def _subclass_byte(self) -> int:
        csub = self._csub
        ftype = self.frametype
        if csub is not None and 0 <= ftype < 256:
            # the received byte still stands for the current subclass (and marker)?
            if _SUBCLASS[ftype][csub] == self.subclass and (
                    ftype != 3 or self.marker == (csub != 0xFF and bool(csub & 0x40))):
                return csub
        try:
            byte = compress_subclass(self.subclass)
        except EncodeError as err:
            raise EncodeError(f"frame type {self.frametype}: {err}") from None
        if ftype == FrameType.VIDEO:
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
        try:
            # typed locals: compiled code compares and packs native ints (and raises
            # TypeError for a value that is no int, as struct does: explained below)
            sc: int = self.source_call
            dc: int = self.dest_call
            ftype: int = self.frametype
            if not (0 <= sc <= 0x7FFF and 0 <= dc <= 0x7FFF):
                raise struct.error("call number")
            sub = self.subclass
            if (self._csub is None and type(sub) in _PLAIN_SUBCLASS_TYPES and 0 <= sub < 0x80
                    and not self.marker and ftype != 3):
                byte = sub  # what compress_subclass gives for 0..0x7F (no marker, not video)
            else:
                byte = self._subclass_byte()
            head = _pack_full(0x8000 | sc, (0x8000 if self.retransmitted else 0) | dc,
                              self.timestamp, self.oseqno, self.iseqno, ftype, byte)
        except (struct.error, TypeError):
            self._explain_range()
            raise
        if ftype == 6:
            raw = self._raw
            if raw is not None and raw.startswith(head) and self._ies_seen == tuple(self.ies) \
                    and not self.payload:
                return raw
            if self.payload:
                raise EncodeError("IAX frames carry IEs, not a payload")
            return encode_ies_after(head, self.ies)
        if self.ies:
            raise EncodeError(f"only IAX frames carry IEs (frame type {self.frametype})")
        payload = self.payload
        return head + (payload if type(payload) is bytes else bytes(payload))

    def _explain_range(self) -> None:
        _check_range("source_call", self.source_call, 0, 0x7FFF)
        _check_range("dest_call", self.dest_call, 0, 0x7FFF)
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


@dataclass(slots=True, init=False)
class MiniFrame(_Frame):
    """A mini (voice) frame: source call number, low 16 bits of the timestamp, payload.

    ``encode`` sends ``timestamp & 0xFFFF``.
    """

    source_call: _Int = 1
    timestamp: _Int = 0
    payload: _Bytes = b""

    def __init__(self, source_call: _Int = 1, timestamp: _Int = 0, payload: _Bytes = b"") -> None:
        self.source_call = source_call
        self.timestamp = timestamp
        self.payload = payload

    @property
    def kind(self) -> str:
        """``"mini"``."""
        return "mini"

    def encode(self) -> bytes:
        """The frame on the wire."""
        sc, ts = self.source_call, self.timestamp
        if isinstance(sc, int) and 0 < sc <= 0x7FFF and isinstance(ts, int) and ts >= 0:
            return _MINI_HDR.pack(sc, ts & 0xFFFF) + bytes(self.payload)
        _check_range("source_call", sc, 1, 0x7FFF)
        _check_range("timestamp", ts, 0, 0xFFFFFFFF)
        raise EncodeError(f"cannot encode {self!r}")

    def to_json(self) -> dict[str, Any]:
        """JSON view (see ``iaxsim decode --json``)."""
        return {"kind": "mini", "source_call": self.source_call, "timestamp": self.timestamp,
                "payload_length": len(self.payload)}

    def describe(self) -> str:
        """One-line human summary."""
        return f"voice {len(self.payload)} bytes"


@dataclass(slots=True, init=False)
class VideoFrame(_Frame):
    """A meta video (mini video) frame: call number, 15-bit timestamp, marker bit, payload.

    ``encode`` sends ``timestamp & 0x7FFF``.
    """

    source_call: _Int = 1
    timestamp: _Int = 0
    marker: _Bool = False
    payload: _Bytes = b""

    def __init__(self, source_call: _Int = 1, timestamp: _Int = 0, marker: _Bool = False,
                 payload: _Bytes = b"") -> None:
        self.source_call = source_call
        self.timestamp = timestamp
        self.marker = marker
        self.payload = payload

    @property
    def kind(self) -> str:
        """``"video"``."""
        return "video"

    def encode(self) -> bytes:
        """The frame on the wire."""
        _check_range("source_call", self.source_call, 0, 0x7FFF)
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

    source_call: _Int
    payload: _Bytes = b""
    timestamp: _Int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON view of the entry."""
        out: dict[str, Any] = {"source_call": self.source_call,
                               "payload_length": len(self.payload)}
        if self.timestamp is not None:
            out["timestamp"] = self.timestamp
        return out


@dataclass(slots=True, init=False)
class TrunkFrame(_Frame):
    """A meta trunk frame carrying several calls' mini frames.

    ``timestamps=True`` is Asterisk's ``trunktimestamps`` form (each entry has a 16-bit
    timestamp); otherwise entries are call number + length + data. A decoded frame returns
    its wire bytes from ``encode`` while unchanged (bits the fields do not model survive).
    """

    timestamp: _Int = 0
    timestamps: _Bool = False
    entries: _EntryList = field(default_factory=list)
    _raw: bytes | None = field(default=None, init=False, repr=False, compare=False)
    _seen: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def __init__(self, timestamp: _Int = 0, timestamps: _Bool = False,
                 entries: _EntryList = _LIST) -> None:
        self.timestamp = timestamp
        self.timestamps = timestamps
        self.entries = [] if entries is _LIST else entries
        self._raw = None
        self._seen = None

    @property
    def kind(self) -> str:
        """``"trunk"``."""
        return "trunk"

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
            _check_range(f"trunk entry {i} source_call", e.source_call, 0, 0x7FFF)
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


def decode(data: _Bytes) -> Frame:
    """Decode one IAX2 datagram (a UDP payload) into a frame object.

    Raises DecodeError for anything malformed, naming the offset and, for IEs, the IE
    (and for something that is not bytes-like at all).
    """
    if type(data) is not bytes:
        if isinstance(data, (bytes, bytearray, memoryview)):
            data = bytes(data)
        else:
            raise DecodeError(f"expected bytes, got {type(data).__name__}")
    buf: bytes = data  # typed from here on (compiled: native bytes indexing)
    n = len(buf)
    if n < 4:
        raise DecodeError(f"truncated header: {n} bytes, an IAX2 frame has at least 4", offset=0)
    first = buf[0]
    if first & 0x80:
        if n < 12:
            raise DecodeError(f"truncated full frame header: {n} bytes, need 12", offset=0)
        if _NATIVE:
            scall = (first << 8) | buf[1]
            dcall = (buf[2] << 8) | buf[3]
            ts = (buf[4] << 24) | (buf[5] << 16) | (buf[6] << 8) | buf[7]
            oseq, iseq, ftype, csub = buf[8], buf[9], buf[10], buf[11]
        else:
            scall, dcall, ts, oseq, iseq, ftype, csub = _unpack_full(buf)
        if ftype == 6:
            # header only (ACK, RINGING...): nothing to parse
            if n > 12:
                block = ie_block(buf, 12)
                ies = list(block)
            else:
                block = ()
                ies = []
            f = FullFrame(scall & 0x7FFF, dcall & 0x7FFF, ts, oseq, iseq, _FTYPES[ftype],
                          _SUBCLASS[ftype][csub], ies, b"", dcall >= 0x8000, False)
            f._ies_seen = block
            f._raw = buf
        else:
            f = FullFrame(scall & 0x7FFF, dcall & 0x7FFF, ts, oseq, iseq, _FTYPES[ftype],
                          _SUBCLASS[ftype][csub], [], buf[12:], dcall >= 0x8000,
                          ftype == 3 and csub != 0xFF and csub & 0x40 != 0)
        f._csub = csub
        return f
    if first == 0 and buf[1] == 0:
        return _decode_meta(buf, n)
    return MiniFrame((first << 8) | buf[1], (buf[2] << 8) | buf[3], buf[4:])


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
    t = TrunkFrame(ts, with_ts, entries)
    t._raw = data
    t._seen = (ts, with_ts, tuple(entries))
    return t


def frame_to_json(frame: Frame) -> dict[str, Any]:
    """JSON view of any frame."""
    return frame.to_json()


__all__ = ["FullFrame", "MiniFrame", "VideoFrame", "TrunkFrame", "TrunkEntry", "Frame",
           "decode", "compress_subclass", "uncompress_subclass", "subclass_name",
           "frametype_name", "frame_to_json", "IE", "IEType", "ie_name"]
