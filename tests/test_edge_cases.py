"""Extreme and degenerate but valid input: the right number, or a documented refusal (issue 18)."""

from __future__ import annotations

import numpy as np
import pytest

import metaacu
from metaacu.tau2 import TAU2_METHODS


@pytest.mark.parametrize("method", TAU2_METHODS)
def test_one_study_has_no_heterogeneity(method):
    """k = 1: I2 = 0 and H2 = 1 for every method (metafor: 0), also Q-based, in batches and cumulative."""
    res = metaacu.meta_analysis([0.35], [0.3], method=method)
    assert (res.i2, res.i2_q, res.h2, res.q) == (0.0, 0.0, 1.0, pytest.approx(0.0, abs=1e-30))
    assert "I^2 = 0.00%" in res.summary()
    batch = metaacu.meta_analysis_batch(np.array([[0.35, np.nan]]), np.array([[0.3, np.nan]]), method=method)
    assert batch.i2[0] == 0.0 and batch.i2_q[0] == 0.0


def test_first_cumulative_step_and_single_study_subgroup_have_no_heterogeneity():
    res = metaacu.meta_analysis([0.1, 0.3, 0.35], [0.02, 0.03, 0.01], labels=["A", "B", "C"])
    cum = metaacu.cumulative(res)
    assert cum.to_frame()["i2"].iloc[0] == 0.0
    sub = metaacu.subgroup_analysis(
        metaacu.effect_sizes(
            "MD", n1=[20, 20, 20], mean1=[1, 2, 3], sd1=[1, 1, 1], n2=[20, 20, 20], mean2=[0, 0, 0], sd2=[1, 1, 1]
        ),
        ["x", "y", "y"],
    )
    assert sub.groups["x"].i2 == 0.0 and sub.groups["x"].i2_q == 0.0


@pytest.mark.parametrize(
    ("measure", "events1", "events2"),
    [("RR", [10, 5], [10, 5]), ("RD", [0, 0], [0, 0]), ("RD", [10, 5], [10, 5])],
)
def test_mantel_haenszel_zero_standard_error_is_reported_not_divided(measure, events1, events2):
    # every participant (or none) had the event in every table: the pooled estimate is exact, so
    # the Wald statistic is 0/0. metafor's rma.mh returns zval NaN and a zero-width interval.
    with pytest.warns(RuntimeWarning, match="standard error of the pooled estimate is 0"):
        res = metaacu.mantel_haenszel(events1, [10, 5], events2, [10, 5], measure=measure)
    assert res.estimate == 0.0 and res.se == 0.0
    assert np.isnan(res.statistic) and np.isnan(res.pvalue)
    assert res.ci_low == res.ci_high == 0.0
