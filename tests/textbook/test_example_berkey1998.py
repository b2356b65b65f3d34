"""Multivariate meta-regression of Berkey et al. (1998), Table II.

Source: Berkey CS, Hoaglin DC, Antczak-Bouckoms A, Mosteller F, Colditz GA. Meta-analysis of
multiple outcomes by regression with random effects. Stat Med 1998;17(22):2537-2550, Table II
(p. 2545): ML fit of the bivariate model for probing depth (PD) and attachment level (AL) with
within-trial covariances known, outcome-specific intercepts and slopes on publication year − 1983,
and an unstructured between-trial covariance.  The page attribution and four-decimal values are those
of metafor's own reproduction (tests/testthat/test_analysis_example_berkey1998.r in
github.com/wviechtb/metafor).  The data (metadat's dat.berkey1998 and the block-diagonal V built from
its v1i, v2i) are read from tests/reference/metafor_multilevel.json, where make_fixtures_multilevel.R
wrote them.  Tolerance: half a unit of the last printed digit.
"""

from __future__ import annotations

import numpy as np
import pytest

from metaacu import multilevel_meta_analysis

from tolerances import reference

TOL = 0.5e-4  # half a unit in the 4th decimal

CASE = next(c for c in reference("multilevel")["cases"] if c["name"] == "berkey1998_un_year_ml")


def test_multivariate_meta_regression_table2() -> None:
    assert CASE["coef_names"] == ["outcomeAL", "outcomePD", "outcomeAL:year_c", "outcomePD:year_c"]
    res = multilevel_meta_analysis(
        CASE["yi"],
        V=np.array(CASE["V"]),
        moderators=np.array(CASE["X"]),
        intercept=False,
        outcome={"outcome": CASE["groups"][0]},
        cluster={"trial": CASE["groups"][1]},
        struct="UN",
        method="ML",
    )
    assert res.estimate == pytest.approx([-0.3351, 0.3479, -0.0108, 0.0010], abs=TOL)
    assert res.se == pytest.approx([0.0787, 0.0520, 0.0243, 0.0154], abs=TOL)
    assert res.inner_levels == ("AL", "PD")
    assert res.tau2 == pytest.approx([0.0250, 0.0080], abs=TOL)
    assert res.rho[0] == pytest.approx(0.6587, abs=TOL)
    assert res.rho[0] * np.sqrt(res.tau2.prod()) == pytest.approx(0.0093, abs=TOL)  # the covariance
