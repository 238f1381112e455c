"""Plain data objects of a loaded dialplan: priorities, extensions, contexts, costs, warnings.

The module may run compiled (mypyc). Classes the lookups read are native classes: they pickle
and copy through ``__reduce__`` (a native class's ``__new__`` runs ``__init__``, and a frozen
dataclass's own state restore is refused), and those built on every lookup write their
``__init__`` out (a dataclass-generated one stays interpreted and sets fields through
descriptors). The other frozen records stay ordinary Python classes.
"""
from __future__ import annotations

import contextlib
import gc
from dataclasses import dataclass
from types import NotImplementedType
from typing import Any, Iterator

from iaxsim.dialplan.patterns import CompiledPattern, Key, compile_pattern
from iaxsim.dialplan.timing import Timing

PRIORITY_HINT = -1


@contextlib.contextmanager
def bulk_build() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large structure is built.

    Loading 100k extensions allocates millions of long-lived objects; letting the collector
    scan the growing heap on the way costs more than the building itself.  Reference
    counting still frees everything as usual; the collector is switched back on (if it was
    on) when the block ends, whatever happens inside it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

REGISTRAR = "pbx_config"


@dataclass(frozen=True, slots=True)
class DialplanWarning:
    """Something Asterisk would log and load past; ``str(w)`` reads ``path:line: message``."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class Priority:
    """One ``exten =>`` line once loaded: its number, label, application and where it came from."""

    number: int
    app: str
    data: str
    label: str | None
    name: str
    path: str
    line: int

    @property
    def is_hint(self) -> bool:
        """True for the ``hint`` pseudo-priority."""
        return self.number == PRIORITY_HINT

    def __reduce__(self) -> tuple[Any, ...]:
        # rebuilt through the constructor: compiled (a native class, read directly by the
        # lookups), a frozen dataclass's own state restore would be refused
        return (Priority, (self.number, self.app, self.data, self.label, self.name, self.path,
                           self.line))


@dataclass(eq=False, slots=True, init=False)
class Extension:
    """An extension (or pattern, or caller-ID qualified variant) of one context.

    ``name`` is the extension as written (spaces removed, ``-`` kept), ``exten`` the stored
    form Asterisk matches, ``cid`` the caller-ID match or None, ``priorities`` ascending.
    ``compiled`` / ``cid_compiled`` are compiled from ``exten`` / ``cid`` unless given.
    """

    name: str
    exten: str
    context: str
    cid: str | None
    cid_display: str | None
    priorities: list[Priority]
    compiled: CompiledPattern
    cid_compiled: CompiledPattern | None
    _numbers: dict[int, Priority]
    sort_key: Key

    def __init__(self, name: str, exten: str, context: str, cid: str | None = None,
                 cid_display: str | None = None, priorities: list[Priority] | None = None,
                 compiled: CompiledPattern | None = None, cid_compiled: CompiledPattern | None = None,
                 _numbers: dict[int, Priority] | None = None, sort_key: Key = ()) -> None:
        self.name = name
        self.exten = exten
        self.context = context
        self.cid = cid
        self.cid_display = cid_display
        self.priorities = [] if priorities is None else priorities
        self.compiled = compile_pattern(exten) if compiled is None else compiled
        if cid is not None and cid_compiled is None:
            cid_compiled = compile_pattern(cid)
        self.cid_compiled = cid_compiled
        self._numbers = {} if _numbers is None else _numbers
        # Asterisk's order within a context: extension key, then CID variants before the plain one.
        if cid_compiled is None or cid is None:
            self.sort_key = (self.compiled.key, 1, ())
        else:
            self.sort_key = (self.compiled.key, 0, cid_compiled.key)

    def __reduce__(self) -> tuple[Any, ...]:
        # compiled, a native class's __new__ runs __init__: pickle and copy rebuild through it
        return (Extension, (self.name, self.exten, self.context, self.cid, self.cid_display,
                            self.priorities, self.compiled, self.cid_compiled, self._numbers))

    @property
    def is_pattern(self) -> bool:
        """True when the extension starts with ``_``."""
        return self.compiled.is_pattern

    def has_priority(self, number: int) -> bool:
        """Whether this extension has priority ``number`` (``-1`` = hint)."""
        return number in self._numbers

    def priority(self, number: int) -> Priority | None:
        """The priority with this number, or None."""
        return self._numbers.get(number)

    def find_label(self, label: str) -> Priority | None:
        """The priority carrying ``label``, or None."""
        for p in self.priorities:
            if p.label == label:
                return p
        return None

    def _insert(self, prio: Priority) -> None:
        self._numbers[prio.number] = prio
        if self.priorities and prio.number < self.priorities[-1].number:
            self.priorities.append(prio)
            self.priorities.sort(key=lambda p: p.number)
        else:
            self.priorities.append(prio)
        self.name = self.priorities[0].name

    def __repr__(self) -> str:
        cid = f"/{self.cid}" if self.cid is not None else ""
        return f"Extension({self.name!r}{cid}@{self.context}, {len(self.priorities)} priorities)"


@dataclass(frozen=True, slots=True)
class Include:
    """``include => ctx[,timespec]``: ``name`` as written (time spec kept verbatim), ``target`` the context."""

    name: str
    target: str
    timespec: str | None
    path: str
    line: int
    timing: Timing | None = None  # when a time spec is given


@dataclass(frozen=True, slots=True)
class Switch:
    """``switch =>`` / ``lswitch =>`` / ``eswitch =>``: a switch module and its data."""

    module: str
    data: str
    evaluate: bool
    path: str
    line: int


@dataclass(slots=True, init=False)
class LookupCost:
    """What one lookup did: the headline count and the detail behind it.

    ``comparisons`` counts extensions whose pattern was tested (linear) or trie nodes
    visited (trie); ``chars_compared`` the dialled characters compared (linear: summed over
    every pattern tested; trie: each node visit tests at most one character, so the count is
    the visits capped at the number's length per context);
    ``contexts_searched`` the contexts entered; ``switches`` the ``switch =>`` entries that
    would have been consulted (each a network lookup in Asterisk).
    """

    comparisons: int
    chars_compared: int
    contexts_searched: int
    switches: int

    def __init__(self, comparisons: int = 0, chars_compared: int = 0, contexts_searched: int = 0,
                 switches: int = 0) -> None:
        self.comparisons = comparisons
        self.chars_compared = chars_compared
        self.contexts_searched = contexts_searched
        self.switches = switches

    def __add__(self, other: object) -> "LookupCost | NotImplementedType":
        if not isinstance(other, LookupCost):
            return NotImplemented
        return LookupCost(
            self.comparisons + other.comparisons,
            self.chars_compared + other.chars_compared,
            self.contexts_searched + other.contexts_searched,
            self.switches + other.switches,
        )
