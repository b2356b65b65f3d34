"""Forest and funnel plots.  Importing this module imports matplotlib; ``import metaacu`` does not."""

from __future__ import annotations

from .baujat import baujat_plot
from .bubble import bubble_plot
from .forest import ForestPlot, add_diamond, add_favours, add_null_line, add_prediction_interval, forest_plot
from .funnel import FunnelPlot, funnel_plot
from .sensitivity import cumulative_plot, leave_one_out_plot
from .style import FOREST_STYLES, FUNNEL_STYLES, ForestStyle, FunnelStyle, save_figure

__all__ = [
    "FOREST_STYLES", "FUNNEL_STYLES", "ForestPlot", "ForestStyle", "FunnelPlot", "FunnelStyle", "add_diamond", "add_favours",
    "add_null_line", "add_prediction_interval", "baujat_plot", "bubble_plot", "cumulative_plot", "forest_plot",
    "funnel_plot", "leave_one_out_plot", "save_figure",
]
