"""The shared inferential formulas (metaacu.inference): published quantiles, exact identities and the
one-study convention, for scalars and arrays alike."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metaacu.inference import (
    Z975,
    critical_value,
    q_heterogeneity,
    tau2_heterogeneity,
    two_sided_p,
    typical_variance,
)


def test_critical_values_match_published_quantiles():
    # normal 0.975 quantile 1.959964; t(10) 2.228139; t(2) at 90% 2.919986 (standard tables)
    assert pytest.approx(1.959963984540054, abs=1e-15) == Z975
    assert critical_value(0.95) == Z975
    assert critical_value(0.95, 10) == pytest.approx(2.228138851986, abs=1e-12)
    assert critical_value(0.90, 2) == pytest.approx(2.919985580354, abs=1e-12)
    arr = critical_value(0.95, np.array([np.inf, 10.0]))
    np.testing.assert_array_equal(arr, [Z975, critical_value(0.95, 10)])


def test_two_sided_p_inverts_the_critical_value():
    for df in (math.inf, 3.0, 30.0):
        assert float(two_sided_p(critical_value(0.95, df), df)) == pytest.approx(0.05, abs=1e-14)


@pytest.mark.parametrize(("q", "df", "i2"), [(20.0, 10, 50.0), (5.0, 10, 0.0), (0.0, 4, 0.0), (3.0, 0, 0.0)])
def test_q_based_i2_and_the_one_study_convention(q, df, i2):
    p, got_i2, h2 = q_heterogeneity(q, df)
    assert got_i2 == pytest.approx(i2)
    assert h2 == (q / df if df else 1.0)
    assert p == (1.0 if df == 0 else pytest.approx(float(__import__("scipy").stats.chi2.sf(q, df))))
    pa, ia, ha = q_heterogeneity(np.array([q]), np.array([float(df)]))
    assert (float(pa[0]), float(ia[0]), float(ha[0])) == pytest.approx((p, got_i2, h2))


def test_typical_variance_of_the_intercept_only_model_is_higgins_thompson_eq9():
    # s² = (k − 1)Σw / ((Σw)² − Σw²) (Higgins & Thompson 2002, eq. 9) equals (k − 1)/tr P0
    w = 1.0 / np.array([0.02, 0.05, 0.01, 0.08, 0.03])
    k = w.size
    eq9 = (k - 1) * w.sum() / (w.sum() ** 2 - (w * w).sum())
    assert typical_variance(k - 1, w.sum() - (w * w).sum() / w.sum()) == pytest.approx(eq9, rel=1e-14)
    assert math.isnan(typical_variance(0, 0.0))


def test_tau2_based_i2_identity_and_one_study():
    i2, h2 = tau2_heterogeneity(0.3, 0.1, 4)
    assert i2 == pytest.approx(75.0) and h2 == pytest.approx(4.0)
    assert tau2_heterogeneity(0.3, math.nan, 0) == (0.0, 1.0)
    ia, ha = tau2_heterogeneity(np.array([0.3, 0.3]), np.array([0.1, np.nan]), np.array([4.0, 0.0]))
    np.testing.assert_allclose(ia, [75.0, 0.0]) and np.testing.assert_allclose(ha, [4.0, 1.0])
