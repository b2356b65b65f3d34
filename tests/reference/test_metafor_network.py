"""Contrast-based network meta-analysis against metafor (``metafor_network.json``, written by
``make_fixtures_network.R``): the consistency models of metadat's ``dat.senn2013`` (mean differences,
REML and ML) and ``dat.hasselblad1998`` (log odds ratios, REML) examples, and bad input.

The layout (:func:`metaacu.network_contrasts`: contrasts, V, design matrix) is a closed form and agrees
with metafor's ``to.wide`` + ``escalc`` + Gleser & Olkin V + ``contrmat`` to ``RTOL_CLOSED``.  The fit
(:func:`metaacu.multilevel_meta_analysis` with ``fit_arguments()``) is compared twice, as in
``test_metafor_multilevel.py``: at metafor's own τ² (``fixed=``) every formula to ``RTOL_ITER``; at
metaacu's optimum the estimates to ``RTOL_MV`` and the log-likelihood at least metafor's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import metaacu
from metaacu import MetaacuInputError, multilevel_meta_analysis, network_contrasts, treatment_design, wald_test

from tolerances import ATOL, LOGLIK_MV, RTOL_CLOSED, RTOL_ITER, RTOL_MV, reference

FIXTURE = reference("network")
CASES = {c["name"]: c for c in FIXTURE["cases"]}


def test_the_case_grid_has_not_shrunk() -> None:
    assert FIXTURE["metafor_version"] == "3.8.1"
    assert set(CASES) == {"senn2013_reml", "senn2013_ml", "hasselblad1998_reml"}


def _close(actual: Any, expected: Any, rtol: float, atol: float = ATOL) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=atol)


def _network(case: dict[str, Any]) -> metaacu.NetworkContrasts:
    arms = case["arms"]
    return network_contrasts(arms["study"], arms["treatment"], arms["yi"], arms["vi"], reference=case["reference"])


def _order(case: dict[str, Any], net: metaacu.NetworkContrasts) -> list[int]:
    """metaacu's row of each of metafor's contrasts (metafor sorts the studies)."""
    c = case["contrasts"]
    mine = list(zip(net.study, net.treatment1, net.treatment2, strict=True))
    return [mine.index(key) for key in zip(c["study"], c["treatment1"], c["treatment2"], strict=True)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_layout_is_metafors(name: str) -> None:
    case = CASES[name]
    net = _network(case)
    perm = _order(case, net)
    assert len(perm) == net.k == case["k"]
    _close(net.yi[perm], case["contrasts"]["yi"], RTOL_CLOSED)
    _close(net.vi[perm], case["contrasts"]["vi"], RTOL_CLOSED)
    _close(net.covariance.to_dense()[np.ix_(perm, perm)], case["V"], RTOL_CLOSED)
    assert net.treatments == tuple(case["coef_names"])
    np.testing.assert_array_equal(net.design[perm], np.array(case["X"]))
    x, names = treatment_design(net.treatment1, net.treatment2, reference=case["reference"])
    assert names == net.treatments
    np.testing.assert_array_equal(x, net.design)
    frame = net.to_frame()
    assert list(frame.columns[:7]) == ["study", "treatment1", "treatment2", "comparison", "design", "yi", "vi"]
    assert f"{len(net.treatments) + 1} treatments" in str(net)


def _fit(case: dict[str, Any], tau2: float | None = None) -> metaacu.MultilevelMetaAnalysis:
    args = _network(case).fit_arguments()
    if tau2 is not None:
        args["fixed"] = {**args["fixed"], "tau2": tau2}
    return multilevel_meta_analysis(**args, method=case["method"])


def _check_fit(case: dict[str, Any], res: metaacu.MultilevelMetaAnalysis, rtol: float) -> None:
    assert res.coef_names == tuple(case["coef_names"])
    _close(res.estimate, case["beta"], rtol)
    _close(res.se, case["se"], rtol)
    _close(res.vcov, case["vb"], rtol)
    _close(res.pvalue, case["pval"], rtol)
    _close(res.ci_low, case["ci_lb"], rtol)
    _close(res.ci_high, case["ci_ub"], rtol)
    _close(res.qm, case["QM"], rtol)
    assert res.qe_df == case["QEdf"]
    _close(res.qe, case["QE"], RTOL_ITER)  # at β̂ of the fixed-effects GLS: no variance component involved
    _close(res.qe_pvalue, case["QEp"], RTOL_ITER)
    net = _network(case)
    pr = res.predict(net.comparison_matrix().to_numpy())
    for col, ref in (("pred", "pred"), ("se", "se"), ("ci_low", "ci_lb"), ("pi_low", "pi_lb"), ("pi_high", "pi_ub")):
        _close(pr[col], case["pred"][ref], rtol)


@pytest.mark.parametrize("name", sorted(CASES))
def test_consistency_model_at_metafors_tau2(name: str) -> None:
    case = CASES[name]
    res = _fit(case, tau2=case["tau2"])
    assert [c.name for c in res.components] == ["tau2", "rho"]
    _close(res.tau2, [case["tau2"]], RTOL_CLOSED)
    _check_fit(case, res, RTOL_ITER)
    for likelihood, ref in (("ML", case["fit_ML"]), ("REML", case["fit_REML"])):
        fs = res.fit_statistics(likelihood)
        _close([fs.loglik, fs.deviance], ref[:2], RTOL_ITER)  # AIC etc.: tau2 is held here, not counted


@pytest.mark.parametrize("name", sorted(CASES))
def test_consistency_model_at_its_optimum(name: str) -> None:
    case = CASES[name]
    res = _fit(case)
    assert res.converged
    _close(res.components[1].estimate, 0.5, RTOL_CLOSED)  # rho held at 1/2
    _close(res.tau2, [case["tau2"]], RTOL_MV)
    _check_fit(case, res, RTOL_MV)
    ref = case["fit_REML"] if case["method"] == "REML" else case["fit_ML"]
    fs = res.fit_statistics()
    assert fs.loglik >= ref[0] - LOGLIK_MV
    # logLik, deviance, AIC, BIC, AICc: tau2 and the coefficients counted, not the fixed rho (metafor's parms)
    assert res.parameters == case["p"] + 1
    _close([fs.loglik, fs.deviance, fs.aic, fs.bic, fs.aicc], ref, RTOL_MV)


def test_relative_effects_by_a_wald_contrast() -> None:
    """Effect of one non-reference treatment against another: the Wald contrast ``L β`` equals
    metafor's ``predict(res, newmods = L)`` of the same pair."""
    case = CASES["senn2013_reml"]
    res = _fit(case, tau2=case["tau2"])
    net = _network(case)
    lmat = net.comparison_matrix([("rosiglitazone", "metformin"), ("metformin", "placebo")])
    assert list(lmat.index) == ["rosiglitazone vs metformin", "metformin vs placebo"]
    test = wald_test(res, contrasts=lmat.to_numpy())
    rows = [next(i for i, r in enumerate(case["newmods"]) if np.array_equal(r, row)) for row in lmat.to_numpy()]
    _close(test.estimate, np.array(case["pred"]["pred"])[rows], RTOL_ITER)
    _close(test.se, np.array(case["pred"]["se"])[rows], RTOL_ITER)
    _close(test.pvalue, 2 * stats.norm.sf(np.abs(test.estimate / test.se)), RTOL_CLOSED)
    # metformin vs placebo is the metformin coefficient itself
    j = net.treatments.index("metformin")
    _close(test.estimate[1], res.estimate[j], RTOL_CLOSED)


def test_the_covariance_is_the_shared_control_one() -> None:
    """For mean differences the shared-reference covariance is Gleser & Olkin's sd²/n of the reference arm
    (metaacu's ``shared_control_covariance``), here recomputed from the arms' variances sd²/n."""
    net = network_contrasts(
        [1, 1, 1, 2, 2],
        ["p", "a", "b", "p", "a"],
        [0.0, -1.0, -0.5, 0.1, -0.7],
        [0.04, 0.05, 0.06, 0.03, 0.02],
        reference="p",
    )
    ref_var = np.array([0.04, 0.04, 0.03])
    # sd_control² / n_control = ref_var with n_control = 1
    other = metaacu.shared_control_covariance(
        "MD", net.vi, list(net.study), n_control=[1.0] * 3, sd_control=np.sqrt(ref_var)
    )
    _close(net.covariance.to_dense(), other.to_dense(), RTOL_CLOSED)
    _close(net.yi, [-1.0, -0.5, -0.8], RTOL_CLOSED)


def test_default_reference_is_the_most_frequent_treatment() -> None:
    net = network_contrasts(
        ["s1", "s1", "s2", "s2", "s3", "s3"], ["b", "a", "b", "c", "c", "a"], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0.1] * 6
    )
    # a, b, c each twice: the first in sorted order
    assert net.reference == "a"
    # study s2 has no 'a': its reference arm is the last in sorted order with 'a' moved last: c
    assert net.comparison == ("b-a", "b-c", "c-a")


def test_bad_input() -> None:
    with pytest.raises(MetaacuInputError, match="study 's2' has a single arm"):
        network_contrasts(["s1", "s1", "s2"], ["a", "b", "a"], [0.0, 0.1, 0.2], [0.1] * 3)
    with pytest.raises(MetaacuInputError, match=r"not connected: treatment\(s\) 'c', 'd'"):
        network_contrasts(
            ["s1", "s1", "s2", "s2"], ["a", "b", "c", "d"], [0.0, 0.1, 0.2, 0.3], [0.1] * 4, reference="a"
        )
    with pytest.raises(MetaacuInputError, match="treatment 'a' in more than one arm"):
        network_contrasts(["s1", "s1", "s1"], ["a", "b", "a"], [0.0, 0.1, 0.2], [0.1] * 3)
    with pytest.raises(MetaacuInputError, match="argument 'reference': no treatment 'z'"):
        network_contrasts(["s1", "s1"], ["a", "b"], [0.0, 0.1], [0.1] * 2, reference="z")
    with pytest.raises(MetaacuInputError, match="'vi'"):
        network_contrasts(["s1", "s1"], ["a", "b"], [0.0, 0.1], [0.1, -0.1])
    with pytest.raises(MetaacuInputError, match="'study': missing value at row 1"):
        network_contrasts(["s1", None], ["a", "b"], [0.0, 0.1], [0.1, 0.1])
    with pytest.raises(MetaacuInputError, match="one value per arm"):
        network_contrasts(["s1", "s1"], ["a", "b"], [0.0], [0.1, 0.1])
    with pytest.raises(MetaacuInputError, match="row 1 compares 'b' with itself"):
        treatment_design(["b", "b"], ["a", "b"])
    with pytest.raises(MetaacuInputError, match=r"not connected: treatment\(s\) 'c'"):
        treatment_design(["b", "c"], ["a", "c2"], reference="a")
    net = network_contrasts(["s1", "s1"], ["a", "b"], [0.0, 0.1], [0.1] * 2, reference="a")
    with pytest.raises(MetaacuInputError, match="unknown treatment 'q'"):
        net.comparison_matrix([("q", "a")])
    with pytest.raises(MetaacuInputError, match="two different treatments"):
        net.comparison_matrix([("a", "a")])


def test_contrast_level_data_through_treatment_design() -> None:
    """Data already as contrasts (metafor's own yi, V): ``treatment_design`` gives the moderators, and the
    fit is the one of the arm-level route."""
    case = CASES["hasselblad1998_reml"]
    c = case["contrasts"]
    x, names = treatment_design(c["treatment1"], c["treatment2"], reference=case["reference"])
    np.testing.assert_array_equal(x, np.array(case["X"]))
    res = multilevel_meta_analysis(
        c["yi"],
        V=np.array(case["V"]),
        moderators=pd.DataFrame(x, columns=list(names)),
        intercept=False,
        outcome={"comp": [f"{a}-{b}" for a, b in zip(c["treatment1"], c["treatment2"], strict=True)]},
        cluster={"study": c["study"]},
        fixed={"rho": 0.5},
    )
    _check_fit(case, res, RTOL_MV)


def test_columns_of_data() -> None:
    arms = CASES["senn2013_reml"]["arms"]
    frame = pd.DataFrame({"trial": arms["study"], "arm": arms["treatment"], "m": arms["yi"], "v": arms["vi"]})
    net = network_contrasts("trial", "arm", "m", "v", data=frame, reference="placebo")
    ref = _network(CASES["senn2013_reml"])
    np.testing.assert_array_equal(net.yi, ref.yi)
    assert net.comparison == ref.comparison
    assert net.study[0] == arms["study"][0]  # studies in order of first appearance
    # the default reference is the most frequent treatment: placebo in this network
    assert network_contrasts("trial", "arm", "m", "v", data=frame).reference == "placebo"
