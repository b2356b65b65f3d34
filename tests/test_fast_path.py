"""The one estimator core (metaacu.kernels): compiled and pure-Python runs of the same source agree, and
every caller — single fit, batch rows, padded refits, threads — gets the same bits from it.

Expected values are the kernel's own: numba compiles the same source that ``NUMBA_DISABLE_JIT=1`` runs
as ordinary Python, so the two must agree to rounding (LLVM may order nothing differently without
fast-math, so in practice they agree exactly); a row of a batch runs the single fit's code on the same
studies, so it must agree bit for bit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import metaacu
from metaacu import kernels
from metaacu.fitting import fit_arrays, fit_one
from metaacu.pooling import TESTS
from metaacu.tau2 import TAU2_METHODS

from tolerances import RTOL_PATHS

FIELDS = ("estimate", "se", "ci_low", "ci_high", "statistic", "pvalue", "tau2", "q", "i2", "h2", "s2", "loglik")


def _datasets(n: int = 40) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    out = []
    for _ in range(n):
        k = int(rng.integers(1, 30))
        scale = 10.0 ** rng.uniform(-4, 2)
        v = scale * rng.uniform(0.1, 2.0, k)
        y = rng.normal(0.3, np.sqrt(v + scale * rng.choice([0.0, 0.3, 3.0])))
        out.append((y, v))
    out.append((np.full(6, 0.4), np.linspace(0.01, 0.2, 6)))  # identical effects: s² = 0, z = ±inf
    out.append((np.array([0.1, 2.0]), np.array([1e-4, 10.0])))  # k = 2, extreme variances
    data = json.loads((__import__("pathlib").Path(__file__).parent / "data" / "multimodal_likelihood.json").read_text())
    out.extend((np.array(d["yi"]), np.array(d["vi"])) for d in data["datasets"][:3])  # several maxima
    return out


def _fits(datasets, methods, tests):
    """Every field of :func:`fit_one` for each dataset, method and test, as JSON-able floats."""
    res = {}
    for i, (y, v) in enumerate(datasets):
        for method in methods:
            for test in tests:
                if y.size == 1 and test != "z":
                    continue
                one = fit_one(np.array(y), np.array(v), method, test, 0.95)
                res[f"{i}/{method}/{test}"] = {n: float(one[n]) for n in (*FIELDS, "iterations", "maxima", "alt_tau2")}
        # metafor's options: user weights (GENQ, and for the pooled estimate), a fixed tau2
        a = np.arange(1.0, y.size + 1.0)
        options = {
            "GENQ": ("GENQ", a, None),
            "DL+w": ("DL", a, None),
            "REML+tau2": ("REML", None, 0.05 * float(np.mean(v))),
        }
        for key, (method, weights, tau2) in options.items():
            for test in tests:
                if y.size == 1 and test != "z":
                    continue
                one = fit_one(np.array(y), np.array(v), method, test, 0.95, user_weights=weights, tau2=tau2)
                res[f"{i}/{key}/{test}"] = {n: float(one[n]) for n in (*FIELDS, "iterations", "maxima", "alt_tau2")}
    return res


_SUBPROCESS = """
import json, sys, numpy as np
sys.path.insert(0, {tests!r})
import test_fast_path as t
data = t._datasets(12)
print(json.dumps(t._fits(data, {methods!r}, {tests_!r})))
"""


def test_pure_python_run_of_the_kernels_equals_the_compiled_one():
    """The source under NUMBA_DISABLE_JIT=1 (plain Python, the semantics) and compiled by numba."""
    methods, tests = list(TAU2_METHODS), ["z", "knha"]
    code = _SUBPROCESS.format(tests=os.path.dirname(__file__), methods=methods, tests_=tests)
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=600
    )
    plain = json.loads(proc.stdout)
    compiled = _fits(_datasets(12), methods, tests)
    assert plain.keys() == compiled.keys() and len(plain) > 200
    for key, ref in compiled.items():
        got = plain[key]
        assert got["iterations"] == ref["iterations"] and got["maxima"] == ref["maxima"], key
        for name, x in ref.items():
            y = got[name]
            if np.isnan(x) or np.isinf(x):
                assert y == x or (np.isnan(y) and np.isnan(x)), (key, name)
            else:
                assert abs(y - x) <= RTOL_PATHS * max(1.0, abs(x)), (key, name, y, x)


@pytest.mark.parametrize("method", TAU2_METHODS)
@pytest.mark.parametrize("test", TESTS)
def test_rows_of_an_array_are_the_single_fits_bit_for_bit(method, test):
    """fit_arrays (batches, refits) pads rows with vi = inf; the kernel skips the padding, so each row
    runs the single fit's arithmetic on the same studies."""
    data = [(y, v) for y, v in _datasets() if y.size > 1 or test == "z"]
    k = max(y.size for y, _ in data)
    yi, vi = np.zeros((len(data), k)), np.full((len(data), k), np.inf)
    for i, (y, v) in enumerate(data):
        cols = np.sort(np.random.default_rng(i).choice(k, y.size, replace=False))  # padding anywhere
        yi[i, cols], vi[i, cols] = y, v
    kk = np.array([float(y.size) for y, _ in data])
    rows = fit_arrays(yi, vi, kk, method, test, 0.95)
    for i, (y, v) in enumerate(data):
        one = fit_one(y, v, method, test, 0.95)
        for name in (*FIELDS, "iterations", "maxima", "alt_tau2", "converged", "at_boundary"):
            a, b = float(rows[name][i]), float(one[name])
            assert a == b or (np.isnan(a) and np.isnan(b)), (method, test, i, name, a, b)


def test_threads_do_not_change_a_row():
    """fit_rows runs many rows in parallel threads (prange); each row is fitted on its own."""
    rng = np.random.default_rng(3)
    m, k = 500, 12
    v = rng.uniform(0.01, 0.3, (m, k))
    y = rng.normal(0.2, np.sqrt(v + 0.05))
    lens = rng.integers(1, k + 1, m).astype(np.int64)
    parallel = kernels.fit_rows(y, v, lens, "REML", "knha")
    serial = np.vstack(
        [kernels.fit_rows(y[i : i + 1], v[i : i + 1], lens[i : i + 1], "REML", "knha") for i in range(m)]
    )
    assert m >= kernels.PARALLEL_ROWS
    np.testing.assert_array_equal(parallel, serial)


def test_rows_without_studies_are_nan_and_not_converged():
    out = kernels.fit_rows(np.zeros((2, 3)), np.full((2, 3), np.inf), np.array([3, 0]), "REML", "z")
    col = dict(zip(kernels.FIT_FIELDS, out.T, strict=True))
    assert np.isnan(col["estimate"]).all() and (col["converged"] == 0).all() and (col["maxima"] == 0).all()


def test_meta_analysis_runs_the_kernel():
    """meta_analysis is the kernel's fit plus the result object: the same numbers as fit_one."""
    y, v = np.array([0.1, 0.3, 0.35, 0.6]), np.array([0.02, 0.03, 0.01, 0.05])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", metaacu.LikelihoodWarning)
        res = metaacu.meta_analysis(y, v, method="REML", test="knha")
    one = fit_one(y, v, "REML", "knha", 0.95)
    assert res.estimate == one["estimate"] and res.tau2 == one["tau2"] and res.se == one["se"]
    assert res.weights.sum() == pytest.approx(100.0, rel=1e-14)


def test_numba_is_not_imported_with_metaacu_or_its_constants():
    code = (
        "import sys, metaacu, metaacu.tau2, metaacu.pooling; "
        "print('numba' in sys.modules); metaacu.meta_analysis([0.1, 0.3], [0.02, 0.03]); print('numba' in sys.modules)"
    )
    # the numba route (without the ahead-of-time build, tests/test_kernels_aot.py): loaded by the first fit
    env = {**os.environ, "METAACU_AOT": "0"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    assert out == ["False", "True"]
