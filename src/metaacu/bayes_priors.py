"""Prior distributions for Bayesian random-effects meta-analysis (:func:`metaacu.bayes.bayesian_meta_analysis`),
gathered in one place: the prior families and the named presets.

The heterogeneity τ (the between-study standard deviation) gets a :class:`TauPrior` —
:class:`HalfNormal`, :class:`HalfCauchy`, :class:`HalfStudentT`, :class:`Exponential`,
:class:`LogNormal`, :class:`LogStudentT`, :class:`Uniform` or :class:`Jeffreys` (defined in
:mod:`metaacu.bayes_prior_families`); the overall effect μ gets a :class:`MuPrior` (flat, improper,
or normal).  Named presets, with the source of their numbers in ``citation`` (defined in
:mod:`metaacu.bayes_presets`):

* :func:`turner_prior` — Turner et al. (2015), Stat Med 34:984-998, Table IV (log odds ratios);
* :func:`rhodes_prior` — Rhodes, Turner & Higgins (2015), J Clin Epidemiol 68:52-60, Table 3
  (standardised mean differences);
* :func:`weakly_informative_prior` — half-normal(0.5) on τ for log odds ratios (Röver 2020, J Stat
  Softw 93(6), Sec. 2.2 p. 12; Friede et al. 2017, Res Synth Methods 8:79).
"""

from __future__ import annotations

from .bayes_presets import (
    RHODES_COMPARISONS,
    RHODES_OUTCOMES,
    TURNER_COMPARISONS,
    TURNER_OUTCOMES,
    rhodes_prior,
    turner_prior,
    weakly_informative_prior,
)
from .bayes_prior_families import (
    Exponential,
    HalfCauchy,
    HalfNormal,
    HalfStudentT,
    Jeffreys,
    LogNormal,
    LogStudentT,
    MuPrior,
    TauPrior,
    Uniform,
)

__all__ = [
    "RHODES_COMPARISONS",
    "RHODES_OUTCOMES",
    "TURNER_COMPARISONS",
    "TURNER_OUTCOMES",
    "Exponential",
    "HalfCauchy",
    "HalfNormal",
    "HalfStudentT",
    "Jeffreys",
    "LogNormal",
    "LogStudentT",
    "MuPrior",
    "TauPrior",
    "Uniform",
    "rhodes_prior",
    "turner_prior",
    "weakly_informative_prior",
]
