"""Calls placed at chosen times instead of Poisson arrivals: what a call placed ``t`` seconds
after a restart goes through (the qualify boundary: before ~22 s the dead internal address costs
the 4 s auto-congest, after it Dial skips the address at once)."""
from __future__ import annotations

from typing import Generator, Iterable

import numpy as np
import pandas as pd
import simpy

from iaxsim.errors import ConfigError
from iaxsim.sim.calls import CallRecord
from iaxsim.sim.results import calls_frame
from iaxsim.sim.scenario import Scenario


def scripted_calls(scenario: Scenario, calls: Iterable[tuple[float, str, str]], seed: int = 0,
                   holding: float = 5.0, settle: float = 60.0) -> pd.DataFrame:
    """Start ``scenario``'s servers (qualify included, as :func:`iaxsim.sim.simulate` does) at
    time 0 and place ``calls`` — (seconds after start, origin server id, dialled number) — and
    nothing else; each answered call lasts ``holding`` s. Runs until ``settle`` s after the last
    call was placed; returns their rows as ``SimResult.calls`` has them, in the order given."""
    from iaxsim.sim.model import Model

    model = Model(scenario, seed)
    env = model.env
    model.start_qualify(np.random.default_rng(model.seeds.integers(2 ** 63)))
    owner = model.traffic.owner
    recs = []
    for i, (at, origin, number) in enumerate(calls):
        if origin not in model.servers:
            raise ConfigError(f"scripted call {i + 1}: no server {origin!r}")
        if not at >= 0:
            raise ConfigError(f"scripted call {i + 1}: time must be >= 0, got {at!r}")
        recs.append(CallRecord(float(at), origin, str(number), owner.get(str(number), "")))
    rng = np.random.default_rng(seed)

    def place(rec: CallRecord) -> Generator[simpy.Event, object, None]:
        yield env.timeout(rec.start)
        model.log.started(rec, True)
        o = model.servers[rec.origin]
        yield from model.caller.place(o, rec, o.traffic, holding, rng)

    for rec in recs:
        env.process(place(rec))
    env.run(until=max((r.start for r in recs), default=0.0) + settle)
    return calls_frame(recs)
