"""The linear matcher: Asterisk's default (``extenpatternmatchnew=no``) walk of a sorted context.

For each extension in precedence order: test the pattern; skip it on no match or when its
caller-ID match fails; a ``!`` early match in MATCHMORE mode is a final *no* for the whole
context; otherwise the extension answers if it has the requested priority, else the walk
goes on (``pbx_find_extension``, the ``else`` branch of ``extenpatternmatchnew``).
"""
from __future__ import annotations

from iaxsim.dialplan.model import Extension
from iaxsim.dialplan.patterns import MatchMode, match_compiled, strip_fluff

FINAL = "final"  # marker: a '!' pattern ended a MATCHMORE search with "no"


def cid_ok(ext: Extension, callerid: str | None) -> bool:
    """``matchcid``: an empty caller ID only satisfies an empty CID match."""
    if ext.cid is None:
        return True
    if not callerid:
        return ext.cid == ""
    return match_compiled(ext.cid_compiled, strip_fluff(callerid), MatchMode.MATCH)[0] != 0


def decide(ext: Extension, result: int, mode: int, callerid: str | None, priority: int):
    """What the walk does with a matching extension: the extension, FINAL, or None (go on)."""
    if ext.cid is not None and not cid_ok(ext, callerid):
        return None
    if result == 2 and mode == MatchMode.MATCHMORE:
        return FINAL
    if priority in ext._numbers:
        return ext
    return None


def search(exts: list[Extension], data: str, mode: int, callerid: str | None,
           priority: int, counter: list[int], stop_key: tuple | None = None):
    """Walk ``exts`` (sorted); returns (Extension | FINAL | None, the deciding extension).

    ``counter`` is ``[extensions tested, characters compared]``, updated in place; the walk
    stops before the first extension whose sort key is not below ``stop_key``.
    """
    tested = 0
    chars = 0
    try:
        for ext in exts:
            if stop_key is not None and ext.sort_key >= stop_key:
                break
            tested += 1
            r, c = match_compiled(ext.compiled, data, mode)
            chars += c
            if r:
                ev = decide(ext, r, mode, callerid, priority)
                if ev is not None:
                    return ev, ext
        return None, None
    finally:
        counter[0] += tested
        counter[1] += chars
