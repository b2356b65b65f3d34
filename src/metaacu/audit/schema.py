"""The schema of the extraction dataset in ``data/``: every table's columns with their kind, whether
they are required and their allowed values (``SCHEMAS``), the controlled vocabularies, and the column
sets the loader (:mod:`metaacu.audit.data`) checks across rows (counts, arm sizes, positive and
non-negative values).  ``data/README.md`` is the human-readable codebook of the same tables."""

from __future__ import annotations

__all__ = [
    "ARM_SIZE_COLUMNS",
    "CERTAINTY_LEVELS",
    "COUNT_COLUMNS",
    "DTYPES",
    "FIDELITY",
    "GRADE_DOMAINS",
    "JUDGEMENT_TABLES",
    "NONNEG_COLUMNS",
    "OPTIONAL_FILES",
    "POSITIVE_COLUMNS",
    "SCHEMAS",
    "Spec",
]

# A column spec is (kind, required, allowed).  kinds: str, int, float, bool, pvalue, weeks, ids.
Spec = tuple[str, bool, frozenset[str] | None]
_PROV: dict[str, Spec] = {
    "source": ("str", True, None),
    "locator": ("str", True, None),
    "status": ("str", True, frozenset({"stated", "derived", "mixed", "judged"})),
    "derivation": ("str", False, None),
}
_ASSUME: dict[str, Spec] = {"assumption": ("str", False, None), "notes": ("str", False, None)}
_NOTES: dict[str, Spec] = {"notes": ("str", False, None)}

DESIGNS = frozenset(
    {"rct", "quasi_randomised", "ipd_meta_analysis", "systematic_review", "mechanistic", "narrative_review"}
)
POPULATIONS = frozenset(
    {"chronic_lbp", "acute_lbp", "pregnancy_lbp_pgp", "mixed_chronic_pain", "healthy_or_mixed", "not_applicable"}
)
ARM_ROLES = frozenset({"acupuncture", "sham", "usual_care", "medication", "injection", "no_treatment", "other"})
OUTCOMES = frozenset({"pain", "function", "drug_use", "responder", "global_improvement", "quality_of_life", "other"})
VALUE_TYPES = frozenset({"final", "change", "baseline"})
MEASURES = frozenset(
    {"MD", "WMD", "SMD", "RR", "OR", "RD", "HR", "proportion_difference", "ratio_of_means", "NNT", "other"}
)
UNVERIFIABLE = frozenset({"sd", "mean", "n"})
ROB_DOMAINS = frozenset(
    {
        "sequence_generation",
        "allocation_concealment",
        "blinding_participants",
        "blinding_personnel",
        "blinding_outcome_assessment",
        "incomplete_outcome_data",
        "selective_reporting",
        "other_bias",
    }
)
GRADE_DOMAINS = frozenset({"risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias"})
GRADE_JUDGEMENTS = frozenset({"rule", "not serious", "serious", "very serious"})
CERTAINTY_LEVELS = frozenset({"high", "moderate", "low", "very low"})
FIDELITY = frozenset({"faithful", "overstated", "misrepresented", "not_found_in_source"})
FACT_VERDICTS = frozenset({"consistent", "partly_consistent", "inconsistent"})

SCHEMAS: dict[str, dict[str, Spec]] = {
    "studies": {
        "study_id": ("str", True, None),
        "short_label": ("str", True, None),
        "year": ("int", True, None),
        "citation": ("str", True, None),
        "doi": ("str", False, None),
        "pmid": ("str", False, None),
        "pmcid": ("str", False, None),
        "design": ("str", True, DESIGNS),
        "population": ("str", True, POPULATIONS),
        "country": ("str", False, None),
        "n_randomised": ("int", False, None),
        "followup_weeks": ("weeks", False, None),
        **_PROV,
        **_NOTES,
    },
    "arms": {
        "study_id": ("str", True, None),
        "arm_id": ("str", True, None),
        "arm_label": ("str", True, None),
        "arm_role": ("str", True, ARM_ROLES),
        "description": ("str", True, None),
        "n_randomised": ("int", False, None),
        "n_analysed": ("int", False, None),
        **_PROV,
        **_ASSUME,
    },
    "outcomes": {
        "row_id": ("str", True, None),
        "study_id": ("str", True, None),
        "arm_id": ("ids", True, None),
        "outcome": ("str", True, OUTCOMES),
        "instrument": ("str", True, None),
        "scale_min": ("float", False, None),
        "scale_max": ("float", False, None),
        "higher_is_worse": ("bool", True, None),
        "timepoint_weeks": ("float", False, None),
        "value_type": ("str", True, VALUE_TYPES),
        "n": ("int", False, None),
        "mean": ("float", False, None),
        "sd": ("float", False, None),
        "se": ("float", False, None),
        "ci_low": ("float", False, None),
        "ci_high": ("float", False, None),
        "median": ("float", False, None),
        "q1": ("float", False, None),
        "q3": ("float", False, None),
        "events": ("int", False, None),
        "total": ("int", False, None),
        "percent": ("float", False, None),
        "unverified": ("ids", False, UNVERIFIABLE),
        **_PROV,
        **_ASSUME,
    },
    "contrasts": {
        "row_id": ("str", True, None),
        "study_id": ("str", True, None),
        "arm_id_exp": ("ids", True, None),
        "arm_id_ctl": ("ids", True, None),
        "outcome": ("str", True, OUTCOMES),
        "instrument": ("str", True, None),
        "timepoint_weeks": ("float", False, None),
        "measure": ("str", True, MEASURES),
        "estimate": ("float", False, None),
        "se": ("float", False, None),
        "ci_low": ("float", False, None),
        "ci_high": ("float", False, None),
        "pvalue": ("pvalue", False, None),
        "test": ("str", False, None),
        "n_exp": ("int", False, None),
        "n_ctl": ("int", False, None),
        **_PROV,
        **_ASSUME,
    },
    "adverse_events": {
        "row_id": ("str", True, None),
        "study_id": ("str", True, None),
        "arm_id": ("str", False, None),
        "event": ("str", True, None),
        "serious": ("bool", False, None),
        "events": ("int", False, None),
        "total": ("int", False, None),
        "unit": ("str", True, frozenset({"patients", "treatments", "reports"})),
        **_PROV,
        **_ASSUME,
    },
    "mechanism": {
        "row_id": ("str", True, None),
        "study_id": ("str", True, None),
        "condition": ("str", True, None),
        "analyte": ("str", True, None),
        "site": ("str", True, None),
        "timepoint": ("str", True, None),
        "n": ("int", False, None),
        "value": ("float", False, None),
        "sd": ("float", False, None),
        "se": ("float", False, None),
        "unit": ("str", False, None),
        "direction": ("str", True, frozenset({"increase", "decrease", "no_change", "unclear"})),
        **_PROV,
        **_ASSUME,
    },
    "pooled_results": {
        "analysis_id": ("str", True, None),
        "review_id": ("str", True, None),
        "comparison": ("str", True, None),
        "population": ("str", False, None),
        "outcome": ("str", True, None),
        "timepoint": ("str", False, None),
        "measure": ("str", True, None),
        "estimate": ("float", False, None),
        "ci_low": ("float", False, None),
        "ci_high": ("float", False, None),
        "k_trials": ("int", False, None),
        "n_participants": ("int", False, None),
        "i2": ("float", False, None),
        "tau2": ("float", False, None),
        "q": ("float", False, None),
        "model": ("str", False, None),
        **_PROV,
        **_NOTES,
    },
    "risk_of_bias": {
        "row_id": ("str", True, None),
        "study_id": ("str", True, None),
        "comparison": ("str", True, None),
        "domain": ("str", True, ROB_DOMAINS),
        "judgement": ("str", False, frozenset({"low", "unclear", "high"})),
        "support": ("str", True, None),
        "judged_by": ("str", True, None),
        **_PROV,
        **_NOTES,
    },
    "certainty": {
        "row_id": ("str", True, None),
        "claim_id": ("str", True, None),
        "domain": ("str", True, GRADE_DOMAINS),
        "judgement": ("str", True, GRADE_JUDGEMENTS),
        "reason": ("str", True, None),
        **_PROV,
        **_NOTES,
    },
    "published_certainty": {
        "row_id": ("str", True, None),
        "claim_id": ("str", True, None),
        "review_id": ("str", True, None),
        "comparison": ("str", True, None),
        "outcome": ("str", True, None),
        "certainty": ("str", True, CERTAINTY_LEVELS),
        "reasons": ("str", False, None),
        "difference_note": ("str", False, None),
        "source": ("str", True, None),
        "locator": ("str", True, None),
        "status": ("str", True, frozenset({"stated"})),
        **_NOTES,
    },
    "fidelity": {
        "row_id": ("str", True, None),
        "claim_id": ("str", True, None),
        "study_id": ("str", False, None),
        "article_words": ("str", True, None),
        "source_words": ("str", True, None),
        "verdict": ("str", True, FIDELITY),
        "reason": ("str", True, None),
        **_PROV,
        **_NOTES,
    },
    "facts": {
        "row_id": ("str", True, None),
        "claim_id": ("str", True, None),
        "quantity": ("str", True, None),
        "article_value": ("str", True, None),
        "source_value": ("str", True, None),
        "comparison": ("str", True, frozenset({"equal", "judged"})),
        "verdict": ("str", False, FACT_VERDICTS),
        "reason": ("str", True, None),
        **_PROV,
        **_NOTES,
    },
    "schedules": {
        "row_id": ("str", True, None),
        "study_id": ("str", True, None),
        "sessions_per_week_low": ("float", False, None),
        "sessions_per_week_high": ("float", False, None),
        "sessions_total": ("int", False, None),
        "description": ("str", True, None),
        **_PROV,
        **_NOTES,
    },
    "review_trials": {
        "row_id": ("str", True, None),
        "analysis_id": ("str", True, None),
        "trial_label": ("str", True, None),
        "study_id": ("str", False, None),
        "year": ("int", False, None),
        "n1": ("int", False, None),
        "mean1": ("float", False, None),
        "sd1": ("float", False, None),
        "n2": ("int", False, None),
        "mean2": ("float", False, None),
        "sd2": ("float", False, None),
        "events1": ("int", False, None),
        "total1": ("int", False, None),
        "events2": ("int", False, None),
        "total2": ("int", False, None),
        "estimate": ("float", False, None),
        "ci_low": ("float", False, None),
        "ci_high": ("float", False, None),
        "weight": ("float", False, None),
        **_PROV,
        **_NOTES,
    },
}
OPTIONAL_FILES = frozenset({"pooled_results", "review_trials"})
#: Tables of judgements (risk of bias, certainty, fidelity, facts); the rest are extracted numbers.
JUDGEMENT_TABLES = frozenset({"risk_of_bias", "certainty", "published_certainty", "fidelity", "facts"})
COUNT_COLUMNS = frozenset(
    {
        "n_randomised",
        "n_analysed",
        "n",
        "total",
        "n_exp",
        "n_ctl",
        "k_trials",
        "n_participants",
        "n1",
        "n2",
        "total1",
        "total2",
    }
)
#: Sizes of one arm (or of pooled arms) behind a mean and SD: a group of one has no SD.
ARM_SIZE_COLUMNS: dict[str, frozenset[str]] = {
    "arms": frozenset({"n_randomised", "n_analysed"}),
    "outcomes": frozenset({"n"}),
    "contrasts": frozenset({"n_exp", "n_ctl"}),
    "review_trials": frozenset({"n1", "n2"}),
}
POSITIVE_COLUMNS = frozenset({"sd", "se", "sd1", "sd2"})
NONNEG_COLUMNS = frozenset({"events", "events1", "events2", "tau2", "q"})
DTYPES = {
    "str": "string",
    "ids": "string",
    "weeks": "string",
    "pvalue": "string",
    "int": "Int64",
    "float": "Float64",
    "bool": "boolean",
}
