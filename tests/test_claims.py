"""The claims audit: registry schema, verdict rules, and that every claim gets a verdict."""

from __future__ import annotations

import math
import shutil

import pandas as pd
import pytest

from metaacu import MetaacuInputError
from metaacu.audit.claims import audit_claims, evaluate_claim, load_registry
from metaacu.audit.data import default_data_dir, load_dataset
from metaacu.audit.rules import VERDICTS, clopper_pearson, effect_verdict, few_effect_verdict


@pytest.fixture(scope="module")
def dataset():
    return load_dataset()


@pytest.fixture(scope="module")
def results(dataset):
    return audit_claims(dataset=dataset)


def test_every_claim_has_a_known_verdict_and_reason(results):
    assert len(results) >= 15
    for r in results:
        assert r.verdict in VERDICTS, r.id
        assert r.reason, r.id


def test_issue_minimum_claims_are_registered(results):
    ids = {r.id for r in results}
    for needed in ("chronic_pain_effect", "persistence_12_months", "specific_effect_points", "chronic_lbp_effective",
                   "acute_pain_vs_medication", "pregnancy_pain_relief", "pregnancy_no_serious_harm",
                   "immediate_relief_few", "adenosine_mechanism", "side_effects_mild_rare", "cost_arithmetic",
                   "opioid_deaths_2019", "medicare_coverage_2020"):
        assert needed in ids


def test_review_estimates_are_never_pooled_with_trials(results):
    for r in results:
        if r.evidence.empty or "pooled" not in r.evidence:
            continue
        pooled = r.evidence[r.evidence["pooled"]]
        # a claim pools either published review summaries or arm-level trial data, never both
        kinds = {str(s).split(" vs ")[0].startswith(("vickers", "madsen", "manheimer", "lee", "mu", "xiang", "yang")) for s in pooled["source_id"]}
        assert len(kinds) <= 1, r.id


def test_pooled_claim_matches_a_direct_meta_analysis(results):
    import metaacu

    r = next(x for x in results if x.id == "pregnancy_pain_relief")
    ev = r.evidence[r.evidence["pooled"]]
    direct = metaacu.meta_analysis(ev["estimate"].to_numpy(), ev["se"].to_numpy() ** 2, method="REML")
    assert r.estimate == pytest.approx(direct.estimate, rel=1e-12)
    assert r.k == 2


def test_imputation_sensitivity_is_reported(results):
    r = next(x for x in results if x.id == "pregnancy_pain_relief")
    scen = set(r.sensitivity["scenario"])
    assert any("23 events" in s for s in scen)
    assert any(s.startswith("without") for s in scen)


def test_cost_arithmetic_values():
    r = evaluate_claim("cost_arithmetic")
    # exact identities: 75 x 1 x 4 = 300; 150 x 3 x 4 = 1800; 20 x 3 = 60; 20 x 3 x 4 = 240
    assert r.evidence["four_weeks"].tolist() == [300, 600, 1800, 60, 240, 45, 180]
    assert r.evidence["stated"].isna().tolist() == [False] * 5 + [True] * 2  # $15 end: shown, not checked
    assert r.verdict == "consistent"


def test_verdict_rules_boundaries():
    show = "{:.2f}".format
    assert effect_verdict(0.6, 0.2, 1.0, 0.5, show).category == "supported"
    assert effect_verdict(0.3, 0.1, 0.5, 0.5, show).category == "supported_below_threshold"
    assert effect_verdict(0.3, -0.1, 0.7, 0.5, show).category == "inconclusive"
    assert effect_verdict(-0.3, -0.5, -0.1, 0.5, show).category == "contradicted"
    assert effect_verdict(0.3, math.nan, math.nan, 0.5, show).category == "inconclusive"
    assert few_effect_verdict(0.6, 0.1, 1.0, 0.5, show).category == "contradicted"
    assert few_effect_verdict(0.1, -0.1, 0.3, 0.5, show).category == "supported"


def test_clopper_pearson_zero_events():
    # exact identity for 0 events: upper = 1 - (alpha/2)^(1/n)
    lo, hi = clopper_pearson(0, 37)
    assert lo == 0 and hi == pytest.approx(1 - 0.025 ** (1 / 37), rel=1e-12)


def test_unknown_claim_is_named():
    with pytest.raises(MetaacuInputError, match="unknown claim id 'nope'"):
        evaluate_claim("nope")


def test_registry_with_a_missing_data_id_is_refused(tmp_path):
    src = default_data_dir()
    for f in src.glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    text = (src / "claims.toml").read_text(encoding="utf-8").replace(
        'id = "lee2013_vs_sham_pain"', 'id = "lee2013_vs_sham_pain_typo"')
    (tmp_path / "claims.toml").write_text(text, encoding="utf-8")
    with pytest.raises(MetaacuInputError, match=r"acute_lbp_vs_sham.*lee2013_vs_sham_pain_typo.*not found"):
        load_registry(tmp_path / "claims.toml")


def test_registry_rule_must_be_known(tmp_path):
    src = default_data_dir()
    for f in src.glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    text = (src / "claims.toml").read_text(encoding="utf-8").replace('rule = "arithmetic"', 'rule = "vibes"')
    (tmp_path / "claims.toml").write_text(text, encoding="utf-8")
    with pytest.raises(MetaacuInputError, match="rule 'vibes'"):
        load_registry(tmp_path / "claims.toml")


def test_registry_claim_must_state_its_timepoint(tmp_path):
    src = default_data_dir()
    for f in src.glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    text = (src / "claims.toml").read_text(encoding="utf-8")
    start = text.index('id = "acute_lbp_vs_sham"')
    line_start = text.index("timepoint = ", start)
    line_end = text.index("\n", line_start)
    (tmp_path / "claims.toml").write_text(text[:line_start] + text[line_end + 1:], encoding="utf-8")
    with pytest.raises(MetaacuInputError, match=r"acute_lbp_vs_sham.*missing key 'timepoint'"):
        load_registry(tmp_path / "claims.toml")


def test_multi_arm_trial_arms_are_merged_before_the_contrast(dataset):
    """Cherkin 2009: two real-acupuncture arms merged (Handbook Table 6.5.a), then Hedges' g vs
    simulated acupuncture; recomputed here from the CSV rows with the public functions."""
    import metaacu
    from metaacu.conversions import combine_groups

    out = dataset.outcomes.set_index("row_id")
    arms = dataset.arms.set_index("arm_id")

    def arm(row_id):
        r = out.loc[row_id]
        n = r["n"] if not pd.isna(r["n"]) else arms.loc[r["arm_id"], "n_randomised"]
        return float(n), float(r["mean"]), float(r["sd"])

    n, m, sd = combine_groups(*arm("cherkin2009_rmdq_w08_individualized"), *arm("cherkin2009_rmdq_w08_standardized"))
    n2, m2, sd2 = arm("cherkin2009_rmdq_w08_simulated")
    g = metaacu.effect_sizes("SMD", n1=[n], mean1=[m], sd1=[sd], n2=[n2], mean2=[m2], sd2=[sd2])
    r = evaluate_claim("specific_effect_cherkin2009", dataset=dataset)
    assert r.estimate == pytest.approx(-g.yi[0], rel=1e-12)  # sign: lower RMDQ is better
    row = r.evidence[r.evidence["pooled"]].iloc[0]
    assert "merged" in row["assumption"] and row["status"] == "derived"


def test_every_claim_has_a_notebook_section(results):
    from metaacu.audit.notebooks import notebook_sources

    text = "\n".join(p.read_text(encoding="utf-8") for p in notebook_sources())
    for r in results:
        assert f'evaluate_claim("{r.id}"' in text, f"no notebook evaluates claim {r.id}"


def test_walkthrough_rederives_published_rows_exactly():
    from metaacu.audit.walkthrough import apply_rule, compare_with_audit, from_published_ci

    for cid in ("chronic_pain_effect", "acute_pain_vs_medication", "immediate_relief_few"):
        res = evaluate_claim(cid)
        assert compare_with_audit(res, from_published_ci(cid)) == 0.0
    assert apply_rule("effect", 0.3, 0.1, 0.5, 0.5) == "supported_below_threshold"
    assert apply_rule("few_effect", 0.3, 0.1, 0.5, 0.5) == "contradicted"


def test_every_verdict_category_is_defined():
    from metaacu.audit.rules import DEFINITIONS, VERDICTS

    assert set(DEFINITIONS) == set(VERDICTS)
