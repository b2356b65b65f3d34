"""One Bayesian meta-analysis per row of ``(m, k)`` arrays, fitted in chunks of rows
(:func:`bayesian_meta_analysis_batch`, for simulation studies).

Every chunk is one :class:`~metaacu.bayes_model.Model` of many rows (a row with fewer studies padded
with ``y = 0, v = inf``), fitted by the same quadrature, mixtures and Newton steps as
:func:`metaacu.bayes.bayesian_meta_analysis` (the normal-normal hierarchical model of Röver 2020,
J Stat Softw 93(6), Sec. 2), vectorised over the rows and the quadrature nodes.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ._validation import MetaacuInputError, check_choice, check_level, check_number
from .bayes_model import Model, build_model, check_priors, improper_message, min_k
from .bayes_posterior import INTERVALS, Posterior
from .bayes_prior_families import MuPrior, TauPrior

__all__ = ["BATCH_COLUMNS", "bayesian_meta_analysis_batch"]

F64 = NDArray[np.float64]

#: Columns of :func:`bayesian_meta_analysis_batch`.
BATCH_COLUMNS: Final = (
    "k",
    "mu_mean",
    "mu_sd",
    "mu_median",
    "mu_low",
    "mu_high",
    "tau_mean",
    "tau_sd",
    "tau_median",
    "tau_low",
    "tau_high",
    "theta_new_median",
    "theta_new_low",
    "theta_new_high",
    "prob_mu_positive",
    "error_estimate",
)


def _batch_inputs(yi: ArrayLike, vi: ArrayLike) -> tuple[F64, F64, NDArray[np.bool_]]:
    y = np.asarray(yi, dtype=np.float64)
    v = np.asarray(vi, dtype=np.float64)
    if y.ndim != 2 or y.shape != v.shape:
        raise MetaacuInputError(
            f"arguments 'yi' and 'vi' must be 2-D arrays of the same shape (m, k); got {y.shape} and {v.shape}"
        )
    valid = ~np.isnan(y) & ~np.isnan(v)
    prefix = np.cumprod(valid, axis=1).astype(bool)
    bad_pad = (valid != prefix) | (np.isnan(y) != np.isnan(v))
    checks = [
        (bad_pad.any(axis=1), "padding must be NaN in both 'yi' and 'vi', at the end of the row"),
        (~valid.any(axis=1), "no studies"),
        ((valid & ~(np.isfinite(y) & np.isfinite(v))).any(axis=1), "an infinite value"),
        ((valid & ~(v > 0)).any(axis=1), "a variance that is not > 0"),
    ]
    for mask, what in checks:
        if mask.any():
            idx = np.flatnonzero(mask)
            shown = ", ".join(map(str, idx[:5])) + (f" and {idx.size - 5} more" if idx.size > 5 else "")
            raise MetaacuInputError(f"rows {shown} of 'yi'/'vi': {what}")
    return y, v, valid


def bayesian_meta_analysis_batch(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    tau_prior: TauPrior,
    mu_prior: MuPrior | None = None,
    level: float = 0.95,
    interval: str = "central",
    rtol: float = 1e-8,
    chunk_size: int = 256,
) -> pd.DataFrame:
    """One Bayesian meta-analysis per row of ``(m, k)`` arrays (for simulation studies).

    Every row gets the same computation as :func:`~metaacu.bayes.bayesian_meta_analysis` (quadrature, mixtures,
    Newton steps), vectorised over the rows of a chunk and over the quadrature nodes.

    Parameters
    ----------
    yi, vi : array-like, shape (m, k)
        Effects and sampling variances; a row with fewer studies is padded at the end with NaN in both.
    tau_prior, mu_prior
        As :func:`~metaacu.bayes.bayesian_meta_analysis`, shared by every row.
    level : float
    interval : {"central", "shortest"}
        Which credible interval fills the ``*_low``/``*_high`` columns (central is faster).
    rtol : float
        Quadrature accuracy (1e-8: ample for simulations).
    chunk_size : int
        Rows fitted together.

    Returns
    -------
    DataFrame
        One row per meta-analysis with :data:`BATCH_COLUMNS`; ``attrs`` record ``level``,
        ``interval`` and the priors.

    Examples
    --------
    >>> import numpy as np
    >>> from metaacu.bayes_priors import HalfNormal
    >>> rng = np.random.default_rng(2)
    >>> vi = rng.uniform(0.02, 0.1, (3, 5)); yi = rng.normal(0.3, np.sqrt(vi + 0.04))
    >>> out = bayesian_meta_analysis_batch(yi, vi, tau_prior=HalfNormal(0.5))
    >>> out.shape, bool(np.all(out["mu_low"] < out["mu_high"]))
    ((3, 16), True)
    """
    tp, mp = check_priors(tau_prior, mu_prior)
    lv = check_level(level)
    kind = check_choice(interval, "interval", INTERVALS)
    tol = check_number(rtol, "rtol", low=1e-14, high=1e-2)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise MetaacuInputError(f"argument 'chunk_size' must be a positive whole number; got {chunk_size!r}")
    y, v, valid = _batch_inputs(yi, vi)
    kk = valid.sum(axis=1)
    kmin = min_k(tp, mp)
    if (small := kk < kmin).any():
        rows = ", ".join(map(str, np.flatnonzero(small)[:5]))
        raise MetaacuInputError(f"rows {rows}: " + improper_message(int(kk[small][0]), kmin, tp, mp))
    out = np.empty((y.shape[0], len(BATCH_COLUMNS)))
    for start in range(0, y.shape[0], int(chunk_size)):
        sl = slice(start, start + int(chunk_size))
        out[sl] = _batch_chunk(build_model(y[sl], v[sl], valid[sl], tp, mp), lv, kind, tol)
    frame = pd.DataFrame(out, columns=list(BATCH_COLUMNS))
    frame["k"] = kk
    frame.attrs.update({"level": lv, "interval": kind, "tau_prior": tp.describe(), "mu_prior": mp.describe()})
    return frame


def _batch_chunk(model: Model, level: float, kind: str, rtol: float) -> F64:
    post = Posterior.fit(model, rtol)
    m = model.kk.size
    m1, m2 = post.moment_flags()
    mu1, mu2 = (np.ones(m, dtype=bool), np.ones(m, dtype=bool)) if model.mu_prior.proper else (m1, m2)
    w, tau = post.quad.w, post.tau
    t_mean = (w * tau).sum(axis=1)
    t_sd = np.sqrt((w * (tau - t_mean[:, None]) ** 2).sum(axis=1))
    t_sd = np.where(m2, t_sd, np.where(m1, np.inf, np.nan))
    t_mean = np.where(m1, t_mean, np.nan)
    t_med = np.exp(post.quantile_u(np.full(m, 0.5)))
    if kind == "central":
        t_lo = np.exp(post.quantile_u(np.full(m, (1.0 - level) / 2.0)))
        t_hi = np.exp(post.quantile_u(np.full(m, (1.0 + level) / 2.0)))
    else:
        t_lo, t_hi = post.tau_shortest(level)
    mix = post.mixtures()
    q = 2 * m
    mean, sd = mix.mean(), mix.sd()
    med = mix.quantile(np.full(q, 0.5))
    if kind == "central":
        lo, hi = mix.quantile(np.full(q, (1.0 - level) / 2.0)), mix.quantile(np.full(q, (1.0 + level) / 2.0))
    else:
        lo, hi = mix.shortest(level)
    p_pos = mix.sf(np.zeros(q))[0::2]
    mu_mean = np.where(mu1, mean[0::2], np.nan)
    mu_sd = np.where(mu2, sd[0::2], np.where(mu1, np.inf, np.nan))
    cols = [
        model.kk,
        mu_mean,
        mu_sd,
        med[0::2],
        lo[0::2],
        hi[0::2],
        t_mean,
        t_sd,
        t_med,
        t_lo,
        t_hi,
        med[1::2],
        lo[1::2],
        hi[1::2],
        p_pos,
        post.quad.error,
    ]
    return np.stack(cols, axis=1)
