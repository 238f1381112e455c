"""Plain data objects of a loaded dialplan: priorities, extensions, includes, switches, costs, warnings."""
from __future__ import annotations

from dataclasses import dataclass, field

from iaxsim.dialplan.patterns import CompiledPattern, Key, compile_pattern
from iaxsim.dialplan.timing import Timing

PRIORITY_HINT = -1


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


@dataclass(eq=False, slots=True)
class Extension:
    """An extension (or pattern, or caller-ID qualified variant) of one context.

    ``name`` is the extension as written (spaces removed, ``-`` kept), ``exten`` the stored
    form Asterisk matches, ``cid`` the caller-ID match or None, ``priorities`` ascending.
    ``compiled`` / ``cid_compiled`` are compiled from ``exten`` / ``cid``; ``sort_key`` is
    Asterisk's order within a context: the extension's key, then caller-ID variants before
    the plain one.  Two extensions are equal only when they are the same object.
    """

    name: str
    exten: str
    context: str
    cid: str | None = None
    cid_display: str | None = None
    priorities: list[Priority] = field(default_factory=list)
    compiled: CompiledPattern = field(init=False, repr=False)
    cid_compiled: CompiledPattern | None = field(init=False, repr=False)
    sort_key: Key = field(init=False, repr=False)
    _numbers: dict[int, Priority] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.compiled = compile_pattern(self.exten)
        self.cid_compiled = None if self.cid is None else compile_pattern(self.cid)
        self._numbers = {p.number: p for p in self.priorities}
        if self.cid_compiled is None:
            self.sort_key = (self.compiled.key, 1, ())
        else:
            self.sort_key = (self.compiled.key, 0, self.cid_compiled.key)

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


@dataclass(slots=True)
class LookupCost:
    """What one lookup did: the headline count and the detail behind it.

    ``comparisons`` counts extensions whose pattern was tested (linear) or trie nodes
    visited (trie); ``chars_compared`` the dialled characters compared (linear: summed over
    every pattern tested; trie: each node visit tests at most one character, so the count is
    the visits capped at the number's length per context);
    ``contexts_searched`` the contexts entered; ``switches`` the ``switch =>`` entries that
    would have been consulted (each a network lookup in Asterisk).  The walks that define
    these counts are ``iaxsim.dialplan.linear.search`` and ``iaxsim.dialplan.trie.ReferenceTrie``.
    """

    comparisons: int = 0
    chars_compared: int = 0
    contexts_searched: int = 0
    switches: int = 0

    def __add__(self, other: LookupCost) -> LookupCost:
        if not isinstance(other, LookupCost):
            return NotImplemented
        return LookupCost(
            self.comparisons + other.comparisons,
            self.chars_compared + other.chars_compared,
            self.contexts_searched + other.contexts_searched,
            self.switches + other.switches,
        )
