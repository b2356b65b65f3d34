"""The forest plot's effect axis for measures without a symmetric null: one-group measures (proportions,
incidence rates: no value means "no effect", so the axis spans the data) and correlations (an axis
within [-1, 1]).  Values are on the natural scale (the table rows' back-transformed ones).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.ticker import MaxNLocator

__all__ = ["data_axis"]

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
