"""Information elements: one table declares every IE (number, name, value kind) and drives
encoding, decoding, validation, JSON and pretty-printing.

An :class:`IE` is an immutable ``(id, data)`` pair: ``data`` is the exact wire content, so a
decoded IE re-encodes byte for byte, and ``IE.value`` converts it to its typed Python value on
demand. Building ``IE(IEType.VERSION, 2)`` encodes the value at once (and raises
:class:`EncodeError` if it does not fit).
"""
from __future__ import annotations

import datetime as _dt
import ipaddress
from dataclasses import dataclass
from typing import Any, Callable, Iterable, NamedTuple, TypeVar

from iaxsim.iax2.constants import (AuthMethod, DecodeError, DPStatus, EncodeError, Encryption,
                                   IEType, SamplingRate)
from iaxsim.iax2.media import MediaFormat, format_name

# --- typed values that need more than a plain int/str ----------------------------------------


class SockAddr(NamedTuple):
    """APPARENT_ADDR value: ``(host, port)``; ``host`` is the textual IPv4/IPv6 address."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        """The host as an ``ipaddress`` object."""
        return ipaddress.ip_address(self.host)


class OspBlock(NamedTuple):
    """OSPTOKEN value: block number and that block's token bytes."""

    block: int
    data: bytes


class RRLoss(int):
    """RR_LOSS value: the u32 with ``percent`` (high byte) and ``count`` (low 24 bits)."""

    @classmethod
    def of(cls, percent: int, count: int) -> "RRLoss":
        """Build from the two parts."""
        if not (0 <= percent <= 0xFF and 0 <= count <= 0xFFFFFF):
            raise EncodeError("RR_LOSS needs 0 <= percent <= 255 and 0 <= count < 2**24")
        return cls((percent << 24) | count)

    @property
    def percent(self) -> int:
        """Loss percentage (high byte)."""
        return int(self) >> 24

    @property
    def count(self) -> int:
        """Lost packet count (low 24 bits)."""
        return int(self) & 0xFFFFFF

    def __repr__(self) -> str:
        return f"RRLoss(percent={self.percent}, count={self.count})"


class MsgCount(int):
    """MSGCOUNT value: the u16 with ``old`` (high byte) and ``new`` (low byte) message counts."""

    @classmethod
    def of(cls, old: int, new: int) -> "MsgCount":
        """Build from the two counts."""
        if not (0 <= old <= 0xFF and 0 <= new <= 0xFF):
            raise EncodeError("MSGCOUNT needs 0 <= old, new <= 255")
        return cls((old << 8) | new)

    @property
    def old(self) -> int:
        """Old (read) messages, high byte."""
        return int(self) >> 8

    @property
    def new(self) -> int:
        """New messages, low byte."""
        return int(self) & 0xFF

    def __repr__(self) -> str:
        return f"MsgCount(old={self.old}, new={self.new})"


def split_variable(value: str) -> tuple[str, str]:
    """Split a VARIABLE IE value ``"name=value"`` into its two parts (value may be empty)."""
    name, sep, val = value.partition("=")
    return name, val


def merge_variables(values: list[str]) -> dict[str, str]:
    """VARIABLE IE values → ``{name: value}``. As in Asterisk, repeated names concatenate
    their values (how a value longer than one IE is carried); first-seen order is kept."""
    out: dict[str, str] = {}
    for item in values:
        name, val = split_variable(item)
        out[name] = out.get(name, "") + val
    return out


def join_osp_blocks(blocks: list["OspBlock"]) -> bytes:
    """The OSP token carried in OSPTOKEN IEs: the blocks' data in block-number order."""
    return b"".join(b.data for b in sorted(blocks, key=lambda b: b.block))


# --- value kinds ------------------------------------------------------------------------------


class Kind:
    """How one family of IEs maps between wire bytes and Python values."""

    name = "raw"
    #: allowed data lengths, or None for any length 0..255
    lengths: frozenset[int] | None = None

    def check(self, data: bytes) -> str | None:
        """Return a message if ``data`` (right length already) is malformed, else None."""
        return None

    def decode(self, data: bytes) -> Any:
        """Wire data (already validated) → typed value."""
        return bytes(data)

    def encode(self, value: Any) -> bytes:
        """Typed value → wire data; raises EncodeError if it does not fit."""
        if type(value) is bytes:
            return value
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        raise EncodeError(f"expected bytes, got {type(value).__name__}")

    def json(self, value: Any) -> Any:
        """Typed value → JSON-ready value."""
        return bytes(value).hex()

    def text(self, value: Any) -> str:
        """Typed value → short human text."""
        return bytes(value).hex() or "(empty)"


class RawKind(Kind):
    """Opaque bytes."""


def _text_bytes(value: object) -> bytes:
    """A str (UTF-8, surrogate escapes kept) or bytes-like value → wire bytes."""
    if type(value) is bytes:
        return value
    if isinstance(value, str):
        try:
            return value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError as err:
            raise EncodeError(f"string cannot be encoded: {err}") from None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise EncodeError(f"expected str or bytes, got {type(value).__name__}")


class StrKind(Kind):
    """Byte string shown as text (UTF-8; other bytes survive as surrogate escapes)."""

    name = "str"

    def decode(self, data: bytes) -> str:
        return data.decode("utf-8", "surrogateescape")

    def encode(self, value: Any) -> bytes:
        return _text_bytes(value)

    def json(self, value: Any) -> Any:
        return value

    def text(self, value: Any) -> str:
        return repr(value)


class TokenKind(Kind):
    """CALLTOKEN: opaque bytes (empty = "I support call tokens"); given as bytes or str."""

    name = "token"

    def decode(self, data: bytes) -> bytes:
        return bytes(data)

    def encode(self, value: Any) -> bytes:
        return _text_bytes(value)

    def json(self, value: Any) -> Any:
        return value.decode("utf-8", "surrogateescape")

    def text(self, value: Any) -> str:
        return repr(value.decode("utf-8", "surrogateescape")) if value else "(empty)"


class EmptyKind(Kind):
    """An IE that carries no data (its presence is the information)."""

    name = "empty"

    def __init__(self) -> None:
        self.lengths = frozenset({0})

    def decode(self, data: bytes) -> bytes:
        return b""

    def encode(self, value: Any) -> bytes:
        if value is None or value is True or value in (b"", ""):
            return b""
        raise EncodeError(f"this IE carries no data, got {value!r}")

    def json(self, value: Any) -> Any:
        return ""

    def text(self, value: Any) -> str:
        return "(present)"


class UIntKind(Kind):
    """Big-endian unsigned integer of ``size`` bytes, optionally wrapped in an int subclass."""

    name = "uint"

    def __init__(self, size: int, wrap: Callable[[int], int] = int):
        self.size = size
        self.lengths = frozenset({size})
        self.wrap = wrap
        self.name = f"u{size * 8}"
        self.limit = 1 << (8 * size)

    def decode(self, data: bytes) -> int:
        return self.wrap(int.from_bytes(data, "big"))

    def encode(self, value: Any) -> bytes:
        if isinstance(value, bool) or not isinstance(value, int):
            raise EncodeError(f"expected an integer, got {type(value).__name__}")
        if not 0 <= value < self.limit:
            raise EncodeError(f"{value} does not fit in {self.size} byte(s)")
        return int(value).to_bytes(self.size, "big")

    def json(self, value: Any) -> Any:
        return int(value)

    def text(self, value: Any) -> str:
        if isinstance(value, MediaFormat):
            return f"{format_name(value)} (0x{int(value):x})"
        if isinstance(value, (AuthMethod, DPStatus, SamplingRate, Encryption)):
            return f"{value.name or hex(int(value))} (0x{int(value):x})"
        return repr(value) if type(value) is not int else str(value)


class Format2Kind(Kind):
    """CAPABILITY2/FORMAT2: version byte (0) + 64-bit format mask."""

    name = "format2"

    def __init__(self) -> None:
        self.lengths = frozenset({9})

    def decode(self, data: bytes) -> MediaFormat:
        return MediaFormat(int.from_bytes(data[1:9], "big"))

    def encode(self, value: Any) -> bytes:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 64:
            raise EncodeError(f"expected a 64-bit format mask, got {value!r}")
        return b"\x00" + int(value).to_bytes(8, "big")

    def json(self, value: Any) -> Any:
        return int(value)

    def text(self, value: Any) -> str:
        return f"{format_name(value)} (0x{int(value):x})"


_AF_INET_LE, _AF_INET_BE = b"\x02\x00", b"\x00\x02"
_AF_INET6_LE, _AF_INET6_BE = b"\x0a\x00", b"\x00\x0a"


class AddrKind(Kind):
    """APPARENT_ADDR: a raw Linux sockaddr_in (16 bytes) or sockaddr_in6 (28 bytes).

    The family is in host byte order on the sender (little-endian, ``02 00``, as Asterisk on x86
    sends it); the big-endian spelling is accepted on decode too. Port and address are
    big-endian. Encoding writes Asterisk's layout.
    """

    name = "sockaddr"

    def __init__(self) -> None:
        self.lengths = frozenset({16, 28})

    def check(self, data: bytes) -> str | None:
        fam = bytes(data[0:2])
        if len(data) == 16 and fam not in (_AF_INET_LE, _AF_INET_BE):
            return f"16-byte address with family bytes {fam.hex()}, expected AF_INET (0200)"
        if len(data) == 28 and fam not in (_AF_INET6_LE, _AF_INET6_BE):
            return f"28-byte address with family bytes {fam.hex()}, expected AF_INET6 (0a00)"
        return None

    def decode(self, data: bytes) -> SockAddr:
        port = int.from_bytes(data[2:4], "big")
        if len(data) == 16:
            return SockAddr(str(ipaddress.IPv4Address(bytes(data[4:8]))), port)
        return SockAddr(str(ipaddress.IPv6Address(bytes(data[8:24]))), port)

    def encode(self, value: Any) -> bytes:
        try:
            host, port = value
            ip = ipaddress.ip_address(host)
            port = int(port)
        except (TypeError, ValueError) as err:
            raise EncodeError(f"APPARENT_ADDR needs (host, port), got {value!r}: {err}") from None
        if not 0 <= port <= 0xFFFF:
            raise EncodeError(f"port {port} out of range")
        if ip.version == 4:
            return _AF_INET_LE + port.to_bytes(2, "big") + ip.packed + bytes(8)
        return _AF_INET6_LE + port.to_bytes(2, "big") + bytes(4) + ip.packed + bytes(4)

    def json(self, value: Any) -> Any:
        return str(value)

    def text(self, value: Any) -> str:
        return str(value)


class DateTimeKind(Kind):
    """DATETIME: u32 packing seconds/2, minutes, hours, day, month, year-2000 (RFC 5456 §8.6.28).

    The value is a naive ``datetime`` (RFC says UTC, Asterisk sends its local time); seconds
    are stored with 2-second resolution (odd seconds round down when encoding).
    """

    name = "datetime"

    def __init__(self) -> None:
        self.lengths = frozenset({4})

    @staticmethod
    def _fields(v: int) -> tuple[int, int, int, int, int, int]:
        return ((v >> 25) + 2000, (v >> 21) & 0xF, (v >> 16) & 0x1F,
                (v >> 11) & 0x1F, (v >> 5) & 0x3F, (v & 0x1F) * 2)

    def check(self, data: bytes) -> str | None:
        fields = self._fields(int.from_bytes(data, "big"))
        try:
            _dt.datetime(*fields)
        except ValueError:
            y, mo, d, h, mi, s = fields
            return f"invalid date/time fields {y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}"
        return None

    def decode(self, data: bytes) -> _dt.datetime:
        return _dt.datetime(*self._fields(int.from_bytes(data, "big")))

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, _dt.datetime):
            raise EncodeError(f"DATETIME needs a datetime, got {type(value).__name__}")
        if not 2000 <= value.year <= 2127:
            raise EncodeError(f"DATETIME year {value.year} outside 2000..2127")
        v = ((value.year - 2000) << 25 | value.month << 21 | value.day << 16 | value.hour << 11
             | value.minute << 5 | value.second // 2)
        return v.to_bytes(4, "big")

    def json(self, value: Any) -> Any:
        return value.isoformat()

    def text(self, value: Any) -> str:
        return value.isoformat(sep=" ")


class OspKind(Kind):
    """OSPTOKEN: one block number byte followed by up to 254 bytes of token."""

    name = "osp"

    def __init__(self) -> None:
        self.lengths = frozenset(range(1, 256))

    def decode(self, data: bytes) -> OspBlock:
        return OspBlock(data[0], bytes(data[1:]))

    def encode(self, value: Any) -> bytes:
        try:
            block, data = value
            return bytes([block]) + bytes(data)
        except (TypeError, ValueError) as err:
            raise EncodeError(f"OSPTOKEN needs (block, bytes), got {value!r}: {err}") from None

    def json(self, value: Any) -> Any:
        return {"block": value.block, "data": value.data.hex()}

    def text(self, value: Any) -> str:
        return f"block {value.block}: {value.data.hex()}"


STR, RAW, EMPTY, TOKEN = StrKind(), RawKind(), EmptyKind(), TokenKind()
U8, U16, U32 = UIntKind(1), UIntKind(2), UIntKind(4)


@dataclass(frozen=True)
class IESpec:
    """One row of the IE table."""

    id: int
    name: str
    kind: Kind


_T = IEType
#: The IE table: every IE 1-57 declared once.
IE_TABLE: tuple[IESpec, ...] = tuple(IESpec(int(t), t.name, k) for t, k in [
    (_T.CALLED_NUMBER, STR), (_T.CALLING_NUMBER, STR), (_T.CALLING_ANI, STR),
    (_T.CALLING_NAME, STR), (_T.CALLED_CONTEXT, STR), (_T.USERNAME, STR), (_T.PASSWORD, STR),
    (_T.CAPABILITY, UIntKind(4, MediaFormat)), (_T.FORMAT, UIntKind(4, MediaFormat)),
    (_T.LANGUAGE, STR), (_T.VERSION, U16), (_T.ADSICPE, U16), (_T.DNID, STR),
    (_T.AUTHMETHODS, UIntKind(2, AuthMethod)), (_T.CHALLENGE, STR), (_T.MD5_RESULT, STR),
    (_T.RSA_RESULT, STR), (_T.APPARENT_ADDR, AddrKind()), (_T.REFRESH, U16),
    (_T.DPSTATUS, UIntKind(2, DPStatus)), (_T.CALLNO, U16), (_T.CAUSE, STR),
    (_T.IAX_UNKNOWN, U8), (_T.MSGCOUNT, UIntKind(2, MsgCount)), (_T.AUTOANSWER, EMPTY),
    (_T.MUSICONHOLD, STR), (_T.TRANSFERID, U32), (_T.RDNIS, STR), (_T.PROVISIONING, RAW),
    (_T.AESPROVISIONING, RAW), (_T.DATETIME, DateTimeKind()), (_T.DEVICETYPE, STR),
    (_T.SERVICEIDENT, STR), (_T.FIRMWAREVER, U16), (_T.FWBLOCKDESC, U32),
    (_T.FWBLOCKDATA, RAW), (_T.PROVVER, U32), (_T.CALLINGPRES, U8), (_T.CALLINGTON, U8),
    (_T.CALLINGTNS, U16), (_T.SAMPLINGRATE, UIntKind(2, SamplingRate)), (_T.CAUSECODE, U8),
    (_T.ENCRYPTION, UIntKind(2, Encryption)), (_T.ENCKEY, RAW), (_T.CODEC_PREFS, STR),
    (_T.RR_JITTER, U32), (_T.RR_LOSS, UIntKind(4, RRLoss)), (_T.RR_PKTS, U32),
    (_T.RR_DELAY, U16), (_T.RR_DROPPED, U32), (_T.RR_OOO, U32), (_T.VARIABLE, STR),
    (_T.OSPTOKEN, OspKind()), (_T.CALLTOKEN, TOKEN), (_T.CAPABILITY2, Format2Kind()),
    (_T.FORMAT2, Format2Kind()), (_T.CALLINGANI2, U32),
])

SPECS: dict[int, IESpec] = {s.id: s for s in IE_TABLE}
assert set(SPECS) == set(range(1, 58)), "IE table must cover 1..57"

# Per-number lookup lists, indexed by the IE byte: the id (an IEType member for known IEs) and
# the kind (None for unknown IEs).
_IDS: list[int] = [IEType(i) if i in SPECS else i for i in range(256)]
_KINDS: list[Kind | None] = [SPECS[i].kind if i in SPECS else None for i in range(256)]


def ie_name(ie_id: int) -> str:
    """RFC name of an IE number, or ``IE_<n>`` for numbers outside the table."""
    spec = SPECS.get(ie_id)
    return spec.name if spec else f"IE_{ie_id}"


def _has_own_check(kind: Kind | None) -> bool:
    """True if ``kind`` overrides ``Kind.check`` (checks more than the data length)."""
    return kind is not None and type(kind).check is not Kind.check


def _validator(kind: Kind | None) -> Callable[[bytes], str | None] | None:
    if kind is None:
        return None
    lengths = kind.lengths
    extra = kind.check if _has_own_check(kind) else None
    if lengths is None and extra is None:
        return None

    def validate(data: bytes) -> str | None:
        if lengths is not None and len(data) not in lengths:
            allowed = sorted(lengths)
            want = (f"{allowed[0]}" if len(allowed) == 1 else
                    f"{allowed[0]}..{allowed[-1]}" if allowed == list(range(allowed[0], allowed[-1] + 1))
                    else " or ".join(map(str, allowed)))
            return f"data length {len(data)}, expected {want}"
        return extra(data) if extra is not None else None
    return validate


#: [IE number] → the IE's validator (None: any data up to 255 bytes will do).
_VALIDATE: list[Callable[[bytes], str | None] | None] = [_validator(k) for k in _KINDS]


def _problem(ie_id: int, data: bytes) -> str | None:
    """What is wrong with ``data`` as the data of IE ``ie_id`` (its length or form), or None."""
    check = _VALIDATE[ie_id]
    return check(data) if check is not None else None


#: Default ``value`` of ``IE(...)``: "none given" (None is a value an EMPTY IE takes).
_NOVALUE = object()


class IE(tuple[int, bytes]):
    """One information element: ``IE(IEType.CALLED_NUMBER, "6000")``.

    Immutable ``(id, data)`` pair; ``value`` is the typed value, ``name`` the RFC name.
    Unknown IE numbers take (and give back) raw bytes. Equality compares id and wire data.
    """

    __slots__ = ()

    def __new__(cls, id: int, value: object = _NOVALUE) -> IE:
        if isinstance(id, bool) or not isinstance(id, int) or not 0 <= id <= 255:
            raise EncodeError(f"IE number must be 0..255, got {id!r}")
        kind = _KINDS[id]
        if value is _NOVALUE:
            value = None if kind is EMPTY else b""
        try:
            data = (kind or RAW).encode(value)
        except EncodeError as err:
            raise EncodeError(f"IE {ie_name(id)}: {err}") from None
        if len(data) > 255:
            raise EncodeError(f"IE {ie_name(id)}: {len(data)} bytes of data, at most 255 fit")
        problem = _problem(id, data)
        if problem:
            raise EncodeError(f"IE {ie_name(id)}: {problem}")
        return _wire_ie(id, data)

    @classmethod
    def from_data(cls, id: int, data: bytes) -> IE:
        """Build from raw wire data, validating it like ``decode`` does (raises DecodeError)."""
        if not 0 <= id <= 255 or len(data) > 255:
            raise DecodeError(f"IE {id} with {len(data)} bytes cannot be represented")
        problem = _problem(id, data)
        if problem:
            raise DecodeError(problem, ie=ie_name(id))
        return _wire_ie(id, bytes(data))

    @property
    def id(self) -> int:
        """IE number (an IEType when known)."""
        return self[0]

    @property
    def data(self) -> bytes:
        """The IE's wire data (without the 2-byte header)."""
        return self[1]

    @property
    def name(self) -> str:
        """RFC name, e.g. ``"CALLED_NUMBER"``."""
        return ie_name(self[0])

    @property
    def value(self) -> Any:
        """The typed value (str, int, MediaFormat, datetime, SockAddr, bytes ...)."""
        return ie_value(self)

    @property
    def known(self) -> bool:
        """True if the IE number is in the table."""
        return _KINDS[self[0]] is not None

    def encode(self) -> bytes:
        """The IE on the wire: id, length, data."""
        return bytes((self[0], len(self[1]))) + self[1]

    def to_json(self) -> dict[str, Any]:
        """``{"id": n, "name": "...", "value": ...}`` as in ``iaxsim decode --json``."""
        kind = _KINDS[self[0]] or RAW
        return {"id": int(self[0]), "name": self.name, "value": kind.json(kind.decode(self[1]))}

    def text(self) -> str:
        """Human-readable ``NAME=value``."""
        kind = _KINDS[self[0]] or RAW
        return f"{self.name}={kind.text(kind.decode(self[1]))}"

    def __repr__(self) -> str:
        return f"IE({self.name}, {self.value!r})"

    def __reduce__(self) -> tuple[Callable[[int, bytes], IE], tuple[int, bytes]]:
        # IE(id, value) takes a typed value, so a pickled IE is rebuilt from its wire data
        return (_wire_ie, (int(self[0]), self[1]))


def _wire_ie(ie_id: int, data: bytes) -> IE:
    """The IE with number ``ie_id`` and wire data ``data``, taken as valid (not checked)."""
    return tuple.__new__(IE, (_IDS[ie_id], data))


# --- memos -------------------------------------------------------------------------------------
# IEs and their values are immutable, and a simulation sends the same few IEs over and over, so
# the work on them is done once per distinct IE: the typed value of an IE, the IE parsed from
# its wire bytes, the IEs of a whole block, an IE's wire bytes when sent. Each memo is bounded:
# emptied when it is full.

#: Entries each memo holds at most.
MEMO_LIMIT = 4096
#: IE → its typed value (str, bytes, int and int enums, datetime, named tuples: all immutable).
_VALUES: dict[IE, Any] = {}
#: One IE's wire bytes (2-byte header included) → the validated IE.
_IE_MEMO: dict[bytes, IE] = {}
#: The wire bytes of a whole IE block → its IEs, every one validated.
_BLOCK_MEMO: dict[bytes, tuple[IE, ...]] = {}
#: An IE → its wire bytes (2-byte header and data), made the first time it is sent.
_WIRE: dict[IE, bytes] = {}

_K = TypeVar("_K")
_V = TypeVar("_V")


def _remember(memo: dict[_K, _V], key: _K, value: _V) -> None:
    """``memo[key] = value``, emptying the memo first when it holds MEMO_LIMIT entries."""
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[key] = value


def clear_memos() -> None:
    """Forget every memoized IE, IE block and IE value (results do not change)."""
    _VALUES.clear()
    _IE_MEMO.clear()
    _BLOCK_MEMO.clear()
    _WIRE.clear()


def ie_value(item: IE) -> Any:
    """``item.value``: the typed value of an IE, worked out once per distinct IE."""
    try:
        value = _VALUES.get(item, _NOVALUE)
    except TypeError:  # a hand-made IE holding unhashable data: nothing to remember
        return _decode_value(item)
    if value is _NOVALUE:
        value = _decode_value(item)
        _remember(_VALUES, item, value)
    return value


def _decode_value(item: IE) -> Any:
    kind = _KINDS[item[0]] or RAW
    return kind.decode(item[1])


# --- IE blocks -----------------------------------------------------------------------------------


def parse_ies(data: bytes, start: int = 0) -> list[IE]:
    """Walk the IEs in ``data[start:]``, validating each IE's length and form.

    Raises DecodeError (with the offset and IE name) on a truncated header, a length that
    runs past the end, or a typed IE of the wrong size or form.
    """
    return list(ie_block(data, start))


def ie_block(data: bytes, start: int = 0) -> tuple[IE, ...]:
    """``parse_ies`` as a tuple: the IEs of ``data[start:]``. A block seen before is not
    walked again (only blocks that parsed without error are remembered)."""
    block = data[start:]
    if type(block) is not bytes:  # a bytearray or memoryview: hashable bytes for the memo
        block = bytes(block)
    found = _BLOCK_MEMO.get(block)
    if found is None:
        found = _walk(block, start)
        _remember(_BLOCK_MEMO, block, found)
    return found


def _walk(block: bytes, base: int) -> tuple[IE, ...]:
    """The IEs of ``block`` (which starts at offset ``base`` of the datagram), each validated
    unless its wire bytes were seen before."""
    ies: list[IE] = []
    n = len(block)
    pos = 0
    while pos < n:
        if pos + 2 > n:
            raise DecodeError(f"truncated IE header ({n - pos} byte left, need 2)",
                              offset=base + pos, ie=ie_name(block[pos]))
        iid, ln = block[pos], block[pos + 1]
        end = pos + 2 + ln
        if end > n:
            raise DecodeError(f"length {ln} runs past the end of the datagram "
                              f"({n - pos - 2} bytes left)", offset=base + pos, ie=ie_name(iid))
        wire = block[pos:end]
        item = _IE_MEMO.get(wire)
        if item is None:
            data = wire[2:]
            problem = _problem(iid, data)
            if problem:
                raise DecodeError(problem, offset=base + pos, ie=ie_name(iid))
            item = _wire_ie(iid, data)
            _remember(_IE_MEMO, wire, item)
        ies.append(item)
        pos = end
    return tuple(ies)


def encode_ies(ies: Iterable[IE]) -> bytes:
    """Concatenate IEs as they go on the wire (order and duplicates kept)."""
    return encode_ies_after(b"", ies)


def encode_ies_after(head: bytes, ies: Iterable[IE]) -> bytes:
    """``head + encode_ies(ies)``, joined once (a full frame's header and its IEs)."""
    parts = [head]
    wire = _WIRE
    for item in ies:
        # (a plain tuple equals the IE it spells, so only an IE is looked up)
        try:
            found = wire.get(item) if item.__class__ is IE else None
        except TypeError:  # a hand-made IE holding unhashable data
            found = None
        parts.append(found if found is not None else _ie_wire(item))
    return b"".join(parts)


def _ie_wire(item: IE) -> bytes:
    """One IE's wire bytes (remembered when it is an IE); EncodeError when ``item`` is not an
    IE or does not fit."""
    if not isinstance(item, IE):
        raise EncodeError(f"expected an IE, got {item!r}")
    iid, data = item
    ln = len(data)
    if not (0 <= iid <= 255 and ln <= 255):  # only a hand-made IE tuple gets here
        raise EncodeError(f"IE {iid} with {ln} bytes of data: number and length must be 0..255")
    encoded = bytes((iid, ln)) + data
    try:
        _remember(_WIRE, item, encoded)
    except TypeError:  # a hand-made IE holding unhashable data: nothing to remember
        pass
    return encoded


def calltoken_last(ies: list[IE]) -> list[IE]:
    """Return ``ies`` with any CALLTOKEN IE moved to the end (Asterisk appends it last)."""
    others = [ie for ie in ies if ie[0] != IEType.CALLTOKEN]
    tokens = [ie for ie in ies if ie[0] == IEType.CALLTOKEN]
    return others + tokens
