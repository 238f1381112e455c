"""Asterisk extension patterns: compilation, the three match modes and the sort key.

Theory of operation (facts from Asterisk's ``main/pbx.c``):

* An extension is a *literal* unless it starts with ``_``.  ``-`` is "eye candy" and is
  ignored everywhere except inside ``[...]`` sets, in the extension and in the dialled string.
* Pattern positions: ``X`` 0-9, ``Z`` 1-9, ``N`` 2-9 (any case), ``[...]`` a set with ``a-b``
  ranges, ``.`` one or more of anything, ``!`` zero or more of anything; any other character
  matches itself.  ``.`` decides "match" as soon as it meets a character; ``!`` answers the
  special value 2 ("early match") which turns MATCHMORE into a final *no*
  (``_extension_match_core``).
* Precedence (``ext_cmp``): literals before patterns, literals compared as strings; patterns
  compared position by position with a per-position score ``(set size << 8) | lowest char``
  (``.`` 0x18000, ``!`` 0x28000, end 0x30000, broken set 0x40000), ties broken by the set's
  membership bitmap, lower characters first (``ext_cmp_pattern_pos``).

A compiled pattern keeps two views: the *elements* used for matching and the *positions*
used for sorting.  They line up one to one for every ordinary pattern ("regular"); the
corner cases where Asterisk's matcher and sorter read a pattern differently (an empty or
reversed set, an unclosed ``[``, a ``/``) are marked irregular so the trie engine can hand
them to the linear rules.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from iaxsim.dialplan.errors import DialplanError, type_name

__all__ = [
    "MatchMode",
    "CompiledPattern",
    "compile_pattern",
    "match",
    "sort_key",
    "strip_fluff",
    "shrink_phone_number",
]


class MatchMode(enum.IntEnum):
    """Asterisk's ``enum ext_match_t`` values for the three matching actions."""

    MATCHMORE = 0
    CANMATCH = 1
    MATCH = 2

    @classmethod
    def parse(cls, mode: "MatchMode | str | int") -> "MatchMode":
        """Accept a MatchMode, its name in any case (``"match"``) or its number; anything
        else is a DialplanError (a ValueError)."""
        if isinstance(mode, MatchMode):
            return mode
        if isinstance(mode, str):
            try:
                return cls[mode.strip().upper()]
            except KeyError:
                pass
        else:
            try:
                return cls(mode)
            except (ValueError, TypeError):
                pass
        raise DialplanError(f"unknown match mode {mode!r} (match, canmatch, matchmore)")


# Short names for the matchers.
MATCHMORE: Final = MatchMode.MATCHMORE
CANMATCH: Final = MatchMode.CANMATCH
MATCH: Final = MatchMode.MATCH

#: A matcher element: (kind, characters).
Element = tuple[int, str]
#: Asterisk's precedence key of an extension: (0, literal bytes) or (1, sort positions).
Key = tuple[object, ...]


# Element kinds used by the matcher.
SET = 0      # one character out of a set (literal chars, N, X, Z, [...])
DOT = 1      # '.'  one or more of anything: answers 1 as soon as data remains
BANG = 2     # '!'  zero or more: answers 2 ("early match")
EMPTY = 3    # '[]' skipped while data remains, "partial" when data ran out on it
FAIL = 4     # '[' without ']': unconditional failure once reached with data
SLOW = -1    # (token tables only) a token the fast compiler leaves to the full one

# Per-position sort scores (ext_cmp_pattern_pos).
SCORE_DOT = 0x18000
SCORE_BANG = 0x28000
SCORE_END = 0x30000
SCORE_BROKEN = 0x40000
_ALL = (1 << 256) - 1
# A position key packs (score, inverted bitmap) in one int: lower sorts first.
END_KEY = SCORE_END << 256 | _ALL
DOT_KEY = SCORE_DOT << 256 | _ALL
BANG_KEY = SCORE_BANG << 256 | _ALL
BROKEN_KEY = SCORE_BROKEN << 256 | _ALL

_DIGITS = "0123456789"
_CLASS_CHARS = {"N": "23456789", "X": _DIGITS, "Z": "123456789"}


def _bit(c: int) -> int:
    """Bit of character code ``c`` in Asterisk's 32-byte membership map read as one integer."""
    return 1 << (255 - c)


def _charset_key(codes: "list[int] | set[int]", cmin: int) -> int:
    mask = 0
    for c in codes:
        mask |= _bit(c)
    return ((len(codes) << 8) | cmin) << 256 | (_ALL ^ mask)


_CLASS_KEYS = {
    "N": _charset_key(set(range(ord("2"), ord("9") + 1)), ord("2")),
    "X": _charset_key(set(range(ord("0"), ord("9") + 1)), ord("0")),
    "Z": _charset_key(set(range(ord("1"), ord("9") + 1)), ord("1")),
}


def strip_fluff(text: str) -> str:
    """Remove the ``-`` "eye candy" from a dialled string (Asterisk ignores it when matching)."""
    return text.replace("-", "") if "-" in text else text


def shrink_phone_number(cid: str) -> str:
    """Clean a caller-ID match the way ``ast_shrink_phone_number`` does.

    Drops ``(``, ``)``, spaces, ``-`` outside sets and any ``.`` that is not the last character.
    """
    out = []
    bracketed = 0
    for i, ch in enumerate(cid):
        if ch == "[":
            bracketed += 1
            out.append(ch)
        elif ch == "]":
            bracketed -= 1
            out.append(ch)
        elif ch == "-":
            if bracketed:
                out.append(ch)
        elif ch == ".":
            if i == len(cid) - 1:
                out.append(ch)
        elif ch not in "( )":
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class CompiledPattern:
    """An extension (or caller-ID match) compiled for matching and sorting.

    ``text`` is the extension with ``-`` fluff removed (literals) or as stored (patterns);
    ``elements`` is the matcher's view (kind, chars); ``positions`` the sorter's view
    (one int per position, END_KEY last); ``regular`` says both views line up.
    """

    text: str
    is_pattern: bool
    elements: tuple[Element, ...]
    positions: tuple[int, ...]
    regular: bool
    key: Key

    def __repr__(self) -> str:  # short, for test output
        return f"CompiledPattern({self.text!r})"



def _parse_set_for_match(body: str) -> str:
    """Characters of a ``[...]`` body as the matcher reads it (ranges need a char on each side)."""
    chars: list[str] = []
    i = 0
    n = len(body)
    while i < n:
        if i + 2 < n and body[i + 1] == "-":
            lo, hi = ord(body[i]), ord(body[i + 2])
            chars.extend(chr(c) for c in range(lo, hi + 1))
            i += 3
        else:
            chars.append(body[i])
            i += 1
    return "".join(dict.fromkeys(chars))


def _elements(body: str) -> tuple[tuple[Element, ...], bool]:
    """Matcher elements of a pattern body (after ``_``) and whether it hit ``/``."""
    elems: list[Element] = []
    i = 0
    n = len(body)
    while i < n:
        ch = body[i]
        if ch == "-":
            i += 1
            continue
        if ch == "/":
            return tuple(elems), True
        if ch == "[":
            end = body.find("]", i + 1)
            if end < 0:
                elems.append((FAIL, ""))
                return tuple(elems), False
            inner = body[i + 1:end]
            if not inner:
                elems.append((EMPTY, ""))
            else:
                elems.append((SET, _parse_set_for_match(inner)))
            i = end + 1
            continue
        up = ch.upper()
        if up in _CLASS_CHARS:
            elems.append((SET, _CLASS_CHARS[up]))
        elif ch == ".":
            elems.append((DOT, ""))
        elif ch == "!":
            elems.append((BANG, ""))
        else:
            elems.append((SET, ch))
        i += 1
    return tuple(elems), False


@lru_cache(maxsize=4096)
def _set_position(body: bytes) -> tuple[int, int]:
    """(count, key) of a set body as ``ext_cmp_pattern_pos`` scores it (count 0 = empty)."""
    codes: set[int] = set()
    cmin = 0xFF
    i = 0
    n = len(body)
    while i < n:
        c1 = body[i]
        if i + 2 < n and body[i + 1] == 0x2D:  # '-'
            c2 = body[i + 2]
            i += 3
        else:
            c2 = c1
            i += 1
        if c1 < cmin:
            cmin = c1
        codes.update(range(c1, c2 + 1))
    if not codes:
        return 0, 0
    return len(codes), _charset_key(codes, cmin)


def _positions(body: str) -> tuple[tuple[int, ...], bool]:
    """Sort positions of a pattern body (after ``_``), END_KEY last; and a 'skipped set' flag."""
    data = body.encode("utf-8", "surrogateescape")
    keys: list[int] = []
    skipped = False
    i = 0
    n = len(data)
    while True:
        while i < n and data[i] == 0x2D:
            i += 1
        if i >= n:
            keys.append(END_KEY)
            return tuple(keys), skipped
        c = data[i]
        i += 1
        if c == 0x5B:  # '['
            end = data.find(b"]", i)
            if end < 0:
                keys.append(BROKEN_KEY)
                continue
            count, key = _set_position(bytes(data[i:end]))
            i = end + 1
            if count == 0:
                skipped = True
                continue
            keys.append(key)
            continue
        up = chr(c).upper() if c < 128 else ""
        if up in _CLASS_KEYS:
            keys.append(_CLASS_KEYS[up])
        elif c == 0x2E:
            keys.append(DOT_KEY)
        elif c == 0x21:
            keys.append(BANG_KEY)
        else:
            keys.append(_CHAR_KEYS[c])


_CHAR_KEYS = tuple((0x0100 | c) << 256 | (_ALL ^ _bit(c)) for c in range(256))


_TOKEN = re.compile(r"\[[^\]]*\]|.", re.S)
#: (element or None, position key or None, regular) of one pattern token
TokenInfo = tuple["Element | None", "int | None", bool]
_TOKENS: dict[str, TokenInfo] = {}


def _token(tok: str) -> TokenInfo:
    """(element or None, position key or None, regular) of one pattern token, cached; the
    element's kind is SLOW for a token only the full compiler reads."""
    info = _TOKENS.get(tok)
    if info is not None:
        return info
    if tok == "-":
        info = (None, None, True)
    elif tok in ("[", "/") or not tok.isascii():
        info = ((SLOW, ""), None, False)
    elif tok.startswith("["):
        inner = tok[1:-1]
        if not inner:
            info = ((EMPTY, ""), None, False)
        else:
            count, key = _set_position(inner.encode())
            chars = _parse_set_for_match(inner)
            info = ((SET, chars), key, True) if count else ((SET, chars), None, False)
    elif tok.upper() in _CLASS_CHARS:
        info = ((SET, _CLASS_CHARS[tok.upper()]), _CLASS_KEYS[tok.upper()], True)
    elif tok == ".":
        info = ((DOT, ""), DOT_KEY, True)
    elif tok == "!":
        info = ((BANG, ""), BANG_KEY, True)
    else:
        info = ((SET, tok), _CHAR_KEYS[ord(tok)], True)
    _TOKENS[tok] = info
    return info


def _simple_tables() -> tuple[dict[str, Element], dict[str, int]]:
    """Element and position key of every printable character that is one token alone."""
    elems: dict[str, Element] = {}
    keys: dict[str, int] = {}
    for c in (chr(i) for i in range(33, 127)):
        if c not in "[]-/":
            elem, key, _ = _token(c)
            if elem is not None and key is not None:
                elems[c] = elem
                keys[c] = key
    return elems, keys


_SIMPLE_ELEM, _SIMPLE_KEY = _simple_tables()
_SIMPLE_CHARS = frozenset(_SIMPLE_ELEM)
_REG_ELEM: dict[str, Element] = dict(_SIMPLE_ELEM)  # regular tokens seen so far (grows)
_REG_KEY: dict[str, int] = dict(_SIMPLE_KEY)


def _compile_fast(text: str) -> "CompiledPattern | None":
    body = text[1:]
    if _SIMPLE_CHARS.issuperset(body):  # only plain characters, N/X/Z, '.', '!'
        positions = tuple(map(_SIMPLE_KEY.__getitem__, body)) + (END_KEY,)
        return CompiledPattern(text, True, tuple(map(_SIMPLE_ELEM.__getitem__, body)), positions, True, (1, positions))
    toks = _TOKEN.findall(text, 1)
    if "-" not in body:
        try:
            positions = tuple(map(_REG_KEY.__getitem__, toks)) + (END_KEY,)
            return CompiledPattern(text, True, tuple(map(_REG_ELEM.__getitem__, toks)), positions, True, (1, positions))
        except KeyError:
            pass
    infos = [_TOKENS.get(t) or _token(t) for t in toks]
    for t, (elem, key, reg) in zip(toks, infos):
        if reg and elem is not None and key is not None:
            _REG_ELEM[t] = elem
            _REG_KEY[t] = key
    elems: list[Element] = []
    keys: list[int] = []
    regular = True
    for elem, key, reg in infos:
        if elem is not None and elem[0] == SLOW:
            return None
        if elem is not None:
            elems.append(elem)
        if key is not None:
            keys.append(key)
        if not reg:
            regular = False
    keys.append(END_KEY)
    positions = tuple(keys)
    return CompiledPattern(text, True, tuple(elems), positions, regular, (1, positions))


@lru_cache(maxsize=1 << 17)
def compile_pattern(text: str) -> CompiledPattern:
    """Compile a stored extension (spaces already removed) for matching and sorting."""
    if not isinstance(text, str):
        raise DialplanError(f"an extension pattern must be a string, not {type_name(text)}")
    if not text.startswith("_"):
        clean = strip_fluff(text)
        key = (0, clean.encode("utf-8", "surrogateescape"))
        return CompiledPattern(clean, False, (), (), True, key)
    fast = _compile_fast(text)
    if fast is not None:
        return fast
    body = text[1:]
    elems, slash = _elements(body)
    positions, skipped = _positions(body)
    regular = not slash and not skipped and all(k in (SET, DOT, BANG) for k, _ in elems)
    if regular and len(elems) + 1 != len(positions):  # defensive: views must line up
        regular = False
    return CompiledPattern(text, True, elems, positions, regular, (1, positions))


def sort_key(text: str) -> Key:
    """Asterisk's precedence key (``ext_cmp``): sorting by it gives the context order."""
    if not isinstance(text, str):
        raise DialplanError(f"an extension pattern must be a string, not {type_name(text)}")
    return compile_pattern(text).key


def match_elements(elems: tuple[Element, ...], data: str, mode: MatchMode) -> tuple[int, int]:
    """Run ``_extension_match_core`` on pattern elements; returns (result 0/1/2, chars compared)."""
    i = 0
    nd = len(data)
    for kind, chars in elems:
        if i == nd:
            if kind == BANG:
                return 2, i
            return (0 if mode == MATCH else 1), i
        if kind == SET:
            if data[i] not in chars:
                return 0, i + 1
            i += 1
        elif kind == DOT:
            return 1, i + 1
        elif kind == BANG:
            return 2, i + 1
        elif kind == EMPTY:
            continue
        else:  # FAIL
            return 0, i + 1
    if i < nd:
        return 0, i + 1
    return (0 if mode == MATCHMORE else 1), i


def match_literal(text: str, data: str, mode: MatchMode) -> tuple[int, int]:
    """Literal-extension rule of ``_extension_match_core``; returns (result, chars compared)."""
    lp = len(text)
    ld = len(data)
    if lp < ld:
        return 0, 0
    if mode == MATCH:
        if text == data:
            return 1, ld
        return 0, _common_prefix(text, data) + 1
    if ld == 0 or text.startswith(data):
        if mode == MATCHMORE:
            return (1 if lp > ld else 0), ld
        return 1, ld
    return 0, _common_prefix(text, data) + 1


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def match_compiled(pat: CompiledPattern, data: str, mode: MatchMode) -> tuple[int, int]:
    """Match a dialled string (fluff already stripped) against a compiled extension."""
    if not pat.is_pattern:
        return match_literal(pat.text, data, mode)
    if mode == MATCH and data.startswith("_"):
        # Asterisk first compares data and pattern as two patterns (pbx.c: "_x. matches _x.").
        if compile_pattern(data).positions == pat.positions:
            return 1, len(data)
    return match_elements(pat.elements, data, mode)


def match(pattern: str, number: str, mode: MatchMode | str | int = MatchMode.MATCH) -> int:
    """Asterisk's ``_extension_match_core``: 0 no, 1 yes, 2 early match (``!``).

    >>> match("_6XXX", "6001"), match("_6XXX", "60", "canmatch"), match("_6X!", "60", "matchmore")
    (1, 1, 2)
    """
    m = MatchMode.parse(mode)
    if not isinstance(pattern, str) or not isinstance(number, str):
        raise DialplanError(f"pattern and number must be strings, not {type_name(pattern)}/{type_name(number)}")
    clean = pattern.replace(" ", "")
    return match_compiled(compile_pattern(clean), strip_fluff(number), m)[0]


def exten_cmp(a: str, b: str) -> int:
    """``ast_extension_cmp``: -1, 0 or 1 as ``a`` sorts before, equal to or after ``b``."""
    ka, kb = sort_key(a), sort_key(b)
    return (ka > kb) - (ka < kb)
