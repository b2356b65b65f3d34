"""Plots display themselves in notebooks: once per cell, in a fresh kernel, under any backend.

The notebook tests start real kernels (nbclient): one with the inline backend (no ``MPLBACKEND`` in
the kernel's environment: what a user's Jupyter does) and one with ``MPLBACKEND=Agg`` (what the test
runner and ``reproduce`` set).  Expected outputs are structural: one ``image/png`` per plot cell,
never a ``<Figure size ...>`` text instead of a picture.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import metaacu
from metaacu import MetaacuInputError
from metaacu.datasets import bcg
from metaacu.plots import (
    BaujatPlot,
    BubblePlot,
    InlineFigure,
    baujat_plot,
    bubble_plot,
    cumulative_plot,
    figure_bytes,
    forest_plot,
    funnel_plot,
    inline,
    leave_one_out_plot,
)

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
FIGURE_TEXT = re.compile(r"<(Figure|matplotlib\.figure\.Figure|Axes)[ :]")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def bcg_models():
    d = bcg()
    es = metaacu.effect_sizes("RR", data=d, labels="trial", events1="tpos", n1="n1", events2="cpos", n2="n2")
    res = metaacu.meta_analysis(es)
    reg = metaacu.meta_regression(es.yi, es.vi, d[["ablat"]], labels=es.labels)
    return res, reg


def _all_plots(res, reg):
    mh = metaacu.mantel_haenszel(
        res.effects.data["events1"],
        res.effects.data["n1"],
        res.effects.data["events2"],
        res.effects.data["n2"],
        labels=res.labels,
    )
    return {
        "forest": forest_plot(res),
        "forest_mh": forest_plot(mh),
        "funnel": funnel_plot(res),
        "baujat": baujat_plot(res),
        "bubble": bubble_plot(reg, "ablat"),
        "leave_one_out": leave_one_out_plot(metaacu.leave_one_out(res)),
        "cumulative": cumulative_plot(metaacu.cumulative(res)),
    }


# --------------------------------------------------------------------------- the repr methods
def test_every_plot_renders_png_and_svg_deterministically(bcg_models):
    for name, plot in _all_plots(*bcg_models).items():
        png, meta = plot._repr_png_()
        assert png[:8] == b"\x89PNG\r\n\x1a\n", name
        w, h = plot.figure.get_size_inches()
        assert meta == {"width": round(96 * w), "height": round(96 * h)}, name
        assert plot._repr_png_()[0] == png, name  # same bytes every time
        svg = plot._repr_svg_()
        assert svg.startswith("<?xml") and "<svg" in svg and plot._repr_svg_() == svg, name
        assert "dc:date" not in svg, name  # no time stamp in the metadata
        assert repr(plot).startswith(f"<{type(plot).__name__} "), name


def test_plots_leave_no_figure_with_pyplot(bcg_models):
    """The figure belongs to the plot: the inline backend has nothing to show a second time."""
    plt.close("all")
    plots = _all_plots(*bcg_models)
    assert plt.get_fignums() == []
    assert all(p.figure.canvas.manager is None for p in plots.values())


def test_given_axes_are_used_and_pyplot_keeps_its_figure(bcg_models):
    res, reg = bcg_models
    fig, ax = plt.subplots(figsize=(8, 5))
    fp = funnel_plot(res, ax=ax)
    assert fp.ax is ax and fp.figure is fig and plt.fignum_exists(fig.number)
    # Agg shows nothing by itself, so the plot object still displays the figure
    assert fp._repr_png_()[0][:4] == b"\x89PNG"
    fig2, ax2 = plt.subplots()
    bp = bubble_plot(reg, "ablat", ax=ax2)
    assert bp.ax is ax2 and bp.figure is fig2 and tuple(fig2.get_size_inches()) == tuple(plt.rcParams["figure.figsize"])


def test_baujat_and_bubble_results_hold_what_they_drew(bcg_models):
    res, reg = bcg_models
    bj = baujat_plot(res)
    assert isinstance(bj, BaujatPlot)
    np.testing.assert_allclose(bj.points.get_offsets(), bj.data[["x", "y"]].to_numpy())
    assert {t.get_text() for t in bj.labels} <= set(res.labels) and len(bj.labels) >= 10
    bb = bubble_plot(reg, "ablat")
    assert isinstance(bb, BubblePlot) and bb.moderator == "ablat"
    assert bb.line.get_gid() == "fitted_line" and bb.band.get_gid() == "ci_band" and bb.points.get_gid() == "studies"
    np.testing.assert_array_equal(bb.data["x"], bcg()["ablat"].to_numpy(float))
    np.testing.assert_allclose(np.sort(bb.points.get_sizes()), np.sort(bb.data["area"]))


def test_old_axes_style_access_still_works_with_a_deprecation_warning(bcg_models):
    res, reg = bcg_models
    bj, bb = baujat_plot(res), bubble_plot(reg, "ablat")
    with pytest.warns(DeprecationWarning, match=r"use \.ax\.get_xlabel"):
        assert bb.get_xlabel() == "ablat"
    with pytest.warns(DeprecationWarning, match=r"\.ax\.get_ylabel"):
        assert bj.get_ylabel() == "Influence on overall result"
    with pytest.raises(AttributeError, match="no attribute 'no_such_method'"):
        bj.no_such_method  # noqa: B018
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert bj._repr_png_() is not None  # IPython's probes of private names never warn


def test_show_hands_the_figure_to_pyplot(bcg_models):
    fp = forest_plot(bcg_models[0])
    fp.show()  # Agg: registers the figure and shows nothing
    assert plt.fignum_exists(fp.figure.canvas.manager.num)
    assert fp._repr_png_() is not None  # Agg never shows it, so the repr still does


def test_inline_wraps_a_figure_of_your_own():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [1, 0])
    shown = inline(fig)
    assert isinstance(shown, InlineFigure) and shown.figure is fig
    assert not plt.fignum_exists(fig.number)  # detached from pyplot: displayed once, by the repr
    assert shown._repr_png_()[0] == figure_bytes(fig, "png", dpi=fig.dpi)
    with pytest.raises(MetaacuInputError, match="'figure'"):
        inline(ax)
    with pytest.raises(MetaacuInputError, match="'fmt'"):
        figure_bytes(fig, "jpg")


# --------------------------------------------------------------------------- real kernels
def _kernel_env(backend: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    if backend is not None:
        env["MPLBACKEND"] = backend
    return env


def _execute(nb, directory: Path, backend: str | None, timeout: int = 120):
    from nbclient import NotebookClient

    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(directory)}},
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    client.execute(env=_kernel_env(backend))
    return nb


def _images(cell) -> int:
    return sum(1 for o in cell.get("outputs", []) if {"image/png", "image/svg+xml"} & set(o.get("data", {})))


def _texts(cell) -> list[str]:
    out = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            out.append(o.get("text", ""))
        elif "text/plain" in o.get("data", {}):
            out.append(o["data"]["text/plain"])
    return out


SMALL_CELLS = [
    "import metaacu\nfrom metaacu.datasets import bcg\n"
    "es = metaacu.effect_sizes('RR', data=bcg(), labels='trial', events1='tpos', n1='n1', events2='cpos', n2='n2')\n"
    "res = metaacu.meta_analysis(es)",
    "metaacu.forest_plot(res)",
    "metaacu.funnel_plot(res)",
    "metaacu.forest_plot(res, sort_by='year')",
    # the user's own pyplot axes: pyplot (inline) or the repr (Agg) shows it, never both
    "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(5, 3))\nmetaacu.funnel_plot(res, ax=ax)",
    # a figure of the user's own, made with pyplot and handed to `inline`
    "from metaacu.plots import inline\nfig, ax = plt.subplots(figsize=(3, 2))\nax.plot([0, 1], [1, 0])\ninline(fig)",
    # .show() hands the figure to pyplot: the inline backend shows it, Agg cannot show anything
    "metaacu.forest_plot(res).show()",
]


@pytest.mark.parametrize("backend", [None, "Agg"], ids=["inline", "agg"])
def test_fresh_kernel_shows_each_of_three_plots_once(tmp_path, backend):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in SMALL_CELLS])
    nb = _execute(nb, tmp_path, backend)
    assert _images(nb.cells[0]) == 0
    for cell in nb.cells[1:4]:
        pngs = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(pngs) == 1, (backend, cell.source, [o.get("output_type") for o in cell.outputs])
        assert len(cell.outputs) == 1
        assert not any(FIGURE_TEXT.search(t) for t in _texts(cell))
    for cell in nb.cells[4:6]:
        assert _images(cell) == 1, (backend, cell.source, [list(o.get("data", {})) for o in cell.outputs])
    assert _images(nb.cells[6]) == (1 if backend is None else 0)


#: A cell makes a figure when it calls one of these (plots of metaacu, or matplotlib's own).
FIGURE_CALL = re.compile(
    r"\b(forest_plot|funnel_plot|baujat_plot|bubble_plot|leave_one_out_plot|cumulative_plot|"
    r"posterior_plot|shrinkage_plot|inline|subplots|Figure)\("
)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "backend"),
    [("00_tutorial", None), ("00_tutorial", "Agg"), ("20_simulation_coverage", "Agg")],
    ids=["00_tutorial-inline", "00_tutorial-agg", "20_simulation_coverage-agg"],
)
def test_notebook_figures_are_in_the_executed_copy(name, backend):
    """Agg is what ``execute_notebook`` (and so ``reproduce``'s executed copies) runs under; the inline
    backend is a user's Jupyter (the small notebook above covers ``inline`` there too)."""
    import jupytext

    source = NOTEBOOKS / f"{name}.py"
    assert "matplotlib.use(" not in source.read_text(encoding="utf-8")  # no backend forced in the notebook
    nb = _execute(jupytext.read(source), NOTEBOOKS, backend, timeout=300)
    figure_cells = [c for c in nb.cells if c.cell_type == "code" and FIGURE_CALL.search(c.source)]
    assert len(figure_cells) >= (6 if name == "00_tutorial" else 1)
    for cell in figure_cells:
        assert _images(cell) == 1, (backend, cell.source[:200], [list(o.get("data", {})) for o in cell.outputs])
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not any(FIGURE_TEXT.search(t) for t in _texts(cell)), cell.source[:200]
    assert sum(_images(c) for c in nb.cells if c.cell_type == "code") == len(figure_cells)
