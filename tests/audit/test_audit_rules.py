"""The verdict rule table: every category and every claim-level verdict is reached by a synthetic case.

Expected values follow from the definitions in metaacu.audit.rules (the GRADE minimally contextualised
categories of Zeng 2022 / Hultcrantz 2017); exact identities are checked where they exist.
"""

from __future__ import annotations

import math

import pytest

from metaacu.audit import rules

SHOW = "{:.2f}".format
T = 0.5

#: (lo, hi) intervals that fall in each category with T = 0.5, including the boundaries.
CASES = {
    "important_effect": [(0.5, 0.9), (0.6, 2.0)],
    "effect_importance_uncertain": [(0.1, 0.5), (0.19, 1.05)],
    "effect_below_important": [(0.01, 0.49), (0.1, 0.3)],
    # the last: Shin 2013 at 24 weeks (MD -1.33 to 0.93 against T = 1.5), rescaled to T = 0.5
    "no_important_effect": [(-0.37, 0.01), (0.0, 0.2), (-0.3, 0.0), (-1.33 / 3, 0.93 / 3)],
    "inconclusive": [(-0.66, 0.70), (0.0, 0.5), (-0.1, 0.6)],
    "opposite_direction": [(-0.9, -0.01), (-2.0, -1.0)],
}


@pytest.mark.parametrize(("category", "lo", "hi"), [(c, lo, hi) for c, v in CASES.items() for lo, hi in v])
def test_every_category_is_reached(category, lo, hi):
    assert rules.categorise(lo, hi, T) == category


def test_categories_partition_the_plane():
    """Exactly one category test holds for every interval on a grid (no gap, no overlap)."""
    grid = [x / 10 for x in range(-12, 13)]
    for lo in grid:
        for hi in grid:
            if lo <= hi:
                hits = [name for name, (test, _) in rules.CATEGORIES.items() if test(lo, hi, T)]
                assert len(hits) == 1, (lo, hi, hits)


def test_claim_verdict_table_is_complete_and_reaches_every_verdict():
    for kind in rules.CLAIM_KINDS:
        for cat in rules.CATEGORIES:
            assert rules.CLAIM_VERDICTS[(kind, cat)] in rules.VERDICTS
    reached = set(rules.CLAIM_VERDICTS.values())
    assert reached == {"supported", "not_supported", "inconclusive", "contradicted"}


@pytest.mark.parametrize(
    ("kind", "category", "verdict"),
    [
        ("any_effect", "effect_below_important", "supported"),
        ("any_effect", "no_important_effect", "not_supported"),
        ("any_effect", "opposite_direction", "contradicted"),
        ("important_effect", "important_effect", "supported"),
        ("important_effect", "effect_importance_uncertain", "inconclusive"),
        ("important_effect", "no_important_effect", "contradicted"),
        ("important_effect", "effect_below_important", "contradicted"),
        ("small_or_no_effect", "important_effect", "contradicted"),
        ("small_or_no_effect", "no_important_effect", "supported"),
        ("small_or_no_effect", "inconclusive", "inconclusive"),
    ],
)
def test_claim_wording_decides_what_a_category_means(kind, category, verdict):
    lo, hi = CASES[category][0]
    v = rules.effect_verdict((lo + hi) / 2, lo, hi, T, kind, SHOW, "SMD")
    assert (v.category, v.verdict) == (category, verdict)


def test_supported_with_threshold_in_ci_says_so():
    v = rules.effect_verdict(0.6, 0.19, 1.05, T, "any_effect", SHOW)
    assert v.verdict == "supported" and "not pinned down" in v.reason
    v = rules.effect_verdict(0.7, 0.6, 0.9, T, "any_effect", SHOW)
    assert "not pinned down" not in v.reason


def test_bad_inputs_to_the_rules_are_refused():
    with pytest.raises(ValueError, match="threshold"):
        rules.categorise(0.1, 0.2, 0.0)
    with pytest.raises(ValueError, match="lo <= hi"):
        rules.categorise(0.3, 0.2, 0.5)
    with pytest.raises(ValueError, match="claim_kind"):
        rules.effect_verdict(0.1, 0.0, 0.2, T, "vibes", SHOW)
    assert rules.effect_verdict(0.3, math.nan, math.nan, T, "any_effect", SHOW).verdict == "inconclusive"


def test_clopper_pearson_exact_identities():
    # 0 events: upper = 1 - (alpha/2)^(1/n); n events: lower = (alpha/2)^(1/n)
    lo, hi = rules.clopper_pearson(0, 37)
    assert lo == 0 and hi == pytest.approx(1 - 0.025 ** (1 / 37), rel=1e-12)
    lo, hi = rules.clopper_pearson(20, 20)
    assert hi == 1 and lo == pytest.approx(0.025 ** (1 / 20), rel=1e-12)
    with pytest.raises(ValueError):
        rules.clopper_pearson(5, 3)


@pytest.mark.parametrize(
    ("events", "total", "category", "verdict"),
    [
        (0, 37, "harm_not_excluded", "inconclusive"),  # upper 9.5% > 1%: a small trial is imprecise
        (0, 1000, "harm_rate_excluded", "supported"),  # upper 0.37% < 1%
        (40, 400, "harm_rate_exceeded", "contradicted"),  # lower about 7% > 1%
    ],
)
def test_harm_rule_decides_on_the_exact_interval(events, total, category, verdict):
    v = rules.harm_verdict(events, total, 0.01)
    assert (v.category, v.verdict) == (category, verdict)


@pytest.mark.parametrize(
    ("p", "lo", "hi", "verdict"),
    [(0.62, 0.55, 0.68, "supported"), (0.3, 0.2, 0.45, "contradicted"), (0.55, 0.4, 0.7, "inconclusive")],
)
def test_majority_rule(p, lo, hi, verdict):
    assert rules.majority_verdict(p, lo, hi).verdict == verdict


def test_direction_fact_schedule_and_arithmetic_tables():
    assert rules.direction_verdict("any_effect", True, "").verdict == "weakly_supported"
    assert rules.direction_verdict("small_or_no_effect", True, "").verdict == "weakly_contradicted"
    assert rules.direction_verdict("any_effect", False, "").verdict == "inconclusive"
    assert rules.fact_verdict([("consistent", "a"), ("consistent", "b")]).verdict == "consistent"
    assert rules.fact_verdict([("inconsistent", "a")]).verdict == "inconsistent"
    assert rules.fact_verdict([("consistent", "a"), ("partly_consistent", "b")]).verdict == "partly_consistent"
    assert rules.fact_verdict([("consistent", "a"), ("inconsistent", "b")]).verdict == "partly_consistent"
    assert rules.schedule_verdict(1, 6, 1, 6, 0.5).verdict == "consistent"
    assert rules.schedule_verdict(1, 6, 0.88, 5, 0.5).verdict == "partly_consistent"
    assert rules.schedule_verdict(1, 2, 1, 5, 0.5).verdict == "inconsistent"
    assert rules.arithmetic_verdict([], "").verdict == "consistent"
    assert rules.arithmetic_verdict(["x"], "").verdict == "inconsistent"


def test_every_verdict_is_defined():
    assert set(rules.DEFINITIONS) == set(rules.VERDICTS)
