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

The query methods check what they are given themselves (their arguments are typed ``Any``
for that reason: compiled with mypyc, a declared ``str`` would refuse anything else with a
bare TypeError before the check could name the problem): a number, context or caller ID that
is not a string, an unknown engine or mode, a priority that is not an int or a ``when`` that
is not a datetime is a :class:`DialplanError`.
"""
from __future__ import annotations

import os
from datetime import datetime
from typing import Any, Final, Iterator

from iaxsim.dialplan import linear
from iaxsim.dialplan.errors import DialplanError, type_name
from iaxsim.dialplan.model import DialplanWarning, Extension, LookupCost, bulk_build
from iaxsim.dialplan.parser import Context, DialplanBuilder, read
from iaxsim.dialplan.patterns import MATCH, MODE_BY_NAME, MatchMode, match, match_compiled, strip_fluff
from iaxsim.dialplan.trie import Trie
from iaxsim.errors import ConfigError

__all__ = ["Dialplan", "DialplanError", "MAX_STACK", "ENGINES"]

MAX_STACK: Final = 512
ENGINES: Final = ("linear", "trie")


class Dialplan:
    """An Asterisk dialplan loaded from extensions.conf text.

    >>> dp = Dialplan.from_string("[external]\\nexten => _6XXX,1,Dial(IAX2/b/${EXTEN})\\n")
    >>> dp.find("6001", "external").name
    '_6XXX'
    """

    def __init__(self, contexts: dict[str, Context], order: list[str], warnings: list[DialplanWarning],
                 general: dict[str, str] | None = None, globals_: dict[str, str] | None = None,
                 path: str = "<string>", cache_size: int = 4096) -> None:
        self.cache_size = cache_size
        # (number, context, engine, mode, callerid, priority, when) -> (answer, its cost)
        self._cache: dict[tuple[object, ...], tuple[Extension | None, tuple[int, ...]]] = {}
        self.contexts = contexts
        self.order = order
        self.warnings = warnings
        self.general = general or {}
        self.globals = globals_ or {}
        self.path = path
        self._tries: dict[str, Trie] = {}

    # -- loading ------------------------------------------------------------------------
    def __reduce__(self) -> tuple[Any, ...]:
        # what was loaded; the answer memo and the tries are rebuilt on demand
        return (Dialplan, (self.contexts, self.order, self.warnings, self.general, self.globals,
                           self.path, self.cache_size))

    @classmethod
    def from_string(cls, text: Any, path: str = "<string>", strict: bool = False,
                    default_context: str | None = None, cache_size: int = 4096) -> "Dialplan":
        """Load extensions.conf text; ``strict=True`` turns the first warning into a ConfigError.

        ``default_context`` names the context for lines before any ``[section]`` (trixbox's
        external.conf / link.conf fragments); without it such lines are an error, as in Asterisk.
        ``#include`` needs a file on disk and is refused in text loaded this way.
        ``cache_size`` bounds a memo of recent answers (with their cost as first measured;
        0 disables it) — a loaded dialplan never changes, so a repeated lookup is answered
        from it without walking the context again.
        """
        if not isinstance(text, str):
            raise ConfigError(f"dialplan text must be a string, not {type_name(text)}", path)
        with bulk_build():
            b = read(text, path, default_context=default_context)
        return cls._finish(b, path, strict, cache_size)

    @classmethod
    def from_file(cls, path: "str | os.PathLike[str]", strict: bool = False,
                  default_context: str | None = None, cache_size: int = 4096) -> "Dialplan":
        """Load an extensions.conf file (``#include`` resolved relative to it)."""
        p = os.fspath(path)
        with bulk_build():
            b = read(None, p, from_file=True, default_context=default_context)
        return cls._finish(b, p, strict, cache_size)

    @classmethod
    def _finish(cls, b: DialplanBuilder, path: str, strict: bool, cache_size: int) -> "Dialplan":
        if strict and b.warnings:
            w = b.warnings[0]
            raise ConfigError(w.message, w.path, w.line)
        return cls(b.contexts, b.order, b.warnings, b.general, b.globals, path, cache_size)

    # -- queries --------------------------------------------------------------------------
    def context(self, name: Any) -> Context:
        """The context called ``name`` (KeyError names it when absent)."""
        try:
            return self.contexts[name]
        except KeyError:
            raise KeyError(f"no context '{name}' in {self.path}") from None

    def _trie(self, ctx: Context) -> Trie:
        t = self._tries.get(ctx.name)
        if t is None:
            with bulk_build():
                t = self._tries[ctx.name] = Trie(ctx.sorted_extensions())
        return t

    def lookup(self, number: Any, context: Any, engine: Any = "linear", mode: Any = "match",
               callerid: Any = None, priority: Any = 1,
               when: Any = None) -> tuple[Extension | None, LookupCost]:
        """The extension Asterisk would pick for ``number`` in ``context``, and what finding it cost.

        ``number`` and ``context`` are strings, ``engine`` ``"linear"`` or ``"trie"``, ``mode`` a
        :class:`MatchMode` or its name, ``callerid`` a string or None, ``priority`` an int;
        ``when`` (a datetime) decides time-conditioned includes (None: they are open).
        """
        counter = [0, 0, 0, 0]
        ext = self._search(number, context, engine, mode, callerid, priority, counter, when)
        return ext, LookupCost(counter[0], counter[1], counter[2], counter[3])

    def find(self, number: Any, context: Any, engine: Any = "linear", callerid: Any = None,
             priority: Any = 1, when: Any = None) -> Extension | None:
        """The extension Asterisk runs for ``number`` dialled in ``context`` (E_MATCH), or None."""
        return self._search(number, context, engine, MatchMode.MATCH, callerid, priority, [0, 0, 0, 0], when)

    def exists(self, number: Any, context: Any, callerid: Any = None, engine: Any = "linear",
               priority: Any = 1, when: Any = None) -> bool:
        """``ast_exists_extension``."""
        return self._search(number, context, engine, MatchMode.MATCH, callerid, priority, [0, 0, 0, 0], when) is not None

    def canmatch(self, number: Any, context: Any, callerid: Any = None, engine: Any = "linear",
                 priority: Any = 1, when: Any = None) -> bool:
        """``ast_canmatch_extension``: matches now or could with more digits."""
        return self._search(number, context, engine, MatchMode.CANMATCH, callerid, priority, [0, 0, 0, 0], when) is not None

    def matchmore(self, number: Any, context: Any, callerid: Any = None, engine: Any = "linear",
                  priority: Any = 1, when: Any = None) -> bool:
        """``ast_matchmore_extension``: more digits could still match (Asterisk waits for them)."""
        return self._search(number, context, engine, MatchMode.MATCHMORE, callerid, priority, [0, 0, 0, 0], when) is not None

    def _search(self, number: Any, context: Any, engine: Any, mode: Any, callerid: Any, priority: Any,
                counter: list[int], when: Any = None) -> Extension | None:
        if engine not in ENGINES:
            raise DialplanError(f"unknown dialplan engine {engine!r} (choose linear or trie)")
        if not isinstance(number, str) or not isinstance(context, str):
            raise DialplanError(f"number and context must be strings, not {type_name(number)}/{type_name(context)}")
        if type(mode) is MatchMode:
            m = mode
        else:
            named = MODE_BY_NAME.get(mode) if type(mode) is str else None
            m = named if named is not None else MatchMode.parse(mode)
        if callerid is not None and not isinstance(callerid, str):
            raise DialplanError(f"callerid must be a string or None, not {type_name(callerid)}")
        if not isinstance(priority, int):
            raise DialplanError(f"priority must be an int, not {type_name(priority)}")
        if when is not None and not isinstance(when, datetime):
            raise DialplanError(f"when must be a datetime or None, not {type_name(when)}")
        if self.cache_size:
            key = (number, context, engine, m, callerid, priority, when)
            hit = self._cache.get(key)
            if hit is not None:
                counter[:] = hit[1]
                return hit[0]
        data = number.replace("-", "") if "-" in number else number
        ext = self._search_ctx(data, context, engine == "trie", m, callerid, priority, counter, None, None, when)
        if self.cache_size:
            if len(self._cache) >= self.cache_size:
                self._cache.clear()
            self._cache[key] = (ext, tuple(counter))
        return ext

    def _search_ctx(self, data: str, name: str, use_trie: bool, mode: int, callerid: str | None,
                    priority: int, counter: list[int], stack: list[str] | None, seen: set[str] | None,
                    when: datetime | None = None) -> Extension | None:
        # stack / seen: the contexts entered so far and their names in lower case (created when
        # the first include is followed)
        if stack and seen is not None:
            if len(stack) >= MAX_STACK or name.lower() in seen:
                return None
        ctx = self.contexts.get(name)
        if ctx is None:
            return None
        counter[2] += 1
        if use_trie:
            ev, decider = self._trie(ctx).search(data, mode, callerid, priority, counter)
        else:
            ev, decider = linear.search(ctx.sorted_extensions(), data, mode, callerid, priority, counter)
        if ev is not None:
            return ev
        if decider is not None:
            return None  # a '!' pattern ended this context's MATCHMORE search
        counter[3] += len(ctx.switches)
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
            found = self._search_ctx(data, inc.target, use_trie, mode, callerid, priority, counter, stack, seen, when)
            if found is not None:
                return found
        return None

    def matches(self, number: Any, context: Any) -> list[Extension]:
        """Every extension matching ``number`` in the order ``dialplan show NUMBER@CONTEXT`` lists them."""
        _check_strings(number, context)
        out: list[Extension] = []
        for _ctx, exts in self.show_walk(number, context):
            out.extend(exts)
        return out

    def show_walk(self, number: Any, context: Any, chain: tuple[str, ...] = ()) -> Iterator[tuple[Context, list[Extension]]]:
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

    def ignorepat(self, number: Any, context: Any) -> bool:
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
