"""The intercept-only random-effects model, once: every τ² estimator, the safeguarded solver, the scan
for the global likelihood maximum and the pooled statistics, as plain loops over the studies of ONE
dataset, compiled with numba.

Every intercept-only fit runs these functions: a single :func:`metaacu.meta_analysis` calls
:func:`fit_one`; batches, leave-one-out/influence/cumulative refits and the array API of
:mod:`metaacu.tau2` call :func:`fit_rows`, whose loop over rows runs the same per-dataset code on each
row, in parallel threads for many rows.  A row of a batch therefore goes through exactly the
arithmetic of the single fit of its studies, in the same order, and gives the same bits.

The functions are compiled on first use and cached (``cache=True``: in ``__pycache__`` beside this
file), so the compilation happens once per installation.  With ``NUMBA_DISABLE_JIT=1`` the same
source runs as ordinary Python (``tests/test_fast_path.py`` checks that both give the same numbers):
divisions that could be by zero are guarded explicitly so that both modes agree without relying on
numba's floating-point error model.

What stays outside: critical values and p-values (scipy.special, :mod:`metaacu.inference`) and the
I²/H² formulas, applied to the kernel's output by :func:`metaacu.pooling.statistics`; exact
power-of-two rescaling of extreme scales (:mod:`metaacu.scaling`).

The formulas (Viechtbauer 2005): ``wᵢ = 1/(vᵢ + τ²)``, ``μ̂ = Σwᵢyᵢ/Σwᵢ``; the REML score is
``½(Σwᵢ²rᵢ² − tr P)`` with ``tr P = Σw − Σw²/Σw`` (ML: ``Σw``), its derivative
``½ tr(PP) − yᵀPPPy``; see :func:`metaacu.tau2.estimate_tau2` for the estimators.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

import numba
import numpy as np
from numpy.typing import NDArray

from .tau2 import MAXITER, NOISE_ULPS, SCAN_GRID, TAU2_METHODS, TOL

__all__ = ["FIT_FIELDS", "METHOD_CODES", "TEST_CODES", "fit_one", "fit_rows"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
_F = TypeVar("_F", bound=Callable[..., Any])


def _jit(fn: _F) -> _F:
    # numba is untyped: the cast keeps each kernel's own annotated signature for mypy
    return cast(_F, numba.njit(cache=True, nogil=True)(fn))


def _jit_parallel(fn: _F) -> _F:
    return cast(_F, numba.njit(cache=True, nogil=True, parallel=True)(fn))


#: Integer codes of the τ² methods and tests, as the kernels take them.
METHOD_CODES: Final = {name: i for i, name in enumerate(TAU2_METHODS)}
TEST_CODES: Final = {"z": 0, "t": 1, "knha": 2, "adhoc": 3}
_EE, _DL, _HE, _HS, _SJ, _ML, _REML, _EB, _PM = range(9)
_KNHA, _ADHOC = 2, 3

#: Output columns of :func:`fit_one` / :func:`fit_rows`: the pooled estimate, its standard error (with
#: the Knapp-Hartung factor applied for "knha"/"adhoc"), estimate/se, τ², Cochran's Q, ``tr P₀ =
#: Σw − Σw²/Σw`` with ``w = 1/vᵢ`` (for the typical within-study variance), the Knapp-Hartung factor
#: s² (1 for z and t tests, NaN for one study), solver convergence (1/0) and iterations, the local
#: maxima of the (restricted) likelihood (ML/REML; 1 otherwise), the log-likelihood at τ² and the
#: best other maximum with its log-likelihood (NaN when there is none; the log-likelihood is NaN for
#: the other methods).
FIT_FIELDS: Final = (
    "estimate",
    "se",
    "statistic",
    "tau2",
    "q",
    "trace_p0",
    "s2",
    "converged",
    "iterations",
    "maxima",
    "loglik",
    "alt_tau2",
    "alt_loglik",
)
NFIT: Final = len(FIT_FIELDS)

_GRID: Final = np.ascontiguousarray(SCAN_GRID, dtype=np.float64)
_EPS: Final = 2.220446049250313e-16
_TINY: Final = 2.2250738585072014e-308
#: Tenfold growths of an open upper bracket end before giving up (far beyond any double).
_GROW: Final = 60
#: Solver functions: the generalised Q minus a target (PM, EB), the REML and the ML score.
_FUN_Q, _FUN_REML, _FUN_ML = 0, 1, 2


# ----------------------------------------------------------------------------- sums over the studies
@_jit
def _mean(x: F64) -> float:
    s = 0.0
    for i in range(x.size):
        s += x[i]
    return s / x.size


@_jit
def _spread_ss(y: F64) -> float:
    """``Σ(yᵢ − ȳ)²``."""
    ybar = _mean(y)
    ss = 0.0
    for i in range(y.size):
        d = y[i] - ybar
        ss += d * d
    return ss


@_jit
def weights(v: F64, tau2: float, w: F64) -> float:
    """``wᵢ = 1/(vᵢ + τ²)`` into the buffer ``w``; returns ``Σw``."""
    sw = 0.0
    for i in range(v.size):
        wi = 1.0 / (v[i] + tau2)
        w[i] = wi
        sw += wi
    return sw


@_jit
def weighted_mean(y: F64, v: F64, tau2: float, w: F64) -> tuple[float, float]:
    """``(μ̂, Σw)`` with the weights left in ``w``."""
    sw = weights(v, tau2, w)
    swy = 0.0
    for i in range(y.size):
        swy += w[i] * y[i]
    return swy / sw, sw


@_jit
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


@_jit
def noise_floor(y: F64) -> float:
    """Deviations ``|yᵢ − centre|`` at most this large are rounding noise (``NOISE_ULPS`` ulps of the
    largest ``|yᵢ|``) and count as exactly 0, so that identical effects have exactly zero spread."""
    big = 0.0
    for i in range(y.size):
        big = max(big, abs(y[i]))
    return NOISE_ULPS * _EPS * big


@_jit
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


@_jit
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


@_jit
def loglik(y: F64, v: F64, tau2: float, ml: bool, w: F64) -> float:
    """(Restricted) log-likelihood up to a constant (Viechtbauer 2005, eqs. 8 and 10)."""
    mu, sw = weighted_mean(y, v, tau2, w)
    slog = 0.0
    swr2 = 0.0
    for i in range(y.size):
        r = y[i] - mu
        slog += math.log(v[i] + tau2)
        swr2 += w[i] * r * r
    ll = -0.5 * (slog + swr2)
    return ll if ml else ll - 0.5 * math.log(sw)


# ----------------------------------------------------------------------------- the safeguarded solver
@_jit
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


@_jit
def bracket_start(start: float, lo: float, hi: float) -> float:
    """Where Newton starts in a bracket around one maximum: ``start`` clipped into ``[lo, hi]``, or
    the bracket's geometric (``lo = 0``: arithmetic) midpoint when that is not strictly inside."""
    s = min(max(start, lo), hi)
    if lo < s < hi:
        return s
    return math.sqrt(lo * hi) if lo > 0 else 0.5 * hi


@_jit
def _value_slope(fun: int, y: F64, v: F64, x: float, target: float, w: F64) -> tuple[float, float]:
    if fun == _FUN_Q:
        q, dq = generalised_q(y, v, x, w)
        return q - target, dq
    return score_slope(y, v, x, fun == _FUN_ML, w)


@_jit
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


@_jit
def initial_upper(y: F64) -> float:
    """Upper end of the first bracket of a decreasing estimating equation: 10·((range of y)² + 1)."""
    lo = y[0]
    hi = y[0]
    for i in range(y.size):
        lo = min(lo, y[i])
        hi = max(hi, y[i])
    span = float(hi - lo)
    return max(10.0 * (span * span + 1.0), 1.0)


@_jit
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
    return _solve(_FUN_Q, y, v, target, start, 0.0, upper, _mean(v), w)


# ----------------------------------------------------------------------------- the estimators
@_jit
def tau2_he(y: F64, v: F64) -> float:
    """Hedges' estimator ``Σ(yᵢ − ȳ)²/(k − 1) − mean(v)`` (untruncated; k ≥ 2)."""
    return _spread_ss(y) / (y.size - 1) - _mean(v)


@_jit
def tau2_sj(y: F64, v: F64, w: F64) -> float:
    """Sidik-Jonkman ``τ₀² Σuᵢ(yᵢ − μ̂ᵤ)²/(k − 1)``, ``τ₀² = Σ(yᵢ − ȳ)²/k`` (deviations at rounding
    noise count as 0), ``uᵢ = 1/(vᵢ + τ₀²)`` (untruncated; k ≥ 2)."""
    k = y.size
    ybar = _mean(y)
    floor = noise_floor(y)
    ss = 0.0
    for i in range(k):
        d = y[i] - ybar
        if abs(d) > floor:
            ss += d * d
    tau0 = ss / k
    q_u, _ = generalised_q(y, v, tau0, w)
    return tau0 * q_u / (k - 1)


@_jit
def _better(ll: float, t2: float, best_ll: float, best_t2: float) -> bool:
    """Whether a maximum ``(ll, t2)`` ranks before ``(best_ll, best_t2)``: larger likelihood first,
    ties to the smaller τ² (the boundary); a NaN likelihood ranks last."""
    if math.isnan(best_ll):
        return not math.isnan(ll) or t2 < best_t2
    if math.isnan(ll):
        return False
    return ll > best_ll or (ll == best_ll and t2 < best_t2)


@_jit
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
    spread = _spread_ss(y) / max(k - 1.0, 1.0) + _mean(v)
    scale = _mean(v)
    he = max(tau2_he(y, v), 0.0)
    # the best and the second-best maximum so far; the log-likelihood of the first is computed only
    # when a second one appears (or at the end, if wanted)
    count = 0
    best_t2, best_conv, best_it, best_ll = 0.0, True, 0, math.nan
    alt_t2, alt_ll = math.nan, math.nan
    prev_x = 0.0
    prev_s = score(y, v, 0.0, ml, w)
    if prev_s <= 0:
        count = 1
    n = _GRID.size
    for j in range(n + 1):
        if j < n:
            x = spread * _GRID[j]
            s = score(y, v, x, ml, w)
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


@_jit
def fit_dataset(y: F64, v: F64, method: int, test: int, w: F64, out: F64, want_loglik: bool) -> None:
    """Fit one intercept-only model to the studies ``y``, ``v`` (all real, k ≥ 1) and write
    :data:`FIT_FIELDS` into ``out``; ``w`` is a buffer of at least k elements."""
    k = y.size
    w = w[:k]
    q, _ = generalised_q(y, v, 0.0, w)  # Cochran's Q: fixed-effect weights whatever the τ² method
    sw0 = 0.0
    sw0_2 = 0.0
    for i in range(k):
        sw0 += w[i]
        sw0_2 += w[i] * w[i]
    trace_p0 = sw0 - sw0_2 / sw0
    tau2, conv, it, maxima = 0.0, True, 0, 1
    ll, alt_t2, alt_ll = math.nan, math.nan, math.nan
    if k > 1 and method != _EE:
        if method == _DL:
            tau2 = (q - (k - 1)) / trace_p0 if trace_p0 != 0 else math.nan
        elif method == _HS:
            tau2 = (q - k) / sw0
        elif method == _HE:
            tau2 = tau2_he(y, v)
        elif method == _SJ:
            tau2 = tau2_sj(y, v, w)
        elif method == _PM or method == _EB:  # noqa: SIM109 (numba) -- the same equation Q(τ²) = k − 1 (Viechtbauer et al. 2015)
            if q - (k - 1) > 0:
                tau2, conv, it = solve_q(y, v, k - 1.0, max(tau2_he(y, v), 0.0), w)
        else:
            tau2, conv, it, maxima, ll, alt_t2, alt_ll = tau2_likelihood(y, v, method == _ML, w, want_loglik)
        tau2 = max(tau2, 0.0) if math.isfinite(tau2) else 0.0
    elif method == _ML or method == _REML:  # noqa: SIM109 (written for numba)
        ll = loglik(y, v, 0.0, method == _ML, w) if want_loglik else math.nan
    est, sw = weighted_mean(y, v, tau2, w)
    se = math.sqrt(1.0 / sw)
    s2 = math.nan
    if k > 1:  # the Knapp-Hartung factor Σwᵢ(yᵢ − μ̂)²/(k − 1), rounding-noise deviations counted as 0
        floor = noise_floor(y)
        s = 0.0
        for i in range(k):
            r = y[i] - est
            if abs(r) > floor:
                s += w[i] * r * r
        s2 = s / (k - 1)
    if test == _KNHA:
        se *= math.sqrt(s2)
    elif test == _ADHOC:
        se *= math.sqrt(max(1.0, s2))
    else:
        s2 = 1.0
    if se > 0:
        stat = est / se
    elif est != 0:
        stat = math.copysign(math.inf, est)
    else:
        stat = math.nan
    out[0] = est
    out[1] = se
    out[2] = stat
    out[3] = tau2
    out[4] = q
    out[5] = trace_p0
    out[6] = s2
    out[7] = 1.0 if conv else 0.0
    out[8] = it
    out[9] = maxima
    out[10] = ll
    out[11] = alt_t2
    out[12] = alt_ll


@_jit
def fit_one(y: F64, v: F64, method: int, test: int, out: F64, percent: F64) -> None:
    """:func:`fit_dataset` for one dataset (the single-fit path of :func:`metaacu.meta_analysis`),
    with each study's weight in percent, ``100 wᵢ/Σw``, written into ``percent``."""
    w = np.empty(y.size)
    fit_dataset(y, v, method, test, w, out, True)
    sw = 0.0
    for i in range(y.size):
        sw += w[i]
    for i in range(y.size):
        percent[i] = 100.0 * w[i] / sw


# ----------------------------------------------------------------------------- many datasets
@_jit
def _gather(y: F64, v: F64, n: int, yb: F64, vb: F64) -> int:
    """Copy the studies among the first ``n`` of a row whose variance is finite (the others are
    padding) to ``yb``/``vb``; returns their number."""
    c = 0
    for j in range(n):
        if math.isfinite(v[j]):
            yb[c] = y[j]
            vb[c] = v[j]
            c += 1
    return c


@_jit
def _fit_chunk(
    yi: F64, vi: F64, lens: I64, method: int, test: int, out: F64, want_loglik: bool, start: int, stop: int
) -> None:
    k = yi.shape[1]
    w = np.empty(k)
    yb = np.empty(k)
    vb = np.empty(k)
    for i in range(start, stop):
        n = _gather(yi[i], vi[i], lens[i], yb, vb)
        if n > 0:
            fit_dataset(yb[:n], vb[:n], method, test, w, out[i], want_loglik)


@_jit
def _fit_rows_serial(yi: F64, vi: F64, lens: I64, method: int, test: int, out: F64, want_loglik: bool) -> None:
    _fit_chunk(yi, vi, lens, method, test, out, want_loglik, 0, yi.shape[0])


@_jit_parallel
def _fit_rows_parallel(
    yi: F64, vi: F64, lens: I64, method: int, test: int, out: F64, want_loglik: bool, chunks: int
) -> None:
    m = yi.shape[0]
    for c in numba.prange(chunks):
        _fit_chunk(yi, vi, lens, method, test, out, want_loglik, c * m // chunks, (c + 1) * m // chunks)


@_jit
def q_rows(yi: F64, vi: F64, tau2: F64, q: F64, dq: F64) -> None:
    """:func:`generalised_q` of each row at its own τ² (padding ``vi = inf`` is skipped)."""
    k = yi.shape[1]
    w = np.empty(k)
    yb = np.empty(k)
    vb = np.empty(k)
    for i in range(yi.shape[0]):
        n = _gather(yi[i], vi[i], k, yb, vb)
        if n > 0:
            q[i], dq[i] = generalised_q(yb[:n], vb[:n], tau2[i], w)
        else:
            q[i], dq[i] = 0.0, 0.0


@_jit
def scale_rows(vi: F64, out: F64) -> None:
    """Per row, the solver's tolerance scale: the mean of the real (finite) vᵢ."""
    for i in range(vi.shape[0]):
        s = 0.0
        n = 0
        for j in range(vi.shape[1]):
            if math.isfinite(vi[i, j]):
                s += vi[i, j]
                n += 1
        out[i] = s / n if n > 0 else math.nan


@_jit
def upper_rows(yi: F64, vi: F64, out: F64) -> None:
    """:func:`initial_upper` of the real studies of each row."""
    k = yi.shape[1]
    yb = np.empty(k)
    vb = np.empty(k)
    for i in range(yi.shape[0]):
        n = _gather(yi[i], vi[i], k, yb, vb)
        out[i] = initial_upper(yb[:n]) if n > 0 else 1.0


@_jit
def newton_rows(
    x: F64, lo: F64, hi: F64, f: F64, slope: F64, scale: F64, rows: I64, iterations: I64, done: NDArray[np.bool_]
) -> None:
    """:func:`newton_step` for the rows ``rows`` of the array solver :func:`metaacu.tau2.solve_decreasing`
    (``f``, ``slope`` are given for those rows, in that order)."""
    for j in range(rows.size):
        i = rows[j]
        x[i], lo[i], hi[i], conv = newton_step(x[i], f[j], slope[j], lo[i], hi[i], scale[i])
        iterations[i] += 1
        if conv:
            done[i] = True


@_jit
def bracket_start_rows(start: F64, lo: F64, hi: F64) -> None:
    """:func:`bracket_start` element by element, in place on ``start``."""
    for i in range(start.size):
        start[i] = bracket_start(start[i], lo[i], hi[i])


def _plain(x: F64) -> F64:
    """``x`` as a writable C-contiguous float64 array (one compiled signature per kernel)."""
    if x.dtype == np.float64 and x.flags.c_contiguous and x.flags.writeable:
        return x
    return np.array(x, dtype=np.float64, order="C")


def _plain_int(x: I64) -> I64:
    if x.dtype == np.int64 and x.flags.c_contiguous and x.flags.writeable:
        return x
    return np.array(x, dtype=np.int64, order="C")


#: Rows from which :func:`fit_rows` runs threads (below, one thread is faster than starting them).
PARALLEL_ROWS: Final = 64
#: numba's default threading layer where neither TBB nor OpenMP is installed ("workqueue") must not
#: be entered by two threads at once (dask's threaded scheduler would): one parallel fit at a time.
_PARALLEL_LOCK: Final = threading.Lock()


def fit_rows(yi: F64, vi: F64, lens: I64, method: str, test: str, *, want_loglik: bool = True) -> F64:
    """Fit one model per row of ``yi``/``vi`` (C-contiguous ``(m, k)`` float arrays): the studies of
    row ``i`` are its first ``lens[i]`` entries whose ``vi`` is finite (``vi = inf`` is padding);
    rows without any are left NaN (with converged, iterations and maxima 0).  Returns the
    ``(m, len(FIT_FIELDS))`` array of :data:`FIT_FIELDS`.  Many rows are fitted in parallel threads,
    each row on its own, so the result does not depend on the threads."""
    m = yi.shape[0]
    out = np.full((m, NFIT), np.nan)
    out[:, 7:10] = 0.0  # rows without studies: not converged, no iterations, no maxima
    if m == 0:
        return out
    yi, vi = _plain(yi), _plain(vi)
    args = (yi, vi, _plain_int(lens), METHOD_CODES[method], TEST_CODES[test], out, want_loglik)
    threads = numba.get_num_threads()
    if m < PARALLEL_ROWS or threads == 1:
        _fit_rows_serial(*args)
    else:
        with _PARALLEL_LOCK:
            _fit_rows_parallel(*args, min(m, 8 * threads))
    return out
