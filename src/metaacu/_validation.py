"""Input validation shared by every public entry point.

Validation happens once, at the boundary.  Every failure raises :class:`MetaacuInputError`
(a :class:`ValueError`) whose message names the argument and, where it applies, the study index,
so that a user can find the offending row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "MetaacuInputError",
    "as_float_array",
    "check_choice",
    "check_level",
    "check_same_length",
    "readonly",
]


class MetaacuInputError(ValueError):
    """Invalid input to a metaacu function; the message names the argument and study."""


class LikelihoodWarning(RuntimeWarning):
    """The (restricted) likelihood has more than one local maximum: the global one was used."""


def bad_indices(mask: NDArray[np.bool_], limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in idx[:limit])
    more = f" and {idx.size - limit} more" if idx.size > limit else ""
    return f"study index {shown}{more}" if idx.size == 1 else f"study indices {shown}{more}"


def as_float_array(
    value: ArrayLike,
    name: str,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    integer: bool = False,
    min_value: float | None = None,
    allow_nan: bool = False,
) -> NDArray[np.float64]:
    """Convert ``value`` to a 1-D float array and check it.

    Raises
    ------
    MetaacuInputError
        If the value is not 1-D numeric, contains NaN/inf (unless ``allow_nan``), or breaks a bound;
        the message names ``name`` and the offending study indices.
    """
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MetaacuInputError(f"argument {name!r} must be numeric: {exc}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise MetaacuInputError(f"argument {name!r} must be one-dimensional, got shape {arr.shape}")
    finite = np.isfinite(arr)
    bad = ~finite & ~(np.isnan(arr) if allow_nan else np.zeros_like(finite))
    if bad.any():
        raise MetaacuInputError(f"argument {name!r} has a missing or infinite value at {bad_indices(bad)}")
    with np.errstate(invalid="ignore"):
        if positive and (bad := finite & (arr <= 0)).any():
            raise MetaacuInputError(f"argument {name!r} must be > 0; check {bad_indices(bad)}")
        if nonnegative and (bad := finite & (arr < 0)).any():
            raise MetaacuInputError(f"argument {name!r} must be >= 0; check {bad_indices(bad)}")
        if min_value is not None and (bad := finite & (arr < min_value)).any():
            raise MetaacuInputError(
                f"argument {name!r} must be >= {min_value:g}; check {bad_indices(bad)}"
            )
        if integer and (bad := finite & (arr != np.round(arr))).any():
            raise MetaacuInputError(f"argument {name!r} must hold whole numbers; check {bad_indices(bad)}")
    return arr


def check_same_length(arrays: Mapping[str, NDArray[Any]]) -> int:
    """Return the common length of ``arrays`` or raise naming the arguments that differ."""
    lengths = {name: a.shape[0] for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{n}={k}" for n, k in lengths.items())
        raise MetaacuInputError(f"arguments must have the same number of studies; got {desc}")
    (k,) = set(lengths.values()) or {0}
    if k == 0:
        raise MetaacuInputError(f"arguments {', '.join(lengths)} hold no studies")
    return k


def check_choice(value: str, name: str, choices: Iterable[str]) -> str:
    """Check that ``value`` is one of ``choices`` (case-sensitive) and return it."""
    options: Sequence[str] = tuple(choices)
    if not isinstance(value, str) or value not in options:
        raise MetaacuInputError(
            f"argument {name!r} must be one of {', '.join(map(repr, options))}; got {value!r}"
        )
    return value


def check_level(level: float, name: str = "level") -> float:
    """Check a confidence level given as a fraction in (0, 1), e.g. 0.95."""
    try:
        lv = float(level)
    except (TypeError, ValueError):
        raise MetaacuInputError(f"argument {name!r} must be a number in (0, 1); got {level!r}") from None
    if not 0.0 < lv < 1.0:
        hint = " (give 0.95, not 95)" if 1.0 < lv < 100.0 else ""
        raise MetaacuInputError(f"argument {name!r} must be in (0, 1){hint}; got {level!r}")
    return lv


def readonly(arr: NDArray[Any]) -> NDArray[Any]:
    """Return ``arr`` with its write flag cleared (a copy is not made)."""
    arr.setflags(write=False)
    return arr
