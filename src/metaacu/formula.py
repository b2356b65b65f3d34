"""Moderators by formula: a Wilkinson formula and a DataFrame → the model matrix and its column names,
through `formulaic <https://matthewwardrop.github.io/formulaic/>`_ (the optional extra
``metaacu[formula]``).

``"ablat + I(year - 1960) + C(alloc)"`` (or with a leading ``~``) gives the columns ``intercept``,
``ablat``, ``I(year - 1960)``, ``C(alloc)[random]``, ``C(alloc)[systematic]``: treatment contrasts with
the first level (sorted) as reference, as R's ``model.matrix``; ``factor(x)`` is accepted as R's
spelling of ``C(x)``; ``a:b`` and ``a*b`` interactions, ``- 1`` / ``0 +`` for no intercept.  Rows with a
missing value are refused (formulaic would drop them), and so is a level in new data that the fit did
not see.  The fitted :class:`FormulaDesign` keeps formulaic's model spec, so ``predict(newmods)`` codes
new moderator values as the fit did.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ._validation import MetaacuInputError
from .design import INTERCEPT

__all__ = ["FormulaDesign", "formula_design", "is_formula"]

F64 = NDArray[np.float64]


def _formulaic() -> Any:
    try:
        import formulaic
    except ImportError:  # pragma: no cover - formulaic is pinned in requirements-dev.txt
        raise MetaacuInputError(
            "moderators given as a formula need the 'formulaic' package: pip install 'metaacu[formula]'"
        ) from None
    return formulaic


def is_formula(moderators: Any, data: pd.DataFrame | None) -> TypeGuard[str]:
    """A string that is not one column of ``data`` is a formula; a bare name (``"lat"``) is always read as
    a column, so that a misspelt one is reported as a missing column, not as a formula."""
    if not isinstance(moderators, str) or re.fullmatch(r"\s*[A-Za-z_][A-Za-z0-9_]*\s*", moderators):
        return False
    return data is None or moderators not in data.columns


def _name(col: str) -> str:
    if col == "Intercept":
        return INTERCEPT
    return re.sub(r"\[T\.(.*)\]$", r"[\1]", col)


def _error(exc: Exception, where: str, formula: str) -> MetaacuInputError:
    msg = str(exc)
    missing = re.search(r"`([^`]+)` is not present in the dataset", msg)
    if missing:
        return MetaacuInputError(
            f"argument {where!r}: formula {formula!r} names {missing.group(1)!r}, which is not a column of 'data'"
        )
    nulls = re.search(r"`([^`]+)` contains null values", msg)
    if nulls:
        return MetaacuInputError(f"argument {where!r}: column {nulls.group(1)!r} of the formula has a missing value")
    return MetaacuInputError(f"argument {where!r}: formula {formula!r} could not be evaluated: {msg}")


@dataclass(frozen=True)
class FormulaDesign:
    """A model matrix built from a formula.

    Attributes
    ----------
    formula : str
        The formula as given.
    matrix : ndarray
        ``k × p`` model matrix.
    names : tuple of str
        Column names (``"intercept"`` first when there is one).
    intercept : bool
    frame : DataFrame
        The columns of ``data`` the formula uses.
    """

    formula: str
    matrix: F64
    names: tuple[str, ...]
    intercept: bool
    frame: pd.DataFrame = field(compare=False)
    spec: Any = field(compare=False, repr=False)

    def model_matrix(self, newdata: pd.DataFrame, where: str = "newmods") -> F64:
        """Rows of the model matrix for new moderator values, coded as the fit was."""
        if not isinstance(newdata, pd.DataFrame):
            raise MetaacuInputError(f"argument {where!r} must be a DataFrame with the formula's columns")
        fl = _formulaic()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", fl.errors.DataMismatchWarning)
                mm = self.spec.get_model_matrix(
                    newdata.reset_index(drop=True), na_action="raise", context={"factor": fl.transforms.C}
                )
        except fl.errors.DataMismatchWarning as exc:
            raise MetaacuInputError(f"argument {where!r}: {exc}") from None
        except (fl.errors.FormulaicError, ValueError) as exc:
            raise _error(exc, where, self.formula) from None
        return np.asarray(mm, dtype=np.float64)


def formula_design(
    formula: str, data: pd.DataFrame | None, intercept: bool = True, where: str = "moderators"
) -> FormulaDesign:
    """Evaluate a moderator formula on ``data`` (one row per study).

    Parameters
    ----------
    formula : str
        Right-hand side of a Wilkinson formula (a leading ``~`` is allowed, a left-hand side is not).
    data : DataFrame
        The moderator columns.
    intercept : bool
        ``False`` removes the intercept (as ``- 1`` in the formula).
    where : str
        Argument name for error messages.

    Examples
    --------
    >>> import pandas as pd
    >>> d = formula_design("x + C(g)", pd.DataFrame({"x": [1.0, 2.0, 3.0], "g": ["b", "a", "b"]}))
    >>> d.names
    ('intercept', 'x', 'C(g)[b]')
    """
    if data is None or not isinstance(data, pd.DataFrame):
        raise MetaacuInputError(f"argument {where!r} is a formula ({formula!r}); it needs 'data', a DataFrame")
    text = formula.strip()
    if "~" in text.lstrip("~"):
        raise MetaacuInputError(
            f"argument {where!r}: formula {formula!r} must have no left-hand side (only moderators)"
        )
    rhs = text.lstrip("~").strip()
    if not rhs:
        raise MetaacuInputError(f"argument {where!r}: the formula is empty")
    if not intercept:
        rhs = f"{rhs} - 1"
    fl = _formulaic()
    frame = data.reset_index(drop=True)
    try:
        mm = fl.model_matrix(rhs, frame, na_action="raise", context={"factor": fl.transforms.C})
    except (fl.errors.FormulaicError, ValueError, SyntaxError) as exc:
        raise _error(exc, where, formula) from None
    names = tuple(_name(str(c)) for c in mm.columns)
    if not names or names == (INTERCEPT,):
        raise MetaacuInputError(
            f"argument {where!r}: formula {formula!r} has no moderators; "
            "use meta_analysis() for an intercept-only model"
        )
    used = [c for c in frame.columns if c in mm.model_spec.required_variables]
    return FormulaDesign(
        formula=formula,
        matrix=np.asarray(mm, dtype=np.float64),
        names=names,
        intercept=INTERCEPT in names,
        frame=frame[used].copy(),
        spec=mm.model_spec,
    )
