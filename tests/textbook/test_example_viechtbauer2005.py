"""τ² estimators on the two examples of Viechtbauer (2005).

Source: Viechtbauer W. Bias and efficiency of meta-analytic variance estimators in the
random-effects model. J Educ Behav Stat 2005;30(3):261-293.  Example 1 (k = 10): data and the
estimates on p. 271; example 2 (k = 18): data and estimates on p. 272.  The page attribution and
the four-decimal values are those of metafor's own reproduction of the paper
(tests/testthat/test_analysis_example_viechtbauer2005.r in github.com/wviechtb/metafor and
https://www.metafor-project.org/doku.php/analyses:viechtbauer2005).  The paper's EB estimator is
the empirical Bayes (Morris) estimator, which for the intercept-only model solves the same
equation as Paule-Mandel.  Tolerance: half a unit of the last printed digit (4 decimals).
"""

from __future__ import annotations

import pytest

import metaacu

TOL = 0.5e-4  # half a unit in the 4th decimal

EXAMPLE1_YI = [-0.581, 0.530, 0.771, 1.031, 0.553, 0.295, 0.078, 0.573, -0.176, -0.232]
EXAMPLE1_VI = [0.023, 0.052, 0.060, 0.115, 0.095, 0.203, 0.200, 0.211, 0.051, 0.040]

EXAMPLE2_YI = [
    0.100,
    -0.162,
    -0.090,
    -0.049,
    -0.046,
    -0.010,
    -0.431,
    -0.261,
    0.134,
    0.019,
    0.175,
    0.056,
    0.045,
    0.103,
    0.121,
    -0.482,
    0.290,
    0.342,
]
EXAMPLE2_VI = [
    0.016,
    0.015,
    0.050,
    0.050,
    0.032,
    0.052,
    0.036,
    0.024,
    0.034,
    0.033,
    0.031,
    0.034,
    0.039,
    0.167,
    0.134,
    0.096,
    0.016,
    0.035,
]

# τ² per estimator, p. 271 (example 1) and p. 272 (example 2)
EXAMPLE1_TAU2 = {"HS": 0.2282, "HE": 0.1484, "DL": 0.2768, "ML": 0.1967, "REML": 0.2232, "EB": 0.1920, "SJ": 0.1992}
EXAMPLE2_TAU2 = {"HS": 0.0099, "HE": 0.0000, "DL": 0.0126, "ML": 0.0132, "REML": 0.0157, "EB": 0.0104, "SJ": 0.0248}


@pytest.mark.parametrize(("method", "expected"), EXAMPLE1_TAU2.items())
def test_example1_tau2(method: str, expected: float) -> None:
    res = metaacu.meta_analysis(EXAMPLE1_YI, EXAMPLE1_VI, method=method)
    assert res.tau2 == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize(("method", "expected"), EXAMPLE2_TAU2.items())
def test_example2_tau2(method: str, expected: float) -> None:
    res = metaacu.meta_analysis(EXAMPLE2_YI, EXAMPLE2_VI, method=method)
    assert res.tau2 == pytest.approx(expected, abs=TOL)


def test_example2_he_truncated_at_zero() -> None:
    # p. 272: the HE estimate is negative and truncated to 0
    res = metaacu.meta_analysis(EXAMPLE2_YI, EXAMPLE2_VI, method="HE")
    assert res.tau2 == 0.0
    assert res.tau2_at_boundary
