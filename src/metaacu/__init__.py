"""metaacu: meta-analysis that agrees with metafor.

Everything public is re-exported here lazily, so that ``import metaacu`` stays light (matplotlib
and pandas-heavy modules load on first use).  The claims audit of the acupuncture article is a
separate subpackage, :mod:`metaacu.audit`, which this namespace does not import.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "effect_sizes": "escalc",
    "change_score_effect_sizes": "escalc",
    "EffectSizes": "escalc",
    "hedges_j": "escalc",
    "meta_analysis": "pooling",
    "MetaAnalysis": "results",
    "Interval": "interval",
    "MetaacuInputError": "_validation",
    "LikelihoodWarning": "_validation",
    "MEASURES": "measures",
    "measure_info": "measures",
    "PROFILES": "profiles",
    "meta_analysis_batch": "batch",
    "mantel_haenszel": "binary",
    "peto": "binary",
    "mantel_haenszel_rates": "binary_rates",
    "glmm_meta_analysis": "glmm",
    "GLMMResult": "glmm_result",
    "glmm_meta_regression": "glmm_regression",
    "GLMMRegression": "glmm_regression_result",
    "subgroup_analysis": "subgroups",
    "meta_regression": "regression",
    "wald_test": "hypotheses",
    "WaldTest": "hypotheses",
    "cluster_robust": "robust",
    "ClusterRobust": "robust",
    "permutation_test": "permutation",
    "PermutationTest": "permutation",
    "vcalc": "vcov",
    "shared_control_covariance": "vcov",
    "multiple_outcome_smd_covariance": "vcov",
    "SamplingCovariance": "vcov_result",
    "multilevel_meta_analysis": "multilevel",
    "MultilevelMetaAnalysis": "multilevel_result",
    "multilevel_likelihood_ratio_test": "multilevel_compare",
    "network_contrasts": "network",
    "treatment_design": "network",
    "NetworkContrasts": "network",
    "likelihood_ratio_test": "fitstats",
    "leave_one_out": "sensitivity",
    "influence": "sensitivity",
    "cumulative": "sensitivity",
    "egger_test": "bias",
    "rank_test": "bias",
    "trim_and_fill": "trimfill",
    "fail_safe_n": "trimfill",
    "henmi_copas": "henmi",
    "HenmiCopas": "henmi",
    "bayesian_meta_analysis": "bayes",
    "bayesian_meta_analysis_batch": "bayes",
    "BayesianMetaAnalysis": "bayes",
    "HalfNormal": "bayes_priors",
    "HalfCauchy": "bayes_priors",
    "HalfStudentT": "bayes_priors",
    "MuPrior": "bayes_priors",
    "weakly_informative_prior": "bayes_priors",
    "turner_prior": "bayes_priors",
    "rhodes_prior": "bayes_priors",
    "forest_plot": "plots",
    "funnel_plot": "plots",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value  # later look-ups find it directly, without this function
        return value
    raise AttributeError(f"module 'metaacu' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
