"""Named τ priors for Bayesian random-effects meta-analysis, with the source of their numbers in
``citation`` (:func:`metaacu.bayes.bayesian_meta_analysis`):

* :func:`turner_prior` — Turner et al. (2015), Stat Med 34:984-998, Table IV: log-normal
  predictive distributions for τ² of log odds ratios by outcome type and comparison type;
* :func:`rhodes_prior` — Rhodes, Turner & Higgins (2015), J Clin Epidemiol 68:52-60, Table 3:
  log-t(5) predictive distributions for τ² of standardised mean differences (medical areas other
  than cancer and respiratory disease);
* :func:`weakly_informative_prior` — half-normal(0.5) on τ for log odds ratios (Röver 2020, J Stat
  Softw 93(6), Sec. 2.2 p. 12; Friede et al. 2017, Res Synth Methods 8:79).

The preset tables were transcribed from bayesmeta 3.4 (``R/bayesmeta.R``, ``TurnerEtAlParameters``
"see Tab.IV" and ``RhodesEtAlParameters`` "see Tab.3") and checked against an independent
transcription (rnmamod, ``R/table.tau2.empirical.prior_function.R``) by ``tests/test_bayes.py``; the
papers' own tables could not be retrieved.
"""

from __future__ import annotations

from typing import Final

from ._validation import check_choice
from .bayes_prior_families import HalfNormal, LogNormal, LogStudentT

__all__ = [
    "RHODES_COMPARISONS",
    "RHODES_OUTCOMES",
    "TURNER_COMPARISONS",
    "TURNER_OUTCOMES",
    "rhodes_prior",
    "turner_prior",
    "weakly_informative_prior",
]

#: Outcome types of Turner et al. (2015), Table IV (rows), in the paper's order.
TURNER_OUTCOMES: Final = (
    "all-cause mortality",
    "obstetric outcomes",
    "cause-specific mortality / major morbidity event / composite (mortality or morbidity)",
    "resource use / hospital stay / process",
    "surgical / device related success / failure",
    "withdrawals / drop-outs",
    "internal / structure-related outcomes",
    "general physical health indicators",
    "adverse events",
    "infection / onset of new disease",
    "signs / symptoms reflecting continuation / end of condition",
    "pain",
    "quality of life / functioning (dichotomized)",
    "mental health indicators",
    "biological markers (dichotomized)",
    "subjective outcomes (various)",
)
#: Intervention comparison types of Turner et al. (2015), Table IV (columns).
TURNER_COMPARISONS: Final = (
    "pharmacological vs placebo/control",
    "pharmacological vs pharmacological",
    "non-pharmacological vs placebo/control",
    "non-pharmacological vs pharmacological",
    "non-pharmacological vs non-pharmacological",
)
# Table IV: log τ² ~ N(mean, sd²); one tuple per comparison (column), one entry per outcome (row).
_TURNER_MEAN: Final = (
    (-3.95, -3.52, -3.71, -2.34, -2.14, -2.99, -2.71, -2.29, -1.87, -2.49, -2.06, -1.83, -2.54, -2.12, -1.77, -2.70),
    (-4.18, -3.75, -3.95, -2.58, -2.37, -3.23, -2.94, -2.53, -2.10, -2.73, -2.29, -2.06, -2.78, -2.35, -2.00, -2.93),
    (-4.17, -3.74, -3.93, -2.56, -2.36, -3.21, -2.93, -2.51, -2.10, -2.71, -2.28, -2.05, -2.77, -2.34, -1.99, -2.92),
    (-2.92, -2.49, -2.68, -1.31, -1.11, -1.96, -1.67, -1.26, -0.84, -1.46, -1.03, -0.80, -1.51, -1.09, -0.74, -1.67),
    (-3.50, -3.08, -3.27, -1.90, -1.69, -2.55, -2.26, -1.85, -1.43, -2.05, -1.61, -1.38, -2.10, -1.67, -1.33, -2.26),
)
_TURNER_SD: Final = (
    (1.34, 1.74, 1.74, 1.74, 1.74, 1.74, 1.74, 1.53, 1.52, 1.52, 1.51, 1.52, 1.54, 1.53, 1.52, 1.52),
    (1.41, 1.79, 1.79, 1.79, 1.79, 1.79, 1.79, 1.58, 1.58, 1.58, 1.58, 1.58, 1.60, 1.60, 1.58, 1.58),
    (1.55, 1.91, 1.91, 1.91, 1.91, 1.91, 1.92, 1.72, 1.71, 1.71, 1.71, 1.71, 1.73, 1.72, 1.71, 1.71),
    (1.02, 1.50, 1.51, 1.50, 1.50, 1.51, 1.51, 1.25, 1.24, 1.24, 1.24, 1.25, 1.27, 1.27, 1.24, 1.25),
    (1.26, 1.68, 1.68, 1.68, 1.68, 1.68, 1.68, 1.46, 1.45, 1.45, 1.45, 1.45, 1.47, 1.47, 1.45, 1.45),
)
#: The general setting of Turner et al. (2015), without covariates (p. 993 as cited by bayesmeta).
_TURNER_GENERAL: Final = (-2.56, 1.74)
_TURNER_SOURCE: Final = (
    "Turner RM, Jackson D, Wei Y, Thompson SG, Higgins JPT. Stat Med 2015;34(6):984-998, doi:10.1002/sim.6381, "
    "Table IV; transcribed from bayesmeta 3.4 R/bayesmeta.R (TurnerEtAlParameters) and checked against rnmamod "
    "R/table.tau2.empirical.prior_function.R"
)

#: Outcome types of Rhodes et al. (2015), Table 3 (rows).
RHODES_OUTCOMES: Final = (
    "obstetric outcome",
    "resource use and hospital stay / process",
    "internal and external structure-related outcome",
    "general physical health and adverse event and pain and quality of life / functioning",
    "signs / symptoms reflecting continuation / end of condition and infection / onset of new acute / chronic disease",
    "mental health outcome",
    "biological marker",
    "various subjectively measured outcomes",
)
#: Intervention comparison types of Rhodes et al. (2015), Table 3 (columns).
RHODES_COMPARISONS: Final = (
    "pharmacological vs placebo/control",
    "pharmacological vs pharmacological",
    "non-pharmacological (any)",
)
# Table 3 (medical areas other than cancer and respiratory diseases): (log τ² − location)/scale ~ t5.
_RHODES_LOCATION: Final = (
    (-4.13, -2.55, -2.43, -3.16, -3.00, -2.99, -3.41, -2.76),
    (-4.40, -2.83, -2.70, -3.44, -3.27, -3.27, -3.68, -3.03),
    (-3.99, -2.41, -2.29, -3.02, -2.86, -3.85, -3.27, -2.62),
)
_RHODES_SCALE: Final = (
    (2.34, 2.73, 2.50, 2.50, 2.50, 2.16, 2.83, 2.58),
    (2.31, 2.70, 2.46, 2.44, 2.47, 2.14, 2.78, 2.59),
    (2.11, 2.57, 2.32, 2.27, 2.33, 1.93, 2.66, 2.41),
)
#: The general setting of Rhodes et al. (2015) ("beginning of Sec. 3.3" as cited by bayesmeta).
_RHODES_GENERAL: Final = (-3.44, 2.59)
_RHODES_SOURCE: Final = (
    "Rhodes KM, Turner RM, Higgins JPT. J Clin Epidemiol 2015;68(1):52-60, doi:10.1016/j.jclinepi.2014.08.012, "
    "Table 3 (medical areas other than cancer and respiratory disease); transcribed from bayesmeta 3.4 "
    "R/bayesmeta.R (RhodesEtAlParameters) and checked against rnmamod R/table.tau2.empirical.prior_function.R"
)


def turner_prior(outcome: str | None = None, comparison: str = TURNER_COMPARISONS[0]) -> LogNormal:
    """Turner et al. (2015) predictive distribution for τ² of a log odds ratio, as a prior for τ.

    Parameters
    ----------
    outcome : str, optional
        One of :data:`TURNER_OUTCOMES`; ``None`` gives the general setting log τ² ~ N(−2.56, 1.74²).
    comparison : str
        One of :data:`TURNER_COMPARISONS` (ignored for the general setting).

    Returns
    -------
    LogNormal
        The log-normal on τ, i.e. ``LogNormal.for_tau2(mean, sd)`` of the table's cell, with the
        source in ``citation``.

    Notes
    -----
    Source: Turner RM et al., "Predictive distributions for between-study heterogeneity and simple
    methods for their application in Bayesian meta-analysis", Stat Med 2015;34:984-998, Table IV
    (log-normal distributions for τ² on the log OR scale).

    Examples
    --------
    >>> p = turner_prior("surgical / device related success / failure", "pharmacological vs placebo/control")
    >>> [round(float(q), 4) for q in p.quantile([0.025, 0.5, 0.975])]  # Röver 2020, J Stat Softw, p. 31
    [0.0623, 0.343, 1.8873]
    """
    if outcome is None:
        mean, sd = _TURNER_GENERAL
        return LogNormal.for_tau2(mean, sd, f"{_TURNER_SOURCE}; general setting")
    row = TURNER_OUTCOMES.index(check_choice(outcome, "outcome", TURNER_OUTCOMES))
    col = TURNER_COMPARISONS.index(check_choice(comparison, "comparison", TURNER_COMPARISONS))
    cell = f"{_TURNER_SOURCE}; {outcome}, {comparison}"
    return LogNormal.for_tau2(_TURNER_MEAN[col][row], _TURNER_SD[col][row], cell)


def rhodes_prior(outcome: str | None = None, comparison: str = RHODES_COMPARISONS[0]) -> LogStudentT:
    """Rhodes et al. (2015) predictive distribution for τ² of a standardised mean difference, as a prior for τ.

    Parameters
    ----------
    outcome : str, optional
        One of :data:`RHODES_OUTCOMES`; ``None`` gives the general setting, log τ² ~ t5(−3.44, 2.59).
    comparison : str
        One of :data:`RHODES_COMPARISONS` (ignored for the general setting).

    Returns
    -------
    LogStudentT
        ``LogStudentT.for_tau2(location, scale, 5)`` of the table's cell.

    Notes
    -----
    Source: Rhodes KM, Turner RM, Higgins JPT, "Predictive distributions were developed for the
    extent of heterogeneity in meta-analyses of continuous outcome data", J Clin Epidemiol
    2015;68:52-60, Table 3 (medical areas other than cancer and respiratory diseases; the paper's
    appendix tables for those two areas are not included).

    Examples
    --------
    >>> rhodes_prior().describe()
    'log-Student-t(location=-1.72, scale=1.295, df=5) on tau'
    """
    if outcome is None:
        loc, scale = _RHODES_GENERAL
        return LogStudentT.for_tau2(loc, scale, 5.0, f"{_RHODES_SOURCE}; general setting")
    row = RHODES_OUTCOMES.index(check_choice(outcome, "outcome", RHODES_OUTCOMES))
    col = RHODES_COMPARISONS.index(check_choice(comparison, "comparison", RHODES_COMPARISONS))
    cell = f"{_RHODES_SOURCE}; {outcome}, {comparison}"
    return LogStudentT.for_tau2(_RHODES_LOCATION[col][row], _RHODES_SCALE[col][row], 5.0, cell)


def weakly_informative_prior() -> HalfNormal:
    """Half-normal(0.5) on τ: a weakly informative prior for log odds ratios (and similar scales).

    Returns
    -------
    HalfNormal
        ``HalfNormal(0.5)``: 95% prior probability that τ ≤ 0.98.

    Notes
    -----
    Röver (2020), J Stat Softw 93(6), Sec. 2.2 p. 12: "a half-normal prior with scale 0.5 may confine
    heterogeneity mostly to 'reasonable' to 'fairly high' values and leave about 5% probability for
    'fairly extreme' heterogeneity" for log-OR endpoints (Spiegelhalter et al. 2004's categories);
    Friede et al. (2017), Res Synth Methods 8:79 (abstract) recommend half-normal priors with scale
    0.5 or 1.0 for log odds ratios in rare diseases.  Röver et al. (2021), Res Synth Methods 12:448,
    discuss weakly informative heterogeneity priors in general (only its abstract was retrieved).
    The scale is tied to the effect scale: it is not sensible for, e.g., raw mean differences.

    Examples
    --------
    >>> prior = weakly_informative_prior()
    >>> prior.describe(), prior.citation.split(";")[0]
    ('half-normal(scale=0.5)', 'Röver 2020, J Stat Softw 93(6), Sec. 2.2 p. 12')
    """
    return HalfNormal(0.5, "Röver 2020, J Stat Softw 93(6), Sec. 2.2 p. 12; Friede et al. 2017, Res Synth Methods 8:79")
