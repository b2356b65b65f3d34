"""The pure-Python single-fit path (k <= MAX_K) equals the array path used for batches and large k."""

from __future__ import annotations

import numpy as np
import pytest

from metaacu._scalar import MAX_K, fit_one
from metaacu.pooling import TESTS, fit_arrays
from metaacu.tau2 import TAU2_METHODS

from tolerances import RTOL_PATHS as RTOL

FIELDS = (
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "statistic",
    "pvalue",
    "df",
    "tau2",
    "q",
    "q_pvalue",
    "i2",
    "h2",
    "i2_q",
    "s2",
)


def _datasets():
    rng = np.random.default_rng(7)
    out = []
    for _ in range(60):
        k = int(rng.integers(1, MAX_K + 1))
        scale = 10.0 ** rng.uniform(-4, 2)
        v = scale * rng.uniform(0.1, 2.0, k)
        y = rng.normal(0.3, np.sqrt(v + scale * rng.choice([0.0, 0.3, 3.0])))
        out.append((y, v))
    out.append((np.full(6, 0.4), np.linspace(0.01, 0.2, 6)))  # identical effects
    out.append((np.array([0.1, 2.0]), np.array([1e-4, 10.0])))  # k = 2, extreme variances
    return out


@pytest.mark.parametrize("method", TAU2_METHODS)
@pytest.mark.parametrize("test", TESTS)
def test_scalar_path_equals_array_path(method, test):
    for y, v in _datasets():
        if y.size == 1 and test != "z":
            continue
        a = fit_one(y.tolist(), v.tolist(), method, test, 0.95)
        b = {n: x[0] for n, x in fit_arrays(y[None], v[None], np.array([float(y.size)]), method, test, 0.95).items()}
        assert a["converged"] and bool(b["converged"])
        assert a["at_boundary"] == bool(b["at_boundary"])
        for n in FIELDS:
            x, ref = a[n], float(b[n])
            if np.isnan(ref) or np.isinf(ref):
                assert x == ref or (np.isnan(x) and np.isnan(ref)), n
                continue
            atol = {"tau2": 1e-10 * v.mean(), "i2": 1e-8, "h2": 1e-10}.get(n, 0.0)
            assert abs(x - ref) <= RTOL * max(1.0, abs(ref)) + atol, (method, test, y.size, n, x, ref)
