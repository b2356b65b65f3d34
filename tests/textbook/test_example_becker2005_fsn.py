"""Fail-safe N for the teacher-expectancy data (Raudenbush 1984; 19 studies, standardized mean
differences) as analysed by Becker BJ (2005), "Failsafe N or file-drawer number", chapter 7 of
Rothstein HR, Sutton AJ, Borenstein M (eds.), Publication Bias in Meta-Analysis, Wiley.

Expected values are those metafor's own test suite records for this example
(tests/testthat/test_misc_fsn.r, citing Becker 2005): Rosenthal N = 26 (Becker reports about 23
because she uses p-values from t-tests rather than z), Orwin N = 44 (unweighted mean, target 0.05)
and 4 (weighted mean), Rosenberg N = 0.  These are integers, so the match is exact.
"""

from __future__ import annotations

from metaacu import meta_analysis
from metaacu.trimfill import fail_safe_n

# metadat::dat.raudenbush1985 (yi, vi)
YI = [
    0.03,
    0.12,
    -0.14,
    1.18,
    0.26,
    -0.06,
    -0.02,
    -0.32,
    0.27,
    0.8,
    0.54,
    0.18,
    -0.02,
    0.23,
    -0.18,
    -0.06,
    0.3,
    0.07,
    -0.07,
]
VI = [
    0.0156,
    0.0216,
    0.0279,
    0.1391,
    0.1362,
    0.0106,
    0.0106,
    0.0484,
    0.0269,
    0.063,
    0.0912,
    0.0497,
    0.0835,
    0.0841,
    0.0253,
    0.0279,
    0.0193,
    0.0088,
    0.0303,
]


def test_becker2005_failsafe_numbers():
    res = meta_analysis(YI, VI)
    assert fail_safe_n(res).n == 26  # Becker: ~23 (t-tests)
    assert fail_safe_n(res, approach="orwin", target=0.05).n == 44
    assert fail_safe_n(res, approach="orwin", target=0.05, weighted=True).n == 4
    assert fail_safe_n(res, approach="rosenberg").n == 0
