"""The per-dataset formulas of the intercept-only random-effects model, compiled with numba: sums
over the studies, the REML/ML score and its slope, the (restricted) log-likelihood, the safeguarded
Newton step and bracket, the root of the generalised Q (PM, EB), the HE estimator and the
global ML/REML maximum (``tau2_likelihood``).  :mod:`metaacu.kernels` assembles them into a fit and
drives them over rows; nothing else calls them directly.

The formulas (Viechtbauer 2005): ``wᵢ = 1/(vᵢ + τ²)``, ``μ̂ = Σwᵢyᵢ/Σwᵢ``; the REML score is
``½(Σwᵢ²rᵢ² − tr P)`` with ``tr P = Σw − Σw²/Σw`` (ML: ``Σw``), its derivative
``½ tr(PP) − yᵀPPPy``; see :func:`metaacu.tau2.estimate_tau2` for the estimators.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

import numba
import numpy as np
from numpy.typing import NDArray

from .tau2 import MAXITER, NOISE_ULPS, SCAN_GRID, TOL

F64 = NDArray[np.float64]
_F = TypeVar("_F", bound=Callable[..., Any])


def jit(fn: _F) -> _F:
    # numba is untyped: the cast keeps each kernel's own annotated signature for mypy
    return cast(_F, numba.njit(cache=True, nogil=True)(fn))


def jit_vector(fn: _F) -> _F:
    """:func:`jit` with NumPy's floating-point error model: a division by 0 gives inf instead of raising
    ZeroDivisionError, which removes the check from each division, so that loops of divisions can run
    in SIMD lanes (the same IEEE results).  Only for functions whose divisors cannot be 0."""
    return cast(_F, numba.njit(cache=True, nogil=True, error_model="numpy")(fn))


def jit_parallel(fn: _F) -> _F:
    return cast(_F, numba.njit(cache=True, nogil=True, parallel=True)(fn))


_GRID: Final = np.ascontiguousarray(SCAN_GRID, dtype=np.float64)
_EPS: Final = 2.220446049250313e-16
_TINY: Final = 2.2250738585072014e-308
#: Tenfold growths of an open upper bracket end before giving up (far beyond any double).
_GROW: Final = 60
#: Solver functions: the generalised Q minus a target (PM, EB), the REML and the ML score.
_FUN_Q, _FUN_REML, _FUN_ML = 0, 1, 2


# ----------------------------------------------------------------------------- sums over the studies
@jit
def mean(x: F64) -> float:
    """``Σxᵢ/k``."""
    s = 0.0
    for i in range(x.size):
        s += x[i]
    return s / x.size


@jit
def _spread_ss(y: F64) -> float:
    """``Σ(yᵢ − ȳ)²``."""
    ybar = mean(y)
    ss = 0.0
    for i in range(y.size):
        d = y[i] - ybar
        ss += d * d
    return ss


@jit
def weights(v: F64, tau2: float, w: F64) -> float:
    """``wᵢ = 1/(vᵢ + τ²)`` into the buffer ``w``; returns ``Σw``."""
    sw = 0.0
    for i in range(v.size):
        wi = 1.0 / (v[i] + tau2)
        w[i] = wi
        sw += wi
    return sw


@jit
def weighted_mean(y: F64, v: F64, tau2: float, w: F64) -> tuple[float, float]:
    """``(μ̂, Σw)`` with the weights left in ``w``."""
    sw = weights(v, tau2, w)
    swy = 0.0
    for i in range(y.size):
        swy += w[i] * y[i]
    return swy / sw, sw


@jit
def generalised_q(y: F64, v: F64, tau2: float, w: F64) -> tuple[float, float]:
    """``Q(τ²) = Σwᵢ(yᵢ − μ̂)²`` and its derivative ``−Σwᵢ²(yᵢ − μ̂)²`` (the μ̂ term vanishes because
    μ̂ minimises Q); at τ² = 0 this is Cochran's Q."""
    mu, _ = weighted_mean(y, v, tau2, w)
    q = 0.0
    dq = 0.0
    for i in range(y.size):
        r = y[i] - mu
        wr2 = w[i] * r * r
        q += wr2
        dq -= w[i] * wr2
    return q, dq


@jit
def noise_floor(y: F64) -> float:
    """Deviations ``|yᵢ − centre|`` at most this large are rounding noise (``NOISE_ULPS`` ulps of the
    largest ``|yᵢ|``) and count as exactly 0, so that identical effects have exactly zero spread."""
    big = 0.0
    for i in range(y.size):
        big = max(big, abs(y[i]))
    return NOISE_ULPS * _EPS * big


@jit
def score(y: F64, v: F64, tau2: float, ml: bool, w: F64) -> float:
    """Score of the (restricted) log-likelihood in τ²: ``½(Σw²r² − tr P)``."""
    sw = weights(v, tau2, w)
    swy = 0.0
    sw2 = 0.0
    for i in range(y.size):
        swy += w[i] * y[i]
        sw2 += w[i] * w[i]
    mu = swy / sw
    ypy2 = 0.0
    for i in range(y.size):
        r = y[i] - mu
        ypy2 += w[i] * w[i] * r * r
    tr_p = sw if ml else sw - sw2 / sw
    return 0.5 * (ypy2 - tr_p)


@jit_vector
def grid_scores(y: F64, v: F64, xs: F64, ml: bool) -> tuple[F64, F64]:
    """:func:`score` at every ``τ² = xs[j]`` (the scan of :func:`tau2_likelihood`) in one pass over
    the studies, with a bound on its rounding error: ``(scores, bounds)``.

    The grid is innermost, so that the divisions of a study's row of weights run in SIMD lanes and
    the sums of different grid points side by side (at large k the scan is most of a fit's cost).
    The residuals are taken about ``c = y₀``: with ``rᵢ = yᵢ − c`` and ``d = Σwr/Σw`` (so μ̂ = c + d),
    ``Σw²(yᵢ − μ̂)² = Σw²r² − 2dΣw²r + d²Σw²``, which needs no second pass.  ``bounds[j]`` exceeds
    the rounding error of both this value and :func:`score`'s two-pass value, so where
    ``|scores[j]| > bounds[j]`` the two have the same sign (the only thing the scan uses); elsewhere
    the caller evaluates :func:`score`.  Every ``|yᵢ − c|``, ``|yᵢ − μ̂|`` and ``|d|`` is at most the
    range ``R`` of the yᵢ, so each sum is at most ``R²Σw²`` (or ``R·Σw²``), and the error of a sum of
    k terms at most ``k·ε`` times its terms' total (Higham 2002, Sec. 4.2); the bound is
    ``γ(8R²Σw² + 8R·max|yᵢ|·Σw² + 4Σw)`` with ``γ = 4(k + 8)ε``, which also covers the error of μ̂
    in the two-pass value.  ``vᵢ + xⱼ > 0``: no division by 0.
    """
    k, n = y.size, xs.size
    c = y[0]
    lo, hi, big = y[0], y[0], 0.0
    for i in range(k):
        lo = min(lo, y[i])
        hi = max(hi, y[i])
        big = max(big, abs(y[i]))
    span = hi - lo
    sw = np.zeros(n)
    swr = np.zeros(n)
    sw2 = np.zeros(n)
    sw2r = np.zeros(n)
    sw2r2 = np.zeros(n)
    for i in range(k):
        vi, ri = v[i], y[i] - c
        for j in range(n):
            wij = 1.0 / (vi + xs[j])
            w2 = wij * wij
            sw[j] += wij
            swr[j] += wij * ri
            sw2[j] += w2
            sw2r[j] += w2 * ri
            sw2r2[j] += w2 * ri * ri
    gamma = 4.0 * (k + 8.0) * _EPS
    out = np.empty(n)
    bound = np.empty(n)
    for j in range(n):
        d = swr[j] / sw[j]
        ypy2 = sw2r2[j] - 2.0 * d * sw2r[j] + d * d * sw2[j]
        tr_p = sw[j] if ml else sw[j] - sw2[j] / sw[j]
        out[j] = 0.5 * (ypy2 - tr_p)
        bound[j] = gamma * (8.0 * span * (span + big) * sw2[j] + 4.0 * sw[j])
    return out, bound


@jit
def score_slope(y: F64, v: F64, tau2: float, ml: bool, w: F64) -> tuple[float, float]:
    """The score and a negative slope for Newton steps: the derivative ``½ tr(PP) − yᵀPPPy`` where
    it is negative (near a maximum), else minus the Fisher information ``½ tr(PP)``, so that a step
    always points uphill (Viechtbauer 2005, eqs. 9-12; ML: ``tr P = Σw``, ``tr PP = Σw²``)."""
    sw = weights(v, tau2, w)
    swy = 0.0
    sw2 = 0.0
    sw3 = 0.0
    for i in range(y.size):
        wi = w[i]
        w2 = wi * wi
        swy += wi * y[i]
        sw2 += w2
        sw3 += w2 * wi
    mu = swy / sw
    ypy2 = 0.0
    ypy3 = 0.0
    sw2r = 0.0
    for i in range(y.size):
        r = y[i] - mu
        a = w[i] * w[i] * r
        ypy2 += a * r
        ypy3 += a * w[i] * r
        sw2r += a
    ypy3 -= sw2r * sw2r / sw
    if ml:
        tr_p = sw
        tr_pp = sw2
    else:
        tr_p = sw - sw2 / sw
        tr_pp = sw2 - 2.0 * sw3 / sw + (sw2 / sw) ** 2
    slope = 0.5 * tr_pp - ypy3
    return 0.5 * (ypy2 - tr_p), slope if slope < 0 else -0.5 * tr_pp


@jit
def log_sum(v: F64, tau2: float) -> float:
    """``Σ log(vᵢ + τ²)`` as the logs of running products, one log per ~2⁵⁰⁰ of magnitude instead of
    one per study (a factor outside ``10^±100`` is logged alone, so no product overflows)."""
    p = 1.0
    out = 0.0
    for i in range(v.size):
        a = v[i] + tau2
        if 1e-100 < a < 1e100:
            p *= a
            if not 1e-150 < p < 1e150:
                out += math.log(p)
                p = 1.0
        else:
            out += math.log(a)
    return out + math.log(p)


@jit
def loglik(y: F64, v: F64, tau2: float, ml: bool, w: F64) -> float:
    """(Restricted) log-likelihood up to a constant (Viechtbauer 2005, eqs. 8 and 10)."""
    mu, sw = weighted_mean(y, v, tau2, w)
    swr2 = 0.0
    for i in range(y.size):
        r = y[i] - mu
        swr2 += w[i] * r * r
    ll = -0.5 * (log_sum(v, tau2) + swr2)
    return ll if ml else ll - 0.5 * math.log(sw)


# ----------------------------------------------------------------------------- the safeguarded solver
@jit
def newton_step(
    x: float, f: float, slope: float, lo: float, hi: float, scale: float
) -> tuple[float, float, float, bool]:
    """One step of safeguarded Newton for a root of a decreasing function, at ``x`` with value ``f``.

    The bracket ``[lo, hi]`` shrinks to the side of ``x`` the sign of ``f`` says; a Newton step that
    would leave it is replaced by bisection (doubling plus one while ``hi`` is infinite).  Returns
    ``(new x, lo, hi, converged)``: converged when the step or the bracket is below
    ``TOL·max(scale, |x|)``, or at an exact root (then ``x`` is kept).
    """
    if f > 0:
        lo = x
    else:
        hi = x
    new = x - f / slope if slope != 0 else math.nan
    if not (math.isfinite(new) and lo < new < hi):
        new = 0.5 * (lo + hi) if math.isfinite(hi) else 2.0 * lo + 1.0
    if f == 0:
        new = x
    change = abs(new - x)
    done = change <= TOL * max(scale, abs(new)) or f == 0 or hi - lo <= TOL * max(scale, abs(hi))
    return new, lo, hi, done


@jit
def bracket_start(start: float, lo: float, hi: float) -> float:
    """Where Newton starts in a bracket around one maximum: ``start`` clipped into ``[lo, hi]``, or
    the bracket's geometric (``lo = 0``: arithmetic) midpoint when that is not strictly inside."""
    s = min(max(start, lo), hi)
    if lo < s < hi:
        return s
    return math.sqrt(lo * hi) if lo > 0 else 0.5 * hi


@jit
def _value_slope(fun: int, y: F64, v: F64, x: float, target: float, w: F64) -> tuple[float, float]:
    if fun == _FUN_Q:
        q, dq = generalised_q(y, v, x, w)
        return q - target, dq
    return score_slope(y, v, x, fun == _FUN_ML, w)


@jit
def _solve(
    fun: int, y: F64, v: F64, target: float, start: float, lo: float, hi: float, scale: float, w: F64
) -> tuple[float, bool, int]:
    """Safeguarded Newton (:func:`newton_step`) from ``start`` in ``[lo, hi]``: ``(root, converged,
    iterations)``."""
    x = start
    for it in range(1, MAXITER + 1):
        f, slope = _value_slope(fun, y, v, x, target, w)
        x, lo, hi, done = newton_step(x, f, slope, lo, hi, scale)
        if done:
            return x, True, it
    return x, False, MAXITER


@jit
def initial_upper(y: F64) -> float:
    """Upper end of the first bracket of a decreasing estimating equation: 10·((range of y)² + 1)."""
    lo = y[0]
    hi = y[0]
    for i in range(y.size):
        lo = min(lo, y[i])
        hi = max(hi, y[i])
    span = float(hi - lo)
    return max(10.0 * (span * span + 1.0), 1.0)


@jit
def solve_q(y: F64, v: F64, target: float, start: float, w: F64) -> tuple[float, bool, int]:
    """Root of ``Q(τ²) = target`` on ``[0, ∞)``, given ``Q(0) > target`` (PM/EB; Q-profile bounds).

    The upper end :func:`initial_upper` grows tenfold until Q is below the target; Newton starts from
    ``start`` clipped into the bracket; the tolerance is relative to ``max(mean vᵢ, τ²)``.
    """
    upper = initial_upper(y)
    for _ in range(_GROW):
        if generalised_q(y, v, upper, w)[0] - target > 0:
            upper *= 10.0
        else:
            break
    start = min(max(start, 0.0), upper)
    return _solve(_FUN_Q, y, v, target, start, 0.0, upper, mean(v), w)


# ----------------------------------------------------------------------------- the estimators
@jit
def tau2_he(y: F64, v: F64) -> float:
    """Hedges' estimator ``Σ(yᵢ − ȳ)²/(k − 1) − mean(v)`` (untruncated; k ≥ 2)."""
    return _hedges(_spread_ss(y), mean(v), y.size)


@jit
def _hedges(ss: float, mean_v: float, k: int) -> float:
    """:func:`tau2_he` from ``Σ(yᵢ − ȳ)²`` and ``mean(v)`` already computed."""
    return ss / (k - 1) - mean_v


@jit
def _better(ll: float, t2: float, best_ll: float, best_t2: float) -> bool:
    """Whether a maximum ``(ll, t2)`` ranks before ``(best_ll, best_t2)``: larger likelihood first,
    ties to the smaller τ² (the boundary); a NaN likelihood ranks last."""
    if math.isnan(best_ll):
        return not math.isnan(ll) or t2 < best_t2
    if math.isnan(ll):
        return False
    return ll > best_ll or (ll == best_ll and t2 < best_t2)


@jit
def tau2_likelihood(
    y: F64, v: F64, ml: bool, w: F64, want_loglik: bool
) -> tuple[float, bool, int, int, float, float, float]:
    """ML/REML: the global maximum over τ² ≥ 0 among every local maximum of the likelihood.

    The score is evaluated at τ² = 0 and at ``SCAN_GRID`` times the data's spread (variance of the
    yᵢ plus mean vᵢ).  τ² = 0 is a local maximum where the score is ≤ 0 there; each interval where
    the score turns from positive to negative holds an interior maximum, refined by safeguarded
    Newton from Hedges' estimate (an interval still positive at the end of the scan is grown
    tenfold until the score turns).  The largest likelihood wins (ties to the smaller τ²).

    Returns ``(tau2, converged, iterations, maxima, loglik, alt_tau2, alt_loglik)``: the number of
    local maxima, the log-likelihood at τ² (NaN without ``want_loglik`` when it was not needed to
    rank several maxima) and the best other maximum (NaN when there is none).
    """
    k = y.size
    if k < 2:
        return 0.0, True, 0, 1, loglik(y, v, 0.0, ml, w) if want_loglik else math.nan, math.nan, math.nan
    fun = _FUN_ML if ml else _FUN_REML
    ss, scale = _spread_ss(y), mean(v)  # each pass once (at large k every pass counts)
    spread = ss / max(k - 1.0, 1.0) + scale
    he = max(_hedges(ss, scale, k), 0.0)
    # the best and the second-best maximum so far; the log-likelihood of the first is computed only
    # when a second one appears (or at the end, if wanted)
    count = 0
    best_t2, best_conv, best_it, best_ll = 0.0, True, 0, math.nan
    alt_t2, alt_ll = math.nan, math.nan
    n = _GRID.size
    xs = np.empty(n + 1)
    xs[0] = 0.0
    for j in range(n):
        xs[j + 1] = spread * _GRID[j]
    scores, bounds = grid_scores(y, v, xs, ml)
    for j in range(n + 1):  # too close to 0 for the one-pass value's sign: the two-pass score
        if not abs(scores[j]) > bounds[j]:
            scores[j] = score(y, v, xs[j], ml, w)
    prev_x = 0.0
    prev_s = scores[0]
    if prev_s <= 0:
        count = 1
    for j in range(n + 1):
        if j < n:
            x = xs[j + 1]
            s = scores[j + 1]
            if not (prev_s > 0 and s <= 0):
                prev_x, prev_s = x, s
                continue
            lo, hi = prev_x, x
            prev_x, prev_s = x, s
        else:
            if not prev_s > 0:
                break
            lo = prev_x
            hi = 10.0 * max(lo, _TINY)  # still rising at the end of the scan: grow the bracket
            for _ in range(_GROW):
                if score(y, v, hi, ml, w) > 0:
                    lo = hi
                    hi *= 10.0
                else:
                    break
        t2, conv, it = _solve(fun, y, v, 0.0, bracket_start(he, lo, hi), lo, hi, scale, w)
        count += 1
        if count == 1:
            best_t2, best_conv, best_it = t2, conv, it
            continue
        if count == 2:
            best_ll = loglik(y, v, best_t2, ml, w)
        ll = loglik(y, v, t2, ml, w)
        if _better(ll, t2, best_ll, best_t2):
            alt_t2, alt_ll = best_t2, best_ll
            best_t2, best_conv, best_it, best_ll = t2, conv, it, ll
        elif count == 2 or _better(ll, t2, alt_ll, alt_t2):
            alt_t2, alt_ll = t2, ll
    if count == 1 and want_loglik:
        best_ll = loglik(y, v, best_t2, ml, w)
    return max(best_t2, 0.0), best_conv, best_it, count, best_ll, alt_t2, alt_ll
