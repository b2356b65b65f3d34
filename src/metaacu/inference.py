"""Inferential formulas every model shares: critical values, two-sided p-values and heterogeneity.

One home for each: the intercept-only fit (one dataset and rows of arrays), subgroups, meta-regression
and the Mantel-Haenszel/Peto analyses all call these, so a convention (say, what I² is for one
study) is decided once.  The functions take Python floats or NumPy arrays and broadcast.

References
----------
Higgins JPT, Thompson SG. Quantifying heterogeneity in a meta-analysis. Stat Med 2002;21:1539-1558
(Q-based I² and H², eqs. 8-10; the τ²-based I² with the "typical" within-study variance, eq. 9).
Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3)
(``ṽ = (k − p)/tr P₀`` for meta-regression; for the intercept-only model ``tr P₀ = Σw − Σw²/Σw``).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Final

import numpy as np
from scipy import special

__all__ = ["Z975", "critical_value", "q_heterogeneity", "tau2_heterogeneity", "two_sided_p", "typical_variance"]

#: The 97.5% standard normal quantile (95% Wald intervals).
Z975: Final = float(special.ndtri(0.975))


def _scalar(x: Any) -> bool:
    """True for a number (``np.ndim(x) == 0``; a Python float is recognised without NumPy's call)."""
    return isinstance(x, float) or np.ndim(x) == 0


@functools.lru_cache(maxsize=256)
def _critical(p: float, df: float) -> float:
    """The quantile ``p`` of the normal (``df = inf``) or t(df) distribution (cached: few distinct calls)."""
    return float(special.ndtri(p)) if math.isinf(df) else float(special.stdtrit(df, p))


def critical_value(level: float, df: Any = math.inf) -> Any:
    """Two-sided critical value at confidence ``level``: normal for ``df = inf``, else t(df).

    scipy.special directly (``ndtri``/``stdtrit``, what ``stats.norm.ppf``/``stats.t.ppf`` call),
    without their per-call overhead."""
    p = 0.5 + level / 2
    if isinstance(df, (float, int)) and isinstance(p, float):
        return _critical(p, df)
    if np.ndim(df) == 0:
        return float(special.ndtri(p)) if math.isinf(df) else float(special.stdtrit(df, p))
    df = np.asarray(df, dtype=float)
    finite = np.isfinite(df)
    return np.where(finite, special.stdtrit(np.where(finite, df, 1.0), p), special.ndtri(p))


def two_sided_p(stat: Any, df: Any = math.inf) -> Any:
    """Two-sided p-value of a z (``df = inf``) or t(df) statistic."""
    size = abs(stat) if isinstance(stat, float) else np.abs(stat)
    if _scalar(df) and math.isinf(df):
        return 2.0 * special.ndtr(-size)
    return 2.0 * special.stdtr(df, -size)


def q_heterogeneity(q: Any, df: Any) -> tuple[Any, Any, Any]:
    """p-value of Cochran's Q on ``df`` degrees of freedom, Q-based I² (percent) and H² = Q/df.

    With ``df = 0`` (one study) heterogeneity is not estimable: p = 1, I² = 0, H² = 1 (metafor)."""
    if _scalar(q) and _scalar(df):
        if df <= 0:
            return 1.0, 0.0, 1.0
        i2 = 100.0 * (q - df) / q if q > df else 0.0
        return float(special.chdtrc(df, q)), i2, q / df
    q, df = np.asarray(q, dtype=float), np.asarray(df, dtype=float)
    has = df > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(has, special.chdtrc(np.maximum(df, 1.0), q), 1.0)
        i2 = np.where(has & (q > df), 100.0 * (q - df) / q, 0.0)
        h2 = np.where(has, q / df, 1.0)
    return p, i2, h2


def typical_variance(df: Any, trace_p0: Any) -> Any:
    """The "typical" within-study variance ``ṽ = df/tr P₀`` (Higgins & Thompson 2002, eq. 9); NaN
    for one study (``tr P₀ = 0``)."""
    if _scalar(trace_p0) and _scalar(df):
        return df / trace_p0 if trace_p0 != 0 else math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        return df / trace_p0


def tau2_heterogeneity(tau2: Any, vtyp: Any, df: Any) -> tuple[Any, Any]:
    """τ²-based I² (percent) ``100 τ²/(τ² + ṽ)`` and H² ``τ²/ṽ + 1``; 0 and 1 when ``df = 0``."""
    if _scalar(tau2) and _scalar(vtyp) and _scalar(df):
        if df <= 0:
            return 0.0, 1.0
        return 100.0 * tau2 / (tau2 + vtyp), tau2 / vtyp + 1.0
    has = np.asarray(df) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(has, 100.0 * tau2 / (tau2 + vtyp), 0.0), np.where(has, tau2 / vtyp + 1.0, 1.0)
