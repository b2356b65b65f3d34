"""Wald tests of a subset of coefficients and of linear contrasts of a fitted model (metafor's
``anova(res, btt = ...)`` and ``anova(res, X = ...)``).

For hypotheses ``L β = c`` (``q`` rows): each row's estimate ``Lⱼβ̂``, standard error
``√(Lⱼ V̂ Lⱼᵀ)`` and z (or t) test, and the omnibus statistic
``QM = (Lβ̂ − c)ᵀ (L V̂ Lᵀ)⁻¹ (Lβ̂ − c)`` on χ²(q), or ``QM/q`` on F(q, df) when the model's tests are
t tests (``test="t"``, ``"knha"``, ``"adhoc"``: df = k − p; Knapp & Hartung 2003).  A
:class:`~metaacu.robust.ClusterRobust` result is tested with its robust ``V̂``: CR0/CR1 on F(q, n − p)
and t(n − p) (metafor ``robust``), CR2 by the HTZ test and Satterthwaite df per row (clubSandwich
``Wald_test``, ``linear_contrast``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._validation import MetaacuInputError, check_digits, readonly
from .coefficients import select_coefficients  # the one reading of btt; kept importable from here
from .inference import two_sided_p
from .report import Printable, format_p

__all__ = ["WaldTest", "select_coefficients", "wald_test"]

F64 = NDArray[np.float64]


@dataclass(frozen=True, repr=False)
class WaldTest(Printable):
    """Result of :func:`wald_test`.

    Attributes
    ----------
    hypotheses : tuple of str
        Each row of ``L β = c`` in words.
    contrasts : ndarray
        The ``q × p`` matrix ``L``.
    rhs : ndarray
        The ``q`` right-hand sides ``c``.
    estimate, se, statistic, df, pvalue : ndarray
        Per hypothesis: ``Lⱼβ̂`` (the estimate of the combination), its SE, the statistic
        ``(Lⱼβ̂ − cⱼ)/se``, its df (``inf`` for z) and two-sided p-value.
    qm, qm_df, qm_df2, qm_pvalue : float
        Omnibus test: χ²(``qm_df``) (``qm_df2`` is ``inf``) or F(``qm_df``, ``qm_df2``).
    qm_test : str
        ``"chi2"``, ``"F"`` or ``"HTZ"``.
    model : str
    """

    hypotheses: tuple[str, ...]
    contrasts: F64
    rhs: F64
    estimate: F64
    se: F64
    statistic: F64
    df: F64
    pvalue: F64
    qm: float
    qm_df: float
    qm_df2: float
    qm_pvalue: float
    qm_test: str
    model: str

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: ``hypothesis, estimate, se, statistic, df, pvalue``."""
        out = pd.DataFrame(
            {
                "hypothesis": list(self.hypotheses),
                "estimate": self.estimate,
                "se": self.se,
                "statistic": self.statistic,
                "df": self.df,
                "pvalue": self.pvalue,
            }
        )
        out.attrs.update({"qm": self.qm, "qm_pvalue": self.qm_pvalue, "qm_test": self.qm_test})
        return out

    def summary(self, digits: int = 4) -> str:
        d = check_digits(digits)
        if self.qm_test == "chi2":
            omni = f"QM({self.qm_df:g}) = {self.qm:.{d}f}"
        else:
            omni = f"{'HTZ ' if self.qm_test == 'HTZ' else ''}F({self.qm_df:g}, {self.qm_df2:.4g}) = {self.qm:.{d}f}"
        lines = [
            f"Wald test of {len(self.hypotheses)} hypotheses for {self.model}",
            f"{omni}, {format_p(self.qm_pvalue)}",
            "",
        ]
        w = max(12, *(len(h) for h in self.hypotheses))
        lines.append(f"{'hypothesis':>{w}} {'estimate':>10} {'se':>10} {'stat':>8} {'p':>9}")
        for j, h in enumerate(self.hypotheses):
            lines.append(
                f"{h:>{w}} {self.estimate[j]:>10.{d}f} {self.se[j]:>10.{d}f} {self.statistic[j]:>8.{min(d, 3)}f} "
                f"{format_p(float(self.pvalue[j]), prefix=False):>9}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<WaldTest q={len(self.hypotheses)} {self.qm_test} QM={self.qm:.4g} p={self.qm_pvalue:.3g}>"


def _describe(row: F64, names: Sequence[str], rhs: float) -> str:
    terms = []
    for c, n in zip(row, names, strict=True):
        if c == 0:
            continue
        sign = "-" if c < 0 else "+"
        mag = "" if abs(c) == 1 else f"{abs(c):g}*"
        terms.append(f"{sign} {mag}{n}")
    text = " ".join(terms).lstrip("+ ")
    text = text if not text.startswith("- ") else "-" + text[2:]
    return f"{text} = {rhs:g}"


def wald_test(
    model: Any, *, coefs: Any = None, contrasts: ArrayLike | None = None, rhs: ArrayLike | None = None
) -> WaldTest:
    """Wald test that some coefficients are zero, or that linear combinations equal ``rhs``.

    Parameters
    ----------
    model : MetaRegression, MetaAnalysis, MultilevelMetaAnalysis, GLMMRegression or ClusterRobust
        A fitted model (or its cluster-robust inference, whose variance is then used): anything with
        ``coef_names``, ``estimate``, ``vcov`` and ``df`` (``inf`` for z tests).
    coefs : int, str or sequence, optional
        The coefficients tested jointly (metafor's ``btt``): indices (from 0), names, or a string that
        is part of names (``"alloc"``: every ``alloc`` dummy).
    contrasts : array-like, optional
        A ``q × p`` matrix ``L`` (one hypothesis per row; metafor's ``anova(res, X = L)``).  Exactly
        one of ``coefs`` and ``contrasts``.
    rhs : array-like, optional
        Right-hand sides ``c`` of ``L β = c`` (default 0).

    Returns
    -------
    WaldTest

    Examples
    --------
    >>> import metaacu
    >>> fit = metaacu.meta_regression([0.1, 0.3, 0.35, 0.6, 0.5, 0.4], [0.02, 0.03, 0.01, 0.05, 0.02, 0.03],
    ...                               [[1, 0], [2, 1], [3, 0], [4, 1], [5, 0], [6, 1]])
    >>> t = wald_test(fit, coefs=["x1", "x2"])
    >>> t.qm_df, t.qm_test
    (2.0, 'chi2')
    """
    from .results import MetaAnalysis
    from .robust import ClusterRobust

    if isinstance(model, MetaAnalysis):
        names, b, vb, df = ("intercept",), np.array([model.estimate]), np.array([[model.se**2]]), float(model.df)
    elif hasattr(model, "vcov") and hasattr(model, "estimate") and hasattr(model, "coef_names"):
        names, b, vb = tuple(model.coef_names), np.asarray(model.estimate, float), np.asarray(model.vcov, float)
        df = float(np.min(model.df)) if not isinstance(model, ClusterRobust) else float(model.n_clusters - model.p)
    else:
        raise MetaacuInputError(
            f"argument 'model' must be a fitted model with coefficients, got {type(model).__name__}"
        )
    p = b.size
    if (coefs is None) == (contrasts is None):
        raise MetaacuInputError("give exactly one of 'coefs' (a subset of coefficients) and 'contrasts' (a matrix)")
    if coefs is not None:
        idx = select_coefficients(names, coefs)
        lmat = np.eye(p)[idx]
    else:
        lmat = np.atleast_2d(np.asarray(contrasts, dtype=np.float64))
        if lmat.ndim != 2 or lmat.shape[1] != p:
            raise MetaacuInputError(
                f"argument 'contrasts' must have {p} columns (one per coefficient), got shape {lmat.shape}"
            )
        if not np.isfinite(lmat).all():
            raise MetaacuInputError("argument 'contrasts' has a missing or infinite value")
    q = lmat.shape[0]
    c = np.zeros(q) if rhs is None else np.asarray(rhs, dtype=np.float64).reshape(-1)
    if c.shape != (q,):
        raise MetaacuInputError(f"argument 'rhs' must have {q} values (one per hypothesis)")
    if np.linalg.matrix_rank(lmat) < q:
        raise MetaacuInputError("argument 'contrasts' has linearly dependent rows (a hypothesis is implied by others)")
    est = lmat @ b
    se = np.sqrt(np.einsum("ij,jk,ik->i", lmat, vb, lmat))
    stat = (est - c) / se
    if isinstance(model, ClusterRobust):
        dfs = model.contrast_df(lmat)
        qm, qdf, qdf2, qp = model.wald_test(lmat, c)
        test = "HTZ" if model.estimator == "CR2" else "F"
    else:
        dfs = np.full(q, df)
        d = est - c
        qm = float(d @ np.linalg.solve(lmat @ vb @ lmat.T, d))
        if np.isfinite(df):
            qm, qdf, qdf2, test = qm / q, float(q), df, "F"
            qp = float(special.fdtrc(qdf, qdf2, qm))
        else:
            qdf, qdf2, test = float(q), np.inf, "chi2"
            qp = float(special.chdtrc(qdf, qm))
    return WaldTest(
        hypotheses=tuple(_describe(r, names, float(ci)) for r, ci in zip(lmat, c, strict=True)),
        contrasts=readonly(lmat.copy()),
        rhs=readonly(c.copy()),
        estimate=readonly(est),
        se=readonly(se),
        statistic=readonly(stat),
        df=readonly(dfs),
        pvalue=readonly(np.asarray(two_sided_p(stat, dfs), dtype=float)),
        qm=float(qm),
        qm_df=float(qdf),
        qm_df2=float(qdf2),
        qm_pvalue=float(qp),
        qm_test=test,
        model=f"{type(model).__name__} ({getattr(model, 'method', getattr(model, 'estimator', '?'))})",
    )
