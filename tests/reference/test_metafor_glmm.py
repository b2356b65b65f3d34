"""Exact-likelihood models (``glmm_meta_analysis``) against metafor's ``rma.glmm`` (tracker issue 14,
item 1): UM.FS, CM.EL and CM.AL for odds ratios, UM.FS (Poisson-normal) and CM.EL for incidence-rate
ratios, random effects (ML) at 7, 15 and 25 quadrature nodes and the common-effect model.

Reference numbers: ``tests/reference/metafor_glmm.json``, written by
``tests/reference/make_fixtures_glmm.R`` (metafor 3.8-1, lme4 1.1-31, BiasedUrn 2.0.9; its settings
block): dat.collins1985b (pre-eclampsia), dat.nielweise2007, dat.yusuf1985 table 6, dat.nielweise2008
(IRR), and simulated sparse data with single- and double-zero studies.

Tolerances (each the smallest that the cause named allows; the largest differences seen are in
brackets):

* lme4 fits (UM.FS, CM.AL, CM.EL for IRR): lme4's bobyqa stops a few 1e-7 short of the maximum even at
  ``rhoend = 1e-11`` (on θ = τ and β, so the error grows with τ), estimate and τ² to
  ``1e-6 (1 + τ²)`` absolute [3e-7; 2.2e-6 at τ² = 5.6, 1.6e-6 at τ² = 11.6]; its
  standard errors come from a finite-difference Hessian with step 1e-4: 5e-6 relative [1.6e-6].
* glm (common-effect UM.FS/CM.AL, the saturated models): IRLS to a deviance change of 1e-8: estimate
  1e-9 [1.0e-10], SE 2e-5 relative [2.5e-6; 1.3e-5 on the very heterogeneous rates; the weights of
  the last-but-one iterate].
* CM.EL for OR (metafor's own likelihood): BiasedUrn's noncentral hypergeometric density is computed
  to a relative precision of 1e-10 and nlminb stops at a relative change of 1e-10, so the estimate
  agrees to 5e-6 [1.1e-6]; the standard errors come from numDeriv's Richardson second differences of
  that density, which magnify its 1e-10 noise: 5e-3 relative [2.6e-3].  metaacu's SE for the
  common-effect CM.EL model is checked against the exact information ``Σ Var(U)`` to 1e-7 instead.
* Log-likelihoods: 1e-8 absolute where metafor reports the maximised likelihood (common-effect fits,
  CM.EL, fits at τ² = 0); for lme4's random-effects fits metafor prints the conditional log-likelihood
  at the conditional modes (``loglik_metafor``), compared to 1e-5 absolute (the modes move with the
  estimates, 1e-7, times the score of the conditional likelihood, O(10)); metaacu's marginal
  ``loglik`` is checked against lme4's own ``logLik`` plus the saturated log-likelihood (lme4 reports
  the marginal likelihood relative to the saturated one) to 1e-8 [1.6e-11; [2.8e-6] for the former].
"""

from __future__ import annotations

import math
import warnings
from functools import cache
from typing import Any

import numpy as np
import pytest

import metaacu
from metaacu import MetaacuInputError
from metaacu.glmm_likelihood import Family, log_marginal

from tolerances import reference

ATOL_EST_LME4 = 1e-6
RTOL_SE_LME4 = 5e-6
ATOL_EST_GLM = 1e-9
RTOL_SE_GLM = 2e-5
ATOL_EST_CMEL = 5e-6
RTOL_SE_CMEL = 5e-3
ATOL_LL = 1e-8
ATOL_LL_MODES = 1e-5
ATOL_LL_LME4 = 1e-8
#: Quadrature with 7 against 31 nodes: these integrands are smooth and nearly Gaussian after the
#: adaptive centring and scaling [1.3e-7]; 15 against 31 nodes [2e-9, the SE's finite differences].
ATOL_NODES = 1e-6
ATOL_NODES_15 = 1e-8

FIX = reference("glmm")
CASES = {name: c for name, c in FIX["cases"].items() if "error" not in c}


def test_fixture_grid_has_not_shrunk():
    assert len(CASES) >= 72 and len(FIX["cases"]) >= 74
    names = {n.split("/")[0] for n in CASES}
    assert names >= {
        "collins1985b",
        "nielweise2007",
        "yusuf1985_table6",
        "nielweise2008",
        "sparse_binary",
        "sparse_heterogeneous",
        "sparse_rates",
        "heterogeneous_rates",
    }
    assert {(c["model"], c["measure"]) for c in CASES.values()} == {
        ("UM.FS", "OR"),
        ("CM.EL", "OR"),
        ("CM.AL", "OR"),
        ("UM.FS", "IRR"),
        ("CM.EL", "IRR"),
    }
    assert sum(c["tau2"] > 1e-3 for c in CASES.values()) >= 20  # heterogeneous fits, not only boundary ones


@cache
def fit(name: str) -> tuple[Any, tuple[str, ...]]:
    c = CASES[name]
    d = c["data"]
    nodes = c["nAGQ"] or (31 if c["model"] == "CM.EL" and c["measure"] == "OR" else 7)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if c["measure"] == "OR":
            res = metaacu.glmm_meta_analysis(
                d["ai"], d["n1i"], d["ci"], d["n2i"], measure="OR", model=c["model"], method=c["method"], nodes=nodes
            )
        else:
            res = metaacu.glmm_meta_analysis(
                d["x1i"],
                events2=d["x2i"],
                time1=d["t1i"],
                time2=d["t2i"],
                measure="IRR",
                model=c["model"],
                method=c["method"],
                nodes=nodes,
            )
    return res, tuple(str(w.message) for w in caught)


def _tolerances(c: dict[str, Any]) -> tuple[float, float]:
    if c["model"] == "CM.EL" and c["measure"] == "OR":
        return ATOL_EST_CMEL, RTOL_SE_CMEL
    if c["method"] == "EE":
        return ATOL_EST_GLM, RTOL_SE_GLM
    return ATOL_EST_LME4 * (1 + c["tau2"]), RTOL_SE_LME4


@pytest.mark.parametrize("name", sorted(CASES))
def test_pooled_effect_and_tau2(name):
    c = CASES[name]
    res, _ = fit(name)
    atol, rtol = _tolerances(c)
    assert res.k == c["k"]
    assert res.estimate == pytest.approx(c["beta"], abs=atol)
    assert res.se == pytest.approx(c["se"], rel=rtol)
    assert res.statistic == pytest.approx(c["zval"], rel=rtol, abs=atol)
    assert res.pvalue == pytest.approx(c["pval"], rel=10 * rtol, abs=atol)
    assert res.ci_low == pytest.approx(c["ci_lb"], abs=atol + 2 * rtol * c["se"])
    assert res.ci_high == pytest.approx(c["ci_ub"], abs=atol + 2 * rtol * c["se"])
    assert res.tau2 == pytest.approx(c["tau2"], abs=atol)
    if c["model"] == "CM.EL" and c["measure"] == "OR" and c["method"] == "ML":
        assert res.se_tau2 == pytest.approx(c["se_tau2"], rel=RTOL_SE_CMEL)
    assert res.converged
    assert res.i2 == pytest.approx(c["I2"], abs=1e-4)  # τ² to 1e-6 times 100/(τ² + ṽ) ~ 1e-4 percent
    assert res.h2 == pytest.approx(c["H2"], abs=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_heterogeneity_tests(name):
    c = CASES[name]
    res, _ = fit(name)
    assert res.qe_df == c["QE_df"]
    # LRT: two maximised likelihoods of glm / metafor's optimiser (common-effect and saturated models)
    atol_lrt = 1e-5 if c["model"] == "CM.EL" and c["measure"] == "OR" else 1e-7
    assert res.qe_lrt == pytest.approx(c["QE_LRT"], abs=atol_lrt)
    assert res.qe_lrt_pvalue == pytest.approx(c["QEp_LRT"], abs=atol_lrt)
    # Wald: metafor's glm coefficient for a zero cell diverges (~ -25, variance ~ 1e10) where metaacu
    # takes the limit (weight 0): 1e-6 absolute covers the remaining 1e-10-weighted term.
    if c["model"] == "CM.EL" and c["measure"] == "OR":
        # metafor's CM.EL Wald statistic comes from numDeriv's Hessian of its saturated fit (on the
        # 1e-10-precise density): 1% of it [0.6%]; the fixture's independent per-study computation
        # (optimize() and the exact variance at precision 1e-14) to 1e-6
        assert res.qe_wald == pytest.approx(c["QE_Wld"], rel=1e-2)
        assert res.qe_wald == pytest.approx(c["QE_Wld_exact"], rel=1e-6)
        return
    # glm's IRLS stops at a relative deviance change of 1e-8, leaving the saturated Poisson fit's
    # coefficients a few 1e-6 short [2.1e-6 relative on dat.nielweise2008]
    assert res.qe_wald == pytest.approx(c["QE_Wld"], rel=1e-5, abs=1e-6)
    assert res.qe_wald_pvalue == pytest.approx(c["QEp_Wld"], abs=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_log_likelihood_and_information_criteria(name):
    c = CASES[name]
    res, _ = fit(name)
    lme4_random = c["method"] == "ML" and not (c["model"] == "CM.EL" and c["measure"] == "OR")
    if lme4_random:
        assert res.loglik_metafor == pytest.approx(c["logLik"], abs=ATOL_LL_MODES)
        assert res.loglik == pytest.approx(c["lme4_logLik"] + res.loglik_saturated, abs=ATOL_LL_LME4)
    else:
        assert res.loglik == pytest.approx(c["logLik"], abs=ATOL_LL)
    # the same parameter count and number of observations as metafor: its penalties
    for ours, theirs in ((res.aic, "AIC"), (res.bic, "BIC"), (res.aicc, "AICc")):
        assert ours + 2 * res.loglik == pytest.approx(c[theirs] + 2 * c["logLik"], abs=1e-9)
    assert res.deviance == pytest.approx(-2 * (res.loglik - res.loglik_saturated))


def test_double_zero_studies_are_named_and_excluded():
    name = "sparse_binary/UM.FS/ML/7"
    res, messages = fit(name)
    d = CASES[name]["data"]
    double = [i for i, (a, c) in enumerate(zip(d["ai"], d["ci"], strict=True)) if a == 0 and c == 0]
    assert double and res.k == len(d["ai"]) - len(double)
    assert res.excluded == tuple(f"Study {i + 1}" for i in double)
    assert any(f"study index {double[0]} (Study {double[0] + 1})" in m for m in messages)
    assert "Excluded" in res.summary()


@pytest.mark.parametrize(
    ("name", "atol_7"),
    [
        ("nielweise2007/UM.FS/ML/7", ATOL_NODES),
        ("collins1985b/CM.AL/ML/7", ATOL_NODES),
        ("nielweise2008/UM.FS/ML/7", ATOL_NODES),
        ("collins1985b/CM.EL/ML", ATOL_NODES),
        # one or two events per study: the integrand is far from Gaussian, 7 nodes are 1.2e-5 off
        ("sparse_heterogeneous/CM.EL/ML", 3e-5),
    ],
)
def test_results_are_stable_as_the_nodes_increase(name, atol_7):
    c = CASES[name]
    d = c["data"]
    out = []
    for nodes in (7, 15, 31):
        if c["measure"] == "OR":
            args = (d["ai"], d["n1i"], d["ci"], d["n2i"])
            kw: dict[str, Any] = {}
        else:
            args, kw = (d["x1i"],), {"events2": d["x2i"], "time1": d["t1i"], "time2": d["t2i"]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            res = metaacu.glmm_meta_analysis(*args, measure=c["measure"], model=c["model"], nodes=nodes, **kw)
        assert res.nodes == nodes and f"{nodes} node" in res.summary()
        out.append((res.estimate, res.se, res.tau2, res.loglik))
    assert out[0][2] > 0.05  # a heterogeneous dataset: the quadrature matters
    np.testing.assert_allclose(out[0], out[2], atol=atol_7, rtol=0)
    # 15 and 31 nodes: the same to the finite-difference noise of the standard error
    np.testing.assert_allclose(out[1], out[2], atol=ATOL_NODES_15, rtol=0)


def test_adaptive_quadrature_equals_the_integral():
    """At 31 nodes the adaptive rule reproduces a brute-force Riemann sum of the marginal likelihood."""
    d = CASES["collins1985b/UM.FS/ML/7"]["data"]
    a, n1, c, n2 = (np.asarray(d[x], float) for x in ("ai", "n1i", "ci", "n2i"))
    fam = Family("binomial_fs", a, n1, c, n2)
    alpha = np.linspace(-2.5, -0.5, a.size)
    z = np.linspace(-14, 14, 400_001)
    th = -0.5 + 0.7 * z[None, :]
    ll = fam.terms(th, alpha[:, None])[0] + fam.constant()[:, None]
    brute = np.log(np.exp(ll - z**2 / 2).sum(axis=1) * (z[1] - z[0]) / math.sqrt(2 * math.pi))
    np.testing.assert_allclose(log_marginal(fam, -0.5, 0.7, alpha, 31), brute, rtol=0, atol=1e-9)
    np.testing.assert_allclose(log_marginal(fam, -0.5, 0.0, alpha, 7), ll[:, 200_000], atol=1e-12)


@pytest.mark.parametrize("dataset", ["yusuf1985_table6", "sparse_binary"])
def test_cm_el_at_the_boundary_where_metafor_fails(dataset):
    """metafor's CM.EL fit (nlminb on log τ²) fails where the maximum is τ² = 0; metaacu returns the
    boundary maximum, which is the common-effect fit metafor does produce."""
    assert "nlminb" in FIX["cases"][f"{dataset}/CM.EL/ML"]["error"]
    ee = CASES[f"{dataset}/CM.EL/EE"]
    d = ee["data"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = metaacu.glmm_meta_analysis(d["ai"], d["n1i"], d["ci"], d["n2i"], model="CM.EL", nodes=15)
    assert res.converged and res.tau2 == 0.0
    assert res.estimate == pytest.approx(ee["beta"], abs=ATOL_EST_CMEL)
    assert res.loglik == pytest.approx(ee["logLik"], abs=ATOL_LL)
    assert res.se == pytest.approx(ee["se"], rel=RTOL_SE_CMEL)


def test_common_effect_cm_el_se_is_the_exact_information():
    name = "collins1985b/CM.EL/EE"
    res, _ = fit(name)
    d = CASES[name]["data"]
    a, n1, c, n2 = (np.asarray(d[x], float) for x in ("ai", "n1i", "ci", "n2i"))
    fam = Family("hypergeometric", a, n1, c, n2)
    _, score, curv = fam.terms(np.full((a.size, 1), res.estimate), np.zeros((a.size, 1)))
    assert abs(score.sum()) < 1e-7  # the estimate solves Σ(aᵢ − E Uᵢ) = 0
    assert res.se == pytest.approx(1 / math.sqrt(-curv.sum()), rel=1e-7)


# ----------------------------------------------------------------------------- bad input and reporting
TABLE = {"events1": [4, 10, 2], "n1": [100, 120, 90], "events2": [9, 15, 6], "n2": [100, 118, 95]}


def _call(**changes: Any) -> Any:
    kw: dict[str, Any] = {**TABLE, **changes}
    return metaacu.glmm_meta_analysis(**kw)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"events1": [4, 130, 2]}, r"'events1' exceeds 'n1'.*study index 1"),
        ({"events2": [9, -1, 6]}, r"'events2' must be >= 0.*study index 1"),
        ({"events1": [4, 10.5, 2]}, r"'events1' must hold whole numbers"),
        ({"n1": [100, 0, 90]}, r"'n1' must be > 0"),
        ({"model": "UM.XX"}, r"model"),
        ({"method": "REML"}, r"method"),
        ({"nodes": 0}, r"nodes"),
        ({"profile": "revman5"}, r"profile"),
        ({"max_iter": 0}, r"max_iter"),
        ({"measure": "RR"}, r"measure"),
        ({"time1": [1.0, 2.0, 3.0]}, r"takes events1, n1, events2, n2; got also time1"),
    ],
)
def test_bad_input_is_refused(changes, match):
    with pytest.raises(MetaacuInputError, match=match):
        _call(**changes)


def test_negative_person_time_and_missing_times_are_refused():
    with pytest.raises(MetaacuInputError, match=r"'time2' must be > 0.*study index 2"):
        metaacu.glmm_meta_analysis([3, 4, 5], events2=[2, 6, 1], time1=[10, 20, 30], time2=[10, 20, -3], measure="IRR")
    with pytest.raises(MetaacuInputError, match=r"missing time2"):
        metaacu.glmm_meta_analysis([3, 4, 5], events2=[2, 6, 1], time1=[10, 20, 30], measure="IRR")


def test_one_informative_study_is_refused():
    with pytest.raises(MetaacuInputError, match="at least 2 informative studies; got 1"):
        metaacu.glmm_meta_analysis([4], [100], [9], [100])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(MetaacuInputError, match="got 1"):
            metaacu.glmm_meta_analysis([4, 0], [100, 50], [9, 0], [100, 50])


def test_non_convergence_is_reported():
    d = CASES["nielweise2007/UM.FS/ML/7"]["data"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = metaacu.glmm_meta_analysis(d["ai"], d["n1i"], d["ci"], d["n2i"], max_iter=1)
    runtime = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(runtime) == 1 and "did not converge in 1 Newton iterations" in runtime[0]
    assert not res.converged and res.iterations == 1
    assert "DID NOT CONVERGE" in res.summary()
    assert not res.to_frame()["converged"].iloc[0]


def test_displays_and_frames():
    res = _call()
    text = str(res)
    assert "binomial-normal model with fixed study effects (UM.FS)" in text
    assert "Adaptive Gauss-Hermite quadrature with 7 node(s)" in text and "Likelihood-ratio chi^2(2)" in text
    assert "<pre>" in res._repr_html_()
    frame, response = res.to_frame(), res.to_frame(scale="response")
    assert frame["estimate"].iloc[0] == res.estimate
    assert response["estimate"].iloc[0] == pytest.approx(math.exp(res.estimate))
    assert "se" not in response.columns
    assert "GLMMResult(measure='OR'" in repr(res)
    irr = metaacu.glmm_meta_analysis(
        [3, 4, 5], events2=[2, 6, 1], time1=[10, 20, 30], time2=[10, 25, 33], measure="IRR", model="CM.AL"
    )
    assert irr.model == "CM.EL" and "exact" in irr.notes[0]
    assert irr.to_frame(scale="response")["ci_high"].iloc[0] == pytest.approx(math.exp(irr.ci_high))
    assert "Incidence rate ratio" in irr.summary()


def test_data_columns_and_labels():
    import pandas as pd

    df = pd.DataFrame({**TABLE, "who": ["A", "B", "C"]})
    res = metaacu.glmm_meta_analysis("events1", "n1", "events2", "n2", data=df, labels="who", model="CM.AL")
    assert res.labels == ("A", "B", "C")
    assert res.estimate == _call(model="CM.AL").estimate
