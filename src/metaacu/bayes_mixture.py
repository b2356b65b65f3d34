"""Finite mixtures of normals over the τ quadrature nodes, and shortest credible intervals (for
:mod:`metaacu.bayes`).

With the τ nodes τⱼ and weights Wⱼ every marginal of μ, θ_new and the θᵢ is a mixture
``Σⱼ Wⱼ N(mⱼ, sⱼ²)`` (Röver 2020, J Stat Softw 93(6), eq. 18 and Secs. 2.7-2.8; built by
:meth:`metaacu.bayes_posterior.Posterior.mixtures`).  :class:`Mix` holds ``q`` of them (rows):
densities and CDFs are sums over the mixture, quantiles are found by safeguarded Newton steps.
Shortest intervals solve ``F(b) − F(a) = level, f(a) = f(b)`` by damped Newton from the central
interval (:func:`newton_hpd`, exact for unimodal densities; used for τ as well), with a bounded
one-dimensional minimisation of the width where Newton fails (:func:`min_width`; a local minimum for
a multimodal density).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special

__all__ = ["HpdEval", "Mix", "min_width", "newton_hpd"]

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Mix:
    """``q`` normal mixtures over the same τ nodes: weights, means and SDs of shape ``(q, n)``."""

    w: F64
    m: F64
    s: F64

    def _z(self, x: F64) -> tuple[F64, bool]:
        x = np.asarray(x, dtype=np.float64)
        one = x.ndim == 1
        xx = x[:, None] if one else x
        return (xx[:, :, None] - self.m[:, None, :]) / self.s[:, None, :], one

    def _sum(self, terms: F64, one: bool) -> F64:
        out: F64 = (terms * self.w[:, None, :]).sum(axis=2)
        return out[:, 0] if one else out

    def cdf(self, x: F64) -> F64:
        z, one = self._z(x)
        return self._sum(special.ndtr(z), one)

    def sf(self, x: F64) -> F64:
        z, one = self._z(x)
        return self._sum(special.ndtr(-z), one)

    def pdf(self, x: F64) -> F64:
        z, one = self._z(x)
        return self._sum(np.exp(-0.5 * z * z) / (math.sqrt(2.0 * math.pi) * self.s[:, None, :]), one)

    def dpdf(self, x: F64) -> F64:
        z, one = self._z(x)
        s = self.s[:, None, :]
        return self._sum(-z * np.exp(-0.5 * z * z) / (math.sqrt(2.0 * math.pi) * s * s), one)

    def mean(self) -> F64:
        return np.asarray((self.w * self.m).sum(axis=1))

    def sd(self) -> F64:
        mu = self.mean()
        return np.asarray(np.sqrt((self.w * ((self.m - mu[:, None]) ** 2 + self.s**2)).sum(axis=1)))

    def _hpd_eval(self, a: F64, b: F64, level: float) -> tuple[F64, F64, F64, F64, F64, F64]:
        z, _ = self._z(np.stack([a, b], axis=1))
        s = self.s[:, None, :]
        phi = np.exp(-0.5 * z * z) / (math.sqrt(2.0 * math.pi) * s) * self.w[:, None, :]
        f = phi.sum(axis=2)
        df = (-z / s * phi).sum(axis=2)
        wz = self.w
        mass = 1.0 - (special.ndtr(z[:, 0]) * wz).sum(axis=1) - (special.ndtr(-z[:, 1]) * wz).sum(axis=1)
        with np.errstate(divide="ignore"):
            lf = np.log(f)
        return mass - level, lf[:, 1] - lf[:, 0], f[:, 0], f[:, 1], df[:, 0] / f[:, 0], df[:, 1] / f[:, 1]

    def _bracket(self) -> tuple[F64, F64]:
        live = self.w > 0
        lo = np.where(live, self.m - 40.0 * self.s, np.inf).min(axis=1)
        hi = np.where(live, self.m + 40.0 * self.s, -np.inf).max(axis=1)
        return lo, hi

    def quantile(self, p: F64) -> F64:
        """Safeguarded Newton on the CDF (on the survival function above the median)."""
        p = np.asarray(p, dtype=np.float64)
        lo, hi = self._bracket()
        upper = p > 0.5
        ptail = np.minimum(p, 1.0 - p)
        tol = 1e-14 * np.where(self.w > 0, self.s, np.inf).min(axis=1)
        x = np.clip(self.mean() + self.sd() * special.ndtri(p), lo, hi)
        x = np.where(np.isfinite(x), x, 0.5 * (lo + hi))
        wz = self.w[:, None, :]
        sign = np.where(upper, -1.0, 1.0)[:, None, None]
        target = np.where(upper, 1.0 - p, p)
        norm = self.w[:, None, :] / (math.sqrt(2.0 * math.pi) * self.s[:, None, :])
        for _ in range(200):
            z, _one = self._z(x)
            res = sign[:, 0, 0] * ((special.ndtr(sign * z) * wz).sum(axis=2)[:, 0] - target)
            dens = (np.exp(-0.5 * z * z) * norm).sum(axis=2)[:, 0]
            lo = np.where(res < 0, x, lo)
            hi = np.where(res > 0, x, hi)
            with np.errstate(divide="ignore", invalid="ignore"):
                nxt = x - res / dens
            nxt = np.where((nxt > lo) & (nxt < hi), nxt, 0.5 * (lo + hi))
            done = (np.abs(nxt - x) <= tol + 4e-16 * np.abs(x)) | (np.abs(res) <= 1e-15 * ptail)
            x = np.where(np.abs(res) <= 1e-15 * ptail, x, nxt)
            if done.all():
                break
        return x

    def shortest(self, level: float) -> tuple[F64, F64]:
        """Shortest interval of probability ``level``: Newton on ``F(b) − F(a) = level`` and
        ``log f(a) = log f(b)`` from the central interval (exact for unimodal mixtures); a
        one-dimensional minimisation of the width over the lower tail probability where Newton fails."""
        a = self.quantile(np.full(self.w.shape[0], (1.0 - level) / 2.0))
        b = self.quantile(np.full(self.w.shape[0], (1.0 + level) / 2.0))
        a, b, ok = newton_hpd(lambda lo, hi: self._hpd_eval(lo, hi, level), a, b)
        for i in np.flatnonzero(~ok):
            sub = Mix(self.w[i : i + 1], self.m[i : i + 1], self.s[i : i + 1])

            def q(p: float, sub: Mix = sub) -> float:
                return float(sub.quantile(np.array([p]))[0])

            a[i], b[i] = min_width(q, level, None)
        return a, b


#: ``ev(a, b)`` of :func:`newton_hpd`.
HpdEval = Callable[[F64, F64], tuple[F64, F64, F64, F64, F64, F64]]


def newton_hpd(ev: HpdEval, a: F64, b: F64) -> tuple[F64, F64, NDArray[np.bool_]]:
    """Solve ``P(a < X < b) = level`` and ``log f(a) = log f(b)`` by damped Newton, row-wise.

    ``ev(a, b)`` returns ``(P(a < X < b) − level, log f(b) − log f(a), f(a), f(b), (log f)'(a),
    (log f)'(b))`` in the coordinate being solved (x for μ, u = log τ for τ; there ``f`` in the
    first derivative is the density of that coordinate and ``log f`` the density whose ends match)."""
    r1, r2, fa, fb, ja, jb = ev(a, b)
    for _ in range(60):
        done = (np.abs(r1) <= 1e-14) & (np.abs(r2) <= 1e-9)
        if done.all():
            break
        det = -fa * jb + fb * ja
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            da = np.where(done, 0.0, -(jb * r1 - fb * r2) / det)
            db = np.where(done, 0.0, -(ja * r1 - fa * r2) / det)
        da = np.where(np.isfinite(da), da, 0.0)
        db = np.where(np.isfinite(db), db, 0.0)
        tiny = np.maximum(np.abs(da), np.abs(db)) <= 1e-13 * (b - a)
        if (tiny | done).all():
            a, b = a + da, b + db
            r1, r2, fa, fb, ja, jb = ev(a, b)
            break
        done = done | tiny
        norm0 = np.abs(r1) + 1e-3 * np.abs(r2)
        step = np.ones(a.shape)
        for _ in range(30):
            na, nb = a + step * da, b + step * db
            n = ev(na, nb)
            better = done | ((nb > na) & (np.abs(n[0]) + 1e-3 * np.abs(n[1]) < 4.0 * norm0) & np.isfinite(n[0] + n[1]))
            if better.all():
                break
            step = np.where(better, step, 0.5 * step)
        if not better.any():
            break
        a, b = np.where(better, na, a), np.where(better, nb, b)
        r1, r2, fa, fb, ja, jb = (
            np.where(better, new, old) for new, old in zip(n, (r1, r2, fa, fb, ja, jb), strict=True)
        )
    ok = (np.abs(r1) < 1e-10) & (np.abs(r2) < 1e-5)
    return a, b, ok


def min_width(quantile: Callable[[float], float], level: float, floor: float | None) -> tuple[float, float]:
    """Shortest interval by minimising ``Q(p + level) − Q(p)`` over ``p`` (the fallback where Newton
    fails, e.g. a multimodal density: a local minimum); ``floor`` is the lower end of the support."""
    from scipy.optimize import minimize_scalar

    lo_p = 1e-300 if floor is None else 0.0
    res = minimize_scalar(
        lambda p: quantile(p + level) - quantile(p),
        bounds=(lo_p, 1.0 - level - 1e-15),
        method="bounded",
        options={"xatol": 1e-12},
    )
    p = float(res.x)
    a, b = quantile(p), quantile(p + level)
    if floor is not None and quantile(level) - floor <= b - a:
        return floor, quantile(level)
    return a, b
