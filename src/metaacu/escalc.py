"""Effect sizes and sampling variances from summary data (``metaacu.effect_sizes``; metafor's ``escalc``).

One pure function per measure family computes ``yi`` and ``vi`` from validated arrays; the table
:data:`FAMILIES` maps each family of :data:`metaacu.measures.MEASURES` to its :class:`Family` (summary
data, checks, continuity correction, computation); :func:`effect_sizes`, the one entry point, validates
once and returns an immutable :class:`EffectSizes`.  Group 1 is the experimental arm, group 2 the
control.  Two-group means, 2×2 tables and proportions are computed here (their transformed versions in
``escalc_transforms.py``); paired data in ``escalc_change.py``, incidence rates in ``escalc_rates.py``,
correlations in ``escalc_correlation.py``.

References
----------
Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3).
Hedges LV. Distribution theory for Glass's estimator. J Educ Stat 1981;6:107-128 (exact J).
Hedges LV, Olkin I. Statistical Methods for Meta-Analysis. 1985, eq. 5.15 (large-sample variance).
Bonett DG. Meta-analytic interval estimation for standardized and unstandardized mean differences.
Psychol Methods 2009;14:225-238 (SMDH).
Hedges LV, Gurevitch J, Curtis PS. The meta-analysis of response ratios. Ecology 1999;80:1150.
Lajeunesse MJ. Bias and correction for the log response ratio in ecological meta-analysis. Ecology
2015;96:2056-2063 (eq. 8: ``correct=True``).
Higgins JPT et al. (eds). Cochrane Handbook for Systematic Reviews of Interventions v6.4, 2023,
chapter 6 and §10.4.4.2 (zero cells); RevMan 5 statistical methods (Deeks & Higgins 2010).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ._validation import (
    MetaacuInputError,
    bad_indices,
    check_bool,
    check_choice,
    check_labels,
    check_number,
    readonly,
)
from .escalc_change import PAIRED
from .escalc_correlation import CORRELATION
from .escalc_family import CONVENTIONS, Family, Options, check_minimum_n, hedges_j, validate_columns
from .escalc_inputs import data_column, effects_shorthand, gather_columns
from .escalc_rates import RATE, TWO_RATES
from .escalc_result import EffectSizes
from .escalc_transforms import UNDEFINED as TRANSFORMED_UNDEFINED
from .escalc_transforms import arcsine_difference, d_to_log_or, log_or_to_d, proportion_transform
from .measures import measure_info
from .profiles import get_profile

__all__ = [
    "CONVENTIONS",
    "FAMILIES",
    "EffectSizes",
    "binary_yi_vi",
    "change_score_effect_sizes",
    "data_column",
    "effect_sizes",
    "effects_shorthand",
    "hedges_j",
]

F64 = NDArray[np.float64]
Arrays = Mapping[str, F64]

SMD_VTYPES: Final = ("LS", "UB", "RevMan5")
ZERO_RULES: Final = ("only0", "all", "if0all", "none")
#: Measures with metafor >= 5.0's optional bias correction of the log ratio of means (``correct=True``).
CORRECTABLE: Final = ("ROM", "ROMC")


# --------------------------------------------------------------------------- measure families
def _continuous(code: str, d: Arrays, opt: Options) -> tuple[F64, F64]:
    n1, m1, s1, n2, m2, s2 = (d[c] for c in ("n1", "mean1", "sd1", "n2", "mean2", "sd2"))
    if code == "MD":
        return m1 - m2, s1**2 / n1 + s2**2 / n2
    if code == "ROM":  # a ratio <= 0 gives NaN, refused with its reason by effect_sizes()
        with np.errstate(divide="ignore", invalid="ignore"):
            yi = np.log(m1 / m2)
        if opt.correct:  # Lajeunesse (2015), eq. 8: metafor >= 5.0's default
            yi = yi + 0.5 * (s1**2 / (n1 * m1**2) - s2**2 / (n2 * m2**2))
        return yi, s1**2 / (n1 * m1**2) + s2**2 / (n2 * m2**2)
    if code.startswith("D2OR"):
        return d_to_log_or(code, d)
    df = n1 + n2 - 2
    if code == "SMDH":
        sd = np.sqrt((s1**2 + s2**2) / 2)
        g = hedges_j(df) * (m1 - m2) / sd
        # Bonett (2009) eq. 5 with the corrected g; metafor 3.8 multiplied it by J², metafor >= 4.6 does not.
        v = g**2 * (s1**4 / (n1 - 1) + s2**4 / (n2 - 1)) / (8 * sd**4) + (s1**2 / (n1 - 1) + s2**2 / (n2 - 1)) / sd**2
        return g, hedges_j(df) ** 2 * v if opt.convention == "metafor3.8" else v
    sp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / df)
    d_raw = (m1 - m2) / sp
    n = n1 + n2
    if opt.vtype == "RevMan5":
        g = d_raw * (1 - 3 / (4 * n - 9))
        return g, n / (n1 * n2) + g**2 / (2 * (n - 3.94))
    j = hedges_j(df)
    g = j * d_raw
    if opt.vtype == "UB":
        return g, 1 / n1 + 1 / n2 + (1 - (df - 2) / (df * j**2)) * g**2
    return g, 1 / n1 + 1 / n2 + g**2 / (2 * n)


def binary_yi_vi(code: str, d: Arrays) -> tuple[F64, F64]:
    """Effect sizes and sampling variances of a 2×2-table measure (RR, OR, RD, PETO, AS, OR2DN, OR2DL,
    OR2D) from cell counts."""
    a, n1, c, n2 = d["events1"], d["n1"], d["events2"], d["n2"]
    b, dd = n1 - a, n2 - c
    if code == "RR":
        return np.log(a / n1) - np.log(c / n2), 1 / a - 1 / n1 + 1 / c - 1 / n2
    if code == "OR":
        return np.log(a * dd / (b * c)), 1 / a + 1 / b + 1 / c + 1 / dd
    if code.startswith("OR2D"):
        return log_or_to_d(code, *binary_yi_vi("OR", d))
    if code == "RD":
        p1, p2 = a / n1, c / n2
        return p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    if code == "AS":
        return arcsine_difference(d)
    # Peto's one-step log odds ratio (Yusuf et al. 1985): (O − E)/V and 1/V.
    n = n1 + n2
    events = a + c
    expected = events * n1 / n
    var = events * (b + dd) * n1 * n2 / (n**2 * (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return (a - expected) / var, 1 / var


def _proportion(code: str, d: Arrays, opt: Options) -> tuple[F64, F64]:
    x, n = d["events"], d["n"]
    if code in ("PAS", "PFT"):
        return proportion_transform(code, x, n)
    p = x / n
    if code == "PR":
        return p, p * (1 - p) / n
    return np.log(p / (1 - p)), 1 / (n * p * (1 - p))


_CONTINUITY = "use a continuity correction (add, to) or another measure"
_CONT = ("n1", "mean1", "sd1", "n2", "mean2", "sd2")
_BINARY = ("events1", "n1", "events2", "n2")


def _binary_cells(d: Arrays) -> NDArray[np.bool_]:
    cells = (d["events1"], d["n1"] - d["events1"], d["events2"], d["n2"] - d["events2"])
    return np.asarray(np.any(np.vstack(cells) == 0, axis=0))


def _with_cells(d: Arrays, add: F64, pairs: tuple[tuple[str, str], ...]) -> dict[str, F64]:
    """``d`` with ``add`` added to every cell of a table: to the events and the non-events of each arm."""
    out = dict(d)
    for ev, tot in pairs:
        out[ev] = out[ev] + add
        out[tot] = out[tot] + 2 * add
    return out


#: Every family of measures computed from summary data, by :attr:`MeasureInfo.family`.
FAMILIES: Final[dict[str, Family]] = {
    "continuous": Family(
        columns=_CONT,
        kinds={c: "group_size" if c.startswith("n") else c.rstrip("12") for c in _CONT},
        compute=_continuous,
        undefined={
            "MD": "its variance sd1²/n1 + sd2²/n2 is 0 or not finite (SDs far too small or too large; check their "
            "units)",
            "SMD": "the pooled SD is 0 or the standardised difference is not finite (SDs far too small relative to "
            "the means; check their units)",
            "SMDH": "an SD is 0 or the standardised difference is not finite (SDs far too small relative to the means)",
            "ROM": "the log ratio of means needs means of the same sign in both groups, neither of them 0",
        },
        vtypes={"SMD": SMD_VTYPES},
    ),
    "binary": Family(
        columns=_BINARY,
        kinds={"events1": "count", "n1": "total", "events2": "count", "n2": "total"},
        compute=lambda code, d, opt: binary_yi_vi(code, d),
        undefined={
            "RR": f"a risk of 0 in an arm with no correction (no events, or all events); {_CONTINUITY}",
            "OR": f"an odds of 0 or infinity in an arm with no correction (no events, or all events); {_CONTINUITY}",
            "RD": "its variance is 0 (no events in either arm, or all events in both)",
            "PETO": f"no information (no events, or all events, in both arms); {_CONTINUITY}",
        },
        zero=_binary_cells,
        corrected=lambda d, add: _with_cells(d, add, (("events1", "n1"), ("events2", "n2"))),
        no_add=frozenset({"AS"}),
    ),
    "proportion": Family(
        columns=("events", "n"),
        kinds={"events": "count", "n": "total"},
        compute=_proportion,
        undefined={
            "PR": "its variance is 0 (no events, or all events)",
            "PLO": f"the log odds of 0 or all events is infinite; {_CONTINUITY}",
        },
        zero=lambda d: np.asarray((d["events"] == 0) | (d["n"] - d["events"] == 0)),
        corrected=lambda d, add: _with_cells(d, add, (("events", "n"),)),
        no_add=frozenset({"PAS", "PFT"}),
    ),
    "paired": PAIRED,
    "rate": RATE,
    "two_rates": TWO_RATES,
    "correlation": CORRELATION,
}
#: Why each measure can be undefined for a study, in words, for the error message.
_UNDEFINED: Final[dict[str, str]] = {
    m: why for fam in FAMILIES.values() for m, why in fam.undefined.items()
} | TRANSFORMED_UNDEFINED
_WHERE_ADDED: Final = {"rate": "the event count", "two_rates": "the event counts"}


def _continuity(fam: Family, d: dict[str, F64], add: float, to: str) -> tuple[dict[str, F64], NDArray[np.bool_]]:
    """Continuity correction as metafor's ``add``/``to``: ``add`` to every cell of a table (to the event
    counts of a rate) of the studies chosen by ``to``; none for families without counts."""
    if fam.zero is None or fam.corrected is None:
        return d, np.zeros(next(iter(d.values())).size, dtype=bool)
    has0 = fam.zero(d)
    k = has0.size
    which = {"only0": has0, "all": np.ones(k, bool), "if0all": np.full(k, has0.any()), "none": np.zeros(k, bool)}[to]
    if add == 0:
        which = np.zeros(k, bool)
    return (fam.corrected(d, add * which) if which.any() else d), which


def _vtype(fam: Family, measure: str, vtype: str | None, profile: str | None) -> str | None:
    """The variance formula used (``None`` for measures with one), validated; the profile sets the SMD's."""
    smd_default = get_profile(profile).smd_vtype if profile is not None else None
    allowed = fam.vtypes.get(measure)
    if allowed is None:  # one formula: an explicit vtype is checked as before and has no effect
        if vtype is not None:
            check_choice(vtype, "vtype", SMD_VTYPES)
        return None
    if vtype is None:
        vtype = smd_default if measure == "SMD" and smd_default is not None else allowed[0]
    return check_choice(vtype, "vtype", allowed)


def effect_sizes(
    measure: str,
    *,
    data: pd.DataFrame | None = None,
    labels: ArrayLike | str | None = None,
    vtype: str | None = None,
    add: float | Literal["default"] = "default",
    to: str = "only0",
    profile: str | None = None,
    convention: str = "metafor5",
    correct: bool = False,
    **columns: Any,
) -> EffectSizes:
    """Compute effect sizes and sampling variances from summary data (metafor's ``escalc``).

    Parameters
    ----------
    measure : str
        The measure, which decides the summary data (``**columns``) it takes:

        * two groups' means: ``n1, mean1, sd1, n2, mean2, sd2`` — ``"MD"``, ``"SMD"`` (Hedges' g),
          ``"SMDH"`` (heteroscedastic), ``"ROM"`` (log ratio of means), ``"D2ORN"``, ``"D2ORL"``
          (``"D2OR"``): Cohen's d as a log odds ratio (normal: ×1.65; logistic: ×π/√3);
        * 2×2 tables: ``events1, n1, events2, n2`` (totals, not non-events) — ``"RR"``, ``"OR"``, ``"RD"``,
          ``"PETO"``, ``"AS"`` (arcsine risk difference), ``"OR2DN"``, ``"OR2DL"`` (``"OR2D"``): the log
          odds ratio as an SMD (÷1.65; ×√3/π);
        * one group's events: ``events, n`` — ``"PR"``, ``"PLO"`` (logit), ``"PAS"`` (arcsine square
          root), ``"PFT"`` (Freeman-Tukey double arcsine);
        * two measurements of one group (pre-post, matched pairs): ``n, mean1, sd1, mean2, sd2,
          correlation`` — ``"MC"`` (mean change ``mean1 − mean2``), ``"SMCC"`` (standardised by the SD of
          change), ``"SMCR"`` (by ``sd1``, usually the pre-test SD; takes no ``sd2``), ``"SMCRH"`` (the same
          without equal variances), ``"ROMC"`` (log ratio of means); see :mod:`metaacu.escalc_change`;
        * one group's events in person-time: ``events, time`` — ``"IR"``, ``"IRLN"`` (log), ``"IRS"``
          (square root), ``"IRFT"`` (Freeman-Tukey) incidence rates;
        * two groups' events in person-time: ``events1, time1, events2, time2`` — ``"IRR"`` (log rate
          ratio), ``"IRD"`` (rate difference);
        * correlations: ``correlation, n`` — ``"COR"``, ``"UCOR"`` (bias-corrected), ``"ZCOR"``
          (Fisher's z).

        The tidy frame (``EffectSizes.to_frame()``) has these columns, ``yi, vi, se, ci_low, ci_high``
        and ``adjusted``.  Pooled results are shown on the natural scale by ``summary()``,
        ``to_frame(scale="response")`` and forest plots (exp, inverse logit, tanh, sin², square, the
        inverse Freeman-Tukey at the harmonic mean of n or person-time: see :mod:`metaacu.measures`).
    data : DataFrame, optional
        If given, any column argument may be a column name.
    labels : array-like or str, optional
        Study labels (or the name of a column of ``data``); default ``"Study 1"``, ...
    vtype : str, optional
        Variance formula, for the measures that have more than one.  ``"SMD"``: ``"LS"`` (metafor's
        large-sample default ``1/n1 + 1/n2 + g²/(2N)``), ``"UB"`` (unbiased, Hedges 1983) or ``"RevMan5"``
        (``J ≈ 1 − 3/(4N − 9)``, ``N/(n1n2) + g²/(2(N − 3.94))``), default the ``profile``'s
        (:attr:`metaacu.profiles.Profile.smd_vtype`), else ``"LS"``; ``"SMCC"``, ``"SMCR"``: ``"LS"`` or
        ``"LS2"``; ``"COR"``: ``"LS"`` or ``"AV"``; ``"UCOR"``: ``"LS"``, ``"UB"`` or ``"AV"`` (metafor's
        meanings).  Other measures have one formula (a ``vtype`` of the SMD's is accepted and ignored).
    add, to :
        Continuity correction for counts: ``add`` is added to every cell of a 2×2 table or a
        proportion's table (to the event counts of an incidence rate) of the studies chosen by ``to`` —
        ``"only0"`` (studies with a zero count, metafor's default), ``"all"``, ``"if0all"`` (all studies
        if any has a zero count) or ``"none"``.  ``add`` defaults to 1/2, and to 0 for ``"AS"``,
        ``"PAS"``, ``"PFT"``, ``"IRS"`` and ``"IRFT"``, which are defined at zero counts (metafor's
        defaults).  Each correction is listed in ``adjustments``.  As in metafor this also applies to
        ``"PETO"``; use ``to="none"`` for the uncorrected Peto odds ratio (RevMan).
    profile : {"metafor", "revman5", "cochrane"}, optional
        Convention profile, as :func:`metaacu.meta_analysis`'s: it sets the default ``vtype`` of
        ``"SMD"`` (``"RevMan5"`` under ``"revman5"`` and ``"cochrane"``, ``"LS"`` under
        ``"metafor"``), so that ``meta_analysis(es, profile="revman5")`` reproduces RevMan's SMD
        analysis.  It changes nothing else.  ``None`` (default): ``vtype="LS"``, metafor's.  An
        explicit ``vtype`` wins.
    convention : {"metafor5", "metafor3.8"}
        Which metafor release's formula to use where releases differ: the sampling variances of
        ``"SMDH"`` and ``"SMCRH"``, which metafor 3.8 multiplied by J² and metafor ≥ 4.6 (the current
        5.x included) does not.  Default ``"metafor5"``; ``"metafor3.8"`` reproduces Debian's metafor 3.8-1.
    correct : bool
        ``"ROM"`` and ``"ROMC"`` only: add the second-order bias correction of the log ratio of means
        (Lajeunesse 2015, eq. 8; Senior et al. 2020, eq. 7), which metafor ≥ 5.0 applies by default
        (``correct=TRUE``).  Default ``False``: the plain log ratio (metafor 3.8, and 5.x with
        ``correct=FALSE``).
    **columns :
        The summary data for the measure's family (above).

    Returns
    -------
    EffectSizes

    Examples
    --------
    >>> es = effect_sizes("RR", events1=[4, 6], n1=[123, 306], events2=[11, 29], n2=[139, 303])
    >>> es.yi.round(4)
    array([-0.8893, -1.5854])
    >>> effect_sizes("ZCOR", correlation=[0.5, -0.2], n=[20, 53]).vi.round(4)
    array([0.0588, 0.02  ])
    """
    info = measure_info(measure)
    if info.family not in FAMILIES:
        raise MetaacuInputError(f"measure {measure!r} is not computed from summary data")
    fam = FAMILIES[info.family]
    used_vtype = _vtype(fam, measure, vtype, profile)
    check_choice(to, "to", ZERO_RULES)
    check_choice(convention, "convention", CONVENTIONS)
    if check_bool(correct, "correct") and measure not in CORRECTABLE:
        raise MetaacuInputError(
            f"argument 'correct' (the bias correction of the log ratio of means) applies to "
            f"{' and '.join(CORRECTABLE)} only; got measure {measure!r}"
        )
    if isinstance(add, str) and add == "default":
        add = 0.0 if measure in fam.no_add else 0.5
    add = check_number(add, "add", low=0.0)
    cols = fam.columns_of(measure)
    raw = gather_columns(data, columns, cols)
    if isinstance(labels, str):
        if data is None or labels not in data.columns:
            raise MetaacuInputError(f"argument 'labels' names column {labels!r}, which is not in `data`")
        labels = data[labels].to_numpy()
    named = check_labels(labels)
    arr = validate_columns(raw, fam.kinds, named)
    check_minimum_n(fam, measure, arr, named)
    k = arr[cols[0]].size
    labs = check_labels(labels, k)
    assert labs is not None
    adjustments: list[str] = []
    calc, adjusted = _continuity(fam, arr, add, to)
    if adjusted.any():
        idx = ", ".join(map(str, np.flatnonzero(adjusted)))
        where = _WHERE_ADDED.get(info.family, "every cell")
        adjustments.append(f"added {add:g} to {where} of study index {idx} (to={to!r})")
    opt = Options(used_vtype or "LS", convention, correct)
    with np.errstate(divide="ignore", invalid="ignore"):
        yi, vi = fam.compute(measure, calc, opt)
    bad = ~(np.isfinite(yi) & np.isfinite(vi) & (vi > 0))
    if bad.any():
        raise MetaacuInputError(
            f"measure {measure!r} is not defined for {bad_indices(bad, labels=named)}: {_UNDEFINED[measure]}"
        )
    frame = pd.DataFrame({c: arr[c] for c in cols})
    opts: dict[str, Any] = {"add": add, "to": to} if fam.zero is not None else {}
    if used_vtype is not None:
        opts["vtype"] = used_vtype
    if measure in ("SMDH", "SMCRH"):
        opts["convention"] = convention
    if measure in CORRECTABLE:
        opts["correct"] = correct
    if profile is not None:
        opts["profile"] = profile
    return EffectSizes(
        measure,
        readonly(np.asarray(yi, float)),
        readonly(np.asarray(vi, float)),
        labs,
        frame,
        tuple(adjustments),
        readonly(adjusted),
        opts,
    )


def change_score_effect_sizes(
    measure: str,
    *,
    n1: ArrayLike,
    mean_change1: ArrayLike,
    sd_baseline1: ArrayLike,
    sd_final1: ArrayLike,
    n2: ArrayLike,
    mean_change2: ArrayLike,
    sd_baseline2: ArrayLike,
    sd_final2: ArrayLike,
    correlation: float | ArrayLike,
    labels: ArrayLike | None = None,
    vtype: str | None = None,
    profile: str | None = None,
) -> EffectSizes:
    """Between-arm MD or SMD of change from baseline, imputing each arm's change SD.

    ``SD_change = √(SD_b² + SD_f² − 2 r SD_b SD_f)`` (Cochrane Handbook v6.4 §6.5.2.8), with the
    pre-post correlation ``r`` an explicit assumption recorded in ``options`` and
    ``adjustments``.  Use only when change SDs are not reported; run it for several ``r``.

    Parameters
    ----------
    measure : {"MD", "SMD"}
    n1, mean_change1, sd_baseline1, sd_final1, n2, mean_change2, sd_baseline2, sd_final2 : array-like
        Per arm: size, mean change from baseline, baseline SD and final SD.
    correlation : float or array-like
        Assumed pre-post correlation ``r`` in [-1, 1] (one, or one per study).
    labels : array-like, optional
        Study labels.
    vtype : {"LS", "UB", "RevMan5"}, optional
        SMD variance, as :func:`effect_sizes`: default the ``profile``'s, else ``"LS"``.
    profile : {"metafor", "revman5", "cochrane"}, optional
        Convention profile, as :func:`effect_sizes` (it sets the default ``vtype``).

    Returns
    -------
    EffectSizes
    """
    from .conversions import change_score_sd

    check_choice(measure, "measure", ("MD", "SMD"))
    sd1 = change_score_sd(sd_baseline1, sd_final1, correlation)
    sd2 = change_score_sd(sd_baseline2, sd_final2, correlation)
    es = effect_sizes(
        measure,
        n1=n1,
        mean1=mean_change1,
        sd1=sd1,
        n2=n2,
        mean2=mean_change2,
        sd2=sd2,
        labels=labels,
        vtype=vtype,
        profile=profile,
    )
    r = np.broadcast_to(np.asarray(correlation, dtype=float), es.yi.shape)
    note = f"change-score SDs imputed with pre-post correlation r = {', '.join(f'{x:g}' for x in np.unique(r))}"
    return EffectSizes(
        es.measure,
        es.yi,
        es.vi,
        es.labels,
        es.data,
        (*es.adjustments, note),
        readonly(np.ones(es.k, bool)),
        {**es.options, "correlation": tuple(float(x) for x in r), "value_type": "change"},
    )
