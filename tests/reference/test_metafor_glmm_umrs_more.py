"""UM.RS with moderators and for incidence-rate ratios against metafor's ``rma.glmm(model="UM.RS")``
(tracker issue 14, item 1): ``glmm_meta_regression(model="UM.RS")`` (binomial-normal and Poisson-normal
with moderators) and ``glmm_meta_analysis(measure="IRR", model="UM.RS")`` (Poisson-normal).

Reference numbers: ``tests/reference/metafor_glmm_umrs_more.json``, written by
``tests/reference/make_fixtures_glmm_umrs_more.R`` (metafor 3.8-1, lme4 1.1-31; bobyqa to
``rhoend = 1e-11``, ``tolPwrss = 1e-12``, or 1e-11 where lme4's PIRLS fails at 1e-12: dat.bcg and the
heterogeneous sparse set): OR with moderators on dat.bcg (``~ ablat``, ``~ factor(alloc)``) and two
simulated sparse sets (``~ x``; a double zero, zero cells in either arm); IRR on dat.nielweise2008,
dat.hart1999 (also ``~ secondary``), a simulated sparse set (a double zero, zero counts in either group)
and a simulated set with ``~ x``; each with ``method="ML"`` (Laplace, metafor's forced ``nAGQ = 1``)
and ``method="EE"`` at ``nAGQ = 7`` and 1: 27 fits, all succeed.  The fixture also holds each fit's
Wald-type QE and standard errors at ``tolPwrss`` 1e-11 … 1e-8, the evidence for the lme4-limited
tolerances below.

Tolerances: those of ``test_metafor_glmm_umrs.py`` (the same lme4 fits; largest differences here in
brackets), except where lme4 itself moves by more:

* Estimates [5e-7], τ² [1.2e-6], σ² [1.4e-5 on σ² = 2.05 of dat.bcg with 7 nodes, where metaacu's
  log-likelihood is 4e-10 higher: a flat maximum]; metaacu's log-likelihood is never below lme4's
  (less 1e-9) and at most 2e-6 above [8.7e-8].
* dat.bcg (counts up to 88,000 per arm): lme4's finite-difference Hessian of its Laplace deviance
  gives standard errors 3.5e-3 off [bcg ``~ ablat`` ML] (3e-3 for the common-effect fit elsewhere),
  so QM 4.1e-3; its Wald-type QE moves by 4.4% with ``tolPwrss`` alone (24.11 … 25.18 on ``~ ablat``,
  7 nodes), and metaacu's is within 5e-3 of one of lme4's values [3.9e-3; 1e-4 with 7 nodes]; its
  saturated Laplace fit stops short, so metaacu's likelihood-ratio QE (and deviance) is higher by up
  to 5e-4 [3.4e-4; 1e-7 with 7 nodes].  Everywhere metaacu's QE LRT is not below lme4's (less 1e-9).
* The Wald-type QE elsewhere: lme4 uses its Hessian or, where a group-1 zero makes a saturated
  estimate diverge, RX, and which one depends on ``tolPwrss`` (the heterogeneous sparse set: 94.77,
  94.93, 87.79 …); metaacu (RX there, as metafor at 1e-12 in the other sets) is within 5e-6 of one of
  lme4's values [1.1e-6] and within 2.5e-3 of the value at ``tolPwrss = 1e-12`` [2.1e-3].
"""

from __future__ import annotations

import math
import warnings
from functools import cache
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

import metaacu
from metaacu import MetaacuInputError
from metaacu.glmm_random_study import arm_saturated_loglik, study_log_marginal
from metaacu.glmm_random_study_fits import random_study_fits

from tolerances import reference

ATOL_EST_LAPLACE = 1e-5
ATOL_EST_AGQ = 1e-6
ATOL_VAR_LAPLACE = 2e-5
ATOL_VAR_AGQ = 5e-6
ATOL_VAR_BCG = 2e-5
LL_BELOW = 1e-9
LL_ABOVE = 2e-6
RTOL_SE_AGQ = 5e-6
RTOL_SE_LAPLACE_RE = 5e-5
RTOL_SE_LAPLACE_EE = 3e-3
RTOL_SE_BCG = 5e-3
RTOL_QE_WALD = 5e-6
RTOL_QE_WALD_SWITCH = 2.5e-3
RTOL_QE_WALD_BCG = 5e-2
RTOL_QE_WALD_BCG_CLOSEST = 5e-3
ATOL_QE_LRT = 2e-6
ATOL_QE_LRT_BCG = 5e-4

FIX = reference("glmm_umrs_more")
CASES = FIX["cases"]
IRR = sorted(name for name, case in CASES.items() if case["mods"] is None)
MODS = sorted(name for name, case in CASES.items() if case["mods"] is not None)


def _frame(case: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(case["data"])


def _counts(case: dict[str, Any]) -> dict[str, Any]:
    d = case["data"]
    if case["measure"] == "OR":
        return {"events1": d["ai"], "n1": d["n1i"], "events2": d["ci"], "n2": d["n2i"], "measure": "OR"}
    return {"events1": d["x1i"], "time1": d["t1i"], "events2": d["x2i"], "time2": d["t2i"], "measure": "IRR"}


@cache
def _irr(name: str) -> metaacu.GLMMResult:
    case = CASES[name]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*no events in either group", category=UserWarning)
        return metaacu.glmm_meta_analysis(**_counts(case), model="UM.RS", method=case["method"], nodes=case["nAGQ"])


@cache
def _mods(name: str) -> Any:
    case = CASES[name]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*no events in either", category=UserWarning)
        return metaacu.glmm_meta_regression(
            **_counts(case),
            moderators=case["mods"],
            data=_frame(case),
            model="UM.RS",
            method=case["method"],
            nodes=case["nAGQ"],
        )


def _tol(case: dict[str, Any], name: str) -> SimpleNamespace:
    laplace, bcg = case["nAGQ"] == 1, name.startswith("bcg/")
    se = RTOL_SE_AGQ if not laplace else RTOL_SE_LAPLACE_RE if case["method"] == "ML" else RTOL_SE_LAPLACE_EE
    return SimpleNamespace(
        est=ATOL_EST_LAPLACE if laplace else ATOL_EST_AGQ,
        var=ATOL_VAR_BCG if bcg else ATOL_VAR_LAPLACE if laplace else ATOL_VAR_AGQ,
        se=RTOL_SE_BCG if bcg else se,
        lrt=ATOL_QE_LRT_BCG if bcg else ATOL_QE_LRT,
    )


def test_case_grid_has_not_shrunk():
    assert len(CASES) == 27
    assert not [name for name, case in CASES.items() if "error" in case]
    assert (len(IRR), len(MODS)) == (9, 18)
    assert FIX["metafor"] == "3.8.1"


def _check_fit(name: str, res: Any) -> None:
    """What the intercept-only and the moderator fits share: estimates, variances, likelihoods."""
    case, tol = CASES[name], _tol(CASES[name], name)
    assert res.k == case["k"]
    assert res.nodes == case["nAGQ"]
    assert res.converged
    np.testing.assert_allclose(np.atleast_1d(res.estimate), case["beta"], rtol=0, atol=tol.est)
    np.testing.assert_allclose(np.atleast_1d(res.se), case["se"], rtol=tol.se)
    assert res.tau2 == pytest.approx(case["tau2"], abs=tol.var)
    assert res.sigma2 == pytest.approx(case["sigma2"], abs=tol.var)
    gap = res.loglik_metafor - case["logLik"]
    assert -LL_BELOW <= gap <= LL_ABOVE
    assert res.parameters == case["parms"]
    assert res.observations == 2 * res.k
    assert -2 * res.loglik_metafor + 2 * res.parameters == pytest.approx(case["AIC"], abs=2 * LL_ABOVE)
    if case["nAGQ"] == 1:  # lme4's Laplace log-likelihood is the whole likelihood: metaacu's loglik itself
        assert res.loglik == res.loglik_metafor
        assert res.bic == pytest.approx(case["BIC"], abs=2 * LL_ABOVE)
        assert res.aicc == pytest.approx(case["AICc"], abs=2 * LL_ABOVE)
    assert math.isnan(res.se_tau2)  # metafor: NA for lme4 fits of UM.RS
    # heterogeneity: the likelihood-ratio test, and the Wald-type test within lme4's own spread
    assert res.qe_df == case["QE_df"]
    assert res.qe_lrt == pytest.approx(case["QE_LRT"], abs=tol.lrt)
    assert res.qe_lrt >= case["QE_LRT"] - LL_BELOW  # the saturated maximum is not below lme4's
    assert res.qe_lrt_pvalue == pytest.approx(case["QEp_LRT"], rel=1e-3)
    lme4 = np.array([case["QE_Wld"], *(np.nan if v is None else v for v in case["QE_Wld_tolPwrss"])])
    closest = float(np.nanmin(np.abs(res.qe_wald / lme4 - 1)))
    if name.startswith("bcg/"):
        assert res.qe_wald == pytest.approx(case["QE_Wld"], rel=RTOL_QE_WALD_BCG)
        assert closest <= RTOL_QE_WALD_BCG_CLOSEST
    else:
        assert res.qe_wald == pytest.approx(case["QE_Wld"], rel=RTOL_QE_WALD_SWITCH)
        assert closest <= RTOL_QE_WALD
    assert res.deviance == pytest.approx(case["deviance"], abs=4 * LL_ABOVE + tol.lrt)


@pytest.mark.parametrize("name", IRR)
def test_incidence_rate_ratio(name):
    case, res = CASES[name], _irr(name)
    _check_fit(name, res)
    assert res.measure == "IRR" and res.model == "UM.RS"
    assert res.i2 == pytest.approx(case["I2"], abs=1e-3)
    assert res.h2 == pytest.approx(case["H2"], abs=1e-5)
    rtol = _tol(case, name).se
    assert res.statistic == pytest.approx(case["zval"][0], rel=rtol + 1e-5)
    assert res.ci_low == pytest.approx(case["ci_lb"][0], abs=2 * rtol * case["se"][0] + 1e-5)
    assert res.ci_high == pytest.approx(case["ci_ub"][0], abs=2 * rtol * case["se"][0] + 1e-5)


@pytest.mark.parametrize("name", MODS)
def test_moderators(name):
    case, res = CASES[name], _mods(name)
    _check_fit(name, res)
    tol = _tol(case, name)
    assert res.p == case["p"]
    np.testing.assert_allclose(res.vcov, np.array(case["vb"]), rtol=2 * tol.se + 1e-5, atol=1e-12)
    assert res.qm == pytest.approx(case["QM"], rel=2 * tol.se + 1e-5)
    assert res.qm_df == case["QMdf"]
    assert res.i2 == pytest.approx(case["I2"], abs=1e-3 + 100 * tol.var)
    np.testing.assert_allclose(res.ci_low, case["ci_lb"], rtol=0, atol=2 * tol.se * max(case["se"]) + 1e-5)


def test_zero_cells_are_noted_and_double_zeros_excluded():
    """A study with no events in group 1 makes its saturated log ratio diverge: it adds nothing to the
    Wald-type test and the others' information is lme4's RX, as metafor (whose warnings say so)."""
    for name in ("sparse_counts/UM.RS/ML", "sparse_binary/x/UM.RS/ML"):
        case = CASES[name]
        res = _irr(name) if case["mods"] is None else _mods(name)
        falls_back = any("falling back to var-cov estimated from RX" in w for w in case["warnings"])
        assert falls_back and any("lme4's RX" in note for note in res.notes)
        assert res.excluded and any(note.startswith("Excluded") for note in res.notes)
    assert not any("lme4's RX" in note for note in _irr("nielweise2008/UM.RS/ML").notes)


def test_wald_test_does_not_depend_on_the_scaling_of_the_design():
    """The Wald-type QE tests θ ∈ col X: the same for X and any XM (here unscaled dat.bcg latitudes
    against the centred and scaled design the regression uses), as the fit itself (up to its
    convergence)."""
    case = CASES["bcg/ablat/UM.RS/EE/7"]
    d = case["data"]
    a, n1, c, n2 = (np.asarray(d[v], dtype=float) for v in ("ai", "n1i", "ci", "n2i"))
    x = np.column_stack([np.ones(a.size), d["ablat"]])
    labels = tuple(f"Study {i + 1}" for i in range(a.size))
    raw = random_study_fits(a, n1, c, n2, measure="OR", method="EE", nodes=7, max_iter=100, labels=labels, design=x)
    res = _mods("bcg/ablat/UM.RS/EE/7")
    assert raw.qe_wald == pytest.approx(res.qe_wald, rel=1e-8)  # the saturated fits' convergence [1.9e-9]
    assert raw.qe_lrt == pytest.approx(res.qe_lrt, abs=1e-7)
    np.testing.assert_allclose(raw.fit.beta, res.estimate, rtol=0, atol=1e-6)


def test_poisson_marginal_likelihood_against_brute_force_integral():
    """The Poisson-normal marginal likelihood (2-D adaptive Gauss-Hermite, 25 nodes, and the 1-D one at
    τ = 0, 40 nodes: 25 leave 4.6e-10 on the study with no group-1 events) against scipy's quadrature
    of ``e^ℓ φ(z₁) φ(z₂)`` (an independent integral, to 1e-12)."""
    x1, t1, x2, t2 = np.array([0.0, 3, 17]), np.array([40.0, 25, 60]), np.array([2.0, 9, 30]), np.array([38.0, 30, 55])
    g, b, s, t = -1.5, -0.7, 1.2, 1.6

    def loglik(i: int, e1: float, e2: float) -> float:
        return float(
            x1[i] * (e1 + math.log(t1[i]))
            - t1[i] * math.exp(e1)
            - math.lgamma(x1[i] + 1)
            + x2[i] * (e2 + math.log(t2[i]))
            - t2[i] * math.exp(e2)
            - math.lgamma(x2[i] + 1)
        )

    two, one = [], []
    for i in range(x1.size):
        val, _ = integrate.dblquad(
            lambda z2, z1, i=i: (
                math.exp(loglik(i, g + b + s * z1 + t * z2 / 2, g + s * z1 - t * z2 / 2))
                * math.exp(-0.5 * (z1 * z1 + z2 * z2))
                / (2 * math.pi)
            ),
            -9,
            9,
            -9,
            9,
            epsabs=0,
            epsrel=1e-12,
        )
        two.append(math.log(val))
        val, _ = integrate.quad(
            lambda z, i=i: math.exp(loglik(i, g + b + s * z, g + s * z) - 0.5 * z * z) / math.sqrt(2 * math.pi),
            -12,
            12,
            epsabs=0,
            epsrel=1e-13,
        )
        one.append(math.log(val))
    kw = {"gamma": g, "beta": b, "sigma": s, "poisson": True}
    np.testing.assert_allclose(study_log_marginal(x1, t1, x2, t2, tau=t, nodes=25, **kw), two, rtol=0, atol=1e-9)
    np.testing.assert_allclose(study_log_marginal(x1, t1, x2, t2, tau=0.0, nodes=40, **kw), one, rtol=0, atol=1e-11)


def test_poisson_saturated_loglik_is_each_arm_at_its_own_rate():
    """lme4's nAGQ > 1 offset for Poisson: ``Σ log Pois(x; x)`` (an identity with scipy's pmf)."""
    from scipy import stats

    x1, x2 = np.array([0.0, 3, 17]), np.array([2.0, 0, 30])
    t = np.array([10.0, 20, 30])
    expected = float(np.sum(stats.poisson.logpmf(x1, x1) + stats.poisson.logpmf(x2, x2)))
    assert arm_saturated_loglik(x1, t, x2, t, poisson=True) == pytest.approx(expected, abs=1e-12)


RATES = {
    "events1": [7, 8, 3, 6, 1],
    "time1": [1344, 1600, 12012, 1536, 370],
    "events2": [11, 8, 14, 10, 1],
    "time2": [1988, 1461, 10962, 1503, 483],
}


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"n1": [10, 10, 10, 10, 10]}, r"measure 'IRR' takes events1, time1, events2, time2; got also n1"),
        ({"time1": [1344, -1, 12012, 1536, 370]}, r"'time1'.*study index 1"),
        ({"events2": [11, 8.5, 14, 10, 1]}, r"'events2'.*study index 1"),
        ({"nodes": 31}, r"argument 'nodes' must be between 1 and 30; got 31"),
        ({"method": "REML"}, r"argument 'method' must be one of 'ML', 'EE'"),
        ({"events1": [0, 0, 0, 0, 1], "events2": [0, 0, 0, 0, 1]}, r"at least 2 informative studies; got 1"),
    ],
)
def test_bad_rate_input_is_refused(changes, match):
    with warnings.catch_warnings(), pytest.raises(MetaacuInputError, match=match):
        warnings.simplefilter("ignore", UserWarning)  # the exclusion warning of the k = 1 case
        metaacu.glmm_meta_analysis(**{**RATES, **changes}, measure="IRR", model="UM.RS")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"moderators": [0.0, 1.0, 0.0]}, r"'moderators' has 3 rows for 5 studies"),
        ({"moderators": [1.0, 1.0, 1.0, 1.0, 1.0]}, r"column 'x1' is constant"),
        ({"moderators": [0.0, np.nan, 0.0, 1.0, 2.0]}, r"missing or infinite value at study index 1"),
        (
            {"moderators": {"x": [0, 1, 2, 3, 1], "y": [1, 0, 2, 5, 1], "z": [3, 1, 1, 0, 2], "w": [1, 2, 0, 0, 1]}},
            r"more informative studies than coefficients: k = 5, p = 5",
        ),
        ({"moderators": [0.0, 1.0, 0.0, 1.0, 2.0], "nodes": 0}, r"'nodes'"),
        ({"moderators": [0.0, 1.0, 0.0, 1.0, 2.0], "btt": "dose"}, r"btt"),
    ],
)
def test_bad_moderator_input_is_refused(changes, match):
    with pytest.raises(MetaacuInputError, match=match):
        metaacu.glmm_meta_regression(**{**RATES, **changes}, measure="IRR", model="UM.RS")


def test_display_frame_btt_and_predict():
    res = _mods("bcg/alloc/UM.RS/ML")
    text = res.summary()
    assert "binomial-normal model with random study effects (UM.RS)" in text
    assert f"sigma^2 (random study intercepts) = {res.sigma2:.4f}" in text
    assert "UM.RS" in repr(res) and "<table" in res._repr_html_()
    assert list(res.to_frame()["term"]) == list(res.coef_names)
    irr = _irr("nielweise2008/UM.RS/ML")
    assert "Poisson-normal model with random study effects (UM.RS)" in irr.summary()
    assert irr.to_frame()["sigma2"].iloc[0] == irr.sigma2
    # btt: one of the two alloc dummies, QM its z²; predict: the fitted values and intervals with τ²
    case = CASES["bcg/alloc/UM.RS/ML"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        one = metaacu.glmm_meta_regression(
            **_counts(case), moderators=case["mods"], data=_frame(case), model="UM.RS", btt=2
        )
    assert one.qm == pytest.approx(one.statistic[2] ** 2, rel=1e-12)
    pred = res.predict()
    np.testing.assert_allclose(pred["pred"], res.design @ res.estimate, rtol=0, atol=1e-12)
    assert (pred["pi_high"] - pred["pi_low"] > pred["ci_high"] - pred["ci_low"]).all()  # τ² > 0
