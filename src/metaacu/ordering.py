"""The order of the studies: one meaning of ``sort_by`` for every function that takes it.

``sort_by`` is a named key — ``"year"`` (a four-digit year in each label, or a year column where
the caller has one), ``"effect"`` (ascending) or ``"weight"`` (largest first) — or one sort key per
study (numbers, strings or dates); studies are taken in increasing order of the key, ties in their
original order (a stable sort, as R's ``order``).  :func:`metaacu.cumulative` and
:func:`metaacu.forest_plot` both read it with :func:`study_order`.  Sort keys are not a permutation:
``sort_by=[2001, 1995, 1998]`` takes the second study first.
"""

from __future__ import annotations

import re
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import MetaacuInputError

__all__ = ["SORT_NAMES", "key_order", "label_years", "study_order"]

#: The named keys of ``sort_by``.
SORT_NAMES: Final = ("year", "effect", "weight")

_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)")


def label_years(
    labels: tuple[str, ...] | list[str], argument: str = "sort_by", hint: str = "give one sort key per study"
) -> NDArray[np.float64]:
    """The first four-digit year (1800-2099) in each study label; refuse a label without one."""
    years = []
    for lab in labels:
        m = _YEAR.search(lab)
        if m is None:
            raise MetaacuInputError(f"{argument}='year': no year in study label {lab!r}; {hint}")
        years.append(float(m.group(1)))
    return np.asarray(years, dtype=np.float64)


def key_order(keys: ArrayLike, labels: tuple[str, ...] | list[str], argument: str = "sort_by") -> NDArray[np.intp]:
    """Indices of the studies in increasing order of the sort keys ``keys`` (a stable sort),
    refusing keys that cannot be ordered: missing (None, NaN, NaT, NA), infinite or incomparable."""
    import pandas as pd

    k = len(labels)
    arr = np.asarray(keys)
    if arr.ndim != 1 or arr.shape[0] != k:
        raise MetaacuInputError(f"argument {argument!r} must hold one sort key per study ({k}); got shape {arr.shape}")
    if arr.dtype.kind in "US" and not isinstance(keys, np.ndarray):
        # numpy turns [1, "a", 2] into the strings "1", "a", "2": refuse rather than sort digits as text
        mixed = [i for i, x in enumerate(np.asarray(keys, dtype=object)) if not isinstance(x, (str, bytes))]
        if mixed:
            raise MetaacuInputError(
                f"argument {argument!r} mixes strings with other sort keys (e.g. {labels[mixed[0]]!r}, "
                f"index {mixed[0]}); give keys of one type"
            )
    bad = np.asarray(pd.isna(arr), dtype=bool)
    if arr.dtype.kind in "fc":
        bad |= ~np.isfinite(arr)
    if bad.any():
        where = np.flatnonzero(bad)
        named = ", ".join(f"{labels[i]!r} (index {i})" for i in where[:5])
        more = f" and {where.size - 5} more" if where.size > 5 else ""
        raise MetaacuInputError(
            f"argument {argument!r} has a missing or infinite sort key for "
            f"{'study' if where.size == 1 else 'studies'} {named}{more}"
        )
    try:
        return np.argsort(arr, kind="stable")
    except TypeError as exc:  # e.g. numbers mixed with strings in an object array
        raise MetaacuInputError(
            f"argument {argument!r} has sort keys that cannot be compared with each other: {exc}"
        ) from None


def study_order(
    sort_by: Any,
    labels: tuple[str, ...] | list[str],
    *,
    effects: ArrayLike,
    weights: ArrayLike,
    years: ArrayLike | None = None,
    argument: str = "sort_by",
) -> NDArray[np.intp]:
    """Indices of the studies in the order ``sort_by`` gives (see the module docstring).

    ``effects`` and ``weights`` (one per study) serve ``"effect"`` and ``"weight"``; ``years``, when
    given, serves ``"year"`` instead of the labels.  ``None`` keeps the data's order.

    Examples
    --------
    >>> study_order([2001, 1995, 1998], ["A", "B", "C"], effects=[0.1, 0.2, 0.3], weights=[1, 1, 1]).tolist()
    [1, 2, 0]
    >>> study_order("weight", ["A", "B", "C"], effects=[0.1, 0.2, 0.3], weights=[20, 50, 30]).tolist()
    [1, 2, 0]
    """
    k = len(labels)
    if sort_by is None:
        return np.arange(k, dtype=np.intp)
    if isinstance(sort_by, str):
        if sort_by == "year":
            key = label_years(labels, argument) if years is None else np.asarray(years, dtype=np.float64)
        elif sort_by == "effect":
            key = np.asarray(effects, dtype=np.float64)
        elif sort_by == "weight":
            key = -np.asarray(weights, dtype=np.float64)
        else:
            raise MetaacuInputError(
                f"argument {argument!r} must be 'year', 'effect', 'weight' or one sort key per study, not {sort_by!r}"
            )
        return np.argsort(key, kind="stable")
    return key_order(sort_by, labels, argument)
