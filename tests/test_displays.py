"""Every result displays the same way (issue 13: one mechanism): ``str()`` is the text summary and
Jupyter's HTML is the summary (or its heading), the scale, then the tidy table — all through
``metaacu.report.Printable``."""

from __future__ import annotations

import numpy as np
import pytest

import metaacu
from metaacu.datasets import bcg
from metaacu.report import Printable

Y = [0.9, 0.7, 0.6, 0.45, 0.5, 0.3, 0.35, 0.2, 0.25, 0.1]
V = [0.25, 0.2, 0.15, 0.1, 0.09, 0.05, 0.04, 0.02, 0.015, 0.01]


def _results():
    d = bcg()
    es = metaacu.effect_sizes("RR", data=d, labels="trial", events1="tpos", n1="n1", events2="cpos", n2="n2")
    res = metaacu.meta_analysis(es)
    small = metaacu.meta_analysis(Y, V)
    return {
        "EffectSizes": es,
        "MetaAnalysis": res,
        "BinaryPooled": metaacu.mantel_haenszel(es),
        "SubgroupAnalysis": metaacu.subgroup_analysis(es, d["alloc"].to_numpy()),
        "MetaRegression": metaacu.meta_regression(es, d[["ablat"]]),
        "EggerTest": metaacu.egger_test(small),
        "RankTest": metaacu.rank_test(small),
        "TrimAndFill": metaacu.trim_and_fill(small),
        "FailSafeN": metaacu.fail_safe_n(small),
        "LeaveOneOut": metaacu.leave_one_out(res),
        "Influence": metaacu.influence(res),
        "Cumulative": metaacu.cumulative(res),
    }


RESULTS = _results()


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_every_result_displays_through_printable(name):
    obj = RESULTS[name]
    assert isinstance(obj, Printable)
    assert type(obj)._repr_html_ is Printable._repr_html_, f"{name} has its own HTML display"
    assert str(obj) == obj.summary()
    page = obj._repr_html_()
    assert page.startswith("<pre>") and "<table" in page
    first = np.asarray(obj.to_frame().columns)[0]
    assert f"<th>{first}</th>" in page
