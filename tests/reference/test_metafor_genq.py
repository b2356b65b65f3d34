"""The generalised-Q estimators with user weights against metafor (tracker issue 14, item 4): GENQ and
the median-unbiased GENQM, intercept-only (``meta_analysis``) and with one or two moderators
(``meta_regression(weights=)``); user weights under REML with moderators; and the generalised-Q
confidence interval for τ² (``heterogeneity_confint(kind="genq")``) against metafor's ``confint``.

Reference numbers: ``tests/reference/metafor_genq.json``, written by
``tests/reference/make_fixtures_genq.R`` (metafor 3.8-1 with CompQuadForm 1.4.3 at threshold = tol =
1e-12) on dat.bcg, dat.hackshaw1998, dat.molloy2014 and dat.bangertdrowns2004 with weights 1/vi, 1 and
√n.  metafor's ``confint`` bounds are accurate only to uniroot's default tolerance (see the R script);
the script also solves them tightly with metafor's own tail probability, the reference at RTOL_ITER.
"""

from __future__ import annotations

import math
import warnings
from functools import cache
from typing import Any

import numpy as np
import pytest

import metaacu
import metaacu.fitting
from metaacu import MetaacuInputError
from metaacu.heterogeneity import generalised_q_interval, generalised_q_tail
from metaacu.tau2_genq import generalised_q_tau2, generalised_q_tau2_se, user_weighted_coefficients

from tolerances import (
    ATOL,
    ATOL_UNIROOT_DEFAULT,
    RTOL_CLOSED,
    RTOL_ILL_CONDITIONED,
    RTOL_ITER,
    RTOL_PATHS,
    reference,
)


@cache
def _fixture() -> dict[str, Any]:
    return reference("genq")


def _dataset(name: str) -> dict[str, Any]:
    return next(d for d in _fixture()["datasets"] if d["name"] == name)


def _case_id(c: dict[str, Any]) -> str:
    return f"{c['dataset']}/{c['moderators']}/{c['method']}/{c['test']}/w={c['weighting']}"


def _data(c: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """yi, vi, the moderators (None: intercept only) and the user weights of a case."""
    d = _dataset(c["dataset"])
    y, v, n = np.array(d["yi"]), np.array(d["vi"]), np.array(d["n"])
    a = {"inverse_variance": 1.0 / v, "equal": np.ones(v.size), "sqrt_n": np.sqrt(n)}[c["weighting"]]
    mods = None if c["moderators"] == "none" else np.column_stack(d["moderators"][c["moderators"]]["columns"])
    return y, v, mods, a


def _design(c: dict[str, Any]) -> np.ndarray:
    y, _, mods, _ = _data(c)
    return np.ones((y.size, 1)) if mods is None else np.column_stack([np.ones(y.size), mods])


def _tolerance(c: dict[str, Any]) -> float:
    """Closed forms (GENQ, EE) at RTOL_CLOSED, or RTOL_ILL_CONDITIONED for an uncentred-year design;
    iterative τ² (GENQM's root, REML) at RTOL_ITER."""
    if c["method"] not in ("GENQ", "EE"):
        return RTOL_ITER
    x = _design(c)
    return RTOL_ILL_CONDITIONED if np.linalg.cond(x.T @ x) > 1e8 else RTOL_CLOSED


def _fit(c: dict[str, Any]) -> metaacu.MetaAnalysis | metaacu.MetaRegression:
    y, v, mods, a = _data(c)
    if mods is None:
        return metaacu.meta_analysis(y, v, method=c["method"], test=c["test"], weights=a)
    return metaacu.meta_regression(y, v, mods, method=c["method"], test=c["test"], weights=a)


def _close(ours: Any, ref: Any, rtol: float, atol: float = ATOL) -> None:
    np.testing.assert_allclose(np.asarray(ours, dtype=float), np.asarray(ref, dtype=float), rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------- the fixture
def test_the_fixture_has_not_shrunk():
    fx = _fixture()
    assert fx["meta"]["metafor_version"] == "3.8.1" and fx["meta"]["compquadform_version"] == "1.4.3"
    assert len(fx["datasets"]) == 4 and len(fx["cases"]) == 168
    assert all(c["error"] is None for c in fx["cases"])
    assert {c["method"] for c in fx["cases"]} == {"GENQ", "GENQM", "REML", "EE"}
    assert {c["moderators"] for c in fx["cases"]} == {"none", "one", "two"}
    assert {c["weighting"] for c in fx["cases"]} == {"inverse_variance", "equal", "sqrt_n"}
    assert sum("confint_tau2_tight" in c for c in fx["cases"]) == 72
    # both sides of the boundary: GENQ/GENQM estimates at 0 and above, CI lower bounds at 0 and above
    tau2 = [c["tau2"] for c in fx["cases"] if c["method"] in ("GENQ", "GENQM")]
    assert min(tau2) == 0 and sum(t > 0 for t in tau2) > 100
    lows = [c["confint_tau2_tight"][0] for c in fx["cases"] if "confint_tau2_tight" in c]
    assert sum(lo == 0 for lo in lows) >= 10 and sum(lo > 0 for lo in lows) >= 40


# ----------------------------------------------------------------------------- the fits
@pytest.mark.parametrize("case", _fixture()["cases"], ids=_case_id)
def test_fit_against_metafor(case):
    """Coefficients with their sandwich SEs and covariance, tests, τ², QE, QM, I², H², R², the
    Knapp-Hartung factor and the percent weights (EE: R² of the least-squares fit with the user
    weights, metafor's ``lm(yi ~ X, weights = weights)``)."""
    res = _fit(case)
    rtol = _tolerance(case)
    _close(res.tau2, case["tau2"], rtol)
    _close(res.estimate, case["beta"], rtol)
    _close(res.se, case["se"], rtol)
    _close(res.statistic, case["zval"], rtol)
    _close(res.pvalue, case["pval"], rtol, atol=0.0)
    _close(res.ci_low, case["ci_lb"], rtol)
    _close(res.ci_high, case["ci_ub"], rtol)
    _close(res.i2, case["I2"], rtol, atol=1e-8)
    _close(res.h2, case["H2"], rtol)
    _close(res.weights, case["weights"], RTOL_CLOSED)
    if case["test"] != "z":
        _close(res.s2, case["s2w"], rtol)
    if isinstance(res, metaacu.MetaAnalysis):
        _close(res.q, case["QE"], RTOL_CLOSED)
        _close(res.q_pvalue, case["QEp"], RTOL_CLOSED, atol=0.0)
        _close(res.statistic**2, case["QM"], rtol)
        assert res.user_weights is not None
    else:
        _close(res.vcov, np.reshape(case["vcov"], (res.p, res.p)), rtol, atol=1e-14)
        _close(res.qe, case["QE"], rtol)
        _close(res.qe_pvalue, case["QEp"], rtol, atol=0.0)
        _close(res.qm, case["QM"], rtol)
        _close(res.qm_pvalue, case["QMp"], rtol, atol=0.0)
        _close(res.r2, case["R2"], rtol, atol=1e-7)  # percent
        assert res.user_weights is not None and res.qm_test == ("chi2" if case["test"] == "z" else "F")
    assert res.method == case["method"]


@pytest.mark.parametrize("case", [c for c in _fixture()["cases"] if c["method"] in ("GENQ", "GENQM")], ids=_case_id)
def test_standard_error_of_tau2_against_metafor(case):
    """metafor's se.tau2 of GENQ and GENQM: ``√(2 tr(PVPV) + 4τ² tr(PVP) + 2τ⁴ tr(PP)) / tr P`` with
    ``P = P_a``."""
    _close(_fit(case).tau2_se(), case["se_tau2"], _tolerance(case))


def test_the_tau2_inference_of_other_weighted_regressions_is_refused():
    """A REML meta-regression with user weights: its τ² is REML's, but its coefficients are not the GLS
    ones that the likelihood and every refit assume, so these are refused, as for meta_analysis."""
    case = next(c for c in _fixture()["cases"] if c["method"] == "REML" and c["moderators"] == "two")
    res = _fit(case)
    for fun in (
        res.tau2_se,
        res.fit_statistics,
        res.heterogeneity_confint,
        lambda: metaacu.permutation_test(res),
        lambda: metaacu.cluster_robust(res, np.arange(res.k)),
    ):
        with pytest.raises(MetaacuInputError, match="user weights"):
            fun()


# ----------------------------------------------------------------------------- the τ² interval
# confint() of a GENQM fit is that of the GENQ fit with the same weights (the interval does not use τ̂²):
# each (dataset, moderators, weights) once
_CI_CASES = [c for c in _fixture()["cases"] if "confint_tau2_tight" in c and c["method"] == "GENQ"]


def test_the_interval_does_not_depend_on_the_estimator():
    by_key: dict[tuple[str, str, str], list[Any]] = {}
    for c in _fixture()["cases"]:
        if "confint_tau2" in c:
            by_key.setdefault((c["dataset"], c["moderators"], c["weighting"]), []).append(c["confint_tau2"])
    assert len(by_key) == 36 and all(len(v) == 2 and v[0] == v[1] for v in by_key.values())


@pytest.mark.parametrize("case", _CI_CASES, ids=_case_id)
def test_generalised_q_interval_against_metafor(case):
    """The generalised-Q interval (Imhof's integral) against metafor's tail probability (CompQuadForm's
    Farebrother algorithm) solved tightly, and against metafor's confint() at uniroot's default
    tolerance.  The interval depends on the data, the design and the weights only, so the fit it is
    asked of need not be the GENQ one (a fit with user weights refuses τ² refits)."""
    y, v, mods, a = _data(case)
    fit = metaacu.meta_analysis(y, v) if mods is None else metaacu.meta_regression(y, v, mods)
    ci = fit.heterogeneity_confint(kind="genq", weights=a).tau2_interval
    tight, loose = case["confint_tau2_tight"], case["confint_tau2"]
    _close([ci.low, ci.high], tight, RTOL_ITER, atol=0.0)
    _close([ci.low, ci.high], loose, 0.0, atol=ATOL_UNIROOT_DEFAULT)
    assert (ci.low, ci.high) == generalised_q_interval(y, v, _design(case), a, 0.95)


_GENQM_Z = [c for c in _fixture()["cases"] if c["method"] == "GENQM" and c["test"] == "z"]


@pytest.mark.parametrize("case", [c for c in _GENQM_Z if c["tau2"] == 0][:2] + _GENQM_Z[1::9], ids=_case_id)
def test_genqm_is_the_median_of_the_generalised_q(case):
    """At τ̂² (GENQM) the observed Q_a is the median of its distribution, P(Q_a > q; τ̂²) = ½, and the
    estimate lies inside the generalised-Q interval; 0 exactly when P(Q_a > q; 0) ≥ ½."""
    y, v, _, a = _data(case)
    tail = generalised_q_tail(y, v, _design(case), a)
    tau2 = _fit(case).tau2
    if tau2 > 0:
        assert tail(tau2) == pytest.approx(0.5, abs=1e-10)
        assert tail(0.999 * tau2) < 0.5 < tail(1.001 * tau2)
    else:
        assert tail(0.0) >= 0.5
    lo, hi = case["confint_tau2_tight"]
    assert lo <= tau2 <= hi


# ----------------------------------------------------------------------------- identities
def _bcg() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = _dataset("bcg")
    return np.array(d["yi"]), np.array(d["vi"]), np.column_stack(d["moderators"]["two"]["columns"])


def test_genq_with_inverse_variance_weights_is_dl_and_with_equal_weights_he():
    y, v, mods = _bcg()
    for weights, method in ((1.0 / v, "DL"), (np.full(v.size, 3.0), "HE")):
        genq = metaacu.meta_regression(y, v, mods, method="GENQ", weights=weights)
        assert genq.tau2 == pytest.approx(metaacu.meta_regression(y, v, mods, method=method).tau2, rel=RTOL_CLOSED)
        assert genq.tau2_se() == pytest.approx(
            metaacu.meta_regression(y, v, mods, method=method).tau2_se(), rel=RTOL_CLOSED
        )


def test_the_design_matrix_estimators_reduce_to_the_intercept_only_kernel():
    """With a column of ones the design-matrix GENQ is the compiled intercept-only kernel's; GENQM of
    meta_analysis is this module's median at X = 1 (the same function, so bit for bit)."""
    y, v, _ = _bcg()
    a = np.sqrt(np.arange(1.0, y.size + 1))
    ones = np.ones((y.size, 1))
    kernel = metaacu.meta_analysis(y, v, method="GENQ", weights=a)
    assert generalised_q_tau2(y, v, ones, a, "GENQ") == pytest.approx(kernel.tau2, rel=RTOL_PATHS)
    assert kernel.tau2_se() == generalised_q_tau2_se(y, v, ones, a, kernel.tau2)
    b, vb = user_weighted_coefficients(y, v, ones, a, kernel.tau2)
    assert float(b[0]) == pytest.approx(kernel.estimate, rel=RTOL_PATHS)
    assert math.sqrt(vb[0, 0]) == pytest.approx(kernel.se, rel=RTOL_PATHS)
    median = metaacu.meta_analysis(y, v, method="GENQM", weights=a)
    assert median.tau2 == generalised_q_tau2(y, v, ones, a, "GENQM") and median.tau2 > 0
    assert "median-unbiased generalised Q" in median.summary()


def test_user_weights_equal_to_the_inverse_variance_weights_change_nothing():
    """With aᵢ = 1/(vᵢ + τ̂²) the sandwich is the model-based (XᵀWX)⁻¹ (REML: τ̂² does not use the weights)."""
    y, v, mods = _bcg()
    plain = metaacu.meta_regression(y, v, mods, method="REML")
    weighted = metaacu.meta_regression(y, v, mods, method="REML", weights=1.0 / (v + plain.tau2))
    _close(weighted.estimate, plain.estimate, 1e-10)
    _close(weighted.vcov, plain.vcov, 1e-9, atol=1e-14)
    assert "user weights" in weighted.summary() and "user weights" not in plain.summary()


def test_the_fits_follow_the_scale_of_the_data():
    """Scale equivariance through the exact power-of-two rescaling (metaacu.scaling): y·c, v·c²."""
    y, v, mods = _bcg()
    a = np.sqrt(np.arange(1.0, y.size + 1))
    c = 2.0**-520
    for method in ("GENQ", "GENQM"):
        base = metaacu.meta_regression(y, v, mods, method=method, weights=a)
        tiny = metaacu.meta_regression(y * c, v * c * c, mods, method=method, weights=a)
        assert tiny.tau2 == pytest.approx(base.tau2 * c * c, rel=RTOL_PATHS)
        _close(tiny.estimate / c, base.estimate, RTOL_PATHS, atol=0.0)
        assert tiny.tau2_se() == pytest.approx(base.tau2_se() * c * c, rel=RTOL_PATHS)
        one = metaacu.meta_analysis(y * c, v * c * c, method=method, weights=a)
        assert one.tau2 == pytest.approx(metaacu.meta_analysis(y, v, method=method, weights=a).tau2 * c * c, rel=1e-9)


def test_weights_from_a_column_of_data():
    y, v, mods = _bcg()
    import pandas as pd

    frame = pd.DataFrame({"yi": y, "vi": v, "ablat": mods[:, 0], "n": np.arange(1.0, y.size + 1)})
    by_name = metaacu.meta_regression("yi", "vi", ["ablat"], data=frame, method="GENQM", weights="n")
    direct = metaacu.meta_regression(y, v, mods[:, :1], method="GENQM", weights=frame["n"].to_numpy())
    assert by_name.tau2 == direct.tau2 and np.array_equal(by_name.user_weights, direct.user_weights)


# ----------------------------------------------------------------------------- bad input
def test_bad_weights_are_refused_with_moderators():
    y, v, mods = _bcg()
    k = y.size
    for bad, match in (
        (np.r_[1.0, -2.0, np.ones(k - 2)], r"'weights' must be > 0; check study index 1"),
        (np.r_[1.0, 0.0, np.ones(k - 2)], r"'weights' must be > 0; check study index 1"),
        (np.zeros(k), r"'weights' must be > 0"),
        (np.ones(k - 1), "same number of studies"),
        (np.r_[np.nan, np.ones(k - 1)], r"'weights'.*missing or infinite"),
    ):
        for method in ("GENQ", "GENQM", "REML"):
            with pytest.raises(MetaacuInputError, match=match):
                metaacu.meta_regression(y, v, mods, method=method, weights=bad)


def test_generalised_q_needs_weights():
    """metafor: "Must specify 'weights' when method='GENQM'." (the fixture's errors)."""
    y, v, mods = _bcg()
    assert "Must specify 'weights'" in _fixture()["errors"]["genqm_without_weights"]
    for method in ("GENQ", "GENQM"):
        with pytest.raises(MetaacuInputError, match="give weights="):
            metaacu.meta_regression(y, v, mods, method=method)
        with pytest.raises(MetaacuInputError, match="give weights="):
            metaacu.meta_analysis(y, v, method=method)
    with pytest.raises(MetaacuInputError, match="needs each study's user weight"):
        metaacu.fitting.fit_arrays(y[None, :], v[None, :], np.array([float(y.size)]), "GENQM", "z", 0.95)
    with pytest.raises(MetaacuInputError, match="argument 'method' must be one of"):
        metaacu.meta_analysis_batch(np.array([y]), np.array([v]), method="GENQM")
    with pytest.raises(MetaacuInputError, match="argument 'method' must be one of"):
        metaacu.subgroup_analysis(y, v, np.repeat(["a", "b"], [6, 7]), method="GENQM")
    with pytest.raises(MetaacuInputError, match="not a generalised-Q estimator"):
        generalised_q_tau2(y, v, np.ones((y.size, 1)), np.ones(y.size), "DL")


def test_a_single_study_with_genqm():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = metaacu.meta_analysis([0.3], [0.02], method="GENQM", weights=[2.0])
    assert res.tau2 == 0.0 and res.estimate == 0.3
    with pytest.raises(MetaacuInputError, match="at least 2 studies"):
        res.tau2_se()
