"""The linear matcher: Asterisk's default (``extenpatternmatchnew=no``) walk of a sorted context.

For each extension in precedence order: test the pattern; skip it on no match or when its
caller-ID match fails; a ``!`` early match in MATCHMORE mode is a final *no* for the whole
context; otherwise the extension answers if it has the requested priority, else the walk
goes on (``pbx_find_extension``, the ``else`` branch of ``extenpatternmatchnew``).

What the walk counts is what a linear lookup costs: ``comparisons`` one per extension whose
pattern is tested, ``chars_compared`` the dialled characters each test compared (as
``_extension_match_core`` reads them, see :func:`iaxsim.dialplan.patterns.match_compiled`).

A walk answers ``(answer, decider)``: ``(ext, ext)`` when ``ext`` answers, ``(None, ext)`` when
the ``!`` pattern ``ext`` ended a MATCHMORE search with a final *no*, ``(None, None)`` when
nothing decided (the search goes on to the context's switches and includes).
"""
from __future__ import annotations

from typing import Final

from iaxsim.dialplan.model import Extension, LookupCost
from iaxsim.dialplan.patterns import MATCH, MATCHMORE, Key, MatchMode, match_compiled, strip_fluff

#: What a walk answers: (answer, deciding extension); see the module's docstring.
Answer = tuple[Extension | None, Extension | None]
NOTHING: Final[Answer] = (None, None)

# decide()'s verdicts
GO_ON: Final = 0
TAKE: Final = 1
FINAL: Final = 2  # a '!' pattern ended a MATCHMORE search with "no"


def cid_ok(ext: Extension, callerid: str | None) -> bool:
    """``matchcid``: an empty caller ID only satisfies an empty CID match."""
    cc = ext.cid_compiled
    if ext.cid is None or cc is None:
        return True
    if not callerid:
        return ext.cid == ""
    return match_compiled(cc, strip_fluff(callerid), MATCH)[0] != 0


def decide(ext: Extension, result: int, mode: MatchMode, callerid: str | None, priority: int) -> int:
    """What the walk does with a matching extension: TAKE it, FINAL (stop with no), or GO_ON."""
    if ext.cid is not None and not cid_ok(ext, callerid):
        return GO_ON
    if result == 2 and mode == MATCHMORE:
        return FINAL
    if priority in ext._numbers:
        return TAKE
    return GO_ON


def search(exts: list[Extension], data: str, mode: MatchMode, callerid: str | None,
           priority: int, cost: LookupCost, stop_key: Key | None = None) -> Answer:
    """Walk ``exts`` (sorted); returns (answer, deciding extension) as the module describes.

    Adds the extensions tested and the characters compared to ``cost``; the walk stops
    before the first extension whose sort key is not below ``stop_key``.
    """
    tested = 0
    chars = 0
    answer: Answer = NOTHING
    for ext in exts:
        if stop_key is not None and ext.sort_key >= stop_key:
            break
        tested += 1
        r, c = match_compiled(ext.compiled, data, mode)
        chars += c
        if r:
            verdict = decide(ext, r, mode, callerid, priority)
            if verdict == TAKE:
                answer = (ext, ext)
                break
            if verdict == FINAL:
                answer = (None, ext)
                break
    cost.comparisons += tested
    cost.chars_compared += chars
    return answer
