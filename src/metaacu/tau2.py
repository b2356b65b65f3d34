"""Between-study variance (τ²) estimators for the intercept-only random-effects model: the constants,
the array API and the array solvers.

The estimators themselves are written once, as loops over the studies of one dataset, in
:mod:`metaacu.kernels` (compiled with numba); this module gives them the array API: ``yi`` and ``vi``
have shape ``(m, k)`` — ``m`` independent meta-analyses of up to ``k`` studies.  Unequal numbers of
studies are padded with ``vi = +inf`` (and any finite ``yi``): padding is skipped, so it never
changes a result.  ``kk`` (shape ``(m,)``) is the number of real studies per row.

All estimators are truncated at zero, as in metafor (Viechtbauer 2005; metafor ``rma.uni``).
The iterative estimators (ML, REML, PM/EB) use a safeguarded solver: Fisher scoring or Newton
steps on a bracket that always contains the root, with bisection when a step would leave it.
Unlike plain Fisher scoring (metafor's default), this cannot oscillate.  The same step
(:func:`metaacu.kernels.newton_step`) drives the array solvers :func:`solve_decreasing` and
:func:`solve_in_bracket`, which take a Python function of τ² and serve models without a kernel (the
design-matrix case of :mod:`metaacu.regression`, the Q-profile interval of :mod:`metaacu.heterogeneity`).

This module does not import numba: the kernels load on the first fit.

References
----------
Viechtbauer W. Bias and efficiency of meta-analytic variance estimators in the random-effects
model. J Educ Behav Stat 2005;30:261-293.
DerSimonian R, Laird N. Meta-analysis in clinical trials. Control Clin Trials 1986;7:177-188.
Paule RC, Mandel J. Consensus values and weighting factors. J Res NBS 1982;87:377-385.
Sidik K, Jonkman JN. A simple confidence interval for meta-analysis. Stat Med 2002;21:3153-3159.
Hunter JE, Schmidt FL. Methods of Meta-Analysis. 2nd ed. Sage; 2004.
Hedges LV, Olkin I. Statistical Methods for Meta-Analysis. Academic Press; 1985 (HE estimator).
DerSimonian R, Kacker R. Contemp Clin Trials 2007;28:105-114 (DLIT, generalised Q; GENQ).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "METHOD_ALIASES",
    "SCAN_GRID",
    "TAU2_METHODS",
    "USER_WEIGHT_METHODS",
    "Tau2Fit",
    "estimate_tau2",
    "generalised_q",
    "initial_upper",
    "solve_decreasing",
    "solve_in_bracket",
    "variance_scale",
]

F64 = NDArray[np.float64]
#: ``fun(x, rows) -> (f, slope)`` of the solvers: a decreasing function of τ² and its slope, evaluated
#: for the rows selected by the index array ``rows``.
RowFunction = Callable[[F64, NDArray[np.intp]], tuple[F64, F64]]

#: Estimators that need iteration (and so report convergence).
ITERATIVE: Final = frozenset({"REML", "ML", "PM", "EB", "PMM", "DLIT", "SJIT"})
#: Every τ² method that needs nothing but the studies (``"EE"`` fixes τ² = 0); the order gives the
#: kernels' integer codes.
TAU2_METHODS: Final = ("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM", "PMM", "DLIT", "SJIT", "HSk")
#: τ² methods that need user weights (``weights=`` of :func:`metaacu.meta_analysis`): the generalised
#: Q estimator (metafor ``method="GENQ"``).
USER_WEIGHT_METHODS: Final = ("GENQ",)
#: metafor's other names of a method: ``"FE"`` and ``"CE"`` (fixed/common effect) are ``"EE"``.
METHOD_ALIASES: Final = {"FE": "EE", "CE": "EE"}

#: Relative change in τ² below which an iterative fit has converged; much tighter than
#: metafor's default (1e-5 absolute), so results match metafor run with threshold=1e-12.
TOL: Final = 1e-13
MAXITER: Final = 200
#: Steps of the fixed-point iterations (DLIT, SJIT), which converge linearly (SJIT towards τ² = 0
#: very slowly); metafor's default is 100 (its fixtures use 10000).
FIXED_POINT_MAXITER: Final = 10000
#: Deviations smaller than this many ulps of the largest |yᵢ| are rounding noise: they are set to 0,
#: so that identical effects give exactly zero spread (metafor: Knapp-Hartung factor 0, z = ±inf).
NOISE_ULPS: Final = 8.0
#: Where the likelihood score is scanned for sign changes: multiples of the data's spread
#: (variance of the yᵢ plus mean vᵢ), three points per decade over eight decades.  A maximum of
#: the (restricted) likelihood lies in each interval where the score turns from positive to
#: negative; every such interval is refined and the largest likelihood wins.
SCAN_GRID: Final = 10.0 ** np.linspace(-6.0, 2.0, 25)


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


def _c(x: F64) -> F64:
    return np.ascontiguousarray(x, dtype=np.float64)


def generalised_q(yi: F64, vi: F64, tau2: F64) -> tuple[F64, F64]:
    """Generalised Q statistic ``Σ wᵢ(yᵢ − μ̂)²`` with ``wᵢ = 1/(vᵢ + τ²)`` and its τ²-derivative
    ``−Σ wᵢ²(yᵢ − μ̂)²``, row-wise (:func:`metaacu.kernels.generalised_q`)."""
    from . import kernels

    q, dq = np.empty(yi.shape[0]), np.empty(yi.shape[0])
    kernels.q_rows(_c(yi), _c(vi), _c(tau2), q, dq)
    return q, dq


def variance_scale(vi: F64, kk: F64) -> F64:
    """Typical sampling variance (mean of the real ``vi``): the solver's tolerance is relative to
    ``max(scale, τ²)``, so that convergence is equally tight whatever the units of the effects."""
    from . import kernels

    out = np.empty(vi.shape[0])
    kernels.scale_rows(_c(vi), out)
    return out


def initial_upper(yi: F64, vi: F64) -> F64:
    """Row-wise upper end of the first τ² search bracket: 10·(range of yi)² + 10, at least 1."""
    from . import kernels

    out = np.empty(yi.shape[0])
    kernels.upper_rows(_c(yi), _c(vi), out)
    return out


def _solve(
    fun: RowFunction,
    start: F64,
    lower: F64,
    upper: F64,
    active: NDArray[np.bool_],
    scale: F64,
) -> Tau2Fit:
    """Safeguarded Newton for a root of a decreasing function on ``[lower, upper]``, row-wise: the
    step of :func:`metaacu.kernels.newton_step` (converged when a step or the bracket is below
    ``TOL·max(scale, |x|)``).

    ``fun(x, rows)`` returns ``(f, slope)`` for the rows selected by the index array ``rows``,
    with ``f`` decreasing in ``x``.  Rows converge independently and stop costing work.
    """
    from . import kernels

    x = np.array(start, dtype=np.float64)
    lo, hi = np.array(lower, dtype=np.float64), np.array(upper, dtype=np.float64)
    it = np.zeros(x.shape, dtype=np.int64)
    done = np.array(~active, dtype=np.bool_)
    sc = _c(np.broadcast_to(scale, x.shape))
    for _ in range(MAXITER):
        rows = np.flatnonzero(~done)
        if rows.size == 0:
            break
        f, slope = fun(x[rows], rows)
        kernels.newton_rows(x, lo, hi, _c(f), _c(slope), sc, rows.astype(np.int64), it, done)
    return Tau2Fit(x, done, it)


def solve_in_bracket(fun: RowFunction, lower: F64, upper: F64, start: F64, scale: F64) -> Tau2Fit:
    """Root of a decreasing function in each bracket ``[lower, upper]`` (``upper`` may be ``inf``:
    it is then grown tenfold from ``10·lower`` until the function is negative).  ``fun(x, rows)`` as
    in :func:`solve_decreasing`, ``rows`` indexing the brackets; Newton starts from ``start`` clipped
    into the bracket (:func:`metaacu.kernels.bracket_start`)."""
    from . import kernels

    lower = np.array(lower, dtype=np.float64)
    upper = np.array(upper, dtype=np.float64)
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
    start = np.array(np.broadcast_to(start, lower.shape), dtype=np.float64)
    kernels.bracket_start_rows(start, lower, upper)
    return _solve(fun, start, lower.copy(), upper, np.ones(lower.shape, dtype=bool), scale)


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
    ``start`` (as :func:`metaacu.kernels.solve_q` does for one dataset).
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
    ``uᵢ = 1/(vᵢ + τ₀²)``; HSk ``(k/(k−1)·Q − k)/Σw``; PMM the root of ``Q(τ²) = χ²₀.₅(k − 1)``;
    DLIT and SJIT the fixed-point iterations of :mod:`metaacu.kernels_extra` (both converge to the
    PM root).  ML/REML return the global maximum of the (restricted) likelihood on
    ``τ² ≥ 0``: the likelihood need not be concave, so its score is scanned on :data:`SCAN_GRID`
    and every local maximum is refined (``maxima`` counts them).
    With one study τ² is 0 for every method.  Every estimator is computed by
    :func:`metaacu.kernels.fit_dataset`, the code of every intercept-only fit.
    """
    from . import kernels

    yc, vc = _c(yi), _c(vi)
    raw = kernels.fit_rows(yc, vc, np.full(yc.shape[0], yc.shape[1], dtype=np.int64), method, "z")
    col = {name: raw[:, j] for j, name in enumerate(kernels.FIT_FIELDS)}
    fit = Tau2Fit(
        np.where(kk > 1, col["tau2"], 0.0),
        col["converged"] == 1.0,
        col["iterations"].astype(np.int64),
    )
    if method not in ("ML", "REML"):
        return fit
    return Tau2Fit(
        fit.tau2,
        fit.converged,
        fit.iterations,
        col["maxima"].astype(np.int64),
        col["loglik"].copy(),
        col["alt_tau2"].copy(),
        col["alt_loglik"].copy(),
    )
