"""Composable marks of forest plots: diamonds, prediction-interval bars, the line of no effect,
reference lines and "favours" labels, in data coordinates of a matplotlib ``Axes`` (used by
:func:`metaacu.plots.forest_plot` and available for custom figures)."""

from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon, Rectangle
from matplotlib.text import Text

__all__ = [
    "REFERENCE_COLORS",
    "add_diamond",
    "add_favours",
    "add_null_line",
    "add_prediction_interval",
    "add_reference_line",
]

REFERENCE_COLORS = ("#7b3294", "#e08214", "#1b7837", "#2166ac")


def add_diamond(
    ax: Axes,
    estimate: float,
    low: float,
    high: float,
    y: float,
    *,
    height: float = 0.36,
    color: str = "black",
    hollow: bool = False,
    **kwargs: Any,
) -> Polygon:
    """Draw a diamond centred on ``estimate`` spanning ``[low, high]`` at row ``y`` (data coordinates).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().subplots()
    >>> d = add_diamond(ax, 0.5, 0.2, 0.8, y=0)
    >>> d.get_xy()[:4, 0].tolist()
    [0.2, 0.5, 0.8, 0.5]
    """
    xy = [(low, y), (estimate, y - height), (high, y), (estimate, y + height)]
    face = "white" if hollow else color
    poly = Polygon(xy, closed=True, facecolor=face, edgecolor=color, zorder=3, **kwargs)
    ax.add_patch(poly)
    return poly


def add_prediction_interval(
    ax: Axes, low: float, high: float, y: float, *, height: float = 0.14, color: str = "#b2182b"
) -> Rectangle:
    """A bar from ``low`` to ``high`` at row ``y``: the prediction interval."""
    rect = Rectangle((low, y - height), high - low, 2 * height, facecolor=color, edgecolor=color, lw=0.5, zorder=3)
    ax.add_patch(rect)
    return rect


def add_null_line(ax: Axes, x: float, y0: float, y1: float, **kwargs: Any) -> Line2D:
    """A vertical line of no effect from row ``y0`` to row ``y1``."""
    line = Line2D([x, x], [y0, y1], color=kwargs.pop("color", "black"), lw=kwargs.pop("lw", 0.8), zorder=1, **kwargs)
    ax.add_line(line)
    return line


def add_favours(ax: Axes, left: str, right: str, *, x: float, below: float = 14.0) -> tuple[Text, Text]:
    """ "Favours" labels either side of ``x`` (data), ``below`` points under the axis."""
    common: dict[str, Any] = {
        "xycoords": ("data", "axes fraction"),
        "textcoords": "offset points",
        "va": "top",
        "annotation_clip": False,
    }
    a = ax.annotate(left, xy=(x, 0), xytext=(-5, -below), ha="right", **common)
    b = ax.annotate(right, xy=(x, 0), xytext=(5, -below), ha="left", **common)
    return a, b


def add_reference_line(ax: Axes, x: float, y0: float, y1: float, *, color: str = REFERENCE_COLORS[0]) -> Line2D:
    """A dashed vertical reference line at ``x`` (data) from row ``y0`` to row ``y1``."""
    line = Line2D([x, x], [y0, y1], color=color, lw=0.9, dashes=(4, 2), zorder=1.5)
    ax.add_line(line)
    return line
