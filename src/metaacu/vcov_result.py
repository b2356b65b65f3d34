"""The result type of :mod:`metaacu.vcov` (:class:`SamplingCovariance`, a block-diagonal sampling
covariance with its assumption recorded) and the checks shared with robust inference: the clusters of
the effects (:func:`cluster_index`) and a user's covariance matrix (:func:`check_covariance`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ._validation import MetaacuInputError
from .report import Printable

__all__ = ["SamplingCovariance", "check_covariance", "cluster_index"]

F64 = NDArray[np.float64]


def cluster_index(
    cluster: ArrayLike, k: int, name: str = "cluster"
) -> tuple[tuple[Any, ...], tuple[NDArray[np.intp], ...]]:
    """The distinct clusters in order of first appearance and the rows of each.

    Raises :class:`~metaacu.MetaacuInputError` for a length other than ``k`` or a missing value."""
    arr = np.asarray(cluster, dtype=object)
    if arr.ndim != 1:
        raise MetaacuInputError(f"argument {name!r} must be one value per effect (1-D), got shape {arr.shape}")
    if arr.shape[0] != k:
        raise MetaacuInputError(f"argument {name!r} has {arr.shape[0]} values for {k} effects")
    missing = np.flatnonzero(pd.isna(arr))
    if missing.size:
        raise MetaacuInputError(f"argument {name!r} has a missing value at effect index {missing[0]}")
    codes, uniques = pd.factorize(pd.Series(arr), sort=False)
    rows = tuple(np.flatnonzero(codes == j) for j in range(len(uniques)))
    return tuple(uniques.tolist()), rows


def check_covariance(v: ArrayLike, k: int | None = None, name: str = "V") -> F64:
    """Validate a sampling covariance matrix: square (``k × k``), finite, symmetric and positive
    definite (Cholesky).  Returns it as a float array."""
    arr = np.asarray(v, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise MetaacuInputError(f"argument {name!r} must be a square matrix, got shape {arr.shape}")
    if k is not None and arr.shape[0] != k:
        raise MetaacuInputError(f"argument {name!r} is {arr.shape[0]} x {arr.shape[1]} for {k} effects")
    if not np.isfinite(arr).all():
        raise MetaacuInputError(f"argument {name!r} has a missing or infinite entry")
    scale = max(float(np.abs(arr).max()), np.finfo(float).tiny)
    if not np.allclose(arr, arr.T, rtol=0.0, atol=1e-12 * scale):
        i, j = np.unravel_index(int(np.argmax(np.abs(arr - arr.T))), arr.shape)
        raise MetaacuInputError(f"argument {name!r} is not symmetric (entries [{i}, {j}] and [{j}, {i}] differ)")
    try:
        np.linalg.cholesky(arr)
    except np.linalg.LinAlgError:
        low = float(np.linalg.eigvalsh(arr).min())
        raise MetaacuInputError(f"argument {name!r} is not positive definite (smallest eigenvalue {low:.3g})") from None
    return arr


@dataclass(frozen=True, repr=False)
class SamplingCovariance(Printable):
    """A block-diagonal sampling covariance matrix of ``k`` effects in clusters (studies).

    Attributes
    ----------
    vi : ndarray
        The sampling variances (the diagonal).
    cluster : tuple
        The cluster of each effect, as given.
    clusters : tuple
        The distinct clusters, in order of first appearance.
    rows : tuple of ndarray
        The effects (row indices) of each cluster.
    blocks : tuple of ndarray
        The covariance block of each cluster (its rows in the order of ``rows``); read-only.
    formula : str
        How the covariances were computed (e.g. ``"1/n + d_i d_j / (2 N)"`` or ``"rho sqrt(vi vj)"``).
    assumption : str
        The assumption they rest on, in words (the stated correlation, the shared group ...).
    rho : float or None
        The stated correlation, when one number.
    measure : str or None
        Effect measure (shared-control covariances).
    """

    vi: F64
    cluster: tuple[Any, ...]
    clusters: tuple[Any, ...]
    rows: tuple[NDArray[np.intp], ...]
    blocks: tuple[F64, ...]
    formula: str
    assumption: str
    rho: float | None = None
    measure: str | None = None

    @property
    def k(self) -> int:
        """Number of effects."""
        return int(self.vi.shape[0])

    def to_dense(self) -> F64:
        """The ``k × k`` matrix, rows in the order of the effects."""
        out = np.zeros((self.k, self.k))
        for r, b in zip(self.rows, self.blocks, strict=True):
            out[np.ix_(r, r)] = b
        return out

    def to_sparse(self) -> Any:
        """The matrix as a ``scipy.sparse.csr_array`` (only the blocks stored)."""
        from scipy import sparse

        ii = np.concatenate([np.repeat(r, r.size) for r in self.rows])
        jj = np.concatenate([np.tile(r, r.size) for r in self.rows])
        vals = np.concatenate([b.ravel() for b in self.blocks])
        return sparse.csr_array((vals, (ii, jj)), shape=(self.k, self.k))

    def correlation(self) -> F64:
        """The implied correlation matrix ``V_ij / √(V_ii V_jj)``."""
        d = 1.0 / np.sqrt(self.vi)
        return self.to_dense() * d[:, None] * d[None, :]

    def to_frame(self) -> pd.DataFrame:
        """Tidy table of the non-zero pairs within clusters: ``cluster, row, col, covariance,
        correlation`` (``row <= col``)."""
        recs = []
        for c, r, b in zip(self.clusters, self.rows, self.blocks, strict=True):
            for a in range(r.size):
                for bb in range(a, r.size):
                    cov = float(b[a, bb])
                    recs.append((c, int(r[a]), int(r[bb]), cov, cov / float(np.sqrt(b[a, a] * b[bb, bb]))))
        out = pd.DataFrame(recs, columns=["cluster", "row", "col", "covariance", "correlation"])
        out.attrs.update({"formula": self.formula, "assumption": self.assumption})
        return out

    def summary(self) -> str:
        sizes = np.array([r.size for r in self.rows])
        corr = self.to_frame()
        off = corr[corr["row"] != corr["col"]]["correlation"]
        lines = [
            f"Sampling covariance of {self.k} effects in {len(self.clusters)} clusters "
            f"(sizes {sizes.min()} to {sizes.max()})",
            f"Formula: {self.formula}",
            f"Assumption: {self.assumption}",
        ]
        if len(off):
            lines.append(f"Within-cluster correlations: {off.min():.4f} to {off.max():.4f}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<SamplingCovariance k={self.k} clusters={len(self.clusters)} formula={self.formula!r}>"
