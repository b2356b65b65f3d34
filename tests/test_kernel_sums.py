"""The kernels' sums against plain NumPy formulas (math.fsum): the weighted mean, Q and the REML score
and slope, the one-pass likelihood scan and its rounding bound, and the product form of
Σ log(vᵢ + τ²)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metaacu import kernels_core as kc


def _datasets() -> list[tuple[np.ndarray, np.ndarray]]:
    """Ordinary data at several k, and the hard cases of the scan: a large common offset, one
    very precise outlying study, near-identical effects, variances over eight decades."""
    rng = np.random.default_rng(20261202)
    out = []
    for k in (1, 2, 3, 4, 5, 6, 7, 9, 33, 250):
        v = rng.uniform(0.01, 0.2, k)
        y = rng.normal(0.2, np.sqrt(v + 0.05))
        out.append((y, v))
        out.append((y + 1e6, v))
        if k > 1:
            y2, v2 = y.copy(), v.copy()
            y2[0], v2[0] = 10.0, 1e-8
            out.append((y2, v2))
        out.append((0.3 + rng.normal(0.0, 1e-9, k), v))
        w = 10 ** rng.uniform(-6.0, 2.0, k)
        out.append((rng.normal(0.0, np.sqrt(w + 0.01)), w))
    return [(np.ascontiguousarray(y), np.ascontiguousarray(v)) for y, v in out]


DATA = _datasets()


def _reference(y: np.ndarray, v: np.ndarray, tau2: float) -> dict[str, float]:
    w = 1.0 / (v + tau2)
    sw, sw2, sw3 = math.fsum(w), math.fsum(w**2), math.fsum(w**3)
    mu = math.fsum(w * y) / sw
    r = y - mu
    ypy2 = math.fsum(w**2 * r**2)
    ypy3 = math.fsum(w**3 * r**2) - math.fsum(w**2 * r) ** 2 / sw
    tr_pp = sw2 - 2.0 * sw3 / sw + (sw2 / sw) ** 2
    return {
        "mu": mu,
        "sw": sw,
        "q": math.fsum(w * r**2),
        "dq": -math.fsum(w**2 * r**2),
        "score": 0.5 * (ypy2 - (sw - sw2 / sw)),
        "slope": 0.5 * tr_pp - ypy3,
        "scale": 0.5 * (ypy2 + sw),  # the size of the terms a score cancels
        # what the rounding of μ̂ (ε·max|y| per operation) can do to Σw²r², in either computation
        "offset": y.size * float(np.abs(y).max() * np.ptp(y)) * sw2 * 16 * np.finfo(float).eps,
    }


@pytest.mark.parametrize("i", range(len(DATA)))
def test_sums_match_plain_formulas(i: int) -> None:
    y, v = DATA[i]
    w = np.empty(y.size)
    for tau2 in (0.0, 0.03, 2.0):
        ref = _reference(y, v, tau2)
        mu, sw = kc.weighted_mean(y, v, tau2, w)
        np.testing.assert_allclose(w, 1.0 / (v + tau2), rtol=0)
        assert sw == pytest.approx(ref["sw"], rel=1e-14)
        assert mu == pytest.approx(ref["mu"], rel=1e-12, abs=1e-12)
        q, dq = kc.generalised_q(y, v, tau2, w)
        assert q == pytest.approx(ref["q"], rel=1e-7, abs=1e-10 * ref["sw"])
        assert dq == pytest.approx(ref["dq"], rel=1e-7, abs=1e-10 * ref["sw"] ** 2)
        s, slope = kc.score_slope(y, v, tau2, False, w)
        assert s == pytest.approx(ref["score"], abs=1e-9 * ref["scale"] + ref["offset"])
        if ref["slope"] < -1e-6 * ref["scale"] ** 2:  # where the derivative itself is the slope
            assert slope == pytest.approx(ref["slope"], rel=1e-6)


@pytest.mark.parametrize("ml", [False, True])
def test_scan_signs_agree_with_the_two_pass_score_where_certified(ml: bool) -> None:
    uncertified = 0
    for y, v in DATA:
        spread = float(np.var(y, ddof=1) if y.size > 1 else 0.0) + float(v.mean())
        xs = np.concatenate([[0.0], spread * kc._GRID])
        scores, bounds = kc.grid_scores(y, v, xs, ml)
        w = np.empty(y.size)
        for j, x in enumerate(xs):
            exact = kc.score(y, v, float(x), ml, w)
            assert bounds[j] > 0
            if abs(scores[j]) > bounds[j]:
                assert np.sign(scores[j]) == np.sign(exact), (y.size, j)
                assert abs(scores[j] - exact) <= bounds[j]
            else:
                uncertified += 1
    assert uncertified < 0.2 * len(DATA) * 26  # the two-pass fallback stays the exception


def test_scan_leaves_a_grid_point_at_the_root_to_the_two_pass_score() -> None:
    """At the REML estimate itself the score is 0 up to rounding: the one-pass value's sign is not
    trusted there (a bound of 0 would fail this)."""
    rng = np.random.default_rng(5)
    v = rng.uniform(0.01, 0.2, 40)
    y = rng.normal(0.0, np.sqrt(v + 0.05))
    tau2 = kc.tau2_likelihood(y, v, False, np.empty(40), False)[0]
    assert tau2 > 0
    scores, bounds = kc.grid_scores(y, v, np.array([0.0, tau2]), False)
    assert abs(scores[1]) <= bounds[1] < 1e-6 * abs(scores[0])


@pytest.mark.parametrize(
    "v",
    [
        np.random.default_rng(1).uniform(0.01, 0.2, 501),
        np.full(2000, 1e-40),  # the running product would underflow without its flushes
        np.full(2000, 1e40),  # ... and overflow
        np.array([1e-200, 1e200, 3.0, 1e-120, 1e150, 0.5]),  # factors logged one by one
    ],
)
def test_log_sum_equals_the_sum_of_logs(v: np.ndarray) -> None:
    for tau2 in (0.0, 0.07):
        ref = math.fsum(np.log(v + tau2))
        assert kc.log_sum(v, tau2) == pytest.approx(ref, rel=1e-13, abs=1e-12)
