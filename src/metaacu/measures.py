"""The registry of effect-size measures: what each code means and on which scale it is pooled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["MEASURES", "MeasureInfo", "measure_info"]


@dataclass(frozen=True)
class MeasureInfo:
    """Facts about one effect-size measure.

    Attributes
    ----------
    code : str
        Short code as in metafor's ``escalc`` (``"SMD"``, ``"RR"`` ...).
    name : str
        Full name for labels.
    family : str
        ``"continuous"``, ``"binary"``, ``"proportion"`` or ``"generic"``.
    scale : str
        Scale on which it is pooled: ``"identity"``, ``"log"`` (ratios) or ``"logit"``.
    """

    code: str
    name: str
    family: str
    scale: str = "identity"

    @property
    def is_ratio(self) -> bool:
        """True when the measure is pooled on the log scale and shown as a ratio."""
        return self.scale == "log"

    @property
    def display_name(self) -> str:
        """The name of the back-transformed quantity (``"Risk ratio"`` for ``"RR"``, ``"Proportion"`` for
        ``"PLO"``)."""
        if self.scale == "logit":
            return self.name.removeprefix("Logit ").capitalize()
        if self.scale != "log":
            return self.name
        rest = self.name.removeprefix("Log ")
        return rest[0].upper() + rest[1:]

    @property
    def null_value(self) -> float:
        """No effect on the display scale: 1 for ratios, 0 otherwise."""
        return 1.0 if self.is_ratio else 0.0

    def to_display(self, x: ArrayLike) -> NDArray[np.float64]:
        """Back-transform pooled-scale values to the display scale (``exp`` for ratios,
        inverse logit for ``"PLO"``)."""
        a = np.asarray(x, dtype=np.float64)
        if self.scale == "log":
            return np.exp(a)
        if self.scale == "logit":
            return 1.0 / (1.0 + np.exp(-a))
        return a


MEASURES: Final[dict[str, MeasureInfo]] = {
    m.code: m
    for m in (
        MeasureInfo("MD", "Mean difference", "continuous"),
        MeasureInfo("SMD", "Standardised mean difference (Hedges' g)", "continuous"),
        MeasureInfo("SMDH", "Standardised mean difference, heteroscedastic", "continuous"),
        MeasureInfo("ROM", "Log ratio of means", "continuous", "log"),
        MeasureInfo("RR", "Log risk ratio", "binary", "log"),
        MeasureInfo("OR", "Log odds ratio", "binary", "log"),
        MeasureInfo("PETO", "Log odds ratio (Peto)", "binary", "log"),
        MeasureInfo("RD", "Risk difference", "binary"),
        MeasureInfo("PR", "Proportion", "proportion"),
        MeasureInfo("PLO", "Logit proportion", "proportion", "logit"),
        MeasureInfo("GEN", "Effect", "generic"),
    )
}


def measure_info(code: str | None) -> MeasureInfo:
    """Look up a measure code; ``None`` means a generic effect on the identity scale."""
    from ._validation import check_choice

    if code is None:
        return MEASURES["GEN"]
    return MEASURES[check_choice(code, "measure", MEASURES)]
