"""Bad input gets a clear error that names the argument and the study."""

from __future__ import annotations

import numpy as np
import pytest

import metaacu
from metaacu import MetaacuInputError


@pytest.mark.parametrize(
    ("yi", "vi", "match"),
    [
        ([0.1, 0.2], [0.1], "same number of studies"),
        ([0.1, np.nan], [0.1, 0.1], r"'yi'.*study index 1"),
        ([0.1, 0.2], [0.1, np.inf], r"'vi'.*study index 1"),
        ([0.1, 0.2, 0.3], [0.1, 0.0, -1.0], r"'vi' must be > 0.*1, 2"),
        ([], [], "no studies"),
        ([[0.1, 0.2]], [[0.1, 0.2]], "one-dimensional"),
        (["a", "b"], [0.1, 0.2], "'yi' must be numeric"),
    ],
)
def test_meta_analysis_rejects_bad_arrays(yi, vi, match):
    with pytest.raises(MetaacuInputError, match=match):
        metaacu.meta_analysis(yi, vi)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "FX"}, "'method' must be one of"),  # "FE"/"CE" are metafor's aliases of "EE"
        ({"test": "hk"}, "'test' must be one of"),
        ({"level": 95}, r"give 0.95, not 95"),
        ({"profile": "stata"}, "'profile'"),
        ({"labels": ["a"]}, "'labels' has 1 entries for 2"),
        ({"measure": "XYZ"}, "'measure'"),
    ],
)
def test_meta_analysis_rejects_bad_options(kwargs, match):
    with pytest.raises(MetaacuInputError, match=match):
        metaacu.meta_analysis([0.1, 0.2], [0.1, 0.2], **kwargs)


def test_t_tests_need_two_studies():
    with pytest.raises(MetaacuInputError, match="at least 2 studies"):
        metaacu.meta_analysis([0.1], [0.1], test="knha")


def test_errors_are_value_errors():
    assert issubclass(MetaacuInputError, ValueError)


CONT = dict(n1=[20, 30], mean1=[5.0, 6.0], sd1=[1.0, 2.0], n2=[20, 31], mean2=[4.0, 5.5], sd2=[1.5, 2.0])
BIN = dict(events1=[3, 5], n1=[20, 30], events2=[6, 9], n2=[20, 31])


@pytest.mark.parametrize(
    ("measure", "change", "match"),
    [
        ("SMD", {"sd1": [1.0, 0.0]}, r"'sd1' must be > 0; check study index 1"),
        ("MD", {"n2": [1, 31]}, r"'n2' must be >= 2; check study index 0"),
        ("RR", {"events1": [21, 5]}, r"'events1' exceeds 'n1'.*study index 0"),
        ("OR", {"events2": [-1, 9]}, r"'events2' must be >= 0"),
        ("RD", {"n1": [20.5, 30]}, r"'n1' must hold whole numbers"),
        ("SMD", {"mean1": [5.0, np.nan]}, r"'mean1'.*study index 1"),
    ],
)
def test_effect_sizes_reject_bad_summary_data(measure, change, match):
    base = dict(CONT if measure in ("MD", "SMD") else BIN)
    base.update(change)
    with pytest.raises(MetaacuInputError, match=match):
        metaacu.effect_sizes(measure, **base)


def test_effect_sizes_name_missing_and_unexpected_arguments():
    with pytest.raises(MetaacuInputError, match=r"missing argument.*sd2"):
        metaacu.effect_sizes("SMD", **{k: v for k, v in CONT.items() if k != "sd2"})
    with pytest.raises(MetaacuInputError, match=r"unexpected argument.*events1"):
        metaacu.effect_sizes("SMD", events1=[1, 2], **CONT)
    with pytest.raises(MetaacuInputError, match="'measure' must be one of"):
        metaacu.effect_sizes("HR", **CONT)


def test_double_zero_study_is_refused_without_correction():
    with pytest.raises(MetaacuInputError, match="not defined for study index 0"):
        metaacu.effect_sizes("RR", events1=[0, 2], n1=[10, 10], events2=[0, 3], n2=[10, 10], to="none")


def test_zero_cell_correction_is_recorded():
    es = metaacu.effect_sizes("OR", events1=[0, 2], n1=[10, 10], events2=[3, 3], n2=[10, 10])
    assert es.adjusted.tolist() == [True, False]
    assert "study index 0" in es.adjustments[0]
    res = metaacu.meta_analysis(es)
    assert es.adjustments[0] in res.notes
    # log OR of study 0 with 1/2 added to every cell: (0.5·7.5)/(10.5·3.5); exact identity
    assert es.yi[0] == pytest.approx(np.log(0.5 * 7.5 / (10.5 * 3.5)), rel=1e-14)


def test_column_names_from_dataframe():
    import pandas as pd

    df = pd.DataFrame({**BIN, "study": ["A", "B"]})
    es = metaacu.effect_sizes("RR", data=df, labels="study", events1="events1", n1="n1", events2="events2", n2="n2")
    assert es.labels == ("A", "B")
    with pytest.raises(MetaacuInputError, match="column 'nope'"):
        metaacu.effect_sizes("RR", data=df, events1="nope", n1="n1", events2="events2", n2="n2")


def test_results_are_immutable():
    res = metaacu.meta_analysis([0.1, 0.4, 0.2], [0.1, 0.2, 0.1])
    with pytest.raises(AttributeError):
        res.estimate = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        res.weights[0] = 1.0
