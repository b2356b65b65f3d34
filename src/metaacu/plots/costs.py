"""Dot plot for arithmetic claims: each stated total next to the recomputed ones."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from .style import rc_context

__all__ = ["ArithmeticPlot", "arithmetic_plot"]


@dataclass(frozen=True)
class ArithmeticPlot:
    """The figure, its axes and the number of checked totals."""

    figure: Figure
    ax: Axes
    n: int


def arithmetic_plot(frame: pd.DataFrame, *, ax: Axes | None = None, unit: str = "USD") -> ArithmeticPlot:
    """One row per stated total: the stated value (filled), the value recomputed with 4 weeks per month
    (hollow) and with 52/12 weeks per month (cross).

    ``frame`` has columns ``label, stated, four_weeks, calendar`` (see :mod:`metaacu.claims`).
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
