"""Heterogeneity beyond the point estimates: the Q-profile confidence interval for τ².

Reference: Viechtbauer W. Confidence intervals for the amount of heterogeneity in meta-analysis.
Stat Med 2007;26:37-52 (the Q-profile method, eq. 6).
"""

from __future__ import annotations

from typing import cast

import numpy as np
from numpy.typing import NDArray
from scipy import special

from .tau2 import generalised_q, initial_upper, solve_decreasing, variance_scale

__all__ = ["q_profile"]

F64 = NDArray[np.float64]


def q_profile(yi: F64, vi: F64, kk: F64, level: float) -> tuple[F64, F64]:
    """Q-profile interval for τ², row-wise for ``(m, k)`` arrays padded with ``vi = inf``.

    The bounds solve ``Q_gen(τ²) = χ²_{k−1}`` quantiles: the lower bound at the upper
    ``(1 + level)/2`` quantile, the upper bound at the lower ``(1 − level)/2`` quantile, where
    ``Q_gen(τ²) = Σ wᵢ(τ²)(yᵢ − μ̂(τ²))²`` decreases in τ².  A bound is 0 when ``Q_gen(0)`` is
    already below its quantile (the interval is then [0, 0] when both are).  Rows with k = 1 get
    NaN (no information on τ²).
    """
    df = kk - 1.0
    safe_df = np.maximum(df, 1.0)
    q0, _ = generalised_q(yi, vi, np.zeros(yi.shape[0]))
    bounds = []
    for p in ((1 + level) / 2, (1 - level) / 2):
        # chdtri takes the upper-tail probability; cast: float64 in, float64 out, but scipy-stubs
        # type the ufunc's result as any floating array
        target = cast(F64, special.chdtri(safe_df, 1.0 - p))

        def fun(x: F64, rows: NDArray[np.intp], target: F64 = target) -> tuple[F64, F64]:
            q, dq = generalised_q(yi[rows], vi[rows], x)
            return q - target[rows], dq

        active = (q0 > target) & (df > 0)
        fit = solve_decreasing(fun, active, initial_upper(yi, vi), np.zeros_like(q0), None, variance_scale(vi, kk))
        bounds.append(np.where(df > 0, np.where(active, fit.tau2, 0.0), np.nan))
    return bounds[0], bounds[1]
