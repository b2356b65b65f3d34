"""The further τ² estimators and options against metafor (tracker issue 14, item 4): PMM, HSk, SJIT,
DLIT, GENQ with user weights, user weights for the pooled estimate, a τ² fixed by the user, the
aliases FE/CE, and the Henmi-Copas interval.

Reference numbers: ``tests/reference/metafor_estimators.json``, written by
``tests/reference/make_fixtures_estimators.R`` (metafor 3.8-1 at threshold = tol = 1e-12) on dat.bcg,
dat.normand1999, dat.lee2004 and five simulated or hand-made datasets (k = 2, k = 8, k = 25, τ² = 0 on
the boundary, and one where SJIT does not converge).  DLIT: metafor 3.8-1's update has another fixed
point than the current release's (see the R script); the reference is the current update, written out
in the script, and the identity DLIT = PM (both solve Q(τ²) = k − 1).
"""

from __future__ import annotations

import math
import warnings
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import metaacu
import metaacu.fitting
from metaacu import MetaacuInputError
from metaacu.fitstats import fit_statistics
from metaacu.henmi import henmi_copas
from metaacu.kernels_extra import chi2_median

from tolerances import ATOL_TAU2_ITER, BOUNDARY_ATOL, RTOL_CLOSED, RTOL_INTEGRATE, RTOL_ITER, RTOL_PATHS, reference

ITERATIVE = {"PMM", "SJIT", "PM", "REML", "DLIT"}
FIELDS = {
    "estimate": "estimate",
    "se": "se",
    "ci_lb": "ci_low",
    "ci_ub": "ci_high",
    "zval": "statistic",
    "pval": "pvalue",
    "tau2": "tau2",
    "QE": "q",
    "I2": "i2",
    "H2": "h2",
    "s2w": "s2",
}


@cache
def _fixture() -> dict[str, Any]:
    return reference("estimators")


def _datasets() -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in _fixture()["datasets"]}


def _cases(error: bool) -> list[dict[str, Any]]:
    return [c for c in _fixture()["cases"] if (c["error"] is not None) == error]


def _case_id(c: dict[str, Any]) -> str:
    fixed = "" if c.get("tau2_fixed") is None else f"/tau2={c['tau2_fixed']}"
    return f"{c['dataset']}/{c['method']}/{c['test']}/w={c['weighting']}{fixed}"


def _user_weights(c: dict[str, Any], d: dict[str, Any]) -> np.ndarray | None:
    vi = np.array(d["vi"])
    return {"none": None, "a": np.array(d["a"]), "inverse_variance": 1.0 / vi, "equal": np.ones(vi.size)}[
        c["weighting"]
    ]


def _fit(c: dict[str, Any]) -> metaacu.MetaAnalysis:
    d = _datasets()[c["dataset"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # non-convergence, tested separately
        return metaacu.meta_analysis(
            d["yi"], d["vi"], method=c["method"], test=c["test"], weights=_user_weights(c, d), tau2=c.get("tau2_fixed")
        )


def _close(ours: float, ref: float | None, rtol: float, atol: float) -> bool:
    if ref is None:
        return True
    if math.isinf(ref) or math.isnan(ref):
        return ours == ref or (math.isnan(ours) and math.isnan(ref))
    return abs(ours - ref) <= rtol * abs(ref) + atol


def test_the_fixture_has_not_shrunk():
    fx = _fixture()
    assert fx["meta"]["metafor_version"] == "3.8.1"
    assert len(fx["datasets"]) == 8 and len(fx["cases"]) == 304 and len(fx["hc"]) == 16
    methods = {c["method"] for c in fx["cases"]}
    assert {"PMM", "HSk", "SJIT", "DLIT", "GENQ", "FE", "CE"} <= methods
    assert sum(c.get("tau2_fixed") is not None for c in fx["cases"]) == 64
    assert {d["k"] for d in fx["datasets"]} >= {2, 5, 6, 8, 25}


@pytest.mark.parametrize("case", [c for c in _cases(False) if c["method"] != "DLIT"], ids=_case_id)
def test_fit_against_metafor(case):
    res = _fit(case)
    closed = case["method"] not in ITERATIVE or case.get("tau2_fixed") is not None
    rtol = RTOL_CLOSED if closed else RTOL_ITER
    # boundary: metafor's iterations stop at tau2 ~ 1e-13 where metaacu returns 0 (SJIT: 1e-12 steps)
    atol = 1e-14 if closed else BOUNDARY_ATOL
    for ref_name, ours_name in FIELDS.items():
        ref = case[ref_name]
        if ref_name == "s2w" and case["test"] == "z":
            continue
        tol_abs = ATOL_TAU2_ITER if (ref_name == "tau2" and not closed) else atol
        ours = float(getattr(res, ours_name))
        assert _close(ours, ref, rtol, tol_abs), (ref_name, ours, ref)
    np.testing.assert_allclose(res.weights, case["weights"], rtol=rtol, atol=atol)
    assert res.method == ("EE" if case["method"] in ("FE", "CE") else case["method"])
    assert res.tau2_fixed == (case.get("tau2_fixed") is not None)
    assert (res.user_weights is None) == (case["weighting"] == "none")


@pytest.mark.parametrize(
    "case",
    [c for c in _cases(False) if c["method"] in ("PMM", "HSk", "SJIT") and c["weighting"] == "none"],
    ids=_case_id,
)
def test_standard_error_of_tau2_against_metafor(case):
    """metafor's se.tau2: HSk is k/(k − 1) times HS's; PMM and SJIT use PM's ``√(2k²/(k − 1))/Σw``."""
    res = _fit(case)
    assert res.tau2_se() == pytest.approx(case["se_tau2"], rel=RTOL_ITER if case["method"] != "HSk" else RTOL_CLOSED)


def test_standard_error_of_iterated_dl_is_pm_s():
    """metafor >= 4.5-7 gives DLIT the PM formula (3.8-1: DL's, at its other fixed point)."""
    d = _datasets()["bcg"]
    dlit, pm = (metaacu.meta_analysis(d["yi"], d["vi"], method=m) for m in ("DLIT", "PM"))
    assert dlit.tau2_se() == pytest.approx(pm.tau2_se(), rel=RTOL_ITER) and dlit.tau2_se() > 0


@pytest.mark.parametrize("case", [c for c in _fixture()["cases"] if c["method"] == "DLIT"], ids=_case_id)
def test_iterated_dl_is_the_current_update_and_the_pm_root(case):
    """The reference is metafor >= 4.5-7's update (written out in the R script); where it converges, its
    fixed point is the PM root, so the whole fit equals metafor 3.8-1's PM fit."""
    d = _datasets()[case["dataset"]]
    res = metaacu.meta_analysis(d["yi"], d["vi"], method="DLIT", test=case["test"])
    assert res.converged
    assert _close(res.tau2, case["dlit_current"], RTOL_ITER, ATOL_TAU2_ITER)
    (pm,) = (
        c
        for c in _cases(False)
        if c["dataset"] == case["dataset"] and c["method"] == "PM" and c["test"] == case["test"]
    )
    for ref_name, ours_name in FIELDS.items():
        if ref_name != "s2w" or case["test"] != "z":
            assert _close(float(getattr(res, ours_name)), pm[ref_name], RTOL_ITER, BOUNDARY_ATOL), ref_name


def test_metafor_381_iterated_dl_has_another_fixed_point():
    """Why metaacu does not follow metafor 3.8-1's DLIT: its value solves τ² = (Q(τ²) − (k − 1))/tr P(τ²),
    not the PM equation Q(τ²) = k − 1 (checked here with metaacu's own Q)."""
    checked = 0
    for case in _fixture()["cases"]:
        if case["method"] != "DLIT" or case["error"] is not None or not case["dlit_metafor381"]:
            continue
        d = _datasets()[case["dataset"]]
        y, v, t2 = np.array(d["yi"]), np.array(d["vi"]), case["dlit_metafor381"]
        q, _ = metaacu.tau2.generalised_q(y[None, :], v[None, :], np.array([t2]))
        w = 1.0 / (v + t2)
        tr_p = w.sum() - (w * w).sum() / w.sum()
        assert t2 == pytest.approx((q[0] - (y.size - 1)) / tr_p, rel=1e-8)
        assert abs(q[0] - (y.size - 1)) > 0.1  # not the PM root
        checked += 1
    assert checked >= 4


@pytest.mark.parametrize("case", [c for c in _cases(True) if c["method"] != "DLIT"], ids=_case_id)
def test_where_metafor_stops_metaacu_reports_non_convergence(case):
    """metafor 3.8-1 stops with an error (SJIT in 10000 steps); metaacu's SJIT reports non-convergence
    with a warning and its last iterate (decreasing towards the PM value 0).  (metafor 3.8-1's legacy
    DLIT also stops on two datasets: checked against the current update above.)"""
    assert case["method"] == "SJIT"
    d = _datasets()[case["dataset"]]
    with pytest.warns(RuntimeWarning, match="did not converge"):
        res = metaacu.meta_analysis(d["yi"], d["vi"], method=case["method"], test=case["test"])
    assert not res.converged and any("did not converge" in n for n in res.notes)
    assert 0 < res.tau2 < 1e-3 * np.mean(d["vi"])


@pytest.mark.parametrize("case", _fixture()["hc"], ids=lambda h: f"{h['dataset']}/{h.get('level', 0.95)}")
def test_henmi_copas_against_metafor(case):
    d = _datasets()[case["dataset"]]
    res = metaacu.meta_analysis(d["yi"], d["vi"], method="DL", level=case.get("level", 0.95))
    hc = henmi_copas(res)
    for name in ("estimate", "se", "tau2"):
        assert _close(getattr(hc, name), case[name], RTOL_CLOSED, 1e-15), name
    half_ref = 0.5 * (case["ci_ub"] - case["ci_lb"])
    assert 0.5 * (hc.ci_high - hc.ci_low) == pytest.approx(half_ref, rel=RTOL_INTEGRATE)
    assert hc.ci_low == pytest.approx(case["ci_lb"], abs=RTOL_INTEGRATE * half_ref)
    assert hc.confidence_interval.method == "Henmi-Copas"
    frame = hc.to_frame()
    assert list(frame["row_type"]) == ["model", "henmi_copas"] and frame["estimate"].iloc[0] == res.estimate
    assert "Henmi-Copas" in hc.summary() and "<table" in hc._repr_html_()


def test_henmi_copas_at_other_levels_and_bad_input():
    d = _datasets()["lee2004"]
    res = metaacu.meta_analysis(d["yi"], d["vi"])
    narrow, wide = henmi_copas(res, level=0.8), henmi_copas(res, level=0.99)  # 0.99: beyond metafor's [0, 2]
    assert wide.ci_low < narrow.ci_low < narrow.ci_high < wide.ci_high
    with pytest.raises(MetaacuInputError, match="at least 2 studies"):
        henmi_copas(metaacu.meta_analysis([0.1], [0.02]))
    with pytest.raises(MetaacuInputError, match="needs a fitted MetaAnalysis"):
        henmi_copas(d)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- exact identities
@pytest.mark.parametrize("df", [1, 2, 3, 7, 24, 99, 1000, 20000])
def test_chi2_median_of_the_kernel(df):
    # the incomplete-gamma series loses a few ulps per thousand terms (k = 20001: 1.5e-13)
    assert chi2_median(float(df)) == pytest.approx(stats.chi2.median(df), rel=1e-13 if df <= 1000 else 1e-12)


def test_estimators_in_batches_are_the_single_fits():
    d = _datasets()["bcg"]
    y, v = np.array(d["yi"]), np.array(d["vi"])
    yi = np.vstack([y, y[::-1], y[:5].tolist() + [np.nan] * 8])
    vi = np.vstack([v, v[::-1], v[:5].tolist() + [np.nan] * 8])
    for method in ("PMM", "DLIT", "SJIT", "HSk", "FE"):
        batch = metaacu.meta_analysis_batch(yi, vi, method=method, test="knha")
        for i, n in enumerate((13, 13, 5)):
            one = metaacu.meta_analysis(yi[i, :n], vi[i, :n], method=method, test="knha")
            assert batch.estimate[i] == pytest.approx(one.estimate, rel=RTOL_PATHS)
            assert batch.tau2[i] == pytest.approx(one.tau2, rel=RTOL_PATHS, abs=1e-300)


def test_options_follow_the_scale_of_the_data():
    """The fit is equivariant under y → c·y, v → c²·v, τ² → c²·τ² (extreme scales are rescaled)."""
    d = _datasets()["bcg"]
    y, v, a = np.array(d["yi"]), np.array(d["vi"]), np.array(d["a"])
    base = metaacu.meta_analysis(y, v, method="DL", weights=a, tau2=0.1, test="knha")
    c = 2.0**-300
    scaled = metaacu.meta_analysis(c * y, c * c * v, method="DL", weights=a, tau2=c * c * 0.1, test="knha")
    assert scaled.estimate == pytest.approx(c * base.estimate, rel=1e-13)
    assert scaled.se == pytest.approx(c * base.se, rel=1e-13) and scaled.tau2 == c * c * 0.1


# ----------------------------------------------------------------------------- bad input and refusals
def test_bad_weights_and_tau2_are_refused():
    y, v = [0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.01, 0.05]
    with pytest.raises(MetaacuInputError, match="same number of studies"):
        metaacu.meta_analysis(y, v, weights=[1, 2, 3])
    with pytest.raises(MetaacuInputError, match="same number of studies"):
        metaacu.meta_analysis(y, v, weights=[1, 2, 3, 4, -5], labels=list("abcd"))
    with pytest.raises(MetaacuInputError, match="'tau2' must be a number"):
        metaacu.meta_analysis(y, v, tau2=True)
    with pytest.raises(MetaacuInputError, match="'weights' must be > 0; check study index 1"):
        metaacu.meta_analysis(y, v, weights=[1, -2, 3, 4])
    with pytest.raises(MetaacuInputError, match="'weights' must be > 0; check study index 1"):
        metaacu.meta_analysis(y, v, weights=[1, 0, 3, 4])
    with pytest.raises(MetaacuInputError, match=r"'weights'.*missing or infinite"):
        metaacu.meta_analysis(y, v, weights=[1, np.nan, 3, 4])
    with pytest.raises(MetaacuInputError, match="'tau2' must be a finite number >= 0"):
        metaacu.meta_analysis(y, v, tau2=-0.1)
    with pytest.raises(MetaacuInputError, match="'tau2' must be a number"):
        metaacu.meta_analysis(y, v, tau2="REML")  # type: ignore[arg-type]
    with pytest.raises(MetaacuInputError, match="not with method='EE'"):
        metaacu.meta_analysis(y, v, method="FE", tau2=0.1)
    with pytest.raises(MetaacuInputError, match="give weights="):
        metaacu.meta_analysis(y, v, method="GENQM")
    with pytest.raises(MetaacuInputError, match="give weights="):
        metaacu.meta_analysis(y, v, method="GENQ")


def test_genq_is_refused_where_there_are_no_user_weights():
    """GENQ needs one user weight per study: batches (rows of arrays) and subgroups have none, a
    meta-regression only with weights=."""
    rng = np.random.default_rng(5)
    v = rng.uniform(0.01, 0.1, 10)
    y, x = rng.normal(0.2, np.sqrt(v + 0.02)), {"x": np.arange(10.0)}
    with pytest.raises(MetaacuInputError, match="only in meta_analysis"):
        metaacu.meta_analysis_batch(np.array([y]), np.array([v]), method="GENQ")
    with pytest.raises(MetaacuInputError, match="give weights="):
        metaacu.meta_regression(y, v, x, method="GENQ")
    with pytest.raises(MetaacuInputError, match="only in meta_analysis"):
        metaacu.subgroup_analysis(y, v, np.repeat(["a", "b"], 5), method="GENQ")
    with pytest.raises(MetaacuInputError, match="needs each study's user weight"):
        metaacu.fitting.fit_arrays(y[None, :], v[None, :], np.array([10.0]), "GENQ", "z", 0.95)
    with pytest.raises(MetaacuInputError, match="not in common-tau2 subgroups"):
        metaacu.regression.fit_design(
            y, v, np.ones((10, 1)), ("intrcpt",), method="GENQ", test="z", level=0.95, intercept=True
        )


def test_the_new_estimators_in_egger_and_common_tau2_subgroups():
    """Egger's mixed-effects test and common-τ² subgroups run the design-matrix estimators."""
    rng = np.random.default_rng(5)
    v = rng.uniform(0.01, 0.1, 12)
    y = rng.normal(0.2, np.sqrt(v + 0.02))
    for method in ("PMM", "DLIT", "SJIT", "HSk"):
        res = metaacu.meta_analysis(y, v, method=method)
        assert metaacu.egger_test(res, model="rma").method == method
        sub = metaacu.subgroup_analysis(y, v, np.repeat(["a", "b"], 6), method=method, tau2_mode="common")
        assert sub.method == method and sub.tau2_common >= 0


def test_refits_of_a_model_with_user_weights_or_a_fixed_tau2_are_refused():
    y, v = [0.1, 0.3, 0.35, 0.6, 0.2], [0.02, 0.03, 0.01, 0.05, 0.02]
    weighted = metaacu.meta_analysis(y, v, method="GENQ", weights=[1, 2, 3, 4, 5])
    fixed = metaacu.meta_analysis(y, v, tau2=0.05)
    for res, what in ((weighted, "user weights"), (fixed, "fixed by the user")):
        for fun in (metaacu.leave_one_out, metaacu.influence, metaacu.cumulative, metaacu.trim_and_fill):
            with pytest.raises(MetaacuInputError, match=what):
                fun(res)
        with pytest.raises(MetaacuInputError, match=what):
            fit_statistics(res)
    assert "user weights" in weighted.summary() and "fixed at 0.05" in fixed.summary()
    assert weighted.weights.sum() == pytest.approx(100.0) and np.allclose(
        weighted.weights, [100 / 15 * i for i in range(1, 6)]
    )


# ----------------------------------------------------------------------------- meta-regression
def _regression_id(r: dict[str, Any]) -> str:
    return f"{r['mods']}/{r['method']}/{r['test']}"


@pytest.mark.parametrize("case", _fixture()["regression"], ids=_regression_id)
def test_meta_regression_against_metafor(case):
    """The design-matrix versions of PMM, HSk, SJIT and DLIT (dat.bcg on ablat, ablat + year); DLIT
    against the current update (the R script's loop), the rest of its fit against metafor's PM fit."""
    data = _fixture()["regression_data"]
    columns = ["ablat"] if case["mods"] == "ablat" else ["ablat", "year"]
    mods = pd.DataFrame({c: data[c] for c in columns})
    res = metaacu.meta_regression(data["yi"], data["vi"], mods, method=case["method"], test=case["test"])
    ref = case
    if case["method"] == "DLIT":
        assert res.tau2 == pytest.approx(case["dlit_current"], rel=RTOL_ITER)
        (ref,) = (
            r
            for r in _fixture()["regression"]
            if r["mods"] == case["mods"] and r["method"] == "PM" and r["test"] == case["test"]
        )
    rtol = RTOL_CLOSED if case["method"] == "HSk" and case["mods"] == "ablat" else RTOL_ITER  # year: ill-conditioned
    np.testing.assert_allclose(res.estimate, ref["estimate"], rtol=rtol)
    np.testing.assert_allclose(res.se, ref["se"], rtol=rtol)
    np.testing.assert_allclose(res.statistic, ref["zval"], rtol=rtol)
    for ours, name in ((res.tau2, "tau2"), (res.qe, "QE"), (res.qm, "QM"), (res.i2, "I2"), (res.h2, "H2")):
        assert ours == pytest.approx(ref[name], rel=rtol), name
    assert res.method == case["method"] and res.converged
