"""Adaptive Gauss-Kronrod quadrature of a log density of ``u = log τ`` (for :mod:`metaacu.bayes`).

The density is integrated row by row (one row per meta-analysis) in ``u``, by globally adaptive
Gauss-Kronrod (7, 15) quadrature (the QUADPACK qk15 rule): panels are bisected until the
Kronrod-minus-Gauss error estimates of the integral and of the caller's controlled integrals, each
relative to its scale, add up to at most ``rtol``.  The integration range is where the density (on
the left) and the density times ``τ^a`` (on the right, so that every moment that exists is
integrated) are within e⁻⁶⁰ of their maxima, or up to τ = e³⁰⁰ (τ² is still a double) or the prior's
bound: found from a scan (a wide even grid, a fine grid around the DerSimonian-Laird τ̂ and the
prior's quantiles) and widened by steps where the scan ends inside it.  The mass outside the range
is estimated from the density's decay at its ends (``neglected``).

The quadrature nodes with their normalised weights represent the posterior as in bayesmeta, with a
quadrature rule in place of its DIRECT grid (Röver & Friede 2017, J Comput Graph Stat 26:217).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import special

from ._validation import MetaacuInputError
from .bayes_model import Model
from .bayes_prior_families import TauPrior

__all__ = ["WG", "WK", "XK", "Evaluate", "Quadrature", "quadrature"]

F64 = NDArray[np.float64]
#: Integration range: where log p(u | y) is within this of its maximum (e^-60 ≈ 1e-26).
_DROP: Final = 60.0
#: Largest log τ integrated (τ² = e^600 is still a double).
_U_CAP: Final = 300.0
_U_FLOOR: Final = -700.0

# Gauss-Kronrod (7, 15) on [-1, 1]: Kronrod nodes and weights (QUADPACK qk15), ascending; the Gauss
# nodes are the odd positions.  tests/test_bayes.py checks exactness up to degree 22.
_XK_HALF: Final = (
    0.991455371120812639206854697526329,
    0.949107912342758524526189684047851,
    0.864864423359769072789712788640926,
    0.741531185599394439863864773280788,
    0.586087235467691130294144845693013,
    0.405845151377397166906606412076961,
    0.207784955007898467600689403773245,
)
_WK_HALF: Final = (
    0.022935322010529224963732008058970,
    0.063092092629978553290700663189204,
    0.104790010322250183839876322541518,
    0.140653259715525918745189590510238,
    0.169004726639267902826583426598550,
    0.190350578064785409913256402421014,
    0.204432940075298892414161999234649,
)
XK: Final = np.array([-x for x in _XK_HALF] + [0.0] + list(_XK_HALF[::-1]))
WK: Final = np.array([*_WK_HALF, 0.209482141084727828012999174891714, *_WK_HALF[::-1]])
WG: Final = np.zeros(15)
WG[1::2] = np.polynomial.legendre.leggauss(7)[1]

#: ``evaluate(u) -> (g, factors, scales)`` for nodes ``u`` of shape ``(m, n)``: the log density and the
#: integrands whose error :func:`quadrature` controls, each measured against its scale.
Evaluate = Callable[[F64], tuple[F64, list[F64], list[F64]]]


def _scan_points(model: Model) -> F64:
    """Per-row points in ``u = log τ`` (shape (m, S)) covering where the prior and the likelihood have
    mass: a wide even grid, a fine grid around the DerSimonian-Laird τ̂, and prior quantiles."""
    v = model.v
    finite = np.isfinite(v)
    vmin = np.where(finite, v, np.inf).min(axis=1)
    vmax = np.where(finite, v, -np.inf).max(axis=1)
    w = np.where(finite, 1.0 / v, 0.0)
    sw = w.sum(axis=1)
    ybar = (w * model.y).sum(axis=1) / sw
    q = (w * (model.y - ybar[:, None]) ** 2).sum(axis=1)
    denom = sw - (w * w).sum(axis=1) / sw
    with np.errstate(divide="ignore", invalid="ignore"):
        dl = np.where(denom > 0, (q - (model.kk - 1.0)) / denom, 0.0)
    center = 0.5 * np.log(np.where(dl > 0, dl, vmin))
    refs = [0.5 * np.log(vmin), 0.5 * np.log(vmax), center]
    prior = model.tau_prior
    common: list[F64] = []
    if prior.proper:
        with np.errstate(divide="ignore", over="ignore"):
            qs = prior.quantile(special.ndtr(np.linspace(-8.0, 8.0, 65)))
        qs = qs[np.isfinite(qs) & (qs > 0)]
        if qs.size:
            lq = np.log(qs)
            common.append(lq)
            refs += [np.full(center.shape, lq.min()), np.full(center.shape, lq.max())]
    lo = np.minimum.reduce(refs) - 25.0
    hi = np.maximum.reduce(refs) + 25.0
    grid = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, 201)
    around = center[:, None] + np.linspace(-4.0, 4.0, 41)
    pts = np.concatenate([grid, around, *[np.broadcast_to(c, (center.size, c.size)) for c in common]], axis=1)
    top = _top(prior)
    pts = np.clip(pts, _U_FLOOR, top)
    if math.isfinite(prior.support_max):
        pts = np.concatenate([pts, np.full((center.size, 1), top)], axis=1)
    return np.sort(pts, axis=1)


def _top(prior: TauPrior) -> float:
    """Largest u integrated: log of the prior's support bound, or the overflow cap."""
    return min(math.log(prior.support_max), _U_CAP) if math.isfinite(prior.support_max) else _U_CAP


def _walk(logf: Callable[[F64], F64], start: F64, step: float, limit: float, cut: F64) -> F64:
    """Step from ``start`` until ``logf(u) <= cut`` or ``u`` reaches ``limit`` (per row)."""
    u = start.copy()
    active = logf(u[:, None])[:, 0] > cut
    for _ in range(400):
        if not active.any():
            break
        nxt = np.minimum(u + step, limit) if step > 0 else np.maximum(u + step, limit)
        u = np.where(active, nxt, u)
        active &= (logf(u[:, None])[:, 0] > cut) & (u != limit)
    return u


def _pad_rows(rows: Sequence[F64]) -> F64:
    """Stack rows of different lengths, repeating each row's last entry (zero-width panels)."""
    n = max(r.size for r in rows)
    return np.stack([np.concatenate([r, np.full(n - r.size, r[-1])]) for r in rows])


def _initial_breaks(scan: F64, g: F64, left: F64, right: F64, panels: int = 12) -> F64:
    """Breakpoints from ``left`` to ``right``: quantiles of the scan's (trapezoid) posterior mass and
    equally spaced points (duplicates make zero-width panels, which cost nothing)."""
    out = np.empty((scan.shape[0], 2 * panels + 2))
    probs = np.linspace(0.0, 1.0, panels + 1)
    for i in range(scan.shape[0]):
        inside = (scan[i] >= left[i]) & (scan[i] <= right[i])
        x = scan[i, inside]
        even = np.linspace(left[i], right[i], panels + 1)
        mass = even
        if x.size > 1:
            dens = np.exp(g[i, inside] - g[i, inside].max())
            cum = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(x))])
            if cum[-1] > 0:
                mass = np.interp(probs, cum / cum[-1], x)
        out[i] = np.concatenate([mass, even])
    out = np.sort(out, axis=1)
    out[:, 0], out[:, -1] = left, right
    return out


def _region(model: Model, logdens: Callable[[F64], F64], a_right: F64) -> tuple[F64, F64, F64, F64]:
    """``(left, right, scan, g)``: where the density of u (on the left) and the density times τ^a_right
    (on the right, so that every moment that exists is integrated) are above e^-60 of their maxima."""
    scan = _scan_points(model)
    g = logdens(scan)
    gmax = g.max(axis=1)
    if not np.all(np.isfinite(gmax)):
        raise MetaacuInputError("the posterior density of tau is zero or not finite everywhere: check the data")
    ga = g + a_right[:, None] * scan
    gamax = ga.max(axis=1)
    s = scan.shape[1]
    i0 = np.argmax(g > (gmax - _DROP)[:, None], axis=1)
    i1 = s - 1 - np.argmax((ga > (gamax - _DROP)[:, None])[:, ::-1], axis=1)
    rows = np.arange(scan.shape[0])
    left = scan[rows, np.maximum(i0 - 1, 0)]
    right = scan[rows, np.minimum(i1 + 1, s - 1)]
    top = _top(model.tau_prior)
    if (need := i0 == 0).any():
        left = np.where(need, _walk(logdens, left, -8.0, _U_FLOOR, gmax - _DROP), left)
    if (need := (i1 == s - 1) & (right < top)).any():

        def lga(u: F64) -> F64:
            return logdens(u) + a_right[:, None] * u

        right = np.where(need, _walk(lga, right, 8.0, top, gamax - _DROP), right)
    return left, right, scan, g


def _integrate(
    evaluate: Evaluate, breaks: F64, gref: F64, rtol: float, max_rounds: int = 40, max_panels: int = 4000
) -> tuple[F64, F64, F64, F64, bool]:
    """Globally adaptive Gauss-Kronrod (7, 15) quadrature of ``e^(g − gref)`` over each row's panels.

    ``evaluate(u)`` gives ``(g, factors, scales)``; every ``e^(g − gref)·factor`` is controlled, its
    Kronrod-minus-Gauss error measured against ``∫ e^(g − gref)·scale``.  Panels whose share of the
    summed relative error is too large are bisected until the sum is at most ``rtol``.  Returns the
    final ``breaks``, per-panel Kronrod integrals of ``e^(g − gref)``, row totals, relative error
    estimates and whether every row converged."""
    m = breaks.shape[0]
    final: list[F64] = [breaks[0]] * m
    ints: list[F64] = [breaks[0]] * m
    errs = np.zeros(m)
    converged = True
    active = np.arange(m)
    cur = breaks
    for rnd in range(1, max_rounds + 1):
        a, b = cur[:, :-1], cur[:, 1:]
        half = 0.5 * (b - a)
        u = (0.5 * (a + b))[:, :, None] + half[:, :, None] * XK
        shape = u.shape
        g, factors, scales = evaluate(u.reshape(shape[0], -1))
        e = np.exp(g - gref[active, None]).reshape(shape)
        kr = (e * WK).sum(axis=2) * half
        rel = np.abs(kr - (e * WG).sum(axis=2) * half) / kr.sum(axis=1)[:, None]
        for f, sc in zip(factors, scales, strict=True):
            fe = e * f.reshape(shape)
            diff = np.abs(((fe * WK).sum(axis=2) - (fe * WG).sum(axis=2)) * half)
            denom = (((e * sc.reshape(shape)) * WK).sum(axis=2) * half).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                rel = np.maximum(rel, np.nan_to_num(diff / denom[:, None], nan=0.0, posinf=0.0))
        total = rel.sum(axis=1)
        rows: list[F64] = []
        keep: list[int] = []
        for j, row in enumerate(active):
            brk = cur[j]
            if total[j] <= rtol or rnd == max_rounds or brk.size > max_panels:
                final[row], ints[row], errs[row] = brk, kr[j], total[j]
                converged &= bool(total[j] <= rtol)
                continue
            width = np.diff(brk)
            split = ((rel[j] > rtol / (2.0 * max(int((width > 0).sum()), 1))) | (rel[j] == rel[j].max())) & (width > 0)
            rows.append(
                np.sort(np.concatenate([brk[np.concatenate([[True], width > 0])], 0.5 * (brk[:-1] + brk[1:])[split]]))
            )
            keep.append(int(row))
        if not rows:
            break
        active = np.asarray(keep)
        cur = _pad_rows(rows)
    brk_all = _pad_rows(final)
    width = brk_all.shape[1] - 1
    pint = np.stack([np.concatenate([x, np.zeros(width - x.size)]) for x in ints])
    return brk_all, pint, pint.sum(axis=1), errs, converged


def _nodes(breaks: F64) -> tuple[F64, F64]:
    """Kronrod nodes ``(m, 15P)`` of the panels and their quadrature weights."""
    a, b = breaks[:, :-1], breaks[:, 1:]
    half = 0.5 * (b - a)
    u = (0.5 * (a + b))[:, :, None] + half[:, :, None] * XK
    return u.reshape(u.shape[0], -1), (half[:, :, None] * WK).reshape(u.shape[0], -1)


@dataclass(frozen=True)
class Quadrature:
    """One log density of ``u = log τ`` integrated row by row: panels ``breaks (m, P+1)``, nodes ``u``
    with normalised weights ``w`` (summing to 1), ``logz`` the log integral, ``cdf`` at the breaks,
    ``error`` the relative error estimate and ``neglected`` the estimated mass outside the range."""

    breaks: F64
    u: F64
    w: F64
    logz: F64
    gref: F64
    total: F64
    cdf: F64
    error: F64
    neglected: F64
    converged: bool


def quadrature(
    model: Model, logdens: Callable[[F64], F64], evaluate: Evaluate, a_right: F64, rtol: float
) -> Quadrature:
    """Range finding, adaptive quadrature and normalised node weights of one log density of u."""
    left, right, scan, g_scan = _region(model, logdens, a_right)
    gref = g_scan.max(axis=1)
    breaks, pint, total, err, ok = _integrate(evaluate, _initial_breaks(scan, g_scan, left, right), gref, rtol)
    u, raw = _nodes(breaks)
    w = raw * np.exp(logdens(u) - gref[:, None]) / total[:, None]
    cdf = np.concatenate([np.zeros((u.shape[0], 1)), np.cumsum(pint, axis=1)], axis=1) / total[:, None]
    # mass beyond the range: the edge density over its (exponential-in-u) decay rate
    lo, hi = breaks[:, :1], breaks[:, -1:]
    h = 1e-4
    edges = logdens(np.concatenate([lo, lo + h, hi - h, hi], axis=1)) - gref[:, None]
    slope_l = np.maximum((edges[:, 1] - edges[:, 0]) / h, 1e-3)
    slope_r = np.maximum((edges[:, 2] - edges[:, 3]) / h, 1e-3)
    with np.errstate(over="ignore", invalid="ignore"):
        tail_r = np.where(hi[:, 0] >= _top(model.tau_prior), 0.0, np.exp(edges[:, 3]) / slope_r)
        neglected = (np.exp(edges[:, 0]) / slope_l + tail_r) / total
    return Quadrature(breaks, u, w, np.log(total) + gref, gref, total, cdf, err, neglected, ok)
