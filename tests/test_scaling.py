"""Any unit of measurement gives the same answer: extreme scales are fitted exactly rescaled, and data
that cannot be pooled in double precision are refused with the valid range (metaacu.scaling).

Reference: the same data on a unit scale, fitted by metaacu itself.  The identity tested is the
model's scale-equivariance — estimate, SE and CI scale by c, tau2 by c^2, and z, p, Q, I^2, H^2 do
not change — which holds exactly for the formulas (Viechtbauer 2005), so a failure is a numerical
failure of the fit, not a convention.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metaacu
from metaacu.scaling import RANGE, exponents

SCALES = [2.0**-500, 1e-150, 1e-52, 1e52, 1e150, 2.0**500]
SCALE_FREE = ("statistic", "pvalue", "q", "q_pvalue", "i2", "h2", "i2_q", "s2")


def _data(k, seed):
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.01, 0.3, k)
    return rng.normal(0.3, 0.4, k) * 1.0, v


def _close(a, b, rel=1e-9, abs_=1e-12):
    return a == pytest.approx(b, rel=rel, abs=abs_)


@pytest.mark.parametrize("k", [5, 60])  # few and many studies
@pytest.mark.parametrize("method", ["REML", "ML", "DL", "PM", "SJ", "EE"])
@pytest.mark.parametrize("c", SCALES)
def test_meta_analysis_is_scale_equivariant_at_extreme_scales(k, method, c):
    y, v = _data(k, 7)
    ref = metaacu.meta_analysis(y, v, method=method, test="knha")
    res = metaacu.meta_analysis(y * c, v * c * c, method=method, test="knha")
    for name in ("estimate", "se", "ci_low", "ci_high"):
        assert _close(getattr(res, name) / c, getattr(ref, name)), name
    assert _close(res.tau2 / c**2, ref.tau2, rel=1e-7, abs_=1e-14)
    for name in SCALE_FREE:
        assert _close(getattr(res, name), getattr(ref, name), rel=1e-7, abs_=1e-9), name
    np.testing.assert_allclose(res.weights, ref.weights, rtol=1e-9)


def test_issue_18_case_tiny_variances_at_large_k():
    # yi ~ 1e-52, vi ~ 1e-104, k = 60: I^2 was 100% and tau2 1e31-1e45 times too large
    rng = np.random.default_rng(18)
    y = rng.normal(0.2, 0.3, 60)
    v = rng.uniform(0.02, 0.1, 60)
    ref = metaacu.meta_analysis(y, v)
    tiny = metaacu.meta_analysis(y * 1e-52, v * 1e-104)
    assert 0 < ref.i2 < 100
    assert _close(tiny.i2, ref.i2, rel=1e-9)
    assert _close(tiny.tau2 * 1e104, ref.tau2, rel=1e-7)
    batch = metaacu.meta_analysis_batch(np.vstack([y, y * 1e-52]), np.vstack([v, v * 1e-104]))
    assert _close(batch.i2[1], ref.i2, rel=1e-9) and _close(batch.tau2[1] * 1e104, ref.tau2, rel=1e-7)


def test_subnormal_and_huge_variances_give_finite_numbers():
    for y, v, c in (([3e-163, 1e-163], [5e-324, 1e-323], 2.0**-537), ([3e149, 1e149], [1e300, 2e300], 1e150)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            res = metaacu.meta_analysis(y, v, method="REML")
        ref = metaacu.meta_analysis(np.array(y) / c, np.array(v) / c**2, method="REML")
        assert math.isfinite(res.estimate) and math.isfinite(res.se) and math.isfinite(res.i2)
        assert _close(res.statistic, ref.statistic, rel=1e-6)


@settings(max_examples=60, deadline=None)
@given(k=st.integers(2, 60), seed=st.integers(0, 2**31 - 1), power=st.integers(-900, 900))
def test_scale_equivariance_property(k, seed, power):
    # c = 2^(power/2 rounded): exact in floating point, so the unit-scale data are recovered exactly
    c = 2.0 ** (power // 2)
    y, v = _data(k, seed)
    ref = metaacu.meta_analysis(y, v)
    res = metaacu.meta_analysis(y * c, v * c * c)
    assert _close(res.estimate / c, ref.estimate) and _close(res.se / c, ref.se)
    assert _close(res.i2, ref.i2, rel=1e-7, abs_=1e-9) and _close(res.q, ref.q)


def test_log_likelihood_shifts_by_the_jacobian_of_the_rescaling():
    # ML: -k e ln2, REML: -(k - 1) e ln2 for c = 2^e (the loglik of the alternative maximum is reported)
    ds = json.loads((Path(__file__).parent / "data" / "multimodal_likelihood.json").read_text(encoding="utf-8"))
    d = next(x for x in ds["datasets"] if x["method"] == "REML")
    y, v = np.array(d["yi"]), np.array(d["vi"])
    e = 200
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", metaacu.LikelihoodWarning)
        ref = metaacu.meta_analysis(y, v, method="REML")
        res = metaacu.meta_analysis(np.ldexp(y, e), np.ldexp(v, 2 * e), method="REML")
    assert ref.tau2_maxima > 1 and res.tau2_maxima == ref.tau2_maxima
    alt_t, alt_ll = res.tau2_alternative
    assert _close(alt_t, np.ldexp(ref.tau2_alternative[0], 2 * e), rel=1e-7)
    assert _close(alt_ll, ref.tau2_alternative[1] - (y.size - 1) * e * math.log(2.0), rel=1e-10)


def test_meta_regression_is_scale_equivariant():
    y, v = _data(12, 3)
    x = np.arange(12.0)
    ref = metaacu.meta_regression(y, v, x)
    c = 1e-120
    res = metaacu.meta_regression(y * c, v * c * c, x)
    np.testing.assert_allclose(res.estimate / c, ref.estimate, rtol=1e-9)
    np.testing.assert_allclose(res.se / c, ref.se, rtol=1e-9)
    assert _close(res.tau2 / c**2, ref.tau2, rel=1e-7) and _close(res.qm, ref.qm, rel=1e-9)
    assert _close(res.r2, ref.r2, rel=1e-7, abs_=1e-9)


def test_ordinary_data_are_not_rescaled():
    # the fit of every ordinary dataset is bit for bit that of the unscaled formulas
    v = np.array([[2.0**-40, 1.0, 2.0**40], [1e-12, 1e-12, 1e-12], [1e12, 1e12, 1e12]])
    assert exponents(v).tolist() == [0, 0, 0]
    assert exponents(np.array([[1e-104, 1e-104]])).item() != 0


@pytest.mark.parametrize(
    ("y", "v"),
    [
        ([0.1, 0.2], [1e-300, 1e300]),  # variances 600 orders of magnitude apart
        ([1e200, 1e200], [1.0, 2.0]),  # effects 1e200 standard errors from 0
        ([0.3, 0.1, 0.5], [1e-300, 2e-300, 1.5e-300]),  # effects 1e150 standard errors apart
    ],
)
def test_data_beyond_double_precision_are_refused_with_the_valid_range(y, v):
    msg = f"cannot be pooled in double precision.*1e-{RANGE} to 1e{RANGE}"
    with pytest.raises(metaacu.MetaacuInputError, match=msg):
        metaacu.meta_analysis(y, v)
    with pytest.raises(metaacu.MetaacuInputError, match=msg):
        metaacu.meta_regression(list(y) * 2, list(v) * 2, np.arange(2 * len(y)))
    with pytest.raises(metaacu.MetaacuInputError, match=r"out of double range \(code 5\) in row 1"):
        metaacu.meta_analysis_batch([[0.1] * len(y), y], [[0.1] * len(v), v])
    flagged = metaacu.meta_analysis_batch([[0.1] * len(y), y], [[0.1] * len(v), v], errors="flag")
    assert flagged.error.tolist() == [0, 5] and np.isnan(flagged.estimate[1])


def test_ordinary_means_no_rescaling_and_in_range() -> None:
    """``ordinary`` (the fast path of single fits, batch checks and refits) is True only where every
    row's exponent is 0 and no row is out of range, and False for NaN/inf anywhere."""
    from metaacu.scaling import exponents, ordinary, out_of_range

    rng = np.random.default_rng(7)
    seen = {True: 0, False: 0}
    for _ in range(400):
        centre = 2.0 ** rng.uniform(-44, 44)
        v = centre * 2.0 ** rng.uniform(-6, 6, (3, 5))
        y = rng.normal(0, 1, (3, 5)) * 10.0 ** rng.choice([0, 39, 41])
        ok = ordinary(y, v)
        seen[ok] += 1
        if ok:
            assert not exponents(v).any() and not out_of_range(y, v).any()
    assert seen[True] > 50 and seen[False] > 50
    y, v = np.zeros((2, 3)), np.ones((2, 3))
    assert ordinary(y, v)
    for bad in (np.nan, np.inf, 2.0**41, 2.0**-41):
        v2 = v.copy()
        v2[1, 2] = bad
        assert not ordinary(y, v2)
    y[0, 0] = np.nan
    assert not ordinary(y, v)
    assert not ordinary(np.zeros((3, 0)), np.zeros((3, 0)))  # no studies: left to the full checks
