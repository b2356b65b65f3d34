"""The result of :func:`metaacu.meta_analysis_batch`: ``BatchResult`` (one array per field, row status
codes, a tidy frame and a summary) and the column layout ``FIELDS`` of the stacked arrays the batch
fits write (also used by :func:`metaacu.batch.batch_blocks` on dask arrays)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ._validation import MetaacuInputError, readonly

__all__ = ["ERROR_CODES", "FIELDS", "BatchResult"]

F64 = NDArray[np.float64]

#: Row status codes of :attr:`BatchResult.error`.
ERROR_CODES: Final[dict[int, str]] = {
    0: "ok",
    1: "no studies",
    2: "missing value",
    3: "invalid variance",
    4: "k = 1 with a t test",
    5: "out of double range",
}
ERR_NONE, ERR_EMPTY, ERR_MISSING, ERR_VARIANCE, ERR_K1, ERR_RANGE = 0, 1, 2, 3, 4, 5

#: Column order of the stacked ``(m, len(FIELDS))`` float array made by :func:`batch_blocks`.
FIELDS: Final = (
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
    "pi_low",
    "pi_high",
    "tau2_ci_low",
    "tau2_ci_high",
    "converged",
    "tau2_at_boundary",
    "iterations",
    "tau2_maxima",
    "k",
    "error",
)
NUMERIC: Final = FIELDS[:18]
COLUMN: Final = {name: i for i, name in enumerate(FIELDS)}


@dataclass(frozen=True, repr=False)
class BatchResult:
    """Results of :func:`meta_analysis_batch`: one entry per row (meta-analysis), arrays of shape ``(m,)``.

    Every field has the meaning of the :class:`metaacu.MetaAnalysis` field of the same name
    (``pi_low``/``pi_high`` are :meth:`MetaAnalysis.prediction_interval` at ``level`` with
    ``prediction``; ``tau2_ci_low``/``tau2_ci_high`` are :meth:`MetaAnalysis.tau2_confint`, NaN unless
    ``tau2_ci=True`` was asked for, and NaN for k = 1).  Arrays are read-only.

    Attributes
    ----------
    estimate, se, ci_low, ci_high, statistic, pvalue, df : ndarray of float
    tau2, q, q_pvalue, i2, h2, i2_q, s2 : ndarray of float
    pi_low, pi_high, tau2_ci_low, tau2_ci_high : ndarray of float
    converged, tau2_at_boundary : ndarray of bool
    iterations, tau2_maxima, k : ndarray of int
        Solver iterations, local maxima of the (restricted) likelihood found for ML/REML (1 for other
        methods; the global one is returned, see :class:`metaacu.MetaAnalysis`) and the number of
        studies in the row.
    error : ndarray of int8
        Row status, a key of :data:`ERROR_CODES` (0 = fitted).  Invalid rows hold NaN.
    method, test, level, prediction : str, str, float, str
    tau2_ci_computed : bool
        Whether the Q-profile interval was computed.
    """

    estimate: F64
    se: F64
    ci_low: F64
    ci_high: F64
    statistic: F64
    pvalue: F64
    df: F64
    tau2: F64
    q: F64
    q_pvalue: F64
    i2: F64
    h2: F64
    i2_q: F64
    s2: F64
    pi_low: F64
    pi_high: F64
    tau2_ci_low: F64
    tau2_ci_high: F64
    converged: NDArray[np.bool_]
    tau2_at_boundary: NDArray[np.bool_]
    iterations: NDArray[np.int64]
    tau2_maxima: NDArray[np.int64]
    k: NDArray[np.int64]
    error: NDArray[np.int8]
    method: str
    test: str
    level: float
    prediction: str
    tau2_ci_computed: bool

    @classmethod
    def from_array(
        cls, stacked: F64, *, method: str, test: str, level: float, prediction: str, tau2_ci: bool
    ) -> BatchResult:
        """Build a result from the ``(m, len(FIELDS))`` array made by :func:`batch_blocks`."""
        stacked = np.asarray(stacked, dtype=np.float64)
        if stacked.ndim != 2 or stacked.shape[1] != len(FIELDS):
            raise MetaacuInputError(f"expected an (m, {len(FIELDS)}) array, got shape {stacked.shape}")
        cols: dict[str, Any] = {name: np.ascontiguousarray(stacked[:, i]) for i, name in enumerate(NUMERIC)}
        cols["converged"] = stacked[:, COLUMN["converged"]] == 1.0
        cols["tau2_at_boundary"] = stacked[:, COLUMN["tau2_at_boundary"]] == 1.0
        cols["iterations"] = stacked[:, COLUMN["iterations"]].astype(np.int64)
        cols["tau2_maxima"] = stacked[:, COLUMN["tau2_maxima"]].astype(np.int64)
        cols["k"] = stacked[:, COLUMN["k"]].astype(np.int64)
        cols["error"] = stacked[:, COLUMN["error"]].astype(np.int8)
        for arr in cols.values():
            readonly(arr)
        return cls(**cols, method=method, test=test, level=level, prediction=prediction, tau2_ci_computed=tau2_ci)

    def __len__(self) -> int:
        return int(self.estimate.shape[0])

    @property
    def ok(self) -> NDArray[np.bool_]:
        """Rows that were fitted (``error == 0``)."""
        ok: NDArray[np.bool_] = self.error == ERR_NONE
        return ok

    def to_frame(self) -> pd.DataFrame:
        """One row per meta-analysis, one column per field (fixed column set), plus ``error_text``."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if isinstance(getattr(self, f.name), np.ndarray)}
        frame = pd.DataFrame(data)
        frame["error_text"] = pd.Categorical.from_codes(
            self.error.astype(np.int_), pd.Index(list(ERROR_CODES.values()))
        )
        frame.index.name = "row"
        frame.attrs.update(method=self.method, test=self.test, level=self.level, prediction=self.prediction)
        return frame

    def __repr__(self) -> str:
        m = len(self)
        bad = int((~self.ok).sum())
        nc = int((self.ok & ~self.converged).sum())
        return f"<BatchResult {self.method}/{self.test} m={m} level={self.level:g} errors={bad} not_converged={nc}>"
