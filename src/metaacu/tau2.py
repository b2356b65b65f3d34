"""Between-study variance (τ²) estimators for the intercept-only random-effects model.

Every function is array-first: ``yi`` and ``vi`` have shape ``(m, k)`` — ``m`` independent
meta-analyses of up to ``k`` studies — so that one call can fit many meta-analyses at once.
Unequal numbers of studies are padded with ``yi = 0`` and ``vi = +inf``: a study with infinite
variance has weight zero in every sum, so padding never changes a result.  ``kk`` (shape ``(m,)``)
is the number of real studies per row.

All estimators are truncated at zero, as in metafor (Viechtbauer 2005; metafor ``rma.uni``).
The iterative estimators (ML, REML, PM/EB) use a safeguarded solver: Fisher scoring or Newton
steps on a bracket that always contains the root, with bisection when a step would leave it.
Unlike plain Fisher scoring (metafor's default), this cannot oscillate.

References
----------
Viechtbauer W. Bias and efficiency of meta-analytic variance estimators in the random-effects
model. J Educ Behav Stat 2005;30:261-293.
DerSimonian R, Laird N. Meta-analysis in clinical trials. Control Clin Trials 1986;7:177-188.
Paule RC, Mandel J. Consensus values and weighting factors. J Res NBS 1982;87:377-385.
Sidik K, Jonkman JN. A simple confidence interval for meta-analysis. Stat Med 2002;21:3153-3159.
Hunter JE, Schmidt FL. Methods of Meta-Analysis. 2nd ed. Sage; 2004.
Hedges LV, Olkin I. Statistical Methods for Meta-Analysis. Academic Press; 1985 (HE estimator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = ["TAU2_METHODS", "Tau2Fit", "denoise", "estimate_tau2", "generalised_q", "solve_decreasing"]

F64 = NDArray[np.float64]

#: Estimators that need iteration (and so report convergence).
ITERATIVE: Final = frozenset({"REML", "ML", "PM", "EB"})
#: Every τ² method (``"EE"`` fixes τ² = 0).
TAU2_METHODS: Final = ("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")

#: Relative change in τ² below which an iterative fit has converged; much tighter than
#: metafor's default (1e-5 absolute), so results match metafor run with threshold=1e-12.
TOL: Final = 1e-13
MAXITER: Final = 200


@dataclass(frozen=True)
class Tau2Fit:
    """τ² per row with the solver's bookkeeping (arrays of shape ``(m,)``)."""

    tau2: F64
    converged: NDArray[np.bool_]
    iterations: NDArray[np.int64]


def _weighted_mean(w: F64, y: F64) -> F64:
    return (w * y).sum(axis=1) / w.sum(axis=1)


def generalised_q(yi: F64, vi: F64, tau2: F64) -> tuple[F64, F64]:
    """Generalised Q statistic ``Σ wᵢ(yᵢ − μ̂)²`` with ``wᵢ = 1/(vᵢ + τ²)`` and its τ²-derivative.

    The derivative is ``−Σ wᵢ²(yᵢ − μ̂)²`` (the μ̂ term vanishes because μ̂ minimises Q).
    """
    w = 1.0 / (vi + tau2[:, None])
    r = yi - _weighted_mean(w, yi)[:, None]
    wr2 = w * r * r
    return wr2.sum(axis=1), -(w * wr2).sum(axis=1)


def _mask_mean(x: F64, valid: NDArray[np.bool_], kk: F64) -> F64:
    return np.where(valid, x, 0.0).sum(axis=1) / kk


def _moment_pieces(yi: F64, vi: F64) -> tuple[F64, F64, F64]:
    w = 1.0 / vi
    sw = w.sum(axis=1)
    q, _ = generalised_q(yi, vi, np.zeros(yi.shape[0]))
    return q, sw, (w * w).sum(axis=1)


def _dl(yi: F64, vi: F64, kk: F64) -> F64:
    q, sw, sw2 = _moment_pieces(yi, vi)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (q - (kk - 1.0)) / (sw - sw2 / sw)


def _hs(yi: F64, vi: F64, kk: F64) -> F64:
    q, sw, _ = _moment_pieces(yi, vi)
    return (q - kk) / sw


def _he(yi: F64, vi: F64, kk: F64) -> F64:
    valid = np.isfinite(vi)
    ybar = _mask_mean(yi, valid, kk)
    ss = np.where(valid, (yi - ybar[:, None]) ** 2, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ss / (kk - 1.0) - _mask_mean(vi, valid, kk)


#: Deviations smaller than this many ulps of the largest |yᵢ| are rounding noise: they are set to 0,
#: so that identical effects give exactly zero spread (metafor: Knapp-Hartung factor 0, z = ±inf).
NOISE_ULPS: Final = 8.0


def denoise(r: F64, yi: F64, vi: F64) -> F64:
    """Set deviations ``r = yᵢ − centre`` that are pure rounding noise to exactly 0 (row-wise)."""
    scale = np.where(np.isfinite(vi), np.abs(yi), 0.0).max(axis=1, keepdims=True)
    return np.where(np.abs(r) <= NOISE_ULPS * np.finfo(float).eps * scale, 0.0, r)


def _sj(yi: F64, vi: F64, kk: F64) -> F64:
    valid = np.isfinite(vi)
    ybar = _mask_mean(yi, valid, kk)
    tau0 = np.where(valid, denoise(yi - ybar[:, None], yi, vi) ** 2, 0.0).sum(axis=1) / kk
    q_u, _ = generalised_q(yi, vi, tau0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return tau0 * q_u / (kk - 1.0)


def _reml_score_slope(yi: F64, vi: F64, tau2: F64, ml: bool) -> tuple[F64, F64]:
    """Score of the (restricted) log-likelihood in τ² and a negative slope for Newton steps.

    With ``P = W − W11ᵀW/Σw`` the REML score is ``½(yᵀPPy − tr P)`` and its derivative
    ``½ tr(PP) − yᵀPPPy``; for ML, ``tr P`` and ``tr(PP)`` become ``Σw`` and ``Σw²``
    (Viechtbauer 2005, eqs. 9-12).  Where the exact derivative is not negative (away from a
    maximum) the Fisher information is used instead, so a step always points uphill.
    """
    w = 1.0 / (vi + tau2[:, None])
    sw = w.sum(axis=1)
    w2 = w * w
    sw2 = w2.sum(axis=1)
    r = yi - ((w * yi).sum(axis=1) / sw)[:, None]
    w2r = w2 * r
    ypy2 = (w2r * r).sum(axis=1)
    ypy3 = (w2r * w * r).sum(axis=1) - (w2r.sum(axis=1)) ** 2 / sw
    if ml:
        tr_p, tr_pp = sw, sw2
    else:
        sw3 = (w2 * w).sum(axis=1)
        tr_p = sw - sw2 / sw
        tr_pp = sw2 - 2.0 * sw3 / sw + (sw2 / sw) ** 2
    score = 0.5 * (ypy2 - tr_p)
    slope = 0.5 * tr_pp - ypy3
    return score, np.where(slope < 0, slope, -0.5 * tr_pp)


def _solve(
    fun,
    start: F64,
    lower: F64,
    upper: F64,
    active: NDArray[np.bool_],
    scale: F64,
) -> Tau2Fit:
    """Safeguarded Newton for a root of a decreasing function on ``[lower, upper]``.

    Converged when a step or the bracket is below ``TOL·max(scale, |x|)``.

    ``fun(x, rows)`` returns ``(f, slope)`` for the rows selected by the index array ``rows``,
    with ``f`` decreasing in ``x``.  The bracket shrinks every iteration; a Newton step that leaves
    it is replaced by bisection.  Rows converge independently and stop costing work.
    """
    x = start.copy()
    lo, hi = lower.copy(), upper.copy()
    it = np.zeros(x.shape, dtype=np.int64)
    done = ~active
    for _ in range(MAXITER):
        rows = np.flatnonzero(~done)
        if rows.size == 0:
            break
        f, slope = fun(x[rows], rows)
        it[rows] += 1
        pos = f > 0
        lo[rows] = np.where(pos, x[rows], lo[rows])
        hi[rows] = np.where(pos, hi[rows], x[rows])
        with np.errstate(divide="ignore", invalid="ignore"):
            step = -f / slope
        new = x[rows] + step
        bad = ~np.isfinite(new) | (new <= lo[rows]) | (new >= hi[rows])
        mid = np.where(np.isfinite(hi[rows]), 0.5 * (lo[rows] + hi[rows]), 2.0 * lo[rows] + 1.0)
        new = np.where(bad, mid, new)
        new = np.where(f == 0, x[rows], new)  # an exact root: keep it
        change = np.abs(new - x[rows])
        x[rows] = new
        conv = (change <= TOL * np.maximum(scale[rows], np.abs(new))) | (f == 0) | (
            hi[rows] - lo[rows] <= TOL * np.maximum(scale[rows], np.abs(hi[rows]))
        )
        done[rows[conv]] = True
    return Tau2Fit(x, done, it)


def _iterative(yi: F64, vi: F64, kk: F64, method: str) -> Tau2Fit:
    m = yi.shape[0]
    zero = np.zeros(m)
    if method in ("PM", "EB"):
        q0, _ = generalised_q(yi, vi, zero)

        def fun(x: F64, rows: NDArray[np.intp]) -> tuple[F64, F64]:
            q, dq = generalised_q(yi[rows], vi[rows], x)
            return q - (kk[rows] - 1.0), dq

        f0 = q0 - (kk - 1.0)
    else:
        ml = method == "ML"

        def fun(x: F64, rows: NDArray[np.intp]) -> tuple[F64, F64]:
            return _reml_score_slope(yi[rows], vi[rows], x, ml)

        f0, _ = _reml_score_slope(yi, vi, zero, ml)
    active = (f0 > 0) & (kk > 1)
    lower = zero.copy()
    interior = np.zeros(0, dtype=np.intp)
    if method in ("REML", "ML"):
        # The (restricted) likelihood need not be concave: its score can be negative at 0 while an
        # interior maximum with a larger likelihood exists (metafor, started at HE, finds it).  Probe
        # a grid; where the score turns positive, bracket the root from there, and keep whichever of
        # the boundary and that root has the larger likelihood.
        probe = np.flatnonzero(~active & (kk > 1))
        if probe.size:
            at = _positive_score_point(yi[probe], vi[probe], kk[probe], method == "ML")
            found = np.isfinite(at)
            interior = probe[found]
            lower[interior] = at[found]
            active[interior] = True
    start = np.where(active, np.maximum(_he(yi, vi, kk), lower), 0.0)
    fit = solve_decreasing(fun, active, initial_upper(yi, vi), start, lower, variance_scale(vi, kk))
    tau2 = np.where(active, fit.tau2, 0.0)
    if interior.size:
        ml = method == "ML"
        ll_root = _loglik(yi[interior], vi[interior], tau2[interior], ml)
        ll_zero = _loglik(yi[interior], vi[interior], np.zeros(interior.size), ml)
        tau2[interior[ll_zero >= ll_root]] = 0.0
    return Tau2Fit(tau2, fit.converged | ~active, fit.iterations)


#: Probe points for an interior likelihood maximum, as multiples of the spread of the yᵢ.
PROBE_GRID: Final = 10.0 ** np.linspace(-3.0, 1.0, 13)


def _positive_score_point(yi: F64, vi: F64, kk: F64, ml: bool) -> F64:
    """Smallest probe τ² at which the likelihood score is positive (NaN where there is none)."""
    valid = np.isfinite(vi)
    ybar = _mask_mean(yi, valid, kk)
    spread = np.where(valid, (yi - ybar[:, None]) ** 2, 0.0).sum(axis=1) / (kk - 1.0) + _mask_mean(vi, valid, kk)
    grid = spread[:, None] * PROBE_GRID[None, :]  # (m, G)
    g = grid.shape[1]
    score, _ = _reml_score_slope(np.repeat(yi, g, axis=0), np.repeat(vi, g, axis=0), grid.ravel(), ml)
    pos = score.reshape(-1, g) > 0
    first = np.argmax(pos, axis=1)
    return np.where(pos.any(axis=1), grid[np.arange(grid.shape[0]), first], np.nan)


def _loglik(yi: F64, vi: F64, tau2: F64, ml: bool) -> F64:
    """(Restricted) log-likelihood up to a constant (Viechtbauer 2005, eqs. 8 and 10)."""
    v = vi + tau2[:, None]
    w = 1.0 / v
    sw = w.sum(axis=1)
    r = yi - ((w * yi).sum(axis=1) / sw)[:, None]
    ll = -0.5 * (np.where(np.isfinite(vi), np.log(v), 0.0).sum(axis=1) + (w * r * r).sum(axis=1))
    return ll if ml else ll - 0.5 * np.log(sw)


def variance_scale(vi: F64, kk: F64) -> F64:
    """Typical sampling variance (mean of the real ``vi``): the solver's tolerance is relative to
    ``max(scale, τ²)``, so that convergence is equally tight whatever the units of the effects."""
    return np.where(np.isfinite(vi), vi, 0.0).sum(axis=1) / kk


def initial_upper(yi: F64, vi: F64) -> F64:
    """Row-wise upper end of the first τ² search bracket: 10·(range of yi)² + 10, at least 1."""
    valid = np.isfinite(vi)
    span = np.where(valid, yi, -np.inf).max(axis=1) - np.where(valid, yi, np.inf).min(axis=1)
    return np.maximum(10.0 * (span**2 + 1.0), 1.0)


def solve_decreasing(
    fun, active: NDArray[np.bool_], upper: F64, start: F64, lower: F64 | None = None, scale: F64 | None = None
) -> Tau2Fit:
    """Root on ``[lower, ∞)`` of a function decreasing through zero, for the rows in ``active``.

    ``fun(x, rows)`` returns ``(f, slope)`` for the rows given by index array ``rows``; the caller
    guarantees ``f(lower) > 0`` on active rows (``lower`` defaults to 0).  ``upper`` is grown tenfold until ``f(upper) < 0``, then
    :func:`_solve` runs safeguarded Newton steps inside the bracket from ``start``.
    """
    lower = np.zeros_like(upper) if lower is None else lower
    upper = np.maximum(upper, 2.0 * lower)
    rows = np.flatnonzero(active)
    for _ in range(60):
        if rows.size == 0:
            break
        f, _ = fun(upper[rows], rows)
        grow = f > 0
        upper[rows[grow]] *= 10.0
        rows = rows[grow]
    start = np.where(active, np.clip(start, lower, upper), 0.0)
    scale = np.ones_like(upper) if scale is None else scale
    return _solve(fun, start, lower.copy(), upper, active, scale)


def estimate_tau2(yi: F64, vi: F64, kk: F64, method: str) -> Tau2Fit:
    """Estimate τ² for each row of ``yi``/``vi`` (shape ``(m, k)``, padded with ``vi = inf``).

    Parameters
    ----------
    yi, vi : ndarray, shape (m, k)
        Effect sizes and sampling variances; padding has ``vi = inf``.
    kk : ndarray, shape (m,)
        Number of real studies per row.
    method : str
        One of :data:`TAU2_METHODS`.  ``"EE"`` returns zeros.  PM and EB solve the same equation,
        the generalised Q equal to k − 1 (Viechtbauer et al. 2015, Res Synth Methods 6:61), and so
        give the same estimate.

    Returns
    -------
    Tau2Fit
        τ² truncated at zero, with per-row convergence flags and iteration counts (zero for the
        closed-form estimators and for rows whose root is on the boundary τ² = 0).

    Notes
    -----
    Closed forms (w = 1/v): DL ``(Q − (k−1)) / (Σw − Σw²/Σw)``; HS ``(Q − k)/Σw``; HE
    ``Σ(y − ȳ)²/(k−1) − mean(v)``; SJ ``τ₀² Σuᵢ(yᵢ − μ̂ᵤ)²/(k−1)`` with ``τ₀² = Σ(y − ȳ)²/k`` and
    ``uᵢ = 1/(vᵢ + τ₀²)``.  ML/REML solve the likelihood score equation on ``τ² ≥ 0``.
    With one study τ² is 0 for every method.
    """
    m = yi.shape[0]
    if method == "EE":
        tau2 = np.zeros(m)
        return Tau2Fit(tau2, np.ones(m, dtype=bool), np.zeros(m, dtype=np.int64))
    if method in ITERATIVE:
        fit = _iterative(yi, vi, kk, method)
        return Tau2Fit(np.where(kk > 1, np.maximum(fit.tau2, 0.0), 0.0), fit.converged, fit.iterations)
    closed = {"DL": _dl, "HE": _he, "HS": _hs, "SJ": _sj}[method]
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = closed(yi, vi, kk)
    tau2 = np.where((kk > 1) & np.isfinite(raw), np.maximum(raw, 0.0), 0.0)
    return Tau2Fit(tau2, np.ones(m, dtype=bool), np.zeros(m, dtype=np.int64))
