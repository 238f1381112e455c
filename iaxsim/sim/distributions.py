"""Random-variate distributions used by scenarios (holding times, latencies, dialling).

Declared as a table (name → required parameters, mean, sampler) so the TOML loader,
the docs and the samplers share one definition. Every sampler draws from a
``numpy.random.Generator`` passed in, so runs are reproducible from a seed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from iaxsim.errors import IaxsimError


class DistributionError(IaxsimError, ValueError):
    """A distribution was declared with an unknown kind or bad parameters."""


def _lognormal_params(mean: float, sd: float) -> tuple[float, float]:
    sigma2 = math.log(1.0 + (sd / mean) ** 2)
    return math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2)


@dataclass(frozen=True)
class _Kind:
    params: tuple[str, ...]
    mean: Callable[[Mapping[str, float]], float]
    sample: Callable[[np.random.Generator, Mapping[str, float], int], np.ndarray]
    doc: str


KINDS: dict[str, _Kind] = {
    "fixed": _Kind(("value",), lambda p: p["value"],
                   lambda g, p, n: np.full(n, float(p["value"])),
                   "always `value`"),
    "exponential": _Kind(("mean",), lambda p: p["mean"],
                         lambda g, p, n: g.exponential(p["mean"], n),
                         "exponential with the given `mean`"),
    "uniform": _Kind(("low", "high"), lambda p: (p["low"] + p["high"]) / 2.0,
                     lambda g, p, n: g.uniform(p["low"], p["high"], n),
                     "uniform on [`low`, `high`]"),
    "lognormal": _Kind(("mean", "sd"), lambda p: p["mean"],
                       lambda g, p, n: g.lognormal(*_lognormal_params(p["mean"], p["sd"]), n),
                       "log-normal with the given `mean` and standard deviation `sd`"),
    "erlang": _Kind(("mean", "k"), lambda p: p["mean"],
                    lambda g, p, n: g.gamma(int(p["k"]), p["mean"] / int(p["k"]), n),
                    "Erlang-k (sum of `k` exponentials) with the given `mean`"),
}


@dataclass(frozen=True)
class Distribution:
    """A non-negative random quantity, e.g. ``Distribution("exponential", {"mean": 180})``."""

    kind: str
    params: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        spec = KINDS.get(self.kind)
        if spec is None:
            raise DistributionError(f"unknown distribution {self.kind!r}; use one of {', '.join(KINDS)}")
        missing = [p for p in spec.params if p not in self.params]
        extra = [p for p in self.params if p not in spec.params]
        if missing:
            raise DistributionError(f"{self.kind} distribution needs {', '.join(missing)}")
        if extra:
            raise DistributionError(f"{self.kind} distribution takes no {', '.join(extra)}")
        for name, value in self.params.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0:
                raise DistributionError(f"{self.kind} parameter {name} must be a number ≥ 0, got {value!r}")
        if self.kind == "uniform" and self.params["low"] > self.params["high"]:
            raise DistributionError("uniform distribution needs low ≤ high")
        if self.kind in ("lognormal", "exponential", "erlang") and self.params["mean"] <= 0:
            raise DistributionError(f"{self.kind} distribution needs mean > 0")
        if self.kind == "erlang" and (int(self.params["k"]) != self.params["k"] or self.params["k"] < 1):
            raise DistributionError("erlang distribution needs an integer k ≥ 1")

    @classmethod
    def fixed(cls, value: float) -> "Distribution":
        """A constant."""
        return cls("fixed", {"value": float(value)})

    @classmethod
    def exponential(cls, mean: float) -> "Distribution":
        """Exponential with the given mean."""
        return cls("exponential", {"mean": float(mean)})

    @classmethod
    def parse(cls, value: Any) -> "Distribution":
        """Build from TOML: a bare number (fixed) or a table ``{dist = "...", ...}``."""
        if isinstance(value, Distribution):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return cls.fixed(value)
        if isinstance(value, Mapping):
            params = dict(value)
            kind = params.pop("dist", None)
            if kind is None:
                raise DistributionError("a distribution table needs a `dist` key")
            return cls(str(kind), params)
        raise DistributionError(f"expected a number or a table with `dist`, got {value!r}")

    @property
    def mean(self) -> float:
        """The distribution's mean."""
        return float(KINDS[self.kind].mean(self.params))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values."""
        return KINDS[self.kind].sample(rng, self.params, n)

    def to_dict(self) -> dict[str, Any]:
        """The TOML/JSON form (inverse of :meth:`parse`)."""
        return {"dist": self.kind, **{k: float(v) for k, v in sorted(self.params.items())}}
