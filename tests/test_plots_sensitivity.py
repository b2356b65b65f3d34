"""Leave-one-out and cumulative forest plots, and the estimates-only forest plot they use."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

import metaacu
from metaacu import MetaacuInputError
from metaacu.datasets import bcg
from metaacu.plots import cumulative_plot, forest_plot, leave_one_out_plot


@pytest.fixture(scope="module")
def bcg_fit():
    d = bcg()
    es = metaacu.effect_sizes("RR", data=d, labels="trial", events1="tpos", n1="n1", events2="cpos", n2="n2")
    return metaacu.meta_analysis(es), d


def test_leave_one_out_plot_rows_match_results(bcg_fit):
    res, _ = bcg_fit
    loo = metaacu.leave_one_out(res)
    fp = leave_one_out_plot(loo)
    assert len(fp.extra_diamonds) == res.k + 1
    assert fp.ax.get_xscale() == "log"
    labels = list(fp.rows.loc[fp.rows["kind"] == "extra", "label"])
    assert labels[0] == f"Omitting {res.labels[0]}" and labels[-1].startswith("All studies")
    # the last diamond spans the full model's CI (back-transformed on the log axis)
    xy = np.asarray(fp.extra_diamonds[-1].get_xy())
    assert xy[:, 0].min() == pytest.approx(np.exp(res.ci_low), rel=1e-9)
    assert xy[:, 0].max() == pytest.approx(np.exp(res.ci_high), rel=1e-9)
    plt.close(fp.figure)


def test_cumulative_plot_last_step_equals_full_fit(bcg_fit):
    res, d = bcg_fit
    cum = metaacu.cumulative(res, sort_by=d["year"].to_numpy())
    fp = cumulative_plot(cum)
    last, full = np.asarray(fp.extra_diamonds[-2].get_xy()), np.asarray(fp.extra_diamonds[-1].get_xy())
    np.testing.assert_allclose(last[:, 0].min(), full[:, 0].min(), rtol=1e-9)
    assert not fp.diamonds  # nothing pooled: no filled diamond
    plt.close(fp.figure)


def test_estimates_only_forest_needs_rows():
    with pytest.raises(MetaacuInputError, match="extra_rows"):
        forest_plot(None)
