"""The Bayesian view of claims that rest on few pooled studies (tracker issue 15).

With two to five studies the between-study variance is barely estimable: the Wald interval is too
narrow and the Knapp-Hartung one can explode.  For every claim whose deciding estimate is a
random-effects model pooled by the audit from at most ``[bayes].max_k`` studies, on a measure listed
in ``[bayes].measures``, the registry's pre-specified τ priors (a weakly informative one and one
sensitivity prior, with a flat prior on μ) give a Bayesian result next to the frequentist one:
posterior median and 95% central credible interval of μ, placed by the same rule table as the
confidence interval (so its category and verdict can be compared), and the posterior probabilities
that the effect favours acupuncture and that it exceeds the claim's relevance threshold.

The claim's verdict stays frequentist; the rows join the claim's sensitivity table, where
:attr:`ClaimResult.bayes_changes` and the report say whether the Bayesian view changes the picture.
"""

from __future__ import annotations

import math
from typing import Any, Final

from scipy import special

from ..bayes import bayesian_meta_analysis
from ..bayes_priors import HalfCauchy, HalfNormal, TauPrior
from ..results import MetaAnalysis
from . import rules

__all__ = ["BAYES_PREFIX", "PRIOR_KINDS", "bayesian_rows", "tau_prior"]

#: Sensitivity-table scenarios of the Bayesian view start with this (how the report finds them).
BAYES_PREFIX: Final = "Bayesian"
#: The τ prior families the registry may name (``kind``), with their one scale parameter.
PRIOR_KINDS: Final = {"half_normal": HalfNormal, "half_cauchy": HalfCauchy}


def tau_prior(spec: dict[str, Any]) -> TauPrior:
    """The τ prior a registry entry ``{kind, scale, source}`` describes."""
    return PRIOR_KINDS[str(spec["kind"])](float(spec["scale"]))


def applies(cfg: dict[str, Any] | None, model: MetaAnalysis | None, claim: dict[str, Any], measure: str) -> bool:
    """Whether the claim gets a Bayesian view: a random-effects model pooled by the audit from 2 to
    ``max_k`` studies on a listed measure (a reconstruction of one review's estimate does not)."""
    if cfg is None or model is None or not 2 <= model.k <= int(cfg["max_k"]) or model.method == "EE":
        return False
    spec = claim.get("model")
    return isinstance(spec, dict) and "reconstructs" not in spec and measure in cfg["measures"]


def bayesian_rows(
    cfg: dict[str, Any] | None, model: MetaAnalysis | None, claim: dict[str, Any], measure: str, threshold: float
) -> list[dict[str, Any]]:
    """Sensitivity-table rows of the Bayesian view (empty when it does not apply).

    ``threshold`` is the claim's relevance threshold on the pooling scale (NaN for a majority claim,
    whose line is a share of one half, i.e. 0 on the logit scale)."""
    if not applies(cfg, model, claim, measure):
        return []
    assert cfg is not None and model is not None
    rows = []
    for role in ("prior", "sensitivity_prior"):
        prior = tau_prior(cfg[role])
        fit = bayesian_meta_analysis(model.yi, model.vi, tau_prior=prior, labels=model.labels, measure=model.measure)
        lo, hi = (float(x) for x in fit.mu.central)
        med = float(fit.mu.median)
        if claim["rule"] == "majority":
            p, plo, phi = (float(special.expit(x)) for x in (med, lo, hi))
            verdict = rules.majority_verdict(p, plo, phi)
            p_important = math.nan
        else:
            verdict = rules.effect_verdict(med, lo, hi, threshold, claim["claim_kind"], lambda x: f"{x:.2f}", measure)
            p_important = float(fit.prob("mu", lower=threshold))
        rows.append(
            {
                "scenario": f"{BAYES_PREFIX} ({'main' if role == 'prior' else 'sensitivity'} prior): tau ~ "
                f"{prior.describe()}, flat prior on mu; posterior median and 95% central credible interval",
                "category": verdict.category,
                "verdict": verdict.verdict,
                "estimate": med,
                "ci_low": lo,
                "ci_high": hi,
                "p_benefit": float(fit.prob("mu", lower=0.0)),
                "p_important": p_important,
            }
        )
    return rows
