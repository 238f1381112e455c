"""external.conf / link.conf generation for linked servers (the trixbox/FONcore layout).

For server ``S`` of a plan:

* ``external.conf`` holds S's own extensions in context ``[external]``, one literal per
  extension: ``exten => 6001,1,Dial(SIP/6001)``. Literals (not patterns) because each
  extension is a phone; it is also what Asterisk searches first (literals sort first).
* ``link.conf`` holds, in context ``[external]``, for every *other* server ``P`` (plan order)
  and every pattern of P's cover::

      exten => _60XX,1,Dial(IAX2/c${ACCOUNT}i@cserverPi/${EXTEN}@external)
      exten => _60XX,2,Dial(IAX2/c${ACCOUNT}x@cserverPx/${EXTEN}@external)

  priority 1 dials P's internal address, priority 2 its external address.

Which numbers a server's patterns claim depends on ``mode``:

* ``"exact"`` — the patterns match exactly the server's extensions (:func:`~iaxsim.numbering.cover.cover`).
  Routing is unambiguous (except true conflicts), but an interleaved plan needs many patterns.
* ``"block"`` — the patterns claim every block of ``10**block_digits`` numbers (same length,
  same leading digits) in which the server has at least one extension, as an administrator
  writes ``_60XX`` for "our 6000s". Few patterns, but servers sharing a block claim each
  other's numbers: more candidates, wrong servers tried. ``block_digits`` is capped at
  ``length - 1`` so a pattern always keeps one literal leading digit.

When two servers get the very same pattern (a conflict in exact mode, a shared block in
block mode) Asterisk would refuse a second ``exten => _60XX,1`` as a duplicate; the later
server's lines therefore continue the same extension at priorities 3 and 4 (then 5 and 6
…), which is how Asterisk itself chains fall-backs: a failed ``Dial`` goes on to the next
priority.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from iaxsim.numbering.cover import ALL_DIGITS, cover_masks, render
from iaxsim.numbering.plan import NumberingPlan, PlanError

__all__ = ["MODES", "claim_key", "block_keys", "server_patterns", "external_conf", "link_conf",
           "write_server_confs", "write_all_confs", "pattern_counts", "DIAL_TEMPLATE"]

MODES = ("exact", "block")
CONTEXT = "external"
DIAL_TEMPLATE = "Dial(IAX2/c${{ACCOUNT}}{kind}@cserver{peer}{kind}/${{EXTEN}}@external)"
LOCAL_TEMPLATE = "Dial(SIP/{ext})"


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


def server_patterns(plan: NumberingPlan, server: str, mode: str = "exact",
                    block_digits: int = 2) -> list[str]:
    """The patterns that route to ``server`` (what the other servers' link.conf lists)."""
    _check_mode(mode, block_digits)
    exts = plan.of(server)
    if mode == "exact":
        return [render(p) for p in cover_masks(exts)]
    out = []
    by_len: dict[int, set[str]] = {}
    for length, prefix in block_keys(exts, mode, block_digits):
        by_len.setdefault(length, set()).add(prefix)
    for length in sorted(by_len):
        k = length - len(next(iter(by_len[length])))
        for masks in cover_masks(by_len[length]):
            out.append(render(masks + (ALL_DIGITS,) * k))
    return out


def pattern_counts(plan: NumberingPlan, mode: str = "exact", block_digits: int = 2) -> dict[str, int]:
    """Size of each server's pattern cover (one per server in a clean plan)."""
    return {s: len(server_patterns(plan, s, mode, block_digits)) for s in plan.servers}


def external_conf(plan: NumberingPlan, server: str) -> str:
    """external.conf text for ``server``: its own extensions as literals in ``[external]``."""
    lines = [f"; external.conf for server {server}: its own extensions",
             f"[{CONTEXT}]"]
    for ext in plan.of(server):
        lines.append(f"exten => {ext},1,{LOCAL_TEMPLATE.format(ext=ext)}")
    return "\n".join(lines) + "\n"


def link_conf(plan: NumberingPlan, server: str, mode: str = "exact", block_digits: int = 2,
              patterns: dict[str, list[str]] | None = None) -> str:
    """link.conf text for ``server``: every other server's patterns, internal then external.

    ``patterns`` may pass precomputed ``{peer: server_patterns(...)}`` to share work
    when generating every server's file.
    """
    _check_mode(mode, block_digits)
    plan.of(server)
    lines = [f"; link.conf for server {server}: routes to the linked servers "
             f"({mode} patterns)", f"[{CONTEXT}]"]
    next_priority: dict[tuple, int] = {}
    for peer in plan.servers:
        if peer == server:
            continue
        pats = patterns[peer] if patterns is not None else server_patterns(plan, peer, mode, block_digits)
        for pat in pats:
            key = _canonical(pat)
            prio = next_priority.get(key, 1)
            next_priority[key] = prio + 2
            lines.append(f"exten => {pat},{prio},{DIAL_TEMPLATE.format(kind='i', peer=peer)}")
            lines.append(f"exten => {pat},{prio + 1},{DIAL_TEMPLATE.format(kind='x', peer=peer)}")
    return "\n".join(lines) + "\n"


def _canonical(pattern: str) -> tuple:
    from iaxsim.numbering.cover import parse_simple
    return parse_simple(pattern)


def write_server_confs(plan: NumberingPlan, server: str, out_dir: str | Path, mode: str = "exact",
                       block_digits: int = 2,
                       patterns: dict[str, list[str]] | None = None) -> tuple[Path, Path]:
    """Write ``out_dir/external.conf`` and ``out_dir/link.conf`` for ``server``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ext_path, link_path = out / "external.conf", out / "link.conf"
    ext_path.write_text(external_conf(plan, server), encoding="utf-8")
    link_path.write_text(link_conf(plan, server, mode, block_digits, patterns), encoding="utf-8")
    return ext_path, link_path


def write_all_confs(plan: NumberingPlan, out_dir: str | Path, mode: str = "exact",
                    block_digits: int = 2) -> dict[str, Path]:
    """Write ``out_dir/server<ID>/{external,link}.conf`` for every server; returns the folders."""
    pats = {s: server_patterns(plan, s, mode, block_digits) for s in plan.servers}
    dirs = {}
    for server in plan.servers:
        folder = Path(out_dir) / f"server{server}"
        write_server_confs(plan, server, folder, mode, block_digits, pats)
        dirs[server] = folder
    return dirs
