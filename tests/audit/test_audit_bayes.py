"""The Bayesian view of claims pooled from few studies (issue 15): which claims get it, that its numbers
are the Bayesian model's own, that the verdict stays frequentist, and that the registry section is
validated."""

from __future__ import annotations

import math
import re

import pytest

from metaacu import MetaacuInputError, bayesian_meta_analysis
from metaacu.audit import audit_claims, load_dataset, load_registry
from metaacu.audit.bayes_view import BAYES_PREFIX, tau_prior
from metaacu.audit.report import bayes_frame, verdict_table_markdown


def _bayes_rows(r):
    s = r.sensitivity
    return s[s["scenario"].str.startswith(BAYES_PREFIX)] if len(s) else s


def test_exactly_the_claims_pooled_from_few_studies_get_a_bayesian_view(results, registry):
    cfg = registry["bayes"]
    expected = {
        r.id
        for r in results.values()
        if r.model is not None
        and 2 <= r.model.k <= cfg["max_k"]
        and r.model.method != "EE"
        and r.measure in cfg["measures"]
        and isinstance(r.claim["model"], dict)
        and "reconstructs" not in r.claim["model"]
    }
    got = {cid for cid, r in results.items() if len(_bayes_rows(r))}
    assert got == expected
    assert {"pregnancy_pain_relief", "most_people_find_relief"} <= got  # k = 2 and k = 3
    assert "specific_effect_vs_sham" not in got  # a common-effect reconstruction of one review
    for cid in got:
        assert len(_bayes_rows(results[cid])) == 2  # the main and the sensitivity prior


def test_the_rows_are_the_bayesian_models_numbers(results, registry):
    r = results["pregnancy_pain_relief"]
    rows = _bayes_rows(r)
    for (_, row), role in zip(rows.iterrows(), ("prior", "sensitivity_prior"), strict=True):
        fit = bayesian_meta_analysis(r.model.yi, r.model.vi, tau_prior=tau_prior(registry["bayes"][role]))
        assert row["estimate"] == fit.mu.median
        assert (row["ci_low"], row["ci_high"]) == tuple(fit.mu.central)
        assert row["p_benefit"] == fit.prob("mu", lower=0.0)
        assert row["p_important"] == fit.prob("mu", lower=math.log(1.25))  # RR 1.25 on the log scale
        assert str(registry["bayes"][role]["scale"]).rstrip("0").rstrip(".") in row["scenario"]


def test_the_view_is_reported_and_says_where_it_changes_the_picture(results):
    frame = bayes_frame(list(results.values()))
    assert set(frame["claim"]) == {cid for cid, r in results.items() if len(_bayes_rows(r))}
    for cid, sub in frame.groupby("claim"):
        assert (sub["changes the picture"] == "yes").any() == results[cid].bayes_changes
    md = verdict_table_markdown(list(results.values()))
    assert "## Few pooled studies: the Bayesian view" in md
    assert re.search(r"\| most_people_find_relief \| 3 \|", md)


def test_the_verdict_stays_frequentist(data_copy):
    path = data_copy(lambda t: re.sub(r"\n\[bayes\]\n.*?\n\n", "\n\n", t, count=1, flags=re.S))
    ds = load_dataset(path.parent)
    without = {r.id: r for r in audit_claims(registry=load_registry(path, dataset=ds), dataset=ds)}
    with_bayes = {r.id: r for r in audit_claims()}
    assert {k: r.verdict for k, r in without.items()} == {k: r.verdict for k, r in with_bayes.items()}
    assert not any(len(_bayes_rows(r)) for r in without.values())


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ('kind = "half_normal", scale = 0.5', 'kind = "lognormal", scale = 0.5', "prior.kind must be one of"),
        ('kind = "half_normal", scale = 1.0', 'kind = "half_normal", scale = -1.0', "sensitivity_prior.scale must be"),
        ('measures = ["SMD", "RR", "OR", "PLO"]', 'measures = ["SDM"]', r"measures \['SDM'\] are not measure"),
        ("max_k = 5\n", "max_k = 1\n", "max_k must be a whole number >= 2"),
    ],
)
def test_the_registry_section_is_validated(data_copy, old, new, match):
    path = data_copy(lambda t: t.replace(old, new, 1))
    with pytest.raises(MetaacuInputError, match=match):
        load_registry(path, dataset=load_dataset(path.parent))
