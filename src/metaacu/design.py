"""The model matrix of a meta-regression, built from a table of study-level moderators.

Numeric columns enter as they are; object, string, boolean and categorical columns are dummy-coded
with the first level as reference (treatment contrasts, levels sorted as R's ``factor()`` for object
columns, in category order for categoricals); without an intercept the first categorical column gets
one dummy per level, as R's ``model.matrix``.  The terms are kept so that new moderator values
(``MetaRegression.predict``) are coded the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ._validation import MetaacuInputError, as_float_array

__all__ = ["INTERCEPT", "Term", "check_rank", "design_matrix", "design_terms", "is_categorical", "moderator_frame"]

F64 = NDArray[np.float64]

#: Name of the intercept column.
INTERCEPT: Final = "intercept"


@dataclass(frozen=True)
class Term:
    """One moderator column and how it is coded (numeric, or dummies for its levels)."""

    column: str
    kind: str  # "numeric" or "categorical"
    levels: tuple[Any, ...] = ()
    full: bool = False  # all levels coded (first factor of a model without intercept)

    def names(self) -> list[str]:
        if self.kind == "numeric":
            return [self.column]
        used = self.levels if self.full else self.levels[1:]
        return [f"{self.column}[{lv}]" for lv in used]

    def encode(self, values: pd.Series, where: str) -> F64:
        if self.kind == "numeric":
            return as_float_array(values.to_numpy(), f"{where}[{self.column!r}]")[:, None]
        vals = values.to_numpy(dtype=object)
        known = set(self.levels)
        bad = np.array([v not in known for v in vals])
        if bad.any():
            idx = ", ".join(map(str, np.flatnonzero(bad)[:5]))
            raise MetaacuInputError(
                f"argument {where!r}, column {self.column!r}: unknown level at study index {idx} "
                f"(levels: {', '.join(map(str, self.levels))})"
            )
        used = self.levels if self.full else self.levels[1:]
        return np.column_stack([(vals == lv).astype(float) for lv in used]) if used else np.zeros((len(vals), 0))


def is_categorical(s: pd.Series) -> bool:
    return bool(
        isinstance(s.dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(s)
        or pd.api.types.is_object_dtype(s)
        or pd.api.types.is_string_dtype(s)
    )


def moderator_frame(moderators: Any) -> pd.DataFrame:
    if isinstance(moderators, pd.DataFrame):
        frame = moderators.reset_index(drop=True)
    elif isinstance(moderators, pd.Series):
        frame = moderators.reset_index(drop=True).to_frame(
            name=moderators.name if moderators.name is not None else "x1"
        )
    else:
        try:
            arr = np.asarray(moderators, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise MetaacuInputError(
                f"argument 'moderators' must be a DataFrame or a numeric 2-D array: {exc}"
            ) from None
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise MetaacuInputError(f"argument 'moderators' must be 2-D (studies x moderators), got shape {arr.shape}")
        frame = pd.DataFrame(arr, columns=[f"x{j + 1}" for j in range(arr.shape[1])])
    if frame.shape[1] == 0:
        raise MetaacuInputError("argument 'moderators' has no columns; use meta_analysis() for an intercept-only model")
    frame.columns = [str(c) for c in frame.columns]
    if len(set(frame.columns)) != frame.shape[1]:
        raise MetaacuInputError("argument 'moderators' has duplicated column names")
    return frame


def design_terms(frame: pd.DataFrame, intercept: bool) -> tuple[Term, ...]:
    terms = []
    first_factor = not intercept
    for col in frame.columns:
        s = frame[col]
        if is_categorical(s):
            if s.isna().any():
                idx = ", ".join(map(str, np.flatnonzero(s.isna().to_numpy())[:5]))
                raise MetaacuInputError(f"argument 'moderators', column {col!r}: missing value at study index {idx}")
            if isinstance(s.dtype, pd.CategoricalDtype):
                levels = tuple(lv for lv in s.cat.categories if (s == lv).any())
            else:
                levels = tuple(sorted(pd.unique(s.to_numpy(dtype=object)), key=lambda v: (str(type(v)), v)))
            terms.append(Term(col, "categorical", levels, full=first_factor))
            first_factor = False
        else:
            terms.append(Term(col, "numeric"))
    return tuple(terms)


def design_matrix(frame: pd.DataFrame, terms: Sequence[Term], intercept: bool, where: str) -> tuple[F64, list[str]]:
    blocks = [np.ones((len(frame), 1))] if intercept else []
    names = [INTERCEPT] if intercept else []
    for t in terms:
        if t.column not in frame.columns:
            raise MetaacuInputError(f"argument {where!r} lacks moderator column {t.column!r}")
        blocks.append(t.encode(frame[t.column], where))
        names.extend(t.names())
    return np.column_stack(blocks), names


def check_rank(x: F64, names: list[str]) -> None:
    for j in range(1, x.shape[1] + 1):
        if np.linalg.matrix_rank(x[:, :j]) < j:
            raise MetaacuInputError(
                f"argument 'moderators': column {names[j - 1]!r} is constant or a linear combination of "
                f"{', '.join(map(repr, names[: j - 1])) or 'nothing'} (the design matrix is rank deficient)"
            )
