"""Bubble plot of a meta-regression: effect sizes against one moderator, point area proportional
to the model weight, with the fitted line and its confidence band (metafor's ``regplot``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import MetaacuInputError, check_level

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..regression import MetaRegression

__all__ = ["bubble_plot"]

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
        raise MetaacuInputError(f"argument 'moderator'={moderator!r} must be a numeric moderator, not a dummy or intercept")
    return names.index(moderator)


def bubble_plot(
    result: MetaRegression,
    moderator: str,
    *,
    ax: Axes | None = None,
    level: float | None = None,
) -> Axes:
    """Scatter of ``yi`` against ``moderator`` with the fitted meta-regression line.

    Parameters
    ----------
    result : MetaRegression
        A fitted meta-regression.
    moderator : str
        Name of a numeric moderator (a coefficient name of ``result``).
    ax : matplotlib Axes, optional
        Axes to draw on (default: a new figure).
    level : float, optional
        Level of the confidence band (default: the model's).

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Marker area is proportional to the study's weight in the model, ``1/(vᵢ + τ̂²)``.  With more than
    one moderator, the line is the prediction along ``moderator`` with every other column of the
    model matrix held at its mean across studies (for a dummy column, the proportion of studies in
    that level), as metafor's ``regplot``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from metaacu.regression import meta_regression
    >>> res = meta_regression([0.1, 0.3, 0.35, 0.6, 0.5], [0.02, 0.03, 0.01, 0.05, 0.02], [1, 2, 3, 4, 5])
    >>> ax = bubble_plot(res, "x1")
    """
    import matplotlib.pyplot as plt

    j = _moderator_column(result, moderator)
    lv = result.level if level is None else check_level(level)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 4.5))
    x = result.design[:, j]
    w = np.asarray(result.weights, dtype=float)
    # Shrink the largest bubble as k grows so that a few hundred studies stay readable.
    max_area = _MAX_AREA * min(1.0, np.sqrt(30.0 / w.size))
    area = _MIN_AREA + (max_area - _MIN_AREA) * w / w.max()
    grid = np.linspace(x.min(), x.max(), 200)
    xg = np.tile(result.design.mean(axis=0), (grid.size, 1))
    xg[:, j] = grid
    pred = result.predict(xg[:, 1:] if result.intercept else xg, level=lv)
    band: Any = ax.fill_between(grid, pred["ci_low"], pred["ci_high"], color="0.85", linewidth=0,
                                label=f"{100 * lv:g}% CI", zorder=1)
    band.set_gid("ci_band")
    (line,) = ax.plot(grid, pred["pred"], color="black", linewidth=1.8, label="fitted", zorder=4)
    line.set_gid("fitted_line")
    order = np.argsort(-area)  # big bubbles first so small ones stay visible
    pts = ax.scatter(x[order], result.yi[order], s=area[order], facecolor="0.55", edgecolor="black",
                     linewidth=0.6, alpha=0.8 if w.size <= 30 else 0.5, zorder=3, label="studies (area ∝ weight)")
    pts.set_gid("studies")
    ax.set_xlabel(moderator)
    ax.set_ylabel("Effect size")
    legend = ax.legend(loc="best", frameon=False, fontsize="small")
    legend.legend_handles[-1].set_sizes([40.0])
    return ax
