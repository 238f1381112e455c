"""Calibrating the CPU model from the real matcher's timings."""
from __future__ import annotations

from iaxsim.sim.calibrate import calibrate_cpu, measure_lookups


def test_comparisons_grow_with_the_context_and_the_fit_is_sane():
    points = measure_lookups((10, 200), repeat=50)
    # an unknown number makes the linear matcher test every one of the n extensions
    assert [c for c, _ in points] == [10, 200]
    assert points[1][1] > points[0][1] > 0
    model = calibrate_cpu((10, 100, 400))
    assert model.per_comparison > 0
    assert 0 <= model.base < 1e-3          # a lookup's fixed cost is well under a millisecond
    assert model.per_comparison < 1e-4     # and so is testing one pattern
