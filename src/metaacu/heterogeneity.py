"""Heterogeneity beyond the point estimates: confidence intervals for τ² from Q statistics.

* :func:`q_profile`: the Q-profile interval of intercept-only models, row-wise on ``(m, k)`` arrays;
  :func:`q_profile_design` the same for a model matrix (meta-regression; metafor's
  ``confint(type = "QP")``).
* :func:`generalised_q_interval`: the interval from a generalised Q with fixed weights, whose
  distribution is a weighted sum of χ²₁ variables (Jackson 2013; metafor's ``type = "GENQ"``), with
  :func:`weighted_chi2_sf` (Imhof 1961) for that distribution; :func:`generalised_q_median` the
  median-unbiased estimate of τ² from the same distribution (metafor's ``method = "GENQM"``).

References
----------
Viechtbauer W. Confidence intervals for the amount of heterogeneity in meta-analysis.
Stat Med 2007;26:37-52 (the Q-profile method, eq. 6).
Jackson D. Confidence intervals for the between-study variance in random effects meta-analysis using
generalised Cochran heterogeneity statistics. Res Synth Methods 2013;4:220-229.
Imhof JP. Computing the distribution of quadratic forms in normal variables. Biometrika
1961;48:419-426 (eq. 3.2).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final, cast

import numpy as np
from numpy.typing import NDArray
from scipy import integrate, optimize, special

from .tau2 import generalised_q, initial_upper, solve_decreasing, variance_scale

__all__ = [
    "generalised_q_interval",
    "generalised_q_median",
    "generalised_q_tail",
    "q_profile",
    "q_profile_design",
    "weighted_chi2_sf",
]

F64 = NDArray[np.float64]

#: Absolute error asked of the numerical integrals behind :func:`weighted_chi2_sf`.
IMHOF_EPSABS: Final = 1e-13


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


# --------------------------------------------------------------------------- with a model matrix
def _residual_q(y: F64, v: F64, x: F64, tau2: float) -> float:
    """The generalised Q ``yᵀP(τ²)y = Σ wᵢ(yᵢ − xᵢᵀβ̂)²`` with ``wᵢ = 1/(vᵢ + τ²)``."""
    w = 1.0 / (v + tau2)
    beta = np.linalg.solve(x.T @ (w[:, None] * x), x.T @ (w * y))
    r = y - x @ beta
    return float((w * r * r).sum())


def _root_above(f: Callable[[float], float], start: float, scale: float) -> float:
    """The root of a function that is positive at 0 and changes sign once on ``(0, ∞)``: the bracket
    ``[0, start]`` is doubled until ``f`` is not positive, then Brent's method."""
    lo, hi = 0.0, max(start, scale)
    for _ in range(2000):
        if f(hi) <= 0:
            break
        lo, hi = hi, 2.0 * hi
    return float(optimize.brentq(f, lo, hi, xtol=1e-15 * scale, rtol=4.0 * np.finfo(float).eps, maxiter=500))


def q_profile_design(y: F64, v: F64, x: F64, level: float) -> tuple[float, float]:
    """Q-profile interval for the residual τ² of a meta-regression (model matrix ``x``, k × p).

    The bounds solve ``yᵀP(τ²)y = χ²_{k−p}`` quantiles (the lower bound at the upper ``(1 + level)/2``
    quantile, the upper bound at the lower ``(1 − level)/2`` one), ``P = W − WX(XᵀWX)⁻¹XᵀW``; the
    statistic decreases in τ² (its derivative is ``−yᵀPPy``).  A bound is 0 when the statistic at
    τ² = 0 is already below its quantile.  No upper search limit (metafor stops at
    ``max(100, 10τ̂²)``).
    """
    df = float(x.shape[0] - x.shape[1])
    q0 = _residual_q(y, v, x, 0.0)
    scale = float(v.mean())
    start = float(np.var(y)) + scale
    bounds = []
    for prob in ((1 + level) / 2, (1 - level) / 2):
        target = float(special.chdtri(df, 1.0 - prob))
        if not q0 > target:
            bounds.append(0.0)
            continue

        def excess(t: float, target: float = target) -> float:
            return _residual_q(y, v, x, t) - target

        bounds.append(_root_above(excess, start, scale))
    return bounds[0], bounds[1]


# --------------------------------------------------------------------------- generalised Q
def weighted_chi2_sf(q: float, weights: F64) -> float:
    """``P(Σⱼ λⱼ Xⱼ > q)`` for independent ``Xⱼ ~ χ²₁`` and weights ``λⱼ ≥ 0`` (zeros are dropped).

    Imhof (1961, eq. 3.2): ``½ + (1/π) ∫₀^∞ sin θ(u) / (u ρ(u)) du`` with
    ``θ(u) = ½ Σ arctan(λⱼu) − ½ q u`` and ``ρ(u) = Π (1 + λⱼ²u²)^{1/4}``.  The integral is split at
    ``a = 1/λ̄``: below it, adaptive Gauss-Kronrod; above it, ``sin θ`` is expanded into
    ``sin φ cos(qu/2) − cos φ sin(qu/2)`` (``φ = ½ Σ arctan(λⱼu)``) and each part integrated by
    QUADPACK's Fourier-integral routine (QAWF), the oscillation then being carried by the weight
    function.  Equal weights are the scaled χ²: ``P(χ²_r > q/λ)``, computed exactly.

    Examples
    --------
    >>> import numpy as np
    >>> round(weighted_chi2_sf(3.0, np.array([0.5, 1.0, 2.0])), 10)
    0.4334084008
    >>> round(weighted_chi2_sf(3.0, np.array([1.0, 1.0])), 12) == round(float(np.exp(-1.5)), 12)  # χ²₂
    True
    """
    lam = np.asarray(weights, dtype=np.float64)
    lam = lam[lam > 0]
    if lam.size == 0:
        return 0.0 if q >= 0 else 1.0
    if q <= 0:
        return 1.0
    if lam.size == 1 or float(lam.max() - lam.min()) <= 1e-14 * float(lam.max()):
        return float(special.chdtrc(lam.size, q / float(lam.mean())))
    scale = float(lam.mean())
    lam, q = lam / scale, q / scale  # the probability is scale-free: weights of order 1

    def phi(u: float) -> float:
        return 0.5 * float(np.arctan(lam * u).sum())

    def amp(u: float) -> float:
        return u * math.exp(0.25 * float(np.log1p((lam * u) ** 2).sum()))

    def whole(u: float) -> float:
        if u == 0.0:
            return 0.5 * (float(lam.sum()) - q)  # the limit of sin θ(u)/(u ρ(u)) at 0
        return math.sin(phi(u) - 0.5 * q * u) / amp(u)

    a = 1.0
    head, _ = integrate.quad(whole, 0.0, a, epsabs=IMHOF_EPSABS, epsrel=1e-12, limit=500)
    # ∫_a^∞ [sin φ(u) cos(qu/2) − cos φ(u) sin(qu/2)] / (u ρ(u)) du
    omega = 0.5 * q
    cos_part, _ = integrate.quad(
        lambda u: math.sin(phi(u)) / amp(u), a, np.inf, weight="cos", wvar=omega, epsabs=IMHOF_EPSABS, limlst=200
    )
    sin_part, _ = integrate.quad(
        lambda u: math.cos(phi(u)) / amp(u), a, np.inf, weight="sin", wvar=omega, epsabs=IMHOF_EPSABS, limlst=200
    )
    return float(min(1.0, max(0.0, 0.5 + (head + cos_part - sin_part) / math.pi)))


def generalised_q_tail(y: F64, v: F64, x: F64, weights: F64) -> Callable[[float], float]:
    """``τ² ↦ P(Q_a > q_obs; τ²)``: the upper tail of the generalised Q with fixed weights ``aᵢ`` at its
    observed value, ``Q_a = yᵀP_a y``, ``P_a = A − AX(XᵀAX)⁻¹XᵀA``, distributed as ``Σⱼ λⱼ(τ²) χ²₁`` with
    ``λⱼ`` the k − p non-zero eigenvalues of ``S P_a S``, ``S = diag(√(vᵢ + τ²))`` (Jackson 2013); it
    increases with τ²."""
    p = int(x.shape[1])
    a = np.asarray(weights, dtype=np.float64)
    ax = a[:, None] * x
    pa = np.diag(a) - ax @ np.linalg.solve(x.T @ ax, ax.T)
    pa = 0.5 * (pa + pa.T)
    q_obs = float(y @ pa @ y)

    def upper_tail(tau2: float) -> float:
        s = np.sqrt(v + tau2)
        lam = np.linalg.eigvalsh(s[:, None] * pa * s[None, :])[p:]  # ascending: the k − p non-zero ones
        return weighted_chi2_sf(q_obs, np.maximum(lam, 0.0))

    return upper_tail


def generalised_q_median(y: F64, v: F64, x: F64, weights: F64) -> float:
    """The median-unbiased generalised-Q estimate of τ² (metafor ``method="GENQM"``): the τ² at which the
    observed ``Q_a`` is the median of its distribution, ``P(Q_a > q_obs; τ²) = ½``
    (:func:`generalised_q_tail`), and 0 when ``P(Q_a > q_obs; 0) ≥ ½``."""
    upper_tail = generalised_q_tail(y, v, x, weights)
    if not upper_tail(0.0) < 0.5:
        return 0.0
    scale = float(v.mean())
    return _root_above(lambda t: 0.5 - upper_tail(t), float(np.var(y)) + scale, scale)


def generalised_q_interval(y: F64, v: F64, x: F64, weights: F64, level: float) -> tuple[float, float]:
    """Confidence interval for τ² from the generalised Q with fixed weights ``aᵢ`` (Jackson 2013).

    ``Q_a = yᵀP_a y`` with ``P_a = A − AX(XᵀAX)⁻¹XᵀA``, ``A = diag(aᵢ)``.  Under the model with
    between-study variance τ², ``Q_a`` is distributed as ``Σⱼ λⱼ(τ²) χ²₁`` where the ``λⱼ`` are the
    k − p non-zero eigenvalues of ``S P_a S``, ``S = diag(√(vᵢ + τ²))``; they increase with τ², and so
    does ``P(Q_a > q_obs)``.  The lower bound solves ``P(Q_a > q_obs; τ²) = (1 − level)/2`` and the
    upper bound ``P(Q_a > q_obs; τ²) = (1 + level)/2``; a bound is 0 when the probability at τ² = 0
    is already above its target (both are then 0: metafor's "null set").  With ``aᵢ = 1/vᵢ`` and equal
    ``vᵢ`` this is the Q-profile interval.
    """
    upper_tail = generalised_q_tail(y, v, x, weights)
    s0 = upper_tail(0.0)
    scale = float(v.mean())
    start = float(np.var(y)) + scale
    bounds = []
    for target in ((1 - level) / 2, (1 + level) / 2):
        if not s0 < target:
            bounds.append(0.0)
            continue

        def shortfall(t: float, target: float = target) -> float:
            return target - upper_tail(t)

        bounds.append(_root_above(shortfall, start, scale))
    return bounds[0], bounds[1]
