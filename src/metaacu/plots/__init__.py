"""Forest, funnel, Baujat, bubble and Bayesian posterior plots.  Importing this module imports matplotlib;
``import metaacu`` does not.

Every plot returns a frozen result (``.figure``, ``.ax`` and the artists it drew) that displays itself
once at the end of a notebook cell, whatever the matplotlib backend: the figures are not registered with
pyplot (see :mod:`metaacu.plots.display`).
"""

from __future__ import annotations

from .baujat import BaujatPlot, BaujatStyle, baujat_data, baujat_plot
from .bayes import BayesStyle, PosteriorPlot, ShrinkagePlot, posterior_plot, shrinkage_plot
from .bubble import BubblePlot, bubble_plot
from .display import InlineFigure, inline
from .forest import ForestPlot, forest_plot
from .forest_marks import add_diamond, add_favours, add_null_line, add_prediction_interval
from .funnel import FunnelPlot, funnel_plot
from .sensitivity import cumulative_plot, leave_one_out_plot
from .style import FOREST_STYLES, FUNNEL_STYLES, ForestStyle, FunnelStyle, figure_bytes, save_figure

__all__ = [
    "FOREST_STYLES",
    "FUNNEL_STYLES",
    "BaujatPlot",
    "BaujatStyle",
    "BayesStyle",
    "BubblePlot",
    "ForestPlot",
    "ForestStyle",
    "FunnelPlot",
    "FunnelStyle",
    "InlineFigure",
    "PosteriorPlot",
    "ShrinkagePlot",
    "add_diamond",
    "add_favours",
    "add_null_line",
    "add_prediction_interval",
    "baujat_data",
    "baujat_plot",
    "bubble_plot",
    "cumulative_plot",
    "figure_bytes",
    "forest_plot",
    "funnel_plot",
    "inline",
    "leave_one_out_plot",
    "posterior_plot",
    "save_figure",
    "shrinkage_plot",
]
