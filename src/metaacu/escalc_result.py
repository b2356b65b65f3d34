"""The result of :func:`metaacu.effect_sizes`: :class:`EffectSizes` (re-exported by ``metaacu.escalc``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import MetaacuInputError, check_level, readonly
from .inference import critical_value
from .interval import Interval
from .measures import MeasureInfo, measure_info
from .report import Printable

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EffectSizes"]

F64 = NDArray[np.float64]


@dataclass(frozen=True, repr=False)
class EffectSizes(Printable):
    """Study-level effect sizes with their sampling variances.

    Attributes
    ----------
    measure : str
        Measure code (see :data:`metaacu.measures.MEASURES`).
    yi, vi : ndarray
        Effect sizes (pooling scale, e.g. log RR) and sampling variances, one per study.
    labels : tuple of str
        Study labels.
    data : pandas.DataFrame
        The summary data the effects were computed from (after no modification).
    adjustments : tuple of str
        Every change made to the input, e.g. continuity corrections, in words.  Empty if none.
    adjusted : ndarray of bool
        Per study, whether a correction was applied.
    options : dict
        Options that change the numbers (``vtype``, ``add``, ``to``, ``correlation`` ...).
    """

    measure: str
    yi: F64
    vi: F64
    labels: tuple[str, ...]
    data: pd.DataFrame
    adjustments: tuple[str, ...] = ()
    adjusted: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def k(self) -> int:
        """Number of studies."""
        return int(self.yi.size)

    @property
    def info(self) -> MeasureInfo:
        """The measure's registry entry."""
        return measure_info(self.measure)

    @property
    def sei(self) -> F64:
        """Standard errors ``√vi``."""
        return np.sqrt(self.vi)

    def confidence_interval(self, level: float = 0.95) -> Interval:
        """Per-study Wald interval ``yi ± z·√vi`` (arrays in ``low``/``high``)."""
        lv = check_level(level)
        z = critical_value(lv)
        return Interval(self.yi - z * self.sei, self.yi + z * self.sei, lv, "Wald (normal)")

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Tidy frame: one row per study with label, inputs, yi, vi, se, ci_low, ci_high."""
        import pandas as pd  # not at import: one fit needs no pandas

        ci = self.confidence_interval(level)
        out = pd.DataFrame({"label": list(self.labels)})
        for col in self.data.columns:
            out[col] = self.data[col].to_numpy()
        out["yi"], out["vi"], out["se"] = self.yi, self.vi, self.sei
        out["ci_low"], out["ci_high"] = ci.low, ci.high
        out["adjusted"] = self.adjusted
        return out

    def subset(self, keep: ArrayLike) -> EffectSizes:
        """The studies selected by a boolean mask (one entry per study) or by 0-based indices."""
        sel = np.asarray(keep)
        if sel.dtype == bool:
            if sel.shape != (self.k,):
                raise MetaacuInputError(
                    f"argument 'keep': a boolean mask needs {self.k} entries, got shape {sel.shape}"
                )
            idx = np.flatnonzero(sel)
        elif sel.size == 0 or np.issubdtype(sel.dtype, np.integer):
            idx = sel.astype(np.intp).reshape(-1)
            if (out := (idx < 0) | (idx >= self.k)).any():
                raise MetaacuInputError(
                    f"argument 'keep': indices must be 0 to {self.k - 1}; got {idx[out].tolist()[:5]}"
                )
        else:
            raise MetaacuInputError(f"argument 'keep' must be a boolean mask or integer indices; got dtype {sel.dtype}")
        note = tuple(a for a in self.adjustments)  # adjustments name study indices of the full set
        return EffectSizes(
            self.measure,
            readonly(self.yi[idx].copy()),
            readonly(self.vi[idx].copy()),
            tuple(self.labels[i] for i in idx),
            self.data.iloc[idx].reset_index(drop=True),
            note,
            readonly(self.adjusted[idx].copy()),
            dict(self.options),
        )

    def __len__(self) -> int:
        return self.k

    def __repr__(self) -> str:
        note = f", {len(self.adjustments)} adjustment(s)" if self.adjustments else ""
        return f"<EffectSizes measure={self.measure!r} k={self.k}{note}>"

    def summary(self) -> str:
        """The measure, the number of studies and every adjustment made (continuity corrections)."""
        lines = [f"{self.info.name} ({self.measure}), k = {self.k}"]
        lines += [f"  {a}" for a in self.adjustments]
        return "\n".join(lines)
