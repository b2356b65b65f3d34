"""REML and ML return the global maximum of the (restricted) likelihood over tau2 >= 0, and say when
the likelihood has more than one local maximum.

Reference: a dense grid of the log-likelihood (60,001 points over fifteen decades plus tau2 = 0),
computed here from the likelihood's formula (Viechtbauer 2005, eqs. 8 and 10), independently of the
solver.  Datasets: tests/data/multimodal_likelihood.json (written by make_multimodal.py) and, as a
property test, heavy-tailed draws.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metaacu
from metaacu.regression import fit_design

DATA = json.loads((Path(__file__).parent / "data" / "multimodal_likelihood.json").read_text(encoding="utf-8"))[
    "datasets"
]


def loglik(y, v, tau2, ml):
    """Independent (restricted) log-likelihood on a grid of tau2 values, up to a constant."""
    t = np.asarray(tau2, float)[:, None]
    w = 1.0 / (v[None, :] + t)
    mu = (w * y).sum(1) / w.sum(1)
    ll = -0.5 * (np.log(v[None, :] + t).sum(1) + (w * (y - mu[:, None]) ** 2).sum(1))
    return ll if ml else ll - 0.5 * np.log(w.sum(1))


def grid_maximum(y, v, ml):
    s = np.var(y, ddof=1) + v.mean()
    g = np.concatenate([[0.0], s * 10 ** np.linspace(-10, 5, 60001)])
    ll = loglik(y, v, g, ml)
    i = int(np.argmax(ll))
    return g[i], ll[i]


def fit(y, v, method):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", metaacu.LikelihoodWarning)
        res = metaacu.meta_analysis(y, v, method=method)
    return res, [w for w in caught if issubclass(w.category, metaacu.LikelihoodWarning)]


def test_the_committed_set_covers_every_kind_of_multimodality():
    kinds = {d["kind"] for d in DATA}
    assert kinds == {"two_interior", "boundary_loses", "boundary_wins"} and len(DATA) >= 10


@pytest.mark.parametrize("ds", DATA, ids=lambda d: d["name"])
def test_global_maximum_on_multimodal_datasets(ds):
    y, v, ml = np.array(ds["yi"]), np.array(ds["vi"]), ds["method"] == "ML"
    res, warned = fit(y, v, ds["method"])
    g_tau2, g_ll = grid_maximum(y, v, ml)
    ours = loglik(y, v, [res.tau2], ml)[0]
    assert ours >= g_ll - 1e-9  # at least as high as the best grid point
    assert res.tau2 == pytest.approx(g_tau2, rel=2e-3, abs=1e-12)
    assert res.tau2_maxima >= 2 and len(warned) == 1
    alt_tau2, alt_ll = res.tau2_alternative
    assert alt_ll < ours and loglik(y, v, [alt_tau2], ml)[0] == pytest.approx(alt_ll, rel=1e-10)
    assert "local maxima" in str(warned[0].message) and f"{res.tau2:.6g}" in str(warned[0].message)
    assert any("local maxima" in n for n in res.notes)


@pytest.mark.parametrize("ds", [d for d in DATA if d["kind"] == "two_interior"], ids=lambda d: d["name"])
def test_batch_and_meta_regression_agree_on_the_global_maximum(ds):
    y, v = np.array(ds["yi"]), np.array(ds["vi"])
    res, _ = fit(y, v, ds["method"])
    batch = metaacu.meta_analysis_batch(y[None, :], v[None, :], method=ds["method"])
    assert batch.tau2[0] == pytest.approx(res.tau2, rel=1e-10) and batch.tau2_maxima[0] == res.tau2_maxima
    reg = fit_design(
        y, v, np.ones((y.size, 1)), ["intercept"], method=ds["method"], test="z", level=0.95, intercept=True
    )
    assert reg["tau2"] == pytest.approx(res.tau2, rel=1e-8)


def test_a_unimodal_likelihood_reports_one_maximum():
    res, warned = fit([0.1, 0.3, 0.35, 0.2], [0.02, 0.03, 0.01, 0.02], "REML")
    assert res.tau2_maxima == 1 and res.tau2_alternative is None and not warned


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    k=st.integers(3, 30),
    df=st.sampled_from([1.0, 1.5, 2.0, 3.0]),
    seed=st.integers(0, 2**32 - 1),
    method=st.sampled_from(["REML", "ML"]),
)
def test_heavy_tailed_draws_return_the_grid_maximum(k, df, seed, method):
    rng = np.random.default_rng(seed)
    y = rng.standard_t(df, k)
    v = rng.uniform(0.001, 0.5, k) ** 2 * rng.choice([1, 10, 100], k)
    res, _ = fit(y, v, method)
    ml = method == "ML"
    _, g_ll = grid_maximum(y, v, ml)
    assert loglik(y, v, [res.tau2], ml)[0] >= g_ll - 1e-9 * max(1.0, abs(g_ll))


@settings(max_examples=200, deadline=None)
@given(
    k=st.integers(2, 30),
    df=st.sampled_from([1.0, 2.0, 5.0]),
    seed=st.integers(0, 2**31 - 1),
)
def test_generalised_q_is_strictly_decreasing_so_pm_and_eb_have_one_root(k, df, seed):
    # the reason PM/EB need no multimodality scan: Q(tau2) falls strictly, checked here on a grid
    # independently of the derivative formula metaacu uses
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.01, 1.0, k)
    y = rng.standard_t(df, k) * np.sqrt(v)
    if np.ptp(y) == 0:
        return
    g = np.var(y, ddof=1) * 10 ** np.linspace(-6, 4, 400)
    w = 1.0 / (v[None, :] + g[:, None])
    mu = (w * y).sum(1) / w.sum(1)
    q = (w * (y - mu[:, None]) ** 2).sum(1)
    assert np.all(np.diff(q) < 0)
    fit = metaacu.meta_analysis(y, v, method="PM")
    # the root is where Q crosses k - 1 (or 0 when Q(0) < k - 1)
    q_at = (1 / (v + fit.tau2) * (y - fit.estimate) ** 2).sum()
    if fit.tau2 > 0:
        assert q_at == pytest.approx(k - 1, rel=1e-6)
    else:
        assert q_at <= k - 1 + 1e-9
