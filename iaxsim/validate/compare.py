"""Call-by-call comparison of a simulated run with its replay on real nodes."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

#: Post-dial delays agree within this share of the simulated one ...
PDD_SHARE = 0.10
#: ... or within this many seconds, whichever is larger.
PDD_FLOOR = 0.005


@dataclass
class CallResult:
    """One call as one run saw it."""

    outcome: str
    answered_by: str
    attempts: int
    post_dial_delay: float
    #: the kind of address ("internal"/"external") of the attempt that answered, if remote
    answered_kind: str = ""
    #: a retransmission or VNAK to or from the origin during the call's set-up
    recovered: bool = False


@dataclass
class Disagreement:
    """A call whose two runs differ: which fields, and both values of each."""

    index: int
    start: float
    origin: str
    dialled: str
    call_class: str
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON shape: every differing field as ``{"sim": …, "node": …}``."""
        return {"index": self.index, "start": self.start, "origin": self.origin,
                "dialled": self.dialled, "class": self.call_class,
                "fields": {k: {"sim": _json(s), "node": _json(n)}
                           for k, (s, n) in self.fields.items()}}


@dataclass
class ClassRow:
    """Per call class: count, mean post-dial delays of both runs, share that agrees."""

    name: str
    calls: int
    sim_pdd: float
    node_pdd: float
    agree: float
    loss_affected: int

    def as_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {"class": self.name, "calls": self.calls, "sim_pdd_mean": _json(self.sim_pdd),
                "node_pdd_mean": _json(self.node_pdd), "agree": self.agree,
                "loss_affected": self.loss_affected}


@dataclass
class Report:
    """The result of a validation run."""

    scenario: str
    seed: int
    calls: int
    agreeing: int
    loss_affected: list[int]
    classes: list[ClassRow]
    disagreements: list[Disagreement]
    wall: float = 0.0
    #: datagrams each run lost over the whole run ("sim", "node")
    lost: dict[str, int] = field(default_factory=dict)
    #: what replayed the calls: "nodes" (iaxsim nodes) or "asterisk" (Asterisk servers)
    replay: str = "nodes"
    #: every call, both runs side by side (:meth:`Report.as_dict`'s ``per_call``)
    per_call: list[dict[str, Any]] = field(default_factory=list)

    @property
    def agree(self) -> float:
        """Share of calls that agree."""
        return self.agreeing / self.calls if self.calls else 0.0

    @property
    def ok(self) -> bool:
        """Every call agrees."""
        return not self.disagreements

    def as_dict(self) -> dict[str, Any]:
        """One JSON object: ``calls``, ``agree`` (share), ``classes``, ``disagreements`` …"""
        return {"scenario": self.scenario, "seed": self.seed, "replay": self.replay,
                "calls": self.calls,
                "agree": self.agree, "loss_affected": len(self.loss_affected),
                "loss_affected_calls": self.loss_affected,
                "classes": [c.as_dict() for c in self.classes],
                "disagreements": [d.as_dict() for d in self.disagreements],
                "lost_datagrams": self.lost,
                "per_call": self.per_call,
                "tolerance": {"pdd_share": PDD_SHARE, "pdd_floor": PDD_FLOOR}}


def _json(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def tolerance(sim_pdd: float) -> float:
    """Allowed post-dial delay gap for a call whose simulated delay is ``sim_pdd``."""
    return max(PDD_SHARE * abs(sim_pdd), PDD_FLOOR) if not math.isnan(sim_pdd) else PDD_FLOOR


def pdd_agrees(sim_pdd: float, node_pdd: float) -> bool:
    """Both delays missing, or within :func:`tolerance`."""
    if math.isnan(sim_pdd) or math.isnan(node_pdd):
        return math.isnan(sim_pdd) and math.isnan(node_pdd)
    return abs(sim_pdd - node_pdd) <= tolerance(sim_pdd)


def call_class(origin: str, target: str, sim: CallResult, node: CallResult,
               one_way_pairs: set[tuple[str, str]]) -> str:
    """The class a call is reported under, from the simulated row (and the node's address kind)."""
    if sim.attempts == 0:
        return "local" if target == origin else "rejected at origin"
    if (origin, target) in one_way_pairs:
        return "one-way firewall"
    if "external" in (sim.answered_kind, node.answered_kind) and sim.attempts > 1:
        return "fallback to external"
    if not target:
        return "unassigned"
    return f"remote, {sim.attempts} attempt{'s' if sim.attempts != 1 else ''}"


def compare(rows: list[tuple[int, float, str, str, str]], sim: list[CallResult],
            node: list[CallResult], *, one_way_pairs: set[tuple[str, str]],
            scenario: str = "", seed: int = 0) -> Report:
    """Compare both runs call by call.

    ``rows`` are (index, start, origin, dialled, target) of the simulated calls. Outcome,
    answering server and attempts must be equal. The post-dial delay must agree within
    :func:`tolerance`, except for a *loss-affected* call: the run that was slower needed a
    retransmission or a VNAK at the origin during the call's set-up (``recovered``). The two runs
    draw their losses independently, so such a call is compared on the other three fields only
    and counted apart.
    """
    disagreements: list[Disagreement] = []
    loss_affected: list[int] = []
    per_call: list[dict[str, Any]] = []
    per_class: dict[str, list[tuple[float, float, bool, bool]]] = {}
    for (index, start, origin, dialled, target), s, n in zip(rows, sim, node):
        cls = call_class(origin, target, s, n, one_way_pairs)
        diff: dict[str, tuple[Any, Any]] = {}
        for name in ("outcome", "answered_by", "attempts"):
            if getattr(s, name) != getattr(n, name):
                diff[name] = (getattr(s, name), getattr(n, name))
        affected = False
        if not pdd_agrees(s.post_dial_delay, n.post_dial_delay):
            gap = n.post_dial_delay - s.post_dial_delay
            slower = n if gap > 0 else s
            if not math.isnan(gap) and slower.recovered:
                affected = True
                loss_affected.append(index)
            else:
                diff["post_dial_delay"] = (s.post_dial_delay, n.post_dial_delay)
        if diff:
            disagreements.append(Disagreement(index, start, origin, dialled, cls, diff))
        per_class.setdefault(cls, []).append((s.post_dial_delay, n.post_dial_delay, not diff,
                                              affected))
        per_call.append({"index": index, "start": start, "origin": origin, "dialled": dialled,
                         "target": target, "class": cls, "agree": not diff,
                         "loss_affected": affected,
                         **{f"{side}_{name}": _json(getattr(run, name))
                            for side, run in (("sim", s), ("real", n))
                            for name in ("outcome", "answered_by", "attempts",
                                         "post_dial_delay")}})
    classes = []
    for name in sorted(per_class):
        items = per_class[name]
        classes.append(ClassRow(name, len(items), _mean([i[0] for i in items]),
                                _mean([i[1] for i in items]),
                                sum(i[2] for i in items) / len(items), sum(i[3] for i in items)))
    return Report(scenario, seed, len(rows), len(rows) - len(disagreements), loss_affected,
                  classes, disagreements, per_call=per_call)


def _mean(values: list[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept) if kept else float("nan")
