"""Certainty of evidence: every domain judgement traces to a row of data/certainty.csv with a source;
rule-made judgements are recomputed here from the numbers; levels and statements follow GRADE."""

from __future__ import annotations

import pytest

from metaacu.audit.certainty import LEVELS, trial_risk_of_bias
from metaacu.audit.registry import rated_claims

DOWN = {"not serious": 0, "serious": 1, "very serious": 2}


def test_every_rated_claim_has_five_domains_from_the_data(results, registry, dataset):
    cert = dataset.certainty.set_index(["claim_id", "domain"])
    for cid in rated_claims(registry):
        r = results[cid]
        assert r.certainty is not None, cid
        for d in r.certainty.domains:
            row = cert.loc[(cid, d.domain)]
            assert row["source"] and row["locator"], (cid, d.domain)
            if row["judgement"] == "rule":
                assert d.by_rule
            else:
                assert not d.by_rule and d.judgement == row["judgement"] and d.reason == row["reason"]


def test_claims_without_an_effect_estimate_are_not_rated(results, registry):
    rated = set(rated_claims(registry))
    for r in results.values():
        assert (r.certainty is not None) == (r.id in rated), r.id


def test_level_is_high_minus_the_downgrades(results):
    for r in results.values():
        if r.certainty is None:
            continue
        down = sum(DOWN[d.judgement] for d in r.certainty.domains)
        assert r.certainty.level == LEVELS[max(0, 3 - down)], r.id


@pytest.mark.parametrize(
    ("level", "words"),
    [("high", "Acupuncture "), ("moderate", " likely "), ("low", " may "), ("very low", "very uncertain")],
)
def test_plain_language_statements_follow_the_level(results, level, words):
    found = [r for r in results.values() if r.certainty is not None and r.certainty.level == level]
    for r in found:
        assert words in r.certainty.statement, (r.id, r.certainty.statement)


def test_rule_made_imprecision_relative_to_the_claims_target(results):
    imp = {cid: {d.domain: d for d in r.certainty.domains}["imprecision"] for cid, r in results.items() if r.certainty}
    # a claim of a clinically relevant effect whose CI includes the threshold
    assert (
        imp["chronic_pain_effect"].judgement == "serious"
        and "includes the threshold" in imp["chronic_pain_effect"].reason
    )
    # CI entirely below the threshold and 477 participants >= 400: not imprecise for an 'important effect' claim
    assert imp["specific_effect_cherkin2009"].judgement == "not serious"
    # a claim of any effect whose CI excludes no effect, but 58 participants < 400
    assert (
        imp["acute_pain_vs_medication_trials"].judgement == "serious"
        and "58 participants" in imp["acute_pain_vs_medication_trials"].reason
    )
    # both no effect and the threshold inside the CI
    assert imp["specific_effect_points"].judgement == "very serious"
    # a zero-event trial whose upper limit is 9.5 times the acceptable rate
    assert imp["pregnancy_no_serious_harm"].judgement == "very serious"


def test_rule_made_risk_of_bias_weights_the_trials(results):
    rob = {d.domain: d for d in results["pregnancy_pain_relief"].certainty.domains}["risk_of_bias"]
    w = results["pregnancy_pain_relief"].model.weights  # Guerreiro da Silva 2004 first
    assert w[0] >= 50 and rob.judgement == "very serious"  # quasi-randomised and unblinded carries half the weight
    rob = {d.domain: d for d in results["pregnancy_pain_kvorning"].certainty.domains}["risk_of_bias"]
    assert rob.judgement == "serious"


def test_rule_made_inconsistency_reads_i2(results):
    inc = {d.domain: d for d in results["acute_pain_vs_medication"].certainty.domains}["inconsistency"]
    assert inc.judgement == "serious" and "92%" in inc.reason  # Lin 2024 reports I2 = 92%
    inc = {d.domain: d for d in results["specific_effect_vs_sham"].certainty.domains}["inconsistency"]
    assert inc.judgement == "serious"  # the sham types disagree (I2 about 76%)


def test_trial_risk_of_bias_summary(dataset):
    assert trial_risk_of_bias(dataset, "inoue2006")[0] == "low"  # only the acupuncturist was unblinded
    assert trial_risk_of_bias(dataset, "guerreirodasilva2004")[0] == "high"
    assert trial_risk_of_bias(dataset, "cherkin2009", "vs_simulated")[0] == "some concerns"
    assert trial_risk_of_bias(dataset, "cherkin2009", "vs_usual_care")[0] == "high"
    overall, domains = trial_risk_of_bias(dataset, "kvorning2004")
    assert domains["sequence_generation"] == "missing" and overall == "high"


def test_published_ratings_are_shown_and_differences_explained(results):
    for r in results.values():
        if r.certainty is None:
            continue
        for p in r.certainty.published.itertuples():
            assert p.source.startswith("https://") and p.locator
            if p.certainty != r.certainty.level:
                assert isinstance(p.difference_note, str) and p.difference_note, (r.id, p.certainty, r.certainty.level)
    assert results["chronic_lbp_pain_vs_usual_care"].certainty.level == "low"  # as CD013814 SoF 3
