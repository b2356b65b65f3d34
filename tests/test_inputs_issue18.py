"""Bad input found by the adversarial review (issue 18): each case raises MetaacuInputError whose
message names the argument, and the study label where a study is at fault."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import metaacu
from metaacu import MetaacuInputError
from metaacu.escalc import _UNDEFINED, hedges_j
from metaacu.measures import MEASURES

Y10 = [0.1, 0.3, 0.35, 0.6, 0.2, 0.5, 0.8, 0.1, 0.0, 0.4]
V10 = [0.02, 0.03, 0.01, 0.05, 0.04, 0.02, 0.06, 0.01, 0.03, 0.02]
COUNTS = {"events1": [0, 3, 4], "n1": [20, 30, 25], "events2": [2, 5, 0], "n2": [20, 30, 25]}
MEANS = {
    "mean1": [10, 12, 11],
    "sd1": [2, 2, 3],
    "n1": [20, 30, 25],
    "mean2": [9, 10, 10],
    "sd2": [2, 2, 2],
    "n2": [20, 30, 25],
}


@pytest.fixture(scope="module")
def res10():
    return metaacu.meta_analysis(Y10, V10)


@pytest.mark.parametrize(
    ("add", "match"),
    [
        ("x", "'add' must be a number"),
        (None, "'add' must be a number"),
        (-1, "'add' must be >= 0"),
        (np.nan, "'add' must be finite"),
    ],
)
def test_effect_sizes_add(add, match):
    with pytest.raises(MetaacuInputError, match=match):
        metaacu.effect_sizes("OR", add=add, **COUNTS)


@pytest.mark.parametrize(
    ("keep", "match"),
    [
        ([10], "indices must be 0 to 2; got \\[10\\]"),
        ([-1], "indices must be 0 to 2"),
        ([True], "boolean mask needs 3 entries"),
        ([0.5], "boolean mask or integer indices"),
    ],
)
def test_effect_sizes_subset(keep, match):
    es = metaacu.effect_sizes("SMD", **MEANS)
    with pytest.raises(MetaacuInputError, match=f"'keep'.*{match}" if "keep" not in match else match):
        es.subset(keep)
    assert es.subset([True, False, True]).k == 2 and es.subset([2]).labels == ("Study 3",)


@pytest.mark.parametrize("digits", [-1, "x", 2.5, 99])
def test_summary_digits(digits, res10):
    with pytest.raises(MetaacuInputError, match="'digits'"):
        res10.summary(digits=digits)
    mh = metaacu.mantel_haenszel(**COUNTS, measure="RR")
    with pytest.raises(MetaacuInputError, match="'digits'"):
        mh.summary(digits=digits)


def test_batch_with_zero_study_columns():
    with pytest.raises(MetaacuInputError, match=r"no studies \(code 1\) in row 0, 1, 2"):
        metaacu.meta_analysis_batch(np.zeros((3, 0)), np.zeros((3, 0)))
    flagged = metaacu.meta_analysis_batch(np.zeros((3, 0)), np.zeros((3, 0)), errors="flag")
    assert flagged.error.tolist() == [1, 1, 1]


def test_trim_and_fill_identical_variances_names_the_way_out():
    res = metaacu.meta_analysis(Y10, [0.02] * 10)
    with pytest.raises(MetaacuInputError, match=r"same variance.*side='left' or 'right'"):
        metaacu.trim_and_fill(res)
    assert metaacu.trim_and_fill(res, side="left").k0 >= 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"maxiter": "x"}, "'maxiter' must be a whole number"),
        ({"maxiter": 0}, "'maxiter' must be >= 1"),
        ({"maxiter": 2.0}, "'maxiter' must be a whole number"),
        ({"common_effect": "no"}, "'common_effect' must be True or False"),
    ],
)
def test_trim_and_fill_options(kwargs, match, res10):
    with pytest.raises(MetaacuInputError, match=match):
        metaacu.trim_and_fill(res10, **kwargs)


@pytest.mark.parametrize("target", [np.nan, np.inf, "0.1"])
def test_fail_safe_n_target(target, res10):
    with pytest.raises(MetaacuInputError, match="'target'"):
        metaacu.fail_safe_n(res10, approach="orwin", target=target)


def test_complex_effects_are_refused():
    with pytest.raises(MetaacuInputError, match="'yi' must be real"):
        metaacu.meta_analysis(np.array([0.1 + 1j, 0.2, 0.3]), [0.1, 0.1, 0.1])
    with pytest.raises(MetaacuInputError, match="'vi' must be real"):
        metaacu.meta_analysis_batch(np.zeros((2, 3)), np.full((2, 3), 0.1 + 0j))


@pytest.mark.parametrize(
    "call",
    [
        lambda: metaacu.meta_analysis([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], labels="abc"),
        lambda: metaacu.mantel_haenszel(**COUNTS, labels="abc"),
        lambda: metaacu.meta_regression([0.1, 0.2, 0.3, 0.4], [0.1] * 4, [1, 2, 3, 4], labels="abcd"),
    ],
)
def test_a_single_string_is_not_split_into_labels(call):
    with pytest.raises(MetaacuInputError, match="'labels' must hold one label per study; got the single string"):
        call()


@pytest.mark.parametrize("m", [0, -1, 1, np.nan, [5, 1]])
def test_hedges_j_needs_more_than_one_degree_of_freedom(m):
    with pytest.raises(MetaacuInputError, match="m > 1"):
        hedges_j(m)
    assert hedges_j(10) == pytest.approx(1 - 3 / (4 * 10 - 1), rel=2e-3)  # Hedges 1981 approximation


def test_every_measure_says_why_it_is_undefined():
    computed = {c for c, info in MEASURES.items() if info.family in ("continuous", "binary", "proportion")}
    assert computed <= set(_UNDEFINED)


def test_undefined_continuous_measure_names_the_sds_and_the_study():
    tiny = dict(MEANS, sd1=[1e-200] * 3, sd2=[1e-200] * 3)
    with pytest.raises(
        MetaacuInputError,
        match=r"'MD' is not defined for study indices 0 \(A\), 1 \(B\), 2 \(C\): "
        r"its variance sd1²/n1 \+ sd2²/n2 is 0",
    ):
        metaacu.effect_sizes("MD", labels=["A", "B", "C"], **tiny)
    with pytest.raises(MetaacuInputError, match=r"'ROM' is not defined for study index 0.*same sign"):
        metaacu.effect_sizes("ROM", **dict(MEANS, mean1=[-1, 12, 11]))
    with pytest.raises(MetaacuInputError, match=r"'RR' is not defined for study indices 0 \(A\), 2 \(C\).*no events"):
        metaacu.effect_sizes("RR", to="none", labels=["A", "B", "C"], **COUNTS)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: metaacu.meta_analysis([0.1, 0.2], [0.1, -1], labels=["Smith 2001", "Jones 2003"]),
            r"'vi' must be > 0; check study index 1 \(Jones 2003\)",
        ),
        (
            lambda: metaacu.meta_analysis([0.1, np.nan], [0.1, 1], labels=["Smith 2001", "Jones 2003"]),
            r"'yi' has a missing or infinite value at study index 1 \(Jones 2003\)",
        ),
        (
            lambda: metaacu.mantel_haenszel([1, 12], [10, 10], [1, 2], [10, 10], labels=["a", "b"]),
            r"'events1' exceeds 'n1' \(events > total\) at study index 1 \(b\)",
        ),
        (
            lambda: metaacu.effect_sizes(
                "SMD",
                data=pd.DataFrame(MEANS | {"trial": ["X", "Y", "Z"]}),
                labels="trial",
                **{c: c for c in MEANS} | {"sd2": [2, 0, 2]},
            ),
            r"'sd2' must be > 0; check study index 1 \(Y\)",
        ),
        (
            lambda: metaacu.meta_regression([0.1, 0.2, 0.3], [0.1, 0.1, -0.1], [1, 2, 3], labels=["p", "q", "r"]),
            r"'vi' must be > 0; check study index 2 \(r\)",
        ),
    ],
)
def test_errors_name_the_study_label(call, match):
    with pytest.raises(MetaacuInputError, match=match):
        call()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"favours": ("a",)}, "'favours' must be two strings"),
        ({"favours": "ab"}, "'favours' must be two strings"),
        ({"measure": "bogus"}, "'measure' applies only to forest_plot\\(None"),
        (
            {"extra_rows": pd.DataFrame({"label": ["Pub"], "estimate": [np.nan], "ci_low": [0.1], "ci_high": [0.3]})},
            r"'extra_rows', row 0 \(Pub\): needs finite estimate",
        ),
        (
            {"extra_rows": pd.DataFrame({"label": ["Pub"], "estimate": [0.5], "ci_low": [0.1], "ci_high": [0.3]})},
            r"ci_low <= estimate <= ci_high; got 0.5, 0.1, 0.3",
        ),
    ],
)
def test_forest_plot_options(kwargs, match, res10):
    with pytest.raises(MetaacuInputError, match=match):
        metaacu.forest_plot(res10, **kwargs)


@pytest.mark.parametrize("plot", [metaacu.forest_plot, metaacu.funnel_plot])
@pytest.mark.parametrize("what", [[0.1, 0.2], None, "result"])
def test_plots_of_something_that_is_not_a_result(plot, what):
    if plot is metaacu.forest_plot and what is None:
        match = "needs 'extra_rows'"
    else:
        match = "argument 'result' must be a MetaAnalysis"
    with pytest.raises(MetaacuInputError, match=match):
        plot(what)
