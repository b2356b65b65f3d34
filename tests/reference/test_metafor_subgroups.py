"""Subgroup analysis against metafor (rma per subgroup + rma(est, sei, method="EE") for the
separate-τ² test; rma(mods = ~ factor(g)) and ~ factor(g) - 1 for the common-τ² version).

Reference numbers: tests/reference/metafor_toolkit_a.json (tests/reference/make_fixtures_toolkit_a.R).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metaacu import effect_sizes
from metaacu._validation import MetaacuInputError
from metaacu.results import MetaAnalysis
from metaacu.subgroups import SubgroupAnalysis, subgroup_analysis

from tolerances import ATOL, BOUNDARY_ATOL, RTOL_CLOSED, RTOL_ITER, reference

FIXTURES = reference("toolkit_a")
CASES = FIXTURES["subgroups"]
MIN_CASES = 18


def _rtol(method):
    return RTOL_CLOSED if method in ("EE", "DL", "HE") else RTOL_ITER


def _close(actual, expected, rtol, name):
    atol = BOUNDARY_ATOL if name.split(".")[-1] in ("tau2", "i2", "tau2_common") else ATOL
    np.testing.assert_allclose(float(actual), float(expected), rtol=rtol, atol=atol, err_msg=name)


def test_case_count_has_not_shrunk():
    assert len(CASES) >= MIN_CASES


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_subgroups_match_metafor(case):
    d, out = case["input"], case["output"]
    res = subgroup_analysis(
        d["yi"], d["vi"], d["groups"], method=case["method"], test=case["test"], tau2_mode=case["tau2"]
    )
    rtol = _rtol(case["method"])
    assert list(res.groups) == list(dict.fromkeys(d["groups"]))  # order of first appearance
    for name, ref in out["groups"].items():
        m = res.groups[name]
        assert m.k == ref["k"]
        for field in ("estimate", "se", "ci_low", "ci_high", "statistic", "pvalue", "tau2"):
            _close(getattr(m, field), ref[field], rtol, f"{name}.{field}")
        if case["tau2"] == "separate":
            for field in ("q", "q_pvalue", "i2"):
                _close(getattr(m, field), ref[field], rtol, f"{name}.{field}")
    _close(res.q_between, out["q_between"], rtol, "q_between")
    assert res.q_between_df == np.atleast_1d(out["q_between_df"])[0]
    _close(res.q_between_pvalue, out["q_between_pvalue"], rtol, "q_between_pvalue")
    if case["tau2"] == "common":
        _close(res.tau2_common, out["tau2"], rtol, "tau2_common")
        if case["test"] == "knha":
            assert res.q_between_test == "F" and res.q_between_df2 == out["q_between_df"][1]
    for field in ("estimate", "se", "ci_low", "ci_high", "tau2", "q", "i2"):
        _close(getattr(res.overall, field), out["overall"][field], rtol, f"overall.{field}")


BCG = dict(
    zip(
        ("yi", "vi", "groups"),
        (CASES[0]["input"]["yi"], CASES[0]["input"]["vi"], CASES[0]["input"]["groups"]),
        strict=True,
    )
)


def test_result_shape_and_presentation():
    res = subgroup_analysis(BCG["yi"], BCG["vi"], BCG["groups"], method="DL")
    assert isinstance(res, SubgroupAnalysis)
    assert all(isinstance(m, MetaAnalysis) for m in res.groups.values())
    assert isinstance(res.overall, MetaAnalysis)
    with pytest.raises(AttributeError):
        res.q_between = 0.0  # type: ignore[misc]
    frame = res.to_frame()
    assert list(frame["group"]) == ["random", "alternate", "systematic", "Overall"]
    assert frame.attrs["q_between"] == res.q_between
    assert "Test for subgroup differences: Q(2)" in res.summary()
    assert repr(res).startswith("<SubgroupAnalysis separate tau2 DL/z k=13 groups=3")
    assert "<table" in res._repr_html_()
    common = subgroup_analysis(BCG["yi"], BCG["vi"], BCG["groups"], tau2_mode="common", test="knha")
    assert "F(2, 10)" in common.summary()
    assert common.regression is not None and common.regression.k == 13


def test_accepts_effect_sizes():
    es = effect_sizes(
        "RR",
        events1=[4, 6, 3, 62, 33],
        n1=[123, 306, 231, 13598, 5069],
        events2=[11, 29, 11, 248, 47],
        n2=[139, 303, 220, 12867, 5808],
    )
    res = subgroup_analysis(es, ["a", "a", "b", "b", "b"], method="DL")
    ref = subgroup_analysis(es.yi, es.vi, ["a", "a", "b", "b", "b"], method="DL")
    assert res.measure == "RR" and res.groups["a"].measure == "RR"
    assert res.q_between == ref.q_between
    assert res.overall.labels == es.labels


def test_bad_input():
    y, v = [0.1, 0.2, 0.3], [0.01, 0.02, 0.03]
    with pytest.raises(MetaacuInputError, match="at least 2 subgroups"):
        subgroup_analysis(y, v, ["a", "a", "a"])
    with pytest.raises(MetaacuInputError, match="'groups' has 2 entries for 3"):
        subgroup_analysis(y, v, ["a", "b"])
    with pytest.raises(MetaacuInputError, match="missing subgroup label at study index 1"):
        subgroup_analysis(y, v, ["a", None, "b"])
    with pytest.raises(MetaacuInputError, match=r"subgroup 'b'.*study index 2.*one study"):
        subgroup_analysis(y, v, ["a", "a", "b"], test="knha")
    with pytest.raises(MetaacuInputError, match="more studies than subgroups"):
        subgroup_analysis([0.1, 0.2], [0.01, 0.02], ["a", "b"], tau2_mode="common")
    with pytest.raises(MetaacuInputError, match="'tau2_mode'"):
        subgroup_analysis(y, v, ["a", "a", "b"], tau2_mode="pooled")
    with pytest.raises(MetaacuInputError, match=r"'vi' must be > 0.*study index 1"):
        subgroup_analysis(y, [0.1, 0.0, 0.2], ["a", "a", "b"])


def test_groups_accepts_series_and_numbers():
    res = subgroup_analysis([0.1, 0.3, 0.5, 0.7], [0.02, 0.03, 0.02, 0.03], pd.Series([2, 2, 1, 1]), method="DL")
    assert list(res.groups) == ["2", "1"]
    assert res.group_of == ("2", "2", "1", "1")
