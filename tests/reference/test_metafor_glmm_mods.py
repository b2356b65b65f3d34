"""Exact-likelihood meta-regression (``glmm_meta_regression``) against metafor's ``rma.glmm`` with
``mods`` (tracker issue 14, item 1b): UM.FS, CM.AL and CM.EL for odds ratios, UM.FS (Poisson-normal)
and CM.EL for incidence-rate ratios, mixed-effects (ML) and fixed-effects (EE) models.

Reference numbers: ``tests/reference/metafor_glmm_mods.json``, written by
``tests/reference/make_fixtures_glmm_mods.R`` (metafor 3.8-1, lme4 1.1-31, BiasedUrn; the settings of
``make_fixtures_glmm.R``): dat.collins1985b with ``oedema`` and with ``year − 1970`` and ``oedema``,
dat.nielweise2007 and dat.nielweise2008 with ``year − 2000``.

Tolerances: those of ``test_metafor_glmm.py`` for the same fits (lme4's bobyqa and finite-difference
Hessian, glm's IRLS, BiasedUrn's precision for CM.EL), with one change: the common-effect (glm) standard
errors to 5e-5 relative [2.2e-5 on dat.nielweise2007 CM.AL; glm reports the covariance at the weights
of its last-but-one IRLS iterate] -- metaacu's are checked against the exact information
``XᵀWX`` to 1e-7 instead.  QM is a quadratic form in the coefficients and their inverse covariance:
3 times the SE tolerance relative.  The largest differences seen are in brackets.
"""

from __future__ import annotations

import math
import warnings
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import special

import metaacu
from metaacu import MetaacuInputError

from tolerances import reference

ATOL_EST_LME4 = 1e-6  # [2e-7 relative to the SE]
RTOL_SE_LME4 = 5e-6  # [8.7e-7]
ATOL_EST_GLM = 5e-9  # [1.4e-9 on dat.nielweise2007 CM.AL: glm stops at a deviance change of 1e-8]
RTOL_SE_GLM = 5e-5  # [2.2e-5]
ATOL_EST_CMEL = 5e-6
RTOL_SE_CMEL = 5e-3  # [1e-3]
ATOL_LL = 1e-8
ATOL_LL_MODES = 1e-5

FIX = reference("glmm_mods")
CASES = {name: c for name, c in FIX["cases"].items() if "error" not in c}


def _mods(c: dict[str, Any]) -> list[str]:
    return [c["mods"]] if isinstance(c["mods"], str) else list(c["mods"])


def test_fixture_grid_has_not_shrunk():
    assert len(CASES) >= 19 and len(FIX["cases"]) >= 21
    assert {(c["model"], c["measure"], c["method"]) for c in CASES.values()} >= {
        ("UM.FS", "OR", "ML"),
        ("UM.FS", "OR", "EE"),
        ("CM.AL", "OR", "ML"),
        ("CM.EL", "OR", "ML"),
        ("CM.EL", "OR", "EE"),
        ("UM.FS", "IRR", "ML"),
        ("CM.EL", "IRR", "EE"),
    }
    assert sum(c["tau2"] > 0.1 for c in CASES.values()) >= 3  # heterogeneous fits, not only τ² = 0
    assert sum(c["p"] == 3 for c in CASES.values()) >= 4  # two moderators


@cache
def fit(name: str) -> Any:
    c = CASES[name]
    d = c["data"]
    nodes = c["nAGQ"] or (31 if c["model"] == "CM.EL" and c["measure"] == "OR" else 7)
    mods = pd.DataFrame({m: d[m] for m in _mods(c)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # double-zero studies excluded (checked below)
        if c["measure"] == "OR":
            args: tuple[Any, ...] = (d["ai"], d["n1i"], d["ci"], d["n2i"])
            kw: dict[str, Any] = {}
        else:
            args, kw = (d["x1i"],), {"events2": d["x2i"], "time1": d["t1i"], "time2": d["t2i"]}
        return metaacu.glmm_meta_regression(
            *args, moderators=mods, measure=c["measure"], model=c["model"], method=c["method"], nodes=nodes, **kw
        )


def _tolerances(c: dict[str, Any]) -> tuple[float, float]:
    if c["model"] == "CM.EL" and c["measure"] == "OR":
        return ATOL_EST_CMEL, RTOL_SE_CMEL
    if c["method"] == "EE":
        return ATOL_EST_GLM, RTOL_SE_GLM
    return ATOL_EST_LME4 * (1 + c["tau2"]), RTOL_SE_LME4


@pytest.mark.parametrize("name", sorted(CASES))
def test_coefficients_and_tau2(name):
    c = CASES[name]
    res = fit(name)
    atol, rtol = _tolerances(c)
    assert res.k == c["k"] and res.p == c["p"]
    assert res.coef_names == ("intercept", *_mods(c))
    se = np.asarray(c["se"])
    np.testing.assert_allclose(res.estimate, c["beta"], atol=atol, rtol=0)
    np.testing.assert_allclose(res.se, se, rtol=rtol)
    np.testing.assert_allclose(res.statistic, c["zval"], rtol=rtol, atol=atol)
    np.testing.assert_allclose(res.pvalue, c["pval"], rtol=10 * rtol, atol=atol)
    np.testing.assert_allclose(res.ci_low, c["ci_lb"], atol=atol + 2 * rtol * se.max(), rtol=0)
    np.testing.assert_allclose(res.ci_high, c["ci_ub"], atol=atol + 2 * rtol * se.max(), rtol=0)
    np.testing.assert_allclose(res.vcov.ravel(), c["vb"], rtol=2 * rtol, atol=1e-12)
    assert res.tau2 == pytest.approx(c["tau2"], abs=atol)
    assert res.converged
    assert res.i2 == pytest.approx(c["I2"], abs=1e-4)  # τ² to 1e-6 times 100/(τ² + ṽ)
    assert res.h2 == pytest.approx(c["H2"], abs=1e-5)
    assert res.qm_df == c["QMdf"] == c["p"] - 1
    assert res.qm == pytest.approx(c["QM"], rel=3 * rtol)
    assert res.qm_pvalue == pytest.approx(c["QMp"], rel=30 * rtol, abs=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_residual_heterogeneity_tests(name):
    c = CASES[name]
    res = fit(name)
    assert res.qe_df == c["QE_df"] == c["k"] - c["p"]
    cmel = c["model"] == "CM.EL" and c["measure"] == "OR"
    atol_lrt = 1e-5 if cmel else 1e-7
    assert res.qe_lrt == pytest.approx(c["QE_LRT"], abs=atol_lrt)
    assert res.qe_lrt_pvalue == pytest.approx(c["QEp_LRT"], abs=atol_lrt)
    if cmel:  # metafor's from numDeriv's Hessian of its saturated fit: 1% [0.6%] (test_metafor_glmm.py)
        assert res.qe_wald == pytest.approx(c["QE_Wld"], rel=1e-2)
        return
    assert res.qe_wald == pytest.approx(c["QE_Wld"], rel=1e-5, abs=1e-6)
    assert res.qe_wald_pvalue == pytest.approx(c["QEp_Wld"], abs=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_log_likelihood_and_information_criteria(name):
    c = CASES[name]
    res = fit(name)
    lme4_random = c["method"] == "ML" and not (c["model"] == "CM.EL" and c["measure"] == "OR")
    if lme4_random:
        assert res.loglik_metafor == pytest.approx(c["logLik"], abs=ATOL_LL_MODES)
    else:
        assert res.loglik == pytest.approx(c["logLik"], abs=ATOL_LL)
    for ours, theirs in ((res.aic, "AIC"), (res.bic, "BIC"), (res.aicc, "AICc")):
        assert ours + 2 * res.loglik == pytest.approx(c[theirs] + 2 * c["logLik"], abs=1e-9)


def test_double_zero_studies_are_excluded_with_their_moderator_rows():
    name = "nielweise2007/UM.FS/ML"
    d = CASES[name]["data"]
    double = [i for i, (a, c) in enumerate(zip(d["ai"], d["ci"], strict=True)) if a == 0 and c == 0]
    assert double  # metafor: "Some yi/vi values are NA", the same k
    res = fit(name)
    assert res.excluded == tuple(f"Study {i + 1}" for i in double)
    year = np.delete(np.asarray(d["year"]), double)
    np.testing.assert_array_equal(res.design[:, 1], year)


def test_common_effect_se_is_the_exact_information():
    """CM.AL without τ: binomial logistic regression of aᵢ | aᵢ + cᵢ, information ``XᵀWX``,
    ``W = (aᵢ + cᵢ) pᵢ(1 − pᵢ)`` at the estimate (where the score ``Xᵀ(a − (a + c)p)`` vanishes)."""
    name = "nielweise2007/CM.AL/EE"
    res = fit(name)
    d = CASES[name]["data"]
    a, n1, c, n2 = (
        np.delete(np.asarray(d[x], float), [i for i in range(len(d["ai"])) if d["ai"][i] + d["ci"][i] == 0])
        for x in ("ai", "n1i", "ci", "n2i")
    )
    p = special.expit(res.design @ res.estimate + np.log(n1 / n2))
    assert np.max(np.abs(res.design.T @ (a - (a + c) * p))) < 1e-7
    info = res.design.T @ (res.design * ((a + c) * p * (1 - p))[:, None])
    np.testing.assert_allclose(res.vcov, np.linalg.inv(info), rtol=1e-7)


def test_one_constant_column_without_intercept_is_the_intercept_only_model():
    """An exact identity: the design ``X = 1`` reproduces ``glmm_meta_analysis`` (both Newton fits stop
    within 1e-10 of the maximum)."""
    d = CASES["collins1985b/UM.FS/ML"]["data"]
    args = (d["ai"], d["n1i"], d["ci"], d["n2i"])
    one = metaacu.glmm_meta_analysis(*args, model="CM.AL")
    reg = metaacu.glmm_meta_regression(*args, moderators={"one": [1.0] * len(d["ai"])}, intercept=False, model="CM.AL")
    assert reg.coef_names == ("one",) and reg.qm_df == 1
    assert reg.estimate[0] == pytest.approx(one.estimate, abs=1e-9)
    assert reg.se[0] == pytest.approx(one.se, rel=1e-7)
    assert reg.tau2 == pytest.approx(one.tau2, abs=1e-9)
    assert reg.loglik == pytest.approx(one.loglik, abs=1e-9)
    assert reg.qe_wald == pytest.approx(one.qe_wald, rel=1e-12)
    assert reg.qm == pytest.approx(one.statistic**2, rel=1e-7)  # QM without intercept: z²
    assert reg.i2 == pytest.approx(one.i2, abs=1e-9)


def test_an_uncentred_moderator_gives_the_same_slope():
    """Calendar years as they are (the fit centres and scales the design internally): the same slope,
    SE and τ² as ``year − 2000``, the intercept moved by 2000 × slope."""
    name = "nielweise2007/UM.FS/ML"
    d = CASES[name]["data"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        raw = metaacu.glmm_meta_regression(
            d["ai"], d["n1i"], d["ci"], d["n2i"], moderators={"year": [y + 2000 for y in d["year"]]}
        )
    ref = fit(name)
    assert raw.estimate[1] == pytest.approx(ref.estimate[1], abs=1e-7)
    assert raw.se[1] == pytest.approx(ref.se[1], rel=1e-6)
    assert raw.tau2 == pytest.approx(ref.tau2, abs=1e-7)
    assert raw.estimate[0] + 2000 * raw.estimate[1] == pytest.approx(ref.estimate[0], abs=1e-6)
    assert raw.qm == pytest.approx(ref.qm, rel=1e-6)


def test_a_categorical_moderator_is_dummy_coded():
    d = CASES["collins1985b/UM.FS/EE"]["data"]
    args = (d["ai"], d["n1i"], d["ci"], d["n2i"])
    words = pd.DataFrame({"oedema": ["no" if v == 0 else "yes" for v in d["oedema"]]})
    coded = metaacu.glmm_meta_regression(*args, moderators=words, method="EE")
    numeric = fit("collins1985b/UM.FS/EE")
    assert coded.coef_names == ("intercept", "oedema[yes]")
    np.testing.assert_array_equal(coded.design, numeric.design)
    np.testing.assert_array_equal(coded.estimate, numeric.estimate)


# ----------------------------------------------------------------------------- bad input and reporting
TABLE = {"events1": [4, 10, 2, 7], "n1": [100, 120, 90, 80], "events2": [9, 15, 6, 8], "n2": [100, 118, 95, 85]}


def _call(**changes: Any) -> Any:
    kw: dict[str, Any] = {**TABLE, "moderators": [0.0, 1.0, 0.0, 1.0], **changes}
    return metaacu.glmm_meta_regression(**kw)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"moderators": [0.0, 1.0, 0.0]}, r"'moderators' has 3 rows for 4 studies"),
        ({"moderators": {"x": [0.0, 1.0, 0.0, 1.0], "y": [0.0, 2.0, 0.0, 2.0]}}, r"column 'y' is constant or a linear"),
        ({"moderators": [1.0, 1.0, 1.0, 1.0]}, r"column 'x1' is constant"),
        ({"moderators": [0.0, np.nan, 0.0, 1.0]}, r"moderators\['x1'\].*missing or infinite value at study index 1"),
        ({"moderators": None}, r"'moderators' is required"),
        ({"moderators": "dose"}, r"names columns but no 'data'"),
        (
            {"moderators": {"x": [0, 1, 2, 3], "y": [1, 0, 2, 5], "z": [3, 1, 1, 0]}},
            r"more informative studies than coefficients: k = 4, p = 4",
        ),
        ({"model": "UM.XX"}, r"argument 'model' must be one of 'UM.FS', 'CM.EL', 'CM.AL', 'UM.RS'; got 'UM.XX'"),
        ({"intercept": "yes"}, r"'intercept'"),
        ({"profile": "revman5"}, r"profile"),
        ({"events1": [4, 130, 2, 7]}, r"'events1' exceeds 'n1'.*study index 1"),
    ],
)
def test_bad_input_is_refused(changes, match):
    with pytest.raises(MetaacuInputError, match=match):
        _call(**changes)


def test_missing_data_column_is_refused():
    df = pd.DataFrame({**TABLE, "dose": [1.0, 2.0, 3.0, 5.0]})
    res = metaacu.glmm_meta_regression("events1", "n1", "events2", "n2", data=df, moderators="dose", method="EE")
    assert res.coef_names == ("intercept", "dose")
    with pytest.raises(MetaacuInputError, match="dosage"):
        metaacu.glmm_meta_regression("events1", "n1", "events2", "n2", data=df, moderators=["dosage"])


def test_displays_and_frames():
    res = _call()
    text = str(res)
    assert "Mixed-effects meta-regression, binomial-normal model with fixed study effects (UM.FS)" in text
    assert "Test of moderators: QM(1)" in text and "Likelihood-ratio chi^2(2)" in text
    assert "<pre>" in res._repr_html_()
    frame, response = res.to_frame(), res.to_frame(scale="response")
    assert list(frame["term"]) == ["intercept", "x1"]
    assert frame["estimate"].iloc[1] == res.estimate[1]
    assert response["estimate"].iloc[1] == pytest.approx(math.exp(res.estimate[1]))
    assert "se" not in response.columns
    assert "GLMMRegression(measure='OR'" in repr(res) and "x1=" in repr(res)
    irr = metaacu.glmm_meta_regression(
        [3, 4, 5, 9],
        events2=[2, 6, 1, 4],
        time1=[10, 20, 30, 40],
        time2=[10, 25, 33, 41],
        measure="IRR",
        model="CM.AL",
        moderators=[1.0, 2.0, 3.0, 4.0],
        method="EE",
    )
    assert irr.model == "CM.EL" and "exact" in irr.notes[0]
    assert "Fixed-effects" in irr.summary() and "Log incidence rate ratio" in irr.summary()
