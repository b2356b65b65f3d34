"""Three-level meta-analysis of Konstantopoulos (2011), Table 5.

Source: Konstantopoulos S. Fixed effects and variance components estimation in three-level
meta-analysis. Res Synth Methods 2011;2(1):61-76, Table 5 (p. 71): ML estimates of the three-level
model (effects within schools within districts) without and with the moderator year (centred at its
mean).  The page attribution and four-decimal values are those of metafor's own reproduction
(tests/testthat/test_analysis_example_konstantopoulos2011.r in github.com/wviechtb/metafor; the
paper's intercept of the model with year, 0.183, is there judged a misprint and is not tested here).
The data (metadat's dat.konstantopoulos2011) are read from tests/reference/metafor_multilevel.json,
where make_fixtures_multilevel.R wrote them.  Tolerance: half a unit of the last printed digit.
"""

from __future__ import annotations

import numpy as np
import pytest

from metaacu import multilevel_meta_analysis

from tolerances import reference

TOL = 0.5e-4  # half a unit in the 4th decimal

CASE = next(c for c in reference("multilevel")["cases"] if c["name"] == "konstantopoulos2011_ml")
YI = np.array(CASE["yi"])
VI = np.array(CASE["vi"])
NESTED = {"district": CASE["groups"][0], "school": CASE["groups"][1]}
YEAR = np.array(next(c for c in reference("multilevel")["cases"] if c["name"] == "konstantopoulos2011_year_t")["X"])[
    :, 1
]


def test_three_level_model_table5() -> None:
    res = multilevel_meta_analysis(YI, VI, nested=NESTED, method="ML")
    assert res.estimate[0] == pytest.approx(0.1845, abs=TOL)
    assert res.se[0] == pytest.approx(0.0805, abs=TOL)
    assert res.sigma2 == pytest.approx([0.0577, 0.0329], abs=TOL)
    assert res.k == 56 and [c.levels for c in res.components] == [11, 56]


def test_three_level_model_with_year_table5() -> None:
    res = multilevel_meta_analysis(YI, VI, YEAR - YEAR.mean(), nested=NESTED, method="ML")
    assert res.estimate[1] == pytest.approx(0.0051, abs=TOL)
    assert res.se == pytest.approx([0.0805, 0.0085], abs=TOL)
    assert res.sigma2 == pytest.approx([0.0565, 0.0329], abs=TOL)
