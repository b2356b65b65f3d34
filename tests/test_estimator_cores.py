"""The τ² estimators exist twice: for the intercept-only model (metaacu.tau2, used by meta_analysis) and
for a general design matrix (metaacu.regression, used by meta-regression, Egger's test, common-τ²
subgroups and trim-and-fill). With a design of one column of ones the second is the first: pinned here
for every estimator, on ordinary and on multimodal data."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import metaacu
from metaacu.regression import REGRESSION_METHODS, fit_design

MULTIMODAL = json.loads((Path(__file__).parent / "data" / "multimodal_likelihood.json").read_text(encoding="utf-8"))


def _datasets():
    rng = np.random.default_rng(20261201)
    out = []
    for k in (2, 3, 5, 12, 40):
        v = rng.uniform(0.01, 0.3, k)
        out.append((f"normal_k{k}", rng.normal(0.3, np.sqrt(v + 0.05)), v))
    for d in MULTIMODAL["datasets"][:4]:
        out.append((d["name"], np.array(d["yi"]), np.array(d["vi"])))
    return out


@pytest.mark.parametrize("method", REGRESSION_METHODS)
@pytest.mark.parametrize(("name", "y", "v"), _datasets(), ids=lambda x: x if isinstance(x, str) else "")
def test_design_matrix_core_with_an_intercept_only_is_the_intercept_only_core(method, name, y, v):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", metaacu.LikelihoodWarning)
        ref = metaacu.meta_analysis(y, v, method=method)
    fit = fit_design(y, v, np.ones((y.size, 1)), ("intrcpt",), method=method, test="z", level=0.95, intercept=True)
    assert fit["tau2"] == pytest.approx(ref.tau2, rel=1e-8, abs=1e-12), (name, method)
    assert float(fit["estimate"][0]) == pytest.approx(ref.estimate, rel=1e-8, abs=1e-12)
    assert float(fit["se"][0]) == pytest.approx(ref.se, rel=1e-8)
    assert fit["qe"] == pytest.approx(ref.q, rel=1e-10, abs=1e-12)
    assert fit["i2"] == pytest.approx(ref.i2, rel=1e-7, abs=1e-9)
