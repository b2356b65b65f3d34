"""Cluster-robust inference for multilevel / multivariate models against metafor's ``robust()`` of
``rma.mv`` fits (``metafor_robust_mv.json``, written by ``make_fixtures_robust_mv.R``): CR1 (metafor's
default) and CR2 (``clubSandwich = TRUE``: Satterthwaite df, HTZ Wald test) on Konstantopoulos 2011
(three-level, clusters = district) and Berkey 1998 (bivariate UN, clusters = trial), with and without
moderators.

Two comparisons per case: (1) at metafor's own variance estimates (``fixed=``), every robust statistic
to ``RTOL_ITER``; (2) at metaacu's optimum, to ``RTOL_MV`` (metafor's optimiser precision).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import metaacu
from metaacu import MetaacuInputError, cluster_robust
from metaacu.multilevel import multilevel_meta_analysis

from tolerances import ATOL, RTOL_ITER, RTOL_MV, reference

FIXTURE = reference("robust_mv")
CASES = {c["name"]: c for c in FIXTURE["cases"]}


def test_the_case_grid_has_not_shrunk() -> None:
    assert FIXTURE["meta"]["metafor_version"] == "3.8.1"
    assert set(CASES) == {"konstantopoulos2011_int", "konstantopoulos2011_year", "berkey1998_un", "berkey1998_un_year"}


def _fit(case: dict[str, Any], fixed: bool) -> metaacu.MultilevelMetaAnalysis:
    x, g = np.array(case["X"]), case["groups"]
    kw: dict[str, Any] = {"method": case["method"]}
    if case["name"].startswith("konstantopoulos"):
        kw.update(nested={"district": g["district"], "school": g["school"]}, vi=np.array(case["vi"]))
    else:
        kw.update(outcome={"outcome": g["outcome"]}, cluster={"trial": g["trial"]}, struct=case["struct"])
        kw["V"] = np.array(case["V"])
    if np.all(x[:, 0] == 1):
        kw["moderators"] = x[:, 1:] if x.shape[1] > 1 else None
    else:
        kw.update(moderators=x, intercept=False)
    free = multilevel_meta_analysis(case["yi"], **kw)
    if not fixed:
        return free
    rho = case["rho"] if case.get("struct") not in ("DIAG", "ID") else []
    ref = case["sigma2"] + case["tau2"] + rho
    kw["fixed"] = {c.name: float(v) for c, v in zip(free.components, ref, strict=True)}
    return multilevel_meta_analysis(case["yi"], **kw)


def _close(actual: Any, expected: Any, rtol: float) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=ATOL)


@pytest.mark.parametrize("fixed", [True, False], ids=["at_metafor_estimates", "at_metaacu_optimum"])
@pytest.mark.parametrize("estimator", ["CR1", "CR2"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_robust_matches_metafor(name: str, estimator: str, fixed: bool) -> None:
    case = CASES[name]
    fit = _fit(case, fixed)
    rtol = RTOL_ITER if fixed else RTOL_MV
    _close(fit.estimate, case["beta"], rtol)
    ref = case[estimator]
    r = cluster_robust(fit, case["cluster"], estimator=estimator)
    assert r.n_clusters == len(set(case["cluster"]))
    _close(r.se, ref["se"], rtol)
    _close(r.vcov, ref["vb"], rtol)
    _close(r.statistic, ref["zval"], rtol)
    _close(r.df, np.broadcast_to(ref["dfs"], (fit.p,)), rtol)  # metafor: one n - p for CR1
    _close(r.pvalue, ref["pval"], rtol)
    _close(r.ci_low, ref["ci_lb"], rtol)
    _close(r.ci_high, ref["ci_ub"], rtol)
    _close([r.qm_df, r.qm_df2], ref["QMdf"], rtol)
    _close(r.qm, ref["QM"], rtol)
    _close(r.qm_pvalue, ref["QMp"], rtol)
    assert r.qm_test == ("HTZ" if estimator == "CR2" else "F")


def test_the_working_covariance_is_kept_as_blocks() -> None:
    case = CASES["konstantopoulos2011_int"]
    fit = _fit(case, fixed=True)
    wm = fit.working_model()
    assert wm.blocks and max(idx.shape[1] for idx, _ in wm.blocks) == fit.largest_block
    assert sum(idx.size for idx, _ in wm.blocks) == fit.k
    # the blocks are M = V + sigma2_district J + sigma2_school (same school) at the estimates
    s2 = fit.sigma2
    district, school = np.array(case["groups"]["district"]), np.array(case["groups"]["school"])
    rows = np.flatnonzero(district == district[0])
    expect = s2[0] + s2[1] * (school[rows][:, None] == school[rows][None, :]) + np.diag(np.array(case["vi"])[rows])
    _close(wm.block(rows), expect, 1e-14)


def test_clusters_must_contain_the_models_blocks() -> None:
    case = CASES["konstantopoulos2011_int"]
    fit = _fit(case, fixed=True)
    g = case["groups"]
    schools = [f"{d}/{s}" for d, s in zip(g["district"], g["school"], strict=True)]
    # schools split the districts, the model's independent blocks
    with pytest.raises(MetaacuInputError, match="argument 'cluster': the model's working covariance links"):
        cluster_robust(fit, schools, estimator="CR1")
    ber = CASES["berkey1998_un"]
    arms = [f"{t}/{o}" for t, o in zip(ber["groups"]["trial"], ber["groups"]["outcome"], strict=True)]
    with pytest.raises(MetaacuInputError, match="argument 'cluster': the model's working covariance links"):
        cluster_robust(_fit(ber, fixed=True), arms, estimator="CR2")
    assert cluster_robust(fit, g["district"], estimator="CR1").n_clusters == 11


def test_coarser_clusters_than_the_blocks_are_accepted() -> None:
    case = CASES["berkey1998_un"]
    fit = _fit(case, fixed=True)
    trial = np.array(case["cluster"])
    by_trial = cluster_robust(fit, trial, estimator="CR0")
    pairs = {t: i // 2 for i, t in enumerate(dict.fromkeys(trial))}  # 5 trials into 3 clusters
    coarse = cluster_robust(fit, [pairs[t] for t in trial], estimator="CR0")
    assert coarse.n_clusters == 3 and not np.allclose(coarse.se, by_trial.se)
    # CR0 with one cluster per independent block: the sandwich sum over blocks, computed densely here
    wm = fit.working_model()
    x, e = wm.design, wm.yi - wm.design @ wm.estimate
    meat, bread = np.zeros((fit.p, fit.p)), np.zeros((fit.p, fit.p))
    for t in dict.fromkeys(trial):
        rows = np.flatnonzero(trial == t)
        w = np.linalg.inv(wm.block(rows))
        u = x[rows].T @ w @ e[rows]
        meat += np.outer(u, u)
        bread += x[rows].T @ w @ x[rows]
    m = np.linalg.inv(bread)
    _close(by_trial.vcov, m @ meat @ m, 1e-12)
