"""Effect sizes and sampling variances from summary data (``metaacu.effect_sizes``; metafor's ``escalc``).

One pure function per measure family computes ``yi`` and ``vi`` from validated arrays; a small
registry maps measure codes to families; :func:`effect_sizes` validates once and returns an
immutable :class:`EffectSizes`.  Group 1 is the experimental arm, group 2 the control.

References
----------
Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3).
Hedges LV. Distribution theory for Glass's estimator. J Educ Stat 1981;6:107-128 (exact J).
Hedges LV, Olkin I. Statistical Methods for Meta-Analysis. 1985, eq. 5.15 (large-sample variance).
Bonett DG. Meta-analytic interval estimation for standardized and unstandardized mean differences.
Psychol Methods 2009;14:225-238 (SMDH).
Hedges LV, Gurevitch J, Curtis PS. The meta-analysis of response ratios. Ecology 1999;80:1150.
Higgins JPT et al. (eds). Cochrane Handbook for Systematic Reviews of Interventions v6.4, 2023,
chapter 6 and §10.4.4.2 (zero cells); RevMan 5 statistical methods (Deeks & Higgins 2010).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._validation import (
    MetaacuInputError,
    as_float_array,
    bad_indices,
    check_choice,
    check_events_within_totals,
    check_labels,
    check_level,
    check_number,
    check_same_length,
    readonly,
)
from .inference import critical_value
from .interval import Interval
from .measures import MeasureInfo, measure_info
from .profiles import get_profile
from .report import Printable

__all__ = ["EffectSizes", "change_score_effect_sizes", "effect_sizes", "hedges_j"]

F64 = NDArray[np.float64]

SMD_VTYPES: Final = ("LS", "UB", "RevMan5")
ZERO_RULES: Final = ("only0", "all", "if0all", "none")


def hedges_j(m: ArrayLike) -> F64:
    """Exact small-sample correction ``J(m) = Γ(m/2) / (√(m/2) Γ((m−1)/2))``, computed in logs.

    Hedges (1981), eq. 6e; metafor's ``.cmicalc``.  ``m`` is the degrees of freedom (n1 + n2 − 2).
    """
    try:
        m = np.asarray(m, dtype=np.float64)
    except (TypeError, ValueError):
        raise MetaacuInputError(f"hedges_j() needs numeric degrees of freedom; got {m!r}") from None
    if (bad := ~(m > 1) | ~np.isfinite(m)).any():
        flat = np.atleast_1d(bad)
        raise MetaacuInputError(
            f"hedges_j() needs finite degrees of freedom m > 1 (n1 + n2 - 2 >= 2); got "
            f"{np.atleast_1d(m)[flat][0]:g} at {bad_indices(flat)}"
        )
    return np.exp(special.gammaln(m / 2) - 0.5 * np.log(m / 2) - special.gammaln((m - 1) / 2))


# --------------------------------------------------------------------------- measure families
def _continuous(code: str, d: Mapping[str, F64], vtype: str) -> tuple[F64, F64]:
    n1, m1, s1, n2, m2, s2 = (d[c] for c in ("n1", "mean1", "sd1", "n2", "mean2", "sd2"))
    if code == "MD":
        return m1 - m2, s1**2 / n1 + s2**2 / n2
    if code == "ROM":  # a ratio <= 0 gives NaN, refused with its reason by effect_sizes()
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(m1 / m2), s1**2 / (n1 * m1**2) + s2**2 / (n2 * m2**2)
    df = n1 + n2 - 2
    if code == "SMDH":
        sd = np.sqrt((s1**2 + s2**2) / 2)
        g = hedges_j(df) * (m1 - m2) / sd
        # Bonett (2009) eq. 5 with the corrected g, times J² as metafor 3.8 does.
        v = g**2 * (s1**4 / (n1 - 1) + s2**4 / (n2 - 1)) / (8 * sd**4) + (s1**2 / (n1 - 1) + s2**2 / (n2 - 1)) / sd**2
        return g, hedges_j(df) ** 2 * v
    sp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / df)
    d_raw = (m1 - m2) / sp
    n = n1 + n2
    if vtype == "RevMan5":
        g = d_raw * (1 - 3 / (4 * n - 9))
        return g, n / (n1 * n2) + g**2 / (2 * (n - 3.94))
    j = hedges_j(df)
    g = j * d_raw
    if vtype == "UB":
        return g, 1 / n1 + 1 / n2 + (1 - (df - 2) / (df * j**2)) * g**2
    return g, 1 / n1 + 1 / n2 + g**2 / (2 * n)


def binary_yi_vi(code: str, d: Mapping[str, F64]) -> tuple[F64, F64]:
    """Effect sizes and sampling variances of a 2×2-table measure (RR, OR, RD, PETO) from cell counts."""
    a, n1, c, n2 = d["events1"], d["n1"], d["events2"], d["n2"]
    b, dd = n1 - a, n2 - c
    if code == "RR":
        return np.log(a / n1) - np.log(c / n2), 1 / a - 1 / n1 + 1 / c - 1 / n2
    if code == "OR":
        return np.log(a * dd / (b * c)), 1 / a + 1 / b + 1 / c + 1 / dd
    if code == "RD":
        p1, p2 = a / n1, c / n2
        return p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    # Peto's one-step log odds ratio (Yusuf et al. 1985): (O − E)/V and 1/V.
    n = n1 + n2
    events = a + c
    expected = events * n1 / n
    var = events * (b + dd) * n1 * n2 / (n**2 * (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return (a - expected) / var, 1 / var


def _proportion(code: str, d: Mapping[str, F64]) -> tuple[F64, F64]:
    x, n = d["events"], d["n"]
    p = x / n
    if code == "PR":
        return p, p * (1 - p) / n
    return np.log(p / (1 - p)), 1 / (n * p * (1 - p))


@dataclass(frozen=True)
class _Family:
    columns: tuple[str, ...]
    compute: Callable[..., tuple[F64, F64]]


_CONT = ("n1", "mean1", "sd1", "n2", "mean2", "sd2")
_FAMILIES: Final[dict[str, _Family]] = {
    "continuous": _Family(_CONT, _continuous),
    "binary": _Family(("events1", "n1", "events2", "n2"), binary_yi_vi),
    "proportion": _Family(("events", "n"), _proportion),
}


# --------------------------------------------------------------------------- result
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


def data_column(data: pd.DataFrame | None, name: str, value: Any) -> Any:
    """The column of ``data`` that ``value`` names when ``data`` is given and ``value`` is a string,
    else ``value`` unchanged (the caller's own validation then explains a stray string).

    The one way every entry point reads ``data=`` (``effect_sizes``, ``mantel_haenszel``, ``peto``,
    ``subgroup_analysis``, ``meta_regression``); ``name`` is the argument, for the error message.
    """
    if data is None or not isinstance(value, str):
        return value
    if not isinstance(data, pd.DataFrame):
        raise MetaacuInputError(f"argument 'data' must be a pandas DataFrame; got {type(data).__name__}")
    if value not in data.columns:
        raise MetaacuInputError(f"argument {name!r} names column {value!r}, which is not in `data`")
    return data[value].to_numpy()


def effects_shorthand(yi: Any, second: Any, other: Any, other_name: str) -> tuple[Any, Any]:
    """``(vi, other)`` after the shorthand ``f(effects, other)``: when ``yi`` is an
    :class:`EffectSizes` (which holds its own variances) a second positional argument is read as
    ``other_name`` (``groups``, ``moderators``).  Giving both is refused as ambiguous.

    Python cannot tell ``f(es, x)`` from ``f(es, vi=x)``; both are read as ``other_name``.
    """
    if not isinstance(yi, EffectSizes) or second is None:
        return second, other
    if other is not None:
        raise MetaacuInputError(
            f"ambiguous call: with an EffectSizes, which holds its own variances (no 'vi'), give {other_name!r} "
            f"once, as the second positional argument or as {other_name}=..., not both"
        )
    return None, second


def _gather(data: pd.DataFrame | None, columns: Mapping[str, Any], needed: tuple[str, ...]) -> dict[str, Any]:
    missing = [c for c in needed if c not in columns]
    if missing:
        raise MetaacuInputError(f"missing argument(s) {', '.join(missing)}; this measure needs {', '.join(needed)}")
    extra = sorted(set(columns) - set(needed))
    if extra:
        raise MetaacuInputError(f"unexpected argument(s) {', '.join(extra)}; this measure takes {', '.join(needed)}")
    out = {}
    for name in needed:
        value = columns[name]
        if isinstance(value, str):
            if data is None or value not in data.columns:
                raise MetaacuInputError(f"argument {name!r} names column {value!r}, which is not in `data`")
            value = data[value].to_numpy()
        out[name] = value
    return out


#: Why a measure can be undefined for a study, in words, for the error message.
_CONTINUITY = "use a continuity correction (add, to) or another measure"
_UNDEFINED: Final[dict[str, str]] = {
    "MD": "its variance sd1²/n1 + sd2²/n2 is 0 or not finite (SDs far too small or too large; check their units)",
    "SMD": "the pooled SD is 0 or the standardised difference is not finite (SDs far too small relative to the "
    "means; check their units)",
    "SMDH": "an SD is 0 or the standardised difference is not finite (SDs far too small relative to the means)",
    "ROM": "the log ratio of means needs means of the same sign in both groups, neither of them 0",
    "RR": f"a risk of 0 in an arm with no correction (no events, or all events); {_CONTINUITY}",
    "OR": f"an odds of 0 or infinity in an arm with no correction (no events, or all events); {_CONTINUITY}",
    "RD": "its variance is 0 (no events in either arm, or all events in both)",
    "PETO": f"no information (no events, or all events, in both arms); {_CONTINUITY}",
    "PR": "its variance is 0 (no events, or all events)",
    "PLO": f"the log odds of 0 or all events is infinite; {_CONTINUITY}",
}


def _validate(family: str, raw: Mapping[str, Any], labels: tuple[str, ...] | None) -> dict[str, F64]:
    arr: dict[str, F64] = {}
    for name, value in raw.items():
        if name.startswith("n"):
            lo = 1.0 if family == "proportion" else 2.0 if family == "continuous" else 1.0
            arr[name] = as_float_array(value, name, min_value=lo, integer=family != "continuous", labels=labels)
        elif name.startswith("sd"):
            arr[name] = as_float_array(value, name, positive=True, labels=labels)
        elif name.startswith("events"):
            arr[name] = as_float_array(value, name, nonnegative=True, integer=True, labels=labels)
        else:
            arr[name] = as_float_array(value, name, labels=labels)
    check_same_length(arr)
    pairs = {"events1": "n1", "events2": "n2", "events": "n"}
    for ev, tot in pairs.items():
        if ev in arr:
            check_events_within_totals(arr[ev], arr[tot], (ev, tot), labels)
    return arr


def _zero_cells(family: str, d: dict[str, F64], add: float, to: str) -> tuple[dict[str, F64], NDArray[np.bool_]]:
    """Continuity correction as metafor's ``add``/``to``: adds ``add`` to every cell of a table."""
    cells: tuple[F64, ...]
    if family == "binary":
        cells = (d["events1"], d["n1"] - d["events1"], d["events2"], d["n2"] - d["events2"])
    else:
        cells = (d["events"], d["n"] - d["events"])
    has0 = np.any(np.vstack(cells) == 0, axis=0)
    k = has0.size
    which = {"only0": has0, "all": np.ones(k, bool), "if0all": np.full(k, has0.any()), "none": np.zeros(k, bool)}[to]
    if add == 0:
        which = np.zeros(k, bool)
    out = dict(d)
    if which.any():
        for ev, tot in (("events1", "n1"), ("events2", "n2"), ("events", "n")):
            if ev in out:
                out[ev] = out[ev] + add * which
                out[tot] = out[tot] + 2 * add * which
    return out, which


def effect_sizes(
    measure: str,
    *,
    data: pd.DataFrame | None = None,
    labels: ArrayLike | str | None = None,
    vtype: str | None = None,
    add: float = 0.5,
    to: str = "only0",
    profile: str | None = None,
    **columns: Any,
) -> EffectSizes:
    """Compute effect sizes and sampling variances from summary data.

    Parameters
    ----------
    measure : str
        ``"MD"``, ``"SMD"``, ``"SMDH"``, ``"ROM"`` (continuous: ``n1, mean1, sd1, n2, mean2, sd2``);
        ``"RR"``, ``"OR"``, ``"RD"``, ``"PETO"`` (binary: ``events1, n1, events2, n2`` — totals, not
        non-events); ``"PR"``, ``"PLO"`` (one group: ``events, n``).
    data : DataFrame, optional
        If given, any column argument may be a column name.
    labels : array-like or str, optional
        Study labels (or the name of a column of ``data``); default ``"Study 1"``, ...
    vtype : {"LS", "UB", "RevMan5"}, optional
        SMD variance: metafor's large-sample default ``1/n1 + 1/n2 + g²/(2N)``; the unbiased
        estimator (Hedges 1983); or RevMan 5 (``J ≈ 1 − 3/(4N − 9)``, ``N/(n1n2) + g²/(2(N − 3.94))``).
        Default: the ``profile``'s (:attr:`metaacu.profiles.Profile.smd_vtype`), else ``"LS"``.
    add, to :
        Continuity correction for binary and proportion measures: ``add`` is added to every cell of
        the studies chosen by ``to`` — ``"only0"`` (studies with a zero cell, metafor's default),
        ``"all"``, ``"if0all"`` (all studies if any has a zero cell) or ``"none"``.  Each correction
        is listed in ``adjustments``.  As in metafor this also applies to ``"PETO"``; use
        ``to="none"`` for the uncorrected Peto odds ratio (RevMan).
    profile : {"metafor", "revman5", "cochrane"}, optional
        Convention profile, as :func:`metaacu.meta_analysis`'s: it sets the default ``vtype`` of
        ``"SMD"`` (``"RevMan5"`` under ``"revman5"`` and ``"cochrane"``, ``"LS"`` under
        ``"metafor"``), so that ``meta_analysis(es, profile="revman5")`` reproduces RevMan's SMD
        analysis.  It changes nothing else (binary and proportion measures are computed as without
        it).  ``None`` (default): ``vtype="LS"``, metafor's.  An explicit ``vtype`` wins.
    **columns :
        The summary data for the measure's family.

    Returns
    -------
    EffectSizes

    Examples
    --------
    >>> es = effect_sizes("RR", events1=[4, 6], n1=[123, 306], events2=[11, 29], n2=[139, 303])
    >>> es.yi.round(4)
    array([-0.8893, -1.5854])
    """
    info = measure_info(measure)
    if info.family not in _FAMILIES:
        raise MetaacuInputError(f"measure {measure!r} is not computed from summary data")
    if vtype is None:
        vtype = "LS" if profile is None else get_profile(profile).smd_vtype
    elif profile is not None:
        get_profile(profile)
    check_choice(vtype, "vtype", SMD_VTYPES)
    check_choice(to, "to", ZERO_RULES)
    add = check_number(add, "add", low=0.0)
    fam = _FAMILIES[info.family]
    raw = _gather(data, columns, fam.columns)
    if isinstance(labels, str):
        if data is None or labels not in data.columns:
            raise MetaacuInputError(f"argument 'labels' names column {labels!r}, which is not in `data`")
        labels = data[labels].to_numpy()
    named = check_labels(labels)
    arr = _validate(info.family, raw, named)
    k = arr[fam.columns[0]].size
    labs = check_labels(labels, k)
    assert labs is not None
    adjustments: list[str] = []
    adjusted = np.zeros(k, dtype=bool)
    calc = arr
    if info.family in ("binary", "proportion"):
        calc, adjusted = _zero_cells(info.family, arr, add, to)
        if adjusted.any():
            idx = ", ".join(map(str, np.flatnonzero(adjusted)))
            adjustments.append(f"added {add:g} to every cell of study index {idx} (to={to!r})")
    if info.family == "continuous":
        yi, vi = fam.compute(measure, calc, vtype)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            yi, vi = fam.compute(measure, calc)
    bad = ~(np.isfinite(yi) & np.isfinite(vi) & (vi > 0))
    if bad.any():
        raise MetaacuInputError(
            f"measure {measure!r} is not defined for {bad_indices(bad, labels=named)}: {_UNDEFINED[measure]}"
        )
    frame = pd.DataFrame({c: arr[c] for c in fam.columns})
    opts: dict[str, Any] = {"add": add, "to": to}
    if info.family == "continuous":
        opts = {"vtype": vtype} if measure == "SMD" else {}
    if profile is not None:
        opts["profile"] = profile
    return EffectSizes(measure, readonly(yi), readonly(vi), labs, frame, tuple(adjustments), readonly(adjusted), opts)


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
