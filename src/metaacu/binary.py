"""Pooling 2×2 tables without study-level weights from ``1/vi``: Mantel-Haenszel and Peto.

The counterparts of metafor's ``rma.mh`` and ``rma.peto`` (equal-effects models).  Inputs are event
counts and group totals (``events1, n1`` experimental, ``events2, n2`` control), not non-events.

Zero cells, as metafor 3.8 (the default, ``correction="metafor"``):

* the pooled MH / Peto estimate uses the **raw** counts of every table;
* 1/2 is added to every cell of a table with a zero cell only for the study-level ``yi``/``vi``
  (displayed study CIs and Cochran's Q);
* tables with no events in both arms, or only events in both arms ("double-zero"), get no
  ``yi``/``vi`` (escalc's ``drop00=TRUE``): they are left out of Q and its degrees of freedom, but
  stay in the pooled estimate, where for OR and Peto they contribute nothing and for RR (all
  events) and RD they do carry weight.

``correction="revman5"`` follows RevMan 5 for OR and RR: double-zero tables are dropped entirely
and 1/2 is added to every cell of tables with a zero cell *inside* the MH estimate (metafor:
``rma.mh(add=c(1/2, 1/2), to=c("only0", "only0"), drop00=c(TRUE, TRUE))``).  For RD RevMan adds
nothing and keeps double-zero tables, which is what the default does.

Standard errors: MH log OR — Robins, Breslow & Greenland (1986); MH log RR — Greenland & Robins
(1985); MH RD — Sato, Greenland & Robins (1989), as metafor.  RevMan 5 and R meta use the
Greenland & Robins (1985) variance for the MH RD, so their RD standard errors differ slightly.

References
----------
Mantel N, Haenszel W. J Natl Cancer Inst 1959;22:719-748.
Robins J, Breslow N, Greenland S. Biometrics 1986;42:311-323.
Greenland S, Robins JM. Biometrics 1985;41:55-68.
Sato T, Greenland S, Robins JM. Biometrics 1989;45:1323-1324.
Yusuf S, Peto R, Lewis J, Collins R, Sleight P. Prog Cardiovasc Dis 1985;27:335-371.
Deeks JJ, Higgins JPT. Statistical algorithms in Review Manager 5. Cochrane; 2010.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._validation import (
    MetaacuInputError,
    as_float_array,
    check_choice,
    check_events_within_totals,
    check_labels,
    check_level,
    check_same_length,
    readonly,
)
from .binary_common import check_effect_sizes_alone, check_same_measure, cochran_q, heterogeneity, study_index, wald
from .binary_result import BinaryPooled
from .escalc import EffectSizes, binary_yi_vi, data_column

__all__ = ["MH_CORRECTIONS", "MH_MEASURES", "BinaryPooled", "mantel_haenszel", "peto"]

F64 = NDArray[np.float64]

MH_MEASURES: Final = ("OR", "RR", "RD")
MH_CORRECTIONS: Final = ("metafor", "revman5")


_COUNTS: Final = ("events1", "n1", "events2", "n2")


def _counts_input(
    fn: str, counts: tuple[object, ...], data: pd.DataFrame | None, labels: ArrayLike | str | None
) -> tuple[list[ArrayLike], ArrayLike | None, EffectSizes | None]:
    """The three ways of giving the 2×2 tables: an :class:`EffectSizes` of a binary measure (its
    ``data`` holds the counts, its labels are used unless ``labels`` is given), arrays, or column
    names of ``data``.  Returns the four count arrays, the labels and the effect sizes if given."""
    if isinstance(counts[0], EffectSizes):
        es = counts[0]
        check_effect_sizes_alone(fn, "the counts", ("n1", "events2", "n2", "data"), (*counts[1:], data))
        if es.info.family != "binary" or not set(_COUNTS) <= set(es.data.columns):
            raise MetaacuInputError(
                f"{fn}() needs 2x2 tables: argument 'events1' is an EffectSizes of measure "
                f"{es.measure!r}; give effect sizes of a binary measure (RR, OR, RD, PETO)"
            )
        return [es.data[c].to_numpy() for c in _COUNTS], es.labels if labels is None else labels, es
    if missing := [n for n, v in zip(_COUNTS, counts, strict=True) if v is None]:
        raise MetaacuInputError(
            f"{fn}() needs events1, n1, events2 and n2 (arrays, or column names with data=); "
            f"missing argument(s) {', '.join(missing)}"
        )
    return (
        [data_column(data, n, v) for n, v in zip(_COUNTS, counts, strict=True)],
        data_column(data, "labels", labels),
        None,
    )


def _correction_note(es: EffectSizes | None) -> list[str]:
    """Say so when the effect sizes' own continuity correction is not the one used here."""
    if es is None or (es.options.get("add"), es.options.get("to")) in ((0.5, "only0"), (None, None)):
        return []
    return [
        (
            f"study-level effects recomputed from the counts (1/2 added to tables with a zero cell); the effect "
            f"sizes' own correction (add={es.options['add']:g}, to={es.options['to']!r}) is not used"
        )
    ]


def _tables(counts: Sequence[ArrayLike], labels: ArrayLike | None) -> tuple[F64, F64, F64, F64, tuple[str, ...]]:
    events1, n1, events2, n2 = counts
    named = check_labels(labels)
    a = as_float_array(events1, "events1", nonnegative=True, integer=True, labels=named)
    t1 = as_float_array(n1, "n1", min_value=1.0, integer=True, labels=named)
    c = as_float_array(events2, "events2", nonnegative=True, integer=True, labels=named)
    t2 = as_float_array(n2, "n2", min_value=1.0, integer=True, labels=named)
    k = check_same_length({"events1": a, "n1": t1, "events2": c, "n2": t2})
    labs = check_labels(labels, k)
    assert labs is not None
    check_events_within_totals(a, t1, ("events1", "n1"), named)
    check_events_within_totals(c, t2, ("events2", "n2"), named)
    return a, t1 - a, c, t2 - c, labs


def _study_effects(code: str, a: F64, b: F64, c: F64, d: F64) -> tuple[F64, F64, NDArray[np.bool_], NDArray[np.bool_]]:
    """Study-level yi/vi as metafor's ``escalc(add=1/2, to="only0", drop00=TRUE)``."""
    dz = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    z0 = ((a == 0) | (b == 0) | (c == 0) | (d == 0)) & ~dz
    add = 0.5 * z0
    a2, b2, c2, d2 = a + add, b + add, c + add, d + add
    with np.errstate(divide="ignore", invalid="ignore"):
        yi, vi = binary_yi_vi(code, {"events1": a2, "n1": a2 + b2, "events2": c2, "n2": c2 + d2})
    yi = np.where(dz, np.nan, yi)
    vi = np.where(dz, np.nan, vi)
    return yi, vi, dz, z0


#: What a zero standard error of the pooled estimate means for 2×2 tables (the warning of ``wald``).
_ZERO_SE = "estimate is 0 (events in every participant, or in none, in every table)"


# --------------------------------------------------------------------------- Mantel-Haenszel
def mantel_haenszel(
    events1: ArrayLike | str | EffectSizes | None = None,
    n1: ArrayLike | str | None = None,
    events2: ArrayLike | str | None = None,
    n2: ArrayLike | str | None = None,
    *,
    data: pd.DataFrame | None = None,
    measure: str | None = None,
    level: float = 0.95,
    correction: str = "metafor",
    labels: ArrayLike | str | None = None,
) -> BinaryPooled:
    """Mantel-Haenszel pooled odds ratio, risk ratio or risk difference (metafor's ``rma.mh``).

    Parameters
    ----------
    events1, n1, events2, n2 : array-like or str
        Events and totals in the experimental (1) and control (2) arms, or column names of
        ``data``.  Or ``events1`` alone: an :class:`~metaacu.EffectSizes` of a binary measure
        (``effect_sizes("RR", ...)``), whose ``data`` holds the counts and whose labels are used.
    data : DataFrame, optional
        If given, the counts (and ``labels``) may be column names, as in :func:`metaacu.effect_sizes`.
    measure : {"OR", "RR", "RD"}, optional
        Pooled on the log scale for OR and RR.  Default: the measure of an :class:`EffectSizes`,
        else ``"OR"``.  A measure that contradicts the effect sizes' (``measure="RR"`` with OR
        effect sizes) is refused, naming both; so are ``"PETO"`` effect sizes (use :func:`peto`).
    level : float
        Confidence level, a fraction.
    correction : {"metafor", "revman5"}
        Zero-cell convention (see the module notes): ``"metafor"`` keeps raw counts inside MH and
        adds 1/2 only for the study-level effects; ``"revman5"`` adds 1/2 inside MH to tables with
        a zero cell and drops double-zero tables (OR and RR; RD is the same under both).
    labels : array-like or str, optional
        Study labels (or a column of ``data``).

    Returns
    -------
    BinaryPooled
        The same numbers whichever way the tables are given.  Only the counts of an
        :class:`EffectSizes` are used: the study-level effects are recomputed as metafor's
        ``rma.mh`` does (a note says so when the effect sizes used another continuity correction).

    Notes
    -----
    With ``N = n1 + n2`` per table and cells ``a, b`` (arm 1), ``c, d`` (arm 2):
    OR ``= Σ(ad/N) / Σ(bc/N)``, variance of the log by Robins, Breslow & Greenland (1986);
    RR ``= Σ(a n2/N) / Σ(c n1/N)``, variance ``Σ(n1 n2 (a + c)/N² − ac/N) / (R S)``;
    RD ``= Σ(a n2 − c n1)/N / Σ(n1 n2/N)``, variance of Sato, Greenland & Robins (1989).
    Q uses the MH estimate and the study-level inverse-variance weights; I² is Q-based.

    Examples
    --------
    >>> res = mantel_haenszel([4, 6, 3], [123, 306, 231], [11, 29, 11], [139, 303, 220], measure="RR")
    >>> round(float(np.exp(res.estimate)), 4)
    0.259
    >>> from metaacu import effect_sizes
    >>> es = effect_sizes("RR", events1=[4, 6, 3], n1=[123, 306, 231], events2=[11, 29, 11], n2=[139, 303, 220])
    >>> mantel_haenszel(es).estimate == res.estimate
    True
    """
    counts, labels, es = _counts_input("mantel_haenszel", (events1, n1, events2, n2), data, labels)
    if es is not None:
        check_same_measure(measure, es)
        if es.measure not in MH_MEASURES:
            raise MetaacuInputError(
                f"mantel_haenszel() pools OR, RR or RD; the effect sizes (argument 'events1') "
                f"are {es.measure!r}: use peto() for Peto's odds ratio"
            )
        measure = es.measure
    measure = check_choice("OR" if measure is None else measure, "measure", MH_MEASURES)
    check_choice(correction, "correction", MH_CORRECTIONS)
    lv = check_level(level)
    a, b, c, d, labs = _tables(counts, labels)
    k_all = a.size
    yi, vi, dz, z0 = _study_effects(measure, a, b, c, d)
    notes: list[str] = _correction_note(es)
    if z0.any():
        notes.append(f"study-level effects: 1/2 added to every cell of study index {study_index(z0)} (zero cell)")
    use = np.ones(k_all, dtype=bool)
    ca, cb, cc, cd = a, b, c, d
    if correction == "revman5" and measure != "RD":
        use = ~dz
        add = 0.5 * z0
        ca, cb, cc, cd = a + add, b + add, c + add, d + add
        if z0.any():
            notes.append(
                f"RevMan 5 convention: 1/2 also added inside the MH estimate for study index {study_index(z0)}"
            )
        if dz.any():
            notes.append(f"RevMan 5 convention: double-zero study index {study_index(dz)} dropped from the analysis")
    elif dz.any():
        what = "contribute nothing to the estimate" if measure == "OR" else "keep their MH weight in the estimate"
        notes.append(
            f"double-zero study index {study_index(dz)} (no events, or only events, in both arms): no study-level "
            f"effect, left out of Q; raw counts kept in the MH estimate, where they {what} (metafor's rma.mh)"
        )
    if correction == "revman5" and measure == "RD":
        notes.append("RevMan 5 adds no correction for RD: identical to the metafor convention")
    if measure == "RD":
        notes.append(
            "SE of the MH risk difference: Sato, Greenland & Robins (1989), as metafor; "
            "RevMan 5 and R meta use Greenland & Robins (1985)"
        )
    ca, cb, cc, cd = ca[use], cb[use], cc[use], cd[use]
    t1, t2 = ca + cb, cc + cd
    nn = t1 + t2
    cmh = cmh_p = np.nan
    if measure == "OR":
        ri, si = ca * cd / nn, cb * cc / nn
        r, s = ri.sum(), si.sum()
        if r == 0 or s == 0:
            raise MetaacuInputError(
                "the Mantel-Haenszel odds ratio is not defined: "
                + (
                    "no table has events in arm 1 with non-events in arm 2 (sum of ad/N is 0)"
                    if r == 0
                    else "no table has non-events in arm 1 with events in arm 2 (sum of bc/N is 0)"
                )
                + "; use peto() or correction='revman5'"
            )
        pi, qi = (ca + cd) / nn, (cb + cc) / nn
        est = float(np.log(r / s))
        se = float(
            np.sqrt(0.5 * ((pi * ri).sum() / r**2 + (pi * si + qi * ri).sum() / (r * s) + (qi * si).sum() / s**2))
        )
        w = si
        xt, yt = ca + cc, cb + cd
        if xt.sum() > 0 and yt.sum() > 0:
            num = (abs((ca - t1 / nn * xt).sum()) - 0.5) ** 2
            cmh = float(num / ((t1 / nn) * (t2 / nn) * (xt * (yt / (nn - 1)))).sum())
            cmh_p = float(special.chdtrc(1, cmh))
    elif measure == "RR":
        if ca.sum() == 0 or cc.sum() == 0:
            arm = "1" if ca.sum() == 0 else "2"
            raise MetaacuInputError(
                f"the Mantel-Haenszel risk ratio is not defined: no events in arm {arm} of any study "
                f"(argument 'events{arm}'); use peto() or measure='RD'"
            )
        r, s = (ca * t2 / nn).sum(), (cc * t1 / nn).sum()
        est = float(np.log(r / s))
        se = float(np.sqrt(((t1 / nn) * (t2 / nn) * (ca + cc) - (ca / nn) * cc).sum() / (r * s)))
        w = cc * t1 / nn
    else:
        f1, f2 = t1 / nn, t2 / nn
        den = (t1 * f2).sum()
        est = float((ca * f2 - cc * f1).sum() / den)
        var = (
            est * (cc * f1**2 - ca * f2**2 + f1 * f2 * (t2 - t1) / 2).sum()
            + (ca * (t2 - cc) / nn + cc * (t1 - ca) / nn).sum() / 2
        ) / den**2
        se = float(np.sqrt(var))
        w = t1 * f2
    weights = np.full(k_all, np.nan)
    weights[use] = 100.0 * w / w.sum()
    ok = ~dz
    k_yi = int(ok.sum())
    q = cochran_q(est, yi, vi, ok)
    q_df, q_p, i2, h2 = heterogeneity(q, k_yi)
    zval, pval, lo, hi = wald(est, se, lv, _ZERO_SE)
    return BinaryPooled(
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
        k=int(use.sum()),
        k_heterogeneity=k_yi,
        weights=readonly(weights),
        yi=readonly(yi),
        vi=readonly(vi),
        labels=labs,
        level=lv,
        correction=correction,
        cmh=cmh,
        cmh_pvalue=cmh_p,
        events1=readonly(a.copy()),
        n1=readonly(a + b),
        events2=readonly(c.copy()),
        n2=readonly(c + d),
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- Peto
def peto(
    events1: ArrayLike | str | EffectSizes | None = None,
    n1: ArrayLike | str | None = None,
    events2: ArrayLike | str | None = None,
    n2: ArrayLike | str | None = None,
    *,
    data: pd.DataFrame | None = None,
    level: float = 0.95,
    labels: ArrayLike | str | None = None,
) -> BinaryPooled:
    """Peto's one-step pooled log odds ratio (metafor's ``rma.peto``).

    Parameters
    ----------
    events1, n1, events2, n2 : array-like or str
        Events and totals in the experimental (1) and control (2) arms, or column names of
        ``data``, or ``events1`` alone: an :class:`~metaacu.EffectSizes` of a binary measure (its
        counts and labels are used; any binary measure is accepted, as only the counts matter,
        and a note names a measure other than ``"PETO"``).
    data : DataFrame, optional
        If given, the counts (and ``labels``) may be column names.
    level : float
        Confidence level, a fraction.
    labels : array-like or str, optional
        Study labels (or a column of ``data``).

    Returns
    -------
    BinaryPooled
        With ``measure="PETO"``; the same numbers whichever way the tables are given.

    Notes
    -----
    With ``O = a``, ``E = (a + c) n1/N`` and ``V = (a + c)(b + d) n1 n2 / (N²(N − 1))``:
    ``log OR = Σ(O − E)/ΣV``, ``SE = 1/√ΣV`` (Yusuf et al. 1985).  Raw counts throughout; tables
    with ``V = 0`` (no events or only events) carry no weight.
    ``Q = Σ(O − E)²/V − (Σ(O − E))²/ΣV`` with df = (studies with a study-level effect) − 1.
    Study-level effects (for display) are computed as metafor's escalc, with 1/2 added to every
    cell of a table with a zero cell.

    Examples
    --------
    >>> res = peto([4, 6, 3], [123, 306, 231], [11, 29, 11], [139, 303, 220])
    >>> round(float(np.exp(res.estimate)), 4)
    0.2902
    """
    counts, labels, es = _counts_input("peto", (events1, n1, events2, n2), data, labels)
    lv = check_level(level)
    a, b, c, d, labs = _tables(counts, labels)
    k = a.size
    yi, vi, dz, z0 = _study_effects("PETO", a, b, c, d)
    notes: list[str] = _correction_note(es)
    if es is not None and es.measure != "PETO":
        notes.append(f"the counts of the {es.measure} effect sizes are pooled with Peto's method (log odds ratio)")
    if z0.any():
        notes.append(
            f"study-level effects: 1/2 added to every cell of study index {study_index(z0)} (zero cell); "
            "the pooled estimate uses raw counts"
        )
    if dz.any():
        notes.append(
            f"double-zero study index {study_index(dz)} (no events, or only events, in both arms): "
            "zero weight and left out of Q"
        )
    t1, t2 = a + b, c + d
    nn = t1 + t2
    xt, yt = a + c, b + d
    ei = xt * t1 / nn
    with np.errstate(divide="ignore", invalid="ignore"):
        vv = np.where(nn > 1, xt * yt * (t1 / nn) * (t2 / nn) / (nn - 1), 0.0)
    sv = vv.sum()
    if sv == 0:
        raise MetaacuInputError(
            "Peto's method is not defined: one of the two outcomes never occurred in any study "
            "(arguments 'events1', 'events2')"
        )
    oe = a - ei
    est = float(oe.sum() / sv)
    se = float(np.sqrt(1.0 / sv))
    pos = vv > 0
    q = float(max(0.0, (oe[pos] ** 2 / vv[pos]).sum() - oe.sum() ** 2 / sv))
    k_yi = int((~dz).sum())
    if pos.sum() > 1:
        q_df, q_p, i2, h2 = heterogeneity(q, k_yi)
    else:
        q_df, q_p, i2, h2 = max(k_yi - 1, 0), 1.0, 0.0, 1.0
    zval, pval, lo, hi = wald(est, se, lv, _ZERO_SE)
    return BinaryPooled(
        method="Peto",
        measure="PETO",
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
        k=k,
        k_heterogeneity=k_yi,
        weights=readonly(100.0 * vv / sv),
        yi=readonly(yi),
        vi=readonly(vi),
        labels=labs,
        level=lv,
        correction="metafor",
        cmh=np.nan,
        cmh_pvalue=np.nan,
        events1=readonly(a.copy()),
        n1=readonly(t1),
        events2=readonly(c.copy()),
        n2=readonly(t2),
        notes=tuple(notes),
    )
