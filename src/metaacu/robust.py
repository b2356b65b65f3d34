"""Cluster-robust (sandwich) inference for a fitted model with a cluster variable.

``V̂ = M (Σⱼ Xⱼᵀ Wⱼ Aⱼ eⱼ eⱼᵀ Aⱼᵀ Wⱼ Xⱼ) M`` with ``M = (XᵀWX)⁻¹``, ``W = Φ⁻¹`` the fit's weights,
``eⱼ`` the residuals of cluster ``j`` and:

* ``"CR0"``: ``Aⱼ = I``;
* ``"CR1"``: ``Aⱼ = I`` and ``V̂`` times ``n/(n − p)`` (``n`` clusters) — metafor's ``robust()``
  (``adjust = TRUE``), with t tests on ``n − p`` df and the omnibus F(m, n − p) test;
* ``"CR2"``: the bias-reduced linearisation of Bell & McCaffrey (2002) in the form of Pustejovsky &
  Tipton (2018, eq. 5): ``Aⱼ = Uⱼᵀ Bⱼ^(−1/2) Uⱼ``, ``Bⱼ = Uⱼ (I − H)ⱼⱼ Φⱼ Uⱼᵀ``, ``Uⱼ`` the upper
  Cholesky factor of ``Φⱼ`` (R clubSandwich ``vcovCR(type = "CR2")``), with Satterthwaite degrees of
  freedom for each coefficient (Pustejovsky & Tipton 2018, eq. 11; clubSandwich ``coef_test``) and the
  HTZ Wald test of several coefficients (Tipton & Pustejovsky 2015; clubSandwich ``Wald_test``).

The model is read through its :class:`~metaacu.working_model.WorkingModel`, so a multilevel model with a
``working_model()`` method gets the same treatment (its working covariance must be block-diagonal by
cluster).

References
----------
Bell RM, McCaffrey DF. Bias reduction in standard errors for linear regression with multi-stage samples.
Survey Methodology 2002;28:169-181.
Tipton E, Pustejovsky JE. Small-sample adjustments for tests of moderators and model fit using robust
variance estimation in meta-regression. J Educ Behav Stat 2015;40:604-634.
Pustejovsky JE, Tipton E. Small-sample methods for cluster-robust variance estimation and hypothesis
testing in fixed effects models. J Bus Econ Stat 2018;36:672-683.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._validation import MetaacuInputError, check_choice, check_digits, check_level, readonly
from .inference import two_sided_p
from .regression_result import coefficient_frame
from .report import Printable, format_p
from .vcov_result import cluster_index
from .working_model import WorkingModel, working_model

__all__ = ["ROBUST_ESTIMATORS", "ClusterRobust", "cluster_robust"]

F64 = NDArray[np.float64]

#: The sandwich estimators of :func:`cluster_robust`.
ROBUST_ESTIMATORS: Final = ("CR0", "CR1", "CR2")


def _sym_power(a: F64, power: float) -> F64:
    """``a^power`` of a symmetric PSD matrix, eigenvalues below 1e-12 set to 0 (clubSandwich's
    ``matrix_power``)."""
    val, vec = np.linalg.eigh(0.5 * (a + a.T))
    vp = np.where(val > 1e-12, np.abs(val) ** power, 0.0)
    out: F64 = (vec * vp) @ vec.T
    return out


def _inner(x: F64, a: F64, b: F64, y: F64, c: F64, d: F64) -> float:
    """Frobenius inner product ``⟨diag(x) − abᵀ, diag(y) − cdᵀ⟩`` of two diagonal-plus-low-rank J × J
    matrices in O(J p²)."""
    return float(x @ y - x @ np.sum(c * d, axis=1) - y @ np.sum(a * b, axis=1) + np.sum((a.T @ c) * (b.T @ d)))


@dataclass(frozen=True)
class _Sandwich:
    """The pieces of one sandwich fit, kept for Satterthwaite df and Wald tests."""

    wm: WorkingModel
    rows: tuple[NDArray[np.intp], ...]
    m: F64  # (XᵀWX)⁻¹
    g: tuple[F64, ...]  # M Xⱼᵀ Wⱼ Aⱼ, p × kⱼ
    phi: tuple[F64, ...]  # Φⱼ
    vcov: F64

    def p_parts(self, c: F64) -> tuple[F64, F64]:
        """The covariance of the cluster contributions ``cₛᵀgⱼeⱼ`` of the linear combinations ``c``
        (q × p) under the working model, ``P[s, t] = diag(d[s, t]) − K[s] K[t]ᵀ`` (J × J; clubSandwich
        ``get_P_array``), as its parts: ``d`` (q × q × J) and ``K`` (q × J × p).  Never J × J."""
        x = self.wm.design
        lm = np.linalg.cholesky(self.m)
        cg = [c @ g for g in self.g]  # q × kⱼ
        d = np.stack([cgj @ ph @ cgj.T for cgj, ph in zip(cg, self.phi, strict=True)], axis=-1)
        kk = np.stack([cgj @ x[r] @ lm for cgj, r in zip(cg, self.rows, strict=True)], axis=1)
        return d, kk

    def p_arrays(self, c: F64) -> F64:
        """``P[s, t]`` as the dense q × q × J × J array (for checks on small data)."""
        d, kk = self.p_parts(c)
        out: F64 = -np.einsum("saq,tbq->stab", kk, kk)
        j = np.arange(d.shape[-1])
        out[:, :, j, j] += d
        return out

    def satterthwaite(self, c: F64 | None = None) -> F64:
        """Satterthwaite df of each coefficient (or each row of ``c``): ``(tr P)² / Σ P²``
        (clubSandwich ``Satterthwaite``)."""
        rows = np.eye(self.wm.p) if c is None else c
        out = np.empty(rows.shape[0])
        for i, r in enumerate(rows):
            d, kk = self.p_parts(r[None, :])
            dd, k1 = d[0, 0], kk[0]
            out[i] = (dd.sum() - float(np.sum(k1 * k1))) ** 2 / _inner(dd, k1, k1, dd, k1, k1)
        return out

    def htz(self, c: F64, rhs: F64) -> tuple[float, float, float, float]:
        """HTZ test of ``c β = rhs``: ``(F, df1, df2, p)`` (Tipton & Pustejovsky 2015, clubSandwich
        ``Wald_test(test = "HTZ")``)."""
        q = c.shape[0]
        d, kk = self.p_parts(c)
        omega = d.sum(axis=-1) - np.einsum("saq,taq->st", kk, kk)
        ons = _sym_power(omega, -0.5)
        # B[s, t] = Σ ons[s, s'] P[s', t'] ons[t', t] = diag(d̃[s, t]) − K̃[s] K̃[t]ᵀ
        dt = np.einsum("ia,abj,bt->itj", ons, d, ons)
        kt = np.einsum("ia,ajq->ijq", ons, kk)
        tot = sum(
            _inner(dt[s, t], kt[s], kt[t], dt[t, s], kt[t], kt[s])
            + _inner(dt[s, s], kt[s], kt[s], dt[t, t], kt[t], kt[t])
            for s in range(q)
            for t in range(q)
        )
        nu = q * (q + 1) / float(tot)
        d = c @ self.wm.estimate - rhs
        qstat = float(d @ np.linalg.solve(c @ self.vcov @ c.T, d))
        delta = max((nu - q + 1) / nu, 0.0)
        df2 = nu - q + 1
        f = delta * qstat / q
        pval = float(special.fdtrc(q, df2, f)) if df2 > 0 else np.nan
        return f, float(q), float(df2), pval


@dataclass(frozen=True, repr=False)
class ClusterRobust(Printable):
    """Cluster-robust coefficient tests of a fitted model.

    Attributes
    ----------
    coef_names : tuple of str
    estimate, se, statistic, pvalue, ci_low, ci_high : ndarray
        The model's coefficients, robust SEs, t statistics, p-values and intervals at ``level``.
    df : ndarray
        Degrees of freedom of each coefficient's t test: ``n − p`` (CR0, CR1) or Satterthwaite (CR2).
    vcov : ndarray
        The robust variance-covariance matrix.
    estimator : str
        ``"CR0"``, ``"CR1"`` or ``"CR2"``.
    n_clusters : int
    clusters : tuple
        The distinct clusters, in order of first appearance.
    cluster_sizes : ndarray
        Effects per cluster.
    qm, qm_df, qm_df2, qm_pvalue : float
        Omnibus test of the coefficients ``btt``: F(m, n − p) for CR0/CR1 (metafor ``robust``), the
        HTZ F test for CR2 (clubSandwich), for an intercept-only model the square of its t test.
    qm_test : str
        ``"F"`` or ``"HTZ"``.
    btt : tuple of int
        The coefficients of the omnibus test.
    level : float
    k, p : int
    model : str
        Which model was made robust (class, τ² method).
    """

    coef_names: tuple[str, ...]
    estimate: F64
    se: F64
    statistic: F64
    df: F64
    pvalue: F64
    ci_low: F64
    ci_high: F64
    vcov: F64
    estimator: str
    n_clusters: int
    clusters: tuple[Any, ...]
    cluster_sizes: NDArray[np.int64]
    qm: float
    qm_df: float
    qm_df2: float
    qm_pvalue: float
    qm_test: str
    btt: tuple[int, ...]
    level: float
    k: int
    p: int
    model: str
    _sandwich: _Sandwich | None = field(default=None, compare=False)

    def wald_test(self, contrasts: ArrayLike, rhs: ArrayLike | None = None) -> tuple[float, float, float, float]:
        """Robust Wald test of ``contrasts @ β = rhs`` (rows: hypotheses; ``rhs`` default 0): ``(F, df1,
        df2, p)``.  CR2: the HTZ test (clubSandwich ``Wald_test``); CR0/CR1: ``Q/q`` on F(q, n − p)."""
        c = np.atleast_2d(np.asarray(contrasts, dtype=np.float64))
        if c.ndim != 2 or c.shape[1] != self.p:
            raise MetaacuInputError(
                f"argument 'contrasts' must have {self.p} columns (one per coefficient), got shape {c.shape}"
            )
        r = np.zeros(c.shape[0]) if rhs is None else np.asarray(rhs, dtype=np.float64).reshape(-1)
        if r.shape != (c.shape[0],):
            raise MetaacuInputError(f"argument 'rhs' must have {c.shape[0]} values (one per row of 'contrasts')")
        if np.linalg.matrix_rank(c) < c.shape[0]:
            raise MetaacuInputError("argument 'contrasts' has linearly dependent rows")
        if self.estimator == "CR2" and self._sandwich is not None:
            return self._sandwich.htz(c, r)
        d = c @ self.estimate - r
        q = c.shape[0]
        f = float(d @ np.linalg.solve(c @ self.vcov @ c.T, d)) / q
        df2 = float(self.n_clusters - self.p)
        return f, float(q), df2, float(special.fdtrc(q, df2, f))

    def contrast_df(self, contrasts: ArrayLike) -> F64:
        """Degrees of freedom of the t test of each row ``c`` of ``contrasts`` (``cᵀβ``): Satterthwaite
        for CR2 (clubSandwich ``linear_contrast``), ``n − p`` otherwise."""
        c = np.atleast_2d(np.asarray(contrasts, dtype=np.float64))
        if c.ndim != 2 or c.shape[1] != self.p:
            raise MetaacuInputError(f"argument 'contrasts' must have {self.p} columns, got shape {c.shape}")
        if self.estimator != "CR2" or self._sandwich is None:
            return np.full(c.shape[0], float(self.n_clusters - self.p))
        return self._sandwich.satterthwaite(c)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: ``term, estimate, se, statistic, df, pvalue, ci_low, ci_high``."""
        out = coefficient_frame(
            self.coef_names, self.estimate, self.se, self.statistic, self.pvalue, self.ci_low, self.ci_high, df=self.df
        )
        out.attrs.update({"estimator": self.estimator, "level": self.level, "n_clusters": self.n_clusters})
        return out

    def summary(self, digits: int = 4) -> str:
        d = check_digits(digits)
        dfs = "Satterthwaite df" if self.estimator == "CR2" else f"{self.n_clusters - self.p} df"
        lines = [
            f"Cluster-robust inference ({self.estimator}; t tests with {dfs}) for {self.model}",
            f"k = {self.k} effects in {self.n_clusters} clusters (sizes {self.cluster_sizes.min()} to "
            f"{self.cluster_sizes.max()})",
            f"Test of coefficients {', '.join(self.coef_names[i] for i in self.btt)}: "
            f"{self.qm_test} F({self.qm_df:g}, {self.qm_df2:.{min(d, 2)}f}) = {self.qm:.{d}f}, "
            f"{format_p(self.qm_pvalue)}",
            "",
            f"{'term':>20} {'estimate':>10} {'se':>10} {'t':>8} {'df':>7} {'p':>9} {'ci_low':>10} {'ci_high':>10}",
        ]
        for j, name in enumerate(self.coef_names):
            lines.append(
                f"{name:>20} {self.estimate[j]:>10.{d}f} {self.se[j]:>10.{d}f} {self.statistic[j]:>8.{min(d, 3)}f} "
                f"{self.df[j]:>7.2f} {format_p(float(self.pvalue[j]), prefix=False):>9} "
                f"{self.ci_low[j]:>10.{d}f} {self.ci_high[j]:>10.{d}f}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<ClusterRobust {self.estimator} k={self.k} clusters={self.n_clusters} p={self.p}>"


def cluster_robust(
    model: Any, cluster: ArrayLike, *, estimator: str = "CR2", level: float | None = None
) -> ClusterRobust:
    """Cluster-robust (sandwich) standard errors and tests for a fitted model.

    Parameters
    ----------
    model : MetaAnalysis, MetaRegression, MultilevelMetaAnalysis or a model with ``working_model()``
        The fitted model (its weights ``Φ⁻¹``, e.g. ``1/(vᵢ + τ̂²)``, and coefficients are kept; only
        their variance is replaced).
    cluster : array-like
        The cluster (e.g. study, lab) of each effect; effects of different clusters are independent.
        Each cluster must contain whole independent blocks of the model's working covariance (for a
        multilevel model: its outermost grouping, e.g. districts, or coarser).
    estimator : {"CR2", "CR1", "CR0"}
        ``"CR2"``: bias-reduced sandwich with Satterthwaite df (clubSandwich; metafor
        ``robust(..., clubSandwich = TRUE)``); ``"CR1"``: times ``n/(n − p)``, t on ``n − p`` df
        (metafor's ``robust()`` default); ``"CR0"``: unadjusted, t on ``n − p`` df (metafor
        ``adjust = FALSE``).
    level : float, optional
        Confidence level (default the model's).

    Returns
    -------
    ClusterRobust

    Notes
    -----
    The bread is ``(XᵀWX)⁻¹`` without the Knapp-Hartung factor of a ``test="knha"`` fit (metafor's
    ``robust`` takes the scaled matrix there).  Formulas and references: :mod:`metaacu.robust`.

    Examples
    --------
    >>> import metaacu
    >>> fit = metaacu.meta_analysis([0.1, 0.3, 0.35, 0.6, 0.5, 0.2], [0.02, 0.03, 0.01, 0.05, 0.02, 0.04])
    >>> r = cluster_robust(fit, [1, 1, 2, 2, 3, 3], estimator="CR1")
    >>> r.n_clusters, float(r.df[0])
    (3, 2.0)
    """
    est = check_choice(estimator, "estimator", ROBUST_ESTIMATORS)
    wm = working_model(model)
    lv = check_level(level if level is not None else getattr(model, "level", 0.95))
    k, p = wm.k, wm.p
    clusters, rows = cluster_index(cluster, k)
    n = len(clusters)
    if n < 2:
        raise MetaacuInputError("argument 'cluster' has a single cluster; cluster-robust variance needs at least two")
    if n <= p:
        raise MetaacuInputError(
            f"argument 'cluster' has {n} clusters for {p} coefficients; metafor's robust() needs more clusters "
            "than coefficients"
        )
    phis = wm.cluster_blocks(rows)
    if phis is None:
        raise MetaacuInputError(
            "argument 'cluster': the model's working covariance links effects of different clusters; "
            "choose clusters that contain the model's blocks (e.g. studies)"
        )
    x, b = wm.design, wm.estimate
    e = wm.yi - x @ b
    ws = tuple(np.linalg.inv(ph) for ph in phis)
    m = np.linalg.inv(sum(x[r].T @ w @ x[r] for r, w in zip(rows, ws, strict=True)))
    m = 0.5 * (m + m.T)
    gs = []
    for r, w, ph in zip(rows, ws, phis, strict=True):
        xw = x[r].T @ w  # p × kⱼ
        if est == "CR2":
            uj = np.linalg.cholesky(ph).T  # upper: UᵀU = Φⱼ
            ih = np.eye(r.size) - x[r] @ m @ xw
            bj = uj @ ih @ ph @ uj.T
            aj = uj.T @ _sym_power(bj, -0.5) @ uj
            gs.append(m @ xw @ aj)
        else:
            gs.append(m @ xw)
    contrib = np.column_stack([g @ e[r] for g, r in zip(gs, rows, strict=True)])  # p × J
    vb = contrib @ contrib.T
    if est == "CR1":
        vb = vb * (n / (n - p))
    vb = 0.5 * (vb + vb.T)
    sw = _Sandwich(wm, rows, m, tuple(gs), phis, vb)
    se = np.sqrt(np.diag(vb))
    stat = b / se
    df = sw.satterthwaite() if est == "CR2" else np.full(p, float(n - p))
    pval = np.asarray(two_sided_p(stat, df), dtype=float)
    crit = special.stdtrit(df, 0.5 + lv / 2)
    btt = wm.btt
    if est == "CR2":
        if p == 1 or (btt == (0,) and p == 1):
            qm, qdf1, qdf2, qp = float(stat[0] ** 2), 1.0, float(df[0]), float(pval[0])
        else:
            qm, qdf1, qdf2, qp = sw.htz(np.eye(p)[list(btt)], np.zeros(len(btt)))
        test = "HTZ"
    else:
        bb = b[list(btt)]
        qm = float(bb @ np.linalg.solve(vb[np.ix_(btt, btt)], bb)) / len(btt)
        qdf1, qdf2 = float(len(btt)), float(n - p)
        qp = float(special.fdtrc(qdf1, qdf2, qm))
        test = "F"
    return ClusterRobust(
        coef_names=wm.coef_names,
        estimate=readonly(b.copy()),
        se=readonly(se),
        statistic=readonly(stat),
        df=readonly(df),
        pvalue=readonly(pval),
        ci_low=readonly(b - crit * se),
        ci_high=readonly(b + crit * se),
        vcov=readonly(vb),
        estimator=est,
        n_clusters=n,
        clusters=clusters,
        cluster_sizes=readonly(np.array([r.size for r in rows], dtype=np.int64)),
        qm=qm,
        qm_df=qdf1,
        qm_df2=qdf2,
        qm_pvalue=qp,
        qm_test=test,
        btt=btt,
        level=lv,
        k=k,
        p=p,
        model=f"{type(model).__name__} ({getattr(model, 'method', '?')})",
        _sandwich=sw,
    )
