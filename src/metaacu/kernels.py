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
I²/H² formulas, applied to the kernel's output by :func:`metaacu.fitting.statistics`; exact
power-of-two rescaling of extreme scales (:mod:`metaacu.scaling`).

The per-dataset formulas (sums, score, likelihood, solvers, HE/SJ/PM/ML/REML) are in
:mod:`metaacu.kernels_core`, those of PMM, DLIT, SJIT, GENQ and the pooled estimate with user weights
in :mod:`metaacu.kernels_extra`; this module assembles them into a fit (:func:`fit_model`, with
metafor's ``weights=`` and ``tau2=`` options) and runs it over rows.
"""

from __future__ import annotations

import math
import threading
from typing import Final

import numba
import numpy as np
from numpy.typing import NDArray

from .kernel_codes import FIT_FIELDS, METHOD_CODES, NFIT, TEST_CODES
from .kernels_core import (
    bracket_start,
    generalised_q,
    initial_upper,
    jit,
    jit_parallel,
    loglik,
    newton_step,
    noise_floor,
    solve_q,
    tau2_he,
    tau2_likelihood,
    weighted_mean,
)
from .kernels_extra import (
    chi2_median,
    percent_weights,
    tau2_dlit,
    tau2_genq,
    tau2_sj,
    tau2_sjit,
    to_percent,
    user_weighted,
)

__all__ = ["FIT_FIELDS", "METHOD_CODES", "NFIT", "TEST_CODES", "fit_one", "fit_one_options", "fit_rows"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: :data:`METHOD_CODES` and :data:`TEST_CODES` as the compile-time constants the kernels compare with
#: (``tests/test_fast_path.py`` checks that the two agree).
_EE, _DL, _HE, _HS, _SJ, _ML, _REML, _EB, _PM, _PMM, _DLIT, _SJIT, _HSK, _GENQ = range(14)
_KNHA, _ADHOC = 2, 3


@jit
def fit_dataset(y: F64, v: F64, method: int, test: int, w: F64, out: F64, want_loglik: bool) -> None:
    """Fit one intercept-only model to the studies ``y``, ``v`` (all real, k ≥ 1) and write
    :data:`FIT_FIELDS` into ``out``; ``w`` is a buffer of at least k elements."""
    fit_model(y, v, method, test, w, out, want_loglik, np.empty(0), math.nan)


@jit
def fit_model(
    y: F64, v: F64, method: int, test: int, w: F64, out: F64, want_loglik: bool, a: F64, tau2_fix: float
) -> None:
    """:func:`fit_dataset` with metafor's options: user weights ``a`` for the pooled estimate (and for
    τ² under GENQ; empty for inverse-variance weights) and a τ² fixed by the user (NaN: estimated)."""
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
    if not math.isnan(tau2_fix) and method != _EE:
        tau2 = tau2_fix
        if (method == _ML or method == _REML) and want_loglik:  # noqa: SIM109 (numba)
            ll = loglik(y, v, tau2, method == _ML, w)
    elif k > 1 and method != _EE:
        if method == _DL:
            tau2 = (q - (k - 1)) / trace_p0 if trace_p0 != 0 else math.nan
        elif method == _HS:
            tau2 = (q - k) / sw0
        elif method == _HSK:
            tau2 = (k / (k - 1.0) * q - k) / sw0
        elif method == _PMM:  # the generalised Q equal to its median under τ² (metafor "PMM")
            target = chi2_median(k - 1.0)
            if q - target > 0:
                tau2, conv, it = solve_q(y, v, target, max(tau2_he(y, v), 0.0), w)
        elif method == _DLIT:
            tau2, conv, it = tau2_dlit(y, v, w)
        elif method == _SJIT:
            tau2, conv, it = tau2_sjit(y, v, w)
        elif method == _GENQ:
            tau2 = tau2_genq(y, v, a)
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
    if a.size > 0:  # user weights: their estimate and sandwich SE; s² above stays metafor's (1/(v + τ²))
        est, se = user_weighted(y, v, a, tau2)
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


@jit
def fit_one(y: F64, v: F64, method: int, test: int, out: F64, percent: F64) -> None:
    """:func:`fit_dataset` for one dataset (the single-fit path of :func:`metaacu.meta_analysis`),
    with each study's weight in percent, ``wᵢ·(100/Σw)``, written into ``percent``."""
    w = np.empty(y.size)
    fit_dataset(y, v, method, test, w, out, True)
    to_percent(w, percent)


@jit
def fit_one_options(y: F64, v: F64, a: F64, tau2_fix: float, method: int, test: int, out: F64, percent: F64) -> None:
    """:func:`fit_one` with user weights ``a`` (empty: none) and a fixed τ² (NaN: estimated), as
    :func:`fit_model`; the percent weights are ``100 aᵢ/Σa`` with user weights."""
    w = np.empty(y.size)
    fit_model(y, v, method, test, w, out, True, a, tau2_fix)
    percent_weights(v, a, out[3], w, percent)


# ----------------------------------------------------------------------------- many datasets
@jit
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


@jit
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


@jit
def _fit_rows_serial(yi: F64, vi: F64, lens: I64, method: int, test: int, out: F64, want_loglik: bool) -> None:
    _fit_chunk(yi, vi, lens, method, test, out, want_loglik, 0, yi.shape[0])


@jit_parallel
def _fit_rows_parallel(
    yi: F64, vi: F64, lens: I64, method: int, test: int, out: F64, want_loglik: bool, chunks: int
) -> None:
    m = yi.shape[0]
    for c in numba.prange(chunks):
        _fit_chunk(yi, vi, lens, method, test, out, want_loglik, c * m // chunks, (c + 1) * m // chunks)


@jit
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


@jit
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


@jit
def upper_rows(yi: F64, vi: F64, out: F64) -> None:
    """:func:`initial_upper` of the real studies of each row."""
    k = yi.shape[1]
    yb = np.empty(k)
    vb = np.empty(k)
    for i in range(yi.shape[0]):
        n = _gather(yi[i], vi[i], k, yb, vb)
        out[i] = initial_upper(yb[:n]) if n > 0 else 1.0


@jit
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


@jit
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
