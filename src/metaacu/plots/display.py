"""How plot results show themselves in a notebook: once, whatever the matplotlib backend.

Every plot result (:class:`~metaacu.plots.ForestPlot`, :class:`~metaacu.plots.FunnelPlot`,
:class:`~metaacu.plots.BaujatPlot`, :class:`~metaacu.plots.BubblePlot`) holds a figure that the plot
made with :func:`~metaacu.plots.style.new_figure`, which pyplot never sees.  IPython displays a bare
plot result at the end of a cell through ``_repr_png_`` / ``_repr_svg_`` (rendered with fixed
metadata, so the bytes are deterministic); with the inline backend there is no pyplot figure that
would be displayed a second time, and with ``MPLBACKEND=Agg`` the figure still appears.

When the caller passed ``ax=`` from a pyplot figure and the backend is interactive (inline, Qt ...),
pyplot shows that figure itself, so the result's repr steps aside and returns ``None``.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from typing import Any

from .style import figure_bytes

__all__ = ["AxesCompat", "FigureDisplay", "InlineFigure", "inline"]

#: Backends that never show a figure by themselves (matplotlib's non-interactive built-ins).
_NON_INTERACTIVE = frozenset({"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"})
#: Notebook PNGs are rendered at the figure's dpi, but at most this (a 300-dpi journal style would
#: make large outputs for no visible gain on screen).
_MAX_DISPLAY_DPI = 150.0
#: CSS pixels per inch: the PNG is displayed at the figure's physical size.
_CSS_DPI = 96.0


def _pyplot_shows(fig: Any) -> bool:
    """True when ``fig`` is open in pyplot under an interactive backend, which displays it itself."""
    if "matplotlib.pyplot" not in sys.modules:
        return False
    manager = getattr(fig.canvas, "manager", None)
    if manager is None:
        return False
    import matplotlib
    import matplotlib.pyplot as plt

    if not plt.fignum_exists(manager.num):
        return False
    backend = str(matplotlib.get_backend()).lower().removeprefix("module://matplotlib.backends.backend_")
    return backend not in _NON_INTERACTIVE


class FigureDisplay:
    """Mixin for results that hold a matplotlib ``figure``: notebook display and :meth:`show`.

    Examples
    --------
    >>> import metaacu
    >>> fp = metaacu.forest_plot(metaacu.meta_analysis([0.1, 0.3, 0.35], [0.02, 0.03, 0.01]))
    >>> png, meta = fp._repr_png_()
    >>> png[:4] == b"\\x89PNG" and fp._repr_svg_().startswith("<?xml")
    True
    """

    figure: Any

    def _repr_png_(self) -> tuple[bytes, dict[str, int]] | None:
        if _pyplot_shows(self.figure):
            return None
        dpi = min(float(self.figure.dpi), _MAX_DISPLAY_DPI)
        w, h = self.figure.get_size_inches()
        return figure_bytes(self.figure, "png", dpi=dpi), {"width": round(w * _CSS_DPI), "height": round(h * _CSS_DPI)}

    def _repr_svg_(self) -> str | None:
        if _pyplot_shows(self.figure):
            return None
        return figure_bytes(self.figure, "svg").decode("utf-8")

    def show(self) -> None:
        """Show the figure with pyplot's current backend: a window from a script, inline in a notebook.

        The plots do not register their figures with pyplot (so that a notebook shows them once);
        this hands the figure to pyplot and calls ``plt.show()``.  Needs matplotlib ≥ 3.10, where
        ``plt.figure`` accepts a figure made without pyplot.
        """
        import matplotlib.pyplot as plt

        plt.figure(self.figure)
        plt.show()


@dataclass(frozen=True, repr=False)
class InlineFigure(FigureDisplay):
    """A matplotlib figure that displays once in a notebook, whatever the backend (see :func:`inline`).

    Attributes
    ----------
    figure : Figure
    """

    figure: Any

    def __repr__(self) -> str:
        w, h = self.figure.get_size_inches()
        return f"<InlineFigure {w:.1f} × {h:.1f} in, {len(self.figure.axes)} axes>"


def inline(figure: Any) -> InlineFigure:
    """Wrap a figure of your own so that a notebook cell ending with it shows it once, under any backend.

    A figure made with pyplot (``plt.subplots``) is closed in pyplot first, so that the inline
    backend does not show it a second time; the figure itself stays usable (``savefig`` ...).

    Parameters
    ----------
    figure : matplotlib.figure.Figure

    Returns
    -------
    InlineFigure

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(2, 1))
    >>> _ = fig.subplots().plot([0, 1], [0, 1])
    >>> inline(fig)
    <InlineFigure 2.0 × 1.0 in, 1 axes>
    """
    from matplotlib.figure import Figure

    if not isinstance(figure, Figure):
        from .._validation import MetaacuInputError

        raise MetaacuInputError(f"argument 'figure' must be a matplotlib Figure, not {type(figure).__name__}")
    if "matplotlib.pyplot" in sys.modules and getattr(figure.canvas, "manager", None) is not None:
        import matplotlib.pyplot as plt

        plt.close(figure)
    return InlineFigure(figure)


class AxesCompat:
    """Backward compatibility for plots that used to return a bare ``Axes``: ``result.get_xlabel()``
    still works (with a ``DeprecationWarning``) and means ``result.ax.get_xlabel()``."""

    ax: Any

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "ax":
            raise AttributeError(name)
        try:
            value = getattr(self.ax, name)
        except AttributeError:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}") from None
        warnings.warn(
            f"{type(self).__name__} is no longer an Axes: use .ax.{name} instead of .{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return value
