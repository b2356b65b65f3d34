"""Exact-likelihood meta-regression with moderators by formula, ``btt`` subsets, ``test="t"`` and
``predict`` (``glmm_meta_regression``) against metafor's ``rma.glmm(mods = ~ ...)`` and
``predict(..., newmods, transf = exp)`` (tracker issue 14, item 1 "with moderators").

Reference numbers: ``tests/reference/metafor_glmm_mods_extra.json``, written by
``tests/reference/make_fixtures_glmm_mods_extra.R`` (metafor 3.8-1, lme4 1.1-31, BiasedUrn; the settings of
``make_fixtures_glmm.R``): dat.bcg ``~ ablat + year + factor(alloc)`` (CM.AL, ML and EE, z and t) and
``~ I(year - 1960) + factor(alloc)`` (CM.EL), dat.collins1985b ``~ I(year - 1970) + factor(oedema)``
(UM.FS, CM.AL), dat.nielweise2007 (OR) and dat.nielweise2008 (IRR) ``~ I(year - 2000)``.

Tolerances: those of ``test_metafor_glmm_mods.py`` for the same fits (imported from it, one home).
With uncentred calendar years the intercept (the log odds ratio at year 0) has an SE of ~25, and the
optimisers' error lies along the coefficients' covariance: the absolute tolerance of an estimate or a
prediction ``xβ̂`` is that of test_metafor_glmm_mods.py times ``max(1, SE)``.  Largest differences
seen, as a fraction of the tolerance: coefficients 0.1 (0.45 on dat.bcg CM.EL, whose flat likelihood
metafor's nlminb leaves 2.8e-10 below the maximum metaacu reaches: 1.3e-5 SE), SEs 0.7 (dat.bcg CM.EL,
3.4e-3 relative), QM 0.1, predictions 0.01.
"""

from __future__ import annotations

import math
import re
import warnings
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import special
from test_metafor_glmm_mods import (
    ATOL_EST_CMEL,
    ATOL_EST_GLM,
    ATOL_EST_LME4,
    ATOL_LL,
    ATOL_LL_MODES,
    RTOL_SE_CMEL,
    RTOL_SE_GLM,
    RTOL_SE_LME4,
)

import metaacu
from metaacu import MetaacuInputError

from tolerances import reference

FIX = reference("glmm_mods_extra")
CASES = {name: c for name, c in FIX["cases"].items() if "error" not in c}


def test_fixture_grid_has_not_shrunk():
    assert len(CASES) == len(FIX["cases"]) >= 12
    assert {(c["model"], c["measure"], c["method"], c["test"]) for c in CASES.values()} >= {
        ("UM.FS", "OR", "ML", "z"),
        ("UM.FS", "OR", "ML", "t"),
        ("CM.AL", "OR", "ML", "z"),
        ("CM.AL", "OR", "ML", "t"),
        ("CM.AL", "OR", "EE", "z"),
        ("CM.EL", "OR", "ML", "z"),
        ("UM.FS", "IRR", "ML", "z"),
        ("UM.FS", "IRR", "ML", "t"),
        ("CM.EL", "IRR", "EE", "z"),
    }
    assert sum(c["tau2"] > 0.1 for c in CASES.values()) >= 3  # heterogeneous fits, not only τ² = 0
    assert sum(len(c["btt_fits"]) for c in CASES.values()) >= 12
    assert sum("factor(" in c["formula"] for c in CASES.values()) >= 7


def _r_name(name: str) -> str:
    """metafor's coefficient names in metaacu's spelling: ``intrcpt`` → ``intercept``,
    ``factor(alloc)random`` → ``factor(alloc)[random]``."""
    if name == "intrcpt":
        return "intercept"
    return re.sub(r"^(factor\([^)]*\))(.+)$", r"\1[\2]", name)


def _btt(b: Any) -> Any:
    """metafor's ``btt`` (1-based indices or a name pattern) as metaacu's (0-based)."""
    if isinstance(b, str):
        return b
    return [int(j) - 1 for j in np.atleast_1d(b)]


def _call(c: dict[str, Any], **kw: Any) -> Any:
    data = pd.DataFrame(c["data"])
    nodes = 31 if c["model"] == "CM.EL" and c["measure"] == "OR" else c["nAGQ"]
    events = ("ai", "n1i", "ci", "n2i") if c["measure"] == "OR" else ("x1i",)
    extra = {} if c["measure"] == "OR" else {"events2": "x2i", "time1": "t1i", "time2": "t2i"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # double-zero studies excluded (test_metafor_glmm_mods.py)
        return metaacu.glmm_meta_regression(
            *events,
            data=data,
            moderators=c["formula"],
            measure=c["measure"],
            model=c["model"],
            method=c["method"],
            test=c["test"],
            nodes=nodes,
            **extra,
            **kw,
        )


@cache
def fit(name: str, btt: Any = None) -> Any:
    c = CASES[name]
    return _call(c) if btt is None else _call(c, btt=btt)


def _tolerances(c: dict[str, Any]) -> tuple[float, float]:
    if c["model"] == "CM.EL" and c["measure"] == "OR":
        return ATOL_EST_CMEL, RTOL_SE_CMEL
    if c["method"] == "EE":
        return ATOL_EST_GLM, RTOL_SE_GLM
    return ATOL_EST_LME4 * (1 + c["tau2"]), RTOL_SE_LME4


@pytest.mark.parametrize("name", sorted(CASES))
def test_formula_fit_matches_metafor(name):
    c = CASES[name]
    res = fit(name)
    atol, rtol = _tolerances(c)
    se = np.asarray(c["se"])
    assert res.coef_names == tuple(_r_name(n) for n in c["names"])
    assert res.k == c["k"] and res.p == c["p"] and res.test == c["test"]
    assert res.intercept and res.converged
    aest = atol * np.maximum(1.0, se)  # the intercept at year 0 (SE ~ 25 on dat.bcg): its error scales with it
    cmel = c["model"] == "CM.EL" and c["measure"] == "OR"
    if cmel:  # metafor's nlminb stops ~3e-10 below the maximum of ℓ (checked below): 3e-5 SE [1.3e-5]
        aest = np.maximum(aest, 3e-5 * se)
    assert np.all(np.abs(res.estimate - np.asarray(c["beta"])) <= aest)
    if c["method"] == "ML" and not cmel:  # lme4's fits: metafor prints ℓ at the conditional modes
        assert res.loglik_metafor == pytest.approx(c["logLik"], abs=ATOL_LL_MODES)
    elif cmel:  # the same likelihood, maximised: metaacu's is not lower [2.8e-10 higher on dat.bcg]
        assert res.loglik >= c["logLik"] - ATOL_LL and res.loglik == pytest.approx(c["logLik"], abs=1e-6)
    else:
        assert res.loglik == pytest.approx(c["logLik"], abs=ATOL_LL)
    np.testing.assert_allclose(res.se, se, rtol=rtol)
    np.testing.assert_allclose(res.statistic, c["zval"], rtol=rtol, atol=atol)
    np.testing.assert_allclose(res.pvalue, c["pval"], rtol=10 * rtol, atol=atol)
    assert np.all(np.abs(res.ci_low - np.asarray(c["ci_lb"])) <= aest + 3 * rtol * se)
    assert np.all(np.abs(res.ci_high - np.asarray(c["ci_ub"])) <= aest + 3 * rtol * se)
    # covariances on the scale of their SEs: a small correlation is not compared to a relative 1e-5
    dv = np.abs(res.vcov - np.asarray(c["vb"]).reshape(res.p, res.p))
    assert np.all(dv <= 2 * rtol * np.outer(se, se))
    assert res.tau2 == pytest.approx(c["tau2"], abs=atol)
    assert list(res.btt) == [j - 1 for j in np.atleast_1d(c["btt"])]
    assert [res.qm_df] == c["QMdf"][:1]
    assert res.qm == pytest.approx(c["QM"], rel=3 * rtol)
    assert res.qm_pvalue == pytest.approx(c["QMp"], rel=30 * rtol, abs=1e-12)
    if c["test"] == "t":  # t(k − p) tests and F(m, k − p) for QM
        assert res.df == c["QMdf"][1] == c["k"] - c["p"] and res.qm_test == "F"
    else:
        assert math.isinf(res.df) and c["QMdf"][1] is None and res.qm_test == "chi2"


BTT = [(name, j) for name in sorted(CASES) for j in range(len(CASES[name]["btt_fits"]))]


@pytest.mark.parametrize(("name", "j"), BTT)
def test_btt_subsets_match_metafor(name, j):
    c = CASES[name]
    sub = c["btt_fits"][j]
    _, rtol = _tolerances(c)
    res = fit(name, btt=str(sub["btt_r"]) if isinstance(sub["btt_r"], str) else tuple(_btt(sub["btt_r"])))
    assert list(res.btt) == [b - 1 for b in np.atleast_1d(sub["btt"])]
    assert [res.qm_df] == sub["QMdf"][:1]
    # the same test through the one Wald test of a fitted model (hypotheses.wald_test): the same formula
    wt = metaacu.wald_test(fit(name), coefs=_btt(sub["btt_r"]))
    assert wt.qm == pytest.approx(res.qm, rel=1e-12) and wt.qm_pvalue == pytest.approx(res.qm_pvalue, rel=1e-10)
    assert wt.qm_test == res.qm_test and wt.qm_df == res.qm_df
    if 0 in res.btt:
        # metafor 3.8-1 computes QM before undoing its internal centring and scaling of the moderators
        # (rma.glmm, `QM` above `if (!int.only && int.incl && con$scaleX)`): with the intercept in
        # `btt` it tests the intercept at the moderators' means, not the reported one.  metaacu tests
        # the reported coefficients: QM is then z² of metafor's own intercept (HANDOVER, known
        # differences).
        assert res.qm_df == 1
        assert res.qm == pytest.approx(c["zval"][0] ** 2, rel=3 * rtol)
        assert abs(sub["QM"] - c["zval"][0] ** 2) > 0.1 * sub["QM"]  # the quirk is real in this case
        return
    assert res.qm == pytest.approx(sub["QM"], rel=3 * rtol)
    assert res.qm_pvalue == pytest.approx(sub["QMp"], rel=30 * rtol, abs=1e-12)


def _pred_atol(c: dict[str, Any], se_pred: np.ndarray) -> np.ndarray:
    """The coefficients' tolerance carried to ``x β̂`` (their error lies along their covariance, so
    it is that of one estimate on the prediction's own SE), plus the SE's tolerance for the bounds."""
    atol, rtol = _tolerances(c)
    return atol * np.maximum(1.0, se_pred) + 3 * rtol * se_pred


@pytest.mark.parametrize("name", sorted(CASES))
def test_predict_at_new_moderator_values_matches_metafor(name):
    c = CASES[name]
    ref = c["predict"]
    res = fit(name)
    _, rtol = _tolerances(c)
    newdata = pd.DataFrame(c["newdata"])
    np.testing.assert_allclose(res.model_matrix(newdata)[:, 1:], c["newmods"], rtol=0, atol=0)
    pr = res.predict(newdata)
    assert list(pr.columns) == ["pred", "se", "ci_low", "ci_high", "pi_low", "pi_high"]
    se = np.asarray(ref["se"])
    tol = _pred_atol(c, se)
    np.testing.assert_allclose(pr["se"], se, rtol=rtol)
    for ours, theirs in (("pred", "pred"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub")):
        assert np.all(np.abs(pr[ours].to_numpy() - np.asarray(ref[theirs])) <= tol), ours
    if c["method"] == "EE":  # metafor gives no PI for a fixed-effects model; metaacu's is the CI (τ² = 0)
        assert ref["pi_lb"] == [] and res.tau2 == 0
        np.testing.assert_array_equal(pr["pi_low"], pr["ci_low"])
        half = np.asarray(ref["ci_ub"]) - np.asarray(ref["pred"])
        ref = {**ref, "pi_lb": ref["ci_lb"], "pi_ub": ref["ci_ub"], "exp_pi_lb": ref["exp_ci_lb"]}
    else:
        half = np.asarray(ref["pi_ub"]) - np.asarray(ref["pred"])  # crit·√(se² + τ²)
    for ours, theirs in (("pi_low", "pi_lb"), ("pi_high", "pi_ub")):
        assert np.all(np.abs(pr[ours].to_numpy() - np.asarray(ref[theirs])) <= tol + 3 * rtol * half), ours
    if c["tau2"] > 0.01:
        assert np.all(pr["pi_high"] - pr["ci_high"] > 1e-3)  # the PI carries τ²
    # transf = exp: the odds (rate) ratio scale
    back = res.predict(newdata, scale="response")
    assert list(back.columns) == ["pred", "ci_low", "ci_high", "pi_low", "pi_high"]
    for ours, theirs in (("pred", "pred"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub"), ("pi_low", "pi_lb")):
        expected = np.asarray(ref[f"exp_{theirs}"])
        np.testing.assert_allclose(np.log(back[ours]), np.log(expected), atol=float(np.max(tol + 3 * rtol * half)))
        np.testing.assert_allclose(back[ours], np.exp(pr[ours]), rtol=1e-15)


def test_predict_without_newmods_gives_the_fitted_values():
    res = fit("bcg/CM.AL/ML/z")
    pr = res.predict()
    np.testing.assert_allclose(pr["pred"], res.design @ res.estimate, rtol=1e-14)
    np.testing.assert_allclose(pr["se"] ** 2, np.einsum("ij,jk,ik->i", res.design, res.vcov, res.design), rtol=1e-12)
    z = float(special.ndtri(0.95))
    narrow = res.predict(level=0.9)
    np.testing.assert_allclose(narrow["ci_high"] - narrow["pred"], z * pr["se"], rtol=1e-12)


def test_formula_and_table_give_the_same_fit():
    """``~ ablat + year + factor(alloc)`` and the table of the same columns (text dummy-coded as R's
    ``model.matrix``): the same design (up to the names) and so bit-identical fits."""
    c = CASES["bcg/CM.AL/EE/z"]
    d = pd.DataFrame(c["data"])
    by_formula = fit("bcg/CM.AL/EE/z")
    table = metaacu.glmm_meta_regression(
        "ai", "n1i", "ci", "n2i", data=d, moderators=d[["ablat", "year", "alloc"]], model="CM.AL", method="EE"
    )
    assert table.coef_names == ("intercept", "ablat", "year", "alloc[random]", "alloc[systematic]")
    np.testing.assert_array_equal(table.design, by_formula.design)
    np.testing.assert_array_equal(table.estimate, by_formula.estimate)
    new = pd.DataFrame(c["newdata"])
    pd.testing.assert_frame_equal(table.predict(new), by_formula.predict(new))
    nums = np.asarray(c["newmods"])
    pd.testing.assert_frame_equal(table.predict(nums), by_formula.predict(new))


def test_formula_without_intercept():
    c = CASES["bcg/CM.AL/EE/z"]
    d = pd.DataFrame(c["data"])
    with_int = fit("bcg/CM.AL/EE/z")
    res = metaacu.glmm_meta_regression(
        "ai", "n1i", "ci", "n2i", data=d, moderators="~ factor(alloc) - 1", model="CM.AL", method="EE"
    )
    assert not res.intercept and res.btt == (0, 1, 2) and res.qm_df == 3
    assert res.coef_names == ("factor(alloc)[alternate]", "factor(alloc)[random]", "factor(alloc)[systematic]")
    same = metaacu.glmm_meta_regression(
        "ai", "n1i", "ci", "n2i", data=d, moderators="~ factor(alloc)", intercept=False, model="CM.AL", method="EE"
    )
    np.testing.assert_array_equal(same.design, res.design)
    assert with_int.k == res.k


def test_wald_test_takes_a_glmm_regression_generically():
    """Contrasts too: random vs systematic allocation is the difference of their coefficients, whose
    variance is ``v₃₃ + v₄₄ − 2v₃₄``."""
    res = fit("bcg/CM.AL/ML/t")
    wt = metaacu.wald_test(res, contrasts=[[0, 0, 0, 1, -1]])
    v = res.vcov
    diff = res.estimate[3] - res.estimate[4]
    se = math.sqrt(v[3, 3] + v[4, 4] - 2 * v[3, 4])
    assert wt.estimate[0] == pytest.approx(diff, rel=1e-12) and wt.se[0] == pytest.approx(se, rel=1e-12)
    assert wt.qm_test == "F" and wt.qm_df2 == res.df == res.k - res.p  # F(1, k − p) under test = "t"
    assert wt.qm == pytest.approx((diff / se) ** 2, rel=1e-12)
    assert wt.pvalue[0] == pytest.approx(2 * special.stdtr(res.df, -abs(diff / se)), rel=1e-12)
    assert "GLMMRegression (ML)" in wt.summary()


def test_summary_names_the_subset_and_the_f_test():
    text = fit("bcg/CM.AL/ML/t", btt="alloc").summary()
    assert "Test of moderators (factor(alloc)[random], factor(alloc)[systematic]): F(2, 8) =" in text
    assert f"{'t':>8} {'p':>9}" in text
    assert "Test of moderators: QM(4) =" in fit("bcg/CM.AL/ML/z").summary()


# ----------------------------------------------------------------------------- bad input
def _bcg(**kw: Any) -> Any:
    c = CASES["bcg/CM.AL/EE/z"]
    args = {"data": pd.DataFrame(c["data"]), "model": "CM.AL", "method": "EE", "moderators": c["formula"], **kw}
    return metaacu.glmm_meta_regression("ai", "n1i", "ci", "n2i", **args)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        (
            {"moderators": "~ ablat + latitude"},
            r"formula '~ ablat \+ latitude' names 'latitude', which is not a column",
        ),
        ({"moderators": "y ~ ablat"}, r"must have no left-hand side"),
        ({"btt": 5}, r"argument 'btt': index 5 out of range for 5 coefficients"),
        ({"btt": "dose"}, r"argument 'btt': 'dose' matches no coefficient \(intercept, ablat"),
        ({"btt": [1, 1]}, r"argument 'btt' selects a coefficient twice"),
        ({"btt": []}, r"argument 'btt' selects no coefficient"),
        ({"btt": [True]}, r"argument 'btt' must hold indices or names"),
        ({"test": "knha"}, r"argument 'test'"),
    ],
)
def test_bad_input_is_refused(changes, match):
    with pytest.raises(MetaacuInputError, match=match):
        _bcg(**changes)


def test_a_formula_needs_data():
    with pytest.raises(MetaacuInputError, match=r"is a formula \('~ x \+ z'\); it needs 'data'"):
        metaacu.glmm_meta_regression([4, 10, 2, 7], [100, 120, 90, 80], [9, 15, 6, 8], [100, 118, 95, 85],
                                     moderators="~ x + z")  # fmt: skip


def test_a_missing_moderator_value_in_a_formula_is_refused():
    c = CASES["bcg/CM.AL/EE/z"]
    d = pd.DataFrame(c["data"])
    d.loc[3, "ablat"] = np.nan
    with pytest.raises(MetaacuInputError, match=r"column 'ablat' of the formula has a missing value"):
        _bcg(data=d)


@pytest.mark.parametrize(
    ("newmods", "match"),
    [
        (np.ones((2, 3)), r"argument 'newmods' must have 4 column\(s\), got shape \(2, 3\)"),
        ([20.0, 1960.0], r"argument 'newmods' must have 4 column\(s\)"),
        (np.array([[20.0, 1960.0, np.nan, 1.0]]), r"'newmods' has a missing or infinite value"),
    ],
)
def test_newmods_of_the_wrong_width_are_refused(newmods, match):
    c = CASES["bcg/CM.AL/EE/z"]
    d = pd.DataFrame(c["data"])
    table = metaacu.glmm_meta_regression(
        "ai", "n1i", "ci", "n2i", data=d, moderators=d[["ablat", "year", "alloc"]], model="CM.AL", method="EE"
    )
    with pytest.raises(MetaacuInputError, match=match):
        table.predict(newmods)


@pytest.mark.parametrize(
    ("newmods", "match"),
    [
        (pd.DataFrame({"ablat": [20.0], "year": [1960.0]}), r"argument 'newmods'.*alloc"),
        (pd.DataFrame({"ablat": [20.0], "year": [1960.0], "alloc": ["cluster"]}), r"argument 'newmods'"),
        (np.ones((1, 4)), r"argument 'newmods' must be a DataFrame with the formula's columns"),
    ],
)
def test_newmods_of_a_formula_fit_are_checked(newmods, match):
    with pytest.raises(MetaacuInputError, match=match):
        fit("bcg/CM.AL/EE/z").predict(newmods)


def test_predict_scale_is_checked():
    with pytest.raises(MetaacuInputError, match=r"'scale'"):
        fit("bcg/CM.AL/EE/z").predict(scale="exp")
