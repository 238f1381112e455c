"""The trie matcher: a tree over a context's patterns, like Asterisk's opt-in one.

Each node stands for a pattern prefix; its children are the next pattern positions, kept
in Asterisk's per-position precedence order (single characters, then sets by size, then
``.``, ``!``), and the extensions ending there come last (the end-of-pattern position sorts
after every other).  A depth-first walk in that order therefore meets matching extensions
in exactly the linear matcher's order, so the first one the linear rules accept is the
linear answer: iaxsim's trie answers as Asterisk's *linear* matcher does, by construction.

(Asterisk's own trie, ``new_find_extension`` in ``main/pbx.c``, differs in corner cases: it
returns the first matching pattern even when that pattern lacks the requested priority instead
of trying the next one; it ignores the ``!`` early-match finality order; and its
CANMATCH/MATCHMORE bookkeeping can pick a different extension.  Those differences are
documented, not copied.)

Patterns whose sort positions and match positions do not line up (empty or reversed sets,
an unclosed ``[``, a ``/``) are kept aside and walked linearly; the earlier of the two
answers in precedence order wins.

What a trie lookup costs is defined by :class:`ReferenceTrie`, one node per pattern position
and a plain recursive walk:

* literal extensions: a MATCH lookup probes a hash of them once (Asterisk's ``root_table``),
  counted as one visit; CANMATCH/MATCHMORE walk a tree of them, one visit for its root and
  one per character followed, then one per node enumerated below (shorter literals first);
* patterns (when no literal answered): one visit per node entered, the root included, in the
  depth-first order above; a subtree whose every extension matches (under ``.``, ``!``, or
  once the digits ran out) is enumerated, one visit per node, until an extension answers;
* ``comparisons`` is the sum of those visits, ``chars_compared`` the visits capped at the
  number's length (each visit tests at most one character); the patterns kept aside add
  what the linear walk counts for them (:func:`iaxsim.dialplan.linear.search`).

:class:`Trie` answers the same questions faster (chains with a single way on folded into one
node, a jump table over the most common leading literal run, a precomputed answer for
priority 1) and counts the same visits: every node a folded chain or a jump passes is one the
reference walk enters.  The tests compare the two on generated dialplans, answer and cost.
"""
from __future__ import annotations

from collections.abc import Sequence

from iaxsim.dialplan import linear
from iaxsim.dialplan.linear import NOTHING, Answer
from iaxsim.dialplan.model import Extension, LookupCost
from iaxsim.dialplan.patterns import BANG, CANMATCH, DOT, MATCH, MATCHMORE, SET, MatchMode

__all__ = ["Trie", "ReferenceTrie"]

#: A child reached through anything but one single character: (sort key, kind, chars, node).
Edge = tuple[int, int, frozenset[str], "_Node"]


class _Node:
    __slots__ = ("lit", "others", "terms", "ordered", "only", "seg", "first1", "has_first1")

    def __init__(self) -> None:
        self.has_first1 = False  # first1 holds the answer for priority 1 (no term has a CID match)
        self.first1: Extension | None = None
        self.seg: tuple[str | frozenset[str], ...] = ()  # a single-path chain folded into this node
        self.lit: dict[str, _Node] = _NO_CHILDREN  # single-character positions, by character
        self.others: tuple[Edge, ...] = ()  # every other child, sorted by key
        self.terms: tuple[Extension, ...] = ()  # extensions ending here, in order
        self.ordered: tuple[tuple[int, _Node], ...] = ()  # every child (kind, node) in key order
        self.only: tuple[frozenset[str], _Node] | None = None  # one set is the only way on


class _Count:
    """A counter passed down the walk (trie nodes visited)."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0


_NO_CHILDREN: dict[str, _Node] = {}  # shared by every node without single-character children
_SETS: dict[str, frozenset[str]] = {}


class Trie:
    """A context's extensions compiled into a precedence-ordered tree (built once)."""

    def __init__(self, exts: list[Extension]) -> None:
        self.root = _Node()       # patterns
        self.literals = _Node()   # literal extensions: they all sort before any pattern
        self.irregular: list[Extension] = []
        self.size = 2
        pending: dict[_Node, dict[int, Edge]] = {}  # other children while building, by key
        new = _Node
        for ext in exts:  # exts are in precedence order: terms stay ordered
            comp = ext.compiled
            if not comp.is_pattern:
                if not comp.text.isascii():
                    self.irregular.append(ext)  # byte order differs from char order: keep linear
                    continue
                node = self.literals
                for ch in comp.text:
                    lit = node.lit
                    if lit is _NO_CHILDREN:
                        lit = node.lit = {}
                    nxt = lit.get(ch)
                    if nxt is None:
                        nxt = lit[ch] = new()
                        self.size += 1
                    node = nxt
            elif not comp.regular:
                self.irregular.append(ext)
                continue
            else:
                node = self.root
                for (kind, chars), key in zip(comp.elements, comp.positions):
                    if kind == SET and len(chars) == 1:
                        lit = node.lit
                        if lit is _NO_CHILDREN:
                            lit = node.lit = {}
                        nxt = lit.get(chars)
                        if nxt is None:
                            nxt = lit[chars] = new()
                            self.size += 1
                    else:
                        others = pending.get(node)
                        if others is None:
                            others = pending[node] = {}
                        entry = others.get(key)
                        if entry is None:
                            fs = _SETS.get(chars)
                            if fs is None:
                                fs = _SETS[chars] = frozenset(chars)
                            entry = others[key] = (key, kind, fs, new())
                            self.size += 1
                        nxt = entry[3]
                    node = nxt
            node.terms = node.terms + (ext,)
        self._finish(self.root, pending)
        self._finish(self.literals, pending)
        self.jump_depth, self.jump = _jump_table(self.root, exts)
        segs: dict[tuple[str | frozenset[str], ...], tuple[str | frozenset[str], ...]] = {}
        _compress(self.root, segs)
        for node in self.jump.values():  # a jump target may have been folded into its parent
            if not node.seg:
                _compress(node, segs)
        # exact literal lookups go through a hash, as Asterisk's root_table does
        self.exact: dict[str, tuple[Extension, ...]] = {}
        for ext in exts:
            if not ext.compiled.is_pattern and ext.compiled.text.isascii():
                self.exact[ext.compiled.text] = self.exact.get(ext.compiled.text, ()) + (ext,)

    @staticmethod
    def _finish(root: _Node, pending: dict[_Node, dict[int, Edge]]) -> None:
        stack = [root]
        while stack:
            node = stack.pop()
            building = pending.get(node)
            if building:
                node.others = tuple(sorted(building.values(), key=_edge_key))
            else:
                node.others = ()
            if node.lit:
                lits = sorted(node.lit.items(), key=_char_key) if len(node.lit) > 1 else list(node.lit.items())
                node.ordered = tuple([(0, n) for _, n in lits] + [(e[1], e[3]) for e in node.others])
            else:
                node.lit = _NO_CHILDREN  # shared: leaves cost less memory, lookups stay in cache
                node.ordered = tuple([(e[1], e[3]) for e in node.others])
                if len(node.others) == 1 and node.others[0][1] not in (DOT, BANG):
                    node.only = (node.others[0][2], node.others[0][3])
            if node.terms and all(e.cid is None for e in node.terms):
                node.has_first1 = True
                node.first1 = next((e for e in node.terms if 1 in e._numbers), None)
            stack.extend(n for _, n in node.ordered)

    # -- search -----------------------------------------------------------------------
    def search(self, data: str, mode: MatchMode, callerid: str | None, priority: int,
               cost: LookupCost) -> Answer:
        """First answer in precedence order, (answer, deciding extension) as linear.search;
        adds what :class:`ReferenceTrie` counts for the same question to ``cost``."""
        if mode == MATCH and data.startswith("_"):
            return linear.search(self._all_sorted(), data, mode, callerid, priority, cost)
        visits = _Count()
        if mode == MATCH:
            visits.n += 1
            terms = self.exact.get(data)
            ev, ext = _consider(terms, 1, mode, callerid, priority) if terms else NOTHING
        else:
            ev, ext = _literal(self.literals, data, mode, callerid, priority, visits)
        if ext is None:
            d = self.jump_depth
            node = self.jump.get(data[:d]) if d and len(data) >= d else None
            if node is not None:
                # the first d characters lead here and nowhere else: the walk from the root
                # enters the root and d - 1 nodes on the way; _dfs counts the node itself
                visits.n += d
                ev, ext = _dfs(node, data, d, len(data), mode, callerid, priority, visits)
            else:
                ev, ext = _dfs(self.root, data, 0, len(data), mode, callerid, priority, visits)
        return _settle(self.irregular, (ev, ext), visits, data, mode, callerid, priority, cost)

    def _all_sorted(self) -> list[Extension]:
        out: list[Extension] = []
        _collect(self.literals, out)
        _collect(self.root, out)
        out.extend(self.irregular)
        out.sort(key=_ext_key)
        return out


def _edge_key(e: Edge) -> int:
    return e[0]


def _char_key(kv: tuple[str, _Node]) -> bytes:
    return kv[0].encode()


def _ext_key(e: Extension) -> tuple[object, ...]:
    return e.sort_key


def _jump_table(root: _Node, exts: list[Extension]) -> tuple[int, dict[str, _Node]]:
    """Nodes reached from the root by ``depth`` single characters with no alternative on the way.

    Walking those first characters is deterministic (each node on the way has only
    single-character children), so one hash probe on the number's first ``depth`` characters
    lands where the walk would; ``depth`` is the most common leading literal run.  A number
    whose first characters are not in the table is walked from the root.
    """
    runs: dict[int, int] = {}
    for ext in exts:
        comp = ext.compiled
        if comp.is_pattern and comp.regular:
            k = 0
            for kind, chars in comp.elements:
                if kind != SET or len(chars) != 1:
                    break
                k += 1
            runs[k] = runs.get(k, 0) + 1
    depth = max(runs, key=lambda k: (runs[k], k)) if runs else 0
    if depth < 2:
        return 0, {}
    table: dict[str, _Node] = {}
    stack = [(root, "")]
    while stack:
        node, prefix = stack.pop()
        if len(prefix) == depth:
            table[prefix] = node
            continue
        if node.others:
            continue
        for ch, child in node.lit.items():
            stack.append((child, prefix + ch))
    return depth, table


def _compress(root: _Node, segs: dict[tuple[str | frozenset[str], ...], tuple[str | frozenset[str], ...]]) -> None:
    """Fold single-path chains (one child, not ``.``/``!``, no extension ending on the way).

    Equal chains share one tuple (``segs``), so a lookup touches fewer distinct objects.
    """
    stack = [root]
    while stack:
        node = stack.pop()
        seg: list[str | frozenset[str]] = []
        while not node.terms and len(node.ordered) == 1 and node.ordered[0][0] not in (DOT, BANG):
            child = node.ordered[0][1]
            if node.lit:
                seg.append(next(iter(node.lit)))
            else:
                seg.append(node.others[0][2])
            seg.extend(child.seg)  # the child may be folded already (jump targets)
            node.lit, node.others, node.terms = child.lit, child.others, child.terms
            node.ordered, node.only = child.ordered, child.only
            node.first1, node.has_first1 = child.first1, child.has_first1
        if seg:
            t = tuple(seg)
            node.seg = segs.setdefault(t, t)
        stack.extend(c for _, c in node.ordered)


def _collect(node: _Node, out: list[Extension]) -> None:
    for _, child in node.ordered:
        _collect(child, out)
    out.extend(node.terms)


def _literal(root: _Node, data: str, mode: MatchMode, callerid: str | None, priority: int,
             visits: _Count) -> Answer:
    """Literal extensions: exact for MATCH; for CANMATCH/MATCHMORE the first one data prefixes."""
    node = root
    visits.n += 1
    for ch in data:
        nxt = node.lit.get(ch)
        if nxt is None:
            return NOTHING
        node = nxt
        visits.n += 1
    if mode == MATCH:
        return _consider(node.terms, 1, mode, callerid, priority) if node.terms else NOTHING
    if mode == CANMATCH and node.terms:
        ev = _consider(node.terms, 1, mode, callerid, priority)
        if ev[1] is not None:
            return ev
    for _, child in node.ordered:  # longer literals, in string order (shorter first)
        ev = _literal_enum(child, mode, callerid, priority, visits)
        if ev[1] is not None:
            return ev
    return NOTHING


def _literal_enum(node: _Node, mode: MatchMode, callerid: str | None, priority: int, visits: _Count) -> Answer:
    visits.n += 1
    if node.terms:
        ev = _consider(node.terms, 1, mode, callerid, priority)
        if ev[1] is not None:
            return ev
    for _, child in node.ordered:
        ev = _literal_enum(child, mode, callerid, priority, visits)
        if ev[1] is not None:
            return ev
    return NOTHING


def _consider(terms: Sequence[Extension], r: int, mode: MatchMode, callerid: str | None, priority: int) -> Answer:
    for ext in terms:
        if ext.cid is not None and not linear.cid_ok(ext, callerid):
            continue
        if r == 2 and mode == MATCHMORE:
            return None, ext  # a '!' pattern: final no
        if priority in ext._numbers:
            return ext, ext
    return NOTHING


def _enumerate(node: _Node, r: int, mode: MatchMode, callerid: str | None, priority: int, visits: _Count) -> Answer:
    """Every extension of the subtree matches with result ``r``: first acceptable one."""
    visits.n += 1 + len(node.seg)
    return _enumerate_body(node, r, mode, callerid, priority, visits)


def _enumerate_body(node: _Node, r: int, mode: MatchMode, callerid: str | None, priority: int,
                    visits: _Count) -> Answer:
    for _, child in node.ordered:
        ev = _enumerate(child, r, mode, callerid, priority, visits)
        if ev[1] is not None:
            return ev
    if node.terms:
        return _consider(node.terms, r, mode, callerid, priority)
    return NOTHING


def _dfs(node: _Node, data: str, i: int, nd: int, mode: MatchMode, callerid: str | None, priority: int,
         visits: _Count) -> Answer:
    # Walk down chains of nodes whose only children are single characters: with digits
    # left there is exactly one way on, so no recursion (and no backtracking) is needed.
    n = 0
    while True:
        n += 1
        seg = node.seg
        if seg:
            for k, cs in enumerate(seg):
                if i == nd:
                    # digits ran out inside a folded chain: for MATCH nothing below can
                    # answer (the chain holds no '!'); otherwise all below is a partial
                    # match, enumerated through the rest of the chain
                    if mode == MATCH:
                        visits.n += n
                        return NOTHING
                    visits.n += n + len(seg) - k
                    return _enumerate_body(node, 1, mode, callerid, priority, visits)
                if data[i] not in cs:
                    visits.n += n
                    return NOTHING
                i += 1
                n += 1
        if i == nd:
            break
        nxt: _Node | None
        if not node.others:
            nxt = node.lit.get(data[i])
        else:
            only = node.only
            if only is not None:
                nxt = only[1] if data[i] in only[0] else None
            else:
                break
        if nxt is None:
            visits.n += n
            return NOTHING
        node = nxt
        i += 1
    visits.n += n
    if i == nd:
        if mode != MATCH:
            for kind, child in node.ordered:
                ev = _enumerate(child, 2 if kind == BANG else 1, mode, callerid, priority, visits)
                if ev[1] is not None:
                    return ev
        else:
            for kind, child in node.ordered:
                if kind == BANG:
                    ev = _enumerate(child, 2, mode, callerid, priority, visits)
                    if ev[1] is not None:
                        return ev
        # precomputed answer (no CID, priority 1), read before touching the terms
        if priority == 1 and node.has_first1 and mode != MATCHMORE:
            first = node.first1
            return first, first
        if node.terms and mode != MATCHMORE:
            return _consider(node.terms, 1, mode, callerid, priority)
        return NOTHING
    c = data[i]
    down = node.lit.get(c)
    if down is not None:
        ev = _dfs(down, data, i + 1, nd, mode, callerid, priority, visits)
        if ev[1] is not None:
            return ev
    for _, kind, chars, other in node.others:
        if kind == DOT:
            ev = _enumerate(other, 1, mode, callerid, priority, visits)
        elif kind == BANG:
            ev = _enumerate(other, 2, mode, callerid, priority, visits)
        elif c in chars:
            ev = _dfs(other, data, i + 1, nd, mode, callerid, priority, visits)
        else:
            continue
        if ev[1] is not None:
            return ev
    return NOTHING


# -- the reference walk: what a trie lookup costs ----------------------------------------------

class _Plain:
    """A node of the reference trie: its children in precedence order and the extensions ending here."""

    __slots__ = ("children", "terms")

    def __init__(self) -> None:
        self.children: list[tuple[int, frozenset[str], _Plain]] = []  # (kind, chars, node)
        self.terms: list[Extension] = []


class ReferenceTrie:
    """A context's extensions in a trie of one node per pattern position, walked plainly.

    Its walk defines what a trie lookup costs (see the module's docstring); :class:`Trie`
    answers the same questions with the same count, faster.
    """

    def __init__(self, exts: list[Extension]) -> None:
        self.patterns = _Plain()
        self.literals = _Plain()  # one child per character, in character order
        self.exact: dict[str, list[Extension]] = {}
        self.irregular: list[Extension] = []
        self.all = exts
        below: dict[_Plain, dict[int, tuple[int, frozenset[str], _Plain]]] = {}  # children by sort key
        for ext in exts:  # in precedence order, so the extensions of a node stay in order
            comp = ext.compiled
            if not comp.is_pattern and comp.text.isascii():
                self.exact.setdefault(comp.text, []).append(ext)
                steps = [((SET, ch), ord(ch)) for ch in comp.text]
                node = self.literals
            elif comp.is_pattern and comp.regular:
                steps = list(zip(comp.elements, comp.positions))
                node = self.patterns
            else:
                self.irregular.append(ext)
                continue
            for (kind, chars), key in steps:
                children = below.setdefault(node, {})
                if key not in children:
                    children[key] = (kind, frozenset(chars), _Plain())
                node = children[key][2]
            node.terms.append(ext)
        for node, children in below.items():
            node.children = [children[key] for key in sorted(children)]

    def search(self, data: str, mode: MatchMode, callerid: str | None, priority: int,
               cost: LookupCost) -> Answer:
        """First answer in precedence order, (answer, deciding extension) as linear.search;
        adds the visits to ``cost``."""
        if mode == MATCH and data.startswith("_"):
            # a pattern dialled as a pattern: compared with every extension, as the linear walk does
            return linear.search(self.all, data, mode, callerid, priority, cost)
        visits = _Count()
        if mode == MATCH:
            visits.n += 1
            ev, ext = _consider(self.exact.get(data, ()), 1, mode, callerid, priority)
        else:
            ev, ext = _reference_literal(self.literals, data, mode, callerid, priority, visits)
        if ext is None:
            ev, ext = _reference_walk(self.patterns, data, 0, mode, callerid, priority, visits)
        return _settle(self.irregular, (ev, ext), visits, data, mode, callerid, priority, cost)


def _reference_literal(root: _Plain, data: str, mode: MatchMode, callerid: str | None,
                       priority: int, visits: _Count) -> Answer:
    """CANMATCH/MATCHMORE over the literals: follow ``data``, then the longer literals below."""
    visits.n += 1
    node = root
    for ch in data:
        nxt = next((child for _, chars, child in node.children if ch in chars), None)
        if nxt is None:
            return NOTHING
        node = nxt
        visits.n += 1
    if mode == CANMATCH:  # an exact literal can match; for MATCHMORE it must be longer
        ev = _consider(node.terms, 1, mode, callerid, priority)
        if ev[1] is not None:
            return ev
    for _, _, child in node.children:
        ev = _reference_enumerate(child, 1, mode, callerid, priority, visits, terms_first=True)
        if ev[1] is not None:
            return ev
    return NOTHING


def _reference_enumerate(node: _Plain, r: int, mode: MatchMode, callerid: str | None, priority: int,
                         visits: _Count, terms_first: bool = False) -> Answer:
    """Every extension below matches with result ``r``: the first the linear rules accept.

    Patterns: the node's own extensions sort after its children (the end of a pattern
    sorts last); literals: before them (a shorter string first).
    """
    visits.n += 1
    if terms_first:
        ev = _consider(node.terms, r, mode, callerid, priority)
        if ev[1] is not None:
            return ev
    for _, _, child in node.children:
        ev = _reference_enumerate(child, r, mode, callerid, priority, visits, terms_first)
        if ev[1] is not None:
            return ev
    if terms_first:
        return NOTHING
    return _consider(node.terms, r, mode, callerid, priority)


def _reference_walk(node: _Plain, data: str, i: int, mode: MatchMode, callerid: str | None,
                    priority: int, visits: _Count) -> Answer:
    """``data[i:]`` against the patterns below ``node``, children in precedence order."""
    visits.n += 1
    if i == len(data):
        # digits ran out: '!' below is an early match (2); for CANMATCH/MATCHMORE anything
        # below could still match (1); then the patterns ending here match (not MATCHMORE)
        for kind, _, child in node.children:
            if kind == BANG:
                r = 2
            elif mode == MATCH:
                continue
            else:
                r = 1
            ev = _reference_enumerate(child, r, mode, callerid, priority, visits)
            if ev[1] is not None:
                return ev
        if mode == MATCHMORE:
            return NOTHING
        return _consider(node.terms, 1, mode, callerid, priority)
    c = data[i]
    for kind, chars, child in node.children:
        if kind == DOT:
            ev = _reference_enumerate(child, 1, mode, callerid, priority, visits)
        elif kind == BANG:
            ev = _reference_enumerate(child, 2, mode, callerid, priority, visits)
        elif c in chars:
            ev = _reference_walk(child, data, i + 1, mode, callerid, priority, visits)
        else:
            continue
        if ev[1] is not None:
            return ev
    return NOTHING


def _settle(irregular: list[Extension], found: Answer, visits: _Count, data: str, mode: MatchMode,
            callerid: str | None, priority: int, cost: LookupCost) -> Answer:
    """Both tries' last step: add the nodes visited to ``cost``, then let the extensions the
    trie cannot hold (irregular patterns, walked linearly) win if they sort before ``found``."""
    ev, ext = found
    cost.comparisons += visits.n
    cost.chars_compared += min(len(data), visits.n)
    if irregular:
        stop = ext.sort_key if ext is not None else None
        ev2, ext2 = linear.search(irregular, data, mode, callerid, priority, cost, stop)
        if ext2 is not None:
            return ev2, ext2
    return ev, ext
