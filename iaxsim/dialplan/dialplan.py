"""The loaded dialplan and Asterisk's search across contexts (``pbx_find_extension``).

Search order for one context: its own extensions (linear walk or trie), then its
``switch =>`` entries (counted in the cost; a switch is a network lookup iaxsim does not
perform here, so it never answers), then its ``include =>`` contexts in order, depth first.
As in Asterisk the include stack only grows during one search: each context is searched at
most once, loops are cut, and at most 512 contexts are entered.  A ``!`` pattern that ends
a MATCHMORE search ends the search of that context (and of what it includes); the including
context carries on with its next include.  Time specs on includes are kept verbatim and
checked against the ``when`` a lookup is given (``ast_check_timing``); without one they
count as open, since the dialplan keeps no clock of its own.

What a lookup costs (:class:`LookupCost`) is what the plain walks count: the linear walk of
each context's sorted extensions (:func:`iaxsim.dialplan.linear.search`) or the reference
trie walk (:class:`iaxsim.dialplan.trie.ReferenceTrie`), summed over the contexts entered.
:meth:`Dialplan.lookup` answers through the faster trie, an index of each large context for
the linear walk (:class:`iaxsim.dialplan.linear_index.LinearIndex`) and a memo of recent answers;
:meth:`Dialplan.reference_lookup` runs the plain walks, and the tests hold the two to the
same answer and the same cost.

The query methods check what they are given at the boundary: a number, context or caller ID
that is not a string, an unknown engine or mode, a priority that is not an int or a ``when``
that is not a datetime is a :class:`DialplanError` (a ValueError), not a TypeError from deep
inside a walk.
"""
from __future__ import annotations

import os
from datetime import datetime
from collections.abc import Iterator
from typing import Final

from iaxsim.collector import paused
from iaxsim.dialplan import linear
from iaxsim.dialplan.linear_index import LinearIndex
from iaxsim.dialplan.errors import DialplanError, type_name
from iaxsim.dialplan.model import DialplanWarning, Extension, LookupCost
from iaxsim.dialplan.parser import Context, DialplanBuilder, read
from iaxsim.dialplan.patterns import MATCH, MatchMode, match, match_compiled, strip_fluff
from iaxsim.dialplan.trie import ReferenceTrie, Trie
from iaxsim.errors import ConfigError

__all__ = ["Dialplan", "DialplanError", "MAX_STACK", "ENGINES"]

MAX_STACK: Final = 512
ENGINES: Final = ("linear", "trie")
#: Contexts with fewer extensions are walked plainly by the linear engine (an index costs
#: more than it saves there); larger ones through :class:`LinearIndex`.
LINEAR_INDEX_MIN = 32


class Dialplan:
    """An Asterisk dialplan loaded from extensions.conf text.

    >>> dp = Dialplan.from_string("[external]\\nexten => _6XXX,1,Dial(IAX2/b/${EXTEN})\\n")
    >>> dp.find("6001", "external").name
    '_6XXX'
    """

    def __init__(self, contexts: dict[str, Context], order: list[str], warnings: list[DialplanWarning],
                 general: dict[str, str] | None = None, globals_: dict[str, str] | None = None,
                 path: str = "<string>", cache_size: int = 4096) -> None:
        self.contexts = contexts
        self.order = order
        self.warnings = warnings
        self.general = general or {}
        self.globals = globals_ or {}
        self.path = path
        self.cache_size = cache_size
        # (number, context, engine, mode, callerid, priority, when) -> (answer, its cost)
        self._cache: dict[tuple[object, ...], tuple[Extension | None, LookupCost]] = {}
        self._tries: dict[str, Trie] = {}
        self._reference_tries: dict[str, ReferenceTrie] = {}
        self._linear_indexes: dict[str, LinearIndex] = {}

    def __getstate__(self) -> dict[str, object]:
        # what was loaded; the answer memo and the tries are rebuilt on demand
        return {**self.__dict__, "_cache": {}, "_tries": {}, "_reference_tries": {}, "_linear_indexes": {}}

    # -- loading ------------------------------------------------------------------------
    @classmethod
    def from_string(cls, text: str, path: str = "<string>", strict: bool = False,
                    default_context: str | None = None, cache_size: int = 4096) -> Dialplan:
        """Load extensions.conf text; ``strict=True`` turns the first warning into a ConfigError.

        ``default_context`` names the context for lines before any ``[section]`` (trixbox's
        external.conf / link.conf fragments); without it such lines are an error, as in Asterisk.
        ``#include`` needs a file on disk and is refused in text loaded this way.
        ``cache_size`` bounds a memo of recent answers with their cost (0 disables it): a
        loaded dialplan never changes, so a repeated question gets the same answer and cost
        without walking the context again.
        """
        if not isinstance(text, str):
            raise ConfigError(f"dialplan text must be a string, not {type_name(text)}", path)
        with paused():  # a large structure is built: iaxsim/collector.py
            b = read(text, path, default_context=default_context)
        return cls._finish(b, path, strict, cache_size)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], strict: bool = False,
                  default_context: str | None = None, cache_size: int = 4096) -> Dialplan:
        """Load an extensions.conf file (``#include`` resolved relative to it)."""
        p = os.fspath(path)
        with paused():  # a large structure is built: iaxsim/collector.py
            b = read(None, p, from_file=True, default_context=default_context)
        return cls._finish(b, p, strict, cache_size)

    @classmethod
    def _finish(cls, b: DialplanBuilder, path: str, strict: bool, cache_size: int) -> Dialplan:
        if strict and b.warnings:
            w = b.warnings[0]
            raise ConfigError(w.message, w.path, w.line)
        return cls(b.contexts, b.order, b.warnings, b.general, b.globals, path, cache_size)

    # -- queries --------------------------------------------------------------------------
    def context(self, name: str) -> Context:
        """The context called ``name`` (KeyError names it when absent)."""
        try:
            return self.contexts[name]
        except KeyError:
            raise KeyError(f"no context '{name}' in {self.path}") from None

    def lookup(self, number: str, context: str, engine: str = "linear",
               mode: MatchMode | str | int = MatchMode.MATCH, callerid: str | None = None,
               priority: int = 1, when: datetime | None = None) -> tuple[Extension | None, LookupCost]:
        """The extension Asterisk would pick for ``number`` in ``context``, and what finding it cost.

        ``number`` and ``context`` are strings, ``engine`` ``"linear"`` or ``"trie"``, ``mode`` a
        :class:`MatchMode` or its name, ``callerid`` a string or None, ``priority`` an int;
        ``when`` (a datetime) decides time-conditioned includes (None: they are open).
        """
        ext, cost = self._remembered(number, context, engine, mode, callerid, priority, when)
        return ext, LookupCost(cost.comparisons, cost.chars_compared, cost.contexts_searched, cost.switches)

    def _remembered(self, number: str, context: str, engine: str, mode: MatchMode | str | int,
                    callerid: str | None, priority: int,
                    when: datetime | None) -> tuple[Extension | None, LookupCost]:
        """The search's (answer, cost), from the memo when the same question was asked lately.
        The cost returned is the memo's own: callers copy it before handing it out."""
        m = _check_query(number, context, engine, mode, callerid, priority, when)
        if not self.cache_size:
            return self._search(number, context, engine, m, callerid, priority, when, False)
        key = (number, context, engine, m, callerid, priority, when)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._search(number, context, engine, m, callerid, priority, when, False)
            if len(self._cache) >= self.cache_size:
                self._cache.clear()
            self._cache[key] = hit
        return hit

    def reference_lookup(self, number: str, context: str, engine: str = "linear",
                         mode: MatchMode | str | int = MatchMode.MATCH, callerid: str | None = None,
                         priority: int = 1, when: datetime | None = None) -> tuple[Extension | None, LookupCost]:
        """:meth:`lookup` through the plain walks that define the cost (no memo, no shortcuts)."""
        m = _check_query(number, context, engine, mode, callerid, priority, when)
        return self._search(number, context, engine, m, callerid, priority, when, True)

    def find(self, number: str, context: str, engine: str = "linear", callerid: str | None = None,
             priority: int = 1, when: datetime | None = None) -> Extension | None:
        """The extension Asterisk runs for ``number`` dialled in ``context`` (E_MATCH), or None."""
        return self._remembered(number, context, engine, MatchMode.MATCH, callerid, priority, when)[0]

    def exists(self, number: str, context: str, callerid: str | None = None, engine: str = "linear",
               priority: int = 1, when: datetime | None = None) -> bool:
        """``ast_exists_extension``."""
        return self._remembered(number, context, engine, MatchMode.MATCH, callerid, priority, when)[0] is not None

    def canmatch(self, number: str, context: str, callerid: str | None = None, engine: str = "linear",
                 priority: int = 1, when: datetime | None = None) -> bool:
        """``ast_canmatch_extension``: matches now or could with more digits."""
        return self._remembered(number, context, engine, MatchMode.CANMATCH, callerid, priority, when)[0] is not None

    def matchmore(self, number: str, context: str, callerid: str | None = None, engine: str = "linear",
                  priority: int = 1, when: datetime | None = None) -> bool:
        """``ast_matchmore_extension``: more digits could still match (Asterisk waits for them)."""
        return self._remembered(number, context, engine, MatchMode.MATCHMORE, callerid, priority, when)[0] is not None

    def _search(self, number: str, context: str, engine: str, mode: MatchMode, callerid: str | None,
                priority: int, when: datetime | None, reference: bool) -> tuple[Extension | None, LookupCost]:
        """``pbx_find_extension`` from ``context``: its answer and what the walks counted."""
        cost = LookupCost()
        data = strip_fluff(number)
        ext = self._search_ctx(data, context, engine, reference, mode, callerid, priority, cost,
                               None, None, when)
        return ext, cost

    def _trie(self, ctx: Context) -> Trie:
        trie = self._tries.get(ctx.name)
        if trie is None:
            with paused():  # a large structure is built: iaxsim/collector.py
                trie = self._tries[ctx.name] = Trie(ctx.sorted_extensions())
        return trie

    def _reference_trie(self, ctx: Context) -> ReferenceTrie:
        ref = self._reference_tries.get(ctx.name)
        if ref is None:
            ref = self._reference_tries[ctx.name] = ReferenceTrie(ctx.sorted_extensions())
        return ref

    def _linear_index(self, ctx: Context) -> LinearIndex:
        exts = ctx.sorted_extensions()
        index = self._linear_indexes.get(ctx.name)
        if index is None or not index.fits(exts):
            index = self._linear_indexes[ctx.name] = LinearIndex(exts)
        return index

    def _search_ctx(self, data: str, name: str, engine: str, reference: bool, mode: MatchMode,
                    callerid: str | None, priority: int, cost: LookupCost, stack: list[str] | None,
                    seen: set[str] | None, when: datetime | None) -> Extension | None:
        # stack / seen: the contexts entered so far and their names in lower case (created when
        # the first include is followed)
        if stack and seen is not None:
            if len(stack) >= MAX_STACK or name.lower() in seen:
                return None
        ctx = self.contexts.get(name)
        if ctx is None:
            return None
        cost.contexts_searched += 1
        if engine == "linear":
            if reference or len(ctx.extensions) < LINEAR_INDEX_MIN:
                ev, decider = linear.search(ctx.sorted_extensions(), data, mode, callerid, priority, cost)
            else:
                ev, decider = self._linear_index(ctx).search(data, mode, callerid, priority, cost)
        elif reference:
            ev, decider = self._reference_trie(ctx).search(data, mode, callerid, priority, cost)
        else:
            ev, decider = self._trie(ctx).search(data, mode, callerid, priority, cost)
        if ev is not None:
            return ev
        if decider is not None:
            return None  # a '!' pattern ended this context's MATCHMORE search
        cost.switches += len(ctx.switches)
        if stack is None or seen is None:
            if not ctx.includes:
                return None  # the top context includes nothing: the search ends here
            stack, seen = [], set()
        stack.append(ctx.name)
        seen.add(ctx.name.lower())
        for inc in ctx.includes:
            timing = inc.timing
            if when is not None and timing is not None and not timing.check(when):
                continue  # include_valid(): closed at this time
            found = self._search_ctx(data, inc.target, engine, reference, mode, callerid, priority,
                                     cost, stack, seen, when)
            if found is not None:
                return found
        return None

    def matches(self, number: str, context: str) -> list[Extension]:
        """Every extension matching ``number`` in the order ``dialplan show NUMBER@CONTEXT`` lists them."""
        _check_strings(number, context)
        out: list[Extension] = []
        for _ctx, exts in self.show_walk(number, context):
            out.extend(exts)
        return out

    def show_walk(self, number: str, context: str, chain: tuple[str, ...] = ()) -> Iterator[tuple[Context, list[Extension]]]:
        """(context, matching extensions) in ``show_dialplan_helper`` order, includes recursed.

        As in Asterisk the include recursion looks contexts up by the include as written
        (a time-conditioned include names no context) and only refuses a context already on
        the current include chain (so a context reached twice is listed twice).
        """
        _check_strings(number, context)
        ctx = self.contexts.get(context)
        if ctx is None:
            return
        data = strip_fluff(number)
        found = [e for e in ctx.sorted_extensions()
                 if match_compiled(e.compiled, data, MATCH)[0]]
        yield ctx, found
        if len(chain) >= MAX_STACK:
            return
        for inc in ctx.includes:
            if any(c.lower() == inc.name.lower() for c in chain):
                continue
            yield from self.show_walk(number, inc.name, chain + (inc.name,))

    def ignorepat(self, number: str, context: str) -> bool:
        """``ast_ignore_pattern``: whether dialtone continues after ``number`` in ``context``."""
        _check_strings(number, context)
        ctx = self.contexts.get(context)
        if ctx is None:
            return False
        return any(match(p, number, MatchMode.MATCH) for p in ctx.ignorepats)

    def __repr__(self) -> str:
        n = sum(len(c.extensions) for c in self.contexts.values())
        return f"Dialplan({self.path!r}, {len(self.contexts)} contexts, {n} extensions)"


def _check_strings(number: object, context: object) -> None:
    if not isinstance(number, str) or not isinstance(context, str):
        raise DialplanError(f"number and context must be strings, not {type_name(number)}/{type_name(context)}")


def _check_query(number: object, context: object, engine: object, mode: MatchMode | str | int,
                 callerid: object, priority: object, when: object) -> MatchMode:
    """Refuse what a lookup cannot answer with a DialplanError; returns the mode as a MatchMode."""
    if engine not in ENGINES:
        raise DialplanError(f"unknown dialplan engine {engine!r} (choose linear or trie)")
    if not isinstance(number, str) or not isinstance(context, str):
        _check_strings(number, context)
    m = mode if isinstance(mode, MatchMode) else MatchMode.parse(mode)
    if callerid is not None and not isinstance(callerid, str):
        raise DialplanError(f"callerid must be a string or None, not {type_name(callerid)}")
    if not isinstance(priority, int):
        raise DialplanError(f"priority must be an int, not {type_name(priority)}")
    if when is not None and not isinstance(when, datetime):
        raise DialplanError(f"when must be a datetime or None, not {type_name(when)}")
    return m
