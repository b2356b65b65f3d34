"""The measures of tracker issue 14 (items 3 and 6) against metafor's escalc, read from the fixture.

``metafor_escalc_more.json`` is written by ``make_fixtures_escalc_more.R`` with metafor 3.8-1: paired
data (MC, SMCC, SMCR, SMCRH, ROMC), proportions (PAS, PFT), incidence rates (IR, IRLN, IRS, IRFT, IRR,
IRD), correlations (COR, UCOR, ZCOR), 2×2 transformations (AS, OR2DN, OR2DL, OR2D), d to log OR
(D2ORN, D2ORL, D2OR), SMDH/SMCRH under both conventions and ROM/ROMC bias corrections, plus ``pooled``
``rma`` fits with ``predict(transf=...)`` on the natural scale (PFT with metafor's harmonic-mean
``transf.ipft.hm``, IRFT with ``transf.iirft`` at the harmonic mean of the person-times).

Where metafor returns NA/NaN or a non-positive variance for a study, metaacu refuses with a
:class:`MetaacuInputError` naming the study; the other studies must still agree.  Three kinds of
expected value are not metafor 3.8-1 output (the generator's header says how each is made):
``vi_metafor5`` (SMDH/SMCRH without J², metafor >= 4.6), ``yi_correct`` (ROM/ROMC with metafor >=
5.0's bias correction) and ``*_reference`` (UCOR from an independent evaluation of its hypergeometric
functions, since metafor's gsl is inaccurate for a few of the grid's parameters).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import numpy as np
import pytest

import metaacu
from metaacu import MetaacuInputError
from metaacu.escalc_correlation import hyp2f1_unit
from metaacu.escalc_family import hedges_j

from tolerances import ATOL, RTOL_CLOSED, RTOL_ITER, reference

MIN_CASES = 170
MIN_POOLED = 22
MEASURES = {
    *("MC", "SMCC", "SMCR", "SMCRH", "ROMC", "PAS", "PFT", "IR", "IRLN", "IRS", "IRFT", "IRR", "IRD"),
    *("COR", "UCOR", "ZCOR", "AS", "OR2DN", "OR2DL", "OR2D", "D2ORN", "D2ORL", "D2OR", "SMDH", "ROM"),
}
#: Measures with a continuity correction of counts, and the columns it is checked on.
COUNTED = {"PAS", "PFT", "IR", "IRLN", "IRS", "IRFT", "IRR", "IRD", "AS", "OR2DN", "OR2DL", "OR2D"}
#: metafor's default add is 0 for these (defined at zero counts).
NO_ADD = {"AS", "PAS", "PFT", "IRS", "IRFT"}
#: Columns (in the case's args) that hold each measure's zero counts.
ZERO_CELLS = {
    "proportion": lambda a: [a["events"], np.subtract(a["n"], a["events"])],
    "binary": lambda a: [
        a["events1"],
        np.subtract(a["n1"], a["events1"]),
        a["events2"],
        np.subtract(a["n2"], a["events2"]),
    ],
    "rate": lambda a: [a["events"]],
    "two_rates": lambda a: [a["events1"], a["events2"]],
}


@cache
def fixture() -> dict[str, Any]:
    return reference("escalc_more")


def cases() -> list[dict[str, Any]]:
    return fixture()["cases"]


def by_id() -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in cases()}


def as_array(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def compute(case: dict[str, Any], keep: np.ndarray | None = None, **options: Any) -> metaacu.EffectSizes:
    """metaacu on the case's data; metafor's own numbers are metafor 3.8-1's (``convention``)."""
    args = {name: np.asarray(v, dtype=float) for name, v in case["args"].items()}
    if keep is not None:
        args = {name: v[keep] for name, v in args.items()}
    kw: dict[str, Any] = {"vtype": case["vtype"], "to": case["to"]}
    if case["add"] is not None:
        kw["add"] = case["add"]
    if case["measure"] in ("SMDH", "SMCRH"):
        kw["convention"] = "metafor3.8"
    return metaacu.effect_sizes(case["measure"], **(kw | options), **args)


def expected(case: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """metafor's yi and vi; UCOR's from the independent reference (equal to metafor's where gsl is right)."""
    if case["measure"] == "UCOR":
        return as_array(case["yi_reference"]), as_array(case["vi_reference"])
    return as_array(case["yi"]), as_array(case["vi"])


def undefined(case: dict[str, Any]) -> np.ndarray:
    yi, vi = expected(case)
    return ~np.isfinite(yi) | ~np.isfinite(vi) | ~(vi > 0)


def named_studies(msg: str) -> set[int]:
    """The study indices a metaacu error message names ("study index 3", "study indices 0, 2")."""
    tail = re.split(r"study ind(?:ex|ices) ", msg, maxsplit=1)[1]
    return {int(i) for i in re.findall(r"\d+", re.split(r"[:(;]", tail, maxsplit=1)[0])}


def expected_adjusted(case: dict[str, Any]) -> np.ndarray:
    """The studies metafor corrects: with a zero count ("only0"), all ("all"), all if any has one ("if0all")."""
    family = metaacu.measures.measure_info(case["measure"]).family
    has0 = (np.array(ZERO_CELLS[family](case["args"])) == 0).any(axis=0)
    k = has0.size
    add = case["add"] if case["add"] is not None else (0.0 if case["measure"] in NO_ADD else 0.5)
    if add == 0 or case["to"] == "none":
        return np.zeros(k, bool)
    return {"all": np.ones(k, bool), "only0": has0, "if0all": np.full(k, has0.any())}[case["to"]]


def test_fixture_grid_has_not_shrunk() -> None:
    meta = fixture()["meta"]
    assert meta["metafor_version"] == "3.8.1"
    cs = cases()
    assert len(cs) >= MIN_CASES
    assert len(fixture()["pooled"]) >= MIN_POOLED
    assert {c["measure"] for c in cs} == MEASURES
    for m in COUNTED:
        assert {c["to"] for c in cs if c["measure"] == m} == {"only0", "all", "if0all", "none"}, m
    assert {c["vtype"] for c in cs if c["measure"] == "UCOR"} == {None, "LS", "UB", "AV"}
    assert {c["vtype"] for c in cs if c["measure"] in ("SMCC", "SMCR")} == {None, "LS2"}
    # undefined studies, impossible input and the derived expectations are all represented
    assert sum(undefined(c).any() for c in cs if c["ok"]) >= 15
    assert {c["bad_argument"] for c in cs if not c["ok"]} == {"correlation", "time", "time2", "events"}
    assert all("vi_metafor5" in c for c in cs if c["measure"] in ("SMDH", "SMCRH") and c["ok"])
    assert all("yi_correct" in c for c in cs if c["measure"] in ("ROM", "ROMC") and c["ok"])
    assert not all(all(c["gsl_ok"]) for c in cs if c["measure"] == "UCOR" and c["ok"])
    assert {p["transf"] for p in fixture()["pooled"]} >= {"transf.ipft.hm", "transf.iirft", "transf.ztor"}


OK_CASES = [c for c in reference("escalc_more")["cases"] if c["ok"]]
BAD_CASES = [c for c in reference("escalc_more")["cases"] if not c["ok"]]


@pytest.mark.parametrize("case", OK_CASES, ids=lambda c: c["id"])
def test_escalc(case: dict[str, Any]) -> None:
    yi, vi = expected(case)
    bad = undefined(case)
    if bad.any():
        with pytest.raises(MetaacuInputError) as err:
            compute(case)
        msg = str(err.value)
        assert case["measure"] in msg, msg
        assert named_studies(msg) == set(np.flatnonzero(bad).tolist()), msg
        if case["to"] == "none" or case["measure"] not in COUNTED or expected_adjusted(case).sum() == 0:
            # each study stands alone: the defined ones must still agree
            es = compute(case, keep=~bad)
            np.testing.assert_allclose(es.yi, yi[~bad], rtol=RTOL_CLOSED, atol=ATOL)
            np.testing.assert_allclose(es.vi, vi[~bad], rtol=RTOL_CLOSED, atol=ATOL)
        return
    es = compute(case)
    np.testing.assert_allclose(es.yi, yi, rtol=RTOL_CLOSED, atol=ATOL, err_msg=f"{case['id']}: yi")
    if case["measure"] == "UCOR" and case["vtype"] == "UB":
        # y² − 1 + (n−3)/(n−2)(1−r²)₂F₁(...): terms of order 1 cancel to vi ~ 1e-9 at r = 0.999, so
        # the reference's own quadrature error (~1e-14 of each term) dominates; compare on the terms' scale
        # here, and the hypergeometric functions themselves and metafor's vi in the tests below
        np.testing.assert_allclose(es.vi, vi, rtol=0, atol=RTOL_CLOSED, err_msg=f"{case['id']}: vi")
    else:
        np.testing.assert_allclose(es.vi, vi, rtol=RTOL_CLOSED, atol=ATOL, err_msg=f"{case['id']}: vi")
    if case["measure"] in COUNTED:
        np.testing.assert_array_equal(es.adjusted, expected_adjusted(case))
        assert bool(es.adjustments) == bool(es.adjusted.any())


@pytest.mark.parametrize("case", [c for c in OK_CASES if c["measure"] == "UCOR"], ids=lambda c: c["id"])
def test_ucor_hypergeometric_functions(case: dict[str, Any]) -> None:
    """₂F₁(1/2, 1/2; (n−2)/2; 1−r²) and ₂F₁(1, 1; n/2; 1−r²) against R's integrate, and metaacu's yi
    and vi against metafor's own (gsl) wherever gsl agrees with that reference."""
    r, n = (np.asarray(case["args"][c], float) for c in ("correlation", "n"))
    ok = n > 4
    for a, c, key in ((0.5, (n - 2) / 2, "hyp_half"), (1.0, n / 2, "hyp_one")):
        np.testing.assert_allclose(
            hyp2f1_unit(a, c[ok], 1 - r[ok] ** 2), as_array(case[key])[ok], rtol=RTOL_CLOSED, atol=0
        )
    gsl = np.asarray(case["gsl_ok"], bool)
    defined = ~undefined(case)
    keep = gsl & defined
    if not defined.all():
        return  # the undefined studies are refused; the others are compared in test_escalc
    es = compute(case)
    np.testing.assert_allclose(es.yi[keep], as_array(case["yi"])[keep], rtol=RTOL_CLOSED, atol=ATOL)
    np.testing.assert_allclose(es.vi[keep], as_array(case["vi"])[keep], rtol=RTOL_CLOSED, atol=ATOL)


@pytest.mark.parametrize("case", BAD_CASES, ids=lambda c: c["id"])
def test_impossible_input_is_refused(case: dict[str, Any]) -> None:
    """metafor stops (negative or zero person-time, |r| > 1, a negative count); metaacu refuses, naming
    the argument and the study."""
    with pytest.raises(MetaacuInputError) as err:
        compute(case)
    msg = str(err.value)
    assert repr(case["bad_argument"]) in msg, msg
    args = {k: np.asarray(v, float) for k, v in case["args"].items()}
    culprit = args[case["bad_argument"]]
    expected_bad = {"correlation": np.abs(culprit) > 1, "events": culprit < 0}.get(case["bad_argument"], culprit <= 0)
    assert named_studies(msg) == set(np.flatnonzero(expected_bad).tolist()), msg


# ----------------------------------------------------------------------------- item 6: metafor 5.x
@pytest.mark.parametrize("case", [c for c in OK_CASES if c["measure"] in ("SMDH", "SMCRH")], ids=lambda c: c["id"])
def test_heteroscedastic_variance_conventions(case: dict[str, Any]) -> None:
    """The default (``convention="metafor5"``) is metafor >= 4.6's variance without J² (NEWS 4.6-0);
    ``"metafor3.8"`` is Debian's 3.8-1 (test_escalc).  The two differ by exactly J²."""
    bad = undefined(case)
    keep = ~bad if bad.any() else None
    default = compute(case, keep=keep, convention="metafor5")
    old = compute(case, keep=keep)
    sel = ~bad
    np.testing.assert_allclose(default.vi, as_array(case["vi_metafor5"])[sel], rtol=RTOL_CLOSED, atol=ATOL)
    np.testing.assert_array_equal(default.yi, old.yi)
    a = case["args"]
    m = np.add(a["n1"], a["n2"]) - 2 if case["measure"] == "SMDH" else np.asarray(a["n"], float) - 1
    np.testing.assert_allclose(old.vi / default.vi, hedges_j(np.asarray(m, float)[sel]) ** 2, rtol=RTOL_CLOSED)
    assert default.options["convention"] == "metafor5" and old.options["convention"] == "metafor3.8"
    args = {k: np.asarray(v, float)[sel] for k, v in a.items()}
    assert metaacu.effect_sizes(case["measure"], **args).options["convention"] == "metafor5"


@pytest.mark.parametrize("case", [c for c in OK_CASES if c["measure"] in ("ROM", "ROMC")], ids=lambda c: c["id"])
def test_log_ratio_of_means_bias_correction(case: dict[str, Any]) -> None:
    """``correct=True``: metafor >= 5.0's default bias correction (Lajeunesse 2015 eq. 8; Senior et al.
    2020 eq. 7); the variance is unchanged.  ``correct=False`` (default) is metafor 3.8-1 (test_escalc)."""
    bad = undefined(case)
    keep = ~bad if bad.any() else None
    es = compute(case, keep=keep, correct=True)
    np.testing.assert_allclose(es.yi, as_array(case["yi_correct"])[~bad], rtol=RTOL_CLOSED, atol=ATOL)
    np.testing.assert_allclose(es.vi, as_array(case["vi"])[~bad], rtol=RTOL_CLOSED, atol=ATOL)
    assert es.options["correct"] is True
    assert compute(case, keep=keep).options["correct"] is False


def test_correct_refused_for_other_measures() -> None:
    with pytest.raises(MetaacuInputError, match=r"'correct'.*ROM and ROMC.*'SMD'"):
        metaacu.effect_sizes("SMD", n1=[10], mean1=[1], sd1=[1], n2=[10], mean2=[0], sd2=[1], correct=True)
    with pytest.raises(MetaacuInputError, match=r"'convention'"):
        metaacu.effect_sizes("SMDH", n1=[10], mean1=[1], sd1=[1], n2=[10], mean2=[0], sd2=[1], convention="4.6")


# ----------------------------------------------------------------------------- pooled, natural scale
POOLED = reference("escalc_more")["pooled"]
PAIRS = (("estimate", "pred"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub"), ("pi_low", "pi_lb"), ("pi_high", "pi_ub"))


def fit(p: dict[str, Any]) -> metaacu.MetaAnalysis:
    case = by_id()[p["case"]]
    return metaacu.meta_analysis(compute(case), method=p["method"])


@pytest.mark.parametrize("p", POOLED, ids=lambda p: f"{p['case']}-{p['method']}")
def test_pooled_on_natural_scale(p: dict[str, Any]) -> None:
    """``summary_frame(scale="response")`` and the study rows of ``to_frame(scale="response")`` against
    metafor's ``predict(rma(...), transf=...)`` (PFT at the harmonic mean of n: ``transf.ipft.hm``; IRFT
    at the harmonic mean of the person-times), the studies each at their own n or person-time."""
    rtol = RTOL_CLOSED if p["method"] == "DL" else RTOL_ITER
    res = fit(p)
    assert res.estimate == pytest.approx(p["estimate"], rel=rtol, abs=ATOL)
    assert res.tau2 == pytest.approx(p["tau2"], rel=rtol, abs=ATOL)
    s = res.summary_frame(scale="response").iloc[0]
    for ours, theirs in PAIRS:
        assert s[ours] == pytest.approx(p[theirs], rel=rtol, abs=ATOL), ours
    fr = res.to_frame(scale="response")
    st = fr[fr.row_type == "study"]
    for ours, theirs in (("estimate", "study"), ("ci_low", "study_ci_lb"), ("ci_high", "study_ci_ub")):
        np.testing.assert_allclose(st[ours].to_numpy(float), as_array(p[theirs]), rtol=RTOL_CLOSED, atol=ATOL)
    pooled = fr[fr.row_type == "pooled"].iloc[0]
    assert pooled["estimate"] == pytest.approx(p["pred"], rel=rtol, abs=ATOL)


@pytest.mark.parametrize("p", [p for p in POOLED if p["transf"] in ("transf.ipft.hm", "transf.iirft")], ids=str)
def test_freeman_tukey_summary_names_the_harmonic_mean(p: dict[str, Any]) -> None:
    """The text summary back-transforms at the harmonic mean of the studies' n (person-time) and says so."""
    res = fit(p)
    col = res.info.size_column
    assert col is not None
    sizes = res.effects.data[col].to_numpy(float) if res.effects is not None else np.array([])
    hm = len(sizes) / np.sum(1 / sizes)
    text = res.summary()
    assert f"at the studies' harmonic mean {col} = {hm:.4f}" in text, text
    assert f"{p['pred']:.4f}" in text, text


def test_freeman_tukey_needs_the_sizes() -> None:
    """Fitted from bare yi/vi, a PFT model cannot be back-transformed: the summary says why, and the
    response scale is refused naming the missing column."""
    es = metaacu.effect_sizes("PFT", events=[3, 10, 7], n=[12, 15, 20])
    res = metaacu.meta_analysis(es.yi, es.vi, measure="PFT")
    assert "not available" in res.summary() and "'n'" in res.summary()
    with pytest.raises(MetaacuInputError, match=r"'n'"):
        res.summary_frame(scale="response")


# ----------------------------------------------------------------------------- bad input
def test_proportion_counts_above_n() -> None:
    with pytest.raises(MetaacuInputError, match=r"'events' exceeds 'n'.*study index 1\b"):
        metaacu.effect_sizes("PFT", events=[3, 16], n=[12, 15])
    with pytest.raises(MetaacuInputError, match=r"'events2' exceeds 'n2'.*study index 0\b"):
        metaacu.effect_sizes("AS", events1=[3, 4], n1=[12, 15], events2=[13, 2], n2=[12, 15])


def test_rate_input_checks() -> None:
    with pytest.raises(MetaacuInputError, match=r"'time1' must be > 0.*study index 0\b"):
        metaacu.effect_sizes("IRR", events1=[3, 4], time1=[-1, 15], events2=[1, 2], time2=[12, 15])
    with pytest.raises(MetaacuInputError, match=r"'events2' must be >= 0.*study index 1\b"):
        metaacu.effect_sizes("IRD", events1=[3, 4], time1=[1, 15], events2=[1, -2], time2=[12, 15])
    with pytest.raises(MetaacuInputError, match=r"'time' must be > 0.*study index 1 \(Trial B\)"):
        metaacu.effect_sizes("IRFT", events=[3, 4], time=[10, 0], labels=["Trial A", "Trial B"])


def test_correlation_input_checks() -> None:
    with pytest.raises(MetaacuInputError, match=r"'correlation' must lie in \[-1, 1\].*study index 0\b"):
        metaacu.effect_sizes("ZCOR", correlation=[1.5, 0.2], n=[10, 10])
    with pytest.raises(MetaacuInputError, match=r"'correlation' must lie in \[-1, 1\].*study index 1\b"):
        metaacu.effect_sizes(
            "SMCC", n=[10, 12], mean1=[5, 6], sd1=[1, 2], mean2=[4, 5], sd2=[1, 1], correlation=[0.5, -2]
        )
    with pytest.raises(MetaacuInputError, match=r"'n' must be >= 4 for measure 'ZCOR'.*study index 1\b"):
        metaacu.effect_sizes("ZCOR", correlation=[0.5, 0.2], n=[10, 3])
    with pytest.raises(MetaacuInputError, match=r"'n' must be >= 5 for measure 'UCOR'.*study index 0\b"):
        metaacu.effect_sizes("UCOR", correlation=[0.5, 0.2], n=[4, 30])


def test_paired_input_checks() -> None:
    with pytest.raises(MetaacuInputError, match=r"'n' must be >= 3 for measure 'SMCR'.*study index 1\b"):
        metaacu.effect_sizes("SMCR", n=[10, 2], mean1=[5, 6], sd1=[1, 2], mean2=[4, 5], correlation=[0.5, 0.5])
    with pytest.raises(MetaacuInputError, match=r"'sd2'.*study index 0\b"):
        metaacu.effect_sizes("MC", n=[10, 9], mean1=[5, 6], sd1=[1, 2], mean2=[4, 5], sd2=[-1, 1], correlation=0.5)


@pytest.mark.parametrize(
    ("measure", "given", "missing"),
    [
        ("IRR", {"events1": [1], "time1": [10], "events2": [2]}, "time2"),
        ("SMCC", {"n": [10], "mean1": [1], "sd1": [1], "mean2": [0], "sd2": [1]}, "correlation"),
        ("COR", {"correlation": [0.3]}, "n"),
        ("PFT", {"events": [3]}, "n"),
    ],
)
def test_missing_columns_are_named(measure: str, given: dict[str, list[float]], missing: str) -> None:
    with pytest.raises(MetaacuInputError, match=rf"missing argument\(s\) {missing}\b"):
        metaacu.effect_sizes(measure, **given)


def test_smcr_takes_no_sd2() -> None:
    with pytest.raises(MetaacuInputError, match=r"unexpected argument\(s\) sd2"):
        metaacu.effect_sizes("SMCR", n=[10], mean1=[1], sd1=[1], mean2=[0], sd2=[1], correlation=[0.5])


def test_subgroups_back_transform_each_model_at_its_own_harmonic_mean() -> None:
    """A PFT subgroup analysis on the natural scale: each subgroup's (and the overall) estimate and CI at
    the harmonic mean of its own studies' n, as each model's own ``summary_frame(scale="response")``."""
    case = by_id()["PFT_pritz1997"]
    es = compute(case)
    groups = np.array(["a", "b"] * (es.k // 2) + ["a"] * (es.k % 2))
    sg = metaacu.subgroup_analysis(es, groups)
    fr = sg.to_frame(scale="response").set_index("group")
    for name, model in [*sg.groups.items(), ("Overall", sg.overall)]:
        want = model.summary_frame(scale="response").iloc[0]
        for col in ("estimate", "ci_low", "ci_high"):
            assert fr.loc[name, col] == pytest.approx(want[col], rel=RTOL_CLOSED), (name, col)
    n = np.asarray(case["args"]["n"], float)
    hm_a = 1 / np.mean(1 / n[groups == "a"])
    assert fr.loc["a", "estimate"] == pytest.approx(
        float(es.info.to_display(sg.groups["a"].estimate, hm_a)), rel=RTOL_CLOSED
    )
