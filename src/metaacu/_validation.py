"""Input validation shared by every public entry point.

Validation happens once, at the boundary.  Every failure raises :class:`MetaacuInputError`
(a :class:`ValueError`) whose message names the argument and, where it applies, the study index,
so that a user can find the offending row.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "MetaacuInputError",
    "as_float_array",
    "check_bool",
    "check_choice",
    "check_digits",
    "check_events_within_totals",
    "check_int",
    "check_labels",
    "check_level",
    "check_number",
    "check_same_length",
    "no_other_keywords",
    "readonly",
    "real_floats",
    "renamed_argument",
]


class MetaacuInputError(ValueError):
    """Invalid input to a metaacu function; the message names the argument and study."""


class LikelihoodWarning(RuntimeWarning):
    """The (restricted) likelihood has more than one local maximum: the global one was used."""


def bad_indices(mask: NDArray[np.bool_], limit: int = 5, labels: Sequence[str] | None = None) -> str:
    """``"study index 3 (Smith 2001)"`` / ``"study indices 0 (A), 4 (E) and 2 more"``: 0-based
    positions, with the study labels when ``labels`` has one per study."""
    idx = np.flatnonzero(mask)
    named = labels if labels is not None and len(labels) == mask.size else None

    def one(i: int) -> str:
        return f"{i} ({named[i]})" if named is not None else str(i)

    shown = ", ".join(one(int(i)) for i in idx[:limit])
    more = f" and {idx.size - limit} more" if idx.size > limit else ""
    return f"study index {shown}{more}" if idx.size == 1 else f"study indices {shown}{more}"


def check_labels(labels: Any, k: int | None = None, name: str = "labels") -> tuple[str, ...] | None:
    """Study labels as a tuple of strings, one per study (``None`` stays ``None`` when ``k`` is
    not given, else becomes ``"Study 1"``, ...).

    A single string is refused rather than split into one-letter labels; so are scalars, nested
    sequences and a length other than ``k``."""
    if labels is None:
        return None if k is None else default_labels(k)
    if isinstance(labels, (str, bytes)):
        raise MetaacuInputError(
            f"argument {name!r} must hold one label per study; got the single string {labels!r} "
            f"(give a list, e.g. [{labels!r}], or the name of a column of `data` where that is accepted)"
        )
    arr = np.asarray(labels, dtype=object)
    if arr.ndim != 1:
        raise MetaacuInputError(
            f"argument {name!r} must be a one-dimensional sequence of labels, got shape {arr.shape}"
        )
    labs = tuple(str(x) for x in arr)
    if k is not None and len(labs) != k:
        raise MetaacuInputError(f"argument {name!r} has {len(labs)} entries for {k} studies")
    return labs


@functools.lru_cache(maxsize=64)
def default_labels(k: int) -> tuple[str, ...]:
    """``("Study 1", ..., "Study k")`` (a tuple, so one can be shared by every result of k studies)."""
    return tuple(f"Study {i + 1}" for i in range(k))


def check_number(
    value: Any, name: str, *, low: float | None = None, high: float | None = None, low_open: bool = False
) -> float:
    """A finite real number (not a bool or string) within ``[low, high]`` (``low`` excluded when
    ``low_open``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise MetaacuInputError(f"argument {name!r} must be a number; got {value!r}")
    x = float(value)
    if not np.isfinite(x):
        raise MetaacuInputError(f"argument {name!r} must be finite; got {value!r}")
    if low is not None and (x <= low if low_open else x < low):
        raise MetaacuInputError(f"argument {name!r} must be {'>' if low_open else '>='} {low:g}; got {value!r}")
    if high is not None and x > high:
        raise MetaacuInputError(f"argument {name!r} must be <= {high:g}; got {value!r}")
    return x


def check_int(value: Any, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """A whole number (an ``int`` or NumPy integer, not a bool, float or string) within bounds."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise MetaacuInputError(f"argument {name!r} must be a whole number; got {value!r}")
    i = int(value)
    if (low is not None and i < low) or (high is not None and i > high):
        bounds = f">= {low}" if high is None else f"between {low} and {high}" if low is not None else f"<= {high}"
        raise MetaacuInputError(f"argument {name!r} must be {bounds}; got {value!r}")
    return i


def check_bool(value: Any, name: str) -> bool:
    """``True`` or ``False`` (a truthy string such as ``"no"`` is refused)."""
    if not isinstance(value, (bool, np.bool_)):
        raise MetaacuInputError(f"argument {name!r} must be True or False; got {value!r}")
    return bool(value)


def check_digits(digits: Any) -> int:
    """Number of decimals for a printed summary: a whole number from 0 to 15."""
    return check_int(digits, "digits", low=0, high=15)


def real_floats(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """``value`` as a float array of any shape, refusing complex and non-numeric values by ``name``."""
    if np.iscomplexobj(value):
        raise MetaacuInputError(f"argument {name!r} must be real; got complex values")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MetaacuInputError(f"argument {name!r} must be numeric: {exc}") from None


def as_float_array(
    value: ArrayLike,
    name: str,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    integer: bool = False,
    min_value: float | None = None,
    allow_nan: bool = False,
    labels: Sequence[str] | None = None,
) -> NDArray[np.float64]:
    """Convert ``value`` to a 1-D float array and check it.

    Raises
    ------
    MetaacuInputError
        If the value is not 1-D real numeric (complex numbers and strings are refused), contains
        NaN/inf (unless ``allow_nan``), or breaks a bound; the message names ``name`` and the
        offending study indices, with their ``labels`` when given.
    """
    if isinstance(value, (str, bytes)):
        raise MetaacuInputError(f"argument {name!r} must be numeric, one value per study; got the string {value!r}")
    if isinstance(value, np.ndarray) and value.dtype == np.float64:
        arr = value  # already real floats (the common case; the checks below are the same)
        # A finite sum means every value is finite (one NaN or inf makes it NaN or inf): two
        # reductions instead of the element-wise masks below, which only name what is wrong.
        if (
            arr.ndim == 1
            and arr.size
            and not (nonnegative or integer or min_value is not None)
            and math.isfinite(np.add.reduce(arr))
            and (not positive or np.minimum.reduce(arr) > 0.0)
        ):
            return arr
    else:
        arr = real_floats(value, name)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise MetaacuInputError(f"argument {name!r} must be one-dimensional, got shape {arr.shape}")
    finite = np.isfinite(arr)
    if not finite.all():
        bad = ~finite & ~(np.isnan(arr) if allow_nan else np.zeros_like(finite))
        if bad.any():
            raise MetaacuInputError(
                f"argument {name!r} has a missing or infinite value at {bad_indices(bad, labels=labels)}"
            )
    # (comparisons with a NaN, where NaN is allowed, are False and raise no floating-point warning)
    if positive and (bad := finite & (arr <= 0)).any():
        raise MetaacuInputError(f"argument {name!r} must be > 0; check {bad_indices(bad, labels=labels)}")
    if nonnegative and (bad := finite & (arr < 0)).any():
        raise MetaacuInputError(f"argument {name!r} must be >= 0; check {bad_indices(bad, labels=labels)}")
    if min_value is not None and (bad := finite & (arr < min_value)).any():
        raise MetaacuInputError(f"argument {name!r} must be >= {min_value:g}; check {bad_indices(bad, labels=labels)}")
    if integer and (bad := finite & (arr != np.round(arr))).any():
        raise MetaacuInputError(f"argument {name!r} must hold whole numbers; check {bad_indices(bad, labels=labels)}")
    return arr


def check_events_within_totals(
    events: NDArray[np.float64],
    totals: NDArray[np.float64],
    names: tuple[str, str],
    labels: Sequence[str] | None = None,
) -> None:
    """Refuse more events than participants in an arm, naming the arguments and studies."""
    if (bad := events > totals).any():
        raise MetaacuInputError(
            f"argument {names[0]!r} exceeds {names[1]!r} (events > total) at {bad_indices(bad, labels=labels)}"
        )


def check_same_length(arrays: Mapping[str, NDArray[Any]]) -> int:
    """Return the common length of ``arrays`` or raise naming the arguments that differ."""
    lengths: dict[str, int] = {name: a.shape[0] for name, a in arrays.items()}
    k = next(iter(lengths.values()), 0)
    if any(n != k for n in lengths.values()):
        desc = ", ".join(f"{n}={k}" for n, k in lengths.items())
        raise MetaacuInputError(f"arguments must have the same number of studies; got {desc}")
    if k == 0:
        raise MetaacuInputError(f"arguments {', '.join(lengths)} hold no studies")
    return k


def check_choice(value: str, name: str, choices: Iterable[str]) -> str:
    """Check that ``value`` is one of ``choices`` (case-sensitive) and return it."""
    options: Sequence[str] = tuple(choices)
    if not isinstance(value, str) or value not in options:
        raise MetaacuInputError(f"argument {name!r} must be one of {', '.join(map(repr, options))}; got {value!r}")
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


def renamed_argument(func: str, deprecated: dict[str, Any], old: str, new: str, value: Any, default: Any = None) -> Any:
    """The value of argument ``new`` of ``func``, or of its old name ``old`` when that was given.

    ``deprecated`` is the function's ``**deprecated`` keywords (old names are kept out of the signature,
    so that every signature shows one meaning per name); ``old`` is popped from it with a
    ``DeprecationWarning`` that names the new argument.  Old names are accepted for one release (see
    "API conventions" in HANDOVER.md).  Giving both names is refused (unless ``value`` is ``new``'s
    ``default``, which cannot be told apart from not giving it).
    """
    if old not in deprecated:
        return value
    old_value = deprecated.pop(old)
    warnings.warn(
        f"metaacu: {func}({old}=...) is deprecated and will be removed in the next release; use {new}=... instead",
        DeprecationWarning,
        stacklevel=3,
    )
    if not (value is default or (isinstance(value, str) and value == default)):
        raise MetaacuInputError(f"{func}(): give argument {new!r} only, not also its deprecated name {old!r}")
    return old_value


def no_other_keywords(func: str, deprecated: Mapping[str, Any]) -> None:
    """Refuse what is left in a function's ``**deprecated`` keywords after :func:`renamed_argument`,
    as Python refuses an unknown keyword."""
    if deprecated:
        raise TypeError(f"{func}() got an unexpected keyword argument {next(iter(deprecated))!r}")


def readonly(arr: NDArray[Any]) -> NDArray[Any]:
    """Return ``arr`` with its write flag cleared (a copy is not made)."""
    arr.setflags(write=False)
    return arr
