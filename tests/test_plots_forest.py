"""Forest plot: artists match the result, text never overlaps or clips, output is deterministic.

Expected numbers come from the fitted result itself (the plot must show what the model says);
the synthetic data below are generated from fixed seeds.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.testing.compare import compare_images
from matplotlib.text import Text

import metaacu
from metaacu import MetaacuInputError
from metaacu.escalc import effect_sizes
from metaacu.plots import ForestStyle, forest_plot, save_figure
from metaacu.report import format_ci

BASELINE = Path(__file__).parent / "baseline"
# RMS difference allowed against a baseline image: rendering is deterministic on one machine;
# 2 absorbs FreeType/antialiasing differences between matplotlib builds without hiding layout changes.
IMAGE_TOL = 2.0
BASELINE_DPI = 80
AUTHORS = ["Brinkhaus", "Cherkin", "Haake", "Witt", "Yuan", "Leibing", "Molsberger", "Kerr", "Thomas", "Meng"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def smd_effects(k: int, seed: int = 0):
    r = np.random.default_rng(seed)
    n1, n2 = r.integers(15, 200, k), r.integers(15, 200, k)
    m2 = r.normal(20, 3, k).round(1)
    m1 = (m2 - r.normal(2, 2, k)).round(1)
    labels = [f"{a} {y}" for a, y in zip(r.choice(AUTHORS, k), r.integers(1995, 2024, k), strict=True)]
    return effect_sizes(
        "SMD",
        n1=n1,
        mean1=m1,
        sd1=r.uniform(4, 9, k).round(1),
        n2=n2,
        mean2=m2,
        sd2=r.uniform(4, 9, k).round(1),
        labels=labels,
    )


E1, N1, E2, N2 = (
    [12, 8, 30, 5, 22, 2, 40],
    [60, 45, 120, 30, 100, 25, 150],
    [20, 15, 38, 9, 25, 6, 41],
    [58, 47, 118, 31, 99, 24, 149],
)
LABELS = ["Vickers 2004", "Thomas 2006", "Haake 2007", "Kerr 2003", "Cherkin 2009", "Leibing 2002", "Witt 2006"]


def rr_fit(idx=range(7), method="DL"):
    idx = list(idx)
    es = effect_sizes(
        "RR",
        events1=[E1[i] for i in idx],
        n1=[N1[i] for i in idx],
        events2=[E2[i] for i in idx],
        n2=[N2[i] for i in idx],
        labels=[LABELS[i] for i in idx],
    )
    return metaacu.meta_analysis(es, method=method)


@dataclass(frozen=True)
class Subgroups:
    """Stand-in for metaacu.subgroup_analysis's result (duck-typed by the plot)."""

    groups: dict
    overall: object
    q_between: float
    q_between_df: int
    q_between_pvalue: float


def subgroups():
    a, b = [0, 1, 2, 3], [4, 5, 6]
    ga, gb = rr_fit(a), rr_fit(b)
    # Q between from a common-effect meta-analysis of the two subgroup estimates (fixed-effect test).
    between = metaacu.meta_analysis([ga.estimate, gb.estimate], [ga.se**2, gb.se**2], method="EE")
    return Subgroups({"Sham control": ga, "Usual care": gb}, rr_fit(a + b), between.q, 1, between.q_pvalue)


EXTRA = pd.DataFrame(
    {
        "label": ["Review A 2005", "Review B 2012"],
        "estimate": np.log([0.72, 0.81]),
        "ci_low": np.log([0.55, 0.70]),
        "ci_high": np.log([0.94, 0.93]),
        "note": ["4 trials", "6 trials"],
    }
)


def study_rows(fp):
    return fp.rows.index[fp.rows.kind == "study"]


# --------------------------------------------------------------------------- artists match the result
def test_one_square_per_study_with_area_proportional_to_weight():
    res = metaacu.meta_analysis(smd_effects(7, 7))
    fp = forest_plot(res)
    sizes = fp.squares.get_sizes()
    assert len(sizes) == res.k == len(study_rows(fp))
    w = fp.rows.loc[study_rows(fp), "weight"].to_numpy()
    np.testing.assert_allclose(sizes / sizes.max(), w / w.max(), rtol=1e-12)
    np.testing.assert_array_equal(np.argsort(sizes, kind="stable"), np.argsort(w, kind="stable"))
    np.testing.assert_allclose(np.sort(w), np.sort(res.weights))


def test_diamond_centre_and_ends_equal_estimate_and_ci():
    res = metaacu.meta_analysis(smd_effects(7, 7))
    fp = forest_plot(res)
    assert fp.ax.get_xscale() == "linear"
    (d,) = fp.diamonds
    x = d.get_xy()[:4, 0]
    np.testing.assert_allclose(x, [res.ci_low, res.estimate, res.ci_high, res.estimate], rtol=1e-12)


def test_ratio_measure_on_log_axis_with_back_transformed_diamond_and_ticks():
    res = rr_fit()
    fp = forest_plot(res)
    assert fp.ax.get_xscale() == "log"
    x = fp.diamonds[0].get_xy()[:4, 0]
    np.testing.assert_allclose(x, np.exp([res.ci_low, res.estimate, res.ci_high, res.estimate]), rtol=1e-12)
    labels = [t.get_text() for t in fp.ax.get_xticklabels()]
    assert "1" in labels and all("e" not in s and "$" not in s for s in labels)
    np.testing.assert_allclose(np.sort(fp.squares.get_offsets()[:, 0]), np.sort(np.exp(res.yi)), rtol=1e-12)


@pytest.mark.parametrize("fit", ["smd", "rr"])
def test_pooled_row_text_equals_formatted_result(fit):
    res = metaacu.meta_analysis(smd_effects(7, 7)) if fit == "smd" else rr_fit()
    fp = forest_plot(res)
    i = int(fp.rows.index[fp.rows.kind == "pooled"][0])
    t = res.info.to_display
    assert fp.cells[(i, "ci")].get_text() == format_ci(
        float(t(res.estimate)), float(t(res.ci_low)), float(t(res.ci_high)), 2
    )
    assert fp.cells[(i, "weight")].get_text() == "100.0%"
    assert fp.cells[(i, "label")].get_text() == "Total (95% CI)"
    spans = [fp.cells[k].get_text() for k in fp.cells if k[1] == "span"]
    assert any(s.startswith("Heterogeneity: τ² = ") and f"df = {res.q_df}" in s for s in spans)
    assert any(s.startswith("Test for overall effect: Z = ") for s in spans)


def test_arrows_where_intervals_leave_the_axis():
    res = rr_fit()
    fp = forest_plot(res, xlim=(0.5, 2.0))
    lo = np.exp(res.yi - 1.959963984540054 * np.sqrt(res.vi))
    hi = np.exp(res.yi + 1.959963984540054 * np.sqrt(res.vi))
    assert len(fp.arrows) == int((lo < 0.5).sum() + (hi > 2.0).sum()) > 0
    assert {a.get_marker() for a in fp.arrows} <= {"<", ">"}
    segs = fp.whiskers.get_segments()
    assert min(s[0][0] for s in segs) >= 0.5 and max(s[1][0] for s in segs) <= 2.0
    assert len(forest_plot(res, xlim=(0.01, 100)).arrows) == 0


def test_not_pooled_rows_are_drawn_but_excluded_from_the_diamond():
    res = rr_fit()
    fp = forest_plot(res, extra_rows=EXTRA)
    assert len(fp.squares.get_sizes()) == res.k
    assert len(fp.extra_diamonds) == 2 and all(d.get_facecolor()[:3] == (1, 1, 1) for d in fp.extra_diamonds)
    np.testing.assert_allclose(fp.diamonds[0].get_xy()[1, 0], np.exp(res.estimate), rtol=1e-12)
    np.testing.assert_allclose(fp.extra_diamonds[0].get_xy()[:3, 0], [0.55, 0.72, 0.94], rtol=1e-12)
    labels = list(fp.rows.label)
    assert labels.index("Not pooled") < labels.index("Review A 2005")
    assert "4 trials" in [t.get_text() for t in fp.texts]


def test_second_model_adds_diamond_weight_column_and_test_line():
    random, common = rr_fit(method="DL"), rr_fit(method="EE")
    fp = forest_plot(random, second=common)
    assert len(fp.diamonds) == 2
    np.testing.assert_allclose(fp.diamonds[1].get_xy()[1, 0], np.exp(common.estimate), rtol=1e-12)
    keys = {k[1] for k in fp.cells}
    assert {"weight", "weight2"} <= keys
    spans = [fp.cells[k].get_text() for k in fp.cells if k[1] == "span"]
    assert sum(s.startswith("Test for overall effect") for s in spans) == 2


def test_subgroups_headers_diamonds_and_difference_test():
    sub = subgroups()
    fp = forest_plot(sub, favours=("acupuncture", "control"))
    kinds = list(fp.rows.kind)
    assert kinds.count("group") == 2 and kinds.count("pooled") == 3 and kinds.count("study") == 7
    np.testing.assert_allclose(
        [d.get_xy()[1, 0] for d in fp.diamonds],
        np.exp([g.estimate for g in sub.groups.values()] + [sub.overall.estimate]),
    )
    spans = [fp.cells[k].get_text() for k in fp.cells if k[1] == "span"]
    assert any(s.startswith("Test for subgroup differences: Q = ") for s in spans)
    assert sum(s.startswith("Heterogeneity") for s in spans) == 3
    # weights are the overall analysis' weights (RevMan), so they sum to 100 across subgroups
    assert np.isclose(fp.rows.loc[fp.rows.kind == "study", "weight"].sum(), 100.0)


def test_sort_by_year_and_extra_columns():
    res = rr_fit()
    cols = pd.DataFrame({"Risk of bias": ["low", "low", "some", "high", "low", "high", "some"]})
    fp = forest_plot(res, sort_by="year", columns=cols)
    labels = list(fp.rows.loc[study_rows(fp), "label"])
    assert [int(s[-4:]) for s in labels] == sorted(int(s[-4:]) for s in LABELS)
    i = int(study_rows(fp)[0])  # Leibing 2002, 6th study
    assert fp.cells[(i, "x:Risk of bias")].get_text() == "high"
    by_effect = forest_plot(res, sort_by="effect")
    x = by_effect.rows.loc[study_rows(by_effect), "estimate"].to_numpy()
    assert np.all(np.diff(x) >= 0)


def test_arm_data_columns_and_totals():
    res = rr_fit()
    fp = forest_plot(res)
    i = int(fp.rows.index[fp.rows.kind == "pooled"][0])
    assert fp.cells[(i, "n1")].get_text() == str(sum(N1)) and fp.cells[(i, "events2")].get_text() == str(sum(E2))
    no_data = forest_plot(res, style=ForestStyle(show_data=False))
    assert not any(k[1] in ("n1", "events1") for k in no_data.cells)


def test_draws_into_a_given_axes():
    fig, ax = plt.subplots(figsize=(10, 4))
    fp = forest_plot(metaacu.meta_analysis(smd_effects(3, 3)), ax=ax, style="journal")
    assert fp.ax is ax and fp.figure is fig and tuple(fig.get_size_inches()) == (10, 4)


def test_bad_arguments_name_the_culprit():
    res = rr_fit()
    with pytest.raises(MetaacuInputError, match="style"):
        forest_plot(res, style="nature")
    with pytest.raises(MetaacuInputError, match="extra_rows"):
        forest_plot(res, extra_rows=EXTRA.drop(columns="ci_low"))
    with pytest.raises(MetaacuInputError, match="columns"):
        forest_plot(res, columns=pd.DataFrame({"x": [1, 2]}))
    with pytest.raises(MetaacuInputError, match="sort_by"):
        forest_plot(res, sort_by="alphabet")
    with pytest.raises(MetaacuInputError, match="xlim"):
        forest_plot(res, xlim=(0, 2))


# --------------------------------------------------------------------------- legibility
def _text_boxes(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes, names = [], []
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip():
            bb = t.get_window_extent(renderer)
            boxes.append((bb.x0, bb.y0, bb.x1, bb.y1))
            names.append(t.get_text())
    return np.array(boxes), names


def assert_legible(fig):
    b, names = _text_boxes(fig)
    w, h = fig.canvas.get_width_height()
    inside = (b[:, 0] >= 0) & (b[:, 1] >= 0) & (b[:, 2] <= w) & (b[:, 3] <= h)
    assert inside.all(), f"clipped by the figure: {[n for n, ok in zip(names, inside, strict=True) if not ok]}"
    tol = 0.5  # pixels: touching boxes are fine
    ox = np.minimum(b[:, None, 2], b[None, :, 2]) - np.maximum(b[:, None, 0], b[None, :, 0])
    oy = np.minimum(b[:, None, 3], b[None, :, 3]) - np.maximum(b[:, None, 1], b[None, :, 1])
    clash = np.triu((ox > tol) & (oy > tol), 1)
    pairs = [(names[i], names[j]) for i, j in zip(*np.nonzero(clash), strict=True)]
    assert not pairs, f"overlapping text: {pairs[:5]}"


@pytest.mark.parametrize("k", [1, 2, 7, 40, 100])
@pytest.mark.parametrize("show_data", [True, False])
def test_no_overlapping_or_clipped_text(k, show_data):
    res = metaacu.meta_analysis(smd_effects(k, k), method="DL")
    fp = forest_plot(res, style=ForestStyle(show_data=show_data), favours=("acupuncture", "sham"))
    assert_legible(fp.figure)
    assert fp.figure.get_size_inches()[1] > k * ForestStyle().row_height  # height grows with rows


@pytest.mark.parametrize("style", ["revman", "journal"])
def test_no_overlap_with_subgroups_extras_second_model_and_columns(style):
    assert_legible(forest_plot(subgroups(), style=style, favours=("acupuncture", "control"), extra_rows=EXTRA).figure)
    cols = pd.DataFrame(
        {"year": [2004, 2006, 2007, 2003, 2009, 2002, 2006], "Design": ["sham"] * 4 + ["usual care"] * 3}
    )
    fp = forest_plot(
        rr_fit(),
        style=style,
        second=rr_fit(method="EE"),
        extra_rows=EXTRA,
        columns=cols,
        sort_by="year",
        favours=("acupuncture", "control"),
    )
    assert_legible(fp.figure)


# --------------------------------------------------------------------------- output
@pytest.mark.parametrize("suffix", [".svg", ".pdf"])
def test_vector_output_is_byte_identical(tmp_path, suffix):
    fp = forest_plot(rr_fit(), extra_rows=EXTRA)
    a = save_figure(fp.figure, tmp_path / f"a{suffix}").read_bytes()
    b = save_figure(fp.figure, tmp_path / f"b{suffix}").read_bytes()
    assert a == b and len(a) > 1000
    again = forest_plot(rr_fit(), extra_rows=EXTRA)
    assert save_figure(again.figure, tmp_path / f"c{suffix}").read_bytes() == a


def test_save_figure_rejects_unknown_suffix(tmp_path):
    with pytest.raises(MetaacuInputError, match="path"):
        save_figure(forest_plot(rr_fit()).figure, tmp_path / "x.jpg")


def test_import_metaacu_does_not_import_matplotlib():
    code = (
        "import sys, metaacu; metaacu.meta_analysis([0.1, 0.2], [0.1, 0.1]).to_frame(); "
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- baseline images
def fig_smd7():
    return forest_plot(metaacu.meta_analysis(smd_effects(7, 7)), favours=("acupuncture", "sham")).figure


def fig_rr_subgroups():
    return forest_plot(subgroups(), favours=("acupuncture", "control"), extra_rows=EXTRA).figure


CASES = {"forest_smd7": fig_smd7, "forest_rr_subgroups": fig_rr_subgroups}


@pytest.mark.mpl_image_compare(
    baseline_dir="baseline",
    tolerance=IMAGE_TOL,
    style="default",
    savefig_kwargs={"dpi": BASELINE_DPI},
    filename="forest_smd7.png",
)
def test_image_smd7():
    return fig_smd7()


@pytest.mark.mpl_image_compare(
    baseline_dir="baseline",
    tolerance=IMAGE_TOL,
    style="default",
    savefig_kwargs={"dpi": BASELINE_DPI},
    filename="forest_rr_subgroups.png",
)
def test_image_rr_subgroups():
    return fig_rr_subgroups()


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_baseline_image_without_pytest_mpl(name, tmp_path):
    """Runs in a plain ``pytest`` too (pytest-mpl only compares with ``--mpl``)."""
    actual = save_figure(CASES[name](), tmp_path / f"{name}.png", dpi=BASELINE_DPI)
    assert compare_images(str(BASELINE / f"{name}.png"), str(actual), tol=IMAGE_TOL) is None


def test_accepts_the_real_subgroup_analysis():
    from metaacu.subgroups import subgroup_analysis

    es = effect_sizes("RR", events1=E1, n1=N1, events2=E2, n2=N2, labels=LABELS)
    sub = subgroup_analysis(es, groups=["Sham"] * 4 + ["Usual care"] * 3, method="DL")
    fp = forest_plot(sub)
    assert len(fp.diamonds) == 3 and len(fp.squares.get_sizes()) == 7
    assert_legible(fp.figure)


# --------------------------------------------------------------------------- reference lines, proportions
@pytest.mark.parametrize("k", [1, 7, 40])
def test_reference_lines_are_drawn_keyed_and_legible(k):
    res = metaacu.meta_analysis(smd_effects(k, k), method="DL")
    refs = [(0.5, "half a standard deviation"), (0.2, "small effect 0.2")]
    fp = forest_plot(res, favours=("acupuncture", "sham"), xlim=(-1.0, 1.5), reference_lines=refs)
    assert [line.get_xdata()[0] for line in fp.references] == [0.5, 0.2]
    ys = fp.rows.index[fp.rows.kind.isin(["study", "pooled"])]
    for line in fp.references:  # the line spans the panel's rows, not the headers
        y0, y1 = sorted(line.get_ydata())
        assert y0 <= ys.min() - 0.5 + 1e-9 and y1 >= ys.max() + 0.5 - 1e-9
    keys = [t.get_text() for t in fp.texts if "half a standard" in t.get_text() or "small effect" in t.get_text()]
    assert keys == [
        "\u2012 \u2012 half a standard deviation (0.5)",
        "\u2012 \u2012 small effect 0.2",
    ]  # value not repeated
    assert_legible(fp.figure)


def test_reference_lines_bad_input_names_the_argument():
    res = metaacu.meta_analysis(smd_effects(3, 3), method="DL")
    with pytest.raises(MetaacuInputError, match=r"'reference_lines'.*outside xlim"):
        forest_plot(res, xlim=(-1.0, 1.0), reference_lines=[(2.0, "far")])
    with pytest.raises(MetaacuInputError, match="'reference_lines' needs \\(value, label\\) pairs"):
        forest_plot(res, reference_lines=[0.5])
    with pytest.raises(MetaacuInputError, match="not finite"):
        forest_plot(res, reference_lines=[(float("nan"), "x")])


def test_logit_proportions_are_laid_out_and_named_on_the_display_scale():
    """Texts used to be created at x = 0 in data coordinates, undefined on a logit axis: NaN extents."""
    es = effect_sizes("PLO", events=[286, 21, 21], n=[477, 27, 35], labels=["A", "B", "C"])
    fp = forest_plot(metaacu.meta_analysis(es, measure="PLO"), reference_lines=[(0.5, "one half")])
    heads = [t.get_text() for t in fp.texts]
    assert "Proportion" in heads and "Logit proportion" not in heads
    assert_legible(fp.figure)
    assert fp.rows.loc[fp.rows.kind == "pooled", "estimate"].item() == pytest.approx(0.62, abs=0.01)
