"""Frozen plot styles, deterministic rendering settings, number formatting and :func:`save_figure`."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, Self, TypeVar

import matplotlib as mpl
import numpy as np

from .._validation import MetaacuInputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

__all__ = ["FOREST_STYLES", "FUNNEL_STYLES", "ForestStyle", "FunnelStyle", "figure_bytes", "new_figure", "save_figure"]

MINUS = "\u2212"

#: rcParams that make output independent of the user's matplotlib configuration.
BASE_RC: dict[RcKeyType, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "mathtext.fontset": "dejavusans",
    "axes.unicode_minus": True,
    "svg.hashsalt": "metaacu",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "path.simplify": False,
    "text.usetex": False,
    "axes.formatter.use_mathtext": False,
}


@dataclass(frozen=True)
class ForestStyle:
    """Everything about how a forest plot looks.  Start from a preset and ``dataclasses.replace``.

    Sizes are in points (fonts, lines) or inches (``row_height``, ``plot_width``, gaps).  ``digits`` is
    the number of decimals of estimates and CIs; it is raised (by at most 3) when the pooled CI would
    otherwise span fewer than two units of the last decimal, e.g. for small risk differences.

    Examples
    --------
    >>> from dataclasses import replace
    >>> s = replace(ForestStyle.preset("journal"), show_data=False)
    >>> s.font_size
    7.5
    """

    font_size: float = 9.0
    row_height: float = 0.21
    plot_width: float = 2.6
    col_gap: float = 0.16
    panel_gap: float = 0.12
    margin: float = 0.12
    dpi: float = 150.0
    digits: int = 2
    weight_digits: int = 1
    data_digits: int = 2
    show_data: bool = True
    show_weights: bool = True
    show_heterogeneity: bool = True
    show_test: bool = True
    show_prediction: bool = True
    arm_labels: tuple[str, str] = ("Experimental", "Control")
    study_header: str = "Study or Subgroup"
    extra_header: str = "Not pooled"
    favours_prefix: str = "Favours "
    square_color: str = "#1f4e9c"
    whisker_color: str = "black"
    diamond_color: str = "black"
    second_diamond_color: str = "#8c8c8c"
    prediction_color: str = "#b2182b"
    extra_color: str = "#6e6e6e"
    text_color: str = "black"
    line_width: float = 0.9
    max_square: float = 0.8
    diamond_height: float = 0.36
    rule_color: str = "#7f7f7f"

    @classmethod
    def preset(cls, name: str) -> ForestStyle:
        """A named preset: ``"revman"`` (default) or ``"journal"`` (compact, grey)."""
        try:
            return FOREST_STYLES[name]
        except KeyError:
            raise MetaacuInputError(f"unknown forest style {name!r}; choose from {sorted(FOREST_STYLES)}") from None

    @property
    def rc(self) -> dict[RcKeyType, Any]:
        """rcParams applied while the figure is built (fixed font and size)."""
        return {
            **BASE_RC,
            "font.size": self.font_size,
            "xtick.labelsize": self.font_size,
            "axes.linewidth": self.line_width,
            "xtick.major.width": self.line_width,
        }


FOREST_STYLES: dict[str, ForestStyle] = {
    "revman": ForestStyle(),
    "journal": ForestStyle(
        font_size=7.5,
        row_height=0.17,
        plot_width=2.1,
        col_gap=0.12,
        panel_gap=0.08,
        margin=0.08,
        dpi=300.0,
        square_color="#3a3a3a",
        diamond_color="black",
        prediction_color="#3a3a3a",
        line_width=0.7,
        study_header="Study",
    ),
}


@dataclass(frozen=True)
class FunnelStyle:
    """How a funnel plot looks (sizes in inches and points)."""

    width: float = 5.4
    height: float = 3.6
    font_size: float = 9.0
    dpi: float = 150.0
    point_color: str = "#1f4e9c"
    point_size: float = 28.0
    filled_color: str = "#1f4e9c"
    line_color: str = "black"
    limit_color: str = "#555555"
    contour_levels: tuple[float, ...] = (0.10, 0.05, 0.01)
    contour_colors: tuple[str, ...] = ("#8c8c8c", "#bfbfbf", "#e5e5e5")  # metafor: gray55/75/90
    line_width: float = 0.9

    @classmethod
    def preset(cls, name: str) -> FunnelStyle:
        """A named preset: ``"revman"`` (default) or ``"journal"``."""
        try:
            return FUNNEL_STYLES[name]
        except KeyError:
            raise MetaacuInputError(f"unknown funnel style {name!r}; choose from {sorted(FUNNEL_STYLES)}") from None

    @property
    def rc(self) -> dict[RcKeyType, Any]:
        return {
            **BASE_RC,
            "font.size": self.font_size,
            "xtick.labelsize": self.font_size,
            "ytick.labelsize": self.font_size,
            "axes.linewidth": self.line_width,
        }


FUNNEL_STYLES: dict[str, FunnelStyle] = {
    "revman": FunnelStyle(),
    "journal": FunnelStyle(
        width=3.3, height=2.7, font_size=7.5, dpi=300.0, point_color="black", filled_color="black", line_width=0.7
    ),
}


class _Preset(Protocol):
    """A style class with named presets (:class:`ForestStyle`, :class:`FunnelStyle`)."""

    @classmethod
    def preset(cls, name: str) -> Self: ...


_S = TypeVar("_S", bound=_Preset)


def resolve_style(style: object, cls: type[_S], presets: Mapping[str, _S]) -> _S:
    """``None`` → default preset; a name → that preset; an instance → itself."""
    if style is None:
        return presets["revman"]
    if isinstance(style, str):
        return cls.preset(style)
    if isinstance(style, cls):
        return style
    raise MetaacuInputError(f"argument 'style' must be a preset name or a {cls.__name__}, not {type(style).__name__}")


@contextmanager
def rc_context(rc: dict[RcKeyType, Any]) -> Iterator[None]:
    with mpl.rc_context(rc):
        yield


# ----------------------------------------------------------------------------- formatting
def fmt_num(x: float, digits: int) -> str:
    """Fixed decimals with a true minus sign; empty for NaN."""
    if x is None or not np.isfinite(x):
        return ""
    s = f"{x:.{digits}f}"
    if float(s) == 0:
        s = s.lstrip("-")
    return s.replace("-", MINUS)


def fmt_p(p: float) -> str:
    """RevMan-style p-value: ``P = 0.03``, ``P < 0.0001``."""
    if not np.isfinite(p):
        return "P = NA"
    if p < 1e-4:
        return "P < 0.0001"
    return f"P = {p:.4f}" if p < 0.001 else f"P = {p:.2f}" if p >= 0.01 else f"P = {p:.3f}"


def fmt_tick(x: float) -> str:
    """Tick label without trailing zeros (``0.5``, ``1``, ``10``, ``−2``)."""
    s = f"{x:.6g}"
    if "e" in s:
        s = f"{x:f}".rstrip("0").rstrip(".")
    return s.replace("-", MINUS)


def decimals_needed(values: np.ndarray, cap: int) -> int:
    """Smallest number of decimals (≤ cap) that shows every value exactly; consistent per column."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    for d in range(cap + 1):
        if np.all(np.abs(np.round(v, d) - v) < 1e-9 * np.maximum(1.0, np.abs(v))):
            return d
    return cap


def nice_ceil(x: float) -> float:
    """Smallest of 1, 2, 5 × 10ⁿ that is ≥ x."""
    if not np.isfinite(x) or x <= 0:
        return 1.0
    e = math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * 10.0**e >= x * (1 - 1e-12):
            return m * 10.0**e
    return 10.0 ** (e + 1)  # pragma: no cover


# ----------------------------------------------------------------------------- saving
_METADATA = {
    ".svg": {"Date": None, "Creator": None},
    ".pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
    ".png": {"Software": None},
}


def figure_bytes(fig: Figure, fmt: str, *, dpi: float | None = None) -> bytes:
    """Render ``fig`` to PNG, SVG or PDF bytes; the same figure always gives the same bytes.

    Fixes the SVG hash salt, keeps text as paths in SVG, and drops dates and software versions
    from the metadata.  :func:`save_figure` and the notebook display of every plot use it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    fmt : {"png", "svg", "pdf"}
    dpi : float, optional
        Resolution for PNG (default: the figure's).

    Returns
    -------
    bytes

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(1, 1))
    >>> figure_bytes(fig, "png")[:4] == b"\\x89PNG" and figure_bytes(fig, "svg") == figure_bytes(fig, "svg")
    True
    """
    key = "." + str(fmt).lower().lstrip(".")
    if key not in _METADATA:
        raise MetaacuInputError(f"argument 'fmt' must be 'png', 'svg' or 'pdf', not {fmt!r}")
    buf = io.BytesIO()
    with mpl.rc_context(BASE_RC):
        fig.savefig(buf, format=key[1:], dpi=dpi or fig.dpi, metadata=_METADATA[key], facecolor="white")
    return buf.getvalue()


def save_figure(fig: Figure, path: str | Path, *, dpi: float | None = None) -> Path:
    """Save ``fig`` to PNG, SVG or PDF (by suffix) so that the same figure gives identical bytes.

    Fixes the SVG hash salt, keeps text as paths in SVG, and drops dates and software versions
    from the metadata (see :func:`figure_bytes`).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or Path
        Target file; the suffix (``.png``, ``.svg``, ``.pdf``) selects the format.
    dpi : float, optional
        Resolution for PNG (default: the figure's).

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from matplotlib.figure import Figure
    >>> fig = Figure()
    >>> out = save_figure(fig, pathlib.Path(tempfile.mkdtemp()) / "f.svg")
    >>> out.suffix
    '.svg'
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in _METADATA:
        raise MetaacuInputError(f"argument 'path' must end in .png, .svg or .pdf, not {p.suffix!r}")
    p.write_bytes(figure_bytes(fig, suffix, dpi=dpi))
    return p


def new_figure(
    width: float,
    height: float,
    *,
    dpi: float,
    layout: Literal["constrained", "compressed", "tight"] | None = None,
) -> Figure:
    """A figure that belongs to the plot, not to pyplot: nothing shows it behind the caller's back.

    ``matplotlib.figure.Figure`` with an Agg canvas (so text can be measured), never registered
    with pyplot: a notebook displays the plot object once, through its ``_repr_png_``/``_repr_svg_``,
    and the inline backend has no figure of its own to display a second time.

    Examples
    --------
    >>> fig = new_figure(3.0, 2.0, dpi=100)
    >>> fig.canvas.get_renderer() is not None, fig.canvas.manager is None
    (True, True)
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def figure_of(ax: Axes) -> Figure:
    """The figure ``ax`` is drawn in; the plots size, lay out, render and display that figure.

    Axes of a subfigure are refused: a subfigure cannot be resized, measured or saved on its own.
    """
    from matplotlib.figure import Figure

    fig = ax.get_figure()
    if not isinstance(fig, Figure):
        owner = "no figure" if fig is None else f"a {type(fig).__name__}"
        raise MetaacuInputError(f"argument 'ax' must be axes of a matplotlib Figure; these belong to {owner}")
    return fig
