"""What every part of the engine shares: its error type, IE building, refusal causes, and the
timestamp rules of RFC 5456 §8.1.2 as chan_iax2.c applies them."""
from __future__ import annotations

import functools
from typing import Any, Callable, Optional

from iaxsim.errors import IaxsimError
from iaxsim.iax2.constants import IEType
from iaxsim.iax2.frames import FullFrame
from iaxsim.iax2.ies import IE
from iaxsim.iax2.media import FRAME_SIZES

#: Source call number of stateless ("apathetic") replies, as Asterisk uses it.
APATHETIC_CALLNO = 1
#: Asterisk's MAX_TIMESTAMP_SKEW: voice timestamps follow the predicted 20 ms grid within it.
MAX_TIMESTAMP_SKEW = 640

#: (CAUSE, CAUSECODE) of the refusals the engine sends itself (Q.931 codes, as Asterisk).
NO_AUTHORITY = ("No authority found", 50)
NO_EXTENSION = ("No such context/extension", 3)
NO_CODEC = ("Unable to negotiate codec", 58)
REG_REFUSED = ("Registration Refused", 29)
OUT_OF_ORDER = ("Max retries exceeded", 27)


class EngineError(IaxsimError, ValueError):
    """A command the endpoint cannot carry out (unknown call, wrong state, no call numbers)."""


#: IEs are immutable: the common ones (VERSION, FORMAT, CAUSECODE...) are built once.
_cached_ie = functools.lru_cache(maxsize=4096)(IE)


def ies(*pairs: tuple[IEType, Any]) -> list[IE]:
    """IEs for the ``(IE number, value)`` pairs whose value is not None, in order. A value
    that cannot go on the wire raises the codec's EncodeError naming the IE."""
    out = []
    for t, v in pairs:
        if v is not None:
            try:
                out.append(_cached_ie(t, v))
            except TypeError:  # an unhashable value cannot be cached: IE() says what is wrong
                out.append(IE(t, v))
    return out


def dp_bool(fn: Callable[..., Any], number: str, context: str,
            callerid: Optional[str] = None) -> bool:
    """A dialplan predicate (exists, canmatch, matchmore...) as a bool: one that takes no
    ``callerid`` is asked without it, one that fails answers False."""
    try:
        return bool(fn(number, context, callerid=callerid))
    except TypeError:
        return bool(fn(number, context))
    except (IaxsimError, KeyError, LookupError):
        return False


EMPTY_CALLTOKEN = IE(IEType.CALLTOKEN, b"")


def first_ies(f: FullFrame) -> dict[int, IE]:
    """The first IE of each number in ``f`` (what ``f.ie`` would find), in one pass."""
    first: dict[int, IE] = {}
    for item in f.ies:
        if item[0] not in first:
            first[item[0]] = item
    return first


def ie_value(first: dict[int, IE], ie_id: IEType) -> Any:
    """The value of IE ``ie_id`` among ``first_ies(f)``, or None."""
    item = first.get(ie_id)
    return item.value if item is not None else None


def voice_ms(fmt: int, nbytes: int) -> int:
    """Duration of a voice payload in ms (20 ms when the format's frame size is unknown)."""
    size = FRAME_SIZES.get(fmt)  # type: ignore[call-overload]
    if size is None or nbytes <= 0:
        return 20
    return max(1, (nbytes * size.ms) // size.nbytes)


def unwrap_timestamp(last: int, ts16: int) -> int:
    """Full 32-bit timestamp of a mini frame whose low 16 bits are ``ts16``, given the last
    full timestamp ``last`` received on the call (Asterisk unwrap_timestamp)."""
    ts = (last & ~0xFFFF) | ts16
    if ts < last - 0x8000:
        ts += 0x10000
    elif ts > last + 0x8000 and ts >= 0x10000:
        ts -= 0x10000
    return ts
