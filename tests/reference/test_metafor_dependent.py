"""The pieces around dependent effect sizes against metafor and clubSandwich (tracker issue 17, items
2-5): sampling covariances (Gleser & Olkin 2009 shared-control and multiple-endpoint formulas, metafor's
``vcalc``), cluster-robust inference (metafor ``robust``: CR0, CR1; clubSandwich CR2 with Satterthwaite
df and the HTZ Wald test), permutation tests (``permutest``, exact and seeded random), moderators by
formula and Wald tests of coefficient subsets and contrasts (``anova(res, btt=)``, ``anova(res, X=)``).

Reference numbers: ``tests/reference/metafor_dependent.json``, written by
``tests/reference/make_fixtures_dependent.R`` (metafor 3.8-1 at threshold = tol = 1e-12, clubSandwich;
versions in its ``meta`` block).  Published values (Gleser & Olkin 2009, pp. 361-367) are checked to
half a unit of the printed digit.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest

import metaacu
from metaacu import MetaacuInputError
from metaacu.hypotheses import wald_test
from metaacu.permutation import permutation_test
from metaacu.robust import cluster_robust
from metaacu.vcov import (
    check_covariance,
    multiple_outcome_smd_covariance,
    shared_control_covariance,
    vcalc,
)
from metaacu.working_model import WorkingModel, working_model

from tolerances import ATOL, MC_SIGMAS, RTOL_CLOSED, RTOL_ITER, RTOL_PATHS, reference

# RTOL_CLOSED: covariance formulas and GLS on them (closed forms).  RTOL_ITER: anything resting on a
# fitted τ̂² and the meta-regressions on `year` (ill-conditioned beside an intercept: both sides lose
# digits even for closed-form estimators).  Exact permutation p-values are ratios of counts: equal.


@cache
def fixture() -> dict[str, Any]:
    return reference("dependent")


def _close(actual: Any, expected: Any, rel: float, what: str) -> None:
    exp = np.asarray([np.nan if e is None else e for e in np.ravel(expected)], dtype=float).reshape(np.shape(expected))
    if exp.size == 1:  # metafor gives one df for all coefficients of robust(): metaacu one per coefficient
        exp = np.broadcast_to(exp.reshape(-1)[0], np.shape(actual))
    assert np.asarray(actual, dtype=float) == pytest.approx(exp, rel=rel, abs=ATOL, nan_ok=True), what


def test_fixture_grid_has_not_shrunk() -> None:
    fx = fixture()
    assert fx["meta"]["metafor_version"] == "3.8.1"
    assert len(fx["gleser"]) == 6 and len(fx["vcalc"]) == 4
    assert len(fx["robust"]) == 5 and len(fx["wald_htz"]) == 3
    assert sum(c["exact"] for c in fx["permutest"]) == 5 and sum(not c["exact"] for c in fx["permutest"]) == 2
    assert len(fx["formula"]) == 2


# ----------------------------------------------------------------------------- V
def _gleser_v(g: dict[str, Any]) -> metaacu.vcov.SamplingCovariance:
    if g["name"] == "multiple_endpoint_SMD":
        return multiple_outcome_smd_covariance(g["yi"], g["vi"], g["study"], n1=g["n1i"], n2=g["n2i"], rho=g["ri"])
    if g["measure"] == "SMD":  # the shared control is group 2 in the chapter's SMD example
        return shared_control_covariance("SMD", g["vi"], g["study"], n_control=g["n2i"], yi=g["yi"], n_total=g["Ni"])
    return shared_control_covariance(g["measure"], g["vi"], g["study"], n_control=g["n1i"], events_control=g["ai"])


def _gls(y: Any, v: Any, x: Any) -> tuple[Any, Any, float]:
    w = np.linalg.inv(v)
    vb = np.linalg.inv(x.T @ w @ x)
    b = vb @ x.T @ w @ y
    r = y - x @ b
    return b, vb, float(r @ w @ r)


@pytest.mark.parametrize("g", fixture()["gleser"], ids=lambda g: g["name"])
def test_gleser_olkin_covariance(g: dict[str, Any]) -> None:
    cov = _gleser_v(g)
    _close(cov.to_dense(), g["V"], RTOL_CLOSED, "V")
    _close(cov.to_sparse().toarray(), g["V"], RTOL_CLOSED, "sparse V")
    # the common-effect multivariate model on V (GLS) reproduces metafor's rma.mv(method = "EE")
    groups = g.get("trt", g.get("outcome"))
    levels = sorted(set(groups))
    x = np.array([[float(t == lv) for lv in levels] for t in groups])
    b, vb, qe = _gls(np.array(g["yi"]), cov.to_dense(), x)
    _close(b, g["ee_beta"], RTOL_CLOSED, "beta")
    _close(vb, g["ee_vcov"], RTOL_CLOSED, "vcov")
    _close(qe, g["ee_QE"], RTOL_CLOSED, "QE")


def test_gleser_olkin_published_values() -> None:
    """Gleser & Olkin (2009): risk differences p. 361 (eqs. 19.6, 19.7: estimates and 10⁶ × covariance),
    log odds ratios p. 363, SMDs p. 367 (estimates, covariance)."""
    by = {g["name"]: g for g in fixture()["gleser"]}
    expected = {
        "multiple_treatment_RD": ([0.0200, 0.0043, 0.0211], 4, [[24.612, 19.954, 13.323], [19.954, 28.538, 13.255],
                                                                [13.323, 13.255, 69.806]], 1e6, 3),
        "multiple_treatment_OR": ([0.5099, 0.0044, 0.4301], 4, [[0.01412, 0.00712, 0.00425],
                                                                [0.00712, 0.01178, 0.00455],
                                                                [0.00425, 0.00455, 0.02703]], 1.0, 5),
        "multiple_treatment_SMD": ([2.374, 1.570], 3, [[0.02257, 0.01244], [0.01244, 0.03554]], 1.0, 5),
    }  # fmt: skip
    for name, (beta, bd, vc, scale, vd) in expected.items():
        g = by[name]
        x = np.array([[float(t == lv) for lv in sorted(set(g["trt"]))] for t in g["trt"]])
        b, vb, _ = _gls(np.array(g["yi"]), _gleser_v(g).to_dense(), x)
        assert np.abs(b - beta).max() <= 0.5 * 10**-bd, name
        assert np.abs(vb * scale - np.array(vc)).max() <= 0.5 * 10**-vd + 1e-12, name


@pytest.mark.parametrize("c", fixture()["vcalc"], ids=lambda c: c["name"])
def test_vcalc(c: dict[str, Any]) -> None:
    if "obs" in c:
        rho = c["rho"] if "rho" in c else c["rho_matrix"]
        cov = vcalc(c["vi"], c["study"], obs=c["obs"], rho=rho, rho_levels=c.get("rho_levels"))
    else:
        cov = vcalc(c["vi"], c["study"], grp1=c["grp1"], grp2=c["grp2"], w1=c["w1"], w2=c["w2"])
    _close(cov.to_dense(), c["V"], RTOL_CLOSED, "V")
    assert np.diag(cov.correlation()) == pytest.approx(1.0)
    frame = cov.to_frame()
    assert len(frame) == sum(r.size * (r.size + 1) // 2 for r in cov.rows) and frame.attrs["formula"] == cov.formula
    assert "rho" in cov.assumption or "shared groups" in cov.assumption
    assert "Assumption:" in str(cov)


def test_shared_control_md_is_vcalc_with_equal_sds() -> None:
    """MD: sd²/n_c equals vcalc's shared-group covariance when every arm has the control's SD (exact)."""
    sd, nc, nt = 2.0, np.array([40.0, 40, 40, 25, 25]), np.array([30.0, 35, 20, 50, 45])
    vi = sd**2 * (1 / nt + 1 / nc)
    study = [1, 1, 1, 2, 2]
    md = shared_control_covariance("MD", vi, study, n_control=nc, sd_control=np.full(5, sd))
    vc = vcalc(vi, study, grp1=[1, 2, 3, 1, 2], grp2=[0] * 5, w1=nt, w2=nc)
    assert md.to_dense() == pytest.approx(vc.to_dense(), rel=RTOL_CLOSED)
    assert md.to_dense()[0, 1] == pytest.approx(sd**2 / 40, rel=RTOL_CLOSED)


# ----------------------------------------------------------------------------- robust
def _bcg_fit(mods: str | None, method: str) -> Any:
    rd = fixture()["robust_data"]
    if mods is None:
        return metaacu.meta_analysis(rd["yi"], rd["vi"], method=method)
    cols = [s.strip() for s in mods.split("+")]
    return metaacu.meta_regression(rd["yi"], rd["vi"], pd.DataFrame({c: rd[c] for c in cols}), method=method)


@pytest.mark.parametrize("c", fixture()["robust"], ids=lambda c: c["name"])
@pytest.mark.parametrize("estimator", ["CR0", "CR1", "CR2"])
def test_robust(c: dict[str, Any], estimator: str) -> None:
    rd = fixture()["robust_data"]
    fit = _bcg_fit(c["mods"], c["method"])
    r = cluster_robust(fit, rd[c["cluster"]], estimator=estimator)
    ref = c[estimator]
    for mine, theirs in [("se", "se"), ("statistic", "zval"), ("pvalue", "pval"), ("df", "dfs"), ("ci_low", "ci_lb"),
                         ("ci_high", "ci_ub"), ("vcov", "vb")]:  # fmt: skip
        _close(getattr(r, mine), ref[theirs], RTOL_ITER, mine)
    _close([r.qm, r.qm_df, r.qm_df2, r.qm_pvalue], [ref["QM"], *ref["QMdf"], ref["QMp"]], RTOL_ITER, "QM")
    assert r.n_clusters == len(set(rd[c["cluster"]]))
    assert list(r.to_frame()["term"]) == list(r.coef_names) and estimator in str(r)


@pytest.mark.parametrize("w", fixture()["wald_htz"], ids=lambda w: w["name"])
def test_robust_htz_wald_test(w: dict[str, Any]) -> None:
    r = cluster_robust(_bcg_fit("ablat + year", "REML"), fixture()["robust_data"]["cl"], estimator="CR2")
    f, df1, df2, p = r.wald_test(w["C"])
    _close([f, df1, df2, p], [w["Fstat"], w["df_num"], w["df_denom"], w["p_val"]], RTOL_ITER, "HTZ")
    t = wald_test(r, contrasts=w["C"])  # the same test through wald_test, with per-row Satterthwaite df
    assert t.qm_test == "HTZ" and t.qm == pytest.approx(f, rel=RTOL_CLOSED)
    if len(w["C"]) == 1:  # one constraint: HTZ is the Satterthwaite t test squared
        assert t.df[0] == pytest.approx(df2, rel=RTOL_CLOSED) and t.statistic[0] ** 2 == pytest.approx(f, rel=1e-10)


# ----------------------------------------------------------------------------- permutest
def _perm_fit(c: dict[str, Any]) -> Any:
    rd, rows = fixture()["robust_data"], np.array(c["rows"], dtype=int) - 1
    y, v = np.array(rd["yi"])[rows], np.array(rd["vi"])[rows]
    if c["mods"] is None:
        return metaacu.meta_analysis(y, v, method=c["method"], test=c["test"])
    cols = {"ablat": ["ablat"], "ablat + year": ["ablat", "year"], "factor(alloc)": ["alloc"]}[c["mods"]]
    mods = pd.DataFrame({col: np.array(rd[col])[rows] for col in cols})
    return metaacu.meta_regression(y, v, mods, method=c["method"], test=c["test"])


EXACT = [c for c in fixture()["permutest"] if c["exact"]]
RANDOM = [c for c in fixture()["permutest"] if not c["exact"]]


@pytest.mark.parametrize("c", EXACT, ids=lambda c: c["name"])
def test_permutest_exact(c: dict[str, Any]) -> None:
    fit = _perm_fit(c)
    r = permutation_test(fit, exact=True)
    assert r.exact and r.iterations == int(c["iter"]) and r.seed is None
    _close(r.statistic, c["zval"], RTOL_ITER, "observed statistic")
    n = r.iterations  # p-values are counts over n: equal to metafor's to rounding of the ratio
    assert np.round(r.pvalue * n) == pytest.approx(np.round(np.array(c["pval"]) * n))
    assert round(r.qm_pvalue * n) == round(c["QMp"] * n)


@pytest.mark.parametrize("c", RANDOM, ids=lambda c: c["name"])
def test_permutest_random_within_monte_carlo_error(c: dict[str, Any]) -> None:
    fit = _perm_fit(c)
    iters = 2000
    r = permutation_test(fit, iterations=iters, seed=20261702)
    assert not r.exact and r.iterations == iters and r.statistic_permuted.shape[0] == iters
    n_r = int(c["iter"])
    for mine, theirs in zip([*r.pvalue, r.qm_pvalue], [*c["pval"], c["QMp"]], strict=True):
        pbar = max((mine * iters + theirs * n_r) / (iters + n_r), 1.0 / (iters + n_r))
        assert abs(mine - theirs) <= MC_SIGMAS * math.sqrt(pbar * (1 - pbar) * (1 / iters + 1 / n_r))
    # deterministic: the same seed gives the same draws, another seed others
    one, again = (permutation_test(fit, iterations=40, seed=3) for _ in range(2))
    assert np.array_equal(again.statistic_permuted, one.statistic_permuted) and again.qm_pvalue == one.qm_pvalue
    other = permutation_test(fit, iterations=40, seed=7)
    assert not np.array_equal(other.statistic_permuted, one.statistic_permuted)


def test_permutest_counts_and_defaults() -> None:
    c = EXACT[0]
    fit = _perm_fit(c)
    r = permutation_test(fit, iterations=1000)  # 2^8 = 256 <= 1000: exact without asking, as metafor
    assert r.exact and r.iterations == 256 and r.statistic_permuted[0, 0] == pytest.approx(fit.statistic)
    assert "exact" in str(r) and list(r.to_frame()["term"]) == ["intercept"]


# ----------------------------------------------------------------------------- formula, btt, contrasts
def _bcg_frame() -> pd.DataFrame:
    rd = fixture()["robust_data"]
    return pd.DataFrame({k: rd[k] for k in ("yi", "vi", "ablat", "year", "alloc")})


@pytest.mark.parametrize("c", fixture()["formula"], ids=lambda c: c["name"])
def test_formula_meta_regression(c: dict[str, Any]) -> None:
    df = _bcg_frame()
    fit = metaacu.meta_regression("yi", "vi", "ablat + I(year - 1960) + factor(alloc)", data=df, test=c["test"])
    assert fit.coef_names == (
        "intercept",
        "ablat",
        "I(year - 1960)",
        "factor(alloc)[random]",
        "factor(alloc)[systematic]",
    )
    for mine, theirs in [("estimate", "beta"), ("se", "se"), ("statistic", "zval"), ("pvalue", "pval"),
                         ("ci_low", "ci_lb"), ("ci_high", "ci_ub")]:  # fmt: skip
        _close(getattr(fit, mine), c[theirs], RTOL_ITER, mine)
    _close([fit.tau2, fit.qm, fit.qm_pvalue], [c["tau2"], c["QM"], c["QMp"]], RTOL_ITER, "tau2/QM")
    # the same model from the moderator table (design.py's dummy coding) and with C() and a leading ~
    mods = pd.DataFrame({"ablat": df["ablat"], "y": df["year"] - 1960, "alloc": df["alloc"]})
    table = metaacu.meta_regression(df["yi"], df["vi"], mods, test=c["test"])
    assert table.estimate == pytest.approx(fit.estimate, rel=1e-9)
    again = metaacu.meta_regression("yi", "vi", "~ ablat + I(year - 1960) + C(alloc)", data=df, test=c["test"])
    assert again.estimate == pytest.approx(fit.estimate, rel=RTOL_CLOSED, abs=ATOL)
    pred = fit.predict(df.iloc[:3])
    assert pred["pred"].to_numpy() == pytest.approx(fit.fitted[:3], rel=RTOL_CLOSED)
    for a in c["anova_btt"]:
        t = wald_test(fit, coefs=[i - 1 for i in a["btt"]])
        _close([t.qm, t.qm_df, t.qm_pvalue], [a["QM"], a["QMdf"][0], a["QMp"]], RTOL_ITER, f"btt {a['btt']}")
        assert t.qm_test == ("chi2" if c["test"] == "z" else "F")
    x = c["contrasts"]
    t = wald_test(fit, contrasts=x["X"])
    for mine, theirs in [("estimate", "Xb"), ("se", "se"), ("statistic", "zval"), ("pvalue", "pval")]:
        _close(getattr(t, mine), x[theirs], RTOL_ITER, mine)
    _close([t.qm, t.qm_pvalue], [x["QM"], x["QMp"]], RTOL_ITER, "QM of contrasts")
    assert wald_test(fit, coefs="alloc").qm == pytest.approx(wald_test(fit, coefs=[3, 4]).qm)
    assert len(t.to_frame()) == 3 and "hypotheses" in str(t)


# ----------------------------------------------------------------------------- bad input
def test_bad_input_names_the_culprit() -> None:
    rd = fixture()["robust_data"]
    fit = _bcg_fit("ablat", "REML")
    with pytest.raises(MetaacuInputError, match="'cluster' has 12 values for 13"):
        cluster_robust(fit, rd["cl"][:-1])
    with pytest.raises(MetaacuInputError, match="single cluster"):
        cluster_robust(fit, [1] * 13)
    with pytest.raises(MetaacuInputError, match="2 clusters for 2 coefficients"):
        cluster_robust(fit, [1] * 6 + [2] * 7)
    with pytest.raises(MetaacuInputError, match="'estimator'"):
        cluster_robust(fit, rd["cl"], estimator="CR3")
    with pytest.raises(MetaacuInputError, match="'ablt', which is not a column"):
        metaacu.meta_regression("yi", "vi", "ablt + year", data=_bcg_frame())
    with pytest.raises(MetaacuInputError, match="no left-hand side"):
        metaacu.meta_regression("yi", "vi", "yi ~ ablat", data=_bcg_frame())
    bad = _bcg_frame()
    bad.loc[3, "ablat"] = np.nan
    with pytest.raises(MetaacuInputError, match="'ablat' of the formula has a missing value"):
        metaacu.meta_regression("yi", "vi", "ablat + year", data=bad)
    ffit = metaacu.meta_regression("yi", "vi", "ablat + C(alloc)", data=_bcg_frame())
    with pytest.raises(MetaacuInputError, match="newmods"):
        ffit.predict(pd.DataFrame({"ablat": [30.0], "alloc": ["unknown"]}))
    with pytest.raises(MetaacuInputError, match="'rho' must lie in"):
        vcalc([0.1, 0.2], [1, 1], obs=["a", "b"], rho=1.5)
    with pytest.raises(MetaacuInputError, match="not positive definite"):
        vcalc([0.1, 0.2, 0.3], [1, 1, 1], obs=["a", "b", "c"], rho=-0.9)
    with pytest.raises(MetaacuInputError, match="'V' is not positive definite"):
        check_covariance([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(MetaacuInputError, match="'V' is not symmetric"):
        check_covariance([[1.0, 0.5], [0.2, 1.0]])
    with pytest.raises(MetaacuInputError, match="'n_control' must be the same"):
        shared_control_covariance("RD", [0.01, 0.02], [1, 1], n_control=[100, 120], events_control=[10, 10])
    with pytest.raises(MetaacuInputError, match="'events_control' is 0"):
        shared_control_covariance("OR", [0.1, 0.2], [1, 1], n_control=[100, 100], events_control=[0, 0])
    with pytest.raises(MetaacuInputError, match="exactly one of 'coefs'"):
        wald_test(fit)
    with pytest.raises(MetaacuInputError, match="matches no coefficient"):
        wald_test(fit, coefs="latitude")
    with pytest.raises(MetaacuInputError, match="linearly dependent"):
        wald_test(fit, contrasts=[[0, 1], [0, 2]])
    with pytest.raises(MetaacuInputError, match="exact test needs"):
        permutation_test(metaacu.meta_analysis(np.linspace(0, 1, 30), np.full(30, 0.1)), exact=True)


# ----------------------------------------------------------------------------- the protocol and the entry points
class _Model:
    """A fitted model that states its own working model (as a multilevel result does)."""

    def __init__(self, wm: WorkingModel) -> None:
        self.wm, self.level, self.method = wm, 0.95, "REML"

    def working_model(self) -> WorkingModel:
        return self.wm


def test_working_model_protocol_matrix_covariance() -> None:
    """A model with a ``working_model()`` method and a k × k working covariance gets the same robust
    inference as the diagonal case it equals; a covariance linking clusters is refused."""
    rd = fixture()["robust_data"]
    fit = _bcg_fit("ablat", "REML")
    wm = working_model(fit)
    dense = WorkingModel(wm.yi, wm.design, wm.estimate, wm.coef_names, np.diag(wm.covariance), wm.btt)
    a, b = cluster_robust(fit, rd["cl"]), cluster_robust(_Model(dense), rd["cl"])
    assert b.se == pytest.approx(a.se, rel=RTOL_CLOSED) and b.df == pytest.approx(a.df, rel=RTOL_CLOSED)
    linked = dense.covariance.copy()
    linked[0, 12] = linked[12, 0] = 0.01
    with pytest.raises(MetaacuInputError, match="links effects of different clusters"):
        cluster_robust(_Model(WorkingModel(wm.yi, wm.design, wm.estimate, wm.coef_names, linked, wm.btt)), rd["cl"])
    with pytest.raises(MetaacuInputError, match="argument 'model'"):
        cluster_robust("not a model", rd["cl"])
    assert "<pre>" in a._repr_html_() and "CR2" in repr(a)


def test_formula_entry_points() -> None:
    df = _bcg_frame()
    rd = fixture()["robust_data"]
    from metaacu.datasets import bcg

    es = metaacu.effect_sizes("RR", data=bcg(), events1="tpos", n1="n1", events2="cpos", n2="n2")
    es_fit = metaacu.meta_regression(es, "ablat + C(alloc)", data=bcg())  # EffectSizes, formula on its data
    col_fit = metaacu.meta_regression("yi", "vi", ["ablat", "alloc"], data=df)  # column names stay columns
    assert es_fit.estimate == pytest.approx(col_fit.estimate, rel=RTOL_ITER)
    assert es_fit.coef_names[1:] == ("ablat", "C(alloc)[random]", "C(alloc)[systematic]")
    no_int = metaacu.meta_regression("yi", "vi", "ablat + C(alloc)", data=df, intercept=False)
    assert not no_int.intercept and no_int.coef_names[:2] == ("ablat", "C(alloc)[alternate]")
    assert no_int.qm_df == no_int.p  # without an intercept every coefficient is tested
    t = wald_test(metaacu.meta_analysis(rd["yi"], rd["vi"]), coefs=0)
    assert t.qm == pytest.approx(float(metaacu.meta_analysis(rd["yi"], rd["vi"]).statistic) ** 2)


def test_cr2_low_rank_algebra_equals_the_dense_arrays() -> None:
    """Satterthwaite df and the HTZ ν use P = diag(d) − KKᵀ without forming it (O(J p²)); on dat.bcg
    they equal the dense J × J computation of clubSandwich's formulas."""
    r = cluster_robust(_bcg_fit("ablat + year", "REML"), fixture()["robust_data"]["cl"], estimator="CR2")
    sw = r._sandwich
    assert sw is not None
    for i in range(r.p):
        pa = sw.p_arrays(np.eye(r.p)[i : i + 1])[0, 0]
        assert r.df[i] == pytest.approx(np.trace(pa) ** 2 / float(np.sum(pa * pa)), rel=RTOL_PATHS)
    c = np.array([[0.0, 1, 0], [0, 0, 1]])
    pa = sw.p_arrays(c)
    val, vec = np.linalg.eigh(np.einsum("stjj->st", pa))
    ons = (vec / np.sqrt(val)) @ vec.T  # the symmetric Ω^(-1/2)
    b = np.einsum("ia,abjk,bt->itjk", ons, pa, ons)
    tot = np.einsum("stjk,tsjk->st", b, b) + np.einsum("ssjk,ttjk->st", b, b)
    nu = 6 / float(tot.sum())
    assert r.wald_test(c)[2] == pytest.approx(nu - 1, rel=RTOL_PATHS)
