"""The result of a Mantel-Haenszel or Peto fit (:func:`metaacu.mantel_haenszel`, :func:`metaacu.peto`):
``BinaryPooled``, with its text summary, tidy frames and Jupyter display.  The fits are in
:mod:`metaacu.binary`.  ``EqualEffectsPooled`` holds what it shares with the Mantel-Haenszel result of
incidence rates (:class:`metaacu.binary_rates.RatesPooled`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ._validation import (
    check_choice,
    check_digits,
    check_level,
)
from .inference import critical_value
from .interval import Interval
from .measures import MeasureInfo, measure_info
from .report import SCALES, Printable, format_p, on_scale, pooling_name, scale_label

__all__ = ["BinaryPooled", "EqualEffectsPooled"]

F64 = NDArray[np.float64]

_METHOD_NAMES = {"MH": "Mantel-Haenszel", "Peto": "Peto"}


@dataclass(frozen=True, repr=False)
class EqualEffectsPooled(Printable):
    """What the equal-effects results of the Mantel-Haenszel / Peto methods share (:class:`BinaryPooled`
    of 2×2 tables, :class:`~metaacu.binary_rates.RatesPooled` of incidence rates): their first fields
    (attributes as documented there), the Wald interval, the tidy frame, the text summary and the repr.
    Each subclass adds its own fields, ending with ``notes``, names its input columns
    (``INPUT_COLUMNS``) and adds the lines of its own test of no association (``_association_lines``)."""

    #: The input columns of the study rows of :meth:`to_frame`, in order.
    INPUT_COLUMNS: ClassVar[tuple[str, ...]]

    method: str
    measure: str
    estimate: float
    se: float
    statistic: float
    pvalue: float
    ci_low: float
    ci_high: float
    q: float
    q_df: int
    q_pvalue: float
    i2: float
    h2: float
    k: int
    k_heterogeneity: int
    weights: F64
    yi: F64
    vi: F64
    labels: tuple[str, ...]
    level: float

    @property
    def notes(self) -> tuple[str, ...]:  # pragma: no cover - the subclasses' last field
        """Notes on the data's handling, in words."""
        raise NotImplementedError

    @property
    def info(self) -> MeasureInfo:
        """Registry entry of the measure."""
        return measure_info(self.measure)

    @property
    def tau2(self) -> float:
        """0: Mantel-Haenszel and Peto are equal-effects methods."""
        return 0.0

    def confidence_interval(self, level: float | None = None) -> Interval:
        """Wald interval for the pooled effect (pooling scale) at ``level`` (default: the result's)."""
        lv = self.level if level is None else check_level(level)
        z = critical_value(lv)
        return Interval(self.estimate - z * self.se, self.estimate + z * self.se, lv, "Wald (normal)")

    def to_frame(self, level: float | None = None, scale: str = "pooling") -> pd.DataFrame:
        """Tidy frame: one row per study and one pooled row (``row_type`` 'study' / 'pooled').

        Columns as :meth:`MetaAnalysis.to_frame`: ``row_type, label, estimate, se, ci_low, ci_high,
        weight, pi_low, pi_high`` and the input columns (``events1, n1, events2, n2`` of 2×2 tables,
        ``events1, time1, events2, time2`` of rates).  ``scale="pooling"`` (default): log OR / log RR /
        RD / log rate ratio / rate difference; ``scale="response"``: estimates and CIs back-transformed
        (odds, risk or rate ratio; identity for differences) and no ``se`` column.
        ``frame.attrs['scale']`` says which.
        """
        check_choice(scale, "scale", SCALES)
        lv = self.level if level is None else check_level(level)
        z = critical_value(lv)
        se = np.sqrt(self.vi)
        studies = pd.DataFrame(
            {
                "row_type": "study",
                "label": list(self.labels),
                "estimate": self.yi,
                "se": se,
                "ci_low": self.yi - z * se,
                "ci_high": self.yi + z * se,
                "weight": self.weights,
                "pi_low": np.nan,
                "pi_high": np.nan,
                **{c: getattr(self, c) for c in self.INPUT_COLUMNS},
            }
        )
        ci = self.confidence_interval(lv)
        pooled = pd.DataFrame(
            {
                "row_type": ["pooled"],
                "label": [f"Common effect ({self.method})"],
                "estimate": [self.estimate],
                "se": [self.se],
                "ci_low": [ci.low],
                "ci_high": [ci.high],
                "weight": [100.0],
                "pi_low": [np.nan],
                "pi_high": [np.nan],
            }
        )
        out = pd.concat([studies, pooled], ignore_index=True)
        out.attrs.update({"measure": self.measure, "level": lv, "method": self.method, "test": "z"})
        return on_scale(out, self.measure, scale)

    def _table_caption(self) -> str:
        return scale_label(self.info)

    def _association_lines(self, d: int) -> list[str]:
        """The summary's lines of the test of no association, at ``d`` decimals (none by default)."""
        return []

    def summary(self, digits: int = 4) -> str:
        """Multi-line text summary, in the spirit of metafor's ``print.rma.mh``."""
        d = check_digits(digits)
        name = _METHOD_NAMES[self.method]
        lines = [f"Equal-effects model, {name} method (k = {self.k}; {self.info.name})", ""]
        lines.append(f"I^2 = {self.i2:.2f}%   H^2 = {self.h2:.2f}")
        lines.append(
            f"Q({self.q_df}) = {self.q:.{d}f}, {format_p(self.q_pvalue)}"
            f"  (k = {self.k_heterogeneity} studies with a study-level effect)"
        )
        lines.append("")
        if self.info.is_ratio:
            lines.append(f"Pooling scale ({pooling_name(self.info)}):")
        lines.append(
            f"estimate = {self.estimate:.{d}f}  se = {self.se:.{d}f}  z = {self.statistic:.{d}f}  "
            f"{format_p(self.pvalue)}"
        )
        lab = f"{100 * self.level:g}% CI"
        lines.append(f"{lab}: {self.ci_low:.{d}f} to {self.ci_high:.{d}f}")
        if self.info.is_ratio:
            t = self.info.to_display
            lines.append("Back-transformed (exp):")
            lines.append(
                f"{self.info.display_name}: {float(t(self.estimate)):.{d}f} ({lab} {float(t(self.ci_low)):.{d}f} "
                f"to {float(t(self.ci_high)):.{d}f})"
            )
        lines.extend(self._association_lines(d))
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.method} {self.measure} k={self.k} estimate={self.estimate:.4g} "
            f"[{self.ci_low:.4g}, {self.ci_high:.4g}] Q={self.q:.4g} I2={self.i2:.1f}%>"
        )


@dataclass(frozen=True, repr=False)
class BinaryPooled(EqualEffectsPooled):
    """Result of a Mantel-Haenszel or Peto pooled analysis (an equal-effects model).

    Attributes
    ----------
    method : str
        ``"MH"`` or ``"Peto"``.
    measure : str
        ``"OR"``, ``"RR"``, ``"RD"`` (MH) or ``"PETO"`` (Peto log odds ratio).
    estimate, se : float
        Pooled effect on the pooling scale (log OR / log RR / RD) and its standard error.
    statistic, pvalue : float
        Wald z and two-sided p-value.
    ci_low, ci_high : float
        Wald confidence interval at ``level``.
    q, q_df, q_pvalue : float, int, float
        Cochran's Q around the pooled estimate with weights ``1/vi`` of the studies that have
        ``yi``/``vi`` (Peto: ``Σ(O − E)²/V − (Σ(O − E))²/ΣV``), df ``k_heterogeneity − 1``.
    i2, h2 : float
        Q-based I² (percent) and H² = Q/df.
    k : int
        Number of tables in the pooled estimate.
    k_heterogeneity : int
        Number of studies with a study-level effect (entering Q).
    weights : ndarray
        Per-study weights in percent (NaN for tables not used).
    yi, vi : ndarray
        Study-level effects and variances (1/2 added to zero-cell tables; NaN for double-zero tables).
    labels : tuple of str
    level : float
    correction : str
        ``"metafor"`` or ``"revman5"`` (Peto: ``"metafor"``).
    cmh, cmh_pvalue : float
        Cochran-Mantel-Haenszel test of no association, with continuity correction (MH OR only;
        NaN otherwise).
    events1, n1, events2, n2 : ndarray
        The input counts.
    notes : tuple of str
        Zero-cell handling and dropped tables, in words.
    """

    correction: str
    cmh: float
    cmh_pvalue: float
    events1: F64
    n1: F64
    events2: F64
    n2: F64
    notes: tuple[str, ...] = ()

    INPUT_COLUMNS: ClassVar[tuple[str, ...]] = ("events1", "n1", "events2", "n2")

    def _association_lines(self, d: int) -> list[str]:
        if not np.isfinite(self.cmh):
            return []
        return [f"Cochran-Mantel-Haenszel test: CMH = {self.cmh:.{d}f}, df = 1, {format_p(self.cmh_pvalue)}"]
