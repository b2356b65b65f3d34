"""Mantel-Haenszel pooling of incidence rates: the rate ratio (``"IRR"``) and the rate difference
(``"IRD"``) of events in person-time, metafor's ``rma.mh(measure="IRR"/"IRD", x1i, t1i, x2i, t2i)`` (an
equal-effects model).  Inputs are the event counts and the person-times at risk of group 1
(experimental) and group 2 (control).

With ``T = t1 + t2`` per study:

* IRR ``= R/S``, ``R = Σ x1 t2/T``, ``S = Σ x2 t1/T``; variance of the log ``Σ(t1 t2 (x1 + x2)/T²)/(R S)``
  (Greenland & Robins 1985, eq. 12); weights ``x2 t1/T``.  The Mantel-Haenszel test of no association,
  ``(|Σ(x1 − (x1 + x2) t1/T)| − 1/2)² / Σ((x1 + x2) t1 t2/T²)`` on 1 df (Rothman & Greenland 1998,
  eq. 15-23; the 1/2 is metafor's ``correct=TRUE``, ``continuity=True``).
* IRD ``= Σ(x1 t2 − x2 t1)/T / Σ(t1 t2/T)``; variance ``Σ((t1 t2/T)² (x1/t1² + x2/t2²)) / (Σ t1 t2/T)²``
  (Greenland & Robins 1985, eq. 13); weights ``t1 t2/T``.

Zero counts as metafor 3.8 (its defaults, ``add = c(1/2, 0)``, ``to = c("only0", "none")``,
``drop00 = c(TRUE, FALSE)``): the pooled estimate uses the **raw** counts of every study; 1/2 is added to
both event counts of a study with no events in a group only for the study-level ``yi``/``vi`` (Cochran's
Q and the displayed study CIs); a study with no events in either group gets no ``yi``/``vi`` and is left
out of Q, but keeps its weight in the IRD (none in the IRR, to which it contributes nothing).

References
----------
Greenland S, Robins JM. Estimation of a common effect parameter from sparse follow-up data.
Biometrics 1985;41:55-68.
Rothman KJ, Greenland S. Modern Epidemiology, 2nd ed. Lippincott-Raven 1998, chapter 15.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._validation import MetaacuInputError, check_bool, check_choice, check_labels, check_level, readonly
from .binary_common import check_effect_sizes_alone, check_same_measure, cochran_q, heterogeneity, study_index, wald
from .binary_result import EqualEffectsPooled
from .escalc import EffectSizes, data_column
from .escalc_family import Options, add_to_events, validate_columns
from .escalc_rates import TWO_RATES, two_rates_yi_vi
from .report import format_p

__all__ = ["MH_RATE_MEASURES", "RatesPooled", "mantel_haenszel_rates"]

F64 = NDArray[np.float64]

MH_RATE_MEASURES: Final = ("IRR", "IRD")
_COLUMNS: Final = ("events1", "time1", "events2", "time2")


@dataclass(frozen=True, repr=False)
class RatesPooled(EqualEffectsPooled):
    """Result of a Mantel-Haenszel pooled incidence-rate ratio or difference (an equal-effects model).

    Attributes
    ----------
    method : str
        ``"MH"``.
    measure : str
        ``"IRR"`` (pooled on the log scale) or ``"IRD"``.
    estimate, se : float
        Pooled log rate ratio (or rate difference) and its standard error.
    statistic, pvalue : float
        Wald z and two-sided p-value (NaN when the standard error is 0).
    ci_low, ci_high : float
        Wald confidence interval at ``level``.
    q, q_df, q_pvalue : float, int, float
        Cochran's Q around the pooled estimate with weights ``1/vi`` of the studies that have a
        study-level effect, df ``k_heterogeneity − 1``.
    i2, h2 : float
        Q-based I² (percent) and H² = Q/df.
    k : int
        Number of studies in the pooled estimate.
    k_heterogeneity : int
        Number of studies with a study-level effect (entering Q).
    weights : ndarray
        Mantel-Haenszel weights in percent.
    yi, vi : ndarray
        Study-level effects and variances (1/2 added to the event counts of studies with no events in a
        group; NaN for studies with no events in either).
    labels : tuple of str
    level : float
    mh, mh_pvalue : float
        Mantel-Haenszel test of no association (IRR only; NaN otherwise).
    continuity : bool
        Whether the test has the continuity correction 1/2.
    events1, time1, events2, time2 : ndarray
        The input counts and person-times.
    notes : tuple of str
        Zero-count handling, in words.
    """

    mh: float
    mh_pvalue: float
    continuity: bool
    events1: F64
    time1: F64
    events2: F64
    time2: F64
    notes: tuple[str, ...] = ()

    INPUT_COLUMNS: ClassVar[tuple[str, ...]] = _COLUMNS

    def _association_lines(self, d: int) -> list[str]:
        if not np.isfinite(self.mh):
            return []
        cc = "with" if self.continuity else "without"
        return [
            f"Mantel-Haenszel test ({cc} continuity correction): MH = {self.mh:.{d}f}, df = 1, "
            f"{format_p(self.mh_pvalue)}"
        ]


def _inputs(
    given: tuple[object, ...], data: pd.DataFrame | None, labels: ArrayLike | str | None, measure: str | None
) -> tuple[dict[str, object], ArrayLike | None, str]:
    """The three ways of giving the data (an :class:`EffectSizes` of IRR/IRD, arrays, column names of
    ``data``) → the four columns, the labels and the measure."""
    if isinstance(given[0], EffectSizes):
        es = given[0]
        check_effect_sizes_alone(
            "mantel_haenszel_rates", "the data", ("time1", "events2", "time2", "data"), (*given[1:], data)
        )
        if es.info.family != "two_rates":
            raise MetaacuInputError(
                "mantel_haenszel_rates() needs events and person-times of two groups: argument 'events1' is an "
                f"EffectSizes of measure {es.measure!r}; give effect sizes of 'IRR' or 'IRD' (for 2x2 tables "
                "use mantel_haenszel())"
            )
        check_same_measure(measure, es)
        return {c: es.data[c].to_numpy() for c in _COLUMNS}, es.labels if labels is None else labels, es.measure
    if missing := [n for n, v in zip(_COLUMNS, given, strict=True) if v is None]:
        raise MetaacuInputError(
            "mantel_haenszel_rates() needs events1, time1, events2 and time2 (arrays, or column names with "
            f"data=); missing argument(s) {', '.join(missing)}"
        )
    cols = {n: data_column(data, n, v) for n, v in zip(_COLUMNS, given, strict=True)}
    return cols, data_column(data, "labels", labels), "IRR" if measure is None else measure


#: What a zero standard error of the pooled estimate means for rates (the warning of ``wald``).
_ZERO_SE = "rate difference is 0 (no events in any study)"


def mantel_haenszel_rates(
    events1: ArrayLike | str | EffectSizes | None = None,
    time1: ArrayLike | str | None = None,
    events2: ArrayLike | str | None = None,
    time2: ArrayLike | str | None = None,
    *,
    data: pd.DataFrame | None = None,
    measure: str | None = None,
    level: float = 0.95,
    continuity: bool = True,
    labels: ArrayLike | str | None = None,
) -> RatesPooled:
    """Mantel-Haenszel pooled incidence-rate ratio or rate difference (metafor's ``rma.mh`` with
    ``x1i, t1i, x2i, t2i``).

    Parameters
    ----------
    events1, time1, events2, time2 : array-like or str
        Events and person-time at risk in group 1 (experimental) and group 2 (control), or column names
        of ``data``.  Or ``events1`` alone: an :class:`~metaacu.EffectSizes` of ``"IRR"`` or ``"IRD"``
        (``effect_sizes("IRR", ...)``), whose data and labels are used.
    data : DataFrame, optional
        If given, the columns (and ``labels``) may be column names.
    measure : {"IRR", "IRD"}, optional
        Default: the measure of an :class:`EffectSizes`, else ``"IRR"`` (pooled on the log scale).
    level : float
        Confidence level, a fraction.
    continuity : bool
        Continuity correction 1/2 in the Mantel-Haenszel test of the IRR (metafor's ``correct``).
    labels : array-like or str, optional
        Study labels (or a column of ``data``).

    Returns
    -------
    RatesPooled

    Notes
    -----
    The formulas are in the module notes (Greenland & Robins 1985).  The pooled estimate uses the raw
    counts; the study-level effects (Q, displayed CIs) are metafor's ``escalc`` with 1/2 added to the
    event counts of a study with no events in a group, and none for a study without events.  An IRR is
    refused when a group has no events in any study (metafor returns NA).

    Examples
    --------
    >>> res = mantel_haenszel_rates([9, 8, 3], [413, 263, 487], [19, 19, 13], [398, 245, 435])
    >>> round(float(np.exp(res.estimate)), 4)
    0.3674
    """
    cols, labels, measure = _inputs((events1, time1, events2, time2), data, labels, measure)
    measure = check_choice(measure, "measure", MH_RATE_MEASURES)
    lv = check_level(level)
    continuity = check_bool(continuity, "continuity")
    named = check_labels(labels)
    arr = validate_columns(cols, TWO_RATES.kinds, named)
    x1, t1, x2, t2 = (arr[c] for c in _COLUMNS)
    labs = check_labels(labels, x1.size)
    assert labs is not None
    # study-level effects as metafor's escalc(add = 1/2, to = "only0", drop00 = TRUE)
    none = (x1 == 0) & (x2 == 0)
    zero = ((x1 == 0) | (x2 == 0)) & ~none
    corrected = add_to_events(arr, 0.5 * zero, ("events1", "events2"))
    with np.errstate(divide="ignore", invalid="ignore"):
        yi, vi = two_rates_yi_vi(measure, corrected, Options())
    yi, vi = np.where(none, np.nan, yi), np.where(none, np.nan, vi)
    notes: list[str] = []
    if zero.any():
        notes.append(
            f"study-level effects: 1/2 added to the event counts of study index {study_index(zero)} "
            "(no events in a group)"
        )
    if none.any():
        what = "contribute nothing to the IRR" if measure == "IRR" else "keep their weight in the IRD"
        notes.append(
            f"study index {study_index(none)} (no events in either group): no study-level effect, left out of Q; raw "
            f"counts kept in the MH estimate, where they {what} (metafor's rma.mh)"
        )
    tt = t1 + t2
    mh = mh_p = math.nan
    if measure == "IRR":
        if x1.sum() == 0 or x2.sum() == 0:
            g = "1" if x1.sum() == 0 else "2"
            raise MetaacuInputError(
                f"the Mantel-Haenszel rate ratio is not defined: no events in group {g} of any study (argument "
                f"'events{g}'); use measure='IRD'"
            )
        r, s = float((x1 * t2 / tt).sum()), float((x2 * t1 / tt).sum())
        est = math.log(r / s)
        se = math.sqrt(float(((t1 / tt) * (t2 / tt) * (x1 + x2)).sum()) / (r * s))
        w = x2 * t1 / tt
        xt = x1 + x2
        mh = float(
            (abs((x1 - xt * t1 / tt).sum()) - (0.5 if continuity else 0.0)) ** 2 / (xt * (t1 / tt) * (t2 / tt)).sum()
        )
        mh_p = float(special.chdtrc(1, mh))
    else:
        w = t1 / tt * t2
        est = float(((x1 * t2 - x2 * t1) / tt).sum() / w.sum())
        se = float(np.sqrt((w**2 * (x1 / t1**2 + x2 / t2**2)).sum()) / w.sum())
    ok = ~none
    k_yi = int(ok.sum())
    q = cochran_q(est, yi, vi, ok)
    q_df, q_p, i2, h2 = heterogeneity(q, k_yi)
    zval, pval, lo, hi = wald(est, se, lv, _ZERO_SE)
    return RatesPooled(
        method="MH",
        measure=measure,
        estimate=est,
        se=se,
        statistic=zval,
        pvalue=pval,
        ci_low=lo,
        ci_high=hi,
        q=q,
        q_df=q_df,
        q_pvalue=q_p,
        i2=i2,
        h2=h2,
        k=int(x1.size),
        k_heterogeneity=k_yi,
        weights=readonly(100.0 * w / w.sum()),
        yi=readonly(np.asarray(yi, float)),
        vi=readonly(np.asarray(vi, float)),
        labels=labs,
        level=lv,
        mh=mh,
        mh_pvalue=mh_p,
        continuity=continuity,
        events1=readonly(x1.copy()),
        time1=readonly(t1.copy()),
        events2=readonly(x2.copy()),
        time2=readonly(t2.copy()),
        notes=tuple(notes),
    )
