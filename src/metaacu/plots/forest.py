"""Forest plots in the style of RevMan: a table of studies around a panel of squares and diamonds.

The plot reads only public result frames (``to_frame``, ``summary_frame``; for Mantel-Haenszel and Peto
results their public attributes, see ``forest_table.summary_row``) and ``result.info``.
Layout: every text is placed in inches relative to the panel's left or right edge, so column widths
come from measured text extents; the figure is then sized around everything it holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon, Rectangle
from matplotlib.text import Text

from .._validation import MetaacuInputError, no_other_keywords, renamed_argument
from .display import FigureDisplay
from .forest_axis import scale_and_limits
from .forest_marks import (
    REFERENCE_COLORS,
    add_diamond,
    add_favours,
    add_null_line,
    add_prediction_interval,
    add_reference_line,
)
from .forest_table import Permutation, Row, Table, build_table, pooled_info
from .forest_text import column_widths, draw_rules, fit_figure, make_texts, place_texts, width_in
from .style import FOREST_STYLES, ForestStyle, figure_of, fmt_tick, new_figure, rc_context, resolve_style

__all__ = [
    "ForestPlot",
    "add_diamond",
    "add_favours",
    "add_null_line",
    "add_prediction_interval",
    "add_reference_line",
    "forest_plot",
]

_PANEL_KINDS = {"group", "study", "pooled", "pi", "blank", "extra_head", "extra"}


@dataclass(frozen=True, repr=False)
class ForestPlot(FigureDisplay):
    """What :func:`forest_plot` drew.

    A bare ``forest_plot(res)`` at the end of a notebook cell displays the figure (PNG and SVG
    through ``_repr_png_``/``_repr_svg_``, whatever the matplotlib backend); the figure is not
    registered with pyplot, so it is displayed once.  ``.show()`` opens it with pyplot.

    Attributes
    ----------
    figure, ax : Figure, Axes
        The figure and the panel axes (x: effect on the display scale; y: row number, downwards).
    squares : PathCollection or None
        One square per study; ``get_sizes()`` are areas in points², proportional to the weights.
    whiskers : LineCollection or None
        Study confidence intervals (clipped to the axis limits).
    arrows : tuple of Line2D
        One marker per interval end beyond the axis limits.
    diamonds : tuple of Polygon
        Pooled diamonds in row order (subtotals, total, second model).
    extra_diamonds : tuple of Polygon
        Hollow diamonds of the rows shown but not pooled.
    prediction : tuple of Rectangle
        Prediction-interval bars.
    cells : Mapping[(int, str), Text]
        Text of each table cell by (row index, column key: ``"label"``, ``"ci"``, ``"weight"``,
        ``"n1"`` ...); free text lines (heterogeneity, tests) under key ``"span"``.
    texts : tuple of Text
        Every text the plot made (cells, headers, favours labels).
    rows : DataFrame
        One line per table row: ``kind, y, label, estimate, ci_low, ci_high, weight, model``
        (display scale).
    references : tuple of Line2D
        The dashed reference lines (e.g. clinical-relevance thresholds), in the order given; their
        labels are in ``texts``.
    """

    figure: Figure
    ax: Axes
    squares: PathCollection | None
    whiskers: LineCollection | None
    arrows: tuple[Line2D, ...]
    diamonds: tuple[Polygon, ...]
    extra_diamonds: tuple[Polygon, ...]
    prediction: tuple[Rectangle, ...]
    cells: Mapping[tuple[int, str], Text]
    texts: tuple[Text, ...]
    rows: pd.DataFrame
    references: tuple[Line2D, ...] = ()

    def __repr__(self) -> str:
        w, h = self.figure.get_size_inches()
        k = int((self.rows["kind"] == "study").sum())
        return (
            f"<ForestPlot {k} studies, {len(self.diamonds)} pooled diamond(s), "
            f"{len(self.extra_diamonds)} not pooled; {w:.1f} × {h:.1f} in>"
        )


# ----------------------------------------------------------------------------- main entry point
def forest_plot(
    result: Any,
    *,
    ax: Axes | None = None,
    style: str | ForestStyle | None = None,
    second: Any = None,
    favours: tuple[str, str] | None = None,
    sort_by: str | Sequence[Any] | None = None,
    columns: pd.DataFrame | None = None,
    extra_rows: pd.DataFrame | None = None,
    xlim: tuple[float, float] | None = None,
    measure: str | None = None,
    reference_lines: Sequence[tuple[float, str]] | None = None,
    **deprecated: Any,
) -> ForestPlot:
    """Draw a RevMan-style forest plot of a meta-analysis.

    Parameters
    ----------
    result : MetaAnalysis, BinaryPooled or subgroup analysis
        A fitted model; a Mantel-Haenszel or Peto result (:func:`metaacu.mantel_haenszel`,
        :func:`metaacu.peto`: RevMan's "M-H, Fixed" / "Peto, Fixed" columns, odds and risk ratios on
        a log axis, risk differences on a linear one); or an object with ``groups`` (ordered mapping
        name → MetaAnalysis), ``overall``, ``q_between``, ``q_between_df`` and ``q_between_pvalue``.
    ax : Axes, optional
        Draw the panel in this axes; the table is placed around it and the caller sizes the figure.
        By default a new figure is made (not registered with pyplot) and sized to fit every text.
    style : {"revman", "journal"} or ForestStyle, optional
    second : MetaAnalysis, optional
        A second model of the same studies (e.g. common effect next to random effects): its
        diamond, weights and test are shown too.
    favours : (str, str), optional
        Labels under the axis, left and right of no effect, e.g. ``("acupuncture", "sham")`` gives
        "Favours acupuncture" / "Favours sham" (the prefix is ``style.favours_prefix``).  None draws
        no labels.
    sort_by : {"year", "effect", "weight"} or sequence, optional
        Row order of the studies (within subgroups), as :func:`metaacu.cumulative`'s ``sort_by``
        (:mod:`metaacu.ordering`): ``"year"`` (``columns["year"]``, or a four-digit year in each
        label), ``"effect"`` (ascending), ``"weight"`` (largest first), or one sort key per study in
        the order of ``columns`` (for a subgroup analysis: subgroup by subgroup), rows in increasing
        order of the key, ties in their original order.  Default: the order of the data.
        ``order=`` is deprecated: a name, as ``sort_by``, or a permutation (row *j* shows study
        ``order[j]``); give ``sort_by=`` the keys instead (``numpy.argsort(order)``).
    columns : DataFrame, optional
        Extra columns shown to the right (e.g. risk of bias), one row per study in the result's
        order; a ``year`` column is used for ordering only.
    extra_rows : DataFrame, optional
        Rows shown but not pooled: ``label, estimate, ci_low, ci_high`` on the pooling scale and an
        optional ``note``; drawn as hollow grey diamonds under a "Not pooled" header.
    xlim : (float, float), optional
        Axis limits on the display scale (ratios: e.g. ``(0.1, 10)``); default symmetric around no
        effect, wide enough for every estimate and pooled interval.
    measure : str, optional
        Only with ``result=None``: the measure of ``extra_rows`` (for the scale and back-transform).
        ``forest_plot(None, extra_rows=...)`` draws published estimates side by side, pooling nothing.
    reference_lines : sequence of (float, str), optional
        Dashed vertical lines at these values of the display scale (e.g. a minimal important
        difference), each explained in a key under the axis.  Values outside ``xlim`` are an error.

    Returns
    -------
    ForestPlot
        Displays itself in a notebook; ``.figure`` is the matplotlib figure (save it with
        :func:`metaacu.plots.save_figure`).

    Examples
    --------
    >>> import metaacu
    >>> res = metaacu.meta_analysis([0.1, 0.3, 0.35], [0.02, 0.03, 0.01], labels=["A 2001", "B 2005", "C 2010"])
    >>> fp = forest_plot(res)
    >>> len(fp.squares.get_sizes()), len(fp.diamonds)
    (3, 1)
    """
    permutation = deprecated.get("order") is not None and not isinstance(deprecated["order"], str)
    rows: Any = renamed_argument("forest_plot", deprecated, "order", "sort_by", sort_by)
    no_other_keywords("forest_plot", deprecated)
    if permutation:  # the old meaning of order=: row j shows study order[j]
        rows = Permutation(tuple(np.asarray(rows).ravel().tolist()))
    st: ForestStyle = resolve_style(style, ForestStyle, FOREST_STYLES)
    if columns is not None and not isinstance(columns, pd.DataFrame):
        raise MetaacuInputError("argument 'columns' must be a pandas DataFrame")
    if extra_rows is not None and not isinstance(extra_rows, pd.DataFrame):
        raise MetaacuInputError("argument 'extra_rows' must be a pandas DataFrame")
    if favours is not None and (
        isinstance(favours, str) or len(favours) != 2 or not all(isinstance(f, str) for f in favours)
    ):
        raise MetaacuInputError(
            f"argument 'favours' must be two strings (left of no effect, right of it), e.g. ('acupuncture', 'sham'); "
            f"got {favours!r}"
        )
    if result is not None and measure is not None:
        raise MetaacuInputError(
            "argument 'measure' applies only to forest_plot(None, extra_rows=...); a result brings its own measure"
        )
    if result is None:
        from ..measures import measure_info

        if extra_rows is None or len(extra_rows) == 0:
            raise MetaacuInputError("forest_plot(None, ...) needs 'extra_rows' to show")
        info = measure_info(measure)
    else:
        info = pooled_info(result)
    table = build_table(
        result, second=second, style=st, columns=columns, extra_rows=extra_rows, sort_by=rows, info=info
    )
    refs = _check_references(reference_lines, xlim)
    with rc_context(st.rc):
        own = ax is None
        if ax is None:
            fig = new_figure(6.0, 4.0, dpi=st.dpi)
            ax = fig.add_axes((0.2, 0.1, 0.6, 0.8))
        else:
            fig = figure_of(ax)
        return _draw(fig, ax, table, info, st, favours, xlim, own, refs)


def _check_references(
    lines: Sequence[tuple[float, str]] | None, xlim: Sequence[float] | None
) -> list[tuple[float, str]]:
    if lines is None:
        return []
    out = []
    for item in lines:
        if not (isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[1], str)):
            raise MetaacuInputError(f"argument 'reference_lines' needs (value, label) pairs, got {item!r}")
        x = float(item[0])
        if not np.isfinite(x):
            raise MetaacuInputError(f"argument 'reference_lines': value {item[0]!r} is not finite")
        if xlim is not None and not float(xlim[0]) <= x <= float(xlim[1]):
            raise MetaacuInputError(f"argument 'reference_lines': {x:g} lies outside xlim {tuple(xlim)!r}")
        out.append((x, item[1]))
    if len(out) > len(REFERENCE_COLORS):
        raise MetaacuInputError(f"argument 'reference_lines' takes at most {len(REFERENCE_COLORS)} lines")
    return out


def _draw(
    fig: Figure,
    ax: Axes,
    table: Table,
    info: Any,
    st: ForestStyle,
    favours: tuple[str, str] | None,
    xlim: Sequence[float] | None,
    own: bool,
    refs: list[tuple[float, str]] | None = None,
) -> ForestPlot:
    """Draw a built table: the axis, the graphics of each row, the text columns, then what goes under
    the axis (favours labels, reference-line key); the figure is resized around them when it is ours."""
    rows = table.rows
    n = len(rows)
    scale, (x0, x1) = _set_axis(ax, table, info, xlim)
    row_pt = st.row_height * 72.0
    squares, whiskers = _draw_squares(ax, rows, st, (x0, x1), row_pt)
    marks = _draw_row_marks(ax, rows, st, (x0, x1), row_pt)
    if info.family != "proportion":
        _draw_null_lines(ax, rows, info.null_value, st)
    cells, texts = make_texts(ax, table, st)
    widths = column_widths(fig, table, cells, texts["group_heads"], st)
    place_texts(fig, ax, table, cells, texts, widths, st)
    panel_w = max(st.plot_width, max(width_in(fig, h) for h in texts["heads"][-2:]) + 0.1)
    if own:
        fit_figure(fig, ax, panel_w, n * st.row_height, st.margin)
    fav: tuple[Text, ...] = ()
    if favours is not None:
        xnull = (
            info.null_value
            if info.family != "proportion"
            else float(np.sqrt(x0 * x1) if scale == "log" else (x0 + x1) / 2)
        )
        fav = add_favours(
            ax,
            f"{st.favours_prefix}{favours[0]}",
            f"{st.favours_prefix}{favours[1]}",
            x=xnull,
            below=_tick_depth(fig, ax) + 3,
        )
    panel = [i for i, r in enumerate(rows) if r.kind in _PANEL_KINDS and r.kind != "blank"]
    ref_lines, ref_texts = _references(
        fig, ax, refs or [], (min(panel, default=0), max(panel, default=n - 1)), favours is not None, st
    )
    if own and (favours is not None or ref_lines):
        fit_figure(fig, ax, panel_w, n * st.row_height, st.margin)
    draw_rules(fig, ax, table, widths, st)
    all_texts = (*cells.values(), *texts["heads"], *texts["group_heads"], *fav, *ref_texts)
    return ForestPlot(
        fig,
        ax,
        squares,
        whiskers,
        tuple(marks["arrows"]),
        tuple(marks["diamonds"]),
        tuple(marks["extra_diamonds"]),
        tuple(marks["prediction"]),
        MappingProxyType(cells),
        tuple(all_texts),
        _row_frame(rows),
        tuple(ref_lines),
    )


def _set_axis(ax: Axes, table: Table, info: Any, xlim: Sequence[float] | None) -> tuple[str, tuple[float, float]]:
    """Scale, limits and ticks of the effect axis; one data row per table row, top to bottom."""
    scale, (x0, x1), ticks = scale_and_limits(table, info, xlim)
    ax.set_xscale(scale)
    ax.set_xlim(x0, x1)
    ax.set_ylim(len(table.rows) - 0.5, -0.5)
    ax.set_xticks(ticks, [fmt_tick(t) for t in ticks])
    ax.minorticks_off()
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.patch.set_visible(False)
    ax.tick_params(axis="x", length=3, pad=2)
    return scale, (x0, x1)


def _draw_squares(
    ax: Axes, rows: Sequence[Row], st: ForestStyle, lims: tuple[float, float], row_pt: float
) -> tuple[PathCollection | None, LineCollection | None]:
    """Study squares (area proportional to weight) and their CI whiskers, clipped to the axis."""
    study = [(i, r) for i, r in enumerate(rows) if r.kind == "study"]
    if not study:
        return None, None
    x0, x1 = lims
    w = np.array([r.weight for _, r in study], float)
    wmax = np.nanmax(w) if np.any(w > 0) else 1.0
    side = st.max_square * row_pt
    sizes = side**2 * np.clip(np.nan_to_num(w), 0, None) / wmax
    segs = [[(max(r.lo, x0), i), (min(r.hi, x1), i)] for i, r in study]
    whiskers = LineCollection(segs, colors=st.whisker_color, linewidths=st.line_width, zorder=2)
    ax.add_collection(whiskers, autolim=False)
    squares = ax.scatter(
        [r.est for _, r in study], [i for i, _ in study], s=sizes, marker="s", c=st.square_color, linewidths=0, zorder=3
    )
    return squares, whiskers


def _draw_row_marks(
    ax: Axes, rows: Sequence[Row], st: ForestStyle, lims: tuple[float, float], row_pt: float
) -> dict[str, list[Any]]:
    """Pooled diamonds, hollow diamonds of rows not pooled, prediction bars and the arrows of
    intervals that leave the axis."""
    x0, x1 = lims
    out: dict[str, list[Any]] = {"arrows": [], "diamonds": [], "extra_diamonds": [], "prediction": []}
    for i, r in enumerate(rows):
        if r.kind in ("study", "extra"):
            color = st.whisker_color if r.kind == "study" else st.extra_color
            if r.kind == "extra":
                out["extra_diamonds"].append(
                    add_diamond(
                        ax,
                        r.est,
                        max(r.lo, x0),
                        min(r.hi, x1),
                        i,
                        height=st.diamond_height,
                        color=color,
                        hollow=True,
                        lw=st.line_width,
                    )
                )
            for off, lim, mk in ((r.lo < x0, x0, "<"), (r.hi > x1, x1, ">")):
                if off:
                    arrow = Line2D(
                        [lim],
                        [i],
                        marker=mk,
                        markersize=0.3 * row_pt,
                        color=color,
                        markeredgewidth=0,
                        clip_on=False,
                        zorder=4,
                    )
                    ax.add_line(arrow)
                    out["arrows"].append(arrow)
        elif r.kind == "pooled":
            color = st.diamond_color if r.model != "second" else st.second_diamond_color
            out["diamonds"].append(add_diamond(ax, r.est, r.lo, r.hi, i, height=st.diamond_height, color=color, lw=0.5))
        elif r.kind == "pi":
            out["prediction"].append(
                add_prediction_interval(ax, max(r.lo, x0), min(r.hi, x1), i, color=st.prediction_color)
            )
    return out


def _draw_null_lines(ax: Axes, rows: Sequence[Row], null: float, st: ForestStyle) -> None:
    """The line of no effect through each run of panel rows (not through headers between them)."""
    run: list[int] = []
    for i, r in enumerate([*rows, Row("end")]):
        if r.kind in _PANEL_KINDS:
            run.append(i)
            continue
        while run and rows[run[-1]].kind == "blank":
            run.pop()
        if run:
            add_null_line(ax, null, run[0] - 0.5, run[-1] + 0.5, lw=st.line_width)
        run = []


def _tick_depth(fig: Figure, ax: Axes) -> float:
    """How far the tick labels reach below the axis, in points."""
    tick_bb = ax.xaxis.get_tightbbox()
    return (ax.get_window_extent().y0 - tick_bb.y0) * 72.0 / fig.dpi if tick_bb is not None else 10.0


def _row_frame(rows: Sequence[Row]) -> pd.DataFrame:
    """What was drawn, one row per table row (``ForestPlot.rows``)."""
    return pd.DataFrame(
        {
            "kind": [r.kind for r in rows],
            "y": np.arange(len(rows), dtype=float),
            "label": [r.cells.get("label", r.span) for r in rows],
            "estimate": [r.est for r in rows],
            "ci_low": [r.lo for r in rows],
            "ci_high": [r.hi for r in rows],
            "weight": [r.weight for r in rows],
            "model": [r.model for r in rows],
        }
    )


def _references(
    fig: Figure, ax: Axes, refs: list[tuple[float, str]], span: tuple[int, int], below_favours: bool, st: ForestStyle
) -> tuple[list[Line2D], list[Text]]:
    """Draw the reference lines and their key, one line of text each under the axis (and favours)."""
    lines: list[Line2D] = []
    keys: list[Text] = []
    depth = _tick_depth(fig, ax)
    step = 1.35 * float(st.font_size)
    start = depth + 3 + (step if below_favours else 0.0)
    for i, (x, label) in enumerate(refs):
        color = REFERENCE_COLORS[i]
        lines.append(add_reference_line(ax, x, span[0] - 0.5, span[1] + 0.5, color=color))
        text = label if fmt_tick(x) in label else f"{label} ({fmt_tick(x)})"
        keys.append(
            ax.annotate(
                f"\u2012 \u2012 {text}",
                xy=(0.0, 0.0),
                xycoords="axes fraction",
                xytext=(0, -(start + step * (i + 1) - step / 2)),
                textcoords="offset points",
                ha="left",
                va="top",
                color=color,
                annotation_clip=False,
            )
        )
    return lines, keys


# ----------------------------------------------------------------------------- text layout
