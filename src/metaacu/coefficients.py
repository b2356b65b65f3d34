"""Choosing coefficients of a fitted model by index or name: the one reading of metafor's ``btt``
(the coefficients a Wald test covers), used by :func:`metaacu.wald_test` (``coefs=``) and by
:func:`metaacu.glmm_meta_regression` (``btt=``).

Indices count from 0 (Python's convention, not R's 1); a string that is a coefficient's name selects
it, and any other string selects every coefficient whose name contains it (``"alloc"``: every
``alloc`` dummy, as metafor's ``btt = "alloc"``, which greps the names).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._validation import MetaacuInputError

__all__ = ["select_coefficients"]


def select_coefficients(names: Sequence[str], coefs: Any, where: str = "coefs") -> list[int]:
    """Indices of ``coefs`` among ``names``: an index, a name, a list of either, or a string that
    is no name but part of some (all coefficients containing it, as metafor's ``btt = "alloc"``).

    Parameters
    ----------
    names : sequence of str
        The model's coefficient names.
    coefs : int, str or sequence of them
        The selection.
    where : str
        The argument's name in error messages.

    Examples
    --------
    >>> select_coefficients(["intercept", "ablat", "alloc[random]", "alloc[systematic]"], "alloc")
    [2, 3]
    """
    names = list(names)
    items = [coefs] if isinstance(coefs, (str, int, np.integer)) else list(coefs)
    if not items:
        raise MetaacuInputError(f"argument {where!r} selects no coefficient")
    out: list[int] = []
    for it in items:
        if isinstance(it, (bool, np.bool_)):
            raise MetaacuInputError(f"argument {where!r} must hold indices or names, got {it!r}")
        if isinstance(it, (int, np.integer)):
            if not -len(names) <= int(it) < len(names):
                raise MetaacuInputError(f"argument {where!r}: index {it} out of range for {len(names)} coefficients")
            out.append(int(it) % len(names))
        elif isinstance(it, str):
            hits = [names.index(it)] if it in names else [j for j, n in enumerate(names) if it in n]
            if not hits:
                raise MetaacuInputError(f"argument {where!r}: {it!r} matches no coefficient ({', '.join(names)})")
            out.extend(hits)
        else:
            raise MetaacuInputError(f"argument {where!r} must hold indices or names, got {it!r}")
    if len(set(out)) != len(out):
        raise MetaacuInputError(f"argument {where!r} selects a coefficient twice")
    return out
