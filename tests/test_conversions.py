"""Tests for metaacu.conversions.

Every expected number states its source.  Abbreviations:

* HB6.4 -- Cochrane Handbook v6.4, chapter 6 (Higgins, Li, Deeks), section given per test.
* HB5.1 -- Cochrane Handbook v5.1 (archived at handbook-5-1.cochrane.org), whose worked examples
  for these formulas carried over to v6 (§7.7.3.x there corresponds to §6.5.2.x in v6.4).
* metafor -- R package metafor, ``conv.fivenum`` example output as rendered in
  docs/reference/conv.fivenum.html (github.com/wviechtb/metafor, commit 71ae8f5a).
* Wan2014 -- Wan et al., BMC Med Res Methodol 2014;14:135, Table 1 (exact xi(n) = E(range)/sigma).
* Chinn2000 -- Chinn, Stat Med 2000;19:3127, abstract: "ln(odds ratio) ... dividing by 1.81".
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from metaacu._validation import MetaacuInputError
from metaacu.conversions import (
    ApproximateMeanSD,
    change_score_sd,
    combine_groups,
    combine_many_groups,
    correlation_from_sds,
    log_or_to_smd,
    mean_sd_from_median,
    sd_from_ci,
    sd_from_ci_difference,
    sd_from_pvalue,
    sd_from_se,
    sd_from_t,
    smd_to_log_or,
)

# ----------------------------------------------------------------------------- SE / CI / t / P


def test_sd_from_se_identity_and_vectorised() -> None:
    # identity SE = SD / sqrt(n) (HB6.4 §6.5.2.2), with a scalar n broadcast over studies
    sd = np.array([3.0, 7.5, 12.0])
    out = sd_from_se(sd / np.sqrt(40), 40)
    np.testing.assert_allclose(out, sd, rtol=1e-14)
    assert isinstance(sd_from_se(1.0, 25), float)
    assert sd_from_se(1.0, 25) == pytest.approx(5.0, rel=1e-15)


def test_sd_from_ci_handbook_small_sample_divisor() -> None:
    # HB6.4 §6.5.2.2 (HB5.1 §7.7.3.2): for n = 25 the t value is 2.0639 (24 df), so the divisor
    # 3.92 "would be replaced by 2 x 2.0639 = 4.128".  A CI of width 4.128 therefore gives
    # SD = sqrt(25) * 4.128 / 4.128 = 5, up to the rounding of 4.128 (+-0.0005 -> +-0.0006 in SD).
    assert sd_from_ci(10.0, 14.128, 25) == pytest.approx(5.0, abs=1e-3)


@pytest.mark.parametrize(("level", "divisor"), [(0.95, 3.92), (0.90, 3.29), (0.99, 5.15)])
def test_sd_from_ci_handbook_large_sample_divisors(level: float, divisor: float) -> None:
    # HB6.4 §6.5.2.2: large samples, SD = sqrt(N) x (upper - lower) / 3.92; 3.29 for 90% and
    # 5.15 for 99% intervals.  Width = divisor and n = 100 gives SD = 10 up to the 3-significant-
    # figure rounding of the published divisors (relative error < 1e-3).
    assert sd_from_ci(0.0, divisor, 100, level=level) == pytest.approx(10.0, rel=1e-3)


def test_sd_from_ci_auto_threshold_and_round_trip() -> None:
    # identity: an interval built as mean +- crit * SD / sqrt(n) returns SD exactly.  "auto" uses
    # t with n - 1 df below 60 and z from 60 on (HB6.4 §6.5.2.2 "say less than 60 in each group").
    sd, n = 8.0, np.array([10.0, 59.0, 60.0, 200.0])
    crit = np.where(n < 60, stats.t.ppf(0.975, n - 1), stats.norm.ppf(0.975))
    half = crit * sd / np.sqrt(n)
    np.testing.assert_allclose(sd_from_ci(20 - half, 20 + half, n), sd, rtol=1e-12)
    # explicit choices and the threshold keyword
    half_z = stats.norm.ppf(0.975) * sd / np.sqrt(30)
    assert sd_from_ci(-half_z, half_z, 30, distribution="z") == pytest.approx(sd, rel=1e-12)
    assert sd_from_ci(-half_z, half_z, 30, small_sample_threshold=30) == pytest.approx(sd, rel=1e-12)
    half_t = stats.t.ppf(0.975, 199) * sd / np.sqrt(200)
    assert sd_from_ci(-half_t, half_t, 200, distribution="t") == pytest.approx(sd, rel=1e-12)


def test_sd_from_ci_difference_round_trip_uses_pooled_df() -> None:
    # HB6.4 §6.5.2.3: SE = width / (2 t) with "degrees of freedom equal to N_E + N_C - 2" (45 for
    # the Handbook's 25 vs 22 example), then SD = SE / sqrt(1/N_E + 1/N_C).  Identity check.
    sd, n1, n2 = 4.7, 25, 22
    se = sd * math.sqrt(1 / n1 + 1 / n2)
    half = stats.t.ppf(0.975, n1 + n2 - 2) * se
    assert sd_from_ci_difference(3.8 - half, 3.8 + half, n1, n2) == pytest.approx(sd, rel=1e-12)
    # both arms >= 60 -> normal quantile under "auto"
    se = sd * math.sqrt(1 / 80 + 1 / 90)
    half = stats.norm.ppf(0.95) * se
    assert sd_from_ci_difference(-half, half, 80, 90, level=0.90) == pytest.approx(sd, rel=1e-12)


def test_sd_from_pvalue_handbook_example() -> None:
    # HB6.4 §6.5.2.3 (HB5.1 §7.7.3.3) worked example: N_E = 25, N_C = 22, MD = 3.8, P = 0.008;
    # t = tinv(0.008, 45) = 2.78 and "the standard error of the difference in means is obtained
    # by dividing 3.8 by 2.78, which gives 1.37".  We check the published 2-dp SE and t.
    sd = sd_from_pvalue(0.008, 3.8, 25, 22)
    se = sd * math.sqrt(1 / 25 + 1 / 22)
    assert round(se, 2) == 1.37
    assert round(3.8 / se, 2) == 2.78
    # same example through the published t value
    assert round(sd_from_t(2.78, 3.8, 25, 22) * math.sqrt(1 / 25 + 1 / 22), 2) == 1.37


def test_sd_from_pvalue_consistent_with_sd_from_t() -> None:
    # identity: p = 2 * P(T > |t|) recovers the same SD; signs of t and MD are ignored
    t = np.array([2.1, -3.5, 0.7])
    md = np.array([-4.0, 6.0, 1.0])
    n1, n2 = np.array([12, 40, 100]), np.array([15, 38, 90])
    p = 2 * stats.t.sf(np.abs(t), n1 + n2 - 2)
    np.testing.assert_allclose(sd_from_pvalue(p, md, n1, n2), sd_from_t(t, md, n1, n2), rtol=1e-10)
    pz = 2 * stats.norm.sf(2.5)
    expected = 5.0 / 2.5 / math.sqrt(1 / 50 + 1 / 50)
    assert sd_from_pvalue(pz, 5.0, 50, 50, distribution="z") == pytest.approx(expected, rel=1e-10)


# ----------------------------------------------------------------------------- medians


@pytest.mark.parametrize(
    ("kwargs", "mean", "sd"),
    [
        # metafor conv.fivenum example, rows 1-3 (n = 20, default method "luo/wan/shi")
        ({"minimum": 2, "maximum": 14}, 6.594468, 3.211576),
        ({"q1": 4, "q3": 10}, 6.719500, 4.787076),
        ({"minimum": 2, "q1": 4, "q3": 10, "maximum": 14, "sd_estimator_s3": "shi2020"}, 6.938841, 3.679435),
    ],
)
def test_mean_sd_from_median_matches_metafor(kwargs: dict, mean: float, sd: float) -> None:
    res = mean_sd_from_median(6, n=20, **kwargs)
    # metafor prints 7 significant digits -> agreement to 5e-7 relative
    assert res.mean == pytest.approx(mean, rel=5e-7)
    assert res.sd == pytest.approx(sd, rel=5e-7)
    assert res.approximation is True


def test_mean_sd_from_median_s3_wan_is_average_of_s1_s2() -> None:
    # Wan2014 scenario C3: SD = [(b - a)/xi(n) + (q3 - q1)/eta(n)] / 2, i.e. the mean of the S1 and
    # S2 estimators (identity).  The S3 mean is the same for both SD methods (Luo eq. 15).
    s1 = mean_sd_from_median(6, minimum=2, maximum=14, n=20)
    s2 = mean_sd_from_median(6, q1=4, q3=10, n=20)
    s3 = mean_sd_from_median(6, q1=4, q3=10, minimum=2, maximum=14, n=20)
    assert s3.sd == pytest.approx((s1.sd + s2.sd) / 2, rel=1e-14)
    assert s3.mean == pytest.approx(6.938841, rel=5e-7)  # metafor, row 3
    assert "Wan" in s3.method and "Luo" in s3.method


def test_mean_sd_from_median_result_is_flagged_and_frozen() -> None:
    res = mean_sd_from_median([5.0, 7.0], q1=[3.0, 6.0], q3=[7.0, 9.0], n=[30, 40])
    assert isinstance(res, ApproximateMeanSD) and res.approximation
    assert res.mean.shape == (2,)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.sd = 1.0  # type: ignore[misc]
    # symmetric summaries: every Luo weighting returns the median itself (identity)
    sym = mean_sd_from_median(10.0, q1=8.0, q3=12.0, minimum=1.0, maximum=19.0, n=[5, 50, 500])
    np.testing.assert_allclose(sym.mean, 10.0, rtol=1e-14)


@pytest.mark.parametrize(
    ("n", "xi_exact"),
    [(5, 2.326), (10, 3.078), (15, 3.472), (20, 3.735), (25, 3.931), (30, 4.086), (40, 4.322), (50, 4.498)],
)
def test_range_divisor_close_to_wan_table_1(n: int, xi_exact: float) -> None:
    # Wan2014 Table 1 lists the exact xi(n) = E(range)/sigma; the closed form used here (eq. 9)
    # is an approximation to it.  Its largest error in this range is ~1.5% at n = 5 (2.361 vs
    # 2.326), shrinking with n, so 2% bounds the approximation for every tabulated n >= 5.
    sd = mean_sd_from_median(0.0, minimum=-xi_exact / 2, maximum=xi_exact / 2, n=n).sd
    assert sd == pytest.approx(1.0, rel=0.02)


def test_mean_sd_from_median_simulation_normal_data() -> None:
    # Monte Carlo: 400 normal samples of n = 101 (= 4Q + 1, so np.percentile's default quartiles
    # are the order statistics X(Q+1), X(3Q+1) that Wan et al. assume).  Each estimate varies by
    # about 0.1 sigma (SD) between samples, so the average over 400 has Monte Carlo SE ~0.005 sigma;
    # the tolerances (0.02 sigma for the average SD and mean, 4 SE) cover that plus the <0.5%
    # bias of the closed-form divisors.  The root-mean-square gap between the estimated and the
    # sample mean must stay below 0.1 sigma (observed 0.03-0.07).
    rng = np.random.default_rng(20240601)
    mu, sigma, n = 50.0, 10.0, 101
    x = rng.normal(mu, sigma, size=(400, n))
    lo, q1, med, q3, hi = np.percentile(x, [0, 25, 50, 75, 100], axis=1)
    for kwargs in (
        {"minimum": lo, "maximum": hi},
        {"q1": q1, "q3": q3},
        {"minimum": lo, "q1": q1, "q3": q3, "maximum": hi},
        {"minimum": lo, "q1": q1, "q3": q3, "maximum": hi, "sd_estimator_s3": "shi2020"},
    ):
        res = mean_sd_from_median(med, n=n, **kwargs)
        assert abs(np.mean(res.sd) / sigma - 1) < 0.02, kwargs.keys()
        assert abs(np.mean(res.mean) - mu) < 0.02 * sigma
        assert np.sqrt(np.mean((res.mean - x.mean(axis=1)) ** 2)) < 0.1 * sigma


# ----------------------------------------------------------------------------- combining arms


def test_combine_groups_identical_groups() -> None:
    # Table 6.5.a with M1 = M2: mean unchanged, SD^2 = 2 (n - 1) SD^2 / (2n - 1)
    n, mean, sd = combine_groups(30, 12.5, 4.0, 30, 12.5, 4.0)
    assert n == 60 and mean == pytest.approx(12.5, rel=1e-15)
    assert sd == pytest.approx(4.0 * math.sqrt(58 / 59), rel=1e-14)


@pytest.mark.parametrize("seed", range(5))
def test_combine_groups_equals_pooled_raw_data(seed: int) -> None:
    # exact identity: Table 6.5.a reproduces np.std(ddof=1) of the concatenated samples
    rng = np.random.default_rng(seed)
    a = rng.normal(10, 3, size=rng.integers(2, 60))
    b = rng.normal(14, 6, size=rng.integers(2, 60))
    n, mean, sd = combine_groups(a.size, a.mean(), a.std(ddof=1), b.size, b.mean(), b.std(ddof=1))
    pooled = np.concatenate([a, b])
    assert n == pooled.size
    assert mean == pytest.approx(pooled.mean(), rel=1e-12)
    assert sd == pytest.approx(pooled.std(ddof=1), rel=1e-12)


def test_combine_many_groups_worked_example_and_raw_data() -> None:
    # StatsToDo "Combine Means and SDs Into One Group" worked example (applies the Handbook
    # formula sequentially): (10, 11.8, 2.4), (20, 15.3, 3.2), (15, 8.4, 4.1) -> 45, 12.2222, 4.5028
    n, mean, sd = combine_many_groups([10, 20, 15], [11.8, 15.3, 8.4], [2.4, 3.2, 4.1])
    assert n == 45
    assert mean == pytest.approx(12.2222, abs=5e-5)
    assert sd == pytest.approx(4.5028, abs=5e-5)
    # order independence and vectorisation over studies, checked against pooled raw data
    rng = np.random.default_rng(7)
    arms = [rng.normal(m, s, size=k) for m, s, k in ((0, 1, 8), (2, 3, 15), (-1, 2, 11))]
    ns = [np.array([x.size, x.size]) for x in arms]
    ms = [np.array([x.mean(), x.mean()]) for x in arms]
    ss = [np.array([x.std(ddof=1), x.std(ddof=1)]) for x in arms]
    n, mean, sd = combine_many_groups(ns[::-1], ms[::-1], ss[::-1])
    pooled = np.concatenate(arms)
    np.testing.assert_allclose(sd, pooled.std(ddof=1), rtol=1e-12)
    np.testing.assert_allclose(mean, pooled.mean(), rtol=1e-12)


# ----------------------------------------------------------------------------- OR <-> SMD


def test_log_or_smd_constants_and_round_trip() -> None:
    # Chinn2000: SMD = ln(OR) / 1.81 (1.81 is pi/sqrt(3) = 1.8138 rounded; relative gap 2e-3)
    assert log_or_to_smd(1.81).value == pytest.approx(1.0, rel=3e-3)
    # metafor escalc(measure="OR2DL"): yi * sqrt(3)/pi, vi * 3/pi^2 (exact)
    smd, v = log_or_to_smd(np.array([0.5, -1.2]), var=np.array([0.04, 0.1]))
    np.testing.assert_allclose(smd, np.array([0.5, -1.2]) * math.sqrt(3) / math.pi, rtol=1e-15)
    np.testing.assert_allclose(v, np.array([0.04, 0.1]) * 3 / math.pi**2, rtol=1e-15)
    back, vback = smd_to_log_or(smd, var=v)
    np.testing.assert_allclose(back, [0.5, -1.2], rtol=1e-14)
    np.testing.assert_allclose(vback, [0.04, 0.1], rtol=1e-14)


# ----------------------------------------------------------------------------- change scores


def test_change_score_sd_handbook_example() -> None:
    # HB5.1 §16.4.6.4 (cross-over example, same formula as HB6.4 §6.5.2.8): SD_E = 2.38,
    # SD_C = 2.21, imputed Corr = 0.68, n = 10 -> "the standard error of MD is then 0.583"
    assert round(change_score_sd(2.38, 2.21, 0.68) / math.sqrt(10), 3) == 0.583


def test_change_score_sd_limits() -> None:
    # identities: r = 0 -> sqrt(a^2 + b^2); r = 1 with equal SDs -> 0; r = -1 -> a + b
    assert change_score_sd(3.0, 4.0, 0.0) == pytest.approx(5.0, rel=1e-15)
    assert change_score_sd(3.0, 3.0, 1.0) == 0.0
    assert change_score_sd(3.0, 4.0, -1.0) == pytest.approx(7.0, rel=1e-15)


@settings(max_examples=200, deadline=None)
@given(
    sd_b=st.floats(0.01, 100.0),
    sd_f=st.floats(0.01, 100.0),
    r=st.floats(-0.999, 0.999),
)
def test_change_score_correlation_round_trip(sd_b: float, sd_f: float, r: float) -> None:
    sd_c = change_score_sd(sd_b, sd_f, r)
    assert correlation_from_sds(sd_b, sd_f, sd_c) == pytest.approx(r, abs=1e-9)


# ----------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: sd_from_se([1.0, -2.0], 20), "se"),
        (lambda: sd_from_se(1.0, 1), "n"),
        (lambda: sd_from_se(1.0, 20.5), "n"),
        (lambda: sd_from_ci(5.0, 4.0, 20), "ci_high"),
        (lambda: sd_from_ci(4.0, 5.0, 20, level=95), "level"),
        (lambda: sd_from_ci(4.0, 5.0, 20, distribution="normal"), "distribution"),
        (lambda: sd_from_ci_difference(1.0, 2.0, 20, 1), "n2"),
        (lambda: sd_from_pvalue(0.0, 3.8, 25, 22), "pvalue"),
        (lambda: sd_from_pvalue(1.0, 3.8, 25, 22), "pvalue"),
        (lambda: sd_from_pvalue(1.5, 3.8, 25, 22), "pvalue"),
        (lambda: sd_from_pvalue(0.05, 0.0, 25, 22), "mean_difference"),
        (lambda: sd_from_t(0.0, 3.8, 25, 22), "t"),
        (lambda: change_score_sd(3.0, 4.0, 1.2), "correlation"),
        (lambda: change_score_sd([3.0, 3.0], [4.0, 4.0], [0.5, -1.01]), "correlation"),
        (lambda: change_score_sd(-3.0, 4.0, 0.5), "sd_baseline"),
        (lambda: correlation_from_sds(3.0, 4.0, 8.0), "sd_change"),
        (lambda: combine_groups(10, 1.0, -1.0, 10, 2.0, 1.0), "sd1"),
        (lambda: combine_many_groups([10, 12], [1.0, 2.0], [1.0, -2.0]), "sd[1]"),
        (lambda: combine_many_groups([10, 12], [1.0], [1.0, 2.0]), "mean"),
        (lambda: log_or_to_smd(0.5, var=-0.1), "var"),
        (lambda: mean_sd_from_median(5.0, q1=3.0, n=20), "q3"),
        (lambda: mean_sd_from_median(5.0, n=20), "q1"),
        (lambda: mean_sd_from_median(5.0, q1=6.0, q3=8.0, n=20), "median"),
        (lambda: mean_sd_from_median(5.0, q1=3.0, q3=7.0, maximum=6.0, minimum=1.0, n=20), "maximum"),
        (lambda: mean_sd_from_median(5.0, q1=3.0, q3=7.0, n=4), "n"),
        (lambda: mean_sd_from_median([5.0, 5.0], q1=3.0, q3=[7.0, 2.0], n=20), "q3"),
        (lambda: mean_sd_from_median(5.0, q1=3.0, q3=7.0, n=20, sd_estimator_s3="x"), "sd_estimator_s3"),
    ],
)
def test_bad_inputs_name_the_argument(call, name: str) -> None:
    with pytest.raises(MetaacuInputError, match=re.escape(f"'{name}'")):
        call()


def test_mismatched_lengths_name_the_arguments() -> None:
    with pytest.raises(MetaacuInputError, match=r"same number of studies.*se=2, n=3"):
        sd_from_se([1.0, 2.0], [10, 20, 30])
    with pytest.raises(MetaacuInputError, match=r"n1=2.*n2=3"):
        combine_groups([10, 12], 1.0, 1.0, [10, 11, 12], 2.0, 1.0)


def test_bad_input_names_the_study_index() -> None:
    with pytest.raises(MetaacuInputError, match=r"'correlation'.*study index 2"):
        change_score_sd([3.0, 3.0, 3.0], [4.0, 4.0, 4.0], [0.1, 0.2, 1.5])
    with pytest.raises(MetaacuInputError, match=r"'n'.*study index 1"):
        sd_from_se([1.0, 1.0], [30, 1])
