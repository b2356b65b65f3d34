"""Baujat plot: each study's contribution to heterogeneity against its influence on the pooled
estimate (Baujat et al. 2002, Stat Med 21:2641-2652; metafor ``baujat``).

x = (yᵢ − μ̂)² / (vᵢ + τ̂²), the study's (squared Pearson) contribution to Q; y = (μ̂₍₋ᵢ₎ − μ̂)² /
SE(μ̂₍₋ᵢ₎)², the standardized squared change of the pooled estimate when the study is omitted.
The plot reads only the tidy frame from :func:`baujat_data`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..sensitivity import leave_one_out
from .display import AxesCompat, FigureDisplay
from .style import figure_of, new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PathCollection
    from matplotlib.figure import Figure
    from matplotlib.text import Annotation
    from matplotlib.transforms import Bbox

    from ..results import MetaAnalysis

__all__ = ["BaujatPlot", "BaujatStyle", "baujat_data", "baujat_plot"]


@dataclass(frozen=True)
class BaujatStyle:
    """Appearance of a Baujat plot."""

    marker_size: float = 22.0
    marker_color: str = "#1f4e79"
    label_size: float = 8.0
    label_color: str = "#222222"
    leader_color: str = "#888888"
    grid: bool = True
    max_labels: int = 60
    dpi: float = 150.0


@dataclass(frozen=True, repr=False)
class BaujatPlot(AxesCompat, FigureDisplay):
    """What :func:`baujat_plot` drew.

    Displays itself once in a notebook (``_repr_png_``/``_repr_svg_``, whatever the backend).  It
    used to be the bare ``Axes``: Axes methods called on it still work, with a ``DeprecationWarning``.

    Attributes
    ----------
    figure, ax : Figure, Axes
    points : PathCollection
        One point per study at (``data.x``, ``data.y``).
    labels : tuple of Annotation
        The study labels that found a free spot (see the Notes of :func:`baujat_plot`).
    data : DataFrame
        :func:`baujat_data`: ``label, x, y``, one row per study.
    """

    figure: Figure
    ax: Axes
    points: PathCollection
    labels: tuple[Annotation, ...]
    data: pd.DataFrame

    def __repr__(self) -> str:
        w, h = self.figure.get_size_inches()
        return f"<BaujatPlot {len(self.data)} studies, {len(self.labels)} labelled; {w:.1f} × {h:.1f} in>"


def baujat_data(result: MetaAnalysis) -> pd.DataFrame:
    """Coordinates of the Baujat plot, one row per study: ``label, x, y``.

    Matches the data frame returned by metafor's ``baujat``.

    Examples
    --------
    >>> from metaacu import meta_analysis
    >>> res = meta_analysis([0.1, 0.3, 0.35, 0.6, 1.6], [0.02, 0.03, 0.01, 0.05, 0.04], method="DL")
    >>> baujat_data(res).sort_values("x").label.iloc[-1]
    'Study 5'
    """
    loo = leave_one_out(result)
    x = (result.yi - result.estimate) ** 2 / (result.vi + result.tau2)
    y = (loo.estimate - result.estimate) ** 2 / loo.se**2
    return pd.DataFrame({"label": list(result.labels), "x": x, "y": y})


def _overlaps(box: Bbox, boxes: Sequence[Bbox]) -> bool:
    return any(box.overlaps(b) for b in boxes)


def _place_labels(
    ax: Axes, xs: NDArray[np.float64], ys: NDArray[np.float64], labels: Sequence[str], style: BaujatStyle
) -> list[Annotation]:
    """Place each label next to its point where it overlaps no other label and no marker."""
    from matplotlib.transforms import Bbox

    fig = figure_of(ax)
    # cast: the stubs type a figure's canvas as the base class; new_figure gives an Agg canvas, and a
    # caller's figure needs one that can measure text (every Agg-based backend's can)
    renderer = cast("FigureCanvasAgg", fig.canvas).get_renderer()
    pts = ax.transData.transform(np.column_stack([xs, ys]))
    r_px = np.sqrt(style.marker_size) * fig.dpi / 72.0 / 2.0 + 1.0
    markers = [Bbox.from_extents(px - r_px, py - r_px, px + r_px, py + r_px) for px, py in pts]
    axbox = ax.get_window_extent(renderer)
    placed: list[Bbox] = []
    made: list[Annotation] = []
    dirs = [(1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1)]
    # label the most influential / heterogeneous studies first: they matter most
    score = xs / (np.max(xs) or 1.0) + ys / (np.max(ys) or 1.0)
    for i in np.argsort(-score, kind="stable"):
        best = None
        for radius in (4, 9, 15, 22, 30, 40, 52, 66):
            for dx, dy in dirs:
                ox, oy = dx * radius, dy * radius
                ha = "left" if dx > 0 else "right" if dx < 0 else "center"
                va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
                t = ax.annotate(
                    labels[i],
                    (xs[i], ys[i]),
                    xytext=(ox, oy),
                    textcoords="offset points",
                    ha=ha,
                    va=va,
                    fontsize=style.label_size,
                    color=style.label_color,
                )
                box = t.get_window_extent(renderer).expanded(1.08, 1.15)
                t.remove()
                inside = box.x0 >= axbox.x0 and box.x1 <= axbox.x1 and box.y0 >= axbox.y0 and box.y1 <= axbox.y1
                others = [m for j, m in enumerate(markers) if j != i]
                if inside and not _overlaps(box, placed) and not _overlaps(box, others):
                    best = (ox, oy, ha, va, box, radius)
                    break
            if best is not None:
                break
        if best is None:  # no free spot in a dense cluster: leave unlabelled rather than overlap
            continue
        ox, oy, ha, va, box, radius = best
        arrow = {"arrowstyle": "-", "color": style.leader_color, "lw": 0.6} if radius > 9 else None
        made.append(
            ax.annotate(
                labels[i],
                (xs[i], ys[i]),
                xytext=(ox, oy),
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=style.label_size,
                color=style.label_color,
                arrowprops=arrow,
            )
        )
        placed.append(box)
    return made


def baujat_plot(result: MetaAnalysis, *, ax: Axes | None = None, style: BaujatStyle | None = None) -> BaujatPlot:
    """Draw a Baujat plot of a fitted meta-analysis.

    Parameters
    ----------
    result : MetaAnalysis
        A fitted model with k ≥ 2.
    ax : matplotlib Axes, optional
        Axes to draw on (default: a new figure, not registered with pyplot).
    style : BaujatStyle, optional

    Returns
    -------
    BaujatPlot

    Notes
    -----
    Labels are placed next to their points so that none overlaps another label or point, the
    studies with the largest x + y (scaled) first.  A point in a dense cluster near the origin (no
    influence, no heterogeneity) is left unlabelled when there is no free spot; at most
    ``style.max_labels`` labels are drawn.  The coordinates of every study are in
    :func:`baujat_data`.

    Examples
    --------
    >>> from metaacu import meta_analysis
    >>> res = meta_analysis([0.1, 0.3, 0.35, 0.6, 1.6], [0.02, 0.03, 0.01, 0.05, 0.04], method="DL")
    >>> bp = baujat_plot(res)
    >>> bp.ax.get_xlabel()
    'Squared Pearson residual (contribution to heterogeneity)'
    >>> bp.data.sort_values("x").label.iloc[-1]
    'Study 5'
    """
    st = style or BaujatStyle()
    frame = baujat_data(result)
    own = ax is None
    if ax is None:
        k = len(frame)
        fig = new_figure(6.4 if k <= 30 else 8.0, 4.8 if k <= 30 else 6.0, dpi=st.dpi, layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = figure_of(ax)
    xs, ys = frame["x"].to_numpy(), frame["y"].to_numpy()
    points = ax.scatter(xs, ys, s=st.marker_size, color=st.marker_color, zorder=3)
    xlab = (
        "Contribution to overall heterogeneity"
        if result.method == "EE"
        else "Squared Pearson residual (contribution to heterogeneity)"
    )
    ax.set_xlabel(xlab)
    ax.set_ylabel("Influence on overall result")
    ax.set_title(f"Baujat plot (k = {result.k}, {result.method})", fontsize=10)
    if st.grid:
        ax.grid(True, color="0.88", lw=0.6, zorder=0)
    # head room for labels
    pad_x = 0.12 * (np.ptp(xs) or 1.0)
    pad_y = 0.12 * (np.ptp(ys) or 1.0)
    ax.set_xlim(min(0.0, xs.min()) - pad_x * 0.3, xs.max() + pad_x)
    ax.set_ylim(min(0.0, ys.min()) - pad_y * 0.3, ys.max() + pad_y)
    labels = list(frame["label"])
    if len(labels) > st.max_labels:
        score = xs / (xs.max() or 1.0) + ys / (ys.max() or 1.0)
        keep = set(np.argsort(-score)[: st.max_labels])
        labels = [lab if i in keep else "" for i, lab in enumerate(labels)]
    idx = [i for i, lab in enumerate(labels) if lab]
    if own:  # settle the layout before the labels are placed in display space, then freeze it
        engine = fig.get_layout_engine()
        assert engine is not None  # new_figure(layout="constrained")
        engine.execute(fig)
        fig.set_layout_engine("none")
    made = _place_labels(ax, xs[idx], ys[idx], [labels[i] for i in idx], st) if idx else []
    return BaujatPlot(fig, ax, points, tuple(made), frame)
