"""The kernels' fit of intercept-only models, as Python values: one dataset (:func:`fit_one`, the
single fit of :func:`metaacu.meta_analysis`) and the rows of ``(m, k)`` arrays (:func:`fit_arrays`, for
batches, refits and permutations), with :func:`statistics` turning the kernels' output into tests,
intervals and heterogeneity statistics, for one dataset and for many alike.

The single fit calls the ahead-of-time build of the kernels when it is current
(:mod:`metaacu.kernels_aot`; no numba in the process), the rows always the numba kernels.

References
----------
Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3).
Hartung J, Knapp G. Stat Med 2001;20:1771-1782.  Sidik K, Jonkman JN. Stat Med 2002;21:3153.
Higgins JPT, Thompson SG. Quantifying heterogeneity in a meta-analysis. Stat Med 2002;21:1539-1558.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._validation import MetaacuInputError
from .inference import critical_value, q_heterogeneity, tau2_heterogeneity, two_sided_p, typical_variance
from .kernel_codes import METHOD_CODES, NFIT, TEST_CODES
from .kernels_aot import single_fit_kernels
from .scaling import exponents, ordinary, scale_rows, unscale
from .tau2 import USER_WEIGHT_METHODS

__all__ = ["fit_arrays", "fit_one", "per_unique", "statistics"]

F64 = NDArray[np.float64]


def fit_arrays(yi: F64, vi: F64, kk: F64, method: str, test: str, level: float) -> dict[str, Any]:
    """Fit ``m`` intercept-only models at once.

    ``yi``/``vi`` have shape ``(m, k)``, padded with ``vi = inf`` (and any finite ``yi``); ``kk`` holds
    the number of real studies per row.  Returns a dict of ``(m,)`` arrays (estimate, se, ci_low,
    ci_high, statistic, pvalue, df, tau2, q, q_df, q_pvalue, i2, h2, i2_q, s2, converged, iterations,
    at_boundary, maxima, loglik, alt_tau2, alt_loglik).  Each row is fitted by
    :func:`metaacu.kernels.fit_dataset`, as :func:`fit_one` fits one dataset; rows on an extreme
    scale are fitted rescaled (:mod:`metaacu.scaling`).
    """
    from . import kernels  # numba loads with the first fit, not with metaacu

    if method in (*USER_WEIGHT_METHODS, "GENQM"):
        raise MetaacuInputError(
            f"method={method!r} needs each study's user weight: rows of arrays (batches, refits) cannot use it"
        )
    e = np.zeros(vi.shape[0], dtype=np.int64) if ordinary(yi, vi) else exponents(vi)
    if e.any():
        yi, vi = scale_rows(yi, vi, e)
    yc = np.ascontiguousarray(yi, dtype=np.float64)
    vc = np.ascontiguousarray(vi, dtype=np.float64)
    raw = kernels.fit_rows(yc, vc, np.full(yc.shape[0], yc.shape[1], dtype=np.int64), method, test)
    return unscale(statistics(raw, kk, method, test, level), e, kk, method == "REML")


def fit_one(
    y: F64,
    v: F64,
    method: str,
    test: str,
    level: float,
    percent: F64 | None = None,
    *,
    user_weights: F64 | None = None,
    tau2: float | None = None,
) -> dict[str, Any]:
    """Fit one intercept-only model to the studies ``y``, ``v`` (1-D float arrays, on a scale that
    needs no rescaling: see :func:`metaacu.scaling.rescale_one`): :func:`fit_arrays` for one dataset,
    with the same kernel, as Python floats.  Each study's weight in percent is written into
    ``percent`` when it is given.  ``user_weights`` (the pooled estimate's weights, and τ²'s under
    GENQ) and a fixed ``tau2`` (on the same scale as ``v``) are metafor's ``weights=`` and ``tau2=``
    (:func:`metaacu.kernels.fit_one_options`)."""
    kernels = single_fit_kernels()  # precompiled (no numba start-up) when built, else numba's
    fy, fv = y.flags, v.flags
    if not (fy.c_contiguous and fy.writeable and fv.c_contiguous and fv.writeable):
        y, v = np.array(y, dtype=np.float64), np.array(v, dtype=np.float64)  # one compiled signature
    out = np.empty(NFIT)
    pct = np.empty(y.size) if percent is None else percent
    codes = METHOD_CODES[method], TEST_CODES[test]
    if user_weights is None and tau2 is None:
        kernels.fit_one(y, v, *codes, out, pct)
    else:
        a = np.empty(0) if user_weights is None else np.array(user_weights, dtype=np.float64)
        kernels.fit_one_options(y, v, a, math.nan if tau2 is None else float(tau2), *codes, out, pct)
    return statistics(out, float(y.size), method, test, level)


def statistics(raw: F64, kk: float | F64, method: str, test: str, level: float) -> dict[str, Any]:
    """The fit's output from the kernel's :data:`metaacu.kernels.FIT_FIELDS` (one dataset: a 1-D
    array, then floats; many: an ``(m, len(FIT_FIELDS))`` array, then ``(m,)`` arrays) with the
    tests, intervals and heterogeneity statistics of :mod:`metaacu.inference`."""
    z = test == "z"
    q_df = kk - 1.0
    if raw.ndim == 1:
        est, se, stat, tau2, q, trace_p0, s2, conv, it, maxima, ll, alt_t, alt_ll = raw.tolist()
        q_p, i2_q, h2_q = q_heterogeneity(q, q_df)
        i2, h2 = (i2_q, h2_q) if method == "EE" else tau2_heterogeneity(tau2, typical_variance(q_df, trace_p0), q_df)
        df: Any = math.inf if z else q_df
        crit: Any = critical_value(level, df)
        pval = float(two_sided_p(stat, df))
        conv, it, maxima = conv == 1.0, int(it), int(maxima)
    else:
        est, se, stat, tau2, q, trace_p0, s2, conv, it, maxima, ll, alt_t, alt_ll = (
            raw[:, j] for j in range(raw.shape[1])
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            q_p, i2_q, h2_q = q_heterogeneity(q, q_df)
            if method == "EE":
                i2, h2 = i2_q, h2_q
            else:
                i2, h2 = tau2_heterogeneity(tau2, typical_variance(q_df, trace_p0), q_df)
            crit = (
                critical_value(level, math.inf)
                if z
                else per_unique(np.asarray(q_df), lambda d: critical_value(level, d))
            )
            pval = two_sided_p(stat, math.inf if z else q_df)
        df = np.full(est.shape, math.inf) if z else q_df
        conv, it, maxima = conv == 1.0, it.astype(np.int64), maxima.astype(np.int64)
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
        "converged": conv,
        "iterations": it,
        "at_boundary": (tau2 == 0) & (method != "EE") & (kk > 1),
        "maxima": maxima,
        "loglik": ll,
        "alt_tau2": alt_t,
        "alt_loglik": alt_ll,
    }


def per_unique(x: F64, fun: Any) -> F64:
    """``fun(x)`` evaluated once per distinct value of ``x`` (t quantiles cost ~0.4 µs each, and a
    batch has few distinct degrees of freedom; often one, which needs no sort)."""
    if x.size and (x == x.flat[0]).all():
        values, inverse = x.reshape(-1)[:1], np.zeros(x.shape, dtype=np.intp)
    else:
        values, inverse = np.unique(x, return_inverse=True)
    out: F64 = np.asarray(fun(values), dtype=np.float64)[inverse]
    return out
