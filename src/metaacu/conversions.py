"""Recover means and standard deviations from the statistics that trials actually report.

Every function is vectorised over studies: an argument is a scalar or a 1-D sequence (one value per
study) and length-1 arguments are broadcast.  All-scalar input gives ``float`` output, otherwise a
read-only ``ndarray``.  Inputs are validated once, at entry; failures raise
:class:`~metaacu._validation.MetaacuInputError` naming the argument and the study index.

References
----------
.. [H] Higgins JPT, Li T, Deeks JJ (eds). Chapter 6: Choosing effect measures and computing
   estimates of effect. Cochrane Handbook for Systematic Reviews of Interventions v6.4, 2023.
.. [W] Wan X, Wang W, Liu J, Tong T. Estimating the sample mean and standard deviation from the
   sample size, median, range and/or interquartile range. BMC Med Res Methodol 2014;14:135.
.. [L] Luo D, Wan X, Liu J, Tong T. Optimally estimating the sample mean from the sample size,
   median, mid-range, and/or mid-quartile range. Stat Methods Med Res 2018;27(6):1785-1805.
.. [S] Shi J, Luo D, Weng H, et al. Optimally estimating the sample standard deviation from the
   five-number summary. Res Synth Methods 2020;11(5):641-654.
.. [C] Chinn S. A simple method for converting an odds ratio to effect size for use in
   meta-analysis. Stat Med 2000;19:3127-3131.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Final, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from metaacu._validation import (
    MetaacuInputError,
    as_float_array,
    bad_indices,
    check_choice,
    check_level,
    check_same_length,
    no_other_keywords,
    readonly,
    renamed_argument,
)

__all__ = [
    "LATENT_SCALES",
    "SMALL_SAMPLE_THRESHOLD",
    "ApproximateMeanSD",
    "ConvertedEffect",
    "change_score_sd",
    "combine_groups",
    "combine_many_groups",
    "correlation_from_sds",
    "log_or_to_smd",
    "mean_sd_from_median",
    "sd_from_ci",
    "sd_from_ci_difference",
    "sd_from_pvalue",
    "sd_from_se",
    "sd_from_t",
    "smd_to_log_or",
]

FloatOrArray = float | NDArray[np.float64]
Arrays = dict[str, NDArray[np.float64]]

#: Handbook §6.5.2.2: "If the sample size is small (say less than 60 in each group) then confidence
#: intervals should have been calculated using a value from a t distribution."
SMALL_SAMPLE_THRESHOLD = 60

_LOGIT_SCALE = np.sqrt(3.0) / np.pi  # [C]: SMD = ln(OR) * sqrt(3)/pi = ln(OR) / 1.8138
#: SMD per unit of log odds ratio, by the distribution assumed for the latent variable: logistic
#: (sqrt(3)/pi; Hasselblad & Hedges 1995, Chinn 2000; metafor's "OR2DL"/"D2ORL") or normal (1/1.65;
#: Cox & Snell 1989; metafor's "OR2DN"/"D2ORN").
LATENT_SCALES: Final[dict[str, float]] = {"logistic": float(_LOGIT_SCALE), "normal": 1.0 / 1.65}

# as_float_array keyword sets
_ANY: dict[str, Any] = {}
_POS: dict[str, Any] = {"positive": True}
_NONNEG: dict[str, Any] = {"nonnegative": True}
_N: dict[str, Any] = {"integer": True, "min_value": 2}


def _load(**specs: tuple[ArrayLike, dict[str, Any]]) -> tuple[Arrays, bool]:
    """Validate each ``name=(value, checks)``, broadcast length-1 arrays; return (arrays, scalar)."""
    scalar = all(np.ndim(value) == 0 for value, _ in specs.values())
    arrays = {name: as_float_array(value, name, **checks) for name, (value, checks) in specs.items()}
    k = max(a.shape[0] for a in arrays.values())
    arrays = {name: np.full(k, a[0]) if a.shape[0] == 1 else a for name, a in arrays.items()}
    check_same_length(arrays)
    return arrays, scalar


def _out(arr: NDArray[np.float64], scalar: bool) -> FloatOrArray:
    return float(arr[0]) if scalar else readonly(np.array(arr, dtype=np.float64))


def _require(bad: NDArray[np.bool_], name: str, what: str) -> None:
    """Raise naming argument ``name`` and the studies flagged in ``bad``."""
    if bad.any():
        raise MetaacuInputError(f"argument {name!r} {what}; check {bad_indices(bad)}")


def _quantile(q: float | NDArray[np.float64], df: NDArray[np.float64], use_t: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Quantile ``q`` of the t distribution with ``df`` where ``use_t``, else of the normal."""
    return np.where(use_t, stats.t.ppf(q, np.maximum(df, 1.0)), stats.norm.ppf(q))


def _use_t(distribution: str, smallest_n: NDArray[np.float64], threshold: int) -> NDArray[np.bool_]:
    check_choice(distribution, "distribution", ("auto", "t", "z"))
    if distribution == "auto":
        return smallest_n < threshold
    return np.full(smallest_n.shape, distribution == "t")


def _pooled_sd(se: NDArray[np.float64], n1: NDArray[np.float64], n2: NDArray[np.float64]) -> NDArray[np.float64]:
    """Handbook v6.4 §6.5.2.3: within-group SD = SE(MD) / sqrt(1/N_E + 1/N_C)."""
    return se / np.sqrt(1.0 / n1 + 1.0 / n2)


# SDs from standard errors, confidence intervals, t statistics and P values
def sd_from_se(se: ArrayLike, n: ArrayLike) -> FloatOrArray:
    """Group SD from the standard error of the group mean: ``SD = SE * sqrt(n)``.

    Cochrane Handbook v6.4 §6.5.2.2.  ``se`` > 0; ``n`` a whole number >= 2.
    """
    a, scalar = _load(se=(se, _POS), n=(n, _N))
    return _out(a["se"] * np.sqrt(a["n"]), scalar)


def sd_from_ci(
    ci_low: ArrayLike,
    ci_high: ArrayLike,
    n: ArrayLike,
    *,
    level: float = 0.95,
    distribution: Literal["auto", "t", "z"] = "auto",
    small_sample_threshold: int = SMALL_SAMPLE_THRESHOLD,
) -> FloatOrArray:
    """Group SD from a confidence interval for the group mean.

    ``SD = sqrt(n) * (high - low) / (2 * crit)`` (Cochrane Handbook v6.4 §6.5.2.2); for a large-sample
    95% interval ``2 * crit = 3.92``.  For small samples the Handbook replaces 3.92 by twice the t
    quantile with ``n - 1`` degrees of freedom.

    Parameters
    ----------
    ci_low, ci_high : array_like
        Limits of the (symmetric) interval; ``ci_high > ci_low``.
    n : array_like
        Group sample size (whole number >= 2).
    level : float
        Confidence level of the interval, e.g. 0.95.
    distribution : {"auto", "t", "z"}
        ``"auto"`` uses t (``n - 1`` df) when ``n < small_sample_threshold``, else the normal.
    small_sample_threshold : int
        Default 60, the Handbook's "say less than 60 in each group"; the Handbook notes that for 60 to
        100 per group either distribution may have been used, so check the trial report.
    """
    level = check_level(level)
    a, scalar = _load(ci_low=(ci_low, _ANY), ci_high=(ci_high, _ANY), n=(n, _N))
    _require(a["ci_high"] <= a["ci_low"], "ci_high", "must exceed 'ci_low'")
    use_t = _use_t(distribution, a["n"], small_sample_threshold)
    crit = _quantile(0.5 + level / 2.0, a["n"] - 1.0, use_t)
    return _out(np.sqrt(a["n"]) * (a["ci_high"] - a["ci_low"]) / (2.0 * crit), scalar)


def sd_from_ci_difference(
    ci_low: ArrayLike,
    ci_high: ArrayLike,
    n1: ArrayLike,
    n2: ArrayLike,
    *,
    level: float = 0.95,
    distribution: Literal["auto", "t", "z"] = "auto",
    small_sample_threshold: int = SMALL_SAMPLE_THRESHOLD,
) -> FloatOrArray:
    """Pooled within-group SD from a confidence interval for a difference in means.

    ``SE = (high - low) / (2 * crit)``, ``SD = SE / sqrt(1/n1 + 1/n2)`` with the t quantile on
    ``n1 + n2 - 2`` degrees of freedom (Cochrane Handbook v6.4 §6.5.2.3).  The SD is assumed common
    to both arms.  ``level``/``distribution``/``small_sample_threshold`` are as in :func:`sd_from_ci`;
    with ``"auto"`` t is used when either arm has fewer than ``small_sample_threshold`` participants.
    """
    level = check_level(level)
    a, scalar = _load(ci_low=(ci_low, _ANY), ci_high=(ci_high, _ANY), n1=(n1, _N), n2=(n2, _N))
    _require(a["ci_high"] <= a["ci_low"], "ci_high", "must exceed 'ci_low'")
    use_t = _use_t(distribution, np.minimum(a["n1"], a["n2"]), small_sample_threshold)
    crit = _quantile(0.5 + level / 2.0, a["n1"] + a["n2"] - 2.0, use_t)
    se = (a["ci_high"] - a["ci_low"]) / (2.0 * crit)
    return _out(_pooled_sd(se, a["n1"], a["n2"]), scalar)


def sd_from_t(t: ArrayLike, mean_difference: ArrayLike, n1: ArrayLike, n2: ArrayLike) -> FloatOrArray:
    """Pooled within-group SD from a two-sample t statistic and the mean difference.

    ``SE = MD / t``, ``SD = SE / sqrt(1/n1 + 1/n2)`` (Cochrane Handbook v6.4 §6.5.2.3).  Signs are
    ignored; ``t`` and ``mean_difference`` must be non-zero.
    """
    a, scalar = _load(t=(t, _ANY), mean_difference=(mean_difference, _ANY), n1=(n1, _N), n2=(n2, _N))
    _require(a["t"] == 0, "t", "must be non-zero")
    _require(a["mean_difference"] == 0, "mean_difference", "must be non-zero")
    se = np.abs(a["mean_difference"] / a["t"])
    return _out(_pooled_sd(se, a["n1"], a["n2"]), scalar)


def sd_from_pvalue(
    pvalue: ArrayLike,
    mean_difference: ArrayLike,
    n1: ArrayLike,
    n2: ArrayLike,
    *,
    distribution: Literal["t", "z"] = "t",
) -> FloatOrArray:
    """Pooled within-group SD from a two-sided P value for a difference in means.

    ``t = F^-1(1 - p/2)`` for the t distribution on ``n1 + n2 - 2`` df (or the normal if
    ``distribution="z"``), then ``SE = MD / t`` and ``SD = SE / sqrt(1/n1 + 1/n2)`` (Cochrane Handbook
    v6.4 §6.5.2.3).  Needs an exact P value in (0, 1); a bound such as "P < 0.05" gives only a
    conservative SD.  ``mean_difference`` must be non-zero (its sign is ignored).
    """
    check_choice(distribution, "distribution", ("t", "z"))
    a, scalar = _load(pvalue=(pvalue, _POS), mean_difference=(mean_difference, _ANY), n1=(n1, _N), n2=(n2, _N))
    _require(a["pvalue"] >= 1.0, "pvalue", "must lie strictly between 0 and 1")
    _require(a["mean_difference"] == 0, "mean_difference", "must be non-zero")
    use_t = np.full(a["pvalue"].shape, distribution == "t")
    tval = _quantile(1.0 - a["pvalue"] / 2.0, a["n1"] + a["n2"] - 2.0, use_t)
    return _out(_pooled_sd(np.abs(a["mean_difference"]) / tval, a["n1"], a["n2"]), scalar)


# Medians, quartiles and ranges (approximations)
@dataclass(frozen=True)
class ApproximateMeanSD:
    """Mean and SD *estimated* from a median-based summary; ``approximation`` is always True.

    ``method`` describes the scenario and the formulas used (a description, not an argument's value).
    """

    mean: FloatOrArray
    sd: FloatOrArray
    method: str
    approximation: bool = True


def _xi(n: NDArray[np.float64]) -> NDArray[np.float64]:
    """Wan et al. 2014 eq. 9: xi(n) = 2 Phi^-1((n - 0.375)/(n + 0.25)) ~ E(range)/sigma."""
    return 2.0 * stats.norm.ppf((n - 0.375) / (n + 0.25))


def _eta(n: NDArray[np.float64]) -> NDArray[np.float64]:
    """Wan et al. 2014 eq. 16: eta(n) = 2 Phi^-1((0.75 n - 0.125)/(n + 0.25)) ~ E(IQR)/sigma."""
    return 2.0 * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25))


def mean_sd_from_median(
    median: ArrayLike,
    *,
    q1: ArrayLike | None = None,
    q3: ArrayLike | None = None,
    minimum: ArrayLike | None = None,
    maximum: ArrayLike | None = None,
    n: ArrayLike,
    sd_estimator_s3: Literal["wan2014", "shi2020"] = "wan2014",
    **deprecated: Any,
) -> ApproximateMeanSD:
    """APPROXIMATE mean and SD from a median with a range and/or interquartile range.

    The scenario follows from the arguments given (a = minimum, b = maximum, m = median):

    * S1, range: mean = w (a+b)/2 + (1-w) m, w = 4/(4 + n^0.75) (Luo et al. 2018 eq. 7);
      SD = (b-a)/xi(n), xi(n) = 2 Phi^-1((n - 0.375)/(n + 0.25)) (Wan et al. 2014 eq. 9).
    * S2, IQR: mean = w (q1+q3)/2 + (1-w) m, w = 0.7 + 0.39/n (Luo eq. 11);
      SD = (q3-q1)/eta(n), eta(n) = 2 Phi^-1((0.75n - 0.125)/(n + 0.25)) (Wan eq. 16).
    * S3, both: mean = w1 (a+b)/2 + w2 (q1+q3)/2 + (1-w1-w2) m, w1 = 2.2/(2.2 + n^0.75),
      w2 = 0.7 - 0.72/n^0.55 (Luo eq. 15).  SD, ``sd_estimator_s3="wan2014"`` (default):
      [(b-a)/xi(n) + (q3-q1)/eta(n)] / 2 (Wan et al. 2014, scenario C3, eqs. 12-13);
      ``"shi2020"``: w (b-a)/xi(n) + (1-w)(q3-q1)/eta(n), w = 1/(1 + 0.07 n^0.6) (Shi et al. 2020
      eq. 10), which is the default of metafor's ``conv.fivenum``.

    The formulas assume roughly normal data, yet a median is often reported *because* data are
    skewed; hence ``approximation=True`` on the result.  Use a sensitivity analysis.  Unlike
    metafor's ``conv.fivenum``, no skewness test (Shi et al. 2023) is applied.

    Parameters
    ----------
    median : array_like
        Sample median.
    q1, q3 : array_like, optional
        First and third quartiles (both or neither); ``q1 < q3``.
    minimum, maximum : array_like, optional
        Sample extremes (both or neither); ``minimum < maximum``.
    n : array_like
        Group size, whole number >= 5 (metafor's ``conv.fivenum`` also leaves n < 5 unconverted).
    sd_estimator_s3 : {"wan2014", "shi2020"}
        SD estimator in scenario S3.  ``sd_method_s3=`` is its deprecated old name (``method`` is the
        τ² estimator everywhere else).

    Returns
    -------
    ApproximateMeanSD
        Its ``method`` describes the formulas used (scenario, equations).
    """
    sd_estimator_s3 = renamed_argument(
        "mean_sd_from_median", deprecated, "sd_method_s3", "sd_estimator_s3", sd_estimator_s3, "wan2014"
    )
    no_other_keywords("mean_sd_from_median", deprecated)
    check_choice(sd_estimator_s3, "sd_estimator_s3", ("wan2014", "shi2020"))
    for lo_name, lo, hi_name, hi in (("q1", q1, "q3", q3), ("minimum", minimum, "maximum", maximum)):
        if (lo is None) != (hi is None):
            given, missing = (hi_name, lo_name) if lo is None else (lo_name, hi_name)
            raise MetaacuInputError(f"argument {missing!r} is required when {given!r} is given")
    has_iqr, has_range = q1 is not None, minimum is not None
    if not (has_iqr or has_range):
        raise MetaacuInputError("give 'q1' and 'q3', or 'minimum' and 'maximum', or all four")
    optional = {"minimum": minimum, "q1": q1, "q3": q3, "maximum": maximum}
    specs = {k: (v, _ANY) for k, v in optional.items() if v is not None}
    a, scalar = _load(median=(median, _ANY), n=(n, {"integer": True, "min_value": 5}), **specs)
    order = [k for k in ("minimum", "q1", "median", "q3", "maximum") if k in a]
    for lower, upper in pairwise(order):
        _require(a[upper] < a[lower], upper, f"must be >= {lower!r}")
    if has_iqr:
        _require(a["q3"] <= a["q1"], "q3", "must exceed 'q1'")
    if has_range:
        _require(a["maximum"] <= a["minimum"], "maximum", "must exceed 'minimum'")

    nn, m = a["n"], a["median"]
    if not has_iqr:
        w = 4.0 / (4.0 + nn**0.75)
        mean = w * (a["minimum"] + a["maximum"]) / 2.0 + (1.0 - w) * m
        sd = (a["maximum"] - a["minimum"]) / _xi(nn)
        method = "S1 (median, range): mean Luo et al. 2018 eq. 7; SD Wan et al. 2014 eq. 9"
    elif not has_range:
        w = 0.7 + 0.39 / nn
        mean = w * (a["q1"] + a["q3"]) / 2.0 + (1.0 - w) * m
        sd = (a["q3"] - a["q1"]) / _eta(nn)
        method = "S2 (median, IQR): mean Luo et al. 2018 eq. 11; SD Wan et al. 2014 eq. 16"
    else:
        w1, w2 = 2.2 / (2.2 + nn**0.75), 0.7 - 0.72 / nn**0.55
        mean = w1 * (a["minimum"] + a["maximum"]) / 2.0 + w2 * (a["q1"] + a["q3"]) / 2.0 + (1.0 - w1 - w2) * m
        by_range, by_iqr = (a["maximum"] - a["minimum"]) / _xi(nn), (a["q3"] - a["q1"]) / _eta(nn)
        if sd_estimator_s3 == "wan2014":
            sd, sd_ref = 0.5 * (by_range + by_iqr), "Wan et al. 2014 eqs. 12-13"
        else:
            w = 1.0 / (1.0 + 0.07 * nn**0.6)
            sd, sd_ref = w * by_range + (1.0 - w) * by_iqr, "Shi et al. 2020 eq. 10"
        method = f"S3 (median, IQR, range): mean Luo et al. 2018 eq. 15; SD {sd_ref}"
    return ApproximateMeanSD(mean=_out(mean, scalar), sd=_out(sd, scalar), method=method)


# Combining arms
def _combine(
    n1: NDArray[np.float64],
    m1: NDArray[np.float64],
    s1: NDArray[np.float64],
    n2: NDArray[np.float64],
    m2: NDArray[np.float64],
    s2: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    n = n1 + n2
    # Table 6.5.a writes the last term with (M1^2 + M2^2 - 2 M1 M2) = (M1 - M2)^2
    ss = (n1 - 1.0) * s1**2 + (n2 - 1.0) * s2**2 + n1 * n2 / n * (m1 - m2) ** 2
    return n, (n1 * m1 + n2 * m2) / n, np.sqrt(ss / (n - 1.0))


def combine_groups(
    n1: ArrayLike, mean1: ArrayLike, sd1: ArrayLike, n2: ArrayLike, mean2: ArrayLike, sd2: ArrayLike
) -> tuple[FloatOrArray, FloatOrArray, FloatOrArray]:
    """Merge two arms into one ``(n, mean, sd)``, e.g. two active arms of a multi-arm trial.

    Cochrane Handbook v6.4 Table 6.5.a (§6.5.2.10)::

        N  = N1 + N2,    M = (N1 M1 + N2 M2) / (N1 + N2)
        SD = sqrt([(N1-1) SD1^2 + (N2-1) SD2^2 + N1 N2 / (N1+N2) (M1^2 + M2^2 - 2 M1 M2)] / (N1+N2-1))

    The SD is exactly the ``ddof=1`` SD of the two arms' individual data pooled.
    """
    a, scalar = _load(
        n1=(n1, _N), mean1=(mean1, _ANY), sd1=(sd1, _NONNEG), n2=(n2, _N), mean2=(mean2, _ANY), sd2=(sd2, _NONNEG)
    )
    res = _combine(a["n1"], a["mean1"], a["sd1"], a["n2"], a["mean2"], a["sd2"])
    return _out(res[0], scalar), _out(res[1], scalar), _out(res[2], scalar)


def combine_many_groups(
    n: Sequence[ArrayLike], mean: Sequence[ArrayLike], sd: Sequence[ArrayLike]
) -> tuple[FloatOrArray, FloatOrArray, FloatOrArray]:
    """Merge any number of arms by folding the two-arm formula of Handbook Table 6.5.a.

    ``n``, ``mean`` and ``sd`` list one entry per arm; each entry is a scalar or an array over
    studies.  Errors name the arm, e.g. ``'sd[2]'``.  The result is independent of arm order.
    """
    if not (len(n) == len(mean) == len(sd)) or len(n) == 0:
        raise MetaacuInputError(
            "arguments 'n', 'mean', 'sd' must list the same, non-zero number "
            f"of groups; got {len(n)}, {len(mean)}, {len(sd)}"
        )
    specs: dict[str, tuple[ArrayLike, dict[str, Any]]] = {}
    for j, (nj, mj, sj) in enumerate(zip(n, mean, sd, strict=True)):
        specs.update({f"n[{j}]": (nj, _N), f"mean[{j}]": (mj, _ANY), f"sd[{j}]": (sj, _NONNEG)})
    a, scalar = _load(**specs)
    acc = (a["n[0]"], a["mean[0]"], a["sd[0]"])
    for j in range(1, len(n)):
        acc = _combine(*acc, a[f"n[{j}]"], a[f"mean[{j}]"], a[f"sd[{j}]"])
    return _out(acc[0], scalar), _out(acc[1], scalar), _out(acc[2], scalar)


# Log odds ratio <-> standardised mean difference
class ConvertedEffect(NamedTuple):
    """An effect converted to another scale, with its variance when one was given.

    What :func:`log_or_to_smd` and :func:`smd_to_log_or` return, whether or not ``var`` is given (one
    return type): ``value`` and ``variance`` are floats for scalar input, read-only arrays otherwise;
    ``variance`` is ``None`` without ``var``.  Unpacks as ``value, variance = ...``.
    """

    value: FloatOrArray
    variance: FloatOrArray | None


def _rescale(value: ArrayLike, var: ArrayLike | None, name: str, factor: float) -> ConvertedEffect:
    specs = {name: (value, _ANY)} if var is None else {name: (value, _ANY), "var": (var, _POS)}
    a, scalar = _load(**specs)
    variance = None if var is None else _out(a["var"] * factor**2, scalar)
    return ConvertedEffect(_out(a[name] * factor, scalar), variance)


def log_or_to_smd(log_or: ArrayLike, var: ArrayLike | None = None, *, latent: str = "logistic") -> ConvertedEffect:
    """Log odds ratio to standardised mean difference.

    ``latent="logistic"`` (default): ``SMD = ln(OR) * sqrt(3)/pi`` (= ln(OR)/1.81) and
    ``var(SMD) = var(ln OR) * 3/pi^2`` (Chinn 2000; Hasselblad & Hedges 1995; Cochrane Handbook v6.4
    §10.6; metafor ``escalc(measure="OR2DL")``), assuming a logistic latent variable with equal spread
    in both arms.  ``latent="normal"``: ``SMD = ln(OR)/1.65``, ``var(ln OR)/1.65^2`` (Cox & Snell 1989;
    metafor ``"OR2DN"``), assuming a normal latent variable.  Returns a :class:`ConvertedEffect`
    ``(value, variance)``: the SMD and, when ``var`` (> 0) is given, its variance (else ``None``).

    Examples
    --------
    >>> round(log_or_to_smd(1.81).value, 4)
    0.9979
    >>> smd, var_smd = log_or_to_smd(1.81, var=0.09)
    >>> round(var_smd, 4)
    0.0274
    >>> round(log_or_to_smd(1.65, latent="normal").value, 4)
    1.0
    """
    return _rescale(log_or, var, "log_or", LATENT_SCALES[check_choice(latent, "latent", LATENT_SCALES)])


def smd_to_log_or(smd: ArrayLike, var: ArrayLike | None = None, *, latent: str = "logistic") -> ConvertedEffect:
    """Standardised mean difference to log odds ratio, the inverse of :func:`log_or_to_smd`.

    ``ln(OR) = SMD * pi/sqrt(3)``, ``var(ln OR) = var(SMD) * pi^2/3`` (Chinn 2000; metafor
    ``transf.dtolnor.logis``), or with ``latent="normal"`` ``ln(OR) = 1.65 SMD`` (Cox & Snell 1989).
    Returns a :class:`ConvertedEffect` ``(value, variance)``: the log odds ratio and its variance when
    ``var`` is given (else ``None``).  (metafor's ``"D2ORL"``/``"D2ORN"`` measures convert Cohen's d
    computed from the arms' summary data: ``metaacu.effect_sizes("D2ORL", ...)``.)
    """
    return _rescale(smd, var, "smd", 1.0 / LATENT_SCALES[check_choice(latent, "latent", LATENT_SCALES)])


# Change-from-baseline SDs
def change_score_sd(sd_baseline: ArrayLike, sd_final: ArrayLike, correlation: ArrayLike) -> FloatOrArray:
    """SD of change from baseline given baseline and final SDs and an (imputed) correlation.

    ``SD_change = sqrt(SD_b^2 + SD_f^2 - 2 r SD_b SD_f)`` (Cochrane Handbook v6.4 §6.5.2.8).  SDs > 0;
    ``correlation`` in [-1, 1].  An imputed r should be varied in a sensitivity analysis.
    """
    a, scalar = _load(sd_baseline=(sd_baseline, _POS), sd_final=(sd_final, _POS), correlation=(correlation, _ANY))
    _require(np.abs(a["correlation"]) > 1.0, "correlation", "must lie in [-1, 1]")
    sb, sf, r = a["sd_baseline"], a["sd_final"], a["correlation"]
    # the variance is >= (sb - sf)^2 >= 0 in exact arithmetic; clip rounding noise at r = 1
    return _out(np.sqrt(np.maximum(sb**2 + sf**2 - 2.0 * r * sb * sf, 0.0)), scalar)


def correlation_from_sds(sd_baseline: ArrayLike, sd_final: ArrayLike, sd_change: ArrayLike) -> FloatOrArray:
    """Baseline-final correlation implied by the three SDs (inverse of :func:`change_score_sd`).

    ``r = (SD_b^2 + SD_f^2 - SD_change^2) / (2 SD_b SD_f)`` (Cochrane Handbook v6.4 §6.5.2.8), used to
    impute r from a study reporting all three SDs.  Raises :class:`MetaacuInputError` naming
    ``sd_change`` when it lies outside ``[|SD_b - SD_f|, SD_b + SD_f]`` (r outside [-1, 1]).
    """
    a, scalar = _load(sd_baseline=(sd_baseline, _POS), sd_final=(sd_final, _POS), sd_change=(sd_change, _NONNEG))
    sb, sf, sc = a["sd_baseline"], a["sd_final"], a["sd_change"]
    r = (sb**2 + sf**2 - sc**2) / (2.0 * sb * sf)
    _require(
        np.abs(r) > 1.0 + 1e-12,
        "sd_change",
        "is inconsistent with 'sd_baseline' and 'sd_final' (implied correlation outside [-1, 1])",
    )
    return _out(np.clip(r, -1.0, 1.0), scalar)
