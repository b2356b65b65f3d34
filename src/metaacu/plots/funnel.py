"""Funnel plots: standard error (inverted) against effect, optionally contour-enhanced.

References
----------
Sterne JAC, Egger M. Funnel plots for detecting bias in meta-analysis. J Clin Epidemiol 2001;54:1046.
Peters JL, Sutton AJ, Jones DR, Abrams KR, Rushton L. Contour-enhanced meta-analysis funnel plots
help distinguish publication bias from other causes of asymmetry. J Clin Epidemiol 2008;61:991-996.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from numpy.typing import ArrayLike
from scipy import stats

from .._validation import MetaacuInputError, as_float_array
from ..inference import Z975
from .display import FigureDisplay
from .forest_axis import ratio_ticks
from .forest_table import pooled_info, short_name
from .style import FUNNEL_STYLES, FunnelStyle, figure_of, fmt_tick, new_figure, rc_context, resolve_style

__all__ = ["FunnelPlot", "funnel_plot"]


@dataclass(frozen=True, repr=False)
class FunnelPlot(FigureDisplay):
    """What :func:`funnel_plot` drew.

    Displays itself once in a notebook (``_repr_png_``/``_repr_svg_``, whatever the backend);
    ``.show()`` opens the figure with pyplot.

    Attributes
    ----------
    figure, ax : Figure, Axes
    points : PathCollection
        Observed studies (x on the display scale, y = standard error).
    filled : PathCollection or None
        Imputed (trim-and-fill) studies, drawn hollow.
    estimate_line : Line2D
        Vertical line at the pooled estimate.
    limits : tuple of Line2D
        Pseudo confidence limits ``estimate ± z·SE`` (left, right).
    contours : tuple of PolyCollection
        Shaded significance regions around no effect, outermost (smallest p) first.
    """

    figure: Figure
    ax: Axes
    points: PathCollection
    filled: PathCollection | None
    estimate_line: Line2D
    limits: tuple[Line2D, ...]
    contours: tuple[Any, ...]

    def __repr__(self) -> str:
        n = len(np.asarray(self.points.get_offsets()))
        m = 0 if self.filled is None else len(np.asarray(self.filled.get_offsets()))
        w, h = self.figure.get_size_inches()
        return f"<FunnelPlot {n} studies, {m} imputed, {len(self.contours) // 2} contour levels; {w:.1f} × {h:.1f} in>"


def funnel_plot(
    result: Any,
    *,
    ax: Axes | None = None,
    style: str | FunnelStyle | None = None,
    contours: bool = False,
    filled: tuple[ArrayLike, ArrayLike] | None = None,
) -> FunnelPlot:
    """Funnel plot of a meta-analysis.

    Parameters
    ----------
    result : MetaAnalysis or BinaryPooled
        A fitted model, or a Mantel-Haenszel / Peto result (its study-level effects; tables without
        one, e.g. double-zero tables, are not drawn).
    ax : Axes, optional
        Axes to draw in (default: a new figure of the style's size, not registered with pyplot).
    style : {"revman", "journal"} or FunnelStyle, optional
    contours : bool
        Shade the regions where a study would be significant at p < 0.10, 0.05 and 0.01
        (two-sided, around no effect) — a contour-enhanced funnel plot (Peters et al. 2008).
    filled : (yi, vi), optional
        Effect sizes and sampling variances of imputed studies (e.g. from trim-and-fill) on the
        pooling scale; drawn as hollow points.

    Returns
    -------
    FunnelPlot

    Notes
    -----
    Pseudo 95% limits are ``μ̂ ± 1.96·SE`` around the pooled estimate; for ratio measures the
    axis is logarithmic and labelled with ratios.

    Examples
    --------
    >>> import metaacu
    >>> res = metaacu.meta_analysis([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.01, 0.05])
    >>> fun = funnel_plot(res, contours=True)
    >>> len(fun.points.get_offsets()), len(fun.contours)
    (4, 6)
    """
    st: FunnelStyle = resolve_style(style, FunnelStyle, FUNNEL_STYLES)
    info = pooled_info(result)
    if hasattr(result, "groups") and hasattr(result, "overall"):
        raise MetaacuInputError("funnel_plot needs one model, not a subgroup analysis: pass its `.overall`")
    fr = result.to_frame()
    studies = fr[fr.row_type == "study"]
    studies = studies[np.isfinite(studies["estimate"].to_numpy(float)) & np.isfinite(studies["se"].to_numpy(float))]
    pooled = fr[fr.row_type == "pooled"].iloc[0]
    yi, se = studies["estimate"].to_numpy(float), studies["se"].to_numpy(float)
    fy = fse = None
    if filled is not None:
        if len(filled) != 2:
            raise MetaacuInputError("argument 'filled' must be a pair (yi, vi) of arrays")
        fy = as_float_array(filled[0], "filled[0] (yi)")
        fv = as_float_array(filled[1], "filled[1] (vi)", positive=True)
        if fy.shape != fv.shape:
            raise MetaacuInputError(f"argument 'filled': yi has {fy.size} values but vi has {fv.size}")
        fse = np.sqrt(fv)
    tx = info.to_display
    with rc_context(st.rc):
        own = ax is None
        if ax is None:
            fig = new_figure(st.width, st.height, dpi=st.dpi, layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = figure_of(ax)
        semax = float(np.nanmax(np.concatenate([se, fse if fse is not None else []]))) * 1.08
        sgrid = np.linspace(0.0, semax, 101)
        z = Z975
        est = float(pooled["estimate"])
        allx = np.concatenate([yi, fy if fy is not None else [], est + z * semax * np.array([-1.0, 1.0])])
        if contours:
            allx = np.concatenate(
                [allx, stats.norm.ppf(1 - min(st.contour_levels) / 2) * semax * np.array([-1.0, 1.0])]
            )
        span = allx.max() - allx.min()
        lo_u, hi_u = allx.min() - 0.05 * span, allx.max() + 0.05 * span
        if info.is_ratio:
            ax.set_xscale("log")
        ax.set_xlim(float(tx(lo_u)), float(tx(hi_u)))
        ax.set_ylim(semax, 0.0)
        shades = []
        if contours:
            shades = _contours(ax, sgrid, lo_u, hi_u, tx, st)
        left = ax.plot(tx(est - z * sgrid), sgrid, ls="--", color=st.limit_color, lw=st.line_width)[0]
        right = ax.plot(tx(est + z * sgrid), sgrid, ls="--", color=st.limit_color, lw=st.line_width)[0]
        vline = ax.plot(tx([est, est]), [0, semax], color=st.line_color, lw=st.line_width)[0]
        if info.family != "proportion" and contours:
            ax.axvline(info.null_value, color=st.line_color, lw=0.6, ls=":")
        pts = ax.scatter(tx(yi), se, s=st.point_size, color=st.point_color, zorder=3, label="Studies")
        fpts = None
        if fy is not None and fse is not None:  # given together
            fpts = ax.scatter(
                tx(fy),
                fse,
                s=st.point_size,
                facecolors="white",
                edgecolors=st.filled_color,
                linewidths=st.line_width,
                zorder=3,
                label="Imputed studies",
            )
        if info.is_ratio:
            ticks = ratio_ticks(float(tx(lo_u)), float(tx(hi_u)))
            ax.set_xticks(ticks, [fmt_tick(t) for t in ticks])
            ax.minorticks_off()
        ax.set_xlabel(short_name(info) if info.code != "GEN" else "Effect")
        ax.set_ylabel("Standard error")
        if contours or fpts is not None:
            handles: list[Artist] = [pts]
            if fpts is not None:
                handles.append(fpts)
            if contours:
                lv = sorted(zip(st.contour_levels, st.contour_colors, strict=True), reverse=True)
                for j, (p, c) in enumerate(lv):
                    label = f"{lv[j + 1][0]:g} < p < {p:g}" if j + 1 < len(lv) else f"p < {p:g}"
                    handles.append(Patch(facecolor=c, edgecolor="none", label=label))
            ax.legend(
                handles=handles,
                loc="upper left",
                bbox_to_anchor=(1.01, 1.0),
                fontsize=0.85 * st.font_size,
                frameon=False,
            )
        engine = fig.get_layout_engine()
        if own and engine is not None:
            # settle the constrained layout once, then freeze it so repeated saves are identical
            for _ in range(2):
                engine.execute(fig)
            fig.set_layout_engine("none")
    return FunnelPlot(fig, ax, pts, fpts, vline, (left, right), tuple(shades))


def _contours(ax: Axes, sgrid: np.ndarray, lo_u: float, hi_u: float, tx: Any, st: FunnelStyle) -> list[Any]:
    """Shade |y| > z_p·SE for each p (largest z first, so smaller p overlays), both sides of 0."""
    out = []
    order = np.argsort(st.contour_levels)[::-1]  # 0.10 (widest region) first, 0.01 last on top
    for j in order:
        zp = stats.norm.ppf(1 - st.contour_levels[j] / 2)
        edge = zp * sgrid
        c = st.contour_colors[j]
        out.append(
            ax.fill_betweenx(
                sgrid,
                tx(np.minimum(-edge, hi_u)),
                tx(np.full_like(sgrid, min(lo_u, -edge.max()))),
                color=c,
                lw=0,
                zorder=0,
            )
        )
        out.append(
            ax.fill_betweenx(
                sgrid,
                tx(np.maximum(edge, lo_u)),
                tx(np.full_like(sgrid, max(hi_u, edge.max()))),
                color=c,
                lw=0,
                zorder=0,
            )
        )
    return out[::-1]
