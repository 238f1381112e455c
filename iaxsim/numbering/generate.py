"""external.conf / link.conf generation for linked servers (the trixbox/FONcore layout).

Files follow the seed's layout (``data/seed/``), which is what
:class:`iaxsim.dialplan.linked.LinkedServer` reads:

* ``external.conf`` holds the server's own extensions in context ``[external]``. By default
  one literal per extension (each extension is a phone; literals are also what Asterisk
  searches first)::

      exten => 6001,1,Dial(IAX2/${EXTEN},20)
      exten => 6001,2,VoiceMail(${EXTEN},u)

  ``external="patterns"`` writes the cover of the server's extensions instead
  (``exten => _6XXX,1,…`` as in the seed).
* ``link.conf`` holds, in context ``[link]``, one extension per pattern with the dial
  attempts for the servers that may own the numbers it matches, internal address first::

      exten => _60XX,1,Dial(IAX2/c${ACCOUNT}i@cserverBi/${EXTEN}@external)
      exten => _60XX,2,Dial(IAX2/c${ACCOUNT}x@cserverBx/${EXTEN}@external)

Which numbers a server's patterns claim depends on ``mode``:

* ``"exact"`` — exactly the server's extensions (:func:`~iaxsim.numbering.cover.cover`).
  Routing is unambiguous (except true conflicts), but an interleaved plan needs many patterns.
* ``"block"`` — every block of ``10**block_digits`` numbers (same length, same leading
  digits) in which the server has at least one extension, as an administrator writes
  ``_60XX`` for "our 6000s". Few patterns in a clean plan, but servers sharing a block
  claim each other's numbers: more candidates, wrong servers tried. ``block_digits`` is
  capped at ``length - 1`` so a pattern keeps at least one literal leading digit.

When several servers claim the same numbers (a conflict in exact mode, a shared block in
block mode) one pattern must carry all of them: Asterisk runs only the first matching
extension, and refuses a second ``exten => _60XX,1`` as a duplicate. So link.conf groups the
claimed numbers by the set of peers claiming them, covers each group with its own
(disjoint) patterns, and gives each pattern priorities 1 and 2 for the first peer, 3 and 4
for the second, … (plan order) — a failed ``Dial`` goes on to the next priority, which is
how Asterisk chains fall-backs. In a clean plan this is exactly one pattern per peer with
priorities 1 and 2.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from iaxsim.numbering.cover import ALL_DIGITS, cover_masks, render
from iaxsim.numbering.plan import NumberingPlan, PlanError

__all__ = ["MODES", "LinkTable", "claim_key", "block_keys", "server_patterns", "unit_claims", "link_routes",
           "external_conf", "link_conf", "link_confs", "link_conf_sizes", "write_server_confs",
           "write_all_confs",
           "pattern_counts", "DIAL_TEMPLATE", "LOCAL_CONTEXT", "LINK_CONTEXT"]

MODES = ("exact", "block")
LOCAL_CONTEXT = "external"
LINK_CONTEXT = "link"
DIAL_TEMPLATE = "Dial(IAX2/c${{ACCOUNT}}{kind}@cserver{peer}{kind}/${{EXTEN}}@external)"
LOCAL_LINES = ("Dial(IAX2/${EXTEN},20)", "VoiceMail(${EXTEN},u)")
EXTERNAL_STYLES = ("literal", "patterns")


def _check_mode(mode: str, block_digits: int) -> None:
    if mode not in MODES:
        raise PlanError(f"unknown link.conf mode {mode!r} (choose from {', '.join(MODES)})")
    if not isinstance(block_digits, int) or block_digits < 0:
        raise PlanError(f"block_digits must be a non-negative integer, not {block_digits!r}")


def claim_key(number: str, mode: str, block_digits: int) -> tuple[int, str]:
    """The unit a pattern claims for ``number``: the number itself, or its block."""
    if mode == "exact":
        return (len(number), number)
    k = min(block_digits, len(number) - 1)
    return (len(number), number[:len(number) - k])


def block_keys(exts: Iterable[str], mode: str, block_digits: int) -> set[tuple[int, str]]:
    """Every claim unit of ``exts`` under ``mode``."""
    return {claim_key(e, mode, block_digits) for e in exts}


def _cover_units(units: Iterable[tuple[int, str]]) -> list[str]:
    """Patterns matching exactly the numbers of the given claim units."""
    by_len: dict[int, set[str]] = {}
    for length, prefix in units:
        by_len.setdefault(length, set()).add(prefix)
    out = []
    for length in sorted(by_len):
        k = length - len(next(iter(by_len[length])))
        for masks in cover_masks(by_len[length]):
            out.append(render(masks + (ALL_DIGITS,) * k))
    return out


def server_patterns(plan: NumberingPlan, server: str, mode: str = "exact",
                    block_digits: int = 2) -> list[str]:
    """The cover of the numbers ``server`` claims under ``mode`` (one pattern in a clean plan)."""
    _check_mode(mode, block_digits)
    return _cover_units(block_keys(plan.of(server), mode, block_digits))


def pattern_counts(plan: NumberingPlan, mode: str = "exact", block_digits: int = 2) -> dict[str, int]:
    """Size of each server's pattern cover (one per server in a clean plan)."""
    return {s: len(server_patterns(plan, s, mode, block_digits)) for s in plan.servers}


def unit_claims(plan: NumberingPlan, mode: str = "exact",
                block_digits: int = 2) -> dict[tuple[int, str], tuple[str, ...]]:
    """Map every claim unit to the servers claiming it, in plan order."""
    _check_mode(mode, block_digits)
    claims: dict[tuple[int, str], list[str]] = {}
    for s in plan.servers:
        for key in block_keys(plan.extensions[s], mode, block_digits):
            claims.setdefault(key, []).append(s)
    return {k: tuple(v) for k, v in claims.items()}


class LinkTable:
    """The claim units of a plan under one ``mode``, grouped by the servers claiming them, shared
    by every server's link.conf: a group of units is covered once, however many servers' link.conf
    files carry it (in a plan of S servers each peer's cover appears in S - 1 files)."""

    def __init__(self, plan: NumberingPlan, mode: str = "exact", block_digits: int = 2,
                 claims: dict[tuple[int, str], tuple[str, ...]] | None = None):
        if claims is None:
            claims = unit_claims(plan, mode, block_digits)
        self.plan = plan
        self.rank = {s: i for i, s in enumerate(plan.servers)}
        self.by_owners: dict[tuple[str, ...], list[tuple[int, str]]] = {}
        for key, owners in claims.items():
            self.by_owners.setdefault(owners, []).append(key)
        self._covers: dict[tuple[tuple[str, ...], tuple[tuple[str, ...], ...]], list[str]] = {}

    def routes(self, server: str) -> list[tuple[str, tuple[str, ...]]]:
        """``server``'s link.conf as data: (pattern, peers to dial in order) pairs."""
        self.plan.of(server)
        groups: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for owners in self.by_owners:
            peers = tuple(p for p in owners if p != server)
            if peers:
                groups.setdefault(peers, []).append(owners)
        out: list[tuple[str, tuple[str, ...]]] = []
        for peers in sorted(groups, key=lambda g: [self.rank[p] for p in g]):
            key = (peers, tuple(groups[peers]))
            pats = self._covers.get(key)
            if pats is None:
                units = [u for owners in groups[peers] for u in self.by_owners[owners]]
                pats = self._covers[key] = _cover_units(units)
            out.extend((pat, peers) for pat in pats)
        return out


def link_routes(plan: NumberingPlan, server: str, mode: str = "exact", block_digits: int = 2,
                claims: dict[tuple[int, str], tuple[str, ...]] | None = None,
                table: LinkTable | None = None) -> list[tuple[str, tuple[str, ...]]]:
    """``server``'s link.conf as data: (pattern, peers to dial in order) pairs. ``table`` (a
    :class:`LinkTable` of the same plan and mode) shares the covers between servers."""
    _check_mode(mode, block_digits)
    if table is None:
        table = LinkTable(plan, mode, block_digits, claims)
    return table.routes(server)


def external_conf(plan: NumberingPlan, server: str, external: str = "literal") -> str:
    """external.conf text for ``server``: its own extensions in ``[external]``."""
    if external not in EXTERNAL_STYLES:
        raise PlanError(f"unknown external.conf style {external!r} "
                        f"(choose from {', '.join(EXTERNAL_STYLES)})")
    exts = plan.of(server)
    names = exts if external == "literal" else server_patterns(plan, server, "exact")
    lines = [f"; Server {server}: its own extensions (trixbox external.conf), "
             f"{len(exts)} extension(s).", f"[{LOCAL_CONTEXT}]"]
    for name in names:
        for prio, app in enumerate(LOCAL_LINES, start=1):
            lines.append(f"exten => {name},{prio},{app}")
    return "\n".join(lines) + "\n"


def link_conf(plan: NumberingPlan, server: str, mode: str = "exact", block_digits: int = 2,
              claims: dict[tuple[int, str], tuple[str, ...]] | None = None,
              table: LinkTable | None = None) -> str:
    """link.conf text for ``server``: how to reach the other servers (see module docstring).

    ``claims`` (a precomputed :func:`unit_claims`) or, better, ``table`` (a :class:`LinkTable`)
    share work across servers.
    """
    routes = link_routes(plan, server, mode, block_digits, claims, table)
    lines = [f"; Server {server}: how to reach the linked servers (trixbox link.conf), "
             f"{mode} patterns.",
             "; Priority 1 dials the peer's internal address, priority 2 its external address;",
             "; numbers several servers may own try each of them in turn (3/4, 5/6 ...).",
             f"[{LINK_CONTEXT}]"]
    for pat, peers in routes:
        prio = 1
        for peer in peers:
            for kind in "ix":
                lines.append(f"exten => {pat},{prio},{DIAL_TEMPLATE.format(kind=kind, peer=peer)}")
                prio += 1
    return "\n".join(lines) + "\n"


def link_conf_sizes(plan: NumberingPlan, mode: str = "exact", block_digits: int = 2) -> dict[str, int]:
    """How many patterns each server's own link.conf holds (what its linear matcher scans)."""
    _check_mode(mode, block_digits)
    table = LinkTable(plan, mode, block_digits)
    return {s: len(table.routes(s)) for s in plan.servers}


def link_confs(plan: NumberingPlan, mode: str = "exact", block_digits: int = 2) -> dict[str, str]:
    """Every server's link.conf text, sharing one :class:`LinkTable` (faster than one call per server)."""
    _check_mode(mode, block_digits)
    table = LinkTable(plan, mode, block_digits)
    return {s: link_conf(plan, s, mode, block_digits, table=table) for s in plan.servers}


def write_server_confs(plan: NumberingPlan, server: str, out_dir: str | Path, mode: str = "exact",
                       block_digits: int = 2, external: str = "literal",
                       claims: dict[tuple[int, str], tuple[str, ...]] | None = None,
                       table: LinkTable | None = None) -> tuple[Path, Path]:
    """Write ``out_dir/external.conf`` and ``out_dir/link.conf`` for ``server`` (``table``: a
    shared :class:`LinkTable`, as for :func:`link_conf`)."""
    ext_text = external_conf(plan, server, external)
    link_text = link_conf(plan, server, mode, block_digits, claims, table)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ext_path, link_path = out / "external.conf", out / "link.conf"
    ext_path.write_text(ext_text, encoding="utf-8")
    link_path.write_text(link_text, encoding="utf-8")
    return ext_path, link_path


def write_all_confs(plan: NumberingPlan, out_dir: str | Path, mode: str = "exact",
                    block_digits: int = 2, external: str = "literal") -> dict[str, Path]:
    """Write ``out_dir/server<ID>/{external,link}.conf`` for every server; returns the folders."""
    _check_mode(mode, block_digits)
    table = LinkTable(plan, mode, block_digits)
    dirs = {}
    for server in plan.servers:
        folder = Path(out_dir) / f"server{server}"
        write_server_confs(plan, server, folder, mode, block_digits, external, table=table)
        dirs[server] = folder
    return dirs
