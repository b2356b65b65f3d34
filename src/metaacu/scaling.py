"""Exact rescaling of effect sizes and variances before a fit, so that any scale fits.

The normal-normal model is scale-equivariant: fitting ``yᵢ/c`` with variances ``vᵢ/c²`` gives the
estimate, standard error and interval divided by ``c``, τ² divided by ``c²``, and the same z, p, Q,
I², H² and s².  Fitting on a scale where the typical standard error is about 1 keeps every
intermediate (weights, their squares and cubes in the REML score, Q) far from overflow and
underflow, so data recorded in any unit — variances of 1e-300 or 1e300 — give the same numbers.

``c`` is a power of two, ``2^e`` with ``e`` half the mean binary exponent of the finite ``vᵢ`` of a
row, so ``yᵢ/c`` and ``vᵢ/c²`` are exact (:func:`numpy.ldexp`; subnormal inputs become normal).
Rows with ``|e| ≤ SKIP`` (typical variance within ``2^±40 ≈ 10^±12`` of 1, i.e. all ordinary data)
are not rescaled, so their results are bit for bit those of the unscaled formulas.

On the scale it is fitted on, every variance must lie within ``10^±RANGE`` of 1 and every effect
within ``±10^RANGE``: then weights are below ``10^40`` and squared residuals (including the
rounding noise of a weighted mean, ``ε·|y|``) below ``10^81``, so the largest intermediate
(``wᵢ³rᵢ²`` in the REML score) stays near ``10^200`` and ``k`` of them sum without overflow.
Wider data cannot be pooled in double precision and are refused at the boundary
(:func:`out_of_range`): effects more than ``10^40`` standard errors from 0, or variances spanning
more than 80 orders of magnitude.
"""

from __future__ import annotations

import math
from typing import Any, Final, cast

import numpy as np
from numpy.typing import NDArray

from ._validation import MetaacuInputError

__all__ = [
    "RANGE",
    "SKIP",
    "exponents",
    "ordinary",
    "out_of_range",
    "range_message",
    "rescale_one",
    "scale_rows",
    "unscale",
]

F64 = NDArray[np.float64]

#: Decimal orders of magnitude allowed either side of 1 after rescaling (see the module notes).
RANGE: Final = 40
#: Rows whose scale exponent is at most this in absolute value are fitted as they are.
SKIP: Final = 20
_LIMIT: Final = 10.0**RANGE
_LOW: Final = 2.0 ** (-2 * SKIP)
_HIGH: Final = 2.0 ** (2 * SKIP)

#: Result fields that scale like the effect (× c), like τ² (× c²) and the log-likelihood's shift.
LIKE_EFFECT: Final = ("estimate", "se", "ci_low", "ci_high")
LIKE_TAU2: Final = ("tau2", "alt_tau2")


def exponents(vi: F64) -> NDArray[np.int64]:
    """Per row of ``vi`` (shape ``(m, k)``; padding ``inf``), the ``e`` of the scale ``c = 2^e``."""
    finite = np.isfinite(vi)
    _, ex = np.frexp(np.where(finite, vi, 1.0))
    n = np.maximum(finite.sum(axis=1), 1)
    e = np.rint(np.where(finite, ex, 0).sum(axis=1) / (2.0 * n)).astype(np.int64)
    return np.where(np.abs(e) > SKIP, e, 0)


def scale_rows(yi: F64, vi: F64, e: NDArray[np.int64]) -> tuple[F64, F64]:
    """``yi/2^e`` and ``vi/4^e`` row by row, exactly."""
    col = e[:, None]
    return np.ldexp(yi, -col), np.ldexp(vi, -2 * col)


def out_of_range(ys: F64, vs: F64) -> NDArray[np.bool_]:
    """Rows that cannot be fitted in double precision, given the rows as :func:`scale_rows` left them."""
    finite = np.isfinite(vs)
    with np.errstate(invalid="ignore"):
        bad_v = finite & ((vs < 1.0 / _LIMIT) | (vs > _LIMIT))
        bad_y = finite & ~(np.abs(ys) <= _LIMIT)
    # cast: ``any`` over an axis of a 2-D array is an array; the stubs also allow a scalar
    return cast(NDArray[np.bool_], (bad_v | bad_y).any(axis=1))


def range_message(what: str) -> str:
    """The refusal, in words, for :class:`metaacu.MetaacuInputError`."""
    return (
        f"{what} cannot be pooled in double precision: after rescaling to a typical standard error of 1, "
        f"every sampling variance must lie within 1e-{RANGE} to 1e{RANGE} and every effect size within "
        f"±1e{RANGE} (the variances span too many orders of magnitude, or an effect is too many standard "
        "errors from 0)"
    )


def ordinary(y: F64, v: F64, extremes: tuple[float, float] | None = None) -> bool:
    """True when every variance lies within ``2^±2·SKIP`` of 1 and every effect within ``±10^RANGE``
    (any shape; a NaN or an infinite value, padding included, makes it False): then every row's
    exponent is 0 and no row is out of range, so no rescaling and no range check is needed — the
    case of all ordinary data, decided by four reductions (``extremes``: ``(min v, max v)`` when the
    caller has them already)."""
    if not v.size:
        return False  # nothing to decide: the full checks say what an empty array is
    lo, hi = (np.minimum.reduce(v, axis=None), np.maximum.reduce(v, axis=None)) if extremes is None else extremes
    return bool(
        lo >= _LOW
        and hi <= _HIGH
        and np.minimum.reduce(y, axis=None) >= -_LIMIT
        and np.maximum.reduce(y, axis=None) <= _LIMIT
    )


def rescale_one(y: F64, v: F64, extremes: tuple[float, float] | None = None) -> tuple[int, F64, F64]:
    """One validated dataset: ``(e, y/2^e, v/4^e)``, or :class:`MetaacuInputError` when out of range.

    Ordinary data (every variance within ``2^±2·SKIP`` of 1, effects within ``±10^RANGE``) return
    ``e = 0`` and the inputs after four reductions, the cost of a single fit's fast path
    (``extremes``: ``(min v, max v)`` when the caller has them already)."""
    if ordinary(y, v, extremes):
        return 0, y, v
    e = exponents(v[None, :])
    ys, vs = scale_rows(y[None, :], v[None, :], e)
    if out_of_range(ys, vs)[0]:
        raise MetaacuInputError(range_message("these effect sizes and variances"))
    return int(e[0]), ys[0], vs[0]


def unscale(fit: dict[str, Any], e: int | NDArray[np.int64], k: float | F64, reml: bool) -> dict[str, Any]:
    """Put a fit on the rescaled data back on the original scale (in place; returns ``fit``).

    The log-likelihood shifts by ``−k·e·ln 2`` (ML) or ``−(k − 1)·e·ln 2`` (REML), from
    ``log(vᵢ + τ²)`` and, for REML, ``log Σwᵢ`` (Viechtbauer 2005, eqs. 8 and 10)."""
    if (e == 0) if isinstance(e, int) else not e.any():
        return fit
    for name in LIKE_EFFECT:
        fit[name] = np.ldexp(fit[name], e)
    for name in LIKE_TAU2:
        fit[name] = np.ldexp(fit[name], 2 * e)
    shift = (k - (1.0 if reml else 0.0)) * e * math.log(2.0)
    fit["loglik"] = fit["loglik"] - shift
    fit["alt_loglik"] = fit["alt_loglik"] - shift
    return fit
