"""The forest plot's effect axis for measures without a symmetric null: one-group measures (proportions,
incidence rates: no value means "no effect", so the axis spans the data) and correlations (an axis
within [-1, 1]).  Values are on the natural scale (the table rows' back-transformed ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.ticker import MaxNLocator

from .._validation import MetaacuInputError
from .style import nice_ceil

if TYPE_CHECKING:
    from .forest_table import Table

__all__ = ["axis_ticks", "data_axis", "ratio_ticks", "scale_and_limits"]

#: The natural range of each family's back-transformed values.
_RANGES = {"proportion": (0.0, 1.0), "rate": (0.0, np.inf), "correlation": (-1.0, 1.0)}


def _log_axis(lo: float, hi: float) -> tuple[tuple[float, float], list[float]]:
    """A log axis from the 1-2-5 value at or below ``lo`` to the one at or above ``hi``, ticked at 1-2-5."""
    cand = np.array([m * 10.0**e for e in range(-9, 10) for m in (1, 2, 5)])
    a = float(cand[cand <= lo * (1 + 1e-9)].max(initial=cand[0]))
    b = float(cand[cand >= hi * (1 - 1e-9)].min(initial=cand[-1]))
    decades = np.log10(b / a)
    ticks = [
        float(t)
        for t in cand
        if a * (1 - 1e-9) <= t <= b * (1 + 1e-9) and (decades <= 2.01 or t == 10.0 ** round(np.log10(t)))
    ]
    return (a, b), ticks


def data_axis(info: Any, scale: str, values: np.ndarray) -> tuple[tuple[float, float], list[float]] | None:
    """Limits and ticks spanning ``values`` on nice (1, 2, 2.5, 5 × 10ⁿ) steps, within the family's natural
    range, for one-group measures on a linear or log axis; ``None`` for other measures (and logit axes,
    which keep their own ticks)."""
    if not info.single_group or scale == "logit":
        return None
    v = values[np.isfinite(values)]
    low, high = _RANGES.get(info.family, (-np.inf, np.inf))
    lo, hi = (float(v.min()), float(v.max())) if v.size else (low, high)
    if scale == "log":
        lo, hi = max(lo, 1e-9), max(hi, 1e-9)
        return _log_axis(lo, hi if hi > lo else lo * 10)
    if hi <= lo:
        lo, hi = lo - 0.5 * (abs(lo) or 1.0), hi + 0.5 * (abs(hi) or 1.0)
    ticks = [float(t) for t in MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)]
    ticks = [t for t in ticks if low - 1e-12 <= t <= high + 1e-12]
    a, b = max(ticks[0], low), min(ticks[-1], high)
    pad = 0.03 * (b - a)  # a square at the end of the range (a proportion of 0 or 1) stays whole
    return (a - pad, b + pad), [round(t, 12) for t in ticks if a - 1e-12 <= t <= b + 1e-12]


# ----------------------------------------------------------------------------- axis scale
def scale_and_limits(
    table: Table, info: Any, xlim: Sequence[float] | None
) -> tuple[str, tuple[float, float], list[float]]:
    """The axis scale (``"linear"``, ``"log"``, ``"logit"``), limits and ticks of a forest plot's panel
    for its ``table`` of rows (or the user's ``xlim``)."""
    scale = {"log": "log", "logit": "logit"}.get(info.scale, "linear")
    rows = [r for r in table.rows if r.kind in ("study", "pooled", "pi", "extra")]
    ests = np.array([r.est for r in rows if r.kind in ("study", "extra")], float)
    ends = np.array([v for r in rows if r.kind in ("pooled", "pi") for v in (r.lo, r.hi)], float)
    study_ends = np.array([v for r in rows if r.kind in ("study", "extra") for v in (r.lo, r.hi)], float)
    if xlim is not None:
        lo, hi = (float(v) for v in xlim)
        if not lo < hi or (scale != "linear" and lo <= 0):
            raise MetaacuInputError(f"argument 'xlim' must be increasing (and positive for ratios), got {xlim!r}")
        return scale, (lo, hi), axis_ticks(scale, lo, hi)
    if (spans := data_axis(info, scale, np.concatenate([ests, ends, study_ends]))) is not None:
        return scale, *spans  # one-group measures (proportions, rates): the data's range, nice ticks
    if info.family == "proportion":  # logit
        allv = np.concatenate([ests, ends, study_ends])
        allv = allv[np.isfinite(allv)]
        lo, hi = max(float(allv.min()), 0.005), min(float(allv.max()), 0.995)
        return scale, (lo, hi), axis_ticks(scale, lo, hi)
    f = np.log if scale == "log" else (lambda v: v)
    with np.errstate(divide="ignore", invalid="ignore"):
        cand = [np.abs(f(ests)), np.abs(f(ends))]
        se = np.abs(f(study_ends))
    se = se[np.isfinite(se)]
    if se.size:
        cand.append(np.atleast_1d(np.quantile(se, 0.8)))
    c = np.concatenate(cand)
    c = c[np.isfinite(c)]
    reach = float(c.max()) if c.size else 1.0
    if scale == "log":
        r = max(nice_ceil(np.exp(reach * 1.03)), 2.0)
        return scale, (1 / r, r), axis_ticks(scale, 1 / r, r)
    r = nice_ceil(reach * 1.03) if reach > 0 else 1.0
    r = min(r, 1.0) if info.family == "correlation" else r  # a correlation's axis stays within [-1, 1]
    return scale, (-r, r), axis_ticks(scale, -r, r)


def ratio_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 ticks on a log axis (powers of ten only beyond two decades)."""
    decades = np.log10(hi / lo)
    mult = (1, 2, 5) if decades <= 2.01 else (1,)
    cand = [m * 10.0**e for e in range(-6, 7) for m in mult]
    return [t for t in cand if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]


def axis_ticks(scale: str, lo: float, hi: float) -> list[float]:
    """Ticks between ``lo`` and ``hi`` on a ``scale`` axis."""
    if scale == "log":
        return ratio_ticks(lo, hi)
    if scale == "logit":
        cand = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99]
        return [t for t in cand if lo <= t <= hi] or [lo, hi]
    if np.isclose(lo, -hi):
        return [lo, lo / 2, 0.0, hi / 2, hi]
    return list(np.linspace(lo, hi, 5))
