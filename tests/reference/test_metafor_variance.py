"""Variance-component inference against metafor (tracker issue 14, item 2): the standard error of τ̂²,
confidence intervals for τ², τ, I² and H² (Q-profile, profile likelihood, Wald), the fit statistics
(ML and REML) and likelihood-ratio tests between nested models.

Reference numbers: ``tests/reference/metafor_variance.json``, written by
``tests/reference/make_fixtures_variance.R`` (metafor 3.8-1 at threshold = tol = 1e-12; versions in
its ``meta`` block): every τ² estimator on the 55 datasets of ``metafor_rma.json`` (k = 1 to 100,
boundary τ² = 0, k = 2 and 3, identical effects, multimodal likelihoods ...) and on dat.bcg,
dat.normand1999 and dat.hackshaw1998; meta-regressions of dat.bcg on ablat, year and allocation;
``anova()`` of nested pairs.  metafor's generalised-Q interval needs CompQuadForm (not in Debian), so
metaacu's is checked here by its exact special cases and an independent series for its distribution.
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
from metaacu.fitstats import log_likelihood
from metaacu.heterogeneity import weighted_chi2_sf

from tolerances import ATOL, ATOL_TAU2_ITER, BOUNDARY_ATOL, RTOL_CLOSED, RTOL_ITER, RTOL_PATHS, reference

# ----------------------------------------------------------------------------- tolerances
# RTOL_CLOSED: closed-form estimators' SE and fit statistics (the same arithmetic in another order).
# RTOL_ITER: anything that depends on an iterative τ̂² (REML, ML, PM, EB) and every interval bound found
# by a root finder (metafor's uniroot at tol = 1e-12 absolute); ATOL_TAU2_ITER absorbs metafor's τ̂² of
# order 1e-13 where metaacu returns exactly 0.  Meta-regressions on `year` (values near 1950 beside an
# intercept) are ill-conditioned enough that both sides lose digits even for closed forms: RTOL_ITER.

ITERATIVE = {"REML", "ML", "PM", "EB"}
METHODS = ("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")
KINDS = {"QP": "qprofile", "PL": "profile_likelihood", "Wald": "wald"}
MIN_DATASETS = 58
KS_REQUIRED = {1, 2, 3, 5, 10, 30, 100}
PUBLISHED = {"bcg_logrr", "normand1999_md", "normand1999_smd", "hackshaw1998"}


@cache
def fixture() -> dict[str, Any]:
    return reference("variance")


def datasets() -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in fixture()["datasets"]}


def case_id(c: dict[str, Any]) -> str:
    return f"{c.get('dataset', c.get('mods'))}-{c['method']}"


def _fit(c: dict[str, Any]) -> metaacu.MetaAnalysis:
    d = datasets()[c["dataset"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", metaacu.LikelihoodWarning)
        return metaacu.meta_analysis(np.array(d["yi"]), np.array(d["vi"]), method=c["method"])


def _tol(method: str, regression: bool = False) -> dict[str, float]:
    if regression or method in ITERATIVE:
        return {"rel": RTOL_ITER, "abs": ATOL_TAU2_ITER}
    return {"rel": RTOL_CLOSED, "abs": ATOL}


def _close(actual: float, expected: float | None, tol: dict[str, float], what: str) -> None:
    exp = math.nan if expected is None else float(expected)
    if math.isnan(exp) or math.isinf(exp):
        assert actual == exp or (math.isnan(exp) and math.isnan(actual)), what
        return
    assert actual == pytest.approx(exp, rel=tol["rel"], abs=tol["abs"]), what


# ----------------------------------------------------------------------------- grid guard
def _check_fit_statistics(res: Any, c: dict[str, Any], tol: dict[str, float]) -> None:
    """Both likelihoods' fit statistics of ``res`` against metafor's ``fitstats`` in case ``c``."""
    for likelihood in ("ML", "REML"):
        fs, ref = res.fit_statistics(likelihood), c["fitstats"][likelihood]
        assert fs.parameters == c["parms"] and fs.likelihood == likelihood
        for name, value in (
            ("ll", fs.loglik),
            ("dev", fs.deviance),
            ("AIC", fs.aic),
            ("BIC", fs.bic),
            ("AICc", fs.aicc),
        ):
            _close(value, ref[name], tol, f"{likelihood} {name}")


def test_fixture_grid_has_not_shrunk() -> None:
    fx = fixture()
    assert fx["meta"]["metafor_version"] == "3.8.1"
    names = set(datasets())
    assert len(names) >= MIN_DATASETS and names >= PUBLISHED
    assert {d["k"] for d in fx["datasets"]} >= KS_REQUIRED
    assert {c["method"] for c in fx["cases"]} == set(METHODS)
    assert len(fx["cases"]) == len(names) * len(METHODS) and all(c["ok"] for c in fx["cases"])
    assert sum("PL" in c.get("confint", {}) for c in fx["cases"]) >= 2 * (len(names) - 2)
    assert len(fx["regression"]) >= 6 * len(METHODS) and len(fx["anova"]) >= 17
    # the boundary: datasets where every estimator is at τ² = 0 and where metafor's search limits are hit
    assert any(c["dataset"] == "k7_Qbelowdf" and c["method"] == "REML" for c in fx["cases"])
    assert any(b.get("wide") for c in fx["cases"] for b in c.get("confint", {}).values())


# ----------------------------------------------------------------------------- intercept-only models
RANDOM = [c for c in fixture()["cases"] if c["method"] != "EE" and c["k"] > 1]


@pytest.mark.parametrize("c", RANDOM, ids=[case_id(c) for c in RANDOM])
def test_se_tau2(c: dict[str, Any]) -> None:
    res = _fit(c)
    _close(res.tau2_se(), c["se_tau2"], _tol(c["method"]), "se.tau2")


@pytest.mark.parametrize("c", fixture()["cases"], ids=[case_id(c) for c in fixture()["cases"]])
def test_fit_statistics(c: dict[str, Any]) -> None:
    res = _fit(c)
    _check_fit_statistics(res, c, _tol(c["method"]))
    # metafor's fitstats(): the REML column for REML fits, the ML column otherwise
    assert res.fit_statistics().likelihood == ("REML" if c["method"] == "REML" else "ML")


def _check_interval(h: Any, block: dict[str, Any], tol: dict[str, float], what: str) -> None:
    """metaacu's HeterogeneityInterval against one metafor confint block."""
    wide = block.get("wide")
    tau2_ref = wide["tau2"] if wide else block["tau2"]
    if wide:  # metafor's default search stopped at its limit; metaacu has none, so it is past it
        assert block["ub_sign"] == ">" and h.tau2_interval.high > block["tau2"][2]
        assert wide["ub_sign"] == "", f"{what}: the wide search did not find the bound either"
    # I² and H² at the boundary: metafor's τ̂² ~ 1e-13 gives I² ~ 1e-9 % where metaacu's is 0
    derived = {"rel": tol["rel"], "abs": BOUNDARY_ATOL}
    _close(h.tau2, block["tau2"][0], tol, f"{what} tau2")
    for i, bound in ((1, "low"), (2, "high")):
        _close(getattr(h.tau2_interval, bound), tau2_ref[i], tol, f"{what} tau2 {bound}")
        # τ is √τ² (compared through τ²: √ of metafor's 1e-13 boundary noise would need a loose tolerance)
        assert getattr(h.tau_interval, bound) == math.sqrt(getattr(h.tau2_interval, bound))
        if not (wide and i == 2):
            _close(getattr(h.i2_interval, bound), block["I2"][i], derived, f"{what} I2 {bound}")
            _close(getattr(h.h2_interval, bound), block["H2"][i], derived, f"{what} H2 {bound}")
    _close(h.i2, block["I2"][0], derived, f"{what} I2")
    _close(h.h2, block["H2"][0], derived, f"{what} H2")
    if block.get("ci_null"):  # both Q-profile bounds at 0: metafor's "null set"
        assert h.tau2_interval.high == 0.0 and h.notes


INTERVALS = [(c, t) for c in RANDOM for t in c["confint"]]


@pytest.mark.parametrize(("c", "kind"), INTERVALS, ids=[f"{case_id(c)}-{t}" for c, t in INTERVALS])
def test_confint(c: dict[str, Any], kind: str) -> None:
    block = c["confint"][kind]
    assert block["ok"], block
    res = _fit(c)
    closed = kind == "Wald" and c["method"] not in ITERATIVE
    tol = _tol(c["method"]) if closed else {"rel": RTOL_ITER, "abs": ATOL_TAU2_ITER}
    h = res.heterogeneity_confint(kind=KINDS[kind])
    _check_interval(h, block, tol, kind)
    assert h.tau2_se == res.tau2_se() and h.level == res.level
    if kind == "QP":  # the same interval as tau2_confint()
        assert (h.tau2_interval.low, h.tau2_interval.high) == tuple(res.tau2_confint())


def test_profile_likelihood_at_the_boundary() -> None:
    """τ̂² = 0: the profile-likelihood lower bound is 0 and the upper bound is where the likelihood ratio
    reaches χ²₁(0.95), as in metafor."""
    seen = 0
    for c in RANDOM:
        if c["method"] in ("ML", "REML") and c["tau2"] < 1e-10:
            res = _fit(c)
            assert res.tau2 == 0.0
            h = res.heterogeneity_confint(kind="profile_likelihood")
            assert h.tau2_interval.low == 0.0 and c["confint"]["PL"]["tau2"][1] == 0.0
            restricted = c["method"] == "REML"
            ll0 = log_likelihood(res.yi, res.vi, np.ones((res.k, 1)), 0.0, restricted)
            ll1 = log_likelihood(res.yi, res.vi, np.ones((res.k, 1)), h.tau2_interval.high, restricted)
            assert 2 * (ll0 - ll1) == pytest.approx(float(special.chdtri(1, 0.05)), rel=1e-9)
            seen += 1
    assert seen >= 20


# ----------------------------------------------------------------------------- meta-regression
def _regression_data() -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    rd = fixture()["regression_data"]
    mods = pd.DataFrame({"ablat": rd["ablat"], "year": rd["year"], "alloc": rd["alloc"]})
    return np.array(rd["yi"]), np.array(rd["vi"]), mods


def _fit_mods(mods: str, method: str) -> Any:
    y, v, frame = _regression_data()
    if mods == "1":
        return metaacu.meta_analysis(y, v, method=method)
    return metaacu.meta_regression(y, v, frame[mods.split("+")], method=method)


REGRESSION = fixture()["regression"]


@pytest.mark.parametrize("c", REGRESSION, ids=[case_id(c) for c in REGRESSION])
def test_regression(c: dict[str, Any]) -> None:
    res = _fit_mods(c["mods"], c["method"])
    tol = _tol(c["method"], regression=True)
    assert res.p == c["p"] and res.k == c["k"]
    _close(res.tau2, c["tau2"], tol, "tau2")
    _check_fit_statistics(res, c, tol)
    if c["method"] == "EE":
        return
    _close(res.tau2_se(), c["se_tau2"], tol, "se.tau2")
    for kind, block in c["confint"].items():
        _check_interval(res.heterogeneity_confint(kind=KINDS[kind]), block, tol, kind)
    qp = res.tau2_confint()
    assert qp.method == "Q-profile" and (qp.low, qp.high) == pytest.approx(
        c["confint"]["QP"]["tau2"][1:], rel=RTOL_ITER
    )


# ----------------------------------------------------------------------------- likelihood-ratio tests
ANOVA = fixture()["anova"]


def _pair_id(a: dict[str, Any]) -> str:
    return f"{a['full']['mods']}.{a['full']['method']}-vs-{a['reduced']['mods']}.{a['reduced']['method']}"


@pytest.mark.parametrize("a", ANOVA, ids=[_pair_id(a) for a in ANOVA])
def test_likelihood_ratio_test(a: dict[str, Any]) -> None:
    full = _fit_mods(a["full"]["mods"], a["full"]["method"])
    reduced = _fit_mods(a["reduced"]["mods"], a["reduced"]["method"])
    if a["warnings"]:  # REML fits with different fixed effects: metafor warns, metaacu refuses
        assert "REML comparisons not meaningful" in a["warnings"][0]
        with pytest.raises(MetaacuInputError, match="refit both models with method='ML'"):
            metaacu.likelihood_ratio_test(full, reduced)
        return
    tol = {"rel": RTOL_ITER, "abs": ATOL_TAU2_ITER}
    lrt = metaacu.likelihood_ratio_test(full, reduced)
    assert lrt.df == a["parms_f"] - a["parms_r"]
    assert (lrt.full.parameters, lrt.reduced.parameters) == (a["parms_f"], a["parms_r"])
    assert lrt.likelihood == ("REML" if a["full"]["method"] == "REML" else "ML")
    _close(lrt.statistic, a["LRT"], tol, "LRT")
    _close(lrt.pvalue, a["pval"], tol, "p")
    for fs, ref in ((lrt.full, a["fit_stats_f"]), (lrt.reduced, a["fit_stats_r"])):
        for value, expected, name in zip(
            (fs.loglik, fs.deviance, fs.aic, fs.bic, fs.aicc), ref, ("ll", "dev", "AIC", "BIC", "AICc"), strict=True
        ):
            _close(value, expected, tol, name)
    for name, expected in (
        ("r2", a["R2"]),
        ("qe_full", a["QE_f"]),
        ("qe_reduced", a["QE_r"]),
        ("tau2_full", a["tau2_f"]),
        ("tau2_reduced", a["tau2_r"]),
    ):
        _close(getattr(lrt, name), expected, {"rel": RTOL_ITER, "abs": 1e-8}, name)
    # the order of the arguments does not matter (as metafor's anova)
    swapped = metaacu.likelihood_ratio_test(reduced, full)
    assert swapped.statistic == lrt.statistic and swapped.full == lrt.full
    frame = lrt.to_frame()
    assert list(frame["model"]) == ["full", "reduced"] and frame["statistic"].iloc[1] == lrt.statistic


def test_likelihood_ratio_test_refusals() -> None:
    ml = {m: _fit_mods(m, "ML") for m in ("1", "ablat", "year", "year+alloc")}
    with pytest.raises(MetaacuInputError, match="both models have 3 parameters"):
        metaacu.likelihood_ratio_test(ml["ablat"], ml["year"])  # not nested, and no fewer parameters
    with pytest.raises(MetaacuInputError, match="not nested"):
        metaacu.likelihood_ratio_test(ml["year+alloc"], ml["ablat"])
    with pytest.raises(MetaacuInputError, match="one model is fitted by ML and the other by REML"):
        metaacu.likelihood_ratio_test(ml["ablat"], _fit_mods("1", "REML"))
    with pytest.raises(MetaacuInputError, match="common-effect"):
        metaacu.likelihood_ratio_test(_fit_mods("ablat+year", "EE"), ml["1"])
    with pytest.raises(MetaacuInputError, match="method='DL', which has no likelihood"):
        metaacu.likelihood_ratio_test(ml["ablat"], _fit_mods("1", "DL"))
    y, v, _ = _regression_data()
    with pytest.raises(MetaacuInputError, match="not fitted to the same yi and vi"):
        metaacu.likelihood_ratio_test(ml["ablat"], metaacu.meta_analysis(y[:-1], v[:-1], method="ML"))
    with pytest.raises(MetaacuInputError, match="not fitted to the same yi and vi"):
        metaacu.likelihood_ratio_test(ml["ablat"], metaacu.meta_analysis(y, 2 * v, method="ML"))


def test_likelihood_ratio_test_of_a_reparametrised_model_under_reml() -> None:
    """REML needs the same fixed effects, not the same matrix: a rescaled moderator spans the same space
    and leaves the restricted likelihood unchanged (the ½ log|XᵀX| term)."""
    y, v, frame = _regression_data()
    full = metaacu.meta_regression(y, v, frame[["ablat"]], method="REML")
    scaled = metaacu.meta_regression(y, v, frame[["ablat"]] / 10.0, method="REML")
    assert scaled.fit_statistics().loglik == pytest.approx(full.fit_statistics().loglik, rel=1e-12)
    ee = metaacu.meta_regression(y, v, frame[["ablat"]] / 10.0, method="EE")
    assert metaacu.likelihood_ratio_test(full, ee).statistic == pytest.approx(
        metaacu.likelihood_ratio_test(scaled, ee).statistic, rel=1e-10
    )


# ----------------------------------------------------------------------------- refusals and edge cases
def test_models_without_tau2_are_refused() -> None:
    d = datasets()["bcg_logrr"]
    ee = metaacu.meta_analysis(d["yi"], d["vi"], method="EE")
    with pytest.raises(MetaacuInputError, match="common-effect model has no tau2"):
        ee.tau2_se()
    with pytest.raises(MetaacuInputError, match="common-effect model has no tau2"):
        ee.heterogeneity_confint()
    y, v, frame = _regression_data()
    with pytest.raises(MetaacuInputError, match="common-effect model has no tau2"):
        metaacu.meta_regression(y, v, frame[["ablat"]], method="EE").heterogeneity_confint(kind="wald")
    one = metaacu.meta_analysis([0.3], [0.04])
    for call in (one.tau2_se, one.heterogeneity_confint):
        with pytest.raises(MetaacuInputError, match="k = 1"):
            call()
    assert ee.fit_statistics().parameters == 1  # fit statistics exist for every model


def test_interval_arguments_are_checked() -> None:
    d = datasets()["bcg_logrr"]
    dl = metaacu.meta_analysis(d["yi"], d["vi"], method="DL")
    with pytest.raises(MetaacuInputError, match="needs a model fitted by ML or REML"):
        dl.heterogeneity_confint(kind="profile_likelihood")
    with pytest.raises(MetaacuInputError, match="argument 'kind' must be one of"):
        dl.heterogeneity_confint(kind="PL")
    with pytest.raises(MetaacuInputError, match="needs the weights"):
        dl.heterogeneity_confint(kind="genq")
    with pytest.raises(MetaacuInputError, match="13 studies"):
        dl.heterogeneity_confint(kind="genq", weights=[1.0, 2.0])
    with pytest.raises(MetaacuInputError, match="weights"):
        dl.heterogeneity_confint(kind="genq", weights=-np.ones(13))
    with pytest.raises(MetaacuInputError, match="only with kind='genq'"):
        dl.heterogeneity_confint(weights=np.ones(13))
    with pytest.raises(MetaacuInputError, match="level"):
        dl.heterogeneity_confint(95)
    with pytest.raises(MetaacuInputError, match="likelihood"):
        dl.fit_statistics("REM")


def test_levels_nest_and_displays() -> None:
    d = datasets()["bcg_logrr"]
    res = metaacu.meta_analysis(d["yi"], d["vi"])
    for kind in KINDS.values():
        wide, narrow = res.heterogeneity_confint(0.99, kind=kind), res.heterogeneity_confint(0.8, kind=kind)
        assert wide.tau2_interval.low <= narrow.tau2_interval.low < res.tau2 < narrow.tau2_interval.high
        assert narrow.tau2_interval.high < wide.tau2_interval.high and wide.level == 0.99
    h = res.heterogeneity_confint(kind="profile_likelihood")
    frame = h.to_frame()
    assert list(frame["quantity"]) == ["tau2", "tau", "i2", "h2"] and frame.attrs["kind"] == "profile_likelihood"
    assert frame["ci_low"].iloc[1] == pytest.approx(math.sqrt(frame["ci_low"].iloc[0]))
    assert "profile likelihood 95%" in str(h) and "I^2(%)" in str(h) and "<HeterogeneityInterval" in repr(h)
    fs = res.fit_statistics()
    assert "AICc:" in str(fs) and list(fs.to_frame().columns)[:2] == ["likelihood", "parameters"]
    assert "<FitStatistics REML" in repr(fs)


def test_scale_equivariance() -> None:
    """Effects times c: τ² bounds and SE times c², log-likelihoods shifted by −k log c (ML) or
    −(k − p) log c (REML), deviance (ML) and likelihood-ratio statistics unchanged; c = 2^40 puts the
    variances outside the range that the fit rescales (metaacu.scaling)."""
    y, v, frame = _regression_data()
    c = 2.0**40
    for method in ("REML", "ML", "DL", "SJ"):
        a = metaacu.meta_regression(y, v, frame[["ablat"]], method=method)
        b = metaacu.meta_regression(c * y, c * c * v, frame[["ablat"]], method=method)
        assert b.tau2_se() == pytest.approx(c * c * a.tau2_se(), rel=1e-10)
        ha, hb = a.heterogeneity_confint(), b.heterogeneity_confint()
        assert hb.tau2_interval.high == pytest.approx(c * c * ha.tau2_interval.high, rel=1e-10)
        assert hb.i2_interval.low == pytest.approx(ha.i2_interval.low, rel=1e-10)
        for likelihood, n in (("ML", a.k), ("REML", a.k - a.p)):
            fa, fb = a.fit_statistics(likelihood), b.fit_statistics(likelihood)
            assert fb.loglik == pytest.approx(fa.loglik - n * math.log(c), rel=1e-12)
        assert b.fit_statistics("ML").deviance == pytest.approx(a.fit_statistics("ML").deviance, rel=1e-10)
    ml_a = metaacu.likelihood_ratio_test(
        metaacu.meta_regression(y, v, frame[["ablat"]], method="ML"), metaacu.meta_analysis(y, v, method="ML")
    )
    ml_b = metaacu.likelihood_ratio_test(
        metaacu.meta_regression(c * y, c * c * v, frame[["ablat"]], method="ML"),
        metaacu.meta_analysis(c * y, c * c * v, method="ML"),
    )
    assert ml_b.statistic == pytest.approx(ml_a.statistic, rel=1e-10)


# ----------------------------------------------------------------------------- generalised Q
def _ruben_sf(q: float, lam: np.ndarray, terms: int = 400) -> float:
    """``P(Σ λⱼ χ²₁ > q)`` by Ruben's (1962) series of χ² distributions, an independent reference for
    metaacu's Imhof integral: ``Σ cₘ P(χ²_{r+2m} ≤ q/β)`` with ``β = 2/(1/λ_min + 1/λ_max)``,
    ``c₀ = Π(β/λⱼ)^{1/2}``, ``cₘ = (1/m) Σ_{i<m} g_{m−i} cᵢ``, ``gₘ = ½ Σⱼ (1 − β/λⱼ)^m`` (as
    CompQuadForm::farebrother, which metafor's GENQ interval uses).  It converges geometrically at the
    rate ``(λ_max − λ_min)/(λ_max + λ_min)``, fast for the weights used here."""
    beta = 2.0 / (1.0 / lam.min() + 1.0 / lam.max())
    g = np.array([0.5 * np.sum((1.0 - beta / lam) ** m) for m in range(terms)])
    coef = np.zeros(terms)
    coef[0] = np.prod(np.sqrt(beta / lam))
    for m in range(1, terms):
        coef[m] = np.dot(g[m:0:-1], coef[:m]) / m
    return float(1.0 - np.sum(coef * special.chdtr(lam.size + 2 * np.arange(terms), q / beta)))


@pytest.mark.parametrize("seed", range(6))
def test_weighted_chi2_against_ruben_series(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lam = rng.uniform(0.5, 3.0, int(rng.integers(2, 15)))
    for q in np.quantile(rng.chisquare(1, (20000, lam.size)) @ lam, [0.01, 0.2, 0.5, 0.8, 0.975, 0.999]):
        assert weighted_chi2_sf(float(q), lam) == pytest.approx(_ruben_sf(float(q), lam), abs=1e-12)


def test_weighted_chi2_special_cases() -> None:
    assert weighted_chi2_sf(3.0, np.full(4, 0.5)) == pytest.approx(float(special.chdtrc(4, 6.0)), rel=1e-14)
    assert weighted_chi2_sf(2.0, np.array([2.0, 0.0])) == pytest.approx(float(special.chdtrc(1, 1.0)), rel=1e-14)
    # nearly equal weights go through the integral and agree with the χ² limit
    assert weighted_chi2_sf(4.0, np.array([1.0, 1.0, 1.0, 1.0 + 1e-9])) == pytest.approx(
        float(special.chdtrc(4, 4.0)), abs=1e-9
    )
    assert weighted_chi2_sf(0.0, np.array([1.0, 2.0])) == 1.0 and weighted_chi2_sf(1.0, np.zeros(2)) == 0.0


@pytest.mark.parametrize("name", ["k8_equalv", "k3_equalv", "k4_identical_v"])
def test_generalised_q_with_equal_variances_is_the_q_profile(name: str) -> None:
    """Equal vᵢ and equal weights: ``Q_a/(v + τ²) ~ χ²_{k−p}`` exactly, so the generalised-Q interval is
    the Q-profile interval (Jackson 2013, section 3)."""
    d = datasets()[name]
    res = metaacu.meta_analysis(d["yi"], d["vi"])
    for level in (0.95, 0.8):
        g = res.heterogeneity_confint(level, kind="genq", weights=np.full(res.k, 3.0)).tau2_interval
        q = res.tau2_confint(level)
        assert (g.low, g.high) == pytest.approx((q.low, q.high), rel=1e-9, abs=1e-12)
        assert g.method == "generalised Q"
    x = np.arange(res.k, dtype=float)
    reg = metaacu.meta_regression(d["yi"], d["vi"], x)
    g = reg.heterogeneity_confint(kind="genq", weights=np.ones(res.k)).tau2_interval
    assert (g.low, g.high) == pytest.approx(tuple(reg.tau2_confint()), rel=1e-9, abs=1e-12)


def test_generalised_q_bounds_solve_their_equations() -> None:
    """With unequal variances: at each bound, ``P(Q_a > q_obs; τ²)`` equals its tail probability, the
    distribution evaluated by an independent series (Ruben 1962)."""
    d = datasets()["bcg_logrr"]
    y, v = np.array(d["yi"]), np.array(d["vi"])
    a = 1.0 / np.sqrt(v)
    h = metaacu.meta_analysis(y, v).heterogeneity_confint(kind="genq", weights=a)
    pa = np.diag(a) - np.outer(a, a) / a.sum()
    q_obs = float(y @ pa @ y)
    for bound, target in ((h.tau2_interval.low, 0.025), (h.tau2_interval.high, 0.975)):
        s = np.sqrt(v + bound)
        lam = np.linalg.eigvalsh(s[:, None] * pa * s[None, :])[1:]
        assert _ruben_sf(q_obs, lam, terms=3000) == pytest.approx(target, abs=1e-9)
    assert h.tau2_interval.low < metaacu.meta_analysis(y, v).tau2 < h.tau2_interval.high


def test_generalised_q_null_interval() -> None:
    """Effects closer together than their variances allow at τ² = 0: both bounds 0, with a note."""
    d = datasets()["k7_Qbelowdf"]
    res = metaacu.meta_analysis(d["yi"], d["vi"])
    h = res.heterogeneity_confint(kind="genq", weights=1.0 / np.array(d["vi"]))
    assert (h.tau2_interval.low, h.tau2_interval.high) == (0.0, 0.0) and h.notes
    assert (h.i2_interval.low, h.h2_interval.high) == (0.0, 1.0)


def test_the_regression_path_agrees_with_the_intercept_only_one() -> None:
    """An intercept-only model given as a one-column model matrix: the design-matrix formulas (Q-profile,
    SE, fit statistics) agree with the intercept-only ones."""
    d = datasets()["hackshaw1998"]
    y, v = np.array(d["yi"]), np.array(d["vi"])
    for method in ("REML", "DL", "SJ", "HE"):
        ma = metaacu.meta_analysis(y, v, method=method)
        reg = metaacu.meta_regression(y, v, np.ones(y.size), intercept=False, method=method)
        assert reg.tau2 == pytest.approx(ma.tau2, rel=RTOL_ITER)
        assert reg.tau2_se() == pytest.approx(ma.tau2_se(), rel=RTOL_ITER)
        assert tuple(reg.tau2_confint()) == pytest.approx(tuple(ma.tau2_confint()), rel=RTOL_ITER)
        assert reg.fit_statistics().loglik == pytest.approx(ma.fit_statistics().loglik, rel=RTOL_ITER)
    fs = metaacu.meta_analysis(y, v).fit_statistics()
    assert fs.loglik == pytest.approx(metaacu.meta_analysis(y, v).fit_statistics("REML").loglik, rel=RTOL_PATHS)
