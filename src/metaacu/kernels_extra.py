"""The further τ² estimators of the intercept-only model and the pooled estimate with user weights, as
plain loops over one dataset compiled with numba (the same source runs as Python under
``NUMBA_DISABLE_JIT=1``); :func:`metaacu.kernels.fit_dataset` dispatches to them.

* ``PMM``: the median-unbiased Paule-Mandel estimator, the root of ``Q(τ²) = χ²₀.₅(k − 1)``
  (Viechtbauer 2021, metafor ``rma.uni`` ``method="PMM"``); the median :func:`chi2_median` is computed
  here from the regularised incomplete gamma function.
* ``DLIT``: iterated DerSimonian-Laird (DerSimonian & Kacker 2007): ``τ² ← (Q_w − tr(PV))/tr P`` with
  ``w = 1/(v + τ²)`` from τ² = 0, truncated at 0 in each step (metafor ≥ 4.5-7; its fixed point is
  the PM root).
* ``SJ``: Sidik-Jonkman (Sidik & Jonkman 2005), from the start ``Σ(yᵢ − ȳ)²/k``.
* ``SJIT``: iterated Sidik-Jonkman: ``τ² ← τ² Q_w/(k − 1)`` from the SJ start ``Σ(yᵢ − ȳ)²/k``.
* ``HSk``: Hunter-Schmidt with the k correction ``(k/(k − 1) Q − k)/Σw`` (metafor ``"HSk"``).
* ``GENQ``: the generalised Q estimator with user weights ``aᵢ`` (DerSimonian & Kacker 2007; Jackson
  2013): ``(Q_a − tr(PV))/tr P``, ``P = A − aaᵀ/Σa``.

References
----------
DerSimonian R, Kacker R. Random-effects model for meta-analysis of clinical trials: an update.
Contemp Clin Trials 2007;28:105-114.
Viechtbauer W. Median-unbiased estimators for the amount of heterogeneity in meta-analysis.
European Congress of Methodology, 2021 (metafor ``rma.uni`` documentation, ``method="PMM"``).
Jackson D. Confidence intervals for the between-study variance in random effects meta-analysis
using generalised Cochran heterogeneity statistics. Res Synth Methods 2013;4:220-229.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .kernels_core import generalised_q, jit, mean, noise_floor, weights
from .tau2 import FIXED_POINT_MAXITER, TOL

F64 = NDArray[np.float64]
_EPS: Final = 2.220446049250313e-16


# ----------------------------------------------------------------------------- Sidik-Jonkman
@jit
def sj_start(y: F64) -> float:
    """The Sidik-Jonkman start ``τ₀² = Σ(yᵢ − ȳ)²/k`` (deviations at rounding noise count as 0)."""
    ybar = mean(y)
    floor = noise_floor(y)
    ss = 0.0
    for i in range(y.size):
        d = y[i] - ybar
        if abs(d) > floor:
            ss += d * d
    return ss / y.size


@jit
def tau2_sj(y: F64, v: F64, w: F64) -> float:
    """Sidik-Jonkman ``τ₀² Σuᵢ(yᵢ − μ̂ᵤ)²/(k − 1)``, ``τ₀²`` from :func:`sj_start`,
    ``uᵢ = 1/(vᵢ + τ₀²)`` (untruncated; k ≥ 2)."""
    tau0 = sj_start(y)
    q_u, _ = generalised_q(y, v, tau0, w)
    return tau0 * q_u / (y.size - 1)


# ----------------------------------------------------------------------------- χ² median (PMM)
@jit
def _gamma_p(a: float, x: float) -> float:
    """Regularised lower incomplete gamma ``P(a, x)``: the series for ``x < a + 1``, else one minus
    the continued fraction of ``Q(a, x)`` (modified Lentz)."""
    if x <= 0.0:
        return 0.0
    front = math.exp(a * math.log(x) - x - math.lgamma(a))
    if x < a + 1.0:
        term = 1.0 / a
        total = term
        n = 1.0
        for _ in range(100000):
            term *= x / (a + n)
            total += term
            n += 1.0
            if abs(term) <= abs(total) * _EPS:
                break
        return total * front
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 100000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < tiny:
            d = tiny
        c = b + an / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) <= _EPS:
            break
    return 1.0 - front * h


@jit
def chi2_median(df: float) -> float:
    """Median of the χ² distribution with ``df`` degrees of freedom: Newton on ``P(df/2, x/2) = ½``
    from the Wilson-Hilferty approximation, kept inside a shrinking bracket."""
    a = 0.5 * df
    c = 2.0 / (9.0 * df)
    x = df * (1.0 - c) ** 3
    lo, hi = 0.0, math.inf
    for _ in range(200):
        f = _gamma_p(a, 0.5 * x) - 0.5
        if f == 0:
            return x
        if f < 0:
            lo = x
        else:
            hi = x
        dens = 0.5 * math.exp((a - 1.0) * math.log(0.5 * x) - 0.5 * x - math.lgamma(a))
        new = x - f / dens if dens > 0 else math.nan
        if not (math.isfinite(new) and lo < new < hi):
            new = 0.5 * (lo + hi) if math.isfinite(hi) else 2.0 * x
        if abs(new - x) <= 4.0 * _EPS * x:
            return new
        x = new
    return x


# ----------------------------------------------------------------------------- fixed-point iterations
@jit
def _dl_step(y: F64, v: F64, tau2: float, w: F64) -> float:
    """One iterated-DL update ``(Q_w − tr(PV))/tr P`` at ``w = 1/(v + τ²)`` (intercept only:
    ``tr P = Σw − Σw²/Σw``, ``tr(PV) = Σwv − Σw²v/Σw``)."""
    q, _ = generalised_q(y, v, tau2, w)
    sw = 0.0
    sw2 = 0.0
    swv = 0.0
    sw2v = 0.0
    for i in range(y.size):
        wi = w[i]
        sw += wi
        sw2 += wi * wi
        swv += wi * v[i]
        sw2v += wi * wi * v[i]
    tr_p = sw - sw2 / sw
    tr_pv = swv - sw2v / sw
    return (q - tr_pv) / tr_p if tr_p > 0 else math.nan


@jit
def _iterate(y: F64, v: F64, w: F64, tau2: float, sidik_jonkman: bool) -> tuple[float, bool, int]:
    """The fixed-point iteration from ``tau2``: the iterated-DL step truncated at 0 (stopping,
    unconverged, at a step that is not finite) or the SJ step ``τ² Q_w(τ²)/(k − 1)``.  Converged when a
    step changes τ² by at most ``TOL·max(mean v, τ²)``, at most ``FIXED_POINT_MAXITER`` steps:
    ``(τ², converged, iterations)``."""
    k = y.size
    scale = mean(v)
    for it in range(1, FIXED_POINT_MAXITER + 1):
        if sidik_jonkman:
            q, _ = generalised_q(y, v, tau2, w)
            new = tau2 * q / (k - 1)
        else:
            new = max(_dl_step(y, v, tau2, w), 0.0)
            if not math.isfinite(new):
                return tau2, False, it
        done = abs(new - tau2) <= TOL * max(scale, new)
        tau2 = new
        if done:
            return tau2, True, it
    return tau2, False, FIXED_POINT_MAXITER


@jit
def tau2_dlit(y: F64, v: F64, w: F64) -> tuple[float, bool, int]:
    """Iterated DerSimonian-Laird from τ² = 0: ``(τ², converged, iterations)``; converged when a step
    changes τ² by at most ``TOL·max(mean v, τ²)`` (at most ``FIXED_POINT_MAXITER`` steps)."""
    return _iterate(y, v, w, 0.0, False)


@jit
def tau2_sjit(y: F64, v: F64, w: F64) -> tuple[float, bool, int]:
    """Iterated Sidik-Jonkman ``τ² ← τ² Q_w(τ²)/(k − 1)`` from the SJ start: ``(τ², converged,
    iterations)``, with the convergence rule of :func:`tau2_dlit`."""
    tau2 = sj_start(y)
    if tau2 == 0.0:
        return 0.0, True, 0
    return _iterate(y, v, w, tau2, True)


# ----------------------------------------------------------------------------- user weights
@jit
def tau2_genq(y: F64, v: F64, a: F64) -> float:
    """Generalised Q estimator with weights ``a``: ``(Q_a − tr(PV))/tr P`` with ``Q_a = Σaᵢ(yᵢ − μ̂_a)²``,
    ``tr P = Σa − Σa²/Σa``, ``tr(PV) = Σaᵢvᵢ − Σaᵢ²vᵢ/Σa`` (untruncated; k ≥ 2)."""
    sa = 0.0
    say = 0.0
    sa2 = 0.0
    sav = 0.0
    sa2v = 0.0
    for i in range(y.size):
        ai = a[i]
        sa += ai
        say += ai * y[i]
        sa2 += ai * ai
        sav += ai * v[i]
        sa2v += ai * ai * v[i]
    mu = say / sa
    floor = noise_floor(y)
    qa = 0.0
    for i in range(y.size):
        r = y[i] - mu
        if abs(r) > floor:
            qa += a[i] * r * r
    tr_p = sa - sa2 / sa
    return (qa - (sav - sa2v / sa)) / tr_p if tr_p > 0 else math.nan


@jit
def user_weighted(y: F64, v: F64, a: F64, tau2: float) -> tuple[float, float]:
    """Pooled estimate with user weights and its standard error (metafor ``rma.uni(weights=)``):
    ``μ̂ = Σaᵢyᵢ/Σaᵢ``, ``Var(μ̂) = Σaᵢ²(vᵢ + τ²)/(Σaᵢ)²`` (the sandwich ``(XᵀAX)⁻¹XᵀAMAX(XᵀAX)⁻¹``)."""
    sa = 0.0
    say = 0.0
    var = 0.0
    for i in range(y.size):
        sa += a[i]
        say += a[i] * y[i]
        var += a[i] * a[i] * (v[i] + tau2)
    return say / sa, math.sqrt(var) / sa


@jit
def percent_weights(v: F64, a: F64, tau2: float, w: F64, percent: F64) -> None:
    """Each study's weight in percent: ``100 aᵢ/Σa`` with user weights (``a`` non-empty), else
    ``100 wᵢ/Σw`` with ``w = 1/(v + τ²)``."""
    if a.size > 0:
        to_percent(a, percent)
    else:
        weights(v, tau2, w)
        to_percent(w[: v.size], percent)


@jit
def to_percent(x: F64, percent: F64) -> None:
    """``percent = xᵢ·(100/Σx)``: one division (a loop of k divisions costs several µs at k = 500)."""
    s = 0.0
    for i in range(x.size):
        s += x[i]
    per = 100.0 / s
    for i in range(x.size):
        percent[i] = x[i] * per
