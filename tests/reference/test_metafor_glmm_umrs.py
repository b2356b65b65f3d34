"""The binomial-normal model with random study effects (``glmm_meta_analysis(model="UM.RS")``) against
metafor's ``rma.glmm(measure="OR", model="UM.RS")`` (tracker issue 14, item 1).

Reference numbers: ``tests/reference/metafor_glmm_umrs.json``, written by
``tests/reference/make_fixtures_glmm_umrs.R`` (metafor 3.8-1, lme4 1.1-31; bobyqa to ``rhoend = 1e-11``,
``tolPwrss = 1e-12``): dat.collins1985b, dat.nielweise2007, dat.yusuf1985 table 6, dat.bcg and two
simulated sparse sets (zero cells in either arm, a double zero), each with ``method="ML"`` (Laplace,
metafor's forced ``nAGQ = 1``) and ``method="EE"`` at ``nAGQ = 7`` (metafor's default) and 1; 17 of the
18 fits succeed (metafor cannot fit UM.RS by ML on dat.bcg, nor the saturated model there).  The file
also holds lme4's own deviance function (``devFunOnly = TRUE``) at fixed parameters.

Tolerances (the smallest the cause allows; the largest differences seen in brackets):

* Likelihood: lme4's deviance at given parameters agrees with metaacu's to 1e-8 with 7 nodes
  [4e-10]; its Laplace deviance (``nAGQ = 1``) carries the error of its penalised IRLS, whose
  conditional modes stop short (the Laplace term is first order in that error): 2e-6 [8e-7].
* Estimates, τ² and σ² with ``nAGQ = 1``: lme4 maximises that slightly noisy function, 1e-5 absolute
  [3.4e-6 on β, 1.2e-5 relative on σ² = 1.36: 2e-5 for σ²]; with 7 nodes 1e-6 [2.4e-6 on σ² = 1.99
  of dat.bcg: 5e-6 for σ²].  metaacu's maximised log-likelihood is never lower than lme4's (less
  1e-9) and at most 2e-6 higher [1.1e-6].
* Standard errors come from lme4's finite-difference Hessian (step 1e-4) of that deviance: with 7
  nodes 5e-6 relative [2.1e-6]; of the random-effects (Laplace) fit 5e-5 [2.6e-5]; of the Laplace
  common-effect fit the noise is magnified most, 3e-3 [2.1e-3 on dat.collins1985b, where lme4's
  Hessian has 259.83 for metaacu's 258.74 in the β-β entry but 258.742 with 7 nodes, matching
  metaacu's 258.742 at 7 nodes: lme4's noise, not a different model].
* Heterogeneity: the Wald-type statistic 5e-6 relative [1.5e-6] (lme4's Hessian, or its RX where a
  group-1 zero cell makes the saturated estimate diverge: both reproduced); the likelihood-ratio
  statistic 2e-6 absolute [8.8e-7].
"""

from __future__ import annotations

import math
import warnings
from functools import cache
from typing import Any

import numpy as np
import pytest
from scipy import integrate

import metaacu
from metaacu import MetaacuInputError
from metaacu.glmm_random_study import arm_saturated_loglik, study_log_marginal

from tolerances import reference

ATOL_DEV_AGQ = 1e-8
ATOL_DEV_LAPLACE = 2e-6
ATOL_EST_LAPLACE = 1e-5
ATOL_VAR_LAPLACE = 2e-5
ATOL_EST_AGQ = 1e-6
ATOL_VAR_AGQ = 5e-6
LL_BELOW = 1e-9
LL_ABOVE = 2e-6
RTOL_SE_AGQ = 5e-6
RTOL_SE_LAPLACE_RE = 5e-5
RTOL_SE_LAPLACE_EE = 3e-3
RTOL_QE_WALD = 5e-6
ATOL_QE_LRT = 2e-6

FIX = reference("glmm_umrs")
CASES = FIX["cases"]
OK = sorted(name for name, case in CASES.items() if "error" not in case)


def _counts(data: dict[str, list[float]]) -> dict[str, Any]:
    return {"events1": data["ai"], "n1": data["n1i"], "events2": data["ci"], "n2": data["n2i"]}


@cache
def _fit(name: str) -> metaacu.GLMMResult:
    case = CASES[name]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*no events in either arm", category=UserWarning)
        return metaacu.glmm_meta_analysis(
            **_counts(case["data"]), model="UM.RS", method=case["method"], nodes=case["nAGQ"]
        )


def test_case_grid_has_not_shrunk():
    assert len(CASES) == 18
    assert len(OK) == 17
    assert FIX["metafor"] == "3.8.1"


@pytest.mark.parametrize("name", OK)
def test_estimate_variances_and_loglik(name):
    case, res = CASES[name], _fit(name)
    laplace = case["nAGQ"] == 1
    assert res.k == case["k"]
    assert res.nodes == case["nAGQ"]
    assert res.converged
    est_tol = ATOL_EST_LAPLACE if laplace else ATOL_EST_AGQ
    var_tol = ATOL_VAR_LAPLACE if laplace else ATOL_VAR_AGQ
    assert res.estimate == pytest.approx(case["beta"], abs=est_tol)
    assert res.tau2 == pytest.approx(case["tau2"], abs=var_tol)
    assert res.sigma2 == pytest.approx(case["sigma2"], abs=var_tol)
    assert res.i2 == pytest.approx(case["I2"], abs=1e-3)  # percent; through τ²
    assert res.h2 == pytest.approx(case["H2"], abs=1e-5)
    # metafor's log-likelihood is lme4's: metaacu's maximum is at least as high, and barely higher
    gap = res.loglik_metafor - case["logLik"]
    assert -LL_BELOW <= gap <= LL_ABOVE
    assert -2 * res.loglik_metafor + 2 * res.parameters == pytest.approx(case["AIC"], abs=2 * LL_ABOVE)
    assert res.parameters == case["parms"]
    assert res.observations == 2 * res.k
    if laplace:  # lme4's Laplace log-likelihood is the whole binomial one: metaacu's loglik itself
        assert res.loglik == res.loglik_metafor
        assert res.aic == pytest.approx(case["AIC"], abs=2 * LL_ABOVE)
        assert res.bic == pytest.approx(case["BIC"], abs=2 * LL_ABOVE)
        assert res.aicc == pytest.approx(case["AICc"], abs=2 * LL_ABOVE)


@pytest.mark.parametrize("name", OK)
def test_standard_error_and_wald_test(name):
    case, res = CASES[name], _fit(name)
    laplace_rtol = RTOL_SE_LAPLACE_RE if case["method"] == "ML" else RTOL_SE_LAPLACE_EE
    rtol = RTOL_SE_AGQ if case["nAGQ"] > 1 else laplace_rtol
    assert res.se == pytest.approx(case["se"], rel=rtol)
    assert res.statistic == pytest.approx(case["zval"], rel=rtol + 1e-5)
    assert res.ci_low == pytest.approx(case["ci_lb"], abs=2 * rtol * case["se"] + 1e-5)
    assert res.ci_high == pytest.approx(case["ci_ub"], abs=2 * rtol * case["se"] + 1e-5)
    assert math.isnan(res.se_tau2)  # metafor: NA for lme4 fits of UM.RS


@pytest.mark.parametrize("name", [n for n in OK if CASES[n]["QE_Wld"] is not None])
def test_heterogeneity_tests(name):
    case, res = CASES[name], _fit(name)
    assert res.qe_df == case["QE_df"]
    assert res.qe_wald == pytest.approx(case["QE_Wld"], rel=RTOL_QE_WALD)
    assert res.qe_lrt == pytest.approx(case["QE_LRT"], abs=ATOL_QE_LRT)
    assert res.qe_wald_pvalue == pytest.approx(case["QEp_Wld"], rel=1e-4)
    assert res.qe_lrt_pvalue == pytest.approx(case["QEp_LRT"], rel=1e-4)
    # metafor's deviance: against the saturated glmer fit with (1 | study), at the same nodes
    assert res.deviance == pytest.approx(case["deviance"], abs=4 * LL_ABOVE)
    group1_zero = any(
        a in (0, n) and not (a == 0 and c == 0)
        for a, n, c in zip(*(case["data"][v] for v in ("ai", "n1i", "ci")), strict=True)
    )
    assert any("lme4's RX" in note for note in res.notes) == group1_zero


def test_dat_bcg_where_metafor_fails():
    """metafor (lme4) fits neither the random-effects nor the saturated model on dat.bcg (13 large
    trials); metaacu fits both.  No reference: the ordering of the nested maxima must hold."""
    ml = metaacu.glmm_meta_analysis(**_counts(CASES["bcg/UM.RS/ML"]["data"]), model="UM.RS")
    ee = _fit("bcg/UM.RS/EE/1")
    assert ml.converged and ml.nodes == 1
    assert ml.loglik_common == pytest.approx(ee.loglik, abs=1e-9)
    assert ml.loglik > ee.loglik
    assert ml.loglik_saturated > ee.loglik
    assert ml.tau2 > 0.1  # the well-known heterogeneity of the BCG trials
    assert ml.qe_lrt > 100 and ml.qe_wald > 100


@pytest.mark.parametrize("dataset", ["collins1985b", "sparse_heterogeneous"])
def test_likelihood_equals_lme4_deviance_function(dataset):
    """The marginal likelihoods at fixed parameters against lme4's ``devFunOnly`` deviance."""
    ref = FIX["devfun"][dataset]
    a, n1, c, n2 = (np.asarray(ref["data"][v], dtype=float) for v in ("ai", "n1i", "ci", "n2i"))
    keep = ~(((a == 0) & (c == 0)) | ((a == n1) & (c == n2)))
    a, n1, c, n2 = a[keep], n1[keep], c[keep], n2[keep]
    for nodes in (1, 7):
        block = ref[f"common_nAGQ{nodes}"]
        shift = arm_saturated_loglik(a, n1, c, n2) if nodes > 1 else 0.0
        for (s, b, g), dev in zip(block["pars"], block["deviance"], strict=True):
            ll = float(np.sum(study_log_marginal(a, n1, c, n2, gamma=g, beta=b, sigma=s, tau=0.0, nodes=nodes)))
            tol = ATOL_DEV_AGQ if nodes > 1 else ATOL_DEV_LAPLACE
            assert -2 * (ll - shift) == pytest.approx(dev, abs=tol)
    block = ref["random_nAGQ1"]
    for (s, t, b, g), dev in zip(block["pars"], block["deviance"], strict=True):
        ll = float(np.sum(study_log_marginal(a, n1, c, n2, gamma=g, beta=b, sigma=s, tau=t, nodes=1)))
        assert -2 * ll == pytest.approx(dev, abs=ATOL_DEV_LAPLACE)


TABLE = {"events1": [4, 10, 2, 7], "n1": [100, 120, 90, 80], "events2": [9, 15, 6, 8], "n2": [100, 118, 95, 85]}


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"nodes": 31}, r"argument 'nodes' must be between 1 and 30; got 31"),
        ({"nodes": 0}, r"'nodes'"),
        ({"measure": "IRR"}, r"measure 'IRR' takes events1, time1, events2, time2; got also n1, n2"),
        ({"events1": [4, 130, 2, 7]}, r"'events1' exceeds 'n1'.*study index 1"),
        ({"events1": [0, 0, 2, 7], "events2": [0, 0, 6, 8]}, None),
        ({"events1": [0, 0, 0, 7], "events2": [0, 0, 0, 8]}, r"at least 2 informative studies; got 1"),
    ],
)
def test_bad_input_is_refused(changes, match):
    kw: dict[str, Any] = {**TABLE, "model": "UM.RS", **changes}
    if match is None:  # two double-zero studies: excluded with a warning naming them, the rest fitted
        with pytest.warns(UserWarning, match=r"study indices 0 \(Study 1\), 1 \(Study 2\):.*excluded"):
            res = metaacu.glmm_meta_analysis(**kw)
        assert res.k == 2 and len(res.excluded) == 2
        return
    with warnings.catch_warnings(), pytest.raises(MetaacuInputError, match=match):
        warnings.simplefilter("ignore", UserWarning)  # the exclusion warning of the k = 1 case
        metaacu.glmm_meta_analysis(**kw)


def test_regression_takes_um_rs_with_its_default_nodes():
    """UM.RS with moderators (``test_metafor_glmm_umrs_more.py`` has the metafor comparisons): the
    nodes default as in ``glmm_meta_analysis``, and the 2-D rule's limit of 30 nodes."""
    mods = [0.0, 1.0, 0.0, 1.0]
    ml = metaacu.glmm_meta_regression(**TABLE, moderators=mods, model="UM.RS")
    ee = metaacu.glmm_meta_regression(**TABLE, moderators=mods, model="UM.RS", method="EE")
    assert (ml.nodes, ee.nodes) == (1, 7)
    assert ml.sigma2 >= 0 and ee.tau2 == 0.0  # σ² reported (NaN for the other models)
    assert "sigma^2 (random study intercepts)" in ml.summary()
    with pytest.raises(MetaacuInputError, match=r"argument 'nodes' must be between 1 and 30; got 31"):
        metaacu.glmm_meta_regression(**TABLE, moderators=mods, model="UM.RS", nodes=31)


def test_ee_defaults_to_seven_nodes_and_ml_to_laplace():
    ee = metaacu.glmm_meta_analysis(**TABLE, model="UM.RS", method="EE")
    ml = metaacu.glmm_meta_analysis(**TABLE, model="UM.RS")
    assert (ee.nodes, ml.nodes) == (7, 1)
    assert metaacu.glmm_meta_analysis(**TABLE).nodes == 7  # the other models keep metafor's default
    assert ee.tau2 == 0.0 and ee.sigma2 > 0
    assert ml.loglik_common == pytest.approx(
        metaacu.glmm_meta_analysis(**TABLE, model="UM.RS", method="EE", nodes=1).loglik, abs=1e-9
    )


def test_display_and_frame():
    res = _fit("collins1985b/UM.RS/ML")
    text = res.summary()
    assert "binomial-normal model with random study effects (UM.RS)" in text
    assert f"sigma^2 (random study intercepts) = {res.sigma2:.4f}" in text
    frame = res.to_frame()
    assert frame["sigma2"].iloc[0] == res.sigma2
    assert frame["model"].iloc[0] == "UM.RS"
    assert "UM.RS" in repr(res) and "<table" in res._repr_html_()
    other = metaacu.glmm_meta_analysis(**TABLE)
    assert math.isnan(other.sigma2) and "sigma^2" not in other.summary()


def test_laplace_random_effects_reduce_to_one_intercept_at_tau_zero():
    """An identity: the 2-D Laplace approximation with τ → 0 is the 1-D one of the common model."""
    a, n1, c, n2 = (np.asarray(TABLE[v], dtype=float) for v in ("events1", "n1", "events2", "n2"))
    one = study_log_marginal(a, n1, c, n2, gamma=-2.0, beta=-0.5, sigma=0.8, tau=0.0, nodes=1)
    two = study_log_marginal(a, n1, c, n2, gamma=-2.0, beta=-0.5, sigma=0.8, tau=1e-7, nodes=1)
    np.testing.assert_allclose(two, one, rtol=0, atol=1e-12)


def test_two_dimensional_quadrature_against_brute_force_integral():
    """The 2-D adaptive Gauss-Hermite rule against scipy's dblquad of ``e^ℓ φ(z₁) φ(z₂)`` (an
    independent integral, to its 1e-12 tolerance); Laplace is the 1-node rule and is visibly off."""
    a, n1, c, n2 = np.array([0.0, 3, 17]), np.array([40.0, 25, 60]), np.array([2.0, 9, 30]), np.array([38.0, 30, 55])
    g, b, s, t = -1.5, -0.7, 1.2, 1.6
    exact = []
    for i in range(a.size):

        def integrand(z2: float, z1: float, i: int = i) -> float:
            e1, e2 = g + b + s * z1 + t * z2 / 2, g + s * z1 - t * z2 / 2
            ll = a[i] * e1 - n1[i] * np.logaddexp(0, e1) + c[i] * e2 - n2[i] * np.logaddexp(0, e2)
            return float(np.exp(ll - 0.5 * (z1 * z1 + z2 * z2)) / (2 * math.pi))

        val, _ = integrate.dblquad(integrand, -9, 9, -9, 9, epsabs=0, epsrel=1e-12)
        const = sum(
            math.lgamma(n + 1) - math.lgamma(x + 1) - math.lgamma(n - x + 1) for x, n in ((a[i], n1[i]), (c[i], n2[i]))
        )
        exact.append(math.log(val) + const)
    agq = study_log_marginal(a, n1, c, n2, gamma=g, beta=b, sigma=s, tau=t, nodes=25)
    np.testing.assert_allclose(agq, exact, rtol=0, atol=1e-9)
    laplace = study_log_marginal(a, n1, c, n2, gamma=g, beta=b, sigma=s, tau=t, nodes=1)
    assert np.max(np.abs(laplace - np.array(exact))) > 1e-3


def test_random_effects_fit_with_two_dimensional_quadrature():
    """``nodes > 1`` for the random-effects fit (metafor cannot): stable in the number of nodes, close
    to the Laplace fit, noted on the result."""
    data = _counts(CASES["sparse_heterogeneous/UM.RS/ML"]["data"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fits = {q: metaacu.glmm_meta_analysis(**data, model="UM.RS", nodes=q) for q in (1, 15, 21)}
    assert all(f.converged for f in fits.values())
    # 15 against 21 nodes [2e-8 on the estimate, 1.3e-6 on τ² = 2.89, 5e-7 on the log-likelihood]
    assert fits[15].estimate == pytest.approx(fits[21].estimate, abs=1e-6)
    assert fits[15].tau2 == pytest.approx(fits[21].tau2, abs=1e-5)
    assert fits[15].loglik == pytest.approx(fits[21].loglik, abs=2e-6)
    assert 0 < abs(fits[15].estimate - fits[1].estimate) < 0.01  # Laplace: 1.1e-3 off here
    assert any("adaptive Gauss-Hermite quadrature per study" in note for note in fits[15].notes)
    assert not any("adaptive Gauss-Hermite quadrature per study" in note for note in fits[1].notes)
