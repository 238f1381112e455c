"""The trie matcher: a compiled tree over a context's patterns, like Asterisk's opt-in one.

Each node stands for a pattern prefix; its children are the next pattern positions, kept
in Asterisk's per-position precedence order (single characters, then sets by size, then
``.``, ``!``), and the extensions ending there come last (the end-of-pattern position sorts
after every other).  A depth-first walk in that order therefore meets matching extensions
in exactly the linear matcher's order, so the first one the linear rules accept is the
linear answer: iaxsim's trie answers as Asterisk's *linear* matcher does, by construction.

(Asterisk's own trie, ``new_find_extension``, differs in corner cases: it returns the first
matching pattern even when that pattern lacks the requested priority instead of trying the
next one; it ignores the ``!`` early-match finality order; and its CANMATCH/MATCHMORE
bookkeeping can pick a different extension.  Those differences are documented, not copied.)

Patterns whose sort positions and match positions do not line up (empty or reversed sets,
an unclosed ``[``, a ``/``) are kept aside and walked linearly; the earlier of the two
answers in precedence order wins.  Cost counts trie nodes visited.
"""
from __future__ import annotations

from iaxsim.dialplan import linear
from iaxsim.dialplan.linear import NOTHING, Answer
from iaxsim.dialplan.model import Extension
from iaxsim.dialplan.patterns import BANG, DOT, MATCH, MATCHMORE, CANMATCH, SET

__all__ = ["Trie"]

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
        self.jump_depth, self.jump, self.prefixes = _jump_table(self.root, exts)
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
    def search(self, data: str, mode: int, callerid: str | None, priority: int, counter: list[int]) -> Answer:
        """First answer in precedence order: (answer, deciding extension) as linear.search."""
        if mode == MATCH and data.startswith("_"):
            return linear.search(self._all_sorted(), data, mode, callerid, priority, counter)
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
            if node is not None:  # the first d characters lead here and nowhere else
                visits.n += d
                ev, ext = _dfs(node, data, d, len(data), mode, callerid, priority, visits)
            elif d and len(data) >= d and self.prefixes is not None:
                # the table holds every way down d characters: the walk from the root would
                # fail after the longest prefix of data the trie holds, having visited
                # that many nodes plus the root
                pre = self.prefixes
                k = d - 1
                while k and data[:k] not in pre:
                    k -= 1
                visits.n += k + 1
            else:
                ev, ext = _dfs(self.root, data, 0, len(data), mode, callerid, priority, visits)
        counter[0] += visits.n
        counter[1] += min(len(data), visits.n)
        if self.irregular:
            stop = ext.sort_key if ext is not None else None
            sub = [0, 0]
            ev2, ext2 = linear.search(self.irregular, data, mode, callerid, priority, sub, stop)
            counter[0] += sub[0]
            counter[1] += sub[1]
            if ext2 is not None:
                return ev2, ext2
        return ev, ext

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


def _jump_table(root: _Node, exts: list[Extension]) -> tuple[int, dict[str, _Node], set[str] | None]:
    """Nodes reached from the root by ``depth`` single characters with no alternative on the way.

    Walking those first characters is deterministic (each node on the way has only
    single-character children), so one hash probe on the number's first ``depth`` characters
    lands where the walk would; ``depth`` is the most common leading literal run.

    When no node above ``depth`` has anything but single-character children, the table holds
    every way down; a number whose first ``depth`` characters are not in it then matches
    nothing, and the third result (every shorter prefix the trie holds, else None) tells how
    far the walk from the root would have got before failing.
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
        return 0, {}, None
    table: dict[str, _Node] = {}
    prefixes: set[str] = set()
    complete = True
    stack = [(root, "")]
    while stack:
        node, prefix = stack.pop()
        if len(prefix) == depth:
            table[prefix] = node
            continue
        if prefix:
            prefixes.add(prefix)
        if node.others:
            complete = False
            continue
        for ch, child in node.lit.items():
            stack.append((child, prefix + ch))
    return depth, table, (prefixes if complete else None)


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


def _literal(root: _Node, data: str, mode: int, callerid: str | None, priority: int,
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


def _literal_enum(node: _Node, mode: int, callerid: str | None, priority: int, visits: _Count) -> Answer:
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


def _consider(terms: tuple[Extension, ...], r: int, mode: int, callerid: str | None, priority: int) -> Answer:
    for ext in terms:
        if ext.cid is not None and not linear.cid_ok(ext, callerid):
            continue
        if r == 2 and mode == MATCHMORE:
            return None, ext  # a '!' pattern: final no
        if priority in ext._numbers:
            return ext, ext
    return NOTHING


def _enumerate(node: _Node, r: int, mode: int, callerid: str | None, priority: int, visits: _Count) -> Answer:
    """Every extension of the subtree matches with result ``r``: first acceptable one."""
    visits.n += 1 + len(node.seg)
    return _enumerate_body(node, r, mode, callerid, priority, visits)


def _enumerate_body(node: _Node, r: int, mode: int, callerid: str | None, priority: int,
                    visits: _Count) -> Answer:
    for _, child in node.ordered:
        ev = _enumerate(child, r, mode, callerid, priority, visits)
        if ev[1] is not None:
            return ev
    if node.terms:
        return _consider(node.terms, r, mode, callerid, priority)
    return NOTHING


def _dfs(node: _Node, data: str, i: int, nd: int, mode: int, callerid: str | None, priority: int,
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
                    # digits ran out inside a folded chain: all below is a partial match
                    visits.n += n + len(seg) - k
                    if mode == MATCH:
                        return NOTHING
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
