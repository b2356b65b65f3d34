"""Funnel-plot asymmetry in the intravenous magnesium trials (16 trials; Egger M, Davey Smith G,
Altman DG (eds.), Systematic Reviews in Health Care, 2nd ed., BMJ Books 2001, Table 18.2 —
metadat::dat.egger2001), log odds ratios.

Expected values: metafor's test suite (tests/testthat/test_misc_pub_bias.r), printed to 4
decimals: regtest (mixed-effects, REML, sei) z = -4.6686; regtest(model="lm",
predictor="sqrtninv") t = -5.6083; ranktest tau = 0.15, p = 0.4503.  The published
book values were not located in the time available (see the handover report); tolerance is half a
unit of the last printed digit.
"""

from __future__ import annotations

import numpy as np
import pytest

from metaacu import meta_analysis
from metaacu.bias import egger_test, rank_test

AI = [1, 9, 2, 1, 10, 1, 1, 0, 6, 1, 2, 5, 4, 90, 4, 2216]
N1 = [40, 135, 200, 48, 150, 59, 25, 22, 76, 27, 89, 23, 130, 1159, 107, 29011]
CI = [2, 23, 7, 1, 8, 9, 3, 1, 11, 7, 12, 13, 8, 118, 17, 2103]
N2 = [36, 135, 200, 46, 148, 56, 23, 21, 75, 27, 80, 33, 122, 1157, 108, 29039]


def _log_or():
    a, n1, c, n2 = (np.array(x, dtype=float) for x in (AI, N1, CI, N2))
    b, d = n1 - a, n2 - c
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    a, b, c, d = (x + 0.5 * zero for x in (a, b, c, d))
    return np.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d, np.array(N1) + np.array(N2)


def test_magnesium_regression_and_rank_tests():
    yi, vi, ni = _log_or()
    res = meta_analysis(yi, vi)
    assert egger_test(res, model="rma").statistic == pytest.approx(-4.6686, abs=5e-5)
    assert egger_test(res, model="lm", predictor="sqrtninv", ni=ni).statistic == pytest.approx(-5.6083, abs=5e-5)
    rk = rank_test(res)
    assert rk.tau == pytest.approx(0.15, abs=5e-5)
    assert rk.pvalue == pytest.approx(0.4503, abs=5e-5)
