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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "SCAN_GRID",
    "TAU2_METHODS",
    "Tau2Fit",
    "denoise",
    "estimate_tau2",
    "generalised_q",
    "likelihood_brackets",
    "loglik",
    "reml_score",
    "solve_decreasing",
    "solve_in_bracket",
]

F64 = NDArray[np.float64]
#: ``fun(x, rows) -> (f, slope)`` of the solvers: a decreasing function of τ² and its slope, evaluated
#: for the rows selected by the index array ``rows``.
RowFunction = Callable[[F64, NDArray[np.intp]], tuple[F64, F64]]

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
    """τ² per row with the solver's bookkeeping (arrays of shape ``(m,)``).

    For ML/REML, ``maxima`` counts the local maxima of the (restricted) likelihood found on
    ``[0, ∞)`` (1 for every other method) and ``alt_tau2``/``alt_loglik`` give the best of the
    others (NaN when there is none); ``loglik`` is the log-likelihood at ``tau2`` (NaN for other
    methods).
    """

    tau2: F64
    converged: NDArray[np.bool_]
    iterations: NDArray[np.int64]
    maxima: NDArray[np.int64] | None = None
    loglik: F64 | None = None
    alt_tau2: F64 | None = None
    alt_loglik: F64 | None = None


def _weighted_mean(w: F64, y: F64) -> F64:
    mean: F64 = (w * y).sum(axis=1) / w.sum(axis=1)
    return mean


def generalised_q(yi: F64, vi: F64, tau2: F64) -> tuple[F64, F64]:
    """Generalised Q statistic ``Σ wᵢ(yᵢ − μ̂)²`` with ``wᵢ = 1/(vᵢ + τ²)`` and its τ²-derivative.

    The derivative is ``−Σ wᵢ²(yᵢ − μ̂)²`` (the μ̂ term vanishes because μ̂ minimises Q).
    """
    w = 1.0 / (vi + tau2[:, None])
    r = yi - _weighted_mean(w, yi)[:, None]
    wr2 = w * r * r
    return wr2.sum(axis=1), -(w * wr2).sum(axis=1)


def _mask_mean(x: F64, valid: NDArray[np.bool_], kk: F64) -> F64:
    mean: F64 = np.where(valid, x, 0.0).sum(axis=1) / kk
    return mean


def _moment_pieces(yi: F64, vi: F64) -> tuple[F64, F64, F64]:
    w = 1.0 / vi
    sw = w.sum(axis=1)
    q, _ = generalised_q(yi, vi, np.zeros(yi.shape[0]))
    return q, sw, (w * w).sum(axis=1)


def _dl(yi: F64, vi: F64, kk: F64) -> F64:
    q, sw, sw2 = _moment_pieces(yi, vi)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau2: F64 = (q - (kk - 1.0)) / (sw - sw2 / sw)
    return tau2


def _hs(yi: F64, vi: F64, kk: F64) -> F64:
    q, sw, _ = _moment_pieces(yi, vi)
    tau2: F64 = (q - kk) / sw
    return tau2


def _he(yi: F64, vi: F64, kk: F64) -> F64:
    valid = np.isfinite(vi)
    ybar = _mask_mean(yi, valid, kk)
    ss = np.where(valid, (yi - ybar[:, None]) ** 2, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau2: F64 = ss / (kk - 1.0) - _mask_mean(vi, valid, kk)
    return tau2


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
        tau2: F64 = tau0 * q_u / (kk - 1.0)
    return tau2


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


def reml_score(yi: F64, vi: F64, tau2: F64, ml: bool) -> F64:
    """The score alone of :func:`_reml_score_slope` (for the scan for local maxima)."""
    w = 1.0 / (vi + tau2[:, None])
    sw = w.sum(axis=1)
    r = yi - ((w * yi).sum(axis=1) / sw)[:, None]
    w2 = w * w
    ypy2 = (w2 * r * r).sum(axis=1)
    tr_p = sw if ml else sw - w2.sum(axis=1) / sw
    score: F64 = 0.5 * (ypy2 - tr_p)
    return score


def _solve(
    fun: RowFunction,
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
        conv = (
            (change <= TOL * np.maximum(scale[rows], np.abs(new)))
            | (f == 0)
            | (hi[rows] - lo[rows] <= TOL * np.maximum(scale[rows], np.abs(hi[rows])))
        )
        done[rows[conv]] = True
    return Tau2Fit(x, done, it)


def _iterative(yi: F64, vi: F64, kk: F64, method: str) -> Tau2Fit:
    if method in ("REML", "ML"):
        return _likelihood_fit(yi, vi, kk, method == "ML")
    m = yi.shape[0]
    zero = np.zeros(m)
    # PM/EB: the generalised Q decreases in τ², so the estimating equation has at most one root.
    q0, _ = generalised_q(yi, vi, zero)

    def fun(x: F64, rows: NDArray[np.intp]) -> tuple[F64, F64]:
        q, dq = generalised_q(yi[rows], vi[rows], x)
        return q - (kk[rows] - 1.0), dq

    active = (q0 - (kk - 1.0) > 0) & (kk > 1)
    start = np.where(active, np.maximum(_he(yi, vi, kk), 0.0), 0.0)
    fit = solve_decreasing(fun, active, initial_upper(yi, vi), start, zero.copy(), variance_scale(vi, kk))
    return Tau2Fit(np.where(active, fit.tau2, 0.0), fit.converged | ~active, fit.iterations)


#: Where the likelihood score is scanned for sign changes: multiples of the data's spread
#: (variance of the yᵢ plus mean vᵢ), three points per decade over eight decades.  A maximum of
#: the (restricted) likelihood lies in each interval where the score turns from positive to
#: negative; every such interval is refined and the largest likelihood wins.
SCAN_GRID: Final = 10.0 ** np.linspace(-6.0, 2.0, 25)
#: Rows of the scan evaluated at once (bounds the memory of large batches).
_SCAN_CHUNK: Final = 4096


def _spread(yi: F64, vi: F64, kk: F64) -> F64:
    valid = np.isfinite(vi)
    ybar = _mask_mean(yi, valid, kk)
    with np.errstate(invalid="ignore", divide="ignore"):
        ss = np.where(valid, (yi - ybar[:, None]) ** 2, 0.0).sum(axis=1)
        spread: F64 = ss / np.maximum(kk - 1.0, 1.0) + _mask_mean(vi, valid, kk)
    return spread


def likelihood_brackets(yi: F64, vi: F64, kk: F64, ml: bool) -> tuple[NDArray[np.bool_], NDArray[np.intp], F64, F64]:
    """Where the (restricted) likelihood has local maxima, from a scan of its score on ``SCAN_GRID``.

    Returns ``(at_zero, rows, lower, upper)``: whether τ² = 0 is a local maximum of each row (score
    ≤ 0 there), and one bracket ``(lower, upper)`` per interior maximum with the row it belongs to;
    ``upper`` is ``inf`` when the score is still positive at the end of the scan.  Rows with fewer
    than two studies get no bracket.
    """
    m, k = yi.shape
    pts = np.concatenate([np.zeros((m, 1)), _spread(yi, vi, kk)[:, None] * SCAN_GRID[None, :]], axis=1)
    g = pts.shape[1]
    if m == 1:  # one dataset (the single-fit path): the grid is the batch, the brackets a short loop
        sc = reml_score(np.broadcast_to(yi, (g, k)), np.broadcast_to(vi, (g, k)), pts[0], ml).tolist()
        if kk[0] <= 1:
            return np.array([True]), np.zeros(0, dtype=np.intp), np.zeros(0), np.zeros(0)
        p = pts[0].tolist()
        lo = [p[j] for j in range(g - 1) if sc[j] > 0 >= sc[j + 1]] + ([p[-1]] if sc[-1] > 0 else [])
        hi = [p[j + 1] for j in range(g - 1) if sc[j] > 0 >= sc[j + 1]] + ([np.inf] if sc[-1] > 0 else [])
        return np.array([sc[0] <= 0]), np.zeros(len(lo), dtype=np.intp), np.array(lo, float), np.array(hi, float)
    sc = np.empty((m, g))
    step = max(1, _SCAN_CHUNK // g)
    for start in range(0, m, step):
        sl = slice(start, min(m, start + step))
        n = sl.stop - sl.start
        sc[sl] = reml_score(np.repeat(yi[sl], g, axis=0), np.repeat(vi[sl], g, axis=0), pts[sl].ravel(), ml).reshape(
            n, g
        )
    many = (kk > 1)[:, None]
    down = (sc[:, :-1] > 0) & (sc[:, 1:] <= 0) & many
    r, j = np.nonzero(down)
    beyond = np.flatnonzero((sc[:, -1] > 0) & (kk > 1))
    rows = np.concatenate([r, beyond])
    lower = np.concatenate([pts[r, j], pts[beyond, -1]])
    upper = np.concatenate([pts[r, j + 1], np.full(beyond.size, np.inf)])
    order = np.lexsort((lower, rows))
    return (sc[:, 0] <= 0) | (kk <= 1), rows[order], lower[order], upper[order]


def solve_in_bracket(fun: RowFunction, lower: F64, upper: F64, start: F64, scale: F64) -> Tau2Fit:
    """Root of a decreasing function in each bracket ``[lower, upper]`` (``upper`` may be ``inf``:
    it is then grown tenfold from ``10·lower`` until the function is negative).  ``fun(x, rows)`` as
    in :func:`solve_decreasing`, ``rows`` indexing the brackets."""
    upper = upper.copy()
    open_ = np.flatnonzero(~np.isfinite(upper))
    upper[open_] = 10.0 * np.maximum(lower[open_], np.finfo(float).tiny)
    for _ in range(60):
        if open_.size == 0:
            break
        f, _ = fun(upper[open_], open_)
        grow = f > 0
        lower[open_[grow]] = upper[open_[grow]]
        upper[open_[grow]] *= 10.0
        open_ = open_[grow]
    start = np.clip(start, lower, upper)
    inside = (start > lower) & (start < upper)
    start = np.where(inside, start, np.where(lower > 0, np.sqrt(lower * upper), 0.5 * upper))
    return _solve(fun, start, lower.copy(), upper, np.ones(lower.shape, dtype=bool), scale)


def _likelihood_fit(yi: F64, vi: F64, kk: F64, ml: bool) -> Tau2Fit:
    """ML/REML: the global maximum over τ² ≥ 0 among every local maximum of the likelihood."""
    m = yi.shape[0]
    at_zero, rows, lower, upper = likelihood_brackets(yi, vi, kk, ml)

    def fun(x: F64, idx: NDArray[np.intp]) -> tuple[F64, F64]:
        return _reml_score_slope(yi[rows[idx]], vi[rows[idx]], x, ml)

    scale = variance_scale(vi, kk)
    he = np.maximum(_he(yi, vi, kk), 0.0)
    fit = solve_in_bracket(fun, lower, upper, he[rows], scale[rows]) if rows.size else None
    # candidates: τ² = 0 where it is a local maximum, and every refined interior root
    c_rows = np.concatenate([np.flatnonzero(at_zero), rows])
    c_tau2 = np.concatenate([np.zeros(int(at_zero.sum())), fit.tau2 if fit else np.zeros(0)])
    c_conv = np.concatenate(
        [np.ones(int(at_zero.sum()), dtype=bool), fit.converged if fit else np.zeros(0, dtype=bool)]
    )
    c_it = np.concatenate(
        [np.zeros(int(at_zero.sum()), dtype=np.int64), fit.iterations if fit else np.zeros(0, dtype=np.int64)]
    )
    c_ll = loglik(yi[c_rows], vi[c_rows], c_tau2, ml) if c_rows.size else np.zeros(0)
    # per row: best candidate (ties go to the smaller τ², i.e. the boundary), and the best of the rest
    order = np.lexsort((c_tau2, -c_ll, c_rows))
    c_rows, c_tau2, c_conv, c_it, c_ll = c_rows[order], c_tau2[order], c_conv[order], c_it[order], c_ll[order]
    first = np.ones(c_rows.size, dtype=bool)
    first[1:] = c_rows[1:] != c_rows[:-1]
    second = np.zeros(c_rows.size, dtype=bool)
    second[1:] = first[:-1] & ~first[1:]
    tau2, conv, it = np.zeros(m), np.ones(m, dtype=bool), np.zeros(m, dtype=np.int64)
    ll, alt_t, alt_ll = np.full(m, np.nan), np.full(m, np.nan), np.full(m, np.nan)
    tau2[c_rows[first]], conv[c_rows[first]], it[c_rows[first]], ll[c_rows[first]] = (
        c_tau2[first],
        c_conv[first],
        c_it[first],
        c_ll[first],
    )
    alt_t[c_rows[second]], alt_ll[c_rows[second]] = c_tau2[second], c_ll[second]
    maxima = np.bincount(c_rows, minlength=m).astype(np.int64)
    return Tau2Fit(tau2, conv, it, maxima, ll, alt_t, alt_ll)


def loglik(yi: F64, vi: F64, tau2: F64, ml: bool) -> F64:
    """(Restricted) log-likelihood up to a constant (Viechtbauer 2005, eqs. 8 and 10)."""
    v = vi + tau2[:, None]
    w = 1.0 / v
    sw = w.sum(axis=1)
    r = yi - ((w * yi).sum(axis=1) / sw)[:, None]
    ll: F64 = -0.5 * (np.where(np.isfinite(vi), np.log(v), 0.0).sum(axis=1) + (w * r * r).sum(axis=1))
    return ll if ml else ll - 0.5 * np.log(sw)


def variance_scale(vi: F64, kk: F64) -> F64:
    """Typical sampling variance (mean of the real ``vi``): the solver's tolerance is relative to
    ``max(scale, τ²)``, so that convergence is equally tight whatever the units of the effects."""
    scale: F64 = np.where(np.isfinite(vi), vi, 0.0).sum(axis=1) / kk
    return scale


def initial_upper(yi: F64, vi: F64) -> F64:
    """Row-wise upper end of the first τ² search bracket: 10·(range of yi)² + 10, at least 1."""
    valid = np.isfinite(vi)
    span: F64 = np.where(valid, yi, -np.inf).max(axis=1) - np.where(valid, yi, np.inf).min(axis=1)
    return np.maximum(10.0 * (span**2 + 1.0), 1.0)


def solve_decreasing(
    fun: RowFunction,
    active: NDArray[np.bool_],
    upper: F64,
    start: F64,
    lower: F64 | None = None,
    scale: F64 | None = None,
) -> Tau2Fit:
    """Root on ``[lower, ∞)`` of a function decreasing through zero, for the rows in ``active``.

    ``fun(x, rows)`` returns ``(f, slope)`` for the rows given by index array ``rows``; the caller
    guarantees ``f(lower) > 0`` on active rows (``lower`` defaults to 0).  ``upper`` is grown tenfold
    until ``f(upper) < 0``, then :func:`_solve` runs safeguarded Newton steps inside the bracket from
    ``start``.
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
    ``uᵢ = 1/(vᵢ + τ₀²)``.  ML/REML return the global maximum of the (restricted) likelihood on
    ``τ² ≥ 0``: the likelihood need not be concave, so its score is scanned on :data:`SCAN_GRID`
    and every local maximum is refined (``maxima`` counts them).
    With one study τ² is 0 for every method.
    """
    m = yi.shape[0]
    if method == "EE":
        tau2 = np.zeros(m)
        return Tau2Fit(tau2, np.ones(m, dtype=bool), np.zeros(m, dtype=np.int64))
    if method in ITERATIVE:
        fit = _iterative(yi, vi, kk, method)
        return Tau2Fit(
            np.where(kk > 1, np.maximum(fit.tau2, 0.0), 0.0),
            fit.converged,
            fit.iterations,
            fit.maxima,
            fit.loglik,
            fit.alt_tau2,
            fit.alt_loglik,
        )
    closed = {"DL": _dl, "HE": _he, "HS": _hs, "SJ": _sj}[method]
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = closed(yi, vi, kk)
    tau2 = np.where((kk > 1) & np.isfinite(raw), np.maximum(raw, 0.0), 0.0)
    return Tau2Fit(tau2, np.ones(m, dtype=bool), np.zeros(m, dtype=np.int64))
