"""An index over one sorted context that answers the linear walk's question and counts its cost.

:func:`iaxsim.dialplan.linear.search` tests every extension of a context in order.  Most of
them fail on the first dialled characters, and such a failure does not depend on the rest
of the number: reading ``_extension_match_core`` as :mod:`iaxsim.dialplan.patterns`
transcribes it, an extension that fails at dialled position ``i`` (``i`` < the prefix length
``k`` <= the number's length) answers ``(0, i + 1)`` in every mode —

* a pattern fails there when position ``i`` meets a set without the character, a ``[`` left
  unclosed, or the end of its elements while characters remain; ``.``/``!`` answer a match
  as soon as they meet a character, so a pattern that reaches them within the prefix is
  kept; ``[]`` is skipped while characters remain;
* a literal at least as long as the number fails at its first character that differs from
  the number's (``i + 1`` compared); a literal shorter than the number fails at once with
  nothing compared (``(0, 0)``), whatever the characters.

So the outcome of every such extension depends only on the number's first ``k`` characters
and which literals are shorter than it: its length *class*, how many of the context's literal
lengths lie below the number's length.  A *bucket* for (first ``k`` characters, length class)
keeps the extensions those do not decide (the survivors) in sorted order, with their
positions and the characters the decided ones before each survivor compared.  A search walks
the survivors exactly as the plain walk does (``match_compiled`` and ``decide``) and adds the
decided ones up to where the walk stops in one step: the same answer, the same
``comparisons`` and the same ``chars_compared``.

Buckets are built lazily, each from the bucket one character shorter (the survivors that the
next character decides all compared ``k`` characters).  A number no longer than the prefix is
its own key: for it the index keeps, per mode, just the extensions that match it (what each
compared is then fixed too), so a search only asks ``decide`` about them.  The index falls
back to the plain walk for an empty number, a number starting with ``_`` (a MATCH compares it
with the patterns as a pattern) and a walk cut at a ``stop_key``.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Final

from iaxsim.dialplan import linear
from iaxsim.dialplan.model import Extension, LookupCost
from iaxsim.dialplan.patterns import BANG, DOT, EMPTY, SET, Key, MatchMode, match_compiled

__all__ = ["LinearIndex", "DEPTH"]

#: How many leading characters a bucket is keyed by (at most; fewer for shorter numbers).
DEPTH: Final = 3
#: Buckets kept per context before the index forgets them all and starts again.
MAX_BUCKETS: Final = 4096

# A survivor's state: the matcher element it waits at, or one of these.
_LITERAL: Final = -1   # a literal that agrees with the number so far
_MATCHED: Final = -2   # a pattern that met '.' or '!' within the prefix: it matches, whatever follows


@dataclass(frozen=True, slots=True)
class _Bucket:
    """The extensions not decided by a number's first ``depth`` characters, in sorted order.

    ``positions[j]`` is survivor ``j``'s place in the context, ``states[j]`` where its match
    stands after the prefix, ``skipped_chars[j]`` the characters compared by the decided
    extensions before it, ``total_chars`` those of all decided extensions.
    """

    depth: int
    exts: tuple[Extension, ...]
    positions: tuple[int, ...]
    states: tuple[int, ...]
    skipped_chars: tuple[int, ...]
    total_chars: int


@dataclass(frozen=True, slots=True)
class _Whole:
    """The extensions matching one whole number in one mode, in sorted order.

    ``results[j]`` is what matching answered (1 or 2), ``chars_before[j]`` the characters
    compared by every extension before survivor ``j`` and by ``j`` itself, ``total_chars``
    those of all extensions.
    """

    exts: tuple[Extension, ...]
    positions: tuple[int, ...]
    results: tuple[int, ...]
    chars_before: tuple[int, ...]
    total_chars: int


class LinearIndex:
    """Buckets over one context's sorted extensions; :meth:`search` is ``linear.search`` faster.

    ``exts`` is the context's sorted list; the index reads it as it is when built (a caller
    that changes the list makes a new index, see :meth:`fits`).
    """

    def __init__(self, exts: list[Extension], depth: int = DEPTH) -> None:
        if depth < 1:
            raise ValueError(f"depth must be at least 1, not {depth}")
        self.exts = exts
        self.size = len(exts)
        self.depth = depth
        self._buckets: dict[tuple[str, int], _Bucket] = {}
        self._wholes: dict[tuple[str, int, MatchMode], _Whole] = {}
        #: the lengths of the context's literals, ascending
        self._lengths = sorted({len(e.compiled.text) for e in exts if not e.compiled.is_pattern})

    def fits(self, exts: list[Extension]) -> bool:
        """Whether the index was built over this list as it stands (same list, same length)."""
        return exts is self.exts and len(exts) == self.size

    def search(self, data: str, mode: MatchMode, callerid: str | None, priority: int,
               cost: LookupCost, stop_key: Key | None = None) -> linear.Answer:
        """What ``linear.search(exts, data, mode, callerid, priority, cost, stop_key)`` answers,
        adding to ``cost`` exactly what it adds."""
        if not data or data[0] == "_" or stop_key is not None:
            return linear.search(self.exts, data, mode, callerid, priority, cost, stop_key)
        shorter = bisect.bisect_left(self._lengths, len(data))
        if len(data) <= self.depth:
            return self._search_whole(self._whole(data, shorter, mode), mode, callerid, priority, cost)
        bucket = self._bucket(data[:self.depth], shorter)
        chars = 0
        exts = bucket.exts
        for j in range(len(exts)):
            ext = exts[j]
            r, c = match_compiled(ext.compiled, data, mode)
            chars += c
            if r:
                verdict = linear.decide(ext, r, mode, callerid, priority)
                if verdict == linear.TAKE or verdict == linear.FINAL:
                    cost.comparisons += bucket.positions[j] + 1
                    cost.chars_compared += chars + bucket.skipped_chars[j]
                    return (ext, ext) if verdict == linear.TAKE else (None, ext)
        cost.comparisons += self.size
        cost.chars_compared += chars + bucket.total_chars
        return linear.NOTHING

    def _search_whole(self, whole: _Whole, mode: MatchMode, callerid: str | None, priority: int,
                      cost: LookupCost) -> linear.Answer:
        exts = whole.exts
        for j in range(len(exts)):
            ext = exts[j]
            verdict = linear.decide(ext, whole.results[j], mode, callerid, priority)
            if verdict == linear.TAKE or verdict == linear.FINAL:
                cost.comparisons += whole.positions[j] + 1
                cost.chars_compared += whole.chars_before[j]
                return (ext, ext) if verdict == linear.TAKE else (None, ext)
        cost.comparisons += self.size
        cost.chars_compared += whole.total_chars
        return linear.NOTHING

    def _whole(self, data: str, shorter: int, mode: MatchMode) -> _Whole:
        """The matches of a number no longer than ``depth`` (``shorter``: its length class)."""
        key = (data, shorter, mode)
        whole = self._wholes.get(key)
        if whole is None:
            bucket = self._bucket(data, shorter)
            exts: list[Extension] = []
            positions: list[int] = []
            results: list[int] = []
            before: list[int] = []
            chars = 0  # compared by the bucket's extensions so far
            for ext, pos, skipped in zip(bucket.exts, bucket.positions, bucket.skipped_chars):
                r, c = match_compiled(ext.compiled, data, mode)
                chars += c
                if r:
                    exts.append(ext)
                    positions.append(pos)
                    results.append(r)
                    before.append(skipped + chars)
            whole = _Whole(tuple(exts), tuple(positions), tuple(results), tuple(before),
                           bucket.total_chars + chars)
            if len(self._wholes) >= MAX_BUCKETS:
                self._wholes.clear()
            self._wholes[key] = whole
        return whole

    def _bucket(self, prefix: str, shorter: int) -> _Bucket:
        """The bucket of numbers starting with ``prefix`` longer than ``shorter`` of the
        context's literal lengths (``prefix``: the number's first ``depth`` characters, or all)."""
        key = (prefix, shorter)
        bucket = self._buckets.get(key)
        if bucket is None:
            if not prefix:
                bucket = self._root(shorter)
            else:
                bucket = _narrow(self._bucket(prefix[:-1], shorter), prefix[-1])
            if len(self._buckets) >= MAX_BUCKETS:
                self._buckets.clear()
            self._buckets[key] = bucket
        return bucket

    def _root(self, shorter: int) -> _Bucket:
        """No character read yet: only the literals shorter than the number are decided
        (``(0, 0)``: nothing compared); they are those shorter than ``self._lengths[shorter]``."""
        lengths = self._lengths
        limit = lengths[shorter] if shorter < len(lengths) else None  # None: every literal is shorter
        exts: list[Extension] = []
        positions: list[int] = []
        states: list[int] = []
        for pos, ext in enumerate(self.exts):
            pat = ext.compiled
            if not pat.is_pattern:
                if limit is None or len(pat.text) < limit:
                    continue
                states.append(_LITERAL)
            else:
                states.append(0)
            exts.append(ext)
            positions.append(pos)
        return _Bucket(0, tuple(exts), tuple(positions), tuple(states), (0,) * len(exts), 0)


def _narrow(parent: _Bucket, ch: str) -> _Bucket:
    """The bucket one character deeper: ``ch`` read at position ``parent.depth``."""
    i = parent.depth
    k = i + 1  # what a survivor decided here compared (see the module's docstring)
    exts: list[Extension] = []
    positions: list[int] = []
    states: list[int] = []
    skipped: list[int] = []
    extra = 0  # characters compared by survivors of the parent decided here, so far
    for ext, pos, state, before in zip(parent.exts, parent.positions, parent.states, parent.skipped_chars):
        if state == _LITERAL:
            new = _LITERAL if ext.compiled.text[i] == ch else None
        elif state == _MATCHED:
            new = _MATCHED
        else:
            new = _step(ext.compiled.elements, state, ch)
        if new is None:
            extra += k
            continue
        exts.append(ext)
        positions.append(pos)
        states.append(new)
        skipped.append(before + extra)
    return _Bucket(k, tuple(exts), tuple(positions), tuple(states), tuple(skipped),
                   parent.total_chars + extra)


def _step(elems: tuple[tuple[int, str], ...], at: int, ch: str) -> int | None:
    """``match_elements`` reading the character ``ch`` (one the number has, so the end-of-number
    checks do not apply) from element ``at``: the element it waits at next, ``_MATCHED``, or
    None when the pattern fails on it."""
    n = len(elems)
    while at < n:
        kind, chars = elems[at]
        if kind == SET:
            return at + 1 if ch in chars else None
        if kind == DOT or kind == BANG:
            return _MATCHED
        if kind == EMPTY:
            at += 1
            continue
        return None  # FAIL: '[' without ']'
    return None  # the pattern ended with characters left
