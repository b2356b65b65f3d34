"""Plots of a Bayesian random-effects meta-analysis (:func:`metaacu.bayes.bayesian_meta_analysis`).

* :func:`posterior_plot` — marginal posterior densities of μ, τ and θ_new (one panel each) with the
  credible interval shaded, the median marked and the prior density dashed;
* :func:`shrinkage_plot` — a forest plot of the observed estimates next to the shrinkage
  estimates (posteriors of the true study effects θᵢ), with μ (diamond) and θ_new (bar) below, as
  bayesmeta's ``forestplot``.

Both return frozen results that display once in a notebook (:class:`~metaacu.plots.display.FigureDisplay`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon
from matplotlib.text import Text

from .._validation import MetaacuInputError, check_choice
from ..bayes_posterior import INTERVALS
from ..bayes_result import BayesianMetaAnalysis
from ..inference import Z975
from ..measures import measure_info
from .display import FigureDisplay
from .forest_axis import ratio_ticks
from .style import BASE_RC, fmt_num, fmt_tick, new_figure, rc_context

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = ["BayesStyle", "PosteriorPlot", "ShrinkagePlot", "posterior_plot", "shrinkage_plot"]

_NAMES = {"mu": "effect μ", "tau": "heterogeneity τ", "theta_new": "new study θ_new"}


@dataclass(frozen=True)
class BayesStyle:
    """How the Bayesian plots look (sizes in inches and points); change with ``dataclasses.replace``."""

    font_size: float = 9.0
    dpi: float = 150.0
    panel_width: float = 2.6
    panel_height: float = 2.1
    row_height: float = 0.24
    plot_width: float = 2.8
    curve_color: str = "#1f4e9c"
    band_color: str = "#9ecae1"
    prior_color: str = "#6e6e6e"
    observed_color: str = "black"
    shrinkage_color: str = "#1f4e9c"
    diamond_color: str = "black"
    prediction_color: str = "#b2182b"
    line_width: float = 1.0
    digits: int = 2

    @property
    def rc(self) -> dict[RcKeyType, Any]:
        return {
            **BASE_RC,
            "font.size": self.font_size,
            "xtick.labelsize": self.font_size,
            "ytick.labelsize": self.font_size,
            "axes.linewidth": 0.8,
        }


def _style(style: BayesStyle | None) -> BayesStyle:
    if style is None:
        return BayesStyle()
    if not isinstance(style, BayesStyle):
        raise MetaacuInputError(f"argument 'style' must be a BayesStyle, not {type(style).__name__}")
    return style


def _short_scale(measure: str | None) -> str | None:
    """``"log OR"``, ``"SMD"`` ...: the pooling scale in a few characters (None for generic effects)."""
    if measure is None:
        return None
    info = measure_info(measure)
    return f"log {info.code}" if info.is_ratio else ("logit" if info.scale == "logit" else info.code)


def _result(result: Any) -> BayesianMetaAnalysis:
    if not isinstance(result, BayesianMetaAnalysis):
        raise MetaacuInputError(
            "argument 'result' must be a BayesianMetaAnalysis (from bayesian_meta_analysis), "
            f"not {type(result).__name__}"
        )
    return result


# ============================================================================ posterior densities
@dataclass(frozen=True, repr=False)
class PosteriorPlot(FigureDisplay):
    """What :func:`posterior_plot` drew, one entry per panel.

    Attributes
    ----------
    figure : Figure
    axes : tuple of Axes
    parameters : tuple of str
    curves : tuple of Line2D
        Posterior densities.
    bands : tuple of PolyCollection
        The shaded credible intervals.
    medians : tuple of Line2D
        Vertical lines at the posterior medians.
    priors : tuple of (Line2D or None)
        Prior densities (None where the prior is flat or improper).
    """

    figure: Figure
    axes: tuple[Axes, ...]
    parameters: tuple[str, ...]
    curves: tuple[Line2D, ...]
    bands: tuple[PolyCollection, ...]
    medians: tuple[Line2D, ...]
    priors: tuple[Line2D | None, ...]

    def __repr__(self) -> str:
        return f"<PosteriorPlot {', '.join(self.parameters)}>"


def posterior_plot(
    result: BayesianMetaAnalysis,
    parameters: Sequence[str] = ("mu", "tau", "theta_new"),
    *,
    prior: bool = True,
    interval: str = "shortest",
    style: BayesStyle | None = None,
) -> PosteriorPlot:
    """Marginal posterior densities, one panel per parameter.

    Parameters
    ----------
    result : BayesianMetaAnalysis
    parameters : sequence of {"mu", "tau", "theta_new"}
    prior : bool
        Draw the prior density (dashed) where it is proper (τ; μ with a normal prior).
    interval : {"shortest", "central"}
        The shaded credible interval, at the fit's level.
    style : BayesStyle, optional

    Returns
    -------
    PosteriorPlot

    Examples
    --------
    >>> from metaacu.bayes import bayesian_meta_analysis
    >>> from metaacu.bayes_priors import HalfNormal
    >>> res = bayesian_meta_analysis([0.1, 0.3, 0.35], [0.02, 0.03, 0.01], tau_prior=HalfNormal(0.5))
    >>> pp = posterior_plot(res)
    >>> pp.parameters, pp.priors[0] is None, pp.priors[1] is not None
    (('mu', 'tau', 'theta_new'), True, True)
    """
    res = _result(result)
    st = _style(style)
    kind = check_choice(interval, "interval", INTERVALS)
    if isinstance(parameters, str):
        parameters = (parameters,)
    pars = tuple(check_choice(p, "parameters", ("mu", "tau", "theta_new")) for p in parameters)
    if not pars:
        raise MetaacuInputError("argument 'parameters' names no parameter")
    scale = _short_scale(res.measure)
    with rc_context(st.rc):
        fig = new_figure(st.panel_width * len(pars), st.panel_height, dpi=st.dpi, layout="constrained")
        axes = tuple(fig.subplots(1, len(pars), squeeze=False)[0])
        curves, bands, medians, priors = [], [], [], []
        for ax, par in zip(axes, pars, strict=True):
            grid = res.density_grid(par, n=401, coverage=0.999)
            x, d = grid["x"].to_numpy(), grid["density"].to_numpy()
            summ = getattr(res, par)
            iv = summ.interval(kind)
            (curve,) = ax.plot(x, d, color=st.curve_color, lw=st.line_width * 1.4)
            inside = (x >= iv.low) & (x <= iv.high)
            xb = np.concatenate([[iv.low], x[inside], [iv.high]])
            band = ax.fill_between(xb, 0, res.pdf(xb, par), color=st.band_color, lw=0, alpha=0.8)
            med = ax.axvline(summ.median, color=st.curve_color, lw=st.line_width, ls="-", ymax=0.98)
            pline: Line2D | None = None
            if prior and par == "tau" and res.tau_prior.proper:
                (pline,) = ax.plot(x, res.tau_prior.pdf(x, res.vi), color=st.prior_color, lw=st.line_width, ls="--")
            elif prior and par == "mu" and res.mu_prior.proper:
                (pline,) = ax.plot(x, np.exp(res.mu_prior.logpdf(x)), color=st.prior_color, lw=st.line_width, ls="--")
            ax.set_ylim(0, float(np.nanmax(d)) * 1.08)
            ax.set_xlim(float(x[0]), float(x[-1]))
            ax.set_yticks([])
            for side in ("top", "right", "left"):
                ax.spines[side].set_visible(False)
            label = _NAMES[par] + (f" ({scale})" if scale else "")
            ax.set_xlabel(label)
            ax.set_title(
                f"median {fmt_num(summ.median, st.digits + 1)}, {100 * iv.level:g}% [{fmt_num(iv.low, st.digits + 1)}, "
                f"{fmt_num(iv.high, st.digits + 1)}]",
                fontsize=st.font_size * 0.9,
            )
            curves.append(curve)
            bands.append(band)
            medians.append(med)
            priors.append(pline)
        if prior and any(p is not None for p in priors):
            handles = [curves[0], next(p for p in priors if p is not None)]
            fig.legend(handles, ["posterior", "prior"], loc="outside lower center", ncols=2, frameon=False)
    return PosteriorPlot(fig, axes, pars, tuple(curves), tuple(bands), tuple(medians), tuple(priors))


# ============================================================================ shrinkage forest plot
@dataclass(frozen=True, repr=False)
class ShrinkagePlot(FigureDisplay):
    """What :func:`shrinkage_plot` drew.

    Attributes
    ----------
    figure, ax : Figure, Axes
    observed : tuple of Line2D
        Each study's estimate with its 95% confidence interval (black), top to bottom.
    shrunk : tuple of Line2D
        Each study's shrinkage interval with its posterior median (coloured, just below).
    diamond : Polygon
        μ: posterior median and credible interval.
    prediction : Line2D
        θ_new: the prediction interval.
    texts : tuple of Text
        Labels and numbers of the table.
    """

    figure: Figure
    ax: Axes
    observed: tuple[Line2D, ...]
    shrunk: tuple[Line2D, ...]
    diamond: Polygon
    prediction: Line2D
    texts: tuple[Text, ...]

    def __repr__(self) -> str:
        return f"<ShrinkagePlot k={len(self.observed)}>"


def _fmt_ci(values: Any, digits: int) -> str:
    """``"0.21 [0.11, 0.39]"`` from (estimate, low, high)."""
    est, lo, hi = (float(x) for x in values)
    return f"{fmt_num(est, digits)} [{fmt_num(lo, digits)}, {fmt_num(hi, digits)}]"


def shrinkage_plot(
    result: BayesianMetaAnalysis, *, interval: str = "shortest", style: BayesStyle | None = None
) -> ShrinkagePlot:
    """Forest plot with shrinkage intervals: each study's estimate and 95% CI (black) above its
    shrinkage estimate (the posterior median and credible interval of θᵢ, coloured), then μ (diamond)
    and the prediction θ_new (bar).  Ratio measures are drawn on a log axis labelled with ratios.

    Parameters
    ----------
    result : BayesianMetaAnalysis
    interval : {"shortest", "central"}
        Credible intervals shown (at the fit's level).
    style : BayesStyle, optional

    Returns
    -------
    ShrinkagePlot

    Examples
    --------
    >>> from metaacu.bayes import bayesian_meta_analysis
    >>> from metaacu.bayes_priors import HalfNormal
    >>> res = bayesian_meta_analysis([0.1, 0.3, 0.35], [0.02, 0.03, 0.01], tau_prior=HalfNormal(0.5))
    >>> sp = shrinkage_plot(res)
    >>> len(sp.observed), len(sp.shrunk)
    (3, 3)
    """
    res = _result(result)
    st = _style(style)
    kind = check_choice(interval, "interval", INTERVALS)
    info = measure_info(res.measure)
    tx = info.to_display
    ratio = info.is_ratio
    k = res.k
    se = np.sqrt(res.vi)
    obs_lo, obs_hi = res.yi - Z975 * se, res.yi + Z975 * se
    shr = [t.interval(kind) for t in res.theta]
    mu_iv, pr_iv = res.mu.interval(kind), res.theta_new.interval(kind)
    d = st.digits
    left = [str(lab) for lab in res.labels] + ["Mean effect (μ)", "Prediction (θ_new)"]
    obs_txt = [_fmt_ci(tx(np.array([y, lo, hi])), d) for y, lo, hi in zip(res.yi, obs_lo, obs_hi, strict=True)]
    shr_txt = [_fmt_ci(tx(np.array([t.median, iv.low, iv.high])), d) for t, iv in zip(res.theta, shr, strict=True)]
    pooled_txt = [
        _fmt_ci(tx(np.array([s.median, iv.low, iv.high])), d) for s, iv in ((res.mu, mu_iv), (res.theta_new, pr_iv))
    ]
    lv = f"{100 * res.level:g}%"
    heads = ("Study", "Estimate [95% CI]", f"Shrinkage [{lv} CrI]")
    n_rows = k + 3  # header, k studies, gap, two pooled rows
    with rc_context(st.rc):
        fig = new_figure(1.0, 1.0, dpi=st.dpi)
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]

        def width(strings: Sequence[str], bold: bool = False) -> float:
            w = 0.0
            for s in strings:
                t = fig.text(0, 0, s, fontweight="bold" if bold else "normal")
                w = max(w, t.get_window_extent(renderer).width / fig.dpi)
                t.remove()
            return w

        w_left = max(width(left), width([heads[0]], True))
        w_obs = max(width(obs_txt), width([heads[1]], True))
        w_shr = max(width(shr_txt + pooled_txt), width([heads[2]], True))
        gap, margin = 0.15, 0.12
        fig_w = margin + w_left + gap + st.plot_width + gap + w_obs + gap + w_shr + margin
        axis_h = 0.55
        fig_h = st.row_height * (n_rows + 1) + axis_h + 0.1
        fig.set_size_inches(fig_w, fig_h)
        ax_left = (margin + w_left + gap) / fig_w
        ax = fig.add_axes((ax_left, axis_h / fig_h, st.plot_width / fig_w, (fig_h - axis_h - 0.1) / fig_h))
        ax.set_ylim(n_rows + 0.5, -0.5)
        ax.set_yticks([])
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        rows_study = np.arange(1, k + 1, dtype=float)
        y_mu, y_pred = k + 2.0, k + 3.0
        off = 0.18
        observed, shrunk = [], []
        for i in range(k):
            y = rows_study[i]
            (o,) = ax.plot(
                tx(np.array([obs_lo[i], obs_hi[i]])),
                [y - off, y - off],
                color=st.observed_color,
                lw=st.line_width,
                marker="|",
                markersize=4,
            )
            ax.plot(tx(np.array([res.yi[i]])), [y - off], ls="none", marker="s", color=st.observed_color, markersize=4)
            (s,) = ax.plot(
                tx(np.array([shr[i].low, shr[i].high])),
                [y + off, y + off],
                color=st.shrinkage_color,
                lw=st.line_width * 1.6,
                solid_capstyle="butt",
            )
            ax.plot(
                tx(np.array([res.theta[i].median])),
                [y + off],
                ls="none",
                marker="o",
                color=st.shrinkage_color,
                markersize=3.5,
            )
            observed.append(o)
            shrunk.append(s)
        h = 0.32
        lo_m, med_m, hi_m = tx(np.array([mu_iv.low, res.mu.median, mu_iv.high]))
        diamond = Polygon(
            [(lo_m, y_mu), (med_m, y_mu - h), (hi_m, y_mu), (med_m, y_mu + h)],
            closed=True,
            facecolor=st.diamond_color,
            edgecolor=st.diamond_color,
        )
        ax.add_patch(diamond)
        (pred,) = ax.plot(
            tx(np.array([pr_iv.low, pr_iv.high])),
            [y_pred, y_pred],
            color=st.prediction_color,
            lw=st.line_width * 3,
            solid_capstyle="butt",
        )
        below_head = 1.0 - 1.0 / (n_rows + 1)  # axes fraction of y = 0.5, under the header row
        ax.axvline(info.null_value, color="#7f7f7f", lw=0.7, ls=":", zorder=0, ymax=below_head)
        ax.axvline(med_m, color=st.diamond_color, lw=0.6, ls="--", zorder=0, ymax=below_head)
        # axis range: every interval, ±5%
        ends = np.concatenate([obs_lo, obs_hi, np.array([pr_iv.low, pr_iv.high] + [x for iv in shr for x in iv])])
        lo_all, hi_all = float(np.min(ends)), float(np.max(ends))
        if ratio:
            ax.set_xscale("log")
            pad = 0.05 * (hi_all - lo_all)
            a, b = float(np.exp(lo_all - pad)), float(np.exp(hi_all + pad))
            ticks = ratio_ticks(a, b)
            ax.set_xlim(a, b)
            ax.set_xticks(ticks, [fmt_tick(t) for t in ticks])
            ax.minorticks_off()
        else:
            pad = 0.05 * (hi_all - lo_all)
            ax.set_xlim(lo_all - pad, hi_all + pad)
        ax.set_xlabel(info.display_name if res.measure else "Effect")
        # text columns (axes-x in inches from the axes' left edge, data-y)
        from matplotlib import transforms as mtrans

        base = mtrans.blended_transform_factory(ax.transAxes, ax.transData)
        texts: list[Text] = []

        def put(x_in: float, y: float, s: str, ha: str, bold: bool = False, color: str = "black") -> None:
            trans = base + mtrans.ScaledTranslation(x_in, 0, fig.dpi_scale_trans)
            texts.append(
                ax.text(
                    0.0 if x_in < 0 else 1.0,
                    y,
                    s,
                    transform=trans,
                    ha=ha,
                    va="center",
                    clip_on=False,
                    fontweight="bold" if bold else "normal",
                    color=color,
                )
            )

        x_obs = gap + w_obs
        x_shr = gap + w_obs + gap + w_shr
        put(-gap - w_left, 0, heads[0], "left", bold=True)
        put(x_obs, 0, heads[1], "right", bold=True)
        put(x_shr, 0, heads[2], "right", bold=True, color=st.shrinkage_color)
        for i in range(k):
            put(-gap - w_left, rows_study[i], left[i], "left")
            put(x_obs, rows_study[i], obs_txt[i], "right")
            put(x_shr, rows_study[i], shr_txt[i], "right", color=st.shrinkage_color)
        for j, y in enumerate((y_mu, y_pred)):
            put(-gap - w_left, y, left[k + j], "left", bold=True)
            put(x_shr, y, pooled_txt[j], "right", bold=True)
    return ShrinkagePlot(fig, ax, tuple(observed), tuple(shrunk), diamond, pred, tuple(texts))
