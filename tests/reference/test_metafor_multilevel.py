"""Multilevel / multivariate models against metafor's ``rma.mv`` (``metafor_multilevel.json``, written by
``make_fixtures_multilevel.R``: Konstantopoulos 2011, Berkey 1998, Ishak 2007, a simulated boundary case),
the identity with the univariate meta-regression, and bad input.

Two comparisons per case: (1) at metafor's own variance estimates (``fixed=``), every formula (β̂, its
covariance, tests, log-likelihoods, predictions, BLUPs) to ``RTOL_ITER``; (2) at metaacu's optimum, the
log-likelihood is at least metafor's and the estimates agree to ``RTOL_MV`` (metafor's optimiser precision).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import metaacu
from metaacu import MetaacuInputError
from metaacu.datasets import bcg
from metaacu.multilevel import multilevel_meta_analysis
from metaacu.multilevel_compare import multilevel_likelihood_ratio_test

from tolerances import ATOL, BOUNDARY_ATOL, LOGLIK_MV, RTOL_ITER, RTOL_MV, RTOL_PROFILE_MV, reference

FIXTURE = reference("multilevel")
CASES = {c["name"]: c for c in FIXTURE["cases"]}


def test_the_case_grid_has_not_shrunk() -> None:
    assert FIXTURE["meta"]["metafor_version"] == "3.8.1"
    assert len(CASES) >= 15
    structs = {c.get("struct") for c in CASES.values()}
    assert {"UN", "CS", "HCS", "DIAG", "ID", None} <= structs


def _arguments(case: dict[str, Any]) -> dict[str, Any]:
    """The metaacu call of a fixture case (the data as recorded by the R script)."""
    x, g = np.array(case["X"]), case["groups"]
    kw: dict[str, Any] = {"method": case["method"], "test": case["test"], "dfs": case["dfs"]}
    name = case["name"]
    if name.startswith(("konstantopoulos", "simulated")):
        kw["nested"] = {"district": g[0], "school": g[1]}
    elif name == "ishak2007_study_plus_id":
        kw.update(nested={"study": g[0]}, outcome={"time": g[1]}, cluster={"study": g[2]}, struct="ID")
    else:
        kw.update(outcome={"outcome": g[0]}, cluster={"trial": g[1]}, struct=case["struct"])
    if np.all(x[:, 0] == 1):
        kw["moderators"] = x[:, 1:] if x.shape[1] > 1 else None
    else:
        kw.update(moderators=x, intercept=False)
    if "V" in case:
        kw["V"] = np.array(case["V"])
    else:
        kw["vi"] = np.array(case["vi"])
    return kw


def _reference_components(case: dict[str, Any]) -> np.ndarray:
    rho = case["rho"] if case.get("struct") not in ("DIAG", "ID") else []
    return np.array(case["sigma2"] + case["tau2"] + rho, dtype=float)


def _fit(case: dict[str, Any], fixed: bool = False) -> metaacu.MultilevelMetaAnalysis:
    kw = _arguments(case)
    if fixed:
        free = multilevel_meta_analysis(case["yi"], **kw)
        kw["fixed"] = {c.name: float(v) for c, v in zip(free.components, _reference_components(case), strict=True)}
    return multilevel_meta_analysis(case["yi"], **kw)


def _close(actual: Any, expected: Any, rtol: float, atol: float = ATOL) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=atol)


#: Cases whose metafor estimates can be held fixed: no correlation at ±1, and a UN correlation only for
#: two inner levels (metaacu's UN parametrisation cannot fix one of several correlations alone).
AT_REFERENCE = [
    n
    for n, c in CASES.items()
    if np.all(np.abs(c["rho"] if c["rho"] else [0.0]) < 1) and not (c.get("struct") == "UN" and len(c["rho"]) > 1)
]


@pytest.mark.parametrize("name", AT_REFERENCE)
def test_formulas_at_metafor_estimates(name: str) -> None:
    case = CASES[name]
    res = _fit(case, fixed=True)
    _close(res.estimate, case["beta"], RTOL_ITER)
    _close(res.se, case["se"], RTOL_ITER)
    _close(res.vcov, case["vb"], RTOL_ITER)
    _close(res.statistic, case["zval"], RTOL_ITER)
    _close(res.pvalue, case["pval"], RTOL_ITER)
    _close(res.ci_low, case["ci_lb"], RTOL_ITER)
    _close(res.ci_high, case["ci_ub"], RTOL_ITER)
    _close(res.qm, case["QM"], RTOL_ITER)
    _close(res.qm_pvalue, case["QMp"], RTOL_ITER)
    _close(res.qe, case["QE"], RTOL_ITER)
    _close(res.qe_pvalue, case["QEp"], RTOL_ITER)
    assert res.qe_df == case["QEdf"] and res.k == case["k"] and res.p == case["p"]
    if case["test"] == "t":
        _close(res.df, case["ddf"], 0.0)
    for likelihood, ref in (("ML", case["fit_ML"]), ("REML", case["fit_REML"])):
        fs = res.fit_statistics(likelihood)
        _close([fs.loglik, fs.deviance], ref[:2], RTOL_ITER)
    if "pred" in case:
        frame = res.predict(np.array(case["newmods"]), tau2_levels=case.get("tau2_levels"))
        pr = case["pred"]
        for col, key in (("pred", "pred"), ("se", "se"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub")):
            _close(frame[col], pr[key], RTOL_ITER)
        for col, key in (("pi_low", "pi_lb"), ("pi_high", "pi_ub")):
            _close(frame[col], [np.nan if v is None else v for v in pr[key]], RTOL_ITER)
    for term, ref_blup in case.get("ranef", {}).items():
        ours = res.random_effects()[term.removeprefix("~").replace("outcome | trial", "outcome | trial")]
        by_name = ours.set_index("group")
        names = [n.strip() for n in ref_blup["names"]]
        _close(by_name.loc[names, "blup"], ref_blup["intrcpt"], RTOL_ITER, atol=1e-12)
        _close(by_name.loc[names, "se"], ref_blup["se"], RTOL_ITER)
        _close(by_name.loc[names, "pi_low"], ref_blup["pi_lb"], RTOL_ITER)
        _close(by_name.loc[names, "pi_high"], ref_blup["pi_ub"], RTOL_ITER)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_optimum_matches_metafor(name: str) -> None:
    case = CASES[name]
    res = _fit(case)
    assert res.converged
    ref_ll = case["fit_REML"][0] if case["method"] == "REML" else case["fit_ML"][0]
    assert res.loglik >= ref_ll - LOGLIK_MV
    assert res.loglik - ref_ll < 1e-6  # the same optimum, not another one
    ours = np.array([c.estimate for c in res.components])
    _close(ours, _reference_components(case), RTOL_MV, atol=BOUNDARY_ATOL)
    for attr, key in (("estimate", "beta"), ("se", "se"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub"), ("vcov", "vb")):
        _close(getattr(res, attr), case[key], RTOL_MV)
    _close(res.qm, case["QM"], RTOL_MV)
    _close(res.qe, case["QE"], RTOL_ITER)
    assert res.parameters == case["parms"]
    for likelihood, ref in (("ML", case["fit_ML"]), ("REML", case["fit_REML"])):
        fs = res.fit_statistics(likelihood)
        _close([fs.loglik, fs.deviance, fs.aic, fs.bic, fs.aicc], ref, RTOL_MV, atol=1e-6)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if "confint" in c])
def test_profile_likelihood_intervals(name: str) -> None:
    case = CASES[name]
    ci = _fit(case).variance_confint()
    ref = case["confint"]
    assert len(ref) == len(ci) and [r["row"].split(".")[0].replace("^", "") for r in ref] == list(ci["kind"])
    _close(ci["ci_low"], [r["ci_lb"] for r in ref], RTOL_PROFILE_MV, atol=1e-10)
    _close(ci["ci_high"], [r["ci_ub"] for r in ref], RTOL_PROFILE_MV, atol=1e-10)
    assert ci.attrs["level"] == 0.95 and (ci["ci_low"] <= ci["estimate"]).all()


def test_a_variance_on_the_boundary_is_zero_and_reported() -> None:
    case = CASES["simulated_boundary"]
    assert case["sigma2"][1] < 1e-8  # metafor stops near 0
    res = _fit(case)
    assert res.sigma2[1] == 0.0 and res.boundary == ("sigma2[district/school]",)
    assert "boundary" in res.summary()
    assert CASES["konstantopoulos2011_reml"]["sigma2"][1] > 0 and _fit(CASES["konstantopoulos2011_reml"]).boundary == ()


def test_one_random_intercept_per_study_is_the_meta_regression() -> None:
    """With one effect per study and diagonal V the model is rma.uni's: the same REML fit (identity)."""
    d = bcg()
    yi = np.log((d.tpos / d.n1) / (d.cpos / d.n2)).to_numpy()
    vi = (1 / d.tpos - 1 / d.n1 + 1 / d.cpos - 1 / d.n2).to_numpy()
    for method in ("REML", "ML"):
        reg = metaacu.meta_regression(yi, vi, d[["ablat"]], method=method)
        ml = multilevel_meta_analysis(yi, vi, d[["ablat"]], nested={"trial": d.trial.to_numpy()}, method=method)
        _close(ml.sigma2, [reg.tau2], 1e-8)
        _close(ml.estimate, reg.estimate, 1e-8)
        _close(ml.se, reg.se, 1e-8)
        _close(ml.qe, reg.qe, 1e-10)
        _close(ml.qm, reg.qm, 1e-8)
        assert ml.fit_statistics().loglik == pytest.approx(reg.fit_statistics().loglik, rel=1e-10)
        pa = metaacu.meta_analysis(yi, vi, method=method)
        one = multilevel_meta_analysis(yi, vi, nested={"trial": d.trial.to_numpy()}, method=method)
        _close([one.sigma2[0], one.estimate[0], one.se[0]], [pa.tau2, pa.estimate, pa.se], 1e-8)


def test_v_may_be_dense_sparse_or_blocks() -> None:
    case = CASES["berkey1998_un"]
    kw = _arguments(case)
    v = kw.pop("V")
    dense = multilevel_meta_analysis(case["yi"], V=v, **kw)
    blocks = [v[i : i + 2, i : i + 2] for i in range(0, v.shape[0], 2)]
    for other in (sparse.csr_matrix(v), blocks):
        res = multilevel_meta_analysis(case["yi"], V=other, **kw)
        _close(res.estimate, dense.estimate, 1e-12)
        _close(res.tau2, dense.tau2, 1e-12)
    assert dense.blocks == 5 and dense.largest_block == 2
    assert set(dense.to_frame().columns) >= {"term", "estimate", "se", "pvalue", "ci_low", "ci_high"}
    assert dense.variance_frame().shape[0] == 3 and "tau2[AL]" in str(dense)


def _data() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.6, 0.2, 0.1],
            "vi": [0.02, 0.03, 0.02, 0.04, 0.02, 0.03, 0.05, 0.02],
            "district": ["a", "a", "b", "b", "c", "c", "d", "d"],
            "school": ["1", "2", "1", "2", "1", "2", "1", "2"],
            "one": ["x"] * 8,
        }
    )


def test_data_columns_give_the_same_fit() -> None:
    d = _data()
    a = multilevel_meta_analysis("yi", "vi", data=d, nested=["district", "school"])
    b = multilevel_meta_analysis(d.yi, d.vi, nested={"district": d.district, "school": d.school})
    assert a.components == b.components and np.array_equal(a.estimate, b.estimate)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"V": np.array([[0.02, 0.01], [0.0, 0.03]]), "nested": ["district"]}, "'V' is not symmetric"),
        ({"V": np.ones((3, 3)), "nested": ["district"]}, "'V' must be 8 x 8"),
        (
            {"V": np.kron(np.eye(4), np.array([[0.02, 0.05], [0.05, 0.02]])), "nested": ["district"]},
            r"'V' is not positive definite: the block of effects \(row indices\) 0, 1$",
        ),
        ({"V": np.eye(8) * 0.02, "vi": "vi", "nested": ["district"]}, "exactly one of 'vi'"),
        ({"nested": ["district", "nope"]}, "'nested': 'data' has no column 'nope'"),
        ({"nested": ["one"]}, "single group"),
        ({"nested": ["district", "school", "yi"]}, "not identifiable"),
        ({"outcome": "school", "cluster": "one"}, "single cluster"),
        ({"outcome": "one", "cluster": "district", "struct": "UN"}, "needs at least two"),
        ({"outcome": "school", "cluster": "district", "struct": "XX"}, "'struct'"),
        ({"nested": ["district"], "fixed": {"tau2": 1.0}}, "'fixed': no variance component 'tau2'"),
        ({"nested": ["district"], "method": "DL"}, "'method'"),
        ({}, "no random effects"),
    ],
)
def test_bad_input_names_the_argument(kwargs: dict[str, Any], match: str) -> None:
    d = _data()
    kw = {"vi": "vi", **kwargs}
    if "V" in kw and kw.get("vi") == "vi" and "vi" not in kwargs:
        kw.pop("vi")
    if isinstance(kw.get("V"), np.ndarray) and kw["V"].shape == (2, 2):
        kw["V"] = np.kron(np.eye(4), kw["V"])
    with pytest.raises(MetaacuInputError, match=match):
        multilevel_meta_analysis("yi", data=d, **kw)


def test_more_parameters_than_effects_is_refused() -> None:
    d = _data().iloc[:4]
    with pytest.raises(MetaacuInputError, match="more than the k = 4 effects"):
        multilevel_meta_analysis(
            "yi",
            "vi",
            data=d,
            outcome="school",
            cluster="district",
            struct="UN",
            moderators=np.array([1.0, 2.0, 4.0, 3.0]),
        )


def test_displays_and_fixed_components() -> None:
    case = CASES["berkey1998_un"]
    res = _fit(case)
    text = res.summary()
    assert "rho[PD,AL]" in text and "converged" in text and "QE(8)" in text
    assert "<pre>" in res._repr_html_() and repr(res).startswith("<MultilevelMetaAnalysis REML/z k=10")
    assert list(res.random_effects()) == ["outcome | trial"]
    kw = _arguments(case)
    held = multilevel_meta_analysis(case["yi"], **kw, fixed={"rho[PD,AL]": 0.5})
    assert held.parameters == res.parameters - 1 and held.rho[0] == pytest.approx(0.5, rel=1e-15)
    assert held.loglik < res.loglik
    frame = res.predict(np.eye(2))  # two tau2 values and no tau2_levels: no prediction interval (metafor)
    assert frame["pi_low"].isna().all() and frame["ci_low"].notna().all()
    with pytest.raises(MetaacuInputError, match="'tau2_levels': unknown level 'XX'"):
        res.predict(np.eye(2), tau2_levels=["AL", "XX"])


def _lrt_models(name: str) -> tuple[metaacu.MultilevelMetaAnalysis, metaacu.MultilevelMetaAnalysis]:
    if name == "konstantopoulos2011_reml_vs_district":
        case = CASES["konstantopoulos2011_reml"]
        kw = _arguments(case)
        reduced = multilevel_meta_analysis(case["yi"], **{**kw, "nested": {"district": case["groups"][0]}})
        return _fit(case), reduced
    if name == "berkey1998_un_vs_cs":
        return _fit(CASES["berkey1998_un"]), _fit(CASES["berkey1998_cs"])
    full = CASES["berkey1998_un_year_ml"]
    kw = _arguments(full)
    return _fit(full), multilevel_meta_analysis(full["yi"], **{**kw, "moderators": np.eye(2)[[0, 1] * 5]})


@pytest.mark.parametrize("ref", FIXTURE["likelihood_ratio_tests"], ids=lambda r: r["name"])
def test_likelihood_ratio_tests(ref: dict[str, Any]) -> None:
    full, reduced = _lrt_models(ref["name"])
    for lrt in (multilevel_likelihood_ratio_test(full, reduced), multilevel_likelihood_ratio_test(reduced, full)):
        assert lrt.df == ref["df"]
        _close(lrt.statistic, ref["LRT"], RTOL_MV, atol=1e-7)
        _close(lrt.pvalue, ref["pval"], RTOL_MV)
        f, r = lrt.full, lrt.reduced
        _close([f.loglik, f.deviance, f.aic, f.bic, f.aicc], ref["fit_full"], RTOL_MV, atol=1e-6)
        _close([r.loglik, r.deviance, r.aic, r.bic, r.aicc], ref["fit_reduced"], RTOL_MV, atol=1e-6)
    assert "LRT" in str(lrt) and lrt.to_frame().shape[0] == 2


def test_likelihood_ratio_test_refuses_models_it_cannot_compare() -> None:
    un, cs = _fit(CASES["berkey1998_un"]), _fit(CASES["berkey1998_cs"])
    ml = _fit(CASES["berkey1998_un_year_ml"])
    with pytest.raises(MetaacuInputError, match="ML and the other by REML"):
        multilevel_likelihood_ratio_test(un, ml)
    with pytest.raises(MetaacuInputError, match="same yi and V"):
        multilevel_likelihood_ratio_test(un, _fit(CASES["konstantopoulos2011_reml"]))
    with pytest.raises(MetaacuInputError, match="both models have 5 parameters"):
        multilevel_likelihood_ratio_test(un, un)
    case = CASES["berkey1998_cs"]
    kw = _arguments(case)
    year = multilevel_meta_analysis(case["yi"], **{**kw, "moderators": np.array(CASES["berkey1998_un_year_ml"]["X"])})
    with pytest.raises(MetaacuInputError, match="different fixed effects"):
        multilevel_likelihood_ratio_test(year, un)
    assert cs.parameters == 4


def test_numeric_levels_are_ordered_as_numbers() -> None:
    """R's factor() orders numeric levels numerically: 2 before 10 (as strings '10' < '2')."""
    d = _data()
    d["time"] = [2, 10, 2, 10, 2, 10, 2, 10]
    res = multilevel_meta_analysis("yi", "vi", data=d, outcome="time", cluster="district", struct="DIAG")
    assert res.inner_levels == ("2", "10") and [c.name for c in res.components] == ["tau2[2]", "tau2[10]"]


def test_the_fallback_optimiser_reaches_the_same_optimum(monkeypatch: pytest.MonkeyPatch) -> None:
    """With Fisher scoring cut off after two iterations, L-BFGS-B (exact score) finishes the fit."""
    import metaacu.multilevel_fit as fit

    case = CASES["berkey1998_un"]
    reference_fit = _fit(case)
    monkeypatch.setattr(fit, "MAX_ITER", 2)
    res = _fit(case)
    assert res.converged and res.iterations > 2
    assert res.loglik == pytest.approx(reference_fit.loglik, abs=1e-9)
    _close([c.estimate for c in res.components], [c.estimate for c in reference_fit.components], 1e-4)
