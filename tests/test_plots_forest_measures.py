"""Forest plots of the measures of tracker issue 14 on their natural scale: correlations (ZCOR: tanh),
proportions (PFT: the inverse Freeman-Tukey, pooled values at the harmonic mean of n), incidence rates
(IRFT at the harmonic mean of the person-times, IRLN on a log axis) and Mantel-Haenszel rate ratios.

Expected numbers come from the fitted result and metaacu's back-transformation (pinned to metafor's
``transf.*`` by tests/reference/test_metafor_escalc_more.py); the synthetic data come from fixed seeds.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from test_plots_forest import assert_legible

import metaacu
from metaacu.plots import forest_plot

RTOL = 1e-12  # the plot draws the values the result's own back-transformation gives


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def effects(measure: str, k: int, seed: int = 1) -> metaacu.EffectSizes:
    r = np.random.default_rng(seed)
    if measure == "ZCOR":
        return metaacu.effect_sizes(
            "ZCOR", correlation=np.clip(r.normal(0.3, 0.2, k), -0.95, 0.95).round(2), n=r.integers(10, 300, k)
        )
    if measure == "PFT":
        n = r.integers(5, 400, k)
        x = r.binomial(n, r.beta(2, 6, k))
        x[0], x[-1] = 0, n[-1]  # a proportion of 0 and one of 1: defined without correction
        return metaacu.effect_sizes("PFT", events=x, n=n)
    t = r.uniform(50, 3000, k).round(1)
    return metaacu.effect_sizes(measure, events=r.poisson(0.02 * t), time=t)


def natural(res: metaacu.MetaAnalysis) -> tuple[np.ndarray, np.ndarray]:
    """The studies' values and the pooled (low, estimate, high) on the natural scale."""
    info = res.info
    col = info.size_column
    sizes = res.effects.data[col].to_numpy(float) if col is not None and res.effects is not None else None
    hm = info.pooled_size(sizes) if sizes is not None else None
    studies = info.to_display(res.yi, sizes)
    return studies, info.to_display([res.ci_low, res.estimate, res.ci_high], hm)


@pytest.mark.parametrize("k", [3, 60])
@pytest.mark.parametrize(
    ("measure", "scale", "low", "high"),
    [
        ("ZCOR", "linear", -1.0, 1.0),
        ("PFT", "linear", 0.0, 1.0),
        ("IRFT", "linear", 0.0, np.inf),
        ("IRLN", "log", 0.0, np.inf),
    ],
)
def test_natural_scale_axis_squares_and_diamond(measure: str, scale: str, low: float, high: float, k: int) -> None:
    res = metaacu.meta_analysis(effects(measure, k))
    fp = forest_plot(res)
    studies, (lo, est, hi) = natural(res)
    assert fp.ax.get_xscale() == scale
    np.testing.assert_allclose(np.sort(fp.squares.get_offsets()[:, 0]), np.sort(studies), rtol=RTOL)
    np.testing.assert_allclose(fp.diamonds[0].get_xy()[:4, 0], [lo, est, hi, est], rtol=RTOL)
    x0, x1 = fp.ax.get_xlim()
    ticks = [t for t in fp.ax.get_xticks() if x0 <= t <= x1]
    assert len(ticks) >= 3
    assert low - 1e-12 <= min(ticks) and max(ticks) <= high + 1e-12  # ticks inside the natural range
    if measure != "ZCOR":  # one-group measures: the axis spans the data (no arrows needed)
        assert x0 <= studies.min() and studies.max() <= x1
    labels = [t.get_text() for t in fp.ax.get_xticklabels() if t.get_text()]
    assert all(len(s) <= 5 and "e" not in s for s in labels), labels  # nice ticks, not 0.343768...
    heads = [t.get_text() for t in fp.texts]
    assert res.info.display_name in heads
    pooled_text = fp.rows.loc[fp.rows.kind == "pooled", "estimate"].item()
    assert pooled_text == pytest.approx(est, rel=RTOL)
    assert_legible(fp.figure)


def test_mantel_haenszel_rate_ratio_forest_plot() -> None:
    """dat.hart1999 (metadat): events and person-time columns, a log axis, the MH diamond and weights."""
    res = metaacu.mantel_haenszel_rates(
        [9, 8, 3, 6, 7, 20], [413, 263, 487, 237, 489, 507], [19, 19, 13, 9, 23, 50], [398, 245, 435, 241, 483, 405]
    )
    fp = forest_plot(res)
    assert fp.ax.get_xscale() == "log"
    np.testing.assert_allclose(
        fp.diamonds[0].get_xy()[:4, 0], np.exp([res.ci_low, res.estimate, res.ci_high, res.estimate]), rtol=RTOL
    )
    texts = [t.get_text() for t in fp.texts]
    assert "Person-time" in texts and "M-H, Fixed, 95% CI" in texts
    assert "2396" in texts and "133" in texts  # the totals of the arms
    np.testing.assert_allclose(np.sort(fp.rows.loc[fp.rows.kind == "study", "weight"]), np.sort(res.weights))
    assert_legible(fp.figure)
