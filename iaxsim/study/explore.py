"""Fast estimates for the explorer notebook: lint findings and post-dial delay of a synthetic
network, in well under a second, from the call set-up rules measured on Asterisk 22.

Post-dial delay (first NEW to ANSWER at the caller, callee answering at once) counts one-way trips
of ``latency + TRIP_OVERHEAD`` each:

* the owner reached with the first dial: **6 trips** — NEW, CALLTOKEN, NEW, ACCEPT, the caller's
  ACK of ACCEPT, then ANSWER (the called side's dialplan starts when that ACK arrives;
  ``chan_iax2.c``, delayed PBX start);
* each **wrong address** dialled before it (link.conf tries a server that does not own the
  number): **+4 trips** — NEW, CALLTOKEN, NEW, REJECT (cause 3); the caller goes on at once;
* an address that never answers (another site's internal address): with ``qualify=yes`` the
  peer is UNREACHABLE and Dial skips it at once; without qualify the NEW is resent at 0, 2, 12,
  22 s and Dial gives up at **32 s**;
* ``switch => IAX2/…`` lookups: nothing is cached, every dialplan query sends a DPREQ and waits
  its round trip (**+2 trips**), switch after switch: a number on the k-th switch costs
  ``2k + 1`` DPREQs (3 on the first, B; B, C, B, C, C = 5 on the second) before its NEW.

Measured with 20 ms one-way latency: 124 ms for the owner first, 296 ms after two wrong
addresses, 256 ms (switch B) and 340 ms (switch C); ``TRIP_OVERHEAD`` (the relay's and the
servers' processing per trip) is the one constant fitted to them (all four within 5 ms).
Steady state is assumed: qualify has learnt every address, the switches' TBD calls are open.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from iaxsim.errors import ConfigError
from iaxsim.numbering import NumberingPlan, PlanAnalysis, analyze, synthetic_plan
from iaxsim.numbering.generate import unit_claims

__all__ = ["TRIP_OVERHEAD", "DEAD_ADDRESS_WAIT", "LINK_MODES", "setup_delay", "switch_dpreqs",
           "Estimate", "estimate_plan", "estimate", "delay_by_servers"]

#: Processing and relay time per one-way trip beyond the latency, s (fitted, see module doc).
TRIP_OVERHEAD = 0.001
#: How long Dial waits on an address that never answers when qualify is off, s.
DEAD_ADDRESS_WAIT = 32.0
#: The explorer's ways of finding a remote number.
LINK_MODES = ("exact", "block", "switch")


def setup_delay(latency: float, wrong_addresses: float = 0, dead_addresses: float = 0,
                dpreqs: float = 0, qualify: bool = True, overhead: float = TRIP_OVERHEAD) -> float:
    """Post-dial delay, s, of a call answered at once by its owner after ``wrong_addresses``
    rejecting addresses, ``dead_addresses`` silent ones (skipped with qualify, 32 s each
    without) and ``dpreqs`` DPREQ round trips (see the module doc)."""
    if latency < 0 or overhead < 0 or min(wrong_addresses, dead_addresses, dpreqs) < 0:
        raise ConfigError("latency, overhead and counts must be ≥ 0")
    trip = latency + overhead
    delay = (6 + 4 * wrong_addresses + 2 * dpreqs) * trip
    if not qualify:
        delay += DEAD_ADDRESS_WAIT * dead_addresses
    return delay


def switch_dpreqs(position: int) -> int:
    """DPREQs before the NEW for a number on the ``position``-th switch (1-based): 2k + 1."""
    if position < 1:
        raise ConfigError(f"switch position must be ≥ 1, got {position}")
    return 2 * position + 1


@dataclass(frozen=True)
class Estimate:
    """What the explorer shows for one setting."""

    plan: NumberingPlan
    lint: PlanAnalysis
    link_mode: str
    latency: float
    qualify: bool
    wrong_addresses: float     # mean rejecting addresses dialled before the owner, per remote call
    dead_addresses: float      # mean silent addresses dialled before it (internal, other site)
    dpreqs: float              # mean DPREQ round trips (switch)
    pdd_remote: float          # mean post-dial delay of a remote call, s
    pdd_remote_max: float      # the worst remote number's, s
    p_waited: float            # share of numbers that wait the digit timeout (prefix hazards)

    def summary_html(self) -> str:
        """:meth:`summary` as a preformatted HTML block (for a widget)."""
        import html

        return "<pre>" + html.escape(self.summary()) + "</pre>"

    def summary(self) -> str:
        """The estimate in a few lines of plain text."""
        lint = self.lint
        return "\n".join([
            f"{len(self.plan.servers)} servers, {len(self.plan)} extensions, {self.link_mode} "
            f"{'switch =>' if self.link_mode == 'switch' else 'link.conf'}, "
            f"{self.latency * 1000:g} ms one-way, qualify {'on' if self.qualify else 'off'}",
            f"lint: {lint.n_conflicts} conflicts, {lint.n_prefix_hazards} prefix hazards, "
            f"{lint.n_reserved_collisions} reserved-prefix collisions, block overlap score "
            f"{lint.overlap_score:.2f}",
            f"remote call: {self.wrong_addresses:.2f} wrong addresses, {self.dpreqs:.1f} DPREQs on "
            f"average; post-dial delay {self.pdd_remote * 1000:.0f} ms mean, "
            f"{self.pdd_remote_max * 1000:.0f} ms worst",
            f"{self.p_waited:.1%} of numbers wait the {lint.digit_timeout:g} s digit timeout",
        ])


def estimate_plan(plan: NumberingPlan, link_mode: str = "exact", latency: float = 0.020,
                  qualify: bool = True, internal_reachable: bool = False,
                  block_digits: int = 2) -> Estimate:
    """Lint ``plan`` and estimate the post-dial delay of its remote calls, averaged over every
    (origin, number of another server) pair, each server on its own site unless
    ``internal_reachable`` (then a wrong server rejects on both its addresses)."""
    if link_mode not in LINK_MODES:
        raise ConfigError(f"link mode must be one of {', '.join(LINK_MODES)}, got {link_mode!r}")
    servers = list(plan.servers)
    n = len(servers)
    lint = analyze(plan, mode="block" if link_mode == "block" else "exact", block_digits=block_digits)
    hazards = set(lint.prefix_hazards["short"]) if lint.n_prefix_hazards else set()
    owners = plan.owners()
    p_waited = sum(1 for x in owners if x in hazards) / len(owners) if owners else 0.0
    rank = {s: i for i, s in enumerate(servers)}
    claims = unit_claims(plan, "exact" if link_mode == "switch" else link_mode, block_digits)
    # per wrong server: its external address rejects; its internal one is silent (other site)
    # or rejects too (same site); the owner's own internal address is silent or answers
    wrong_per, dead_per = (2, 0) if internal_reachable else (1, 1)
    total_wrong = total_dead = total_dp = total_delay = 0.0
    worst, pairs = 0.0, 0
    for number, who in owners.items():
        if n < 2:
            break
        claimers = claims[(len(number), number) if link_mode != "block" else
                          (len(number), number[:len(number) - min(block_digits, len(number) - 1)])]
        answer = who[0]  # the first owner in plan order takes the call (a conflict: maybe the wrong site)
        origins = n - len(who)  # servers that call it as a remote number
        if origins == 0:
            continue
        if link_mode == "switch":
            w = rank[answer]
            # origins before the owner see it at position w, the others at w + 1 (1-based)
            before = sum(1 for s in servers[:w] if s not in who)
            after = origins - before
            dp = (before * switch_dpreqs(max(w, 1)) + after * switch_dpreqs(w + 1)) / origins
            wrong = dead = 0.0
            worst_delay = setup_delay(latency, dpreqs=switch_dpreqs(w + 1 if after else w), qualify=qualify)
        else:
            j = claimers.index(answer)  # claimers ahead of the owner, origin included when it is one
            # every origin dials the j servers ahead of the owner, except an origin among them
            # (no owner is ahead: claimers are in plan order), which skips itself
            wrong_servers = (j * origins - j) / origins
            wrong = wrong_servers * wrong_per
            dead = wrong_servers * dead_per + (0 if internal_reachable else 1)
            dp = 0.0
            worst_delay = setup_delay(latency, j * wrong_per, j * dead_per + (0 if internal_reachable else 1),
                                      qualify=qualify)
        total_wrong += wrong * origins
        total_dead += dead * origins
        total_dp += dp * origins
        total_delay += setup_delay(latency, wrong, dead, dp, qualify) * origins
        worst = max(worst, worst_delay)
        pairs += origins
    mean = (lambda x: x / pairs if pairs else 0.0)
    return Estimate(plan, lint, link_mode, latency, qualify, mean(total_wrong), mean(total_dead),
                    mean(total_dp), mean(total_delay), worst, p_waited)


def estimate(servers: int = 5, per_server: int = 100, overlap: float = 0.3, link_mode: str = "block",
             latency: float = 0.020, qualify: bool = True, length: int = 4, seed: int = 1) -> Estimate:
    """:func:`estimate_plan` on ``iaxsim plan synth --servers … --per-server … --overlap …
    --length … --seed …`` (the explorer's widgets)."""
    plan = synthetic_plan(int(servers), int(per_server), float(overlap), int(length), int(seed))
    return estimate_plan(plan, link_mode, latency, qualify)


def delay_by_servers(servers: list[int], per_server: int = 100, overlap: float = 0.3,
                     latency: float = 0.020, qualify: bool = True, length: int = 4,
                     seed: int = 1) -> pd.DataFrame:
    """:func:`estimate` for each server count and link mode: columns servers, link_mode,
    pdd_remote, pdd_remote_max (s), wrong_addresses, dpreqs, overlap_score."""
    rows = []
    for n in servers:
        for mode in LINK_MODES:
            e = estimate(n, per_server, overlap, mode, latency, qualify, length, seed)
            rows.append({"servers": n, "link_mode": mode, "pdd_remote": e.pdd_remote,
                         "pdd_remote_max": e.pdd_remote_max, "wrong_addresses": e.wrong_addresses,
                         "dpreqs": e.dpreqs, "overlap_score": e.lint.overlap_score})
    return pd.DataFrame(rows)
