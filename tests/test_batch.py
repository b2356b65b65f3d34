"""meta_analysis_batch against the single fit, row by row.

Expected values come from :func:`metaacu.meta_analysis` itself (validated against metafor elsewhere):
the batch must reproduce it for every row, so the tolerance is rounding only.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metaacu
from metaacu import MetaacuInputError
from metaacu.batch import ERROR_CODES, FIELDS, BatchResult, meta_analysis_batch
from metaacu.batch_result import ERR_K1, ERR_RANGE

from tolerances import RTOL_PATHS as RTOL

#: Batch rows and single fits run the same kernel (metaacu.kernels) on the same studies, so they agree
#: bit for bit; 1e-12 relative is the documented guarantee checked here.
METHODS = ("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")
TESTS = ("z", "t", "knha", "adhoc")
SCALARS = (
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


def _close(a: float, b: float, atol: float = 0.0) -> bool:
    if np.isnan(b) or np.isinf(b):
        return bool(np.isnan(a) and np.isnan(b)) or a == b
    return abs(a - b) <= RTOL * max(1.0, abs(b)) + atol


def _atol(name: str, vi: np.ndarray) -> float:
    """When τ² is far below the sampling variances its root is fixed only to ~1e-13·mean(vi) by
    rounding in the score; quantities proportional to τ² inherit that absolute noise."""
    scale = float(np.mean(vi))
    return {"tau2": 1e-10 * scale, "i2": 1e-8, "h2": 1e-10}.get(name, 0.0)


def _random_rows(rng: np.random.Generator, m: int, kmax: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NaN-padded rows with k = 1..kmax, mixed heterogeneity and variances from 1e-8 to 1e4."""
    lens = rng.integers(1, kmax + 1, m)
    lens[:4] = [1, 2, 2, kmax]
    scale = 10.0 ** rng.uniform(-8, 4, (m, 1))
    v = scale * rng.uniform(0.2, 5.0, (m, kmax))
    tau2 = np.where(rng.random((m, 1)) < 0.3, 0.0, scale * rng.uniform(0, 3, (m, 1)))
    y = rng.normal(0.3, np.sqrt(v + tau2))
    y[5] = y[5, 0]  # all effects equal: tau2 on the boundary for every estimator
    v[6, : lens[6]] = np.geomspace(1e-8, 1e4, lens[6])  # variances over 12 orders of magnitude
    cols = np.arange(kmax)[None, :]
    y[cols >= lens[:, None]] = np.nan
    v[cols >= lens[:, None]] = np.nan
    return y, v, lens


def _check_rows(
    res: BatchResult, y: np.ndarray, v: np.ndarray, lens: np.ndarray, method: str, test: str, tau2_ci: bool = False
) -> None:
    for j in range(y.shape[0]):
        if lens[j] == 1 and test != "z":
            assert res.error[j] == 4 and np.isnan(res.estimate[j])
            continue
        with warnings.catch_warnings():  # a multimodal likelihood warns in single fits; the batch reports it
            warnings.simplefilter("ignore", metaacu.LikelihoodWarning)
            single = metaacu.meta_analysis(y[j, : lens[j]], v[j, : lens[j]], method=method, test=test)
        assert res.error[j] == 0 and res.k[j] == single.k and res.tau2_maxima[j] == single.tau2_maxima
        for name in SCALARS:
            assert _close(getattr(res, name)[j], getattr(single, name), _atol(name, v[j, : lens[j]])), (
                method,
                test,
                j,
                name,
            )
        pi = single.prediction_interval()
        assert _close(res.pi_low[j], pi.low) and _close(res.pi_high[j], pi.high), (method, test, j, "pi")
        # The same kernel runs both, so even the solver's iteration count is the same.
        assert res.converged[j] == single.converged and int(res.iterations[j]) == single.iterations
        assert res.tau2_at_boundary[j] == single.tau2_at_boundary
        if tau2_ci and method != "EE" and lens[j] == 1:  # tau2_confint refuses k = 1; the batch gives NaN
            assert np.isnan(res.tau2_ci_low[j]) and np.isnan(res.tau2_ci_high[j])
        elif tau2_ci and method != "EE":
            ci = single.tau2_confint()
            assert _close(res.tau2_ci_low[j], ci.low) and _close(res.tau2_ci_high[j], ci.high), (method, j, "qp")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("test", TESTS)
def test_batch_equals_single_fits(method: str, test: str) -> None:
    rng = np.random.default_rng(100 * METHODS.index(method) + TESTS.index(test))
    y, v, lens = _random_rows(rng, 60, 9)
    res = meta_analysis_batch(y, v, method=method, test=test, errors="flag", tau2_ci=(test == "z"))
    _check_rows(res, y, v, lens, method, test, tau2_ci=(test == "z"))


def test_hundreds_of_rows_reml_knha_with_small_chunks() -> None:
    rng = np.random.default_rng(20260)
    y, v, lens = _random_rows(rng, 400, 30)
    res = meta_analysis_batch(y, v, method="REML", test="knha", errors="flag", chunk_size=37, tau2_ci=True)
    _check_rows(res, y, v, lens, "REML", "knha", tau2_ci=True)


def test_higgins_prediction_interval() -> None:
    rng = np.random.default_rng(3)
    y, v, lens = _random_rows(rng, 40, 8)
    res = meta_analysis_batch(y, v, method="DL", test="t", prediction="higgins", errors="flag")
    for j in range(40):
        if lens[j] < 3:
            assert np.isnan(res.pi_low[j]) or lens[j] == 1
            continue
        pi = metaacu.meta_analysis(y[j, : lens[j]], v[j, : lens[j]], method="DL", test="t").prediction_interval(
            prediction="higgins"
        )
        assert _close(res.pi_low[j], pi.low) and _close(res.pi_high[j], pi.high)


def test_padding_forms_agree() -> None:
    """NaN padding, a lengths array (with junk beyond it) and exact-width arrays give identical results."""
    rng = np.random.default_rng(11)
    y, v, lens = _random_rows(rng, 120, 12)
    by_nan = meta_analysis_batch(y, v, method="REML", test="knha", errors="flag")
    junk_y, junk_v = y.copy(), v.copy()
    pad = np.isnan(junk_y)
    junk_y[pad], junk_v[pad] = 99.0, -5.0  # ignored when lengths are given
    by_len = meta_analysis_batch(junk_y, junk_v, method="REML", test="knha", lengths=lens, errors="flag")
    wider = np.hstack([y, np.full((120, 5), np.nan)])
    by_wide = meta_analysis_batch(
        wider, np.hstack([v, np.full((120, 5), np.nan)]), method="REML", test="knha", errors="flag"
    )
    for name in FIELDS:
        a = getattr(by_nan, name)
        np.testing.assert_array_equal(a, getattr(by_len, name), err_msg=name)
        np.testing.assert_array_equal(a, getattr(by_wide, name), err_msg=name)
    for length in (2, 7, 12):
        rows = np.flatnonzero(lens == length)
        exact = meta_analysis_batch(y[rows, :length], v[rows, :length], method="REML", test="knha")
        np.testing.assert_array_equal(exact.estimate, by_nan.estimate[rows])
        np.testing.assert_array_equal(exact.tau2, by_nan.tau2[rows])


def test_invalid_rows_flagged_with_codes() -> None:
    y = np.array(
        [
            [0.1, 0.2, 0.3],
            [0.1, np.nan, 0.3],
            [0.1, 0.2, 0.3],
            [np.nan] * 3,
            [0.4, np.nan, np.nan],
            [0.1, np.inf, 0.2],
            [0.1, 0.2, 0.3],
        ]
    )
    v = np.array(
        [
            [0.1, 0.1, 0.1],
            [0.1, 0.1, 0.1],
            [0.1, 0.0, 0.1],
            [np.nan] * 3,
            [0.1, np.nan, np.nan],
            [0.1, 0.1, 0.1],
            [0.1, np.inf, 0.1],
        ]
    )
    res = meta_analysis_batch(y, v, test="knha", errors="flag")
    assert res.error.tolist() == [0, 2, 3, 1, 4, 2, 3]
    assert res.k.tolist() == [3, 3, 3, 0, 1, 3, 3]
    bad = res.error != 0
    for name in FIELDS[:18]:
        assert np.isnan(getattr(res, name)[bad]).all(), name
    assert not res.converged[bad].any() and (res.iterations[bad] == 0).all()
    assert res.to_frame()["error_text"].tolist()[1] == ERROR_CODES[2]
    # k = 1 is valid under a z test (as in meta_analysis)
    assert meta_analysis_batch(y[4:5], v[4:5], test="z").error.tolist() == [0]


def test_invalid_rows_raise_by_default_and_name_rows() -> None:
    y = np.zeros((10, 4)) + np.arange(4)
    v = np.full((10, 4), 0.1)
    v[7, 1] = -0.2
    y[3, 0] = np.nan
    with pytest.raises(
        MetaacuInputError, match=r"missing value \(code 2\) in row 3.*invalid variance \(code 3\) in row 7"
    ):
        meta_analysis_batch(y, v)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(method="XX"), "method"),
        (dict(test="wald"), "test"),
        (dict(level=95), "level"),
        (dict(errors="ignore"), "errors"),
        (dict(lengths=[1, 2]), "lengths"),
        (dict(lengths=[1, 2, 9]), "lengths"),
        (dict(chunk_size=0), "chunk_size"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    y = np.ones((3, 4))
    with pytest.raises(MetaacuInputError, match=match):
        meta_analysis_batch(y, y, **kwargs)


def test_shapes_must_be_2d_and_match() -> None:
    with pytest.raises(MetaacuInputError, match="two-dimensional"):
        meta_analysis_batch(np.ones(4), np.ones(4))
    with pytest.raises(MetaacuInputError, match="same shape"):
        meta_analysis_batch(np.ones((2, 4)), np.ones((2, 3)))


def test_result_is_frozen_and_readonly() -> None:
    res = meta_analysis_batch(np.array([[0.1, 0.5, 0.2]]), np.array([[0.1, 0.2, 0.1]]))
    with pytest.raises(AttributeError):
        res.estimate = np.zeros(1)  # type: ignore[misc]
    with pytest.raises(ValueError):
        res.estimate[0] = 1.0
    frame = res.to_frame()
    assert list(frame.columns) == [*FIELDS, "error_text"] and len(res) == 1
    assert "BatchResult REML/z m=1" in repr(res)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    k=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
    log_scale=st.floats(-8, 4),
    method=st.sampled_from(("DL", "REML", "PM", "ML")),
)
def test_property_single_row_equals_meta_analysis(k: int, seed: int, log_scale: float, method: str) -> None:
    rng = np.random.default_rng(seed)
    v = 10.0**log_scale * rng.uniform(0.1, 10, k)
    y = rng.normal(0, np.sqrt(v * rng.uniform(0, 4)))
    res = meta_analysis_batch(y[None, :], v[None, :], method=method)
    single = metaacu.meta_analysis(y, v, method=method)
    for name in SCALARS:
        assert _close(getattr(res, name)[0], getattr(single, name)), name
    # results do not depend on the other rows of the batch
    other = np.vstack([y[None, :], rng.normal(size=(3, k))])
    res2 = meta_analysis_batch(other, np.vstack([v[None, :], np.full((3, k), 0.5)]), method=method)
    assert res2.tau2[0] == res.tau2[0] and res2.estimate[0] == res.estimate[0]


def test_dask_blockwise_equals_in_memory() -> None:
    da = pytest.importorskip("dask.array")
    dask = pytest.importorskip("dask")
    rng = np.random.default_rng(5)
    y, v, lens = _random_rows(rng, 900, 10)
    ref = meta_analysis_batch(y, v, method="REML", test="knha", errors="flag", tau2_ci=True)
    with dask.config.set(scheduler="threads"):
        lazy_y = da.from_array(y, chunks=(200, 4))  # study axis split on purpose: merged internally
        got = meta_analysis_batch(
            lazy_y, da.from_array(v, chunks=(300, 10)), method="REML", test="knha", errors="flag", tau2_ci=True
        )
        by_len = meta_analysis_batch(
            lazy_y, da.from_array(v, chunks=(200, 10)), method="REML", test="knha", errors="flag", lengths=lens
        )
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(got, name), getattr(ref, name), err_msg=name)
        if not name.startswith("tau2_ci"):
            np.testing.assert_array_equal(getattr(by_len, name), getattr(ref, name), err_msg=name)
    v_bad = v.copy()
    v_bad[650, 0] = -1.0
    with dask.config.set(scheduler="sync"), pytest.raises(MetaacuInputError, match="row 650"):
        meta_analysis_batch(da.from_array(y, chunks=(200, 10)), da.from_array(v_bad, chunks=(200, 10)))


def test_row_codes_fast_path_equals_the_full_checks() -> None:
    """Full rows of ordinary data skip the element-wise checks (batch_checks.row_codes); the codes
    are those of the full checks, which rows of extreme scale still take."""
    from metaacu.batch_checks import row_codes

    rng = np.random.default_rng(3)
    y, v = rng.normal(size=(6, 1)), rng.uniform(0.1, 1, (6, 1))
    kk = np.ones(6, dtype=np.int64)
    assert (row_codes(y, v, kk, "knha") == ERR_K1).all() and (row_codes(y, v, kk, "z") == 0).all()
    y, v = rng.normal(size=(4, 3)), rng.uniform(0.1, 1, (4, 3))
    v[2] *= 1e-60  # one row far from 1: the full checks run, and that row only is rescaled, not refused
    v[3, 1] = 1e-250  # variances spanning > 80 orders of magnitude within a row: out of range
    codes = row_codes(y, v, np.full(4, 3, dtype=np.int64), "z")
    assert codes.tolist() == [0, 0, 0, ERR_RANGE]
