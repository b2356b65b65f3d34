"""Every verdict rule of the claims audit, as tables, in one place.

The rules read numbers only (an estimate and its confidence interval on the *benefit scale*, where a
positive value favours acupuncture and ratios are on the log scale; an event count; a stated and a
recomputed value) and return a :class:`Verdict`: the category the numbers fall in, the claim-level
verdict that category implies for a claim of the registry's ``claim_kind``, and a reason that quotes
the deciding numbers.

Effect estimates are placed relative to the claim's pre-specified clinical-relevance threshold ``T``
(GRADE's minimally contextualised approach: Zeng L et al., GRADE guidance 34, J Clin Epidemiol
2022;150:216-224; Hultcrantz M et al., J Clin Epidemiol 2017;87:4-13, "certainty that a true effect
lies on one side of a specified threshold").  :data:`CATEGORIES` is the table of where the CI lies;
:data:`CLAIM_VERDICTS` says what each category means for a claim of *any* effect, of a *clinically
relevant* effect, or of *little or no* effect.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from scipy import stats

__all__ = [
    "CATEGORIES",
    "CLAIM_KINDS",
    "CLAIM_VERDICTS",
    "DEFINITIONS",
    "VERDICTS",
    "Verdict",
    "arithmetic_verdict",
    "categorise",
    "clopper_pearson",
    "direction_verdict",
    "effect_verdict",
    "fact_verdict",
    "harm_verdict",
    "majority_verdict",
    "schedule_verdict",
]

Show = Callable[[float], str]

#: Where the 95% CI [lo, hi] lies relative to no effect (0) and the threshold T > 0 (benefit scale).
#: Checked in this order; exactly one applies to any finite interval (tests reach each one).
CATEGORIES: Final[dict[str, tuple[Callable[[float, float, float], bool], str]]] = {
    "important_effect": (lambda lo, hi, t: lo >= t, "an important effect (the whole CI is at or above the threshold)"),
    "effect_importance_uncertain": (
        lambda lo, hi, t: 0 < lo < t <= hi,
        "an effect whose importance is uncertain (the CI excludes no effect but includes "
        "values below and above the threshold)",
    ),
    "effect_below_important": (
        lambda lo, hi, t: lo > 0 and hi < t,
        "an effect smaller than important (the CI excludes no effect and rules out an important one)",
    ),
    "no_important_effect": (
        lambda lo, hi, t: lo <= 0 <= hi < t,
        "no important effect (the CI rules out an important effect and is compatible with none)",
    ),
    "inconclusive": (
        lambda lo, hi, t: lo <= 0 and hi >= t,
        "inconclusive (the CI is compatible with no effect and with an important one)",
    ),
    "opposite_direction": (
        lambda lo, hi, t: hi < 0,
        "an effect in the opposite direction (the whole CI favours the control)",
    ),
}

CLAIM_KINDS: Final = ("any_effect", "important_effect", "small_or_no_effect")

#: What each category says about a claim of each kind ("effective"; "a clinically relevant effect";
#: "few people get relief" / "results only after prolonged treatment").
CLAIM_VERDICTS: Final[dict[tuple[str, str], str]] = {
    ("any_effect", "important_effect"): "supported",
    ("any_effect", "effect_importance_uncertain"): "supported",
    ("any_effect", "effect_below_important"): "supported",
    ("any_effect", "no_important_effect"): "not_supported",
    ("any_effect", "inconclusive"): "inconclusive",
    ("any_effect", "opposite_direction"): "contradicted",
    ("important_effect", "important_effect"): "supported",
    ("important_effect", "effect_importance_uncertain"): "inconclusive",
    ("important_effect", "effect_below_important"): "contradicted",
    ("important_effect", "no_important_effect"): "contradicted",
    ("important_effect", "inconclusive"): "inconclusive",
    ("important_effect", "opposite_direction"): "contradicted",
    ("small_or_no_effect", "important_effect"): "contradicted",
    ("small_or_no_effect", "effect_importance_uncertain"): "inconclusive",
    ("small_or_no_effect", "effect_below_important"): "supported",
    ("small_or_no_effect", "no_important_effect"): "supported",
    ("small_or_no_effect", "inconclusive"): "inconclusive",
    ("small_or_no_effect", "opposite_direction"): "supported",
}

VERDICTS: Final = (
    "supported",
    "not_supported",
    "inconclusive",
    "contradicted",
    "weakly_supported",
    "weakly_contradicted",
    "consistent",
    "partly_consistent",
    "inconsistent",
    "not_testable",
)

#: What each claim-level verdict means (shown in the reports and notebooks).
DEFINITIONS: Final[dict[str, str]] = {
    "supported": "the deciding evidence falls in a category that the claim's wording predicts (see CLAIM_VERDICTS); "
    "where the CI also includes values below the threshold, the reason says that the size is not pinned down",
    "not_supported": "a claim of an effect, but the CI is compatible with no effect and rules out an important one",
    "inconclusive": "the CI is compatible with what the claim says and with what it denies; for harm claims, the "
    "trial is too small to exclude the harm rate the claim rules out",
    "contradicted": "the deciding evidence falls in a category that the claim's wording denies",
    "weakly_supported": "the direction is reported (a p-value or a narrative statement) and agrees with the claim, "
    "but no effect size can be computed from public numbers",
    "weakly_contradicted": "the direction is reported (a p-value) and disagrees with the claim, but no effect size "
    "can be computed from public numbers",
    "consistent": "the stated value or statement agrees with its public source (or with the arithmetic)",
    "partly_consistent": "part of the statement agrees with its public source and part does not",
    "inconsistent": "the stated value or statement disagrees with its public source (or with the arithmetic)",
    "not_testable": "no public source can decide it (the article names none, or the statement is not empirical)",
}


@dataclass(frozen=True)
class Verdict:
    """A category, the claim-level verdict it implies, and the reason in words with the deciding numbers."""

    category: str
    verdict: str
    reason: str


def _ci_text(estimate: float, lo: float, hi: float, show: Show, name: str) -> str:
    lead = f"{name} " if name else ""
    return f"{lead}{show(estimate)} (95% CI {show(lo)} to {show(hi)})"


def categorise(lo: float, hi: float, threshold: float) -> str:
    """The :data:`CATEGORIES` entry of a CI ``[lo, hi]`` relative to no effect and ``threshold`` (> 0).

    Examples
    --------
    >>> categorise(0.19, 1.05, 0.5), categorise(-0.37, 0.01, 0.5), categorise(0.6, 0.9, 0.5)
    ('effect_importance_uncertain', 'no_important_effect', 'important_effect')
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ValueError(f"a confidence interval needs finite lo <= hi, got [{lo}, {hi}]")
    if not (math.isfinite(threshold) and threshold > 0):
        raise ValueError(f"the threshold must be a positive number on the benefit scale, got {threshold}")
    for name, (test, _) in CATEGORIES.items():
        if test(lo, hi, threshold):
            return name
    raise AssertionError(f"no category for [{lo}, {hi}] with threshold {threshold}")  # unreachable: tested


def effect_verdict(
    estimate: float, lo: float, hi: float, threshold: float, claim_kind: str, show: Show, name: str = ""
) -> Verdict:
    """Rule ``effect``: categorise the CI against ``threshold`` and map the category for ``claim_kind``."""
    if claim_kind not in CLAIM_KINDS:
        raise ValueError(f"claim_kind {claim_kind!r} is not one of {CLAIM_KINDS}")
    ci = _ci_text(estimate, lo, hi, show, name)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return Verdict("not_assessable", "inconclusive", f"estimate {show(estimate)} has no confidence interval")
    cat = categorise(lo, hi, threshold)
    verdict = CLAIM_VERDICTS[(claim_kind, cat)]
    reason = f"{ci} against the relevance threshold {show(threshold)}: {CATEGORIES[cat][1]}"
    if verdict == "supported" and lo < threshold <= hi:
        reason += "; the size of the effect is not pinned down (imprecision: the CI includes the threshold)"
    return Verdict(cat, verdict, reason)


def clopper_pearson(events: int, total: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson 1934) confidence interval for a proportion.

    Examples
    --------
    >>> [round(x, 4) for x in clopper_pearson(0, 37)]
    [0.0, 0.0949]
    """
    if not (0 <= events <= total and total >= 1):
        raise ValueError(f"need 0 <= events <= total and total >= 1, got {events}/{total}")
    a = 1 - level
    low = 0.0 if events == 0 else float(stats.beta.ppf(a / 2, events, total - events + 1))
    high = 1.0 if events == total else float(stats.beta.ppf(1 - a / 2, events + 1, total - events))
    return low, high


#: Harm claims ("without serious adverse effects"): the exact CI of the harm rate against the
#: highest rate the claim allows.
HARM_CATEGORIES: Final[dict[str, tuple[str, str]]] = {
    "harm_rate_excluded": ("supported", "the upper confidence limit is below the acceptable rate"),
    "harm_not_excluded": (
        "inconclusive",
        "the trial is too small: the upper confidence limit exceeds the acceptable rate",
    ),
    "harm_rate_exceeded": ("contradicted", "the lower confidence limit exceeds the acceptable rate"),
}


def harm_verdict(events: int, total: int, acceptable: float) -> Verdict:
    """Rule ``no_serious_harm``: decide on the exact 95% CI of the event rate against ``acceptable``."""
    lo, hi = clopper_pearson(events, total)
    if hi < acceptable:
        cat = "harm_rate_excluded"
    elif lo > acceptable:
        cat = "harm_rate_exceeded"
    else:
        cat = "harm_not_excluded"
    verdict, words = HARM_CATEGORIES[cat]
    reason = (
        f"{events}/{total} serious events, exact 95% CI {100 * lo:.1f}% to {100 * hi:.1f}%, against an "
        f"acceptable rate of {100 * acceptable:g}%: {words}"
    )
    return Verdict(cat, verdict, reason)


#: "Most people ...": a proportion against one half.
MAJORITY_CATEGORIES: Final[dict[str, tuple[str, str]]] = {
    "majority": ("supported", "the whole CI lies above one half"),
    "minority": ("contradicted", "the whole CI lies below one half"),
    "undecided": ("inconclusive", "the CI includes one half"),
}


def majority_verdict(proportion: float, lo: float, hi: float) -> Verdict:
    """Rule ``majority``: a proportion (0-1) and its CI against 0.5."""
    cat = "majority" if lo > 0.5 else "minority" if hi < 0.5 else "undecided"
    verdict, words = MAJORITY_CATEGORIES[cat]
    return Verdict(cat, verdict, f"{100 * proportion:.0f}% (95% CI {100 * lo:.0f}% to {100 * hi:.0f}%): {words}")


#: Direction only (p-values, narrative statements): whether the reported direction agrees with the claim.
DIRECTION_VERDICTS: Final[dict[tuple[str, bool], str]] = {
    ("any_effect", True): "weakly_supported",
    ("any_effect", False): "inconclusive",
    ("important_effect", True): "weakly_supported",
    ("important_effect", False): "inconclusive",
    ("small_or_no_effect", True): "weakly_contradicted",
    ("small_or_no_effect", False): "inconclusive",
}


def direction_verdict(claim_kind: str, effect_reported: bool, reason: str) -> Verdict:
    """Rule ``direction_only``: a reported effect in the claimed direction (``effect_reported``) with no
    computable effect size."""
    cat = "direction_reported" if effect_reported else "no_direction"
    return Verdict(cat, DIRECTION_VERDICTS[(claim_kind, effect_reported)], reason)


def fact_verdict(comparisons: list[tuple[str, str]]) -> Verdict:
    """Rule ``fact``: each ``(verdict, reason)`` of the claim's fact rows (consistent, partly_consistent,
    inconsistent); the claim is consistent only if every row is, inconsistent if every row is."""
    if not comparisons:
        raise ValueError("a fact claim needs at least one fact row")
    kinds = {v for v, _ in comparisons}
    verdict = (
        kinds.pop()
        if len(kinds) == 1 and kinds <= {"consistent", "inconsistent", "partly_consistent"}
        else "partly_consistent"
    )
    return Verdict("fact_check", verdict, "; ".join(r for _, r in comparisons))


def schedule_verdict(
    stated_low: float, stated_high: float, observed_low: float, observed_high: float, tolerance: float
) -> Verdict:
    """Rule ``schedule``: a stated range of sessions per week against the range seen in the sources.

    Consistent when the sources stay inside the stated range and reach both of its ends (within
    ``tolerance`` sessions per week); partly consistent when they stay inside but one end is never
    reached; inconsistent when they go outside it by more than ``tolerance``.
    """
    inside = observed_low >= stated_low - tolerance and observed_high <= stated_high + tolerance
    ends = abs(observed_low - stated_low) <= tolerance and abs(observed_high - stated_high) <= tolerance
    verdict = "consistent" if inside and ends else "partly_consistent" if inside else "inconsistent"
    reason = (
        f"stated {stated_low:g} to {stated_high:g} sessions per week; the sources range from "
        f"{observed_low:g} to {observed_high:g} (tolerance {tolerance:g})"
    )
    return Verdict("schedule_check", verdict, reason)


def arithmetic_verdict(bad: list[str], reason: str) -> Verdict:
    """Rule ``arithmetic``: consistent when no stated total is off."""
    return Verdict("arithmetic_check", "inconsistent" if bad else "consistent", reason)
