"""Reading the summary data of :func:`metaacu.effect_sizes` and the other entry points: a column argument
given as a name of ``data=`` (``data_column``), the measure's arguments (``gather_columns``), and the
``f(effects, other)`` shorthand (``effects_shorthand``).  Re-exported by ``metaacu.escalc``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ._validation import MetaacuInputError
from .escalc_result import EffectSizes

__all__ = ["data_column", "effects_shorthand", "gather_columns"]


def data_column(data: pd.DataFrame | None, name: str, value: Any) -> Any:
    """The column of ``data`` that ``value`` names when ``data`` is given and ``value`` is a string,
    else ``value`` unchanged (the caller's own validation then explains a stray string).

    The one way every entry point reads ``data=`` (``effect_sizes``, ``mantel_haenszel``, ``peto``,
    ``subgroup_analysis``, ``meta_regression``); ``name`` is the argument, for the error message.
    """
    if data is None or not isinstance(value, str):
        return value
    if not isinstance(data, pd.DataFrame):
        raise MetaacuInputError(f"argument 'data' must be a pandas DataFrame; got {type(data).__name__}")
    if value not in data.columns:
        raise MetaacuInputError(f"argument {name!r} names column {value!r}, which is not in `data`")
    return data[value].to_numpy()


def effects_shorthand(yi: Any, second: Any, other: Any, other_name: str) -> tuple[Any, Any]:
    """``(vi, other)`` after the shorthand ``f(effects, other)``: when ``yi`` is an
    :class:`EffectSizes` (which holds its own variances) a second positional argument is read as
    ``other_name`` (``groups``, ``moderators``).  Giving both is refused as ambiguous.

    Python cannot tell ``f(es, x)`` from ``f(es, vi=x)``; both are read as ``other_name``.
    """
    if not isinstance(yi, EffectSizes) or second is None:
        return second, other
    if other is not None:
        raise MetaacuInputError(
            f"ambiguous call: with an EffectSizes, which holds its own variances (no 'vi'), give {other_name!r} "
            f"once, as the second positional argument or as {other_name}=..., not both"
        )
    return None, second


def gather_columns(data: pd.DataFrame | None, columns: Mapping[str, Any], needed: tuple[str, ...]) -> dict[str, Any]:
    """The summary-data arguments ``columns`` of :func:`metaacu.effect_sizes`, exactly the ``needed`` ones
    (a missing or an unexpected argument is named), each a column of ``data`` when given by name."""
    missing = [c for c in needed if c not in columns]
    if missing:
        raise MetaacuInputError(f"missing argument(s) {', '.join(missing)}; this measure needs {', '.join(needed)}")
    extra = sorted(set(columns) - set(needed))
    if extra:
        raise MetaacuInputError(f"unexpected argument(s) {', '.join(extra)}; this measure takes {', '.join(needed)}")
    out = {}
    for name in needed:
        value = columns[name]
        if isinstance(value, str):
            if data is None or value not in data.columns:
                raise MetaacuInputError(f"argument {name!r} names column {value!r}, which is not in `data`")
            value = data[value].to_numpy()
        out[name] = value
    return out
