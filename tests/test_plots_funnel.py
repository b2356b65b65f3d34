"""Funnel plot: points, pseudo-confidence limits, contours and imputed studies match the inputs.

Expected values are computed from the fitted result (the plot must show what the model says);
data are synthetic from a fixed seed.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.testing.compare import compare_images
from scipy import stats

import metaacu
from metaacu import MetaacuInputError
from metaacu.plots import FunnelStyle, funnel_plot, save_figure

BASELINE = Path(__file__).parent / "baseline"
IMAGE_TOL = 2.0  # RMS; see tests/test_plots_forest.py
BASELINE_DPI = 80
Z95 = stats.norm.ppf(0.975)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def fit(measure="OR", k=30, seed=3):
    r = np.random.default_rng(seed)
    vi = r.uniform(0.005, 0.2, k)
    yi = r.normal(-0.3, np.sqrt(vi + 0.01))
    return metaacu.meta_analysis(yi, vi, measure=measure)


FILLED = (np.array([0.2, 0.35]), np.array([0.1, 0.15]))


def test_points_are_studies_with_inverted_se_axis():
    res = fit("SMD")
    f = funnel_plot(res)
    xy = f.points.get_offsets()
    np.testing.assert_allclose(xy[:, 0], res.yi, rtol=1e-12)
    np.testing.assert_allclose(xy[:, 1], np.sqrt(res.vi), rtol=1e-12)
    y0, y1 = f.ax.get_ylim()
    assert y0 > y1 == 0.0 and f.ax.get_xscale() == "linear"
    np.testing.assert_allclose(f.estimate_line.get_xdata(), [res.estimate] * 2)


def test_pseudo_limits_are_estimate_plus_minus_z_se():
    res = fit("SMD")
    left, right = funnel_plot(res).limits
    se = left.get_ydata()
    np.testing.assert_allclose(left.get_xdata(), res.estimate - Z95 * se, rtol=1e-12)
    np.testing.assert_allclose(right.get_xdata(), res.estimate + Z95 * se, rtol=1e-12)


def test_ratio_on_log_axis_back_transformed():
    res = fit("OR")
    f = funnel_plot(res)
    assert f.ax.get_xscale() == "log"
    np.testing.assert_allclose(f.points.get_offsets()[:, 0], np.exp(res.yi), rtol=1e-12)
    np.testing.assert_allclose(f.estimate_line.get_xdata(), [np.exp(res.estimate)] * 2, rtol=1e-12)
    labels = [t.get_text() for t in f.ax.get_xticklabels()]
    assert "1" in labels and all("$" not in s for s in labels)


def test_contours_shade_significance_regions_around_null():
    res = fit("SMD")
    f = funnel_plot(res, contours=True)
    assert len(f.contours) == 2 * len(FunnelStyle().contour_levels)
    # the innermost edge of the p < 0.01 region at the widest SE is z_0.995 * SE from the null
    path = f.contours[0].get_paths()[0].vertices  # right-hand p < 0.01 region (drawn last)
    semax = f.ax.get_ylim()[0]
    at_max = path[np.isclose(path[:, 1], semax)][:, 0]
    assert np.isclose(at_max.min(), stats.norm.ppf(0.995) * semax)
    assert [t.get_text() for t in f.ax.get_legend().get_texts()][-1] == "p < 0.01"


def test_filled_points_drawn_hollow():
    f = funnel_plot(fit("OR"), filled=FILLED)
    np.testing.assert_allclose(f.filled.get_offsets()[:, 0], np.exp(FILLED[0]))
    np.testing.assert_allclose(f.filled.get_offsets()[:, 1], np.sqrt(FILLED[1]))
    np.testing.assert_allclose(f.filled.get_facecolors()[0][:3], [1, 1, 1])


def test_bad_filled_names_the_argument():
    with pytest.raises(MetaacuInputError, match="filled"):
        funnel_plot(fit(), filled=(np.array([0.1, 0.2]), np.array([0.1])))
    with pytest.raises(MetaacuInputError, match="filled"):
        funnel_plot(fit(), filled=(np.array([0.1]),))


def test_labels_fit_inside_the_figure():
    fig = funnel_plot(fit("OR"), contours=True, filled=FILLED).figure
    fig.canvas.draw()
    w, h = fig.canvas.get_width_height()
    for t in fig.findobj(matplotlib.text.Text):
        if t.get_visible() and t.get_text():
            bb = t.get_window_extent()
            assert bb.x0 >= 0 and bb.y0 >= 0 and bb.x1 <= w and bb.y1 <= h, t.get_text()


def test_svg_is_byte_identical(tmp_path):
    fig = funnel_plot(fit("OR"), contours=True).figure
    assert save_figure(fig, tmp_path / "a.svg").read_bytes() == save_figure(fig, tmp_path / "b.svg").read_bytes()


def fig_funnel():
    return funnel_plot(fit("OR"), contours=True, filled=FILLED).figure


@pytest.mark.mpl_image_compare(
    baseline_dir="baseline",
    tolerance=IMAGE_TOL,
    style="default",
    savefig_kwargs={"dpi": BASELINE_DPI},
    filename="funnel_or_contours.png",
)
def test_image_funnel():
    return fig_funnel()


def test_matches_baseline_image_without_pytest_mpl(tmp_path):
    actual = save_figure(fig_funnel(), tmp_path / "funnel.png", dpi=BASELINE_DPI)
    assert compare_images(str(BASELINE / "funnel_or_contours.png"), str(actual), tol=IMAGE_TOL) is None
