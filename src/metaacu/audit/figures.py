"""Figures of the claims audit: one forest plot per claim, and a dot plot for arithmetic claims."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ..plots.style import rc_context
from .claims import ClaimResult

__all__ = ["ArithmeticPlot", "arithmetic_plot", "claim_figure"]

FAVOURS = ("control", "acupuncture")


@dataclass(frozen=True)
class ArithmeticPlot:
    """The figure, its axes and the number of checked totals."""

    figure: Figure
    ax: Axes
    n: int


def arithmetic_plot(frame: pd.DataFrame, *, ax: Axes | None = None, unit: str = "USD") -> ArithmeticPlot:
    """One row per stated total: the stated value (filled), the value recomputed with 4 weeks per month
    (hollow) and with 52/12 weeks per month (cross).

    ``frame`` has columns ``label, stated, four_weeks, calendar`` (see :mod:`metaacu.audit.claims`).
    """
    with rc_context({"font.family": "DejaVu Sans", "font.size": 9, "svg.hashsalt": "metaacu"}):
        if ax is None:
            import matplotlib.pyplot as plt

            fig = plt.figure(figsize=(7.0, 0.4 * len(frame) + 1.4), dpi=150, layout="constrained")
            ax = fig.add_subplot()
        fig = ax.get_figure()
        y = list(range(len(frame)))[::-1]
        ax.scatter(frame["stated"], y, s=40, color="#1f4e9c", label="stated in the article", zorder=3)
        ax.scatter(frame["four_weeks"], y, s=110, facecolors="none", edgecolors="black", label="price × sessions, 4 weeks/month", zorder=2)
        ax.scatter(frame["calendar"], y, s=40, marker="x", color="#b2182b", label="price × sessions, 52/12 weeks/month", zorder=2)
        ax.set_yticks(y, list(frame["label"]))
        ax.set_xscale("log")
        ax.set_xlabel(f"{unit} (log scale)")
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda x, _: ""))
        ax.margins(x=0.08, y=0.12)
        fig.legend(loc="outside upper center", ncol=3, frameon=False, fontsize=7)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    return ArithmeticPlot(fig, ax, len(frame))


def claim_figure(result: ClaimResult):
    """Forest plot of one claim's evidence (benefit scale: right of the line favours acupuncture).

    Arithmetic claims get a dot plot of stated against recomputed totals.  Pooled rows give the diamond; every other row on the same measure (published review estimates,
    single-trial results at other time points) is drawn in the "not pooled" block.  Rows on another
    measure (e.g. a mean difference next to risk ratios) are listed in the evidence table only.  Returns ``None`` for claims
    with no numeric evidence (arithmetic, direction-only, not testable).
    """
    from dataclasses import replace

    from ..measures import MEASURES
    from ..plots import ForestStyle, forest_plot

    ev = result.evidence
    if result.claim.get("rule") == "arithmetic":
        return arithmetic_plot(ev)
    if ev.empty or "estimate" not in ev or ev["estimate"].isna().all():
        return None
    # Only rows on the claim's own measure share its axis; the others stay in the evidence table.
    shown = ev[~ev["pooled"] & ev["ci_low"].notna() & (ev["measure"] == result.measure)]
    extra = shown[["label", "estimate", "ci_low", "ci_high"]].reset_index(drop=True)
    if result.model is None and extra.empty:
        return None
    favours = tuple(result.claim.get("axis_labels", FAVOURS))
    prefix = "" if "axis_labels" in result.claim else "Favours "
    if result.model is not None:
        return forest_plot(result.model, favours=favours, extra_rows=extra if len(extra) else None)
    style = replace(ForestStyle.preset("revman"), study_header="Source", favours_prefix=prefix,
                    extra_header="Published estimates (shown, not pooled)")
    measure = result.measure if result.measure in MEASURES else None
    return forest_plot(None, favours=favours, extra_rows=extra, measure=measure, style=style)
