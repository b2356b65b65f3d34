"""One input convention (tracker issue 12, item 4): Mantel-Haenszel, Peto, meta-regression and subgroup
analysis accept what ``meta_analysis`` accepts — an ``EffectSizes``, arrays, or column names of ``data=`` —
and give identical numbers whichever way the studies are given; convention profiles reach the effect sizes.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

import metaacu
from metaacu import MetaacuInputError
from metaacu.datasets import bcg
from metaacu.profiles import PROFILES

COUNTS = {"events1": "tpos", "n1": "n1", "events2": "cpos", "n2": "n2"}
#: Zero cells and a double-zero table (tests/reference/test_metafor_mh_peto.py's ZERO), as a frame.
ZERO = pd.DataFrame(
    {
        "study": list("abcdef"),
        "e1": [0, 3, 5, 0, 12, 1],
        "t1": [20, 25, 40, 15, 60, 30],
        "e2": [2, 6, 0, 0, 20, 4],
        "t2": [20, 24, 38, 15, 58, 31],
    }
)
ZERO_COLS = {"events1": "e1", "n1": "t1", "events2": "e2", "n2": "t2"}


def same(a, b) -> None:
    """Every field of two frozen results is identical (arrays element by element, NaN == NaN)."""
    assert type(a) is type(b)
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert np.array_equal(x, y, equal_nan=True), f.name
        elif isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y)
        elif isinstance(x, float) and np.isnan(x):
            assert np.isnan(y), f.name
        elif f.name not in ("effects", "groups", "overall", "regression"):
            assert x == y, f.name


@pytest.fixture(scope="module")
def trials() -> pd.DataFrame:
    return bcg()


def _arrays(frame: pd.DataFrame, cols: dict[str, str]) -> list[np.ndarray]:
    return [frame[cols[c]].to_numpy() for c in ("events1", "n1", "events2", "n2")]


# --------------------------------------------------------------------------- Mantel-Haenszel and Peto
@pytest.mark.parametrize("correction", ["metafor", "revman5"])
@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
@pytest.mark.parametrize(("dataset", "label"), [("bcg", "trial"), ("zero", "study")])
def test_mantel_haenszel_three_ways_identical(trials, measure, correction, dataset, label):
    frame, cols = (trials, COUNTS) if dataset == "bcg" else (ZERO, ZERO_COLS)
    labels = frame[label].tolist()
    ref = metaacu.mantel_haenszel(*_arrays(frame, cols), measure=measure, correction=correction, labels=labels)
    es = metaacu.effect_sizes(measure, data=frame, labels=label, **cols)
    same(metaacu.mantel_haenszel(es, correction=correction), ref)  # measure taken from the effect sizes
    same(metaacu.mantel_haenszel(es, measure=measure, correction=correction), ref)
    same(metaacu.mantel_haenszel(data=frame, measure=measure, correction=correction, labels=label, **cols), ref)
    same(metaacu.mantel_haenszel(*cols.values(), data=frame, measure=measure, correction=correction, labels=label), ref)


@pytest.mark.parametrize("measure", ["PETO", "OR", "RR"])
@pytest.mark.parametrize(("dataset", "label"), [("bcg", "trial"), ("zero", "study")])
def test_peto_three_ways_identical(trials, measure, dataset, label):
    frame, cols = (trials, COUNTS) if dataset == "bcg" else (ZERO, ZERO_COLS)
    ref = metaacu.peto(*_arrays(frame, cols), labels=frame[label].tolist())
    same(metaacu.peto(data=frame, labels=label, **cols), ref)
    res = metaacu.peto(metaacu.effect_sizes(measure, data=frame, labels=label, **cols))
    if measure == "PETO":
        same(res, ref)
    else:  # any binary effect sizes: only the counts are used, and a note says so
        assert res.estimate == ref.estimate and np.array_equal(res.weights, ref.weights)
        note = f"the counts of the {measure} effect sizes are pooled with Peto's method (log odds ratio)"
        assert res.notes == (note, *ref.notes)


def test_default_measure_stays_or_for_arrays():
    e1, n1, e2, n2 = _arrays(ZERO, ZERO_COLS)
    assert metaacu.mantel_haenszel(e1, n1, e2, n2).measure == "OR"
    assert metaacu.mantel_haenszel(metaacu.effect_sizes("RR", data=ZERO, **ZERO_COLS)).measure == "RR"


def test_effect_sizes_labels_are_used_unless_given(trials):
    es = metaacu.effect_sizes("OR", data=trials, labels="trial", **COUNTS)
    assert metaacu.mantel_haenszel(es).labels == es.labels == metaacu.peto(es).labels
    own = [f"T{i}" for i in range(13)]
    assert metaacu.mantel_haenszel(es, labels=own).labels == tuple(own)


def test_another_continuity_correction_of_the_effect_sizes_is_noted():
    es = metaacu.effect_sizes("OR", data=ZERO, add=0.5, to="all", **ZERO_COLS)
    res = metaacu.mantel_haenszel(es)
    assert "the effect sizes' own correction (add=0.5, to='all') is not used" in res.notes[0]
    assert res.estimate == metaacu.mantel_haenszel(*_arrays(ZERO, ZERO_COLS)).estimate


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda es: metaacu.mantel_haenszel(es["OR"], measure="RR"),
            r"argument 'measure'='RR' contradicts the effect sizes' measure 'OR'",
        ),
        (
            lambda es: metaacu.mantel_haenszel(es["PETO"]),
            r"effect sizes \(argument 'events1'\) are 'PETO': use peto\(\)",
        ),
        (lambda es: metaacu.mantel_haenszel(es["SMD"]), r"EffectSizes of measure 'SMD'; give effect sizes of a binary"),
        (lambda es: metaacu.peto(es["SMD"]), r"peto\(\) needs 2x2 tables"),
        (
            lambda es: metaacu.mantel_haenszel(es["OR"], [1, 2]),
            r"EffectSizes, which holds the counts; do not also give n1",
        ),
        (lambda es: metaacu.peto(es["OR"], data=ZERO), r"do not also give data"),
        (lambda es: metaacu.mantel_haenszel([1, 2], [10, 10]), r"missing argument\(s\) events2, n2"),
        (
            lambda es: metaacu.peto(data=ZERO, events1="e1", n1="t1", events2="e2", n2="nope"),
            r"argument 'n2' names column 'nope', which is not in `data`",
        ),
        (
            lambda es: metaacu.mantel_haenszel(data={"e1": [1]}, events1="e1", n1="t1", events2="e2", n2="t2"),
            r"argument 'data' must be a pandas DataFrame",
        ),
    ],
)
def test_bad_binary_input_is_refused_clearly(call, match):
    es = {m: metaacu.effect_sizes(m, data=ZERO, **ZERO_COLS) for m in ("OR", "PETO")}
    es["SMD"] = metaacu.effect_sizes(
        "SMD", n1=[10, 12], mean1=[1, 2], sd1=[1, 1], n2=[10, 12], mean2=[0, 1], sd2=[1, 1]
    )
    with pytest.raises(MetaacuInputError, match=match):
        call(es)


# --------------------------------------------------------------------------- meta-regression
def test_meta_regression_three_ways_identical(trials):
    es = metaacu.effect_sizes("RR", data=trials, labels="trial", **COUNTS)
    mods = trials[["ablat", "alloc"]]
    ref = metaacu.meta_regression(es.yi, es.vi, mods, labels=es.labels)
    same(metaacu.meta_regression(es, moderators=mods), ref)
    same(metaacu.meta_regression(es, mods), ref)  # the shorthand: a second positional argument is the moderators
    same(metaacu.meta_regression(es, ["ablat", "alloc"], data=trials), ref)
    frame = trials.assign(yi=es.yi, vi=es.vi)
    same(metaacu.meta_regression("yi", "vi", ["ablat", "alloc"], data=frame, labels="trial"), ref)
    one = metaacu.meta_regression("yi", "vi", "ablat", data=frame, labels="trial")
    same(one, metaacu.meta_regression(es.yi, es.vi, trials[["ablat"]], labels=es.labels))


def test_meta_regression_refuses_ambiguous_or_incomplete_calls(trials):
    es = metaacu.effect_sizes("RR", data=trials, **COUNTS)
    with pytest.raises(MetaacuInputError, match=r"ambiguous call: .* give 'moderators' once"):
        metaacu.meta_regression(es, trials[["ablat"]], trials[["ablat"]])
    with pytest.raises(MetaacuInputError, match="ambiguous call"):
        metaacu.meta_regression(es, trials[["ablat"]], moderators=trials[["ablat"]])
    with pytest.raises(MetaacuInputError, match="argument 'moderators' is required"):
        metaacu.meta_regression(es)
    with pytest.raises(MetaacuInputError, match="argument 'vi' is required"):
        metaacu.meta_regression(es.yi, moderators=trials[["ablat"]])
    with pytest.raises(MetaacuInputError, match="argument 'moderators' names column 'lat'"):
        metaacu.meta_regression(es, "lat", data=trials)


def test_meta_regression_keeps_the_adjustments_of_the_effect_sizes_as_notes():
    es = metaacu.effect_sizes("OR", data=ZERO, **ZERO_COLS, to="all")
    res = metaacu.meta_regression(es, np.arange(6.0))
    assert res.notes[: len(es.adjustments)] == es.adjustments


# --------------------------------------------------------------------------- subgroup analysis
@pytest.mark.parametrize("tau2_mode", ["separate", "common"])
def test_subgroup_analysis_every_call_form_identical(trials, tau2_mode):
    es = metaacu.effect_sizes("RR", data=trials, labels="trial", **COUNTS)
    g = trials["alloc"].to_numpy()
    ref = metaacu.subgroup_analysis(es.yi, es.vi, g, labels=es.labels, measure="RR", tau2_mode=tau2_mode)
    frame = trials.assign(yi=es.yi, vi=es.vi)
    for res in (
        metaacu.subgroup_analysis(es, groups=g, tau2_mode=tau2_mode),
        metaacu.subgroup_analysis(es, g, tau2_mode=tau2_mode),  # the shorthand, kept: no warning
        metaacu.subgroup_analysis(es, groups="alloc", data=trials, tau2_mode=tau2_mode),
        metaacu.subgroup_analysis(es, "alloc", data=trials, tau2_mode=tau2_mode),
        metaacu.subgroup_analysis("yi", "vi", "alloc", data=frame, labels="trial", measure="RR", tau2_mode=tau2_mode),
    ):
        same(res, ref)
        assert list(res.groups) == list(ref.groups)
        for name in ref.groups:
            same(res.groups[name], ref.groups[name])
        same(res.overall, ref.overall)


def test_subgroup_shorthand_raises_no_warning(trials):
    es = metaacu.effect_sizes("RR", data=trials, **COUNTS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metaacu.subgroup_analysis(es, trials["alloc"].to_numpy())


@pytest.mark.parametrize(
    "call",
    [
        lambda es, g: metaacu.subgroup_analysis(es, g, g),
        lambda es, g: metaacu.subgroup_analysis(es, g, groups=g),
        lambda es, g: metaacu.subgroup_analysis(es, es.vi, g),
    ],
)
def test_subgroups_given_twice_with_effect_sizes_are_refused(trials, call):
    es = metaacu.effect_sizes("RR", data=trials, **COUNTS)
    with pytest.raises(MetaacuInputError, match=r"ambiguous call: with an EffectSizes.* give 'groups' once"):
        call(es, trials["alloc"].to_numpy())


def test_subgroup_arrays_still_need_their_variances(trials):
    with pytest.raises(MetaacuInputError, match="argument 'groups' names column 'sex'"):
        metaacu.subgroup_analysis("yi", "vi", "sex", data=trials.assign(yi=0.1, vi=0.1))
    with pytest.raises(MetaacuInputError, match="argument 'groups' is required"):
        metaacu.subgroup_analysis([0.1, 0.2, 0.3], [0.1, 0.1, 0.1])


# --------------------------------------------------------------------------- profiles reach the effect sizes
SMD = {
    "n1": [20, 31, 25, 12],
    "mean1": [1.0, 2.1, 1.5, 0.4],
    "sd1": [1.0, 1.3, 1.1, 0.9],
    "n2": [21, 30, 26, 12],
    "mean2": [0.5, 1.2, 1.0, 0.6],
    "sd2": [1.1, 1.0, 1.2, 1.0],
}


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_effect_sizes_profile_sets_the_smd_vtype_from_the_profile(name):
    es = metaacu.effect_sizes("SMD", profile=name, **SMD)
    assert es.options == {"vtype": PROFILES[name].smd_vtype, "profile": name}
    ref = metaacu.effect_sizes("SMD", vtype=PROFILES[name].smd_vtype, **SMD)
    assert np.array_equal(es.yi, ref.yi) and np.array_equal(es.vi, ref.vi)


def test_revman_profiles_use_revmans_smd_and_none_keeps_metafors():
    assert PROFILES["revman5"].smd_vtype == PROFILES["cochrane"].smd_vtype == "RevMan5"
    assert metaacu.effect_sizes("SMD", **SMD).options == {"vtype": "LS"}
    explicit = metaacu.effect_sizes("SMD", profile="revman5", vtype="UB", **SMD)  # an explicit vtype wins
    assert explicit.options["vtype"] == "UB"
    rr = metaacu.effect_sizes("RR", data=bcg(), profile="revman5", **COUNTS)  # binary measures: unchanged
    assert np.array_equal(rr.yi, metaacu.effect_sizes("RR", data=bcg(), **COUNTS).yi)
    with pytest.raises(MetaacuInputError, match="argument 'profile'"):
        metaacu.effect_sizes("SMD", profile="stata", **SMD)


@pytest.mark.parametrize("profile", ["revman5", "cochrane"])
def test_meta_analysis_notes_and_warns_when_the_smd_follows_another_convention(profile):
    es = metaacu.effect_sizes("SMD", **SMD)  # metafor's exact J, not RevMan's
    with pytest.warns(UserWarning, match=f"profile '{profile}' uses RevMan's approximate Hedges' g"):
        res = metaacu.meta_analysis(es, profile=profile)
    note = [n for n in res.notes if "another convention" in n]
    assert len(note) == 1 and "vtype='LS'" in note[0]
    assert f"recompute them with effect_sizes('SMD', ..., profile='{profile}')" in note[0]
    assert f"Note: {note[0]}" in res.summary()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fixed = metaacu.meta_analysis(metaacu.effect_sizes("SMD", profile=profile, **SMD), profile=profile)
    assert not any("another convention" in n for n in fixed.notes)
    assert fixed.estimate != res.estimate


def test_no_note_without_a_mismatch():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rm = metaacu.effect_sizes("SMD", vtype="RevMan5", **SMD)
        assert not metaacu.meta_analysis(rm).notes  # the default metafor profile makes no claim about effect sizes
        assert not metaacu.meta_analysis(metaacu.effect_sizes("SMD", **SMD), profile="metafor").notes
        md = metaacu.effect_sizes("MD", **SMD)
        assert not metaacu.meta_analysis(md, profile="revman5").notes
        es = metaacu.effect_sizes("SMD", **SMD)
        assert not metaacu.meta_analysis(es.yi, es.vi, profile="revman5").notes  # arrays carry no convention
