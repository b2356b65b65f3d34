"""Both scales everywhere (tracker issue 12, item 5): tidy frames on the pooling scale (default, unchanged)
or the back-transformed response scale, and summaries that show and label both.

The response scale is metafor's ``predict(res, transf = exp)``: exp() of the pooling-scale numbers, which
tests/reference/metafor_rma.json pins to metafor.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import metaacu
from metaacu import MetaacuInputError
from metaacu.datasets import bcg

RMA = json.loads((Path(__file__).parent / "reference" / "metafor_rma.json").read_text())
COUNTS = {"events1": "tpos", "n1": "n1", "events2": "cpos", "n2": "n2"}
LOCATIONS = ["estimate", "ci_low", "ci_high", "pi_low", "pi_high"]
#: The columns of to_frame() before scale= existed: the default must stay exactly this.
POOLING_COLUMNS = [
    "row_type",
    "label",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "weight",
    "pi_low",
    "pi_high",
    "events1",
    "n1",
    "events2",
    "n2",
]
MEANS = {
    "n1": [20, 31, 25, 12],
    "mean1": [10.0, 12.1, 11.5, 9.4],
    "sd1": [2.0, 2.3, 2.1, 1.9],
    "n2": [21, 30, 26, 12],
    "mean2": [9.5, 11.2, 11.0, 9.6],
    "sd2": [2.1, 2.0, 2.2, 2.0],
}


def rma_values(dataset: str, method: str, test: str) -> dict:
    (case,) = [
        c
        for c in RMA["cases"]
        if (c["dataset"], c["method"], c["test"], c["control"]) == (dataset, method, test, "tight")
    ]
    return case["values"]


@pytest.fixture(scope="module")
def es() -> metaacu.EffectSizes:
    return metaacu.effect_sizes("RR", data=bcg(), labels="trial", **COUNTS)


@pytest.fixture(scope="module")
def reml(es) -> metaacu.MetaAnalysis:
    return metaacu.meta_analysis(es, method="REML")


def assert_back_transformed(resp, pool, transform) -> None:
    """Location columns exactly transform(pooling); every other column unchanged; no se."""
    assert "se" not in resp.columns and list(resp.columns) == [c for c in pool.columns if c != "se"]
    for col in resp.columns:
        if col in LOCATIONS:
            expected = transform(pool[col].to_numpy(dtype=float))
            assert np.array_equal(resp[col].to_numpy(dtype=float), expected, equal_nan=True), col
        else:
            pd.testing.assert_series_equal(resp[col], pool[col])


# --------------------------------------------------------------------------- MetaAnalysis frames
def test_default_frames_are_unchanged(reml):
    frame = reml.to_frame()
    assert list(frame.columns) == POOLING_COLUMNS
    assert frame.to_csv() == reml.to_frame(scale="pooling").to_csv()
    assert np.array_equal(frame["estimate"].to_numpy()[:-1], reml.yi) and frame["estimate"].iloc[-1] == reml.estimate
    assert frame.attrs["scale"] == "pooling" and frame.attrs["scale_name"] == "Log risk ratio"
    assert reml.summary_frame().to_csv() == reml.summary_frame(scale="pooling").to_csv()
    assert reml.summary_frame()["estimate"].iloc[0] == reml.estimate


def test_response_frames_are_exp_of_the_pooling_frames(reml):
    assert_back_transformed(reml.to_frame(scale="response"), reml.to_frame(), np.exp)
    assert_back_transformed(reml.to_frame(0.9, scale="response"), reml.to_frame(0.9), np.exp)
    resp, pool = reml.summary_frame(scale="response"), reml.summary_frame()
    assert_back_transformed(resp, pool, np.exp)
    assert resp.attrs == {"scale": "response", "scale_name": "Risk ratio", "transform": "exp"}
    assert resp["tau2"].iloc[0] == reml.tau2  # model statistics stay what they are


@pytest.mark.parametrize("test", ["z", "knha"])
def test_response_scale_matches_metafor_predict_transf_exp(es, test):
    res = metaacu.meta_analysis(es, method="REML", test=test)
    ref = rma_values("bcg_logrr", "REML", test)
    row = res.summary_frame(scale="response").iloc[0]
    for ours, theirs in (
        ("estimate", "estimate"),
        ("ci_low", "ci_lb"),
        ("ci_high", "ci_ub"),
        ("pi_low", "pi_lb"),
        ("pi_high", "pi_ub"),
    ):
        assert row[ours] == pytest.approx(np.exp(ref[theirs]), rel=1e-8), ours
    if test == "z":  # Viechtbauer 2010, J Stat Softw 36(3), predict(res, transf = exp): 0.4894 [0.3441, 0.6962]
        assert (round(row["estimate"], 4), round(row["ci_low"], 4), round(row["ci_high"], 4)) == (
            0.4894,
            0.3441,
            0.6962,
        )


@pytest.mark.parametrize(
    ("measure", "columns", "transform", "name"),
    [
        ("OR", COUNTS, np.exp, "Odds ratio"),
        ("PETO", COUNTS, np.exp, "Odds ratio (Peto)"),
        ("ROM", MEANS, np.exp, "Ratio of means"),
        ("PLO", {"events": [4, 6, 3, 9], "n": [40, 31, 50, 44]}, lambda x: 1 / (1 + np.exp(-x)), "Proportion"),
        ("MD", MEANS, lambda x: x, "Mean difference"),
        ("SMD", MEANS, lambda x: x, "Standardised mean difference (Hedges' g)"),
        ("RD", COUNTS, lambda x: x, "Risk difference"),
    ],
)
def test_every_measure_has_its_back_transform(measure, columns, transform, name):
    data = bcg() if columns is COUNTS else None
    es = metaacu.effect_sizes(measure, data=data, **columns)
    res = metaacu.meta_analysis(es, method="DL")
    resp = res.to_frame(scale="response")
    assert_back_transformed(resp, res.to_frame(), transform)
    assert resp.attrs["scale_name"] == name
    assert resp.attrs["transform"] == {"ROM": "exp", "OR": "exp", "PETO": "exp", "PLO": "inverse logit"}.get(
        measure, "identity"
    )


def test_generic_effects_have_no_response_scale_and_bad_scales_are_refused(reml):
    generic = metaacu.meta_analysis([0.1, 0.3, 0.5], [0.02, 0.03, 0.04])
    assert generic.to_frame().attrs["scale"] == "pooling"
    with pytest.raises(MetaacuInputError, match="argument 'scale'='response' needs the effect measure"):
        generic.to_frame(scale="response")
    with pytest.raises(MetaacuInputError, match="argument 'scale'='response' needs the effect measure"):
        generic.summary_frame(scale="response")
    for call in (reml.to_frame, reml.summary_frame):
        with pytest.raises(MetaacuInputError, match="argument 'scale' must be one of 'pooling', 'response'"):
            call(scale="log")


# --------------------------------------------------------------------------- other results
@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
def test_mantel_haenszel_frames_on_both_scales(es, measure):
    res = metaacu.mantel_haenszel(metaacu.effect_sizes(measure, data=bcg(), **COUNTS))
    pool = res.to_frame()
    assert list(pool.columns) == POOLING_COLUMNS and pool.attrs["scale"] == "pooling"
    assert_back_transformed(res.to_frame(scale="response"), pool, np.exp if measure != "RD" else (lambda x: x))


def test_peto_frame_on_the_response_scale():
    res = metaacu.peto(data=bcg(), **COUNTS)
    assert_back_transformed(res.to_frame(scale="response"), res.to_frame(), np.exp)


def test_subgroup_frame_on_the_response_scale(es):
    sub = metaacu.subgroup_analysis(es, groups=bcg()["alloc"].to_numpy())
    pool = sub.to_frame()
    assert_back_transformed(sub.to_frame(scale="response"), pool, np.exp)
    assert pool.attrs["q_between"] == sub.q_between and pool.attrs["scale"] == "pooling"
    assert "Estimates and CIs on the pooling scale (log risk ratio)" in sub.summary()


# --------------------------------------------------------------------------- text and HTML
def test_summary_shows_and_labels_both_scales(es):
    res = metaacu.meta_analysis(es, method="REML", test="knha")
    text = res.summary()
    pi = res.prediction_interval()
    lines = text.splitlines()
    i = lines.index("Pooling scale (log risk ratio):")
    assert lines[i + 1].startswith("estimate = -0.7145") and lines[i + 2].startswith("95% CI: -1.1084 to -0.3206")
    assert lines[i + 3] == f"prediction interval: {pi.low:.4f} to {pi.high:.4f} ({pi.method})"
    assert lines[i + 4] == "Back-transformed (exp):"
    assert lines[i + 5] == "Risk ratio: 0.4894 (95% CI 0.3301 to 0.7257)"
    assert lines[i + 6] == f"Risk ratio prediction interval: {np.exp(pi.low):.4f} to {np.exp(pi.high):.4f} (t, 12 df)"
    assert "Measure: Log risk ratio" in text


def test_summary_of_other_models(es):
    ee = metaacu.meta_analysis(es, method="EE").summary()
    assert "Risk ratio: " in ee and "prediction interval" not in ee  # equal effects: no prediction interval
    smd = metaacu.meta_analysis(metaacu.effect_sizes("SMD", **MEANS)).summary()
    assert "Pooling scale" not in smd and "Back-transformed" not in smd  # one scale only
    plo = metaacu.meta_analysis(metaacu.effect_sizes("PLO", events=[4, 6, 3, 9], n=[40, 31, 50, 44])).summary()
    assert "Pooling scale (logit proportion):" in plo and "Back-transformed (inverse logit):" in plo
    assert "Proportion prediction interval: " in plo
    mh = metaacu.mantel_haenszel(es, measure="RR").summary()
    assert "Pooling scale (log risk ratio):\nestimate = " in mh and "Back-transformed (exp):\nRisk ratio: " in mh


def test_html_says_which_scale_the_table_is_on(es, reml):
    assert (
        "Estimates and intervals on the pooling scale: log risk ratio; to_frame(scale=&#x27;response&#x27;) gives "
        "the risk ratio." in reml._repr_html_()
    )
    assert (
        "pooling scale: log odds ratio"
        in metaacu.mantel_haenszel(metaacu.effect_sizes("OR", data=bcg(), **COUNTS))._repr_html_()
    )
    smd = metaacu.meta_analysis(metaacu.effect_sizes("SMD", **MEANS))
    assert "(pooling scale = response scale)" in smd._repr_html_()
    assert "pooling scale" not in metaacu.meta_analysis([0.1, 0.3], [0.02, 0.03])._repr_html_()
