"""Many meta-analyses at once: the batch counterpart of :func:`metaacu.meta_analysis`.

:func:`meta_analysis_batch` fits ``m`` intercept-only models given as the rows of ``(m, k)`` arrays
(simulation studies, living reviews, bootstraps).  It calls the same numerical core as the single
fit, :func:`metaacu.fitting.fit_arrays`, chunk by chunk, so every number equals the one
:func:`metaacu.meta_analysis` gives for that row (to rounding, 1e-12).  Dask arrays are processed
blockwise (``dask.array.map_blocks``); dask is an optional dependency.

Row status codes (:data:`ERROR_CODES`)
--------------------------------------
===  ==========================  ==============================================================
 0   ``ok``                      fitted
 1   ``no studies``              k = 0 (the row is all padding)
 2   ``missing value``           NaN or ±inf ``yi``, or NaN ``vi``, among the row's k studies
 3   ``invalid variance``        ``vi <= 0`` or ``vi = +inf`` among the row's k studies
 4   ``k = 1 with a t test``     one study and ``test`` other than ``"z"`` (t needs k − 1 ≥ 1 df)
 5   ``out of double range``     variances or effects too far apart to pool in double precision,
                                 even after exact rescaling (:mod:`metaacu.scaling`)
===  ==========================  ==============================================================

With ``errors="raise"`` (the default) any invalid row raises :class:`MetaacuInputError` naming the
rows; with ``errors="flag"`` invalid rows get their code in ``BatchResult.error`` and NaN in every
numeric field (``converged`` False, ``iterations`` 0) — never a number that looks valid.

Running on a dask cluster
-------------------------
Give :func:`meta_analysis_batch` dask arrays and it fits them blockwise, one task per row chunk of
``yi`` (the study axis is merged into one chunk), on whatever scheduler dask uses: its local
threads by default, or a ``distributed`` cluster once a ``Client`` is active.  The ``(m, 23)``
result is gathered into an in-memory :class:`BatchResult`; :func:`batch_blocks` gives the lazy
array instead, to keep on the cluster or write out.  The result is *identical* to the in-memory call
on the same numbers — same dtypes, same bits — because every row is fitted on its own: neither the
chunking nor the worker that ran a block can change it.  With ``errors="raise"``, an invalid row
raises :class:`MetaacuInputError` in the caller, numbered as a row of the whole array; if several
blocks hold invalid rows, the first block to fail is the one reported (``errors="flag"`` shows all).

Row chunks of a few thousand rows suit most cases (4,000 rows × 50 studies is 1.6 MB per array).
:func:`dask.array.from_array` ships the data inside the task graph; for data larger than memory,
read it on the workers instead (``da.from_zarr``, ``da.from_npy_stack`` ...).  A cluster of worker
*processes* (``processes=True``, the default, or a remote ``Client("tcp://host:8786")``) needs
metaacu installed on the workers, and a script that starts one locally needs the
``if __name__ == "__main__":`` guard (the worker processes are spawned).

>>> import pytest; _ = pytest.importorskip("distributed")  # (the test suite skips this without distributed)
>>> import numpy as np, dask.array as da
>>> from distributed import Client, LocalCluster
>>> from metaacu.batch import FIELDS, meta_analysis_batch
>>> rng = np.random.default_rng(1)
>>> vi = rng.uniform(0.01, 0.1, (20_000, 10)); yi = rng.normal(0.2, np.sqrt(vi + 0.02))
>>> yi[::3, 6:] = vi[::3, 6:] = np.nan  # every third meta-analysis has 6 studies (NaN padding)
>>> with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
...                   dashboard_address="127.0.0.1:0") as cluster, Client(cluster):
...     res = meta_analysis_batch(da.from_array(yi, chunks=(4_000, 10)),
...                               da.from_array(vi, chunks=(4_000, 10)), test="knha")
>>> mem = meta_analysis_batch(yi, vi, test="knha")
>>> res
<BatchResult REML/knha m=20000 level=0.95 errors=0 not_converged=0>
>>> all(np.array_equal(getattr(res, f), getattr(mem, f), equal_nan=True) for f in FIELDS)
True
"""

from __future__ import annotations

import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import MetaacuInputError, check_choice, check_level
from .batch_checks import as_2d, check_lengths, raise_rows, row_codes, row_lengths, validate_rows
from .batch_result import (
    COLUMN,
    ERR_NONE,
    ERROR_CODES,
    FIELDS,
    NUMERIC,
    BatchResult,
)
from .fitting import fit_arrays, per_unique
from .heterogeneity import q_profile
from .inference import critical_value
from .pooling import model_options

__all__ = ["ERROR_CODES", "FIELDS", "BatchResult", "batch_blocks", "meta_analysis_batch"]

F64 = NDArray[np.float64]

#: Elements (rows × studies) per chunk: about 1 MB per temporary array, which keeps the solver's
#: working set small (measured fastest on a 2-core machine for k = 10 and k = 50) and memory bounded.
CHUNK_ELEMENTS: Final = 1 << 17


# ------------------------------------------------------------------------------------------ core
class _FitOptions(TypedDict):
    """The checked options every block of a batch is fitted with (keywords of :func:`_fit_block`)."""

    method: str
    test: str
    level: float
    prediction: str
    tau2_ci: bool
    errors: str


def _fit_block(
    y: F64,
    v: F64,
    lengths: NDArray[np.int64] | None,
    *,
    method: str,
    test: str,
    level: float,
    prediction: str,
    tau2_ci: bool,
    errors: str,
    offset: int = 0,
    valid: bool = False,
) -> F64:
    """Fit the rows of one block; returns the ``(n, len(FIELDS))`` stacked array.  ``valid``: every row
    is known to be valid (checked by :func:`_validate_only`), so the row codes are not computed again."""
    n = y.shape[0]
    out = np.full((len(FIELDS), n), np.nan).T  # column by column in memory: the fields are written whole
    kk = row_lengths(y, v) if lengths is None else np.asarray(lengths, dtype=np.int64).reshape(n)
    if n == 0:
        return out
    kmax = int(kk.max(initial=0))
    yb = np.array(y[:, :kmax], dtype=np.float64)
    vb = np.array(v[:, :kmax], dtype=np.float64)
    code = np.zeros(n, dtype=np.int8) if valid else row_codes(yb, vb, kk, test)
    bad = code != ERR_NONE
    if bad.any() and errors == "raise":
        raise_rows(code, offset)
    # Every row is fitted by the kernel of the single fit on its own studies (the first kk of the
    # row), so it gets exactly the numbers meta_analysis() gives; entries beyond a row's length and
    # invalid rows become padding (vi = inf), which the kernel skips.
    full = (kk == kmax).all()
    if bad.any() or not full:
        pad = (np.arange(kmax)[None, :] >= kk[:, None]) | bad[:, None]
        yb[pad] = 0.0
        vb[pad] = np.inf
    kf = kk.astype(np.float64)
    res = fit_arrays(yb, vb, kf, method, test, level)
    for name in NUMERIC[:14]:
        out[:, COLUMN[name]] = res[name]
    est, se, tau2 = res["estimate"], res["se"], res["tau2"]
    with np.errstate(invalid="ignore"):
        if prediction == "higgins":
            crit = np.where(kf >= 3, per_unique(np.maximum(kf - 2.0, 1.0), lambda d: critical_value(level, d)), np.nan)
        else:
            crit = (
                critical_value(level, math.inf)
                if test == "z"
                else per_unique(res["df"], lambda d: critical_value(level, d))
            )
        half = crit * np.sqrt(se**2 + tau2)
    out[:, COLUMN["pi_low"]] = est - half
    out[:, COLUMN["pi_high"]] = est + half
    if tau2_ci and method != "EE":
        lo, hi = q_profile(yb, vb, np.where(bad, 1.0, kf), level)
        out[:, COLUMN["tau2_ci_low"]] = lo
        out[:, COLUMN["tau2_ci_high"]] = hi
    out[:, COLUMN["converged"]] = res["converged"]
    out[:, COLUMN["tau2_at_boundary"]] = res["at_boundary"]
    out[:, COLUMN["iterations"]] = res["iterations"]
    out[:, COLUMN["tau2_maxima"]] = res["maxima"]
    out[bad, : len(NUMERIC)] = np.nan
    out[bad, COLUMN["converged"]] = 0.0
    out[bad, COLUMN["tau2_at_boundary"]] = 0.0
    out[bad, COLUMN["iterations"]] = 0.0
    out[bad, COLUMN["tau2_maxima"]] = 0.0
    out[:, COLUMN["k"]] = kk
    out[:, COLUMN["error"]] = code
    return out


def _check_options(
    profile: str, method: str | None, test: str | None, level: float, prediction: str | None, errors: str
) -> tuple[str, str, float, str, str]:
    opts = model_options(profile, method, test, prediction)
    return (
        opts.method,
        opts.test,
        check_level(level),
        opts.prediction,
        check_choice(errors, "errors", ("raise", "flag")),
    )


def _is_dask(x: Any) -> bool:
    return type(x).__module__.startswith("dask.")


def meta_analysis_batch(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    method: str | None = None,
    test: str | None = None,
    level: float = 0.95,
    lengths: ArrayLike | None = None,
    prediction: str | None = None,
    tau2_ci: bool = False,
    errors: str = "raise",
    chunk_size: int | None = None,
    profile: str = "metafor",
) -> BatchResult:
    """Fit one random-effects (or common-effect) meta-analysis per row of ``yi``/``vi``.

    Parameters
    ----------
    yi, vi : array-like or dask array, shape (m, k)
        Effect sizes and sampling variances, one meta-analysis per row.  Rows with fewer than ``k``
        studies are padded at the end with NaN (in both arrays), or their length is given in
        ``lengths`` (then entries beyond it are ignored, whatever they hold).
    method : str, optional
        τ² estimator, as in :func:`metaacu.meta_analysis` (``"REML"``, ``"DL"``, ``"PM"``, ``"EE"`` ...).
        Default from ``profile`` (REML for "metafor").
    test : {"z", "t", "knha", "adhoc"}, optional
        Default from ``profile`` (z for "metafor").
    level : float
        Confidence level (a fraction) of the CI, the prediction interval and the τ² interval.
    lengths : array-like of int, shape (m,), optional
        Number of studies in each row.
    prediction : {"test", "higgins"}, optional
        Prediction-interval distribution, as in :func:`metaacu.meta_analysis`; ``"higgins"`` (t,
        k − 2 df) gives NaN for rows with k < 3.  Default from ``profile``.
    tau2_ci : bool
        Also compute the Q-profile confidence interval for τ² (slower: two more root searches).
    errors : {"raise", "flag"}
        What to do with invalid rows (see the module docstring and :data:`ERROR_CODES`).
    chunk_size : int, optional
        Rows fitted at a time (bounds memory; default ``2**17 // k``).  Ignored for dask input,
        where the dask row chunks are the blocks.
    profile : {"metafor", "revman5", "cochrane"}
        Convention profile giving the defaults of ``method``, ``test`` and ``prediction``, as
        :func:`metaacu.meta_analysis` (``"cochrane"``: REML with HKSJ).

    Returns
    -------
    BatchResult

    Raises
    ------
    MetaacuInputError
        For bad arguments, and for invalid rows when ``errors="raise"``.

    Notes
    -----
    Each row is fitted by the same code as :func:`metaacu.meta_analysis` (``fitting.fit_arrays``,
    with padding ``yi = 0, vi = inf``, which has zero weight in every sum), so results agree with
    the row-by-row fit to rounding.  The prediction interval is ``μ̂ ± crit·√(SE² + τ̂²)``.
    Rows whose τ² solver did not converge keep their numbers with ``converged`` False and trigger
    one ``RuntimeWarning``.  With a dask array, the rows are processed block by block with
    ``dask.array.map_blocks`` (columns are merged into one chunk) using the active scheduler (a
    ``distributed`` cluster when a ``Client`` is active), and the (small) result is brought into
    memory, identical to the in-memory call's; :func:`batch_blocks` gives the lazy array instead.
    See "Running on a dask cluster" in :mod:`metaacu.batch`.

    Examples
    --------
    >>> import numpy as np
    >>> from metaacu.batch import meta_analysis_batch
    >>> yi = np.array([[0.1, 0.3, 0.35, 0.6], [0.2, -0.1, np.nan, np.nan]])
    >>> vi = np.array([[0.02, 0.03, 0.01, 0.05], [0.04, 0.05, np.nan, np.nan]])
    >>> res = meta_analysis_batch(yi, vi, method="DL")
    >>> res.k.tolist(), np.round(res.estimate, 4).tolist()
    ([4, 2], [0.3059, 0.0667])
    """
    method, test, level, prediction, errors = _check_options(profile, method, test, level, prediction, errors)
    if _is_dask(yi) or _is_dask(vi):
        stacked = batch_blocks(
            yi,
            vi,
            method=method,
            test=test,
            level=level,
            lengths=lengths,
            prediction=prediction,
            tau2_ci=tau2_ci,
            errors=errors,
        ).compute()
        return _finish(stacked, method, test, level, prediction, tau2_ci)
    y = as_2d(yi, "yi")
    v = as_2d(vi, "vi")
    if y.shape != v.shape:
        raise MetaacuInputError(f"arguments 'yi' and 'vi' must have the same shape; got {y.shape} and {v.shape}")
    m, k = y.shape
    lens = None if lengths is None else check_lengths(lengths, m, k)
    if chunk_size is None:
        chunk_size = max(1, CHUNK_ELEMENTS // max(k, 1))
    elif not (isinstance(chunk_size, (int, np.integer)) and chunk_size >= 1):
        raise MetaacuInputError(f"argument 'chunk_size' must be a positive integer; got {chunk_size!r}")
    opts = _FitOptions(method=method, test=test, level=level, prediction=prediction, tau2_ci=tau2_ci, errors=errors)
    if errors == "raise":  # validate every row before fitting any, so the message lists them all
        if lens is None:  # the studies per row from the NaN padding, once for validation and fit
            lens = np.concatenate(
                [row_lengths(y[s : s + chunk_size], v[s : s + chunk_size]) for s in range(0, m, chunk_size)]
                or [np.zeros(0, dtype=np.int64)]
            )
        code = np.concatenate(
            [
                validate_rows(
                    y[s : s + chunk_size],
                    v[s : s + chunk_size],
                    None if lens is None else lens[s : s + chunk_size],
                    test,
                )
                for s in range(0, m, chunk_size)
            ]
            or [np.zeros(0, dtype=np.int8)]
        )
        if code.any():
            raise_rows(code, 0)
    # column by column in memory, so that the result's columns are views of it, not copies
    stacked = np.empty((len(FIELDS), m)).T

    def fit(start: int) -> None:
        stop = min(start + chunk_size, m)
        stacked[start:stop] = _fit_block(
            y[start:stop],
            v[start:stop],
            None if lens is None else lens[start:stop],
            offset=start,
            valid=errors == "raise",
            **opts,
        )

    starts = range(0, m, chunk_size)
    if len(starts) > 1 and (os.cpu_count() or 1) > 1:
        # Two blocks at a time: one in the compiled kernel (numba's threads; it releases the GIL) while
        # the other's NumPy/SciPy statistics run, which release it too.  Each block is fitted on its
        # own, so the numbers do not depend on the threads.
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(fit, starts))
    else:
        for start in starts:
            fit(start)
    return _finish(stacked, method, test, level, prediction, tau2_ci)


def _finish(stacked: F64, method: str, test: str, level: float, prediction: str, tau2_ci: bool) -> BatchResult:
    res = BatchResult.from_array(
        stacked, method=method, test=test, level=level, prediction=prediction, tau2_ci=tau2_ci and method != "EE"
    )
    nc = int((res.ok & ~res.converged).sum())
    if nc:
        warnings.warn(
            f"metaacu: tau2 estimation ({method}) did not converge in {nc} of {len(res)} rows "
            "(see BatchResult.converged)",
            RuntimeWarning,
            stacklevel=3,
        )
    return res


def batch_blocks(
    yi: Any,
    vi: Any,
    *,
    method: str | None = None,
    test: str | None = None,
    level: float = 0.95,
    lengths: Any = None,
    prediction: str | None = None,
    tau2_ci: bool = False,
    errors: str = "raise",
    profile: str = "metafor",
) -> Any:
    """Lazy blockwise fit of dask arrays: a dask array of shape ``(m, len(FIELDS))``.

    Columns follow :data:`FIELDS`; turn the computed array into a :class:`BatchResult` with
    :meth:`BatchResult.from_array`.  Row chunks of ``yi`` are kept (``vi`` and ``lengths`` are
    rechunked to match) and the study axis is merged into one chunk.  With ``errors="raise"``,
    computing raises :class:`MetaacuInputError` naming the global row numbers.  The arguments are
    those of :func:`meta_analysis_batch`.

    Examples
    --------
    >>> import numpy as np, dask, dask.array as da
    >>> from metaacu.batch import FIELDS, BatchResult, batch_blocks
    >>> rng = np.random.default_rng(0)
    >>> vi = rng.uniform(0.01, 0.1, (1000, 8)); yi = rng.normal(0.2, np.sqrt(vi + 0.02))
    >>> lazy = batch_blocks(da.from_array(yi, chunks=(250, 8)), da.from_array(vi, chunks=(250, 8)))
    >>> with dask.config.set(scheduler="threads"):
    ...     res = BatchResult.from_array(lazy.compute(), method="REML", test="z", level=0.95,
    ...                                  prediction="test", tau2_ci=False)
    >>> len(res), int(res.error.sum())
    (1000, 0)
    """
    import dask.array as da

    method, test, level, prediction, errors = _check_options(profile, method, test, level, prediction, errors)
    y = da.asarray(yi).astype(np.float64)
    v = da.asarray(vi).astype(np.float64)
    if y.ndim != 2 or y.shape != v.shape:
        raise MetaacuInputError(f"arguments 'yi' and 'vi' must be 2-D with the same shape; got {y.shape} and {v.shape}")
    m, k = y.shape
    y = y.rechunk({1: -1})
    v = v.rechunk(y.chunks)
    args = [y, v]
    if lengths is not None:
        lens = lengths if _is_dask(lengths) else da.from_array(check_lengths(lengths, m, k), chunks=(y.chunks[0],))
        if lens.shape != (m,):
            raise MetaacuInputError(f"argument 'lengths' must have shape ({m},); got {lens.shape}")
        args.append(lens.astype(np.int64).rechunk((y.chunks[0],))[:, None])
    opts = _FitOptions(method=method, test=test, level=level, prediction=prediction, tau2_ci=tau2_ci, errors=errors)

    def block(yb: F64, vb: F64, lb: Any = None, block_info: Any = None) -> F64:
        offset = 0 if block_info is None else int(block_info[0]["array-location"][0][0])
        lens_b = None if lb is None else np.asarray(lb)[:, 0]
        if lens_b is not None and ((lens_b < 0) | (lens_b > k)).any():
            raise MetaacuInputError(f"argument 'lengths' must hold whole numbers between 0 and {k}")
        return _fit_block(yb, vb, lens_b, offset=offset, **opts)

    return da.map_blocks(
        block,
        *args,
        dtype=np.float64,
        chunks=(y.chunks[0], (len(FIELDS),)),
        meta=np.empty((0, 0)),
    )
