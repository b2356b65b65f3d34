"""Verdict rules of the claims audit, fixed in advance (see ``data/claims.toml``).

Each rule reads only numbers (an estimate and CI on the benefit scale, where a positive value favours
acupuncture and ratios are on the log scale) and returns a category with a sentence that cites the
numbers that decided it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from scipy import stats

__all__ = ["DEFINITIONS", "VERDICTS", "Verdict", "clopper_pearson", "effect_verdict", "few_effect_verdict"]

VERDICTS: Final = (
    "supported",
    "supported_below_threshold",
    "weakly_supported",
    "inconclusive",
    "contradicted",
    "consistent",
    "inconsistent",
    "not_testable",
)


#: What each verdict category means, per rule (the registry's header says the same in short).
DEFINITIONS: Final[dict[str, str]] = {
    "supported": "the 95% CI excludes no effect in the claimed direction and the point estimate reaches the "
    "clinical-relevance threshold (persistence rule: the effect over control is still above zero at the "
    "pessimistic end of its 12-month decline; harm rule: no serious event was observed)",
    "supported_below_threshold": "the 95% CI excludes no effect in the claimed direction but the point estimate "
    "is below the clinical-relevance threshold",
    "weakly_supported": "the direction is reported (a p-value or a narrative statement) but no effect size can "
    "be computed from public numbers",
    "inconclusive": "the 95% CI includes no effect (or the evidence cannot separate the claim from its opposite)",
    "contradicted": "the 95% CI excludes no effect in the direction opposite to the claim, or, for a claim that "
    "an effect is rare or absent, the evidence shows a clear effect (harm rule: a serious event was observed)",
    "consistent": "every stated total follows from the stated prices and frequencies",
    "inconsistent": "at least one stated total does not follow from the stated prices and frequencies",
    "not_testable": "none of the references the article cites bears on the claim",
}


@dataclass(frozen=True)
class Verdict:
    """A verdict category and the reason, in words with the deciding numbers."""

    category: str
    reason: str


def _ci_text(estimate: float, ci_low: float, ci_high: float, show, name: str) -> str:
    lead = f"{name} " if name else ""
    return f"{lead}{show(estimate)} (95% CI {show(ci_low)} to {show(ci_high)})"


def effect_verdict(estimate: float, ci_low: float, ci_high: float, threshold: float | None, show, name: str = "") -> Verdict:
    """Rule ``effect``: the claim says acupuncture helps (benefit scale, no effect = 0).

    ``show`` formats a benefit-scale value for the reason text (e.g. back-transforms ratios); ``name``
    (e.g. ``"RR"``) leads the estimate.
    """
    ci = _ci_text(estimate, ci_low, ci_high, show, name)
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return Verdict("inconclusive", f"estimate {show(estimate)} has no confidence interval")
    if ci_high < 0:
        return Verdict("contradicted", f"{ci} excludes no effect in the direction against the claim")
    if ci_low <= 0:
        return Verdict("inconclusive", f"{ci} includes no effect")
    if threshold is None or estimate >= threshold:
        tail = "" if threshold is None else f" and reaches the relevance threshold {show(threshold)}"
        if threshold is not None and ci_low < threshold:
            tail += " (the threshold lies inside the CI, so the size of the effect is not pinned down)"
        return Verdict("supported", f"{ci} excludes no effect{tail}")
    return Verdict(
        "supported_below_threshold",
        f"{ci} excludes no effect but is below the relevance threshold {show(threshold)}",
    )


def few_effect_verdict(
    estimate: float, ci_low: float, ci_high: float, threshold: float | None, show, name: str = ""
) -> Verdict:
    """Rule ``few_effect``: the claim says an effect is rare or absent."""
    ci = _ci_text(estimate, ci_low, ci_high, show, name)
    if ci_low > 0:
        size = "" if threshold is None or estimate < threshold else f", at or above the threshold {show(threshold)}"
        return Verdict("contradicted", f"the cited evidence shows a clear effect: {ci}{size}")
    return Verdict("supported", f"{ci} shows no clear effect")


def clopper_pearson(events: int, total: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson 1934) confidence interval for a proportion."""
    a = 1 - level
    low = 0.0 if events == 0 else float(stats.beta.ppf(a / 2, events, total - events + 1))
    high = 1.0 if events == total else float(stats.beta.ppf(1 - a / 2, events + 1, total - events))
    return low, high
