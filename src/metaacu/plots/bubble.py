"""Bubble plot of a meta-regression: effect sizes against one moderator, point area proportional
to the model weight, with the fitted line and its confidence band (metafor's ``regplot``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._validation import MetaacuInputError, check_level
from .display import AxesCompat, FigureDisplay
from .style import figure_of, new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.collections import PathCollection, PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from ..regression import MetaRegression

__all__ = ["BubblePlot", "bubble_plot"]


@dataclass(frozen=True, repr=False)
class BubblePlot(AxesCompat, FigureDisplay):
    """What :func:`bubble_plot` drew.

    Displays itself once in a notebook (``_repr_png_``/``_repr_svg_``, whatever the backend).  It
    used to be the bare ``Axes``: Axes methods called on it still work, with a ``DeprecationWarning``.

    Attributes
    ----------
    figure, ax : Figure, Axes
    points : PathCollection
        The studies (drawn largest first; gid ``"studies"``).
    line : Line2D
        The fitted line (gid ``"fitted_line"``).
    band : PolyCollection
        Its confidence band (gid ``"ci_band"``).
    moderator : str
    data : DataFrame
        One row per study in the model's order: ``label, x, yi, weight, area`` (area in points²).
    """

    figure: Figure
    ax: Axes
    points: PathCollection
    line: Line2D
    band: PolyCollection
    moderator: str
    data: pd.DataFrame

    def __repr__(self) -> str:
        w, h = self.figure.get_size_inches()
        return f"<BubblePlot {len(self.data)} studies against {self.moderator!r}; {w:.1f} × {h:.1f} in>"


#: Marker areas (points²) of the lightest and the heaviest study.
_MIN_AREA, _MAX_AREA = 12.0, 420.0


def _moderator_column(result: MetaRegression, moderator: str) -> int:
    names = list(result.coef_names)
    if moderator not in names:
        numeric = [n for n in names if n != "intercept" and "[" not in n]
        raise MetaacuInputError(
            f"argument 'moderator'={moderator!r} is not a numeric moderator of the model; "
            f"choose one of {', '.join(map(repr, numeric)) or '(none: the model has only categorical moderators)'}"
        )
    if "[" in moderator or moderator == "intercept":
        raise MetaacuInputError(
            f"argument 'moderator'={moderator!r} must be a numeric moderator, not a dummy or intercept"
        )
    return names.index(moderator)


def bubble_plot(
    result: MetaRegression,
    moderator: str,
    *,
    ax: Axes | None = None,
    level: float | None = None,
) -> BubblePlot:
    """Scatter of ``yi`` against ``moderator`` with the fitted meta-regression line.

    Parameters
    ----------
    result : MetaRegression
        A fitted meta-regression.
    moderator : str
        Name of a numeric moderator (a coefficient name of ``result``).
    ax : matplotlib Axes, optional
        Axes to draw on (default: a new figure, not registered with pyplot).
    level : float, optional
        Level of the confidence band (default: the model's).

    Returns
    -------
    BubblePlot

    Notes
    -----
    Marker area is proportional to the study's weight in the model, ``1/(vᵢ + τ̂²)``.  With more than
    one moderator, the line is the prediction along ``moderator`` with every other column of the
    model matrix held at its mean across studies (for a dummy column, the proportion of studies in
    that level), as metafor's ``regplot``.

    Examples
    --------
    >>> from metaacu.regression import meta_regression
    >>> res = meta_regression([0.1, 0.3, 0.35, 0.6, 0.5], [0.02, 0.03, 0.01, 0.05, 0.02], [1, 2, 3, 4, 5])
    >>> bp = bubble_plot(res, "x1")
    >>> bp.ax.get_xlabel(), len(bp.data)
    ('x1', 5)
    """
    from matplotlib.collections import PathCollection

    j = _moderator_column(result, moderator)
    lv = result.level if level is None else check_level(level)
    own = ax is None
    if ax is None:
        fig = new_figure(6.0, 4.5, dpi=150.0, layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = figure_of(ax)
    x = result.design[:, j]
    w = np.asarray(result.weights, dtype=float)
    # Shrink the largest bubble as k grows so that a few hundred studies stay readable.
    max_area = _MAX_AREA * min(1.0, np.sqrt(30.0 / w.size))
    area = _MIN_AREA + (max_area - _MIN_AREA) * w / w.max()
    grid = np.linspace(x.min(), x.max(), 200)
    xg = np.tile(result.design.mean(axis=0), (grid.size, 1))
    xg[:, j] = grid
    pred = result.predict(xg[:, 1:] if result.intercept else xg, level=lv)
    band = ax.fill_between(
        grid, pred["ci_low"], pred["ci_high"], color="0.85", linewidth=0, label=f"{100 * lv:g}% CI", zorder=1
    )
    band.set_gid("ci_band")
    (line,) = ax.plot(grid, pred["pred"], color="black", linewidth=1.8, label="fitted", zorder=4)
    line.set_gid("fitted_line")
    order = np.argsort(-area)  # big bubbles first so small ones stay visible
    pts = ax.scatter(
        x[order],
        result.yi[order],
        s=area[order],
        facecolor="0.55",
        edgecolor="black",
        linewidth=0.6,
        alpha=0.8 if w.size <= 30 else 0.5,
        zorder=3,
        label="studies (area ∝ weight)",
    )
    pts.set_gid("studies")
    ax.set_xlabel(moderator)
    ax.set_ylabel("Effect size")
    legend = ax.legend(loc="best", frameon=False, fontsize="small")
    studies_key = legend.legend_handles[-1]  # the legend's copy of the studies' scatter
    assert isinstance(studies_key, PathCollection)
    studies_key.set_sizes([40.0])
    if own:  # settle the constrained layout once, then freeze it so repeated renders are identical
        engine = fig.get_layout_engine()
        assert engine is not None  # new_figure(layout="constrained")
        for _ in range(2):
            engine.execute(fig)
        fig.set_layout_engine("none")
    data = pd.DataFrame({"label": list(result.labels), "x": x, "yi": result.yi, "weight": w, "area": area})
    return BubblePlot(fig, ax, pts, line, band, moderator, data)
