"""The row checks of :func:`metaacu.meta_analysis_batch`: the studies per row (NaN padding or
``lengths``), each row's error code (:data:`metaacu.batch_result.ERROR_CODES`) and the refusal that
names the invalid rows under ``errors="raise"``."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import MetaacuInputError, real_floats
from .batch_result import ERR_EMPTY, ERR_K1, ERR_MISSING, ERR_NONE, ERR_RANGE, ERR_VARIANCE, ERROR_CODES
from .scaling import exponents, ordinary, out_of_range, scale_rows

__all__ = ["as_2d", "check_lengths", "raise_rows", "row_codes", "row_lengths", "validate_rows"]

F64 = NDArray[np.float64]


def row_lengths(y: F64, v: F64) -> NDArray[np.int64]:
    """Studies per row from NaN padding: 1 + the last column where yi or vi is not NaN."""
    present = ~(np.isnan(y) & np.isnan(v))
    k = y.shape[1]
    if k == 0:  # no study columns at all: every row is empty (error code 1)
        return np.zeros(y.shape[0], dtype=np.int64)
    last = k - np.argmax(present[:, ::-1], axis=1)
    return np.where(present.any(axis=1), last, 0).astype(np.int64)


def raise_rows(code: NDArray[np.int8], offset: int) -> None:
    """Refuse the rows whose ``code`` is not ``ERR_NONE``, naming up to five of each kind (row numbers
    shifted by ``offset``, the block's first row)."""
    parts = []
    for c, text in ERROR_CODES.items():
        rows = np.flatnonzero(code == c)
        if c == ERR_NONE or rows.size == 0:
            continue
        shown = ", ".join(str(r + offset) for r in rows[:5])
        more = f" and {rows.size - 5} more" if rows.size > 5 else ""
        parts.append(f"{text} (code {c}) in row {shown}{more}")
    raise MetaacuInputError(
        "invalid meta-analyses: " + "; ".join(parts) + ". Fix them or pass errors='flag' to get NaN and an "
        "error code for these rows."
    )


def check_lengths(lengths: ArrayLike, m: int, k: int) -> NDArray[np.int64]:
    """``lengths`` (one whole number from 0 to ``k`` per row) as int64, or a refusal naming the first bad row."""
    arr = np.asarray(lengths)
    if arr.shape != (m,):
        raise MetaacuInputError(f"argument 'lengths' must have shape ({m},), one entry per row; got {arr.shape}")
    try:
        flt = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise MetaacuInputError("argument 'lengths' must hold whole numbers") from None
    bad = ~np.isfinite(flt) | (flt != np.round(flt)) | (flt < 0) | (flt > k)
    if bad.any():
        raise MetaacuInputError(
            f"argument 'lengths' must hold whole numbers between 0 and {k}; check row {int(np.flatnonzero(bad)[0])}"
        )
    return flt.astype(np.int64)


def validate_rows(y: F64, v: F64, lengths: NDArray[np.int64] | None, test: str) -> NDArray[np.int8]:
    """Every row's error code (:func:`row_codes`), from ``lengths`` or the NaN padding."""
    kk = row_lengths(y, v) if lengths is None else lengths
    kmax = int(kk.max(initial=0))
    return row_codes(y[:, :kmax], v[:, :kmax], kk, test)


def row_codes(yb: F64, vb: F64, kk: NDArray[np.int64], test: str) -> NDArray[np.int8]:
    """Each row's error code: empty, missing value, bad variance, k = 1 under a t-based test, or out of
    double-precision range (:data:`metaacu.batch_result.ERROR_CODES`; where several apply, the first
    in this list)."""
    if yb.size and (kk == yb.shape[1]).all() and ordinary(yb, vb):
        # full rows of ordinary data (finite effects, variances near 1: scaling.ordinary): no row is
        # missing, has a bad variance or is out of range; only k = 1 with a t-based test is refused
        code = np.zeros(kk.shape[0], dtype=np.int8)
        code[(kk == 1) & (test != "z")] = ERR_K1
        return code
    real = np.arange(yb.shape[1])[None, :] < kk[:, None]
    with np.errstate(invalid="ignore"):
        missing = (real & (~np.isfinite(yb) | np.isnan(vb))).any(axis=1)
        badvar = (real & ~np.isnan(vb) & ~((vb > 0) & (vb < np.inf))).any(axis=1)
    vr = np.where(real, vb, np.inf)
    yr = np.where(real, yb, 0.0)
    too_wide = out_of_range(*scale_rows(yr, vr, exponents(vr)))
    code = np.zeros(kk.shape[0], dtype=np.int8)
    code[too_wide] = ERR_RANGE
    code[(kk == 1) & (test != "z")] = ERR_K1
    code[badvar] = ERR_VARIANCE
    code[missing] = ERR_MISSING
    code[kk == 0] = ERR_EMPTY
    return code


def as_2d(x: ArrayLike, name: str) -> F64:
    """``x`` as a 2-D float array (meta-analyses × studies), or a refusal naming ``name``."""
    arr = real_floats(x, name)
    if arr.ndim != 2:
        raise MetaacuInputError(
            f"argument {name!r} must be two-dimensional (meta-analyses × studies); got shape {arr.shape}"
        )
    return arr
