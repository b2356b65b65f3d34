"""Pure-Python fit of ONE small meta-analysis: the fast path of :func:`metaacu.meta_analysis`.

For a single dataset of a few dozen studies, NumPy's per-call overhead (about a microsecond per
operation on tiny arrays) dominates the arithmetic.  This module repeats the formulas of
:mod:`metaacu.tau2` and :func:`metaacu.pooling.fit_arrays` on Python floats, with the same estimators,
the same safeguarded bracketed Newton solver, the same scan for every local maximum of the likelihood
(:func:`metaacu.tau2.likelihood_brackets`, vectorised once per fit) and the same convergence tolerance,
so that both paths give the same numbers to rounding (tested to 1e-12 relative in
``tests/test_fast_path.py``).  Large k uses the array path, whose cost grows more slowly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .inference import critical_value, q_heterogeneity, tau2_heterogeneity, two_sided_p, typical_variance
from .tau2 import MAXITER, NOISE_ULPS, TOL, likelihood_brackets

__all__ = ["MAX_K", "fit_one"]

#: Above this many studies the array path is faster.
MAX_K = 40

_Fun = Callable[[float], tuple[float, float]]


def _wmean(w: list[float], y: Sequence[float]) -> tuple[float, float]:
    sw = sum(w)
    return sum(a * b for a, b in zip(w, y, strict=True)) / sw, sw


def _qgen(y: Sequence[float], v: Sequence[float], t2: float) -> tuple[float, float]:
    """Generalised Q and its τ²-derivative (see :func:`metaacu.tau2.generalised_q`)."""
    w = [1.0 / (x + t2) for x in v]
    mu, _ = _wmean(w, y)
    wr2 = [wi * (yi - mu) ** 2 for wi, yi in zip(w, y, strict=True)]
    return sum(wr2), -sum(a * b for a, b in zip(w, wr2, strict=True))


def _score(y: Sequence[float], v: Sequence[float], t2: float, ml: bool) -> tuple[float, float]:
    """(Restricted) likelihood score and a negative Newton slope (see ``tau2._reml_score_slope``).

    Written as two explicit loops: this is the innermost function of the fast path."""
    ws = []
    sw = swy = sw2 = sw3 = 0.0
    for vi, yi in zip(v, y, strict=True):
        w = 1.0 / (vi + t2)
        ws.append(w)
        w2 = w * w
        sw += w
        swy += w * yi
        sw2 += w2
        sw3 += w2 * w
    mu = swy / sw
    ypy2 = ypy3 = sw2r = 0.0
    for w, yi in zip(ws, y, strict=True):
        r = yi - mu
        a = w * w * r
        ypy2 += a * r
        ypy3 += a * w * r
        sw2r += a
    ypy3 -= sw2r * sw2r / sw
    if ml:
        tr_p, tr_pp = sw, sw2
    else:
        tr_p = sw - sw2 / sw
        tr_pp = sw2 - 2.0 * sw3 / sw + (sw2 / sw) ** 2
    slope = 0.5 * tr_pp - ypy3
    return 0.5 * (ypy2 - tr_p), slope if slope < 0 else -0.5 * tr_pp


def _loglik(y: Sequence[float], v: Sequence[float], t2: float, ml: bool) -> float:
    w = [1.0 / (x + t2) for x in v]
    mu, sw = _wmean(w, y)
    ll = -0.5 * (sum(math.log(x + t2) for x in v) + sum(wi * (yi - mu) ** 2 for wi, yi in zip(w, y, strict=True)))
    return ll if ml else ll - 0.5 * math.log(sw)


def _solve(fun: _Fun, start: float, lo: float, scale: float, hi: float = math.inf) -> tuple[float, bool, int]:
    """Safeguarded Newton on ``[lo, hi]`` for a function decreasing through zero (``f(lo) > 0``)."""
    x = start
    for it in range(1, MAXITER + 1):
        f, slope = fun(x)
        if f > 0:
            lo = x
        else:
            hi = x
        new = x - f / slope if slope != 0 else math.nan
        if not (lo < new < hi) or not math.isfinite(new):
            new = 0.5 * (lo + hi) if math.isfinite(hi) else 2.0 * lo + 1.0
        if f == 0:
            new = x
        change = abs(new - x)
        x = new
        if (
            change <= TOL * max(scale, abs(new))
            or f == 0
            or (math.isfinite(hi) and hi - lo <= TOL * max(scale, abs(hi)))
        ):
            return x, True, it
    return x, False, MAXITER


def _denoise(r: list[float], y: Sequence[float]) -> list[float]:
    """As :func:`metaacu.tau2.denoise`: deviations that are rounding noise become exactly 0."""
    tiny = NOISE_ULPS * 2.220446049250313e-16 * max(abs(a) for a in y)
    return [0.0 if abs(a) <= tiny else a for a in r]


def _he(y: Sequence[float], v: Sequence[float], k: int) -> float:
    ybar = sum(y) / k
    return sum((a - ybar) ** 2 for a in y) / (k - 1) - sum(v) / k


def _tau2(
    y: Sequence[float], v: Sequence[float], method: str, q: float, sw0: float, sw0_2: float
) -> tuple[float, bool, int]:
    k = len(y)
    if method == "EE" or k == 1:
        return 0.0, True, 0
    if method == "DL":
        return max(0.0, (q - (k - 1)) / (sw0 - sw0_2 / sw0)), True, 0
    if method == "HS":
        return max(0.0, (q - k) / sw0), True, 0
    if method == "HE":
        return max(0.0, _he(y, v, k)), True, 0
    if method == "SJ":
        ybar = sum(y) / k
        t0 = sum(a * a for a in _denoise([a - ybar for a in y], y)) / k
        qu, _ = _qgen(y, v, t0)
        return max(0.0, t0 * qu / (k - 1)), True, 0
    if method in ("PM", "EB"):
        if q <= k - 1:
            return 0.0, True, 0

        def fq(x: float) -> tuple[float, float]:
            qq, dq = _qgen(y, v, x)
            return qq - (k - 1), dq

        t2, ok, it = _solve(fq, max(0.0, _he(y, v, k)), 0.0, sum(v) / k)
        return max(0.0, t2), ok, it
    return _likelihood(y, v, method == "ML")[:3]


def _likelihood(y: Sequence[float], v: Sequence[float], ml: bool) -> tuple[float, bool, int, int, float, float, float]:
    """ML/REML as :func:`metaacu.tau2._likelihood_fit`: every local maximum, the largest wins.

    Returns ``(tau2, converged, iterations, maxima, loglik, alt_tau2, alt_loglik)``."""
    k = len(y)
    at_zero, _, lowers, uppers = likelihood_brackets(
        np.asarray([y], float), np.asarray([v], float), np.array([float(k)]), ml
    )

    def fs(x: float) -> tuple[float, float]:
        return _score(y, v, x, ml)

    scale, he = sum(v) / k, max(0.0, _he(y, v, k))
    cands: list[tuple[float, bool, int]] = [(0.0, True, 0)] if at_zero[0] else []
    for lo, hi in zip(lowers.tolist(), uppers.tolist(), strict=True):
        if not math.isfinite(hi):  # grown tenfold, as tau2.solve_in_bracket
            hi = 10.0 * max(lo, 2.2250738585072014e-308)
            for _ in range(60):
                if fs(hi)[0] > 0:
                    lo, hi = hi, 10.0 * hi
                else:
                    break
        start = min(max(he, lo), hi)
        if not lo < start < hi:
            start = math.sqrt(lo * hi) if lo > 0 else 0.5 * hi
        cands.append(_solve(fs, start, lo, scale, hi))
    scored = sorted(((-_loglik(y, v, t2, ml), t2, ok, it) for t2, ok, it in cands), key=lambda c: (c[0], c[1]))
    best = scored[0]
    alt = scored[1] if len(scored) > 1 else (math.nan, math.nan, False, 0)
    return best[1], best[2], best[3], len(scored), -best[0], alt[1], -alt[0]


def fit_one(y: Sequence[float], v: Sequence[float], method: str, test: str, level: float) -> dict[str, float]:
    """Everything :func:`metaacu.pooling.fit_arrays` returns, for one dataset, as floats."""
    k = len(y)
    w0 = [1.0 / x for x in v]
    mu0, sw0 = _wmean(w0, y)
    q = sum(a * (b - mu0) ** 2 for a, b in zip(w0, y, strict=True))
    sw0_2 = sum(a * a for a in w0)
    q_df = k - 1.0
    if method in ("REML", "ML") and k > 1:
        tau2, converged, iterations, maxima, ll, alt_t, alt_ll = _likelihood(y, v, method == "ML")
    else:
        (tau2, converged, iterations), maxima, ll, alt_t, alt_ll = (
            _tau2(y, v, method, q, sw0, sw0_2),
            1,
            math.nan,
            math.nan,
            math.nan,
        )
    w = [1.0 / (x + tau2) for x in v]
    est, sw = _wmean(w, y)
    se = math.sqrt(1.0 / sw)
    q_p, i2_q, h2_q = q_heterogeneity(q, q_df)
    if method == "EE":
        i2, h2 = i2_q, h2_q
    else:
        i2, h2 = tau2_heterogeneity(tau2, typical_variance(q_df, sw0 - sw0_2 / sw0), q_df)
    r = _denoise([yi - est for yi in y], y)
    s2 = sum(wi * ri * ri for wi, ri in zip(w, r, strict=True)) / q_df if k > 1 else math.nan
    if test in ("knha", "adhoc"):
        se *= math.sqrt(s2 if test == "knha" else max(1.0, s2))
    else:
        s2 = 1.0
    stat = est / se if se > 0 else math.copysign(math.inf, est) if est != 0 else math.nan
    df = math.inf if test == "z" else q_df
    crit, pval = critical_value(level, df), float(two_sided_p(stat, df))
    return {
        "estimate": est,
        "se": se,
        "ci_low": est - crit * se,
        "ci_high": est + crit * se,
        "statistic": stat,
        "pvalue": pval,
        "df": df,
        "tau2": tau2,
        "q": q,
        "q_df": q_df,
        "q_pvalue": q_p,
        "i2": i2,
        "h2": h2,
        "i2_q": i2_q,
        "s2": s2,
        "converged": converged,
        "iterations": iterations,
        "at_boundary": tau2 == 0 and method != "EE" and k > 1,
        "maxima": maxima,
        "loglik": ll,
        "alt_tau2": alt_t,
        "alt_loglik": alt_ll,
    }
