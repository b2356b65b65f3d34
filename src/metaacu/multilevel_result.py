"""The result of a multilevel / multivariate random-effects model (:class:`MultilevelMetaAnalysis`):
coefficients and tests, variance components, fit statistics, predictions, and its displays."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import optimize, special

from ._validation import MetaacuInputError, check_choice, check_digits, check_level
from .design import Term
from .fitstats import LIKELIHOODS, FitStatistics
from .inference import critical_value
from .interval import Interval
from .regression_result import (
    coefficient_frame,
    coefficient_lines,
    newmods_matrix,
    prediction_frame,
    residual_and_moderator_tests,
)
from .report import Printable
from .working_model import WorkingModel

__all__ = ["MultilevelMetaAnalysis", "VarianceComponent"]

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class VarianceComponent:
    """One estimated variance or correlation of the random effects.

    Attributes
    ----------
    name : str
        ``"sigma2[district]"``, ``"tau2"``, ``"tau2[AL]"``, ``"rho"``, ``"rho[PD,AL]"``.
    term : str
        The random effect it belongs to (``"district/school"``, ``"outcome | trial"``).
    kind : str
        ``"sigma2"`` (a random intercept's variance), ``"tau2"`` or ``"rho"``.
    estimate : float
    levels : int
        Number of groups of the term (the outer grouping for ``~ inner | outer``).
    boundary : bool
        On the boundary of the parameter space: a variance estimated as exactly 0, or a correlation
        within 1e-6 of ±1.
    """

    name: str
    term: str
    kind: str
    estimate: float
    levels: int
    boundary: bool


@dataclass(frozen=True, repr=False)
class MultilevelMetaAnalysis(Printable):
    """Result of a multilevel / multivariate random-effects model (metafor's ``rma.mv``).

    Attributes
    ----------
    coef_names : tuple of str
    estimate, se, statistic, pvalue, ci_low, ci_high : ndarray
        Coefficient table (Wald z, or t with ``df``).
    vcov : ndarray
        Covariance matrix of the coefficients, ``(XᵀM⁻¹X)⁻¹``.
    df : ndarray
        Degrees of freedom per coefficient (``inf`` under z; ``k − p`` or metafor's "contain" rule
        under t).
    qm, qm_df, qm_pvalue, qm_test : float, int, float, str
        Omnibus Wald test of the coefficients other than the intercept (of all without one):
        χ²(``qm_df``) under z, F(``qm_df``, min df) under t.
    qe, qe_df, qe_pvalue : float, int, float
        Test of residual heterogeneity ``(y − Xβ̂_V)ᵀV⁻¹(y − Xβ̂_V)`` with ``k − p`` df.
    components : tuple of VarianceComponent
    sigma2, tau2, rho : ndarray
        The estimates by kind, in the order of ``components``.
    struct : str
        Structure of the ``~ inner | outer`` term (``""`` without one).
    inner_levels : tuple of str
        Levels of its inner factor (the order of ``tau2`` for DIAG, HCS, UN).
    loglik_ml, loglik_reml, loglik_saturated : float
        Log-likelihoods at the estimates (both, whatever ``method``) and ``−½ log|2πV|``.
    parameters : int
        Coefficients plus variance parameters (as metafor's ``parms``).
    k, p : int
    method, test, dfs : str
    level : float
    converged : bool
    iterations : int
    blocks, largest_block : int
        Independent blocks of the marginal covariance and the size of the largest.
    yi, design : ndarray
    labels : tuple of str
    notes : tuple of str
    """

    coef_names: tuple[str, ...]
    estimate: F64
    se: F64
    statistic: F64
    pvalue: F64
    ci_low: F64
    ci_high: F64
    vcov: F64
    df: F64
    qm: float
    qm_df: int
    qm_pvalue: float
    qm_test: str
    qe: float
    qe_df: int
    qe_pvalue: float
    components: tuple[VarianceComponent, ...]
    struct: str
    inner_levels: tuple[str, ...]
    loglik_ml: float
    loglik_reml: float
    loglik_saturated: float
    parameters: int
    k: int
    p: int
    method: str
    test: str
    dfs: str
    level: float
    converged: bool
    iterations: int
    blocks: int
    largest_block: int
    yi: F64
    design: F64
    labels: tuple[str, ...]
    intercept: bool
    notes: tuple[str, ...] = ()
    _terms: tuple[Term, ...] = field(default=(), compare=False)
    _blups: Any = field(default=None, compare=False)
    _profile: Any = field(default=None, compare=False)
    _held: tuple[str, ...] = field(default=(), compare=False)
    _marginal: tuple[tuple[NDArray[np.int64], F64], ...] = field(default=(), compare=False)

    def working_model(self) -> WorkingModel:
        """The model as cluster-robust inference reads it (:func:`~metaacu.cluster_robust`): ``y``,
        ``X``, ``β̂`` and the working covariance ``Φ = M = Z G Zᵀ + V`` at the estimates, kept as its
        independent blocks (never ``k × k``), as metafor's ``robust()`` and clubSandwich take an
        ``rma.mv`` fit (Pustejovsky & Tipton 2018, J Bus Econ Stat 36:672)."""
        if not self._marginal:
            raise MetaacuInputError(
                "argument 'model' carries no marginal covariance (it was not made by multilevel_meta_analysis)"
            )
        diag = np.empty(self.k)
        for index, cov in self._marginal:
            diag[index] = np.diagonal(cov, axis1=1, axis2=2)
        btt = tuple(range(1, self.p)) if self.intercept and self.p > 1 else tuple(range(self.p))
        return WorkingModel(
            yi=np.asarray(self.yi, dtype=float),
            design=np.asarray(self.design, dtype=float),
            estimate=np.asarray(self.estimate, dtype=float),
            coef_names=self.coef_names,
            covariance=diag,
            btt=btt,
            blocks=self._marginal,
        )

    # ---------------------------------------------------------------- variance components
    def _kind(self, kind: str) -> F64:
        return np.array([c.estimate for c in self.components if c.kind == kind])

    @property
    def sigma2(self) -> F64:
        """Variances of the random intercepts (metafor's ``sigma2``)."""
        return self._kind("sigma2")

    @property
    def tau2(self) -> F64:
        """Variances of the ``~ inner | outer`` term (metafor's ``tau2``)."""
        return self._kind("tau2")

    @property
    def rho(self) -> F64:
        """Correlations of the ``~ inner | outer`` term (metafor's ``rho``)."""
        return self._kind("rho")

    @property
    def boundary(self) -> tuple[str, ...]:
        """Names of the variance components on the boundary of the parameter space."""
        return tuple(c.name for c in self.components if c.boundary)

    def variance_frame(self) -> pd.DataFrame:
        """One row per variance component: ``name, term, kind, estimate, sqrt, levels, boundary``."""
        return pd.DataFrame(
            {
                "name": [c.name for c in self.components],
                "term": [c.term for c in self.components],
                "kind": [c.kind for c in self.components],
                "estimate": [c.estimate for c in self.components],
                "sqrt": [math.sqrt(c.estimate) if c.kind != "rho" else math.nan for c in self.components],
                "levels": [c.levels for c in self.components],
                "boundary": [c.boundary for c in self.components],
            }
        )

    def variance_confint(self, level: float | None = None) -> pd.DataFrame:
        """Profile-likelihood confidence intervals of the variance components (metafor's ``confint``
        of an ``rma.mv`` fit).

        The bounds solve ``2(ℓ̂ − ℓ_p(θ)) = χ²₁(level)``, ``ℓ_p`` the (restricted) log-likelihood
        maximised over the other components with ``θ`` held (Brent's method to 1e-12).  A variance's
        bound is 0, a correlation's ±1, when the profile stays above the cut-off up to there; NaN
        when no upper crossing is found below ``1e6`` times the estimate.  Components given in
        ``fixed`` and UN correlations of more than two levels get NaN.  Columns ``name, kind,
        estimate, ci_low, ci_high``.
        """
        lv = self.level if level is None else check_level(level)
        target = self.loglik - 0.5 * float(special.chdtri(1, 1.0 - lv))
        rows = []
        for c in self.components:
            lo = hi = math.nan
            if c.name not in self._held and not (
                c.kind == "rho" and self.struct == "UN" and len(self.inner_levels) > 2
            ):
                lo, hi = self._profile_bounds(c, target)
            rows.append((c.name, c.kind, c.estimate, lo, hi))
        out = pd.DataFrame(rows, columns=["name", "kind", "estimate", "ci_low", "ci_high"])
        out.attrs["level"] = lv
        return out

    def _profile_bounds(self, c: VarianceComponent, target: float) -> tuple[float, float]:
        def f(value: float) -> float:
            return float(self._profile(c.name, value)) - target

        est = c.estimate
        if c.kind == "rho":
            edge = 1.0 - 1e-10
            lo = -1.0 if f(-edge) >= 0 else optimize.brentq(f, -edge, est, xtol=1e-12, rtol=1e-12)
            hi = 1.0 if f(edge) >= 0 else optimize.brentq(f, est, edge, xtol=1e-12, rtol=1e-12)
            return float(lo), float(hi)
        tol = 1e-12 * max(est, 1e-8)
        lo = 0.0 if est == 0 or f(0.0) >= 0 else optimize.brentq(f, 0.0, est, xtol=tol, rtol=1e-12)
        step = max(est, 1e-4 * float(np.mean(np.abs(self.yi - self.design @ self.estimate)) ** 2), 1e-12)
        a, b = est, 2.0 * step
        for _ in range(60):
            if f(b) < 0:
                return float(lo), float(optimize.brentq(f, a, b, xtol=tol, rtol=1e-12))
            a, b = b, 2.0 * b
            if b > 1e6 * step:
                break
        return float(lo), math.nan

    # ---------------------------------------------------------------- fit statistics
    def fit_statistics(self, likelihood: str | None = None) -> FitStatistics:
        """Log-likelihood, deviance, AIC, BIC and AICc (metafor's ``fitstats`` of an ``rma.mv`` fit).

        ML: deviance ``−2(ℓ − ℓ_sat)`` with ``ℓ_sat = −½ log|2πV|``, BIC and AICc with k; REML:
        deviance ``−2ℓ_R``, BIC and AICc with ``k − p``.  ``likelihood`` defaults to the model's
        ``method``."""
        how = check_choice(self.method if likelihood is None else likelihood, "likelihood", LIKELIHOODS)
        m, restricted = self.parameters, how == "REML"
        ll = self.loglik_reml if restricted else self.loglik_ml
        n = self.k - self.p if restricted else self.k
        deviance = -2.0 * ll if restricted else -2.0 * (ll - self.loglik_saturated)
        big = max(n, m + 2)
        return FitStatistics(
            loglik=ll,
            deviance=deviance,
            aic=-2.0 * ll + 2.0 * m,
            bic=-2.0 * ll + m * math.log(n),
            aicc=-2.0 * ll + 2.0 * m * big / (big - m - 1),
            likelihood=how,
            parameters=m,
            k=self.k,
            p=self.p,
            method=self.method,
        )

    @property
    def loglik(self) -> float:
        """The log-likelihood that was maximised (REML or ML)."""
        return self.loglik_reml if self.method == "REML" else self.loglik_ml

    # ---------------------------------------------------------------- coefficients
    def _crit(self, level: float) -> F64:
        return np.asarray(critical_value(level, self.df), dtype=float)

    def confidence_interval(self, level: float | None = None) -> Interval:
        """Wald intervals of the coefficients (arrays in ``low``/``high``) at ``level``."""
        lv = self.level if level is None else check_level(level)
        c = self._crit(lv)
        dist = "normal" if self.test == "z" else "t"
        return Interval(self.estimate - c * self.se, self.estimate + c * self.se, lv, f"Wald ({dist})")

    def model_matrix(self, newmods: Any) -> F64:
        """Model-matrix rows for new moderator values: a DataFrame with the moderator columns, or a
        numeric array with one column per non-intercept coefficient (as metafor's ``newmods``)."""
        return newmods_matrix(newmods, self._terms, self.intercept, self.p)

    def predict(
        self, newmods: Any = None, level: float | None = None, *, tau2_levels: Sequence[str] | str | None = None
    ) -> pd.DataFrame:
        """Predicted average effects with confidence and prediction intervals (metafor's ``predict``).

        Columns ``pred, se, ci_low, ci_high, pi_low, pi_high``.  PI = ``pred ± crit·√(se² + Σσ² + τ²)``
        with ``crit`` from z or t; with one τ² per inner level (DIAG, HCS, UN) the level of each row is
        ``tau2_levels`` (without it the PI is NaN, as metafor's).  The t df of a row is the smallest df
        of the coefficients it involves.  Without ``newmods``, the fitted values of the effects.
        """
        lv = self.level if level is None else check_level(level)
        if newmods is None:
            x = self.design
        elif self.p == 1 and self.intercept and np.ndim(newmods) == 0 and newmods == 1:
            x = np.ones((1, 1))
        else:
            x = self.model_matrix(newmods)
        n = x.shape[0]
        if self.test == "z":
            crit = np.full(n, float(critical_value(lv)))
        else:
            df = np.array([self.df[row != 0].min() if (row != 0).any() else self.k - self.p for row in x])
            crit = np.asarray(critical_value(lv, df), dtype=float)
        het = np.full(n, float(self.sigma2.sum()))
        tau2 = self.tau2
        if tau2.size == 1:
            het += tau2[0]
        elif tau2.size > 1:
            if tau2_levels is None:
                het[:] = np.nan
            else:
                names = [tau2_levels] * n if isinstance(tau2_levels, str) else list(tau2_levels)
                if len(names) != n:
                    raise MetaacuInputError(f"argument 'tau2_levels' has {len(names)} entries for {n} predictions")
                unknown = [name for name in names if name not in self.inner_levels]
                if unknown:
                    raise MetaacuInputError(
                        f"argument 'tau2_levels': unknown level {unknown[0]!r} (levels: {', '.join(self.inner_levels)})"
                    )
                het += tau2[[self.inner_levels.index(name) for name in names]]
        return prediction_frame(x, self.estimate, self.vcov, crit, het)

    def random_effects(self, level: float | None = None) -> dict[str, pd.DataFrame]:
        """Best linear unbiased predictions of the random effects (metafor's ``ranef``).

        One frame per term (``"district"``, ``"district/school"``, ``"outcome | trial"``) with columns
        ``group, blup, se, pi_low, pi_high``: ``û = D Zᵀ M⁻¹(y − Xβ̂)``, prediction-error variance
        ``D − D Zᵀ P Z D`` (Robinson 1991, Stat Sci 6:15; metafor's ``ranef.rma.mv``), intervals with
        z (t with ``k − p`` df under ``test="t"``).
        """
        lv = self.level if level is None else check_level(level)
        crit = float(critical_value(lv)) if self.test == "z" else float(critical_value(lv, self.k - self.p))
        out = {}
        for term, (groups, blup, var) in cast(dict[str, tuple[list[str], F64, F64]], self._blups).items():
            se = np.sqrt(np.maximum(var, 0.0))
            out[term] = pd.DataFrame(
                {"group": groups, "blup": blup, "se": se, "pi_low": blup - crit * se, "pi_high": blup + crit * se}
            )
        return out

    # ---------------------------------------------------------------- displays
    def to_frame(self, level: float | None = None) -> pd.DataFrame:
        """Tidy coefficient table: ``term, estimate, se, statistic, df, pvalue, ci_low, ci_high``."""
        ci = self.confidence_interval(level)
        out = coefficient_frame(
            self.coef_names, self.estimate, self.se, self.statistic, self.pvalue, ci.low, ci.high, df=self.df
        )
        out.attrs.update({"level": ci.level, "method": self.method, "test": self.test})
        return out

    def summary(self, digits: int = 4) -> str:
        """Multi-line text summary, in the spirit of metafor's ``print.rma.mv``."""
        d = check_digits(digits)
        fs = self.fit_statistics()
        lines = [
            f"Multivariate meta-analysis model (k = {self.k}; p = {self.p}; method: {self.method}; test: {self.test})",
            f"logLik = {fs.loglik:.{d}f}   deviance = {fs.deviance:.{d}f}   AIC = {fs.aic:.{d}f}   "
            f"BIC = {fs.bic:.{d}f}   AICc = {fs.aicc:.{d}f}",
            "",
            "Variance components:",
        ]
        for c in self.components:
            flag = "  (boundary)" if c.boundary else ""
            lines.append(f"  {c.name:<28} {c.estimate:>12.{d}f}   levels: {c.levels:<6} term: {c.term}{flag}")
        lines.append("")
        lines += residual_and_moderator_tests(
            (self.qe, self.qe_df, self.qe_pvalue), (self.qm, self.qm_df, self.qm_pvalue), self.qm_test, self.df.min(), d
        )
        lines.append("")
        lines += coefficient_lines(self.to_frame(), self.test, d)
        status = "converged" if self.converged else "DID NOT CONVERGE"
        lines.append(f"Optimiser: {status} after {self.iterations} iterations; {self.blocks} independent blocks")
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        comps = ", ".join(f"{c.name}={c.estimate:.4g}" for c in self.components)
        return f"<MultilevelMetaAnalysis {self.method}/{self.test} k={self.k} p={self.p} {comps}>"
