"""BCG vaccine trials (Colditz et al. 1994): the random-effects analysis of log risk ratios as
published in Viechtbauer (2010).

Data: Colditz GA, Brewer TF, Berkey CS, et al. Efficacy of BCG vaccine in the prevention of
tuberculosis. Meta-analysis of the published literature. JAMA 1994;271:698-702, Table 1 — as
distributed in R's metadat (``dat.bcg``).  The four counts per trial were checked against the
reproduction of the table in van Houwelingen, Arends & Stijnen (2002), Stat Med 21:589-624,
Table I (p. 594).

Published analysis: Viechtbauer W. Conducting meta-analyses in R with the metafor package.
J Stat Softw 2010;36(3):1-48 (doi:10.18637/jss.v036.i03), the BCG example of Section 3: the
``escalc(measure = "RR", ...)`` listing and the printed output of ``rma(yi, vi, data = dat)``
(REML).  Expected values are printed there to 4 decimals (I² to 2); the tolerance is half a unit
of the last printed digit.
"""

from __future__ import annotations

import numpy as np
import pytest

import metaacu

# trial, author, year, tpos (vaccinated TB+), tneg, cpos (control TB+), cneg
BCG = [
    (1, "Aronson", 1948, 4, 119, 11, 128),
    (2, "Ferguson & Simes", 1949, 6, 300, 29, 274),
    (3, "Rosenthal et al", 1960, 3, 228, 11, 209),
    (4, "Hart & Sutherland", 1977, 62, 13536, 248, 12619),
    (5, "Frimodt-Moller et al", 1973, 33, 5036, 47, 5761),
    (6, "Stein & Aronson", 1953, 180, 1361, 372, 1079),
    (7, "Vandiviere et al", 1973, 8, 2537, 10, 619),
    (8, "TPT Madras", 1980, 505, 87886, 499, 87892),
    (9, "Coetzee & Berjak", 1968, 29, 7470, 45, 7232),
    (10, "Rosenthal et al", 1961, 17, 1699, 65, 1600),
    (11, "Comstock et al", 1974, 186, 50448, 141, 27197),
    (12, "Comstock & Webster", 1969, 5, 2493, 3, 2338),
    (13, "Comstock et al", 1976, 27, 16886, 29, 17825),
]


def half_unit(decimals: int) -> float:
    """Tolerance for a value printed with ``decimals`` decimals."""
    return 0.5 * 10.0**-decimals


@pytest.fixture(scope="module")
def effects() -> metaacu.EffectSizes:
    tpos, tneg, cpos, cneg = (np.array([row[i] for row in BCG]) for i in (3, 4, 5, 6))
    return metaacu.effect_sizes(
        "RR",
        events1=tpos,
        n1=tpos + tneg,
        events2=cpos,
        n2=cpos + cneg,
        labels=[f"{r[1]} {r[2]}" for r in BCG],
    )


@pytest.fixture(scope="module")
def reml(effects: metaacu.EffectSizes) -> metaacu.MetaAnalysis:
    return metaacu.meta_analysis(effects, method="REML")


def test_log_risk_ratios(effects: metaacu.EffectSizes) -> None:
    # Viechtbauer 2010, Section 3.1, escalc(measure = "RR") listing: trials 1 and 2
    assert effects.yi[0] == pytest.approx(-0.8893, abs=half_unit(4))
    assert effects.vi[0] == pytest.approx(0.3256, abs=half_unit(4))
    assert effects.yi[1] == pytest.approx(-1.5854, abs=half_unit(4))
    assert effects.vi[1] == pytest.approx(0.1946, abs=half_unit(4))
    assert not effects.adjusted.any()  # no zero cells in this data set


def test_reml_model(reml: metaacu.MetaAnalysis) -> None:
    # Viechtbauer 2010, printed output of rma(yi, vi, data = dat), "Random-Effects Model (k = 13;
    # tau^2 estimator: REML)"
    assert reml.k == 13
    assert reml.tau2 == pytest.approx(0.3132, abs=half_unit(4))  # tau^2
    assert reml.tau == pytest.approx(0.5597, abs=half_unit(4))  # tau
    assert reml.i2 == pytest.approx(92.22, abs=half_unit(2))  # I^2 (%)
    assert reml.h2 == pytest.approx(12.86, abs=half_unit(2))  # H^2
    assert reml.q == pytest.approx(152.2330, abs=half_unit(4))  # Q(df = 12)
    assert reml.q_df == 12
    assert reml.q_pvalue < 1e-4  # "p-val < .0001"
    assert reml.estimate == pytest.approx(-0.7145, abs=half_unit(4))
    assert reml.se == pytest.approx(0.1798, abs=half_unit(4))
    assert reml.statistic == pytest.approx(-3.9744, abs=half_unit(4))  # zval
    assert reml.pvalue < 1e-4
    assert reml.ci_low == pytest.approx(-1.0669, abs=half_unit(4))
    assert reml.ci_high == pytest.approx(-0.3622, abs=half_unit(4))


def test_pooled_risk_ratio(reml: metaacu.MetaAnalysis) -> None:
    # Viechtbauer 2010, predict(res, transf = exp): pred 0.4894, CI 0.3441 to 0.6962
    assert np.exp(reml.estimate) == pytest.approx(0.4894, abs=half_unit(4))
    assert np.exp(reml.ci_low) == pytest.approx(0.3441, abs=half_unit(4))
    assert np.exp(reml.ci_high) == pytest.approx(0.6962, abs=half_unit(4))
