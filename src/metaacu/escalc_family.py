"""What a family of effect-size measures is, for :func:`metaacu.effect_sizes`: the summary data it takes,
how each column is checked, the continuity correction of zero counts and the function that computes
``yi`` and ``vi``.  Each family module (``escalc.py`` for two-group means, 2×2 tables and proportions,
``escalc_change.py``, ``escalc_rates.py``, ``escalc_correlation.py``) defines its :class:`Family`;
``escalc.py`` holds the table of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._validation import MetaacuInputError, as_float_array, bad_indices, check_events_within_totals, check_same_length

__all__ = [
    "COLUMN_KINDS",
    "CONVENTIONS",
    "Family",
    "Options",
    "add_to_events",
    "check_minimum_n",
    "hedges_j",
    "validate_columns",
]

F64 = NDArray[np.float64]
Arrays = Mapping[str, F64]

#: ``convention=`` of :func:`metaacu.effect_sizes`: the metafor release whose formulas are used where
#: releases differ (SMDH and SMCRH sampling variances; see "Known differences" in HANDOVER.md).
CONVENTIONS: Final = ("metafor5", "metafor3.8")

#: How a column of summary data is checked (keyword arguments of ``as_float_array``), by kind.
COLUMN_KINDS: Final[dict[str, dict[str, Any]]] = {
    "mean": {},
    "sd": {"positive": True},
    "sd_or_zero": {"nonnegative": True},
    "count": {"nonnegative": True, "integer": True},
    "rate_count": {"nonnegative": True},
    "group_size": {"min_value": 2.0},  # two-group means: n may be an average, so not a whole number
    "total": {"min_value": 1.0, "integer": True},
    "sample_size": {"min_value": 1.0},
    "time": {"positive": True},
    "correlation": {},
}


def hedges_j(m: ArrayLike) -> F64:
    """Exact small-sample correction ``J(m) = Γ(m/2) / (√(m/2) Γ((m−1)/2))``, computed in logs.

    Hedges (1981), eq. 6e; metafor's ``.cmicalc``.  ``m`` is the degrees of freedom (n1 + n2 − 2 for
    two groups, n − 1 for a mean change).
    """
    try:
        m = np.asarray(m, dtype=np.float64)
    except (TypeError, ValueError):
        raise MetaacuInputError(f"hedges_j() needs numeric degrees of freedom; got {m!r}") from None
    if (bad := ~(m > 1) | ~np.isfinite(m)).any():
        flat = np.atleast_1d(bad)
        raise MetaacuInputError(
            f"hedges_j() needs finite degrees of freedom m > 1 (n1 + n2 - 2 >= 2); got "
            f"{np.atleast_1d(m)[flat][0]:g} at {bad_indices(flat)}"
        )
    return np.exp(special.gammaln(m / 2) - 0.5 * np.log(m / 2) - special.gammaln((m - 1) / 2))


@dataclass(frozen=True)
class Options:
    """The options of :func:`metaacu.effect_sizes` that change numbers, once validated."""

    vtype: str = "LS"
    convention: str = "metafor5"
    correct: bool = False


Compute = Callable[[str, Arrays, Options], tuple[F64, F64]]


@dataclass(frozen=True)
class Family:
    """One family of measures.

    Attributes
    ----------
    columns : tuple of str
        The argument names of the summary data, in order.
    kinds : mapping
        Column name → key of :data:`COLUMN_KINDS`.
    compute : callable
        ``(measure, data, options) -> (yi, vi)`` on validated (and, where it applies, corrected) arrays.
    undefined : mapping
        Measure → why it can be undefined for a study, in words, for the error message.
    measure_columns : mapping
        Measures that take fewer columns than the family (``"SMCR"`` needs no ``sd2``).
    vtypes : mapping
        Measure → its variance formulas (``vtype``), the first the default; measures not listed have one.
    minimum_n : mapping
        Measure → (smallest ``n``, why), for measures that need more than the column kind allows.
    zero : callable, optional
        ``data -> bool per study``: the studies with a zero count, which the continuity correction
        (``add``, ``to``) applies to; ``None`` for families without counts.
    corrected : callable, optional
        ``(data, add per study) -> data`` with the correction applied.
    no_add : frozenset
        Measures whose default ``add`` is 0 (metafor's: transformations defined at zero counts).
    """

    columns: tuple[str, ...]
    kinds: Mapping[str, str]
    compute: Compute
    undefined: Mapping[str, str]
    measure_columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    vtypes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    minimum_n: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    zero: Callable[[Arrays], NDArray[np.bool_]] | None = None
    corrected: Callable[[Arrays, F64], dict[str, F64]] | None = None
    no_add: frozenset[str] = frozenset()

    def columns_of(self, measure: str) -> tuple[str, ...]:
        """The columns ``measure`` takes."""
        return self.measure_columns.get(measure, self.columns)


def validate_columns(raw: Mapping[str, Any], kinds: Mapping[str, str], labels: Sequence[str] | None) -> dict[str, F64]:
    """Each column as a 1-D float array checked by its kind, all of one length; events within totals
    (``events1 <= n1`` ...) and correlations within [-1, 1].  Errors name the argument and the studies."""
    arr: dict[str, F64] = {}
    for name, value in raw.items():
        arr[name] = as_float_array(value, name, labels=labels, **COLUMN_KINDS[kinds[name]])
        if kinds[name] == "correlation" and (bad := np.abs(arr[name]) > 1).any():
            raise MetaacuInputError(
                f"argument {name!r} must lie in [-1, 1] (a correlation); check {bad_indices(bad, labels=labels)}"
            )
    check_same_length(arr)
    for ev, tot in (("events1", "n1"), ("events2", "n2"), ("events", "n")):
        if ev in arr and tot in arr and kinds[ev] == "count":
            check_events_within_totals(arr[ev], arr[tot], (ev, tot), labels)
    return arr


def check_minimum_n(family: Family, measure: str, d: Arrays, labels: Sequence[str] | None) -> None:
    """Refuse studies with fewer participants than ``measure`` needs, naming argument ``n`` and the studies."""
    if measure not in family.minimum_n:
        return
    low, why = family.minimum_n[measure]
    if (bad := d["n"] < low).any():
        raise MetaacuInputError(
            f"argument 'n' must be >= {low} for measure {measure!r} ({why}); check {bad_indices(bad, labels=labels)}"
        )


def add_to_events(d: Arrays, add: F64, events: Sequence[str]) -> dict[str, F64]:
    """``d`` with ``add`` (one value per study) added to each of the ``events`` columns (person-time
    unchanged): the continuity correction of incidence-rate measures, as metafor's escalc."""
    out = dict(d)
    for ev in events:
        out[ev] = out[ev] + add
    return out
