"""Leave-one-out and cumulative forest plots: the estimates-only forest plot applied to
:func:`metaacu.leave_one_out` and :func:`metaacu.cumulative` results."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd
from matplotlib.axes import Axes

from .forest import ForestPlot, forest_plot
from .style import FOREST_STYLES, ForestStyle, resolve_style

__all__ = ["cumulative_plot", "leave_one_out_plot"]


def _rows_plot(
    result: Any,
    labels: list[str],
    header: str,
    source: str,
    *,
    ax: Axes | None,
    style: str | ForestStyle | None,
    favours: tuple[str, str] | None,
) -> ForestPlot:
    st = replace(resolve_style(style, ForestStyle, FOREST_STYLES), study_header=source, extra_header=header)
    rows = pd.DataFrame(
        {"label": labels, "estimate": result.estimate, "ci_low": result.ci_low, "ci_high": result.ci_high}
    )
    full = result.full
    rows.loc[len(rows)] = [f"All studies ({full.method})", full.estimate, full.ci_low, full.ci_high]
    return forest_plot(None, ax=ax, style=st, favours=favours, extra_rows=rows, measure=full.measure)


def leave_one_out_plot(
    result: Any,
    *,
    ax: Axes | None = None,
    style: str | ForestStyle | None = None,
    favours: tuple[str, str] | None = None,
) -> ForestPlot:
    """One row per omitted study (the pooled estimate without it), then the estimate with all studies.

    Examples
    --------
    >>> import metaacu
    >>> res = metaacu.meta_analysis([0.1, 0.3, 0.35, 0.9], [0.02, 0.03, 0.01, 0.05])
    >>> fp = leave_one_out_plot(metaacu.leave_one_out(res))
    >>> len(fp.extra_diamonds)
    5
    """
    return _rows_plot(
        result,
        [f"Omitting {lab}" for lab in result.labels],
        "Pooled estimate without each study",
        "Omitted study",
        ax=ax,
        style=style,
        favours=favours,
    )


def cumulative_plot(
    result: Any,
    *,
    ax: Axes | None = None,
    style: str | ForestStyle | None = None,
    favours: tuple[str, str] | None = None,
) -> ForestPlot:
    """One row per step of a cumulative meta-analysis (the pooled estimate after adding each study)."""
    return _rows_plot(
        result,
        [f"+ {lab}" for lab in result.labels],
        "Pooled estimate as studies accumulate",
        "Study added",
        ax=ax,
        style=style,
        favours=favours,
    )
