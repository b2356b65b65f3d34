"""The registry of effect-size measures: what each code means, on which scale it is pooled and how a
pooled value is shown on its natural scale (the back-transformation).

Back-transformations, as metafor's ``transf.*`` functions: ``exp`` (ratios, log rates), inverse logit,
``tanh`` (Fisher's z → r, ``transf.ztor``), ``sin²`` (arcsine square root, ``transf.iarcsin``), the
square (``transf.isqrt``) and the inverse Freeman-Tukey transformations of a proportion (Miller 1978;
``transf.ipft``, and ``transf.ipft.hm`` with the harmonic mean of the studies' n for a pooled value) and
of an incidence rate (``transf.iirft``; a pooled value with the harmonic mean of the person-times).
The two Freeman-Tukey inversions need a sample size (``size``): each study's own for a study, the
harmonic mean of all studies' for a pooled value (:meth:`MeasureInfo.pooled_size`).

References
----------
Freeman MF, Tukey JW. Transformations related to the angular and the square root. Ann Math Stat
1950;21:607-611.
Miller JJ. The inverse of the Freeman-Tukey double arcsine transformation. Am Stat 1978;32:138.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["MEASURES", "SCALES", "MeasureInfo", "measure_info"]

F64 = NDArray[np.float64]

#: Every pooling scale and, in words, the back-transformation to the natural scale.
SCALES: Final[dict[str, str]] = {
    "identity": "identity",
    "log": "exp",
    "logit": "inverse logit",
    "tanh": "tanh (Fisher's z to correlation)",
    "arcsine": "sin² (inverse arcsine square root)",
    "square_root": "square",
    "freeman_tukey": "inverse Freeman-Tukey, Miller 1978",
    "freeman_tukey_rate": "inverse Freeman-Tukey",
}
#: Scales whose back-transformation needs a sample size, and the data column that holds it.
_SIZE_COLUMNS: Final = {"freeman_tukey": "n", "freeman_tukey_rate": "time"}
#: Families of one-group measures (a proportion, an incidence rate): no value means "no effect".
_ONE_GROUP: Final = frozenset({"proportion", "rate"})


def _pft(p: F64, n: F64) -> F64:
    """Freeman-Tukey double arcsine of a proportion ``p`` of ``n`` (metafor's ``transf.pft``)."""
    x = p * n
    return np.asarray(0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1)))))


def _ipft(x: F64, n: F64) -> F64:
    """Miller's (1978) inverse of the double arcsine at sample size ``n`` (metafor's ``transf.ipft``):
    0 below the transform of 0 events, 1 above that of n events."""
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sin(2 * x)
        z = 0.5 * (1 - np.sign(np.cos(2 * x)) * np.sqrt(1 - (s + (s - 1 / s) / n) ** 2))
    z = np.where(x > _pft(np.ones_like(n), n), 1.0, z)
    return np.asarray(np.where(x < _pft(np.zeros_like(n), n), 0.0, z))


def _iirft(x: F64, t: F64) -> F64:
    """Inverse of the Freeman-Tukey transformation ``(√(x/t) + √((x + 1)/t))/2`` of an incidence rate at
    person-time ``t`` (metafor's ``transf.iirft``): 0 below the transform of no events."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (1 / t - 8 * x**2 + 16 * t * x**4) / (16 * x**2 * t)
    z = np.where(x < 0.5 * np.sqrt(1 / t), 0.0, z)
    return np.asarray(np.where(z <= np.finfo(float).eps, 0.0, z))


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
        The summary data it is computed from: ``"continuous"`` (two groups' means and SDs),
        ``"binary"`` (2×2 tables), ``"proportion"`` (events of one group), ``"paired"`` (two
        measurements of one group: means, SDs, their correlation), ``"rate"`` (events and person-time of
        one group), ``"two_rates"`` (events and person-time of two groups), ``"correlation"``
        (correlation coefficients) or ``"generic"``.
    scale : str
        Scale on which it is pooled, a key of :data:`SCALES`: ``"identity"``, ``"log"`` (ratios, log
        rates), ``"logit"``, ``"tanh"`` (Fisher's z), ``"arcsine"``, ``"square_root"``,
        ``"freeman_tukey"`` (proportions) or ``"freeman_tukey_rate"`` (incidence rates).
    display : str
        Name of the back-transformed quantity when it is not derived from ``name`` ("" otherwise).
    """

    code: str
    name: str
    family: str
    scale: str = "identity"
    display: str = ""

    @property
    def single_group(self) -> bool:
        """True for one-group measures (proportions, incidence rates), which have no value of "no effect"."""
        return self.family in _ONE_GROUP

    @property
    def is_ratio(self) -> bool:
        """True when the measure is a ratio of two groups, pooled on the log scale and shown as a ratio
        (a log incidence rate of one group is on the log scale but not a ratio)."""
        return self.scale == "log" and not self.single_group

    @property
    def display_name(self) -> str:
        """The name of the back-transformed quantity (``"Risk ratio"`` for ``"RR"``, ``"Proportion"`` for
        ``"PLO"``, ``"Correlation"`` for ``"ZCOR"``)."""
        if self.display:
            return self.display
        if self.scale == "logit":
            return self.name.removeprefix("Logit ").capitalize()
        if self.scale != "log":
            return self.name
        rest = self.name.removeprefix("Log ")
        return rest[0].upper() + rest[1:]

    @property
    def transform_name(self) -> str:
        """The back-transformation in words (``"exp"``, ``"inverse logit"``, ``"identity"`` ...)."""
        return SCALES[self.scale]

    @property
    def null_value(self) -> float:
        """No effect on the display scale: 1 for ratios, 0 otherwise."""
        return 1.0 if self.is_ratio else 0.0

    @property
    def size_column(self) -> str | None:
        """The data column whose values the back-transformation needs (``"n"`` for ``"PFT"``, ``"time"``
        for ``"IRFT"``), or ``None``."""
        return _SIZE_COLUMNS.get(self.scale)

    @staticmethod
    def pooled_size(sizes: ArrayLike) -> float:
        """The size at which a pooled value is back-transformed: the harmonic mean of the studies' sizes
        (metafor's ``transf.ipft.hm``; missing values ignored)."""
        s = np.asarray(sizes, dtype=np.float64)
        s = s[np.isfinite(s)]
        return float(1.0 / np.mean(1.0 / s)) if s.size else float("nan")

    def to_display(self, x: ArrayLike, size: ArrayLike | None = None) -> F64:
        """Back-transform pooling-scale values to the display scale (``exp`` for ratios, inverse logit
        for ``"PLO"``, ``tanh`` for ``"ZCOR"`` ...).

        ``size`` (one, or one per value) is needed by the Freeman-Tukey measures ``"PFT"`` (the sample
        size n) and ``"IRFT"`` (the person-time): a study's own for a study, :meth:`pooled_size` of the
        studies' for a pooled value.  Other measures ignore it.
        """
        from ._validation import MetaacuInputError

        a = np.asarray(x, dtype=np.float64)
        s = self.scale
        if s == "log":
            return np.exp(a)
        if s == "logit":
            return 1.0 / (1.0 + np.exp(-a))
        if s == "tanh":
            return np.tanh(a)
        if s == "arcsine":  # metafor's transf.iarcsin: 0 below 0, 1 above pi/2
            return np.where(a < 0, 0.0, np.where(a > np.pi / 2, 1.0, np.sin(a) ** 2))
        if s == "square_root":
            return np.where(a < 0, 0.0, a * a)
        if s in _SIZE_COLUMNS:
            if size is None:
                raise MetaacuInputError(
                    f"back-transforming {self.code!r} needs the studies' {_SIZE_COLUMNS[s]!r} (for a pooled value "
                    f"their harmonic mean): compute the effects with effect_sizes({self.code!r}, ...) and fit those"
                )
            n = np.broadcast_to(np.asarray(size, dtype=np.float64), a.shape)
            return _ipft(a, n) if s == "freeman_tukey" else _iirft(a, n)
        return a


MEASURES: Final[dict[str, MeasureInfo]] = {
    m.code: m
    for m in (
        MeasureInfo("MD", "Mean difference", "continuous"),
        MeasureInfo("SMD", "Standardised mean difference (Hedges' g)", "continuous"),
        MeasureInfo("SMDH", "Standardised mean difference, heteroscedastic", "continuous"),
        MeasureInfo("ROM", "Log ratio of means", "continuous", "log"),
        MeasureInfo("D2ORN", "Log odds ratio from the standardised mean difference (normal)", "continuous", "log"),
        MeasureInfo("D2ORL", "Log odds ratio from the standardised mean difference (logistic)", "continuous", "log"),
        MeasureInfo("D2OR", "Log odds ratio from the standardised mean difference (logistic)", "continuous", "log"),
        MeasureInfo("RR", "Log risk ratio", "binary", "log"),
        MeasureInfo("OR", "Log odds ratio", "binary", "log"),
        MeasureInfo("PETO", "Log odds ratio (Peto)", "binary", "log"),
        MeasureInfo("RD", "Risk difference", "binary"),
        MeasureInfo("AS", "Arcsine square-root risk difference", "binary"),
        MeasureInfo("OR2DN", "Standardised mean difference from the log odds ratio (normal)", "binary"),
        MeasureInfo("OR2DL", "Standardised mean difference from the log odds ratio (logistic)", "binary"),
        MeasureInfo("OR2D", "Standardised mean difference from the log odds ratio (logistic)", "binary"),
        MeasureInfo("PR", "Proportion", "proportion"),
        MeasureInfo("PLO", "Logit proportion", "proportion", "logit"),
        MeasureInfo("PAS", "Arcsine square-root proportion", "proportion", "arcsine", "Proportion"),
        MeasureInfo("PFT", "Freeman-Tukey double-arcsine proportion", "proportion", "freeman_tukey", "Proportion"),
        MeasureInfo("MC", "Mean change", "paired"),
        MeasureInfo("SMCC", "Standardised mean change (change-score standardisation)", "paired"),
        MeasureInfo("SMCR", "Standardised mean change (raw-score standardisation)", "paired"),
        MeasureInfo("SMCRH", "Standardised mean change (raw-score standardisation), heteroscedastic", "paired"),
        MeasureInfo("ROMC", "Log ratio of means (paired)", "paired", "log"),
        MeasureInfo("IR", "Incidence rate", "rate"),
        MeasureInfo("IRLN", "Log incidence rate", "rate", "log"),
        MeasureInfo("IRS", "Square-root incidence rate", "rate", "square_root", "Incidence rate"),
        MeasureInfo("IRFT", "Freeman-Tukey incidence rate", "rate", "freeman_tukey_rate", "Incidence rate"),
        MeasureInfo("IRR", "Log incidence rate ratio", "two_rates", "log"),
        MeasureInfo("IRD", "Incidence rate difference", "two_rates"),
        MeasureInfo("COR", "Correlation", "correlation"),
        MeasureInfo("UCOR", "Correlation, bias-corrected", "correlation"),
        MeasureInfo("ZCOR", "Fisher's z-transformed correlation", "correlation", "tanh", "Correlation"),
        MeasureInfo("GEN", "Effect", "generic"),
    )
}


def measure_info(code: str | None) -> MeasureInfo:
    """Look up a measure code; ``None`` means a generic effect on the identity scale."""
    from ._validation import check_choice

    if code is None:
        return MEASURES["GEN"]
    return MEASURES[check_choice(code, "measure", MEASURES)]
