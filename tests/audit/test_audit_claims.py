"""The claims audit end to end: each verdict follows from its evidence by the rule table, the review's
findings (issues 10 and 11) are met, and a broken registry is refused with a message naming the culprit."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import metaacu
from metaacu import MetaacuInputError
from metaacu.audit import evaluate_claim, load_registry
from metaacu.audit.evidence import denominators, uncertain_denominator
from metaacu.audit.rules import VERDICTS, categorise


def test_every_claim_has_a_known_verdict_and_a_reason(results):
    assert len(results) >= 39
    for r in results.values():
        assert r.verdict in VERDICTS, r.id
        assert r.reason, r.id


def test_categories_follow_from_the_interval_and_threshold(results):
    """Recompute every effect claim's category from its numbers with the rule table."""
    for r in results.values():
        if r.claim["rule"] in ("effect", "persistence"):
            assert r.category == categorise(r.ci_low, r.ci_high, r.threshold), r.id
            alt = r.alternative
            if r.alt_threshold_info.get("scale") not in ("RD",):
                assert alt.category == categorise(r.ci_low, r.ci_high, r.alt_threshold), r.id


def test_intervals_that_rule_out_an_important_effect_are_no_longer_inconclusive(results):
    """Issue 10: Cherkin real vs simulated and Shin 2013 at 24 weeks."""
    r = results["specific_effect_cherkin2009"]
    assert (r.category, r.verdict) == ("no_important_effect", "contradicted")
    r = results["acute_pain_vs_medication_trials_6m"]
    assert (r.category, r.verdict) == ("no_important_effect", "not_supported")
    assert r.estimate == pytest.approx(6.64 - 6.84, abs=1e-12)  # arm means of the Cochrane table


def test_no_supported_verdict_hides_a_threshold_inside_its_interval(results):
    for r in results.values():
        if (
            r.verdict == "supported"
            and r.claim["rule"] in ("effect", "persistence")
            and r.ci_low < r.threshold <= r.ci_high
        ):
            assert "not pinned down" in r.reason, r.id
            assert r.certainty is not None


def test_zero_event_harm_is_judged_on_its_upper_limit(results):
    r = results["pregnancy_no_serious_harm"]
    assert r.verdict == "inconclusive" and r.category == "harm_not_excluded"
    assert r.ci_high == pytest.approx(1 - 0.025 ** (1 / 37), rel=1e-12)
    assert "9.5%" in r.reason
    assert r.alternative.verdict == "inconclusive"


def test_one_reviews_subgroups_are_never_random_effects_pooled(results, registry):
    """Issue 11: chronic pain is decided on the usual-care subgroup, the sham claim on a recombination
    that reproduces the review's own overall estimate."""
    r = results["chronic_pain_effect"]
    assert r.model is None and (r.estimate, r.ci_low, r.ci_high) == (0.5, 0.4, 0.6)
    r = results["specific_effect_vs_sham"]
    assert r.model.method == "EE" and r.estimate == pytest.approx(0.2, abs=0.005)
    for c in registry["claim"]:
        model = c.get("model")
        if isinstance(model, dict) and "reconstructs" not in model:
            pooled = [x for x in c["rows"] if x["use"] == "pool"]
            reviews = [x["id"].split("_")[0] for x in pooled if x["source"] == "pooled"]
            assert len(reviews) == len(set(reviews)), c["id"]


def test_pooling_rows_of_one_review_is_refused(data_copy):
    def edit(text):
        start = text.index('id = "specific_effect_vs_sham"')
        block_end = text.index("[[claim]]", start)
        block = text[start:block_end]
        new = block.replace(
            'model = { method = "EE", test = "z", reconstructs = "vickers2018_overall_vs_sham_approx", '
            "tolerance = 0.05 }",
            'model = { method = "REML", test = "z" }',
        ).replace('use = "reconstruct"', 'use = "pool"')
        return text[:start] + new + text[block_end:]

    path = data_copy(edit)
    reg = load_registry(path)
    with pytest.raises(MetaacuInputError, match=r"specific_effect_vs_sham.*same review \(vickers2018\).*never pooled"):
        evaluate_claim("specific_effect_vs_sham", registry=reg, dataset=metaacu.audit.load_dataset(path.parent))


def test_a_reconstruction_that_misses_the_stated_estimate_is_refused(data_copy):
    path = data_copy(
        lambda t: t.replace(
            '{ id = "vickers2018_t7_sham_penetrating", source = "pooled", sign = 1, use = "reconstruct" },', ""
        )
    )
    reg = load_registry(path)
    with pytest.raises(MetaacuInputError, match="reconstruction is refused"):
        evaluate_claim("specific_effect_vs_sham", registry=reg, dataset=metaacu.audit.load_dataset(path.parent))


def test_the_misquotation_is_reported_with_the_sources_words(results):
    r = results["specific_effect_points"]
    f = r.fidelity.set_index("row_id").loc["fid_specific_effect_points"]
    assert f["verdict"] == "misrepresented"
    assert "factors in addition to" in f["source_words"]
    assert "doi:10.1016/j.jpain.2017.11.005" in f["source"] and "conclusion" in f["locator"]
    assert "misrepresented" in r.as_row()["fidelity"]


def test_claims_that_quote_a_source_have_a_fidelity_row(results):
    for r in results.values():
        if r.claim.get("attributed_to"):
            assert not r.fidelity.empty, r.id


def test_external_facts_have_verdicts_and_public_sources(results, dataset):
    assert results["opioid_deaths_2019"].verdict == "inconsistent"
    assert "49860" in results["opioid_deaths_2019"].reason
    assert results["medicare_approval_2020"].verdict == "partly_consistent"
    assert results["medicare_coverage_2020"].verdict == "consistent"
    assert results["vickers_publication_year"].verdict == "inconsistent"
    assert results["vickers_counts"].verdict == "consistent" and results["manheimer_count"].verdict == "consistent"
    assert results["back_pain_top_cam_reason"].verdict == "consistent"
    for src in dataset.facts["source"]:
        assert re.search(r"https?://|doi:|PMID", src), src


def test_derived_tests_are_marked_and_point_to_an_article_claim(results):
    derived = [r for r in results.values() if r.origin == "derived"]
    assert {r.id for r in derived} >= {
        "specific_effect_vs_sham",
        "specific_effect_cherkin2009",
        "acute_pain_vs_medication_trials_6m",
    }
    for r in derived:
        parent = results[r.claim["derived_from"]]
        assert parent.origin == "article", r.id


def test_claims_are_decided_on_the_cited_sources_outcome_and_primary_time(results):
    r = results["acute_pain_vs_medication"]  # pain, not global improvement
    assert r.evidence.loc[r.evidence["use"] == "decide", "source_id"].item() == "lin2024_vs_oral_medication_pain"
    assert "lee2013_vs_nsaids_global_improvement" in set(r.evidence["source_id"])
    r = results["acute_pain_vs_medication_trials"]  # Shin 2013 primary endpoint: 30 minutes
    assert (r.estimate, r.ci_low, r.ci_high) == (3.12, 2.26, 3.98)
    r = results["immediate_relief_few"]  # the cited trials, not an uncited review
    assert r.evidence.loc[r.evidence["use"] == "decide", "study_id"].item() == "shin2013"
    r = results["pregnancy_activity"]  # the quoted trial decides; the other trial only supports
    assert r.claim["pvalues"] == ["guerreirodasilva2004_activity_acu_vs_ctl"]
    assert set(r.claim["rows"][0]["exp"]) == {"kvorning2004_resp_activity_acupuncture"}
    assert r.claim["rows"][0]["use"] == "support"


def test_kvorning_denominators_are_every_one_consistent_with_the_percentages(dataset, results):
    """No count over 37 rounds to 60%; the denominators that fit both 60% and 43% are 30 and 35."""
    assert denominators(dataset, "kvorning2004_resp_pain_acupuncture") == [(30, 18), (35, 21)]
    assert denominators(dataset, "kvorning2004_resp_activity_acupuncture") == [(30, 13), (35, 15)]
    assert uncertain_denominator(dataset, "kvorning2004_resp_pain_control") == []  # 5/35 and 3/35 fit
    for d, k in denominators(dataset, "kvorning2004_resp_pain_acupuncture"):
        assert round(100 * k / d) == 60 and any(round(100 * j / d) == 43 for j in range(d + 1))
    r = results["pregnancy_pain_kvorning"]
    assert "n = 30" in " ".join(r.sensitivity["scenario"]) and not r.verdict_changes
    assert dataset.outcomes.set_index("row_id").loc["kvorning2004_resp_pain_control", "events"] is not None


def test_cherkin_is_decided_on_change_from_baseline_with_the_correlation_varied(results):
    r = results["practitioner_skill"]
    assert r.estimate == pytest.approx(4.4 - 4.5, abs=1e-12)  # the abstract's 8-week improvements
    scen = set(r.sensitivity["scenario"])
    assert {"pre-post correlation 0.2 instead of 0.5", "pre-post correlation 0.8 instead of 0.5"} <= scen
    assert {"unverified SDs x 0.8", "unverified SDs x 1.2"} <= scen  # the individualised arm's 8-week SD
    r = results["specific_effect_cherkin2009"]
    merged = (157 * 4.4 + 158 * 4.5) / 315
    assert r.estimate == pytest.approx(merged - 4.4, abs=1e-12)
    assert {"unverified SDs x 0.8", "unverified SDs x 1.2"} <= set(r.sensitivity["scenario"])  # merged arms include it
    r = results["acute_pain_vs_medication_trials_6m"]
    assert not any("unverified" in s or "correlation" in s for s in r.sensitivity["scenario"])  # public change SDs


def test_pooled_claim_matches_a_direct_meta_analysis(results):
    r = results["pregnancy_pain_relief"]
    ev = r.evidence[r.evidence["use"] == "pool"]
    direct = metaacu.meta_analysis(ev["estimate"].to_numpy(), ev["se"].to_numpy() ** 2, method="REML")
    assert r.estimate == pytest.approx(direct.estimate, rel=1e-12)
    es = metaacu.effect_sizes("RR", events1=[21, 21], n1=[27, 35], events2=[5, 5], n2=[34, 35])
    np.testing.assert_allclose(ev["estimate"].to_numpy(), es.yi, rtol=1e-12)


def test_most_people_find_relief_pools_responder_shares(results):
    r = results["most_people_find_relief"]
    ev = r.evidence[r.evidence["use"] == "pool"]
    assert list(ev["events_exp"]) == [286, 21, 21] and list(ev["total_exp"]) == [477, 27, 35]
    assert r.verdict == "supported" and 1 / (1 + math.exp(-r.ci_low)) > 0.5


def test_cost_arithmetic_values(results):
    r = results["cost_arithmetic"]
    assert r.evidence["four_weeks"].tolist() == [300, 600, 1800, 60, 240, 45, 180]
    assert r.verdict == "consistent"


def test_session_frequency_against_the_trials(results):
    r = results["session_frequency"]
    assert r.verdict == "partly_consistent" and "0.88 to 5" in r.reason


def test_every_claim_has_a_notebook_section(results):
    from metaacu.audit.notebooks import notebook_sources

    text = "\n".join(p.read_text(encoding="utf-8") for p in notebook_sources())
    for cid in results:
        assert f'"{cid}"' in text, f"no notebook evaluates claim {cid}"


def test_unknown_claim_is_named():
    with pytest.raises(MetaacuInputError, match="unknown claim id 'nope'"):
        evaluate_claim("nope")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'id = "lee2013_vs_sham_pain"',
            'id = "lee2013_vs_sham_pain_typo"',
            r"acute_lbp_vs_sham.*lee2013_vs_sham_pain_typo.*not found",
        ),
        ('rule = "arithmetic"', 'rule = "vibes"', "rule 'vibes'"),
        (
            'model = { method = "REML", test = "z" }\nrows = [\n  { id = "guerreirodasilva2004_resp50"',
            'model = { method = "REMLX", test = "z" }\nrows = [\n  { id = "guerreirodasilva2004_resp50"',
            "model.method 'REMLX'",
        ),
        ('measure = "SMD"\nthreshold = "smd_half_sd"', 'measure = "SDM"\nthreshold = "smd_half_sd"', "measure 'SDM'"),
        (
            'origin = "derived"\nderived_from = "specific_effect_points"',
            'origin = "derived"\nderived_from = "nothing"',
            "derived_from",
        ),
        ('threshold = "pain_15_of_100"', 'threshold = "pain_16_of_100"', "threshold 'pain_16_of_100' is not defined"),
        (
            'claim_kind = "small_or_no_effect"\nrule = "no_serious_harm"',
            'claim_kind = "any_effect"\nrule = "no_serious_harm"',
            "claim_kind 'any_effect' does not fit",
        ),
        ("paragraph = 7", "paragraph = 0", "paragraph must be a whole number"),
    ],
)
def test_a_broken_registry_is_refused_with_the_culprit_named(data_copy, old, new, message):
    path = data_copy(lambda t: t.replace(old, new, 1))
    with pytest.raises(MetaacuInputError, match=message):
        load_registry(path)


def test_a_rated_claim_without_its_certainty_rows_is_refused(data_copy, tmp_path):
    path = data_copy(lambda t: t.replace('plain_comparator = "usual care"\n', 'plain_comparator = "usual care" \n', 1))
    cert = (tmp_path / "certainty.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "certainty.csv").write_text(
        "\n".join(x for x in cert if not x.startswith("chronic_pain_effect__indirectness")) + "\n", encoding="utf-8"
    )
    with pytest.raises(MetaacuInputError, match=r"certainty.csv: claim 'chronic_pain_effect' needs exactly one row"):
        load_registry(path)
