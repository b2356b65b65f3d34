"""meta_analysis_batch on a dask array computed by a local ``distributed`` cluster.

The blockwise fit must give exactly the numbers of the in-memory call (same dtypes, bit-identical
values): rows are fitted independently, so neither the dask row chunks (4,000 rows here) nor the
in-memory chunk size (2**17 // k rows) nor the worker that ran a block may change a result.
Skipped when ``distributed`` is not installed.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from metaacu import MetaacuInputError
from metaacu.batch import FIELDS, BatchResult, meta_analysis_batch

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

M, K, CHUNK = 20_000, 12, 4_000


@pytest.fixture(scope="module", params=[False, True], ids=["in-process", "processes"])
def client(request: pytest.FixtureRequest) -> Iterator[distributed.Client]:
    """A two-worker local cluster and a client, closed (and the default scheduler restored) afterwards.

    ``processes=False`` runs the workers as threads of this process (starts in ~0.05 s);
    ``processes=True`` spawns two worker processes (~3 s with their first imports), which also
    checks that the blockwise function and MetaacuInputError survive pickling.  No dashboard; the
    scheduler's HTTP endpoint, which distributed starts even without one, goes to a free loopback
    port instead of its default 8787, so a second cluster or test run on the machine cannot turn
    "port in use" into a warning (an error under this suite's filterwarnings).
    """
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=request.param,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        ) as cluster,
        distributed.Client(cluster) as cl,
    ):
        yield cl


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NaN-padded rows with k = 0..12 (k = 0: an empty row), plus a few invalid rows for errors="flag"."""
    rng = np.random.default_rng(2026)
    lens = rng.integers(0, K + 1, M)
    lens[:3] = [K, 1, 2]
    v = rng.uniform(0.005, 0.2, (M, K))
    tau2 = np.where(rng.random((M, 1)) < 0.3, 0.0, rng.uniform(0, 0.1, (M, 1)))
    y = rng.normal(0.3, np.sqrt(v + tau2))
    y[7] = y[7, 0]  # all effects equal: tau2 at the boundary
    pad = np.arange(K)[None, :] >= lens[:, None]
    y[pad] = np.nan
    v[pad] = np.nan
    lens[[11, 4_001, 19_999]] = K  # full rows, then broken: missing value, invalid variance x2
    y[11], v[11] = 0.1, 0.05
    y[11, 3] = np.nan
    y[4_001], v[4_001] = 0.2, 0.05
    v[4_001, 5] = -1.0
    y[19_999], v[19_999] = 0.3, 0.05
    v[19_999, -1] = np.inf
    return y, v, lens


def _assert_identical(got: BatchResult, ref: BatchResult) -> None:
    assert len(got) == len(ref) == M
    for name in FIELDS:
        a, b = getattr(got, name), getattr(ref, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    for name in ("method", "test", "level", "prediction", "tau2_ci_computed"):
        assert getattr(got, name) == getattr(ref, name), name


@pytest.mark.parametrize(
    "opts",
    [dict(method="REML", test="knha", tau2_ci=True), dict(method="DL", test="z", prediction="higgins")],
    ids=["REML-knha-qprofile", "DL-z-higgins"],
)
def test_cluster_result_identical_to_in_memory(client: distributed.Client, data: tuple, opts: dict) -> None:
    y, v, _ = data
    ref = meta_analysis_batch(y, v, errors="flag", **opts)
    assert set(np.unique(ref.error)) >= {0, 1, 2, 3}  # every kind of row is exercised
    lazy_y = da.from_array(y, chunks=(CHUNK, K))
    lazy_v = da.from_array(v, chunks=(CHUNK, K))
    with distributed.get_task_stream(client) as stream:
        got = meta_analysis_batch(lazy_y, lazy_v, errors="flag", **opts)
    # the work really ran on the cluster's workers (the client is the default scheduler)
    assert len(stream.data) >= M // CHUNK
    assert {task["worker"] for task in stream.data} <= set(client.scheduler_info()["workers"])
    _assert_identical(got, ref)


def test_cluster_with_lengths_and_uneven_chunks(client: distributed.Client, data: tuple) -> None:
    """``lengths`` as a dask array, junk beyond each row's length, and row chunks that differ between yi and vi."""
    y, v, lens = data
    ref = meta_analysis_batch(y, v, method="REML", test="t", errors="flag")
    junk_y, junk_v = y.copy(), v.copy()
    pad = np.arange(K)[None, :] >= lens[:, None]
    junk_y[pad], junk_v[pad] = 99.0, -5.0  # ignored: beyond the given lengths
    got = meta_analysis_batch(
        da.from_array(junk_y, chunks=(CHUNK, 5)),  # study axis split on purpose: merged internally
        da.from_array(junk_v, chunks=(3_000, K)),
        lengths=da.from_array(lens, chunks=2_500),
        method="REML",
        test="t",
        errors="flag",
    )
    _assert_identical(got, ref)


@pytest.mark.parametrize(
    ("row", "col", "yv", "message"),
    [
        (11, 0, (np.nan, 0.05), r"missing value \(code 2\) in row 11\b"),
        (4_001, 5, (0.2, -1.0), r"invalid variance \(code 3\) in row 4001\b"),
        (19_999, -1, (0.3, np.inf), r"invalid variance \(code 3\) in row 19999\b"),
    ],
    ids=["first-block", "second-block", "last-row"],
)
def test_cluster_invalid_row_raises_with_global_row_number(
    client: distributed.Client, data: tuple, row: int, col: int, yv: tuple, message: str
) -> None:
    """errors="raise": the MetaacuInputError from a worker reaches the caller, naming the row of the whole array."""
    y, v, lens = data
    y, v = y.copy(), v.copy()
    y[lens == 0, 0], v[lens == 0, 0] = 0.1, 0.05  # no empty rows
    y[[11, 4_001, 19_999]], v[[11, 4_001, 19_999]] = 0.1, 0.05  # repair the deliberately invalid rows
    assert meta_analysis_batch(y, v).error.max() == 0
    y[row, col], v[row, col] = yv  # one invalid row, so only one block fails
    with pytest.raises(MetaacuInputError, match=message):
        meta_analysis_batch(da.from_array(y, chunks=(CHUNK, K)), da.from_array(v, chunks=(CHUNK, K)))
