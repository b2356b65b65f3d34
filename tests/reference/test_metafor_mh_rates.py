"""Mantel-Haenszel pooling of incidence rates (``metaacu.mantel_haenszel_rates``) against metafor's
``rma.mh(measure="IRR"/"IRD", x1i, t1i, x2i, t2i)``, read from the ``mh_rates`` part of
``metafor_escalc_more.json`` (written by ``make_fixtures_escalc_more.R`` with metafor 3.8-1 on
dat.hart1999, dat.nielweise2008 and simulated zero counts).

Every statistic is a closed form: RTOL_CLOSED and ATOL (tests/tolerances.py).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

import metaacu
from metaacu import MetaacuInputError
from metaacu.binary_rates import RatesPooled

from tolerances import ATOL, RTOL_CLOSED, reference

MIN_CASES = 14
CASES = reference("escalc_more")["mh_rates"]
#: metaacu field → metafor's rma.mh element.
FIELDS = {
    "estimate": "beta",
    "se": "se",
    "statistic": "zval",
    "pvalue": "pval",
    "ci_low": "ci.lb",
    "ci_high": "ci.ub",
    "q": "QE",
    "q_pvalue": "QEp",
    "i2": "I2",
    "h2": "H2",
    "mh": "MH",
    "mh_pvalue": "MHp",
}


def as_array(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def value(x: float | None) -> float:
    return np.nan if x is None else float(x)


def args(case: dict[str, Any]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=float) for k, v in case["args"].items()}


def fit(case: dict[str, Any]) -> RatesPooled:
    return metaacu.mantel_haenszel_rates(
        **args(case), measure=case["measure"], level=case["level"], continuity=case["correct"]
    )


def test_fixture_grid_has_not_shrunk() -> None:
    assert len(CASES) >= MIN_CASES
    assert {c["measure"] for c in CASES} == {"IRR", "IRD"}
    assert any(c["k_yi"] < c["k"] for c in CASES if c["ok"])  # a study without events
    assert any(c["level"] != 0.95 for c in CASES) and any(not c["correct"] for c in CASES)
    assert any(c["ok"] and c["beta"] is None for c in CASES)  # metafor's NA: refused by metaacu
    assert any(c["ok"] and c["se"] == 0 for c in CASES)  # SE 0: z and p NaN


DEFINED = [c for c in CASES if c["ok"] and c["beta"] is not None]


@pytest.mark.parametrize("case", DEFINED, ids=lambda c: c["id"])
def test_mantel_haenszel_rates(case: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if case["se"] == 0 else "error", RuntimeWarning)
        res = fit(case)
    for ours, theirs in FIELDS.items():
        got, want = float(getattr(res, ours)), value(case[theirs])
        if np.isnan(want):
            assert np.isnan(got), ours
        else:
            assert got == pytest.approx(want, rel=RTOL_CLOSED, abs=ATOL), ours
    assert res.k == case["k"] and res.k_heterogeneity == case["k_yi"]
    assert res.q_df == max(case["k_yi"] - 1, 0)
    np.testing.assert_allclose(res.yi, as_array(case["yi"]), rtol=RTOL_CLOSED, atol=ATOL)
    np.testing.assert_allclose(res.vi, as_array(case["vi"]), rtol=RTOL_CLOSED, atol=ATOL)
    np.testing.assert_allclose(res.weights, as_array(case["weights"]), rtol=RTOL_CLOSED, atol=ATOL)
    frame = res.to_frame()
    assert list(frame.row_type) == ["study"] * res.k + ["pooled"]
    assert frame.iloc[-1]["estimate"] == res.estimate


def test_rate_ratio_without_events_in_a_group_is_refused() -> None:
    """metafor returns NA for the IRR when a group has no events in any study; metaacu refuses, naming it."""
    (case,) = [c for c in CASES if c["id"] == "MH_IRR_no_events1"]
    assert case["beta"] is None
    with pytest.raises(MetaacuInputError, match=r"no events in group 1.*'events1'"):
        fit(case)


def test_no_events_at_all_warns() -> None:
    (case,) = [c for c in CASES if c["id"] == "MH_IRD_no_events"]
    with pytest.warns(RuntimeWarning, match="standard error of the pooled rate difference is 0"):
        res = fit(case)
    assert res.estimate == 0 and res.se == 0 and np.isnan(res.statistic)


def test_three_ways_of_giving_the_data() -> None:
    """Arrays, an EffectSizes of IRR/IRD (its measure is used) and column names of a frame: the same numbers."""
    (case,) = [c for c in CASES if c["id"] == "MH_IRD_hart1999"]
    a = args(case)
    ref = metaacu.mantel_haenszel_rates(**a, measure="IRD")
    es = metaacu.effect_sizes("IRD", **a, labels=[f"T{i}" for i in range(6)])
    from_es = metaacu.mantel_haenszel_rates(es)
    frame = pd.DataFrame({"x1": a["events1"], "t1": a["time1"], "x2": a["events2"], "t2": a["time2"]})
    from_frame = metaacu.mantel_haenszel_rates("x1", "t1", "x2", "t2", data=frame, measure="IRD")
    for r in (from_es, from_frame):
        assert (r.estimate, r.se, r.q) == (ref.estimate, ref.se, ref.q)
    assert from_es.measure == "IRD" and from_es.labels[0] == "T0"


def test_summary_and_response_scale() -> None:
    (case,) = [c for c in CASES if c["id"] == "MH_IRR_zero"]
    res = fit(case)
    text = res.summary()
    assert "Mantel-Haenszel method" in text and "Incidence rate ratio" in text
    assert f"{np.exp(case['beta']):.4f}" in text and "Mantel-Haenszel test (with continuity correction)" in text
    assert "study index 2 (no events in either group)" in text
    fr = res.to_frame(scale="response")
    assert fr.iloc[-1]["estimate"] == pytest.approx(np.exp(case["beta"]), rel=RTOL_CLOSED)
    assert "se" not in fr.columns and {"events1", "time1", "events2", "time2"} <= set(fr.columns)
    assert "RatesPooled MH IRR k=5" in repr(res)
    assert "<pre>" in res._repr_html_()


def test_bad_input() -> None:
    good = {"events1": [3, 4], "time1": [100, 80], "events2": [5, 6], "time2": [90, 85]}
    with pytest.raises(MetaacuInputError, match=r"'time2' must be > 0.*study index 1\b"):
        metaacu.mantel_haenszel_rates(**(good | {"time2": [90, 0]}))
    with pytest.raises(MetaacuInputError, match=r"'events1' must be >= 0.*study index 0\b"):
        metaacu.mantel_haenszel_rates(**(good | {"events1": [-3, 4]}))
    with pytest.raises(MetaacuInputError, match=r"missing argument\(s\) time2"):
        metaacu.mantel_haenszel_rates(good["events1"], good["time1"], good["events2"])
    with pytest.raises(MetaacuInputError, match=r"'measure'"):
        metaacu.mantel_haenszel_rates(**good, measure="RR")
    with pytest.raises(MetaacuInputError, match=r"same number of studies"):
        metaacu.mantel_haenszel_rates(**(good | {"time1": [100]}))
    es = metaacu.effect_sizes("IRR", **good)
    with pytest.raises(MetaacuInputError, match=r"contradicts the effect sizes' measure 'IRR'"):
        metaacu.mantel_haenszel_rates(es, measure="IRD")
    with pytest.raises(MetaacuInputError, match=r"do not also give time1"):
        metaacu.mantel_haenszel_rates(es, good["time1"])
    rr = metaacu.effect_sizes("RR", events1=[3, 4], n1=[10, 10], events2=[5, 6], n2=[10, 10])
    with pytest.raises(MetaacuInputError, match=r"measure 'RR'.*mantel_haenszel\(\)"):
        metaacu.mantel_haenszel_rates(rr)
