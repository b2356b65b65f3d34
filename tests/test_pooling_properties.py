"""Property tests of the pooling engine: invariances and exact identities that must hold for any data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import metaacu
from metaacu.tau2 import TAU2_METHODS

#: DLIT and SJIT are fixed-point iterations with no convergence guarantee (DLIT can cycle between two
#: values, see test_dlit_can_cycle_and_says_so): every other estimator always converges.
FIXED_POINT = ("DLIT", "SJIT")
METHODS = [m for m in TAU2_METHODS if m not in FIXED_POINT]
# Iterative solvers stop at a relative change of 1e-13; identities below hold to ~1e-9.
RTOL = 1e-9


@st.composite
def datasets(draw, min_k: int = 2, max_k: int = 25):
    k = draw(st.integers(min_k, max_k))
    yi = draw(arrays(np.float64, k, elements=st.floats(-5, 5, allow_nan=False)))
    vi = draw(arrays(np.float64, k, elements=st.floats(1e-3, 5, allow_nan=False)))
    return yi, vi


@settings(max_examples=60, deadline=None)
@given(datasets(), st.sampled_from(METHODS), st.sampled_from(["z", "knha"]))
def test_valid_input_never_raises_and_is_finite(data, method, test):
    yi, vi = data
    res = metaacu.meta_analysis(yi, vi, method=method, test=test)
    assert res.converged
    for name in ("estimate", "se", "ci_low", "ci_high", "tau2", "q", "i2", "h2"):
        assert np.isfinite(getattr(res, name)), name
    assert res.tau2 >= 0
    assert 0 <= res.i2 <= 100
    assert res.weights.sum() == pytest.approx(100.0, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(datasets(), st.sampled_from(METHODS), st.randoms(use_true_random=False))
def test_permutation_invariance(data, method, rnd):
    yi, vi = data
    perm = np.arange(yi.size)
    rnd.shuffle(perm)
    a = metaacu.meta_analysis(yi, vi, method=method)
    b = metaacu.meta_analysis(yi[perm], vi[perm], method=method)
    assert b.estimate == pytest.approx(a.estimate, rel=RTOL, abs=1e-12)
    assert b.tau2 == pytest.approx(a.tau2, rel=RTOL, abs=1e-12)
    np.testing.assert_allclose(b.weights, a.weights[perm], rtol=RTOL, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(datasets(), st.sampled_from(METHODS), st.floats(-3, 3), st.floats(0.1, 10))
def test_location_scale_equivariance(data, method, shift, scale):
    """y -> a + b·y, v -> b²·v gives μ̂ -> a + b·μ̂, τ² -> b²·τ², same Q and I²."""
    yi, vi = data
    a = metaacu.meta_analysis(yi, vi, method=method)
    b = metaacu.meta_analysis(shift + scale * yi, scale**2 * vi, method=method)
    assert b.estimate == pytest.approx(shift + scale * a.estimate, rel=1e-8, abs=1e-9)
    assert b.tau2 == pytest.approx(scale**2 * a.tau2, rel=1e-8, abs=1e-10)
    assert b.q == pytest.approx(a.q, rel=1e-8, abs=1e-10)
    assert b.i2 == pytest.approx(a.i2, rel=1e-8, abs=1e-8)


@settings(max_examples=40, deadline=None)
@given(datasets(), st.sampled_from(METHODS))
def test_random_equals_common_effect_when_tau2_is_zero(data, method):
    yi, vi = data
    re = metaacu.meta_analysis(yi, vi, method=method)
    if re.tau2 == 0:
        ee = metaacu.meta_analysis(yi, vi, method="EE")
        assert re.estimate == pytest.approx(ee.estimate, rel=1e-12, abs=1e-14)
        assert re.se == pytest.approx(ee.se, rel=1e-12)
        assert re.tau2_at_boundary == (method != "EE")


def test_homogeneous_data_gives_boundary_and_identity():
    yi = np.array([0.2, 0.2, 0.2])
    vi = np.array([0.1, 0.2, 0.3])
    for method in METHODS:
        res = metaacu.meta_analysis(yi, vi, method=method)
        assert res.tau2 == pytest.approx(0, abs=1e-30)  # SJ: rounding in ȳ leaves ~1e-66
        assert res.q == pytest.approx(0, abs=1e-15)
        assert res.estimate == pytest.approx(0.2, rel=1e-14)
        # Exact identity: common-effect SE = (Σ 1/v)^(-1/2)
        assert res.se == pytest.approx((1 / vi).sum() ** -0.5, rel=1e-14)


def test_single_study_is_the_study():
    res = metaacu.meta_analysis([0.3], [0.02])
    assert (res.estimate, res.tau2, res.q, res.q_df, res.q_pvalue) == (0.3, 0.0, 0.0, 0, 1.0)
    assert res.se == pytest.approx(np.sqrt(0.02), rel=1e-15)
    pi = res.prediction_interval()
    assert (pi.low, pi.high) == pytest.approx((res.ci_low, res.ci_high), rel=1e-15)
    assert any("k = 1" in n for n in res.notes)


def test_pm_and_eb_solve_the_same_equation():
    rng = np.random.default_rng(1)
    yi, vi = rng.normal(0, 1, 12), rng.uniform(0.05, 0.5, 12)
    pm = metaacu.meta_analysis(yi, vi, method="PM")
    eb = metaacu.meta_analysis(yi, vi, method="EB")
    assert pm.tau2 == eb.tau2
    # At the PM root the generalised Q equals k - 1 (Paule & Mandel 1982).
    w = 1 / (vi + pm.tau2)
    mu = (w * yi).sum() / w.sum()
    assert (w * (yi - mu) ** 2).sum() == pytest.approx(11, rel=1e-10)


def test_dl_i2_equals_q_based_i2():
    """Under DerSimonian-Laird the τ²-based I² equals the Q-based one (Higgins & Thompson 2002)."""
    rng = np.random.default_rng(2)
    yi, vi = rng.normal(0, 1, 9), rng.uniform(0.05, 0.5, 9)
    res = metaacu.meta_analysis(yi, vi, method="DL")
    assert res.i2 == pytest.approx(res.i2_q, rel=1e-12)


def test_knha_scales_variance_by_s2():
    rng = np.random.default_rng(3)
    yi, vi = rng.normal(0, 1, 7), rng.uniform(0.05, 0.5, 7)
    z = metaacu.meta_analysis(yi, vi, method="REML", test="z")
    kh = metaacu.meta_analysis(yi, vi, method="REML", test="knha")
    assert kh.se == pytest.approx(z.se * np.sqrt(kh.s2), rel=1e-12)
    assert kh.df == 6
    ad = metaacu.meta_analysis(yi, vi, method="REML", test="adhoc")
    assert ad.se == pytest.approx(z.se * np.sqrt(max(1.0, kh.s2)), rel=1e-12)


def test_profiles_set_defaults():
    yi, vi = [0.1, 0.5, 0.3, 0.9], [0.04, 0.02, 0.05, 0.03]
    assert metaacu.meta_analysis(yi, vi, profile="revman5").method == "DL"
    coch = metaacu.meta_analysis(yi, vi, profile="cochrane")
    assert (coch.method, coch.test) == ("REML", "knha")
    assert metaacu.meta_analysis(yi, vi, profile="cochrane", method="PM").method == "PM"


def test_higgins_prediction_interval_uses_k_minus_2():
    from scipy import stats

    yi, vi = np.array([0.1, 0.5, 0.3, 0.9, 0.2]), np.array([0.04, 0.02, 0.05, 0.03, 0.02])
    res = metaacu.meta_analysis(yi, vi, method="DL")
    pi = res.prediction_interval(prediction="higgins")
    half = stats.t.ppf(0.975, 3) * np.sqrt(res.se**2 + res.tau2)
    assert (pi.low, pi.high) == pytest.approx((res.estimate - half, res.estimate + half), rel=1e-14)


def test_dlit_can_cycle_and_says_so():
    """Iterated DL on these data alternates between 0 and the DL value 0.8 for ever (the PM root, its
    only fixed point, is 1/3): the fit is reported as not converged, with a warning, not as an answer."""
    yi = np.array([3.0, 0, 0, 0, 0, 0, 0, 0, 0])
    vi = np.array([0.5, 2, 2, 2, 2, 2, 2, 2, 2])
    assert metaacu.meta_analysis(yi, vi, method="PM").tau2 == pytest.approx(1 / 3, rel=1e-12)
    with pytest.warns(RuntimeWarning, match=r"tau2 estimation \(DLIT\) did not converge"):
        res = metaacu.meta_analysis(yi, vi, method="DLIT")
    assert not res.converged
    assert any("did not converge" in n for n in res.notes)
