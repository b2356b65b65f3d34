"""Figures of the claims audit: a forest plot per claim with its clinical-relevance thresholds, a dot plot
for arithmetic claims, and the risk-of-bias traffic-light plot of the trials the audit uses."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from ..measures import MEASURES, measure_info
from ..plots import ForestPlot, ForestStyle, forest_plot
from ..plots.style import figure_of, rc_context
from .certainty import KEY_DOMAINS, ROB_DOMAINS, trial_risk_of_bias
from .claims import ClaimResult
from .data import Dataset

__all__ = ["ArithmeticPlot", "RobPlot", "arithmetic_plot", "claim_figure", "risk_of_bias_plot"]

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
        else:
            fig = figure_of(ax)
        y = list(range(len(frame)))[::-1]
        ax.scatter(frame["stated"], y, s=40, color="#1f4e9c", label="stated in the article", zorder=3)
        ax.scatter(
            frame["four_weeks"],
            y,
            s=110,
            facecolors="none",
            edgecolors="black",
            label="price × sessions, 4 weeks/month",
            zorder=2,
        )
        ax.scatter(
            frame["calendar"],
            y,
            s=40,
            marker="x",
            color="#b2182b",
            label="price × sessions, 52/12 weeks/month",
            zorder=2,
        )
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


def _nice_limits(values: list[float], ratio: bool) -> tuple[float, float]:
    """Axis limits on the display scale holding every value and no effect, rounded out to nice numbers."""
    import numpy as np

    from ..plots.style import nice_ceil

    vals = [v for v in values if math.isfinite(v) and (v > 0 or not ratio)]
    if ratio:
        lo, hi = min([*vals, 1.0]), max([*vals, 1.0])
        steps = [m * 10.0**e for e in range(-3, 4) for m in (1, 2, 5)]
        return max(s for s in steps if s <= lo * 0.95), min(s for s in steps if s >= hi * 1.05)
    lo, hi = min([*vals, 0.0]), max([*vals, 0.0])
    pad = 0.04 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    step = nice_ceil((hi - lo) / 4)
    for _ in range(3):  # four equal steps from a multiple of the step (the forest axis draws five ticks)
        start = float(np.floor(lo / step) * step)
        if start + 4 * step >= hi:
            return start, start + 4 * step
        step = nice_ceil(step * 1.01)
    return start, start + 4 * step


def claim_figure(result: ClaimResult) -> ForestPlot | ArithmeticPlot | None:
    """The figure of one claim (benefit scale: right of the solid line favours acupuncture).

    Pooled or recombined rows give the diamond; the deciding estimate of a single-row claim and every
    other row on the claim's measure are drawn as hollow diamonds (published estimates, trial results
    at other time points).  Dashed lines mark the claim's relevance threshold and the alternative one
    (when it is on the same scale).  Rows on another measure stay in the evidence table.  Arithmetic
    claims get a dot plot; claims without numbers, ``None``.
    """
    ev = result.evidence
    if result.claim.get("rule") == "arithmetic":
        return arithmetic_plot(ev)
    if result.claim.get("rule") == "no_serious_harm":
        return _harm_figure(result)
    if ev.empty or "estimate" not in ev:
        return None
    measure = "SMD" if result.claim.get("rule") == "persistence" else result.measure
    shown = ev[ev["use"].isin(["decide", "support"]) & ev["ci_low"].notna() & (ev["measure"] == measure)].copy()
    shown["label"] = [
        f"{lab} (decides)" if use == "decide" else lab for lab, use in zip(shown["label"], shown["use"], strict=True)
    ]
    shown = pd.concat([shown[shown["use"] == "decide"], shown[shown["use"] != "decide"]])
    extra = shown[["label", "estimate", "ci_low", "ci_high"]].reset_index(drop=True)
    if result.model is None and extra.empty:
        return None
    info = measure_info(measure if measure in MEASURES else None)
    to_disp = info.to_display if (info.is_ratio or info.scale == "logit") else (lambda v: v)
    lines = [(result.threshold_info, result.threshold), (result.alt_threshold_info, result.alt_threshold)]
    lines = [(t, float(to_disp(v)) if t.get("scale") != "RD" or not info.is_ratio else math.nan) for t, v in lines if t]
    if result.claim.get("rule") == "majority":
        lines = [({"label": "one half"}, 0.5)]
    points = [float(to_disp(v)) for v in (*extra["ci_low"], *extra["ci_high"])]
    if result.model is not None:
        points += [
            float(to_disp(v))
            for v in (
                result.model.ci_low,
                result.model.ci_high,
                *(result.model.yi - 2 * result.model.vi**0.5),
                *(result.model.yi + 2 * result.model.vi**0.5),
            )
        ]
    refs = [
        (x, ("relevance threshold: " if i == 0 else "alternative threshold: ") + str(t.get("label", "")))
        for i, (t, x) in enumerate(lines)
        if math.isfinite(x)
    ]
    favours: tuple[str, str] | None = ("control", "acupuncture")
    if info.scale == "logit":  # shares of patients: no 'favours' side, an axis inside (0, 1)
        favours = None
        vals = [v for v in points + [x for x, _ in refs] if math.isfinite(v)]
        xlim = (max(0.01, min(vals) - 0.05), min(0.99, max(vals) + 0.05))
        refs = [(x, "one half of the patients") for x, _ in refs]
    else:
        xlim = _nice_limits(points + [x for x, _ in refs], info.is_ratio)
    if result.model is not None:
        return forest_plot(
            result.model, favours=favours, extra_rows=extra if len(extra) else None, xlim=xlim, reference_lines=refs
        )
    style = replace(
        ForestStyle.preset("revman"),
        study_header="Source",
        extra_header="Deciding estimate, then supporting estimates (not pooled)",
    )
    return forest_plot(
        None,
        favours=favours,
        extra_rows=extra,
        measure=measure if measure in MEASURES else None,
        style=style,
        xlim=xlim,
        reference_lines=refs,
    )


def _harm_figure(result: ClaimResult) -> ForestPlot:
    """The serious-event rate with its exact CI, against the acceptable rates of the claim."""
    r = result.evidence.iloc[0]
    rows = pd.DataFrame(
        [
            {
                "label": f"{r['study_id']}: {int(r['events'])}/{int(r['total'])} {r['event']}",
                "estimate": result.estimate,
                "ci_low": result.ci_low,
                "ci_high": result.ci_high,
            }
        ]
    )
    refs = [
        (float(t["value"]), f"{'acceptable rate' if i == 0 else 'alternative'}: {t['label']}")
        for i, t in enumerate((result.threshold_info, result.alt_threshold_info))
    ]
    need = max([result.ci_high, *(x for x, _ in refs)]) * 1.05
    hi = min(x for x in (0.02, 0.04, 0.08, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0) if x >= need)
    style = replace(
        ForestStyle.preset("revman"), study_header="Source", extra_header="Serious adverse events (exact 95% CI)"
    )
    return forest_plot(None, extra_rows=rows, measure="PR", style=style, xlim=(0.0, hi), reference_lines=refs)


#: Colours and symbols of the traffic-light plot (as in robvis and R meta's rob()).
_ROB_LOOK = {
    "low": ("#02c100", "+"),
    "unclear": ("#e2df07", "?"),
    "some concerns": ("#e2df07", "?"),
    "high": ("#bf0000", "−"),
    "missing": ("#d9d9d9", ""),
}
_ROB_NAMES = {
    "sequence_generation": "Random sequence",
    "allocation_concealment": "Allocation concealment",
    "blinding_participants": "Blinding: participants",
    "blinding_personnel": "Blinding: acupuncturist",
    "blinding_outcome_assessment": "Blinding: outcome assessment",
    "incomplete_outcome_data": "Incomplete outcome data",
    "selective_reporting": "Selective reporting",
    "other_bias": "Other bias",
}


@dataclass(frozen=True)
class RobPlot:
    """The traffic-light figure and the judgements it shows (one row per trial and comparison)."""

    figure: Figure
    ax: Axes
    table: pd.DataFrame


def risk_of_bias_plot(ds: Dataset) -> RobPlot:
    """Traffic-light plot of ``data/risk_of_bias.csv``: trials (and comparisons, where judgements
    differ by comparison) by domain, with the overall judgement over the key domains."""
    rob = ds.risk_of_bias
    short: dict[str, str] = dict(zip(ds.studies["study_id"], ds.studies["short_label"], strict=True))

    def order(study: str) -> tuple[str, str]:  # the last 4 characters of the label (the year, mostly), then id
        return short.get(study, study)[-4:], study

    rows = []
    for study in sorted(rob["study_id"].unique(), key=order):
        comps = sorted(set(rob.loc[rob["study_id"] == study, "comparison"]) - {"all"}) or ["all"]
        for comp in comps:
            overall, doms = trial_risk_of_bias(ds, study, comp)
            label = short.get(study, study) + ("" if comp == "all" else f" ({comp.replace('_', ' ')})")
            rows.append({"trial": label, **doms, "overall": overall})
    table = pd.DataFrame(rows)
    cols = [*ROB_DOMAINS, "overall"]
    with rc_context({"font.family": "DejaVu Sans", "font.size": 8, "svg.hashsalt": "metaacu"}):
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(1.9 + 0.62 * len(cols), 1.5 + 0.34 * len(table)), dpi=150, layout="constrained")
        ax = fig.add_subplot()
        for i, row in enumerate(table.itertuples(index=False)):
            for j, col in enumerate(cols):
                colour, mark = _ROB_LOOK[getattr(row, col)]
                ax.scatter([j], [i], s=190, color=colour, edgecolors="#555555", linewidths=0.4, zorder=2)
                ax.text(j, i, mark, ha="center", va="center", fontsize=9, fontweight="bold", color="white", zorder=3)
        ax.set_xticks(
            range(len(cols)), [_ROB_NAMES.get(c, "Overall (key domains)") for c in cols], rotation=40, ha="right"
        )
        ax.set_yticks(range(len(table)), list(table["trial"]))
        ax.set_xlim(-0.6, len(cols) - 0.4)
        ax.set_ylim(len(table) - 0.5, -0.5)
        ax.xaxis.set_ticks_position("top")
        ax.xaxis.set_label_position("top")
        for side in ("top", "right", "bottom", "left"):
            ax.spines[side].set_visible(False)
        ax.tick_params(length=0)
        ax.axvline(len(cols) - 1.5, color="#999999", lw=0.6)
        handles = [
            Line2D([], [], marker="o", ls="", color=c, markeredgecolor="#555555", markersize=8, label=lab)
            for lab, (c, _) in (
                ("low", _ROB_LOOK["low"]),
                ("unclear / some concerns", _ROB_LOOK["unclear"]),
                ("high", _ROB_LOOK["high"]),
                ("not found", _ROB_LOOK["missing"]),
            )
        ]
        fig.legend(handles=handles, loc="outside lower center", ncol=4, frameon=False, fontsize=7)
        key = ", ".join(_ROB_NAMES[k].lower() for k in KEY_DOMAINS)
        fig.text(
            0.01, 0.0, f"Overall: high if any key domain is high, low if all are low ({key})", fontsize=6, va="bottom"
        )
    return RobPlot(fig, ax, table)
