"""Certainty of evidence (GRADE) for every claim with an effect estimate, and risk of bias of trials.

Each claim has one row per GRADE domain in ``data/certainty.csv``.  A row either holds a judgement
with its reason and source (indirectness always; risk of bias for review-level summaries), or says
``rule``: the judgement then follows from the numbers by the rule table :data:`DOMAIN_RULES`, whose
parameters (cut-offs, information sizes) sit in ``[certainty]`` of ``data/claims.toml`` with their
sources.  Randomised evidence starts at high certainty and loses one level per serious and two per
very serious concern (GRADE; Guyatt GH et al. J Clin Epidemiol 2011;64:383-394).

Per-trial risk of bias (Cochrane RoB 1 domains, ``data/risk_of_bias.csv``) is summarised over the key
domains for self-reported pain and function: sequence generation, allocation concealment, blinding of
participants, blinding of outcome assessment and incomplete outcome data (Cochrane Handbook 5.1
Table 8.7.a: low if all are low, high if any is high, otherwise some concerns).  Blinding of the
acupuncturist is shown but not a key domain: the outcomes are self-reported by the participants.

Plain-language statements follow Santesso N et al., GRADE guidelines 26 (J Clin Epidemiol
2020;119:126-135): "results in" (high), "likely results in" (moderate), "may result in" (low) and
"the evidence is very uncertain" (very low).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from .._validation import MetaacuInputError
from .data import Dataset

__all__ = [
    "DOMAIN_RULES",
    "KEY_DOMAINS",
    "LEVELS",
    "Certainty",
    "CertaintyInputs",
    "DomainRating",
    "plain_statement",
    "rate_certainty",
    "trial_risk_of_bias",
]

LEVELS: Final = ("very low", "low", "moderate", "high")
SYMBOLS: Final = {"high": "⊕⊕⊕⊕", "moderate": "⊕⊕⊕◯", "low": "⊕⊕◯◯", "very low": "⊕◯◯◯"}
DOWNGRADE: Final = {"not serious": 0, "serious": 1, "very serious": 2}
KEY_DOMAINS: Final = (
    "sequence_generation",
    "allocation_concealment",
    "blinding_participants",
    "blinding_outcome_assessment",
    "incomplete_outcome_data",
)
ROB_DOMAINS: Final = (*KEY_DOMAINS[:3], "blinding_personnel", *KEY_DOMAINS[3:], "selective_reporting", "other_bias")


@dataclass(frozen=True)
class DomainRating:
    """One GRADE domain: the judgement, its reason, where it comes from, and whether a rule made it."""

    domain: str
    judgement: str
    reason: str
    source: str
    locator: str
    by_rule: bool

    @property
    def downgrade(self) -> int:
        return DOWNGRADE[self.judgement]


@dataclass(frozen=True)
class Certainty:
    """The certainty rating of one claim's deciding evidence, with its five domains."""

    level: str
    domains: tuple[DomainRating, ...]
    statement: str
    published: pd.DataFrame

    @property
    def symbol(self) -> str:
        return SYMBOLS[self.level]

    @property
    def downgrades(self) -> str:
        """'risk of bias (serious); imprecision (very serious)', or 'none'."""
        bits = [f"{d.domain.replace('_', ' ')} ({d.judgement})" for d in self.domains if d.downgrade]
        return "; ".join(bits) or "none"

    def to_frame(self) -> pd.DataFrame:
        """One row per domain: judgement, levels down, reason, source, locator, rule-made."""
        return pd.DataFrame(
            [
                {
                    "domain": d.domain,
                    "judgement": d.judgement,
                    "levels_down": d.downgrade,
                    "reason": d.reason,
                    "source": d.source,
                    "locator": d.locator,
                    "by_rule": d.by_rule,
                }
                for d in self.domains
            ]
        )


@dataclass(frozen=True)
class CertaintyInputs:
    """What the domain rules read from a claim's result.

    ``category``: the rules' category of the deciding estimate; ``deciding``: the evidence rows that
    decide it (with ``weight`` in percent); ``i2`` and ``k_pooled`` of the model, if any;
    ``participants`` and ``events`` for the optimal information size; ``binary`` whether the outcome
    is dichotomous; ``harm_ratio`` the upper confidence limit over the acceptable rate (harm claims);
    ``target`` what the rating is about (GRADE guidelines 32): ``"null"`` for a claim of any effect
    (is there an effect?), ``"threshold"`` for a claim about an important effect or its absence;
    ``ci_low``, ``pi_low`` and ``pi_high`` on the benefit scale, for the prediction-interval check.
    """

    category: str
    target: str
    deciding: pd.DataFrame
    i2: float = math.nan
    k_pooled: int = 0
    participants: float = math.nan
    events: float = math.nan
    binary: bool = False
    harm_ratio: float = math.nan
    ci_low: float = math.nan
    pi_low: float = math.nan
    pi_high: float = math.nan


def trial_risk_of_bias(ds: Dataset, study_id: str, comparison: str = "all") -> tuple[str, dict[str, str]]:
    """Overall risk of bias of one trial for one comparison, and the judgement of each domain.

    A domain's judgement is the row for that comparison if there is one, else the row for ``"all"``;
    missing judgements are ``"missing"``.  The overall judgement reads :data:`KEY_DOMAINS` only.
    """
    rob = ds.risk_of_bias[ds.risk_of_bias["study_id"] == study_id]
    if rob.empty:
        raise MetaacuInputError(f"risk_of_bias.csv has no rows for study {study_id!r}")
    out: dict[str, str] = {}
    for domain in ROB_DOMAINS:
        rows = rob[rob["domain"] == domain]
        pick = rows[rows["comparison"] == comparison]
        if pick.empty:
            pick = rows[rows["comparison"] == "all"]
        out[domain] = "missing" if pick.empty or pd.isna(pick["judgement"].iloc[0]) else str(pick["judgement"].iloc[0])
    key = [out[d] for d in KEY_DOMAINS]
    overall = "high" if "high" in key else "low" if all(v == "low" for v in key) else "some concerns"
    return overall, out


def _rule_risk_of_bias(inp: CertaintyInputs, ds: Dataset, prm: dict[str, Any]) -> tuple[str, str]:
    d = inp.deciding
    if (d["study_id"] == "").any():
        raise MetaacuInputError(
            "risk of bias of a review-level summary cannot be computed from trial rows: "
            "give a judgement in certainty.csv"
        )
    share = float(prm["rob_share_serious"])
    w = d["weight"].to_numpy(float) / d["weight"].sum()
    judged = [trial_risk_of_bias(ds, s, c) for s, c in zip(d["study_id"], d["rob_comparison"], strict=True)]
    not_low = sum(wi for wi, (o, _) in zip(w, judged, strict=True) if o != "low")
    severe = sum(
        wi
        for wi, (o, dom) in zip(w, judged, strict=True)
        if "high" in (dom["sequence_generation"], dom["allocation_concealment"])
        and "high" in (dom["blinding_participants"], dom["blinding_outcome_assessment"])
    )
    names = ", ".join(f"{s} {o}" for s, (o, _) in zip(d["study_id"], judged, strict=True))
    if severe >= share:
        return "very serious", (
            f"{100 * severe:.0f}% of the weight comes from trials with non-random or unconcealed "
            f"allocation and no blinding ({names})"
        )
    if not_low >= share:
        return "serious", f"{100 * not_low:.0f}% of the weight comes from trials not at low risk of bias ({names})"
    return "not serious", f"most of the weight comes from trials at low risk of bias ({names})"


def _rule_inconsistency(inp: CertaintyInputs, ds: Dataset, prm: dict[str, Any]) -> tuple[str, str]:
    cut = float(prm["i2_serious"])
    if inp.k_pooled >= 2 or not math.isnan(inp.i2):
        if math.isnan(inp.i2):
            return "not serious", "heterogeneity not reported"
        lead = f"I² = {inp.i2:.0f}%" + (f" across {inp.k_pooled} estimates" if inp.k_pooled >= 2 else " (as reported)")
        if inp.i2 >= cut:
            return "serious", f"{lead}, at or above {cut:g}%"
        if inp.k_pooled >= 3 and inp.pi_low <= 0 < inp.ci_low:
            return "serious", f"{lead}, but the prediction interval includes no effect although the CI excludes it"
        pi = (
            ""
            if math.isnan(inp.pi_low) or inp.k_pooled < 3
            else "; the prediction interval is on the same side of no effect as the CI"
        )
        return "not serious", f"{lead}, below {cut:g}%{pi}"
    if (inp.deciding["study_id"] != "").all():
        return "not serious", "a single trial: inconsistency cannot be judged"
    return "not serious", "heterogeneity of the published summary is not reported; not rated down"


#: Imprecision by category and target: the CI approach of GRADE guidance 34 relative to the threshold
#: the rating is about (no effect for claims of any effect; the relevance threshold otherwise).
_IMPRECISION_BY_TARGET: Final = {
    ("null", "important_effect"): ("not serious", "the CI excludes no effect"),
    ("null", "effect_importance_uncertain"): ("not serious", "the CI excludes no effect"),
    ("null", "effect_below_important"): ("not serious", "the CI excludes no effect"),
    ("null", "no_important_effect"): ("serious", "the CI includes no effect"),
    ("null", "inconclusive"): ("very serious", "the CI includes no effect and reaches past the relevance threshold"),
    ("null", "opposite_direction"): ("not serious", "the CI excludes no effect"),
    ("threshold", "important_effect"): ("not serious", "the CI lies entirely beyond the threshold"),
    ("threshold", "effect_importance_uncertain"): ("serious", "the CI includes the threshold"),
    ("threshold", "effect_below_important"): ("not serious", "the CI lies entirely below the threshold"),
    ("threshold", "no_important_effect"): ("not serious", "the CI lies entirely below the threshold"),
    ("threshold", "inconclusive"): ("very serious", "the CI includes both no effect and the threshold"),
    ("threshold", "opposite_direction"): ("not serious", "the CI lies entirely below the threshold"),
}
_IMPRECISION: Final = {
    "majority": ("not serious", "the CI excludes one half"),
    "minority": ("not serious", "the CI excludes one half"),
    "undecided": ("serious", "the CI includes one half"),
    "harm_rate_excluded": ("not serious", "the upper confidence limit is below the acceptable rate"),
    "harm_rate_exceeded": ("not serious", "the lower confidence limit is above the acceptable rate"),
    "harm_not_excluded": ("serious", "the CI includes the acceptable rate"),
}


def _rule_imprecision(inp: CertaintyInputs, ds: Dataset, prm: dict[str, Any]) -> tuple[str, str]:
    key = (inp.target, inp.category)
    if key not in _IMPRECISION_BY_TARGET and inp.category not in _IMPRECISION:
        raise MetaacuInputError(f"no imprecision rule for category {inp.category!r}")
    judgement, reason = _IMPRECISION_BY_TARGET.get(key) or _IMPRECISION[inp.category]
    if inp.category == "harm_not_excluded" and inp.harm_ratio > 5:
        return "very serious", f"the upper confidence limit is {inp.harm_ratio:.1f} times the acceptable rate"
    if judgement == "not serious":
        size, need, what = (
            (inp.events, float(prm["ois_events"]), "events")
            if inp.binary
            else (inp.participants, float(prm["ois_participants"]), "participants")
        )
        if math.isnan(size):
            return (
                judgement,
                f"{reason}; the number of {what} is not reported, so the optimal information size is not checked",
            )
        if size < need:
            return (
                "serious",
                f"{reason}, but {size:.0f} {what} are fewer than the optimal information size of {need:.0f}",
            )
        reason += f"; {size:.0f} {what} meet the optimal information size of {need:.0f}"
    return judgement, reason


def _rule_publication_bias(inp: CertaintyInputs, ds: Dataset, prm: dict[str, Any]) -> tuple[str, str]:
    k = int(prm["publication_bias_min_k"])
    if inp.k_pooled >= k:
        raise MetaacuInputError("publication bias with k >= 10 needs a small-study test; none is wired in yet")
    if (inp.deciding["study_id"] == "").any():
        return (
            "not serious",
            "not assessable from a published summary (its funnel data are not available); not rated down",
        )
    return "not serious", f"not assessable with fewer than {k} studies; not rated down"


#: The rule applied when certainty.csv says ``rule`` for a domain.
DOMAIN_RULES: Final[dict[str, Callable[[CertaintyInputs, Dataset, dict[str, Any]], tuple[str, str]]]] = {
    "risk_of_bias": _rule_risk_of_bias,
    "inconsistency": _rule_inconsistency,
    "imprecision": _rule_imprecision,
    "publication_bias": _rule_publication_bias,
}
_ORDER: Final = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")

#: Santesso 2020 wording by certainty: (prefix, verb form).
_MODAL: Final = {"high": ("", 0), "moderate": ("likely ", 0), "low": ("may ", 1)}
#: (third person, base form) of the effect phrase for each category.
_PHRASES: Final = {
    "important_effect": ("results in an important improvement in", "result in an important improvement in"),
    "effect_importance_uncertain": ("improves", "improve"),
    "effect_below_important": ("slightly improves", "slightly improve"),
    "no_important_effect": ("results in little to no difference in", "result in little to no difference in"),
    "inconclusive": ("may or may not improve", "improve or make little to no difference to"),
    "opposite_direction": ("worsens", "worsen"),
}


#: Statements for claims without a comparator: the share improving, the harm rate.
_OTHER: Final = {
    "majority": (
        "Most people treated with acupuncture {modal}improve: {outcome}.",
        "Most people treated with acupuncture {modal}improve: {outcome}.",
    ),
    "minority": (
        "Fewer than half of the people treated with acupuncture {modal}improve: {outcome}.",
        "Fewer than half of the people treated with acupuncture {modal}improve: {outcome}.",
    ),
    "undecided": (
        "About half of the people treated with acupuncture {modal}improve: {outcome}.",
        "About half of the people treated with acupuncture {modal}improve: {outcome}.",
    ),
    "harm_rate_excluded": (
        "Acupuncture {modal}results in few {outcome}.",
        "Acupuncture {modal}result in few {outcome}.",
    ),
    "harm_rate_exceeded": ("Acupuncture {modal}results in {outcome}.", "Acupuncture {modal}result in {outcome}."),
    "harm_not_excluded": (
        "Whether acupuncture results in {outcome} is unclear.",
        "Whether acupuncture results in {outcome} is unclear.",
    ),
}


def plain_statement(level: str, category: str, outcome: str, comparison: str) -> str:
    """The GRADE 26 informative statement for a certainty level and an effect category.

    Examples
    --------
    >>> plain_statement("low", "effect_importance_uncertain", "pain", "usual care")
    'Acupuncture may improve pain compared with usual care.'
    >>> plain_statement("very low", "important_effect", "pain", "sham")
    'The evidence is very uncertain about the effect of acupuncture on pain compared with sham.'
    """
    if level == "very low" or category not in {**_PHRASES, **_OTHER}:
        if comparison == "no comparison group":
            return f"The evidence is very uncertain about {outcome} with acupuncture."
        return (
            f"The evidence is very uncertain about the effect of acupuncture on {outcome} compared with {comparison}."
        )
    modal, form = _MODAL[level]
    if category in _OTHER:
        return _OTHER[category][form].format(modal=modal, outcome=outcome)
    verb = _PHRASES[category][form]
    if category == "inconclusive" and level == "high":
        verb = "may or may not improve"
    return f"Acupuncture {modal}{verb} {outcome} compared with {comparison}."


def rate_certainty(
    claim: dict[str, Any], inputs: CertaintyInputs, ds: Dataset, params: dict[str, Any], statement: Callable[[str], str]
) -> Certainty:
    """Rate one claim: each domain from certainty.csv (judged, or by :data:`DOMAIN_RULES`), then the level.

    ``statement`` turns the level into the plain-language sentence (the claim module knows the outcome
    and comparison wording).
    """
    rows = ds.certainty[ds.certainty["claim_id"] == claim["id"]].set_index("domain")
    domains = []
    for domain in _ORDER:
        r = rows.loc[domain]
        if r["judgement"] == "rule":
            if domain not in DOMAIN_RULES:
                raise MetaacuInputError(
                    f"certainty.csv row {r['row_id']!r}: domain {domain!r} has no rule; give a judgement"
                )
            judgement, reason = DOMAIN_RULES[domain](inputs, ds, params)
            domains.append(DomainRating(domain, judgement, reason, str(r["source"]), str(r["locator"]), True))
        else:
            domains.append(
                DomainRating(domain, str(r["judgement"]), str(r["reason"]), str(r["source"]), str(r["locator"]), False)
            )
    start = LEVELS.index(str(params["start"]))
    level = LEVELS[max(0, start - sum(d.downgrade for d in domains))]
    published = ds.published_certainty[ds.published_certainty["claim_id"] == claim["id"]].reset_index(drop=True)
    return Certainty(level, tuple(domains), statement(level), published)
