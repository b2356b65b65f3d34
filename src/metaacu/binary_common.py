"""What the Mantel-Haenszel / Peto fits of 2×2 tables (:mod:`metaacu.binary`) and the Mantel-Haenszel fit
of incidence rates (:mod:`metaacu.binary_rates`) share: reading an :class:`~metaacu.EffectSizes` given as
``events1``, Cochran's Q around the pooled estimate with its Q-based I²/H², the Wald test and interval,
and the study indices named in the notes.  Their result classes share
:class:`metaacu.binary_result.EqualEffectsPooled`.

References
----------
Cochran WG. The combination of estimates from different experiments. Biometrics 1954;10:101-129.
Higgins JPT, Thompson SG. Quantifying heterogeneity in a meta-analysis. Stat Med 2002;21:1539-1558.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from ._validation import MetaacuInputError
from .escalc import EffectSizes
from .inference import critical_value, q_heterogeneity, two_sided_p

__all__ = ["check_effect_sizes_alone", "check_same_measure", "cochran_q", "heterogeneity", "study_index", "wald"]

F64 = NDArray[np.float64]


def check_effect_sizes_alone(fn: str, holds: str, names: Sequence[str], values: Sequence[object]) -> None:
    """Refuse further data arguments (``names``, their ``values``) next to an :class:`EffectSizes` given as
    ``events1``, which holds ``holds`` (``"the counts"``, ``"the data"``) itself."""
    if extra := [n for n, v in zip(names, values, strict=True) if v is not None]:
        raise MetaacuInputError(
            f"{fn}(): argument 'events1' is an EffectSizes, which holds {holds}; do not also give {', '.join(extra)}"
        )


def check_same_measure(measure: str | None, es: EffectSizes) -> None:
    """Refuse a ``measure`` that contradicts the measure of the effect sizes given as ``events1``."""
    if measure is not None and measure != es.measure:
        raise MetaacuInputError(
            f"argument 'measure'={measure!r} contradicts the effect sizes' measure {es.measure!r} (argument "
            f"'events1'); leave 'measure' out, or compute effect_sizes({measure!r}, ...)"
        )


def study_index(mask: NDArray[np.bool_]) -> str:
    """The (0-based) indices of the studies in ``mask``, for a note: ``"0, 3"``."""
    return ", ".join(map(str, np.flatnonzero(mask)))


def cochran_q(est: float, yi: F64, vi: F64, use: NDArray[np.bool_]) -> float:
    """Cochran's Q of the studies in ``use`` around the pooled ``est`` with weights ``1/vi`` (0 for one
    study or none), as metafor's ``rma.mh``."""
    if use.sum() <= 1:
        return 0.0
    return float(max(0.0, (((yi[use] - est) ** 2) / vi[use]).sum()))


def heterogeneity(q: float, k_yi: int) -> tuple[int, float, float, float]:
    """Q df, p-value and Q-based I², H² (Higgins & Thompson 2002) of ``k_yi`` studies with a study-level
    effect (metafor's ``rma.mh``/``rma.peto``: df 0, p 1, I² 0, H² 1 when ``k_yi`` ≤ 1)."""
    df = max(k_yi - 1, 0)
    q_p, i2, h2 = q_heterogeneity(q, df)
    return df, float(q_p), float(i2), float(h2)


def wald(est: float, se: float, level: float, zero_se: str) -> tuple[float, float, float, float]:
    """Wald z, two-sided p-value and CI at ``level``.  A zero standard error gives z and p NaN and a
    degenerate interval, as metafor, with a warning naming ``zero_se`` (what a zero SE means here)."""
    if not se > 0:
        warnings.warn(
            f"metaacu: the standard error of the pooled {zero_se}: z and p are not defined",
            RuntimeWarning,
            stacklevel=3,
        )
        return math.nan, math.nan, est, est
    crit = critical_value(level)
    z = est / se
    return z, float(two_sided_p(z)), est - crit * se, est + crit * se
