"""Synthetic numbering plans for sweeps.

``synthetic_plan(servers, extensions_per_server, overlap, length, seed)`` lays numbers out in
blocks of ``10**block_digits`` (default 100) numbers of ``length`` digits, starting at leading
digit 2 (so 0 = operator, 1 = emergency 112, 9 = outside line stay free):

* each server first gets ``round((1 - overlap) * extensions_per_server)`` numbers of its own,
  the lowest numbers of consecutive blocks that no other server uses (server 1's blocks
  first, then server 2's …);
* the remaining ``overlap`` share of every server's numbers comes from *shared* blocks placed
  after all own blocks: just enough blocks to hold them are filled, their numbers shuffled
  and dealt round-robin to the servers.

So ``overlap=0`` gives disjoint, aligned blocks (one pattern per server), ``overlap=1``
deals every number of a common range among all servers (fully interleaved), and in between
``overlap`` is the share of each server's extensions that lie in blocks used by other
servers — which is what :func:`~iaxsim.numbering.analysis.analyze` reports as the overlap
score (up to rounding and a block that happens to be dealt to one server only). There are
no conflicts and no prefix hazards: every number has ``length`` digits and one owner.
The same arguments and seed always give the same plan.
"""
from __future__ import annotations

import numpy as np

from iaxsim.numbering.plan import NumberingPlan, PlanError

__all__ = ["synthetic_plan", "server_ids"]


def server_ids(n: int) -> list[str]:
    """Default server ids: A..Z, then S27, S28 …"""
    letters = [chr(ord("A") + i) for i in range(26)]
    return [letters[i] if i < 26 else f"S{i + 1}" for i in range(n)]


def synthetic_plan(servers: int, extensions_per_server: int, overlap: float = 0.0, length: int = 4,
                   seed: int = 0, block_digits: int = 2, first_digit: int = 2,
                   ids: list[str] | None = None) -> NumberingPlan:
    """A deterministic plan of ``servers`` × ``extensions_per_server`` numbers; see module doc."""
    if not isinstance(servers, int) or servers < 1:
        raise PlanError(f"servers must be a positive integer, not {servers!r}")
    if not isinstance(extensions_per_server, int) or extensions_per_server < 1:
        raise PlanError(f"extensions_per_server must be a positive integer, not {extensions_per_server!r}")
    if not 0.0 <= float(overlap) <= 1.0:
        raise PlanError(f"overlap must lie in [0, 1], not {overlap!r}")
    if not isinstance(length, int) or length < 2:
        raise PlanError(f"length must be an integer >= 2, not {length!r}")
    if not 0 <= block_digits < length:
        raise PlanError(f"block_digits must lie in [0, length), not {block_digits!r}")
    if not 1 <= first_digit <= 9:
        raise PlanError(f"first_digit must lie in 1..9, not {first_digit!r}")
    ids = list(ids) if ids is not None else server_ids(servers)
    if len(ids) != servers or len(set(ids)) != servers:
        raise PlanError("ids must name each server once")

    block = 10 ** block_digits
    own = int(round((1.0 - float(overlap)) * extensions_per_server))
    shared = extensions_per_server - own
    own_blocks = -(-own // block)
    shared_blocks = -(-(shared * servers) // block)
    start = first_digit * 10 ** (length - 1)
    limit = 9 * 10 ** (length - 1)  # keep clear of the outside-line digit 9
    needed = (own_blocks * servers + shared_blocks) * block
    if start + needed > limit:
        raise PlanError(f"{servers} x {extensions_per_server} extensions do not fit in {length}-digit "
                        f"numbers starting at {first_digit} and below 9; use a longer length")

    rng = np.random.default_rng(seed)
    plan: dict[str, list[int]] = {s: [] for s in ids}
    base = start
    for s in ids:
        for b in range(own_blocks):
            take = min(block, own - b * block)
            plan[s].extend(range(base + b * block, base + b * block + take))
        base += own_blocks * block
    if shared:
        pool = np.arange(base, base + shared_blocks * block)
        chosen = rng.permutation(pool)[: shared * servers]
        for i, s in enumerate(ids):
            plan[s].extend(int(x) for x in chosen[i::servers])
    return NumberingPlan.from_dict({s: [str(n) for n in sorted(v)] for s, v in plan.items()})
