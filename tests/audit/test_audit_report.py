"""The Summary of findings, claims.csv and the report: their numbers recomputed here from the data."""

from __future__ import annotations

import math
from html.parser import HTMLParser

import pytest

from metaacu.audit.absolute import risk_difference
from metaacu.audit.report import sof_frame, verdict_table_markdown


@pytest.fixture(scope="module")
def sof(results):
    return sof_frame(list(results.values())).set_index("claim_id")


def test_sof_has_one_row_per_rated_claim_and_the_layout_cochrane_readers_know(sof, results):
    assert set(sof.index) == {r.id for r in results.values() if r.certainty is not None}
    for col in (
        "claim",
        "comparison",
        "outcome",
        "trials (participants)",
        "relative effect",
        "absolute effect",
        "certainty",
        "what it means",
        "verdict",
        "at the alternative threshold",
        "fidelity",
    ):
        assert col in sof.columns


def test_absolute_effect_of_a_ratio_is_recomputed_from_the_arm_counts(sof, dataset):
    """Guerreiro da Silva 2004: 21/27 vs 5/34; RD per 1000 = 1000 x (21/27 - 5/34), NNT = ceil(1/RD)."""
    rd = 21 / 27 - 5 / 34
    text = sof.loc["pregnancy_pain_guerreiro", "absolute effect"]
    assert text.startswith(f"{1000 * rd:.0f} more per 1000") and text.endswith(f"NNT {math.ceil(1 / rd)}")
    assert sof.loc["pregnancy_pain_guerreiro", "relative effect"].startswith(f"RR {(21 / 27) / (5 / 34):.2f}")


def test_risk_difference_caps_the_risk_at_one():
    # control risk 0.5 and RR 3 would be a risk of 1.5: the risk with acupuncture is capped at 1
    assert risk_difference(3.0, 2.0, 4.0, 0.5, "").text.startswith("500 more per 1000 (500 more to 500 more)")
    assert risk_difference(0.92, 0.8, 1.05, 0.3, "").text == "24 fewer per 1000 (60 fewer to 15 more); NNT 42"


def test_smd_is_translated_into_points_with_a_named_sd(results, dataset):
    r = results["chronic_lbp_effective"]
    sd = float(dataset.outcomes.set_index("row_id").loc["cherkin2009_bother_w00_usual_care", "sd"])
    assert r.absolute.estimate == pytest.approx(0.54 * sd, rel=1e-12)
    assert "Table 1" in r.absolute.basis


def test_ratios_are_never_shown_on_the_log_scale(results):
    for r in results.values():
        row = r.as_row()
        if r.is_ratio:
            assert (
                row["estimate"] == pytest.approx(math.exp(r.estimate))
                and row["effect_scale"] == "ratio (back-transformed)"
            )


def test_claims_csv_row_has_every_column_the_review_asked_for(results):
    row = results["pregnancy_pain_relief"].as_row()
    for col in (
        "category",
        "verdict",
        "alt_verdict",
        "certainty",
        "certainty_risk_of_bias",
        "certainty_imprecision",
        "published_certainty",
        "plain_language",
        "absolute_effect",
        "fidelity",
        "article_words",
        "section",
        "paragraph",
        "origin",
    ):
        assert col in row
    assert results["chronic_lbp_pain_vs_usual_care"].as_row()["published_certainty"].startswith("low (mu2020_cochrane")


def test_claims_md_shows_the_sof_and_every_claim(results):
    md = verdict_table_markdown(list(results.values()))
    assert "## Summary of findings" in md and "## Every claim" in md
    for cid in results:
        assert f"| {cid} |" in md


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.alts, self.ids, self.headers = [], set(), []

    def handle_starttag(self, tag, attrs):
        d = dict(attrs)
        if "id" in d:
            self.ids.add(d["id"])
        if tag == "img":
            self.alts.append(d.get("alt", ""))


def test_report_has_the_sof_table_and_the_risk_of_bias_figure(tmp_path):
    from metaacu.audit import reproduce

    out = reproduce(tmp_path, notebooks=False, progress=lambda s: None)
    page = (out / "report.html").read_text(encoding="utf-8")
    p = _Collector()
    p.feed(page)
    assert {"sof", "rob"} <= p.ids and "risk-of-bias traffic-light plot" in p.alts
    assert "<th>absolute effect</th>" in page and "<th>what it means</th>" in page
    assert (out / "figures" / "risk_of_bias.png").exists() and (out / "summary_of_findings.csv").exists()
