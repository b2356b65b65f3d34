"""The result of a meta-regression (:class:`MetaRegression`): coefficients, tests, heterogeneity,
predictions for new moderator values, and its text, tidy and HTML displays.  The pieces it shares with the
multilevel and cluster-robust results (coding ``newmods``, the prediction frame, the coefficient table
and its text) are the functions here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ._validation import MetaacuInputError, check_digits, check_level
from .design import Term, design_matrix
from .inference import critical_value
from .interval import Interval
from .report import Printable, format_p

if TYPE_CHECKING:
    from .fitstats import FitStatistics
    from .formula import FormulaDesign
    from .tau2_inference import HeterogeneityInterval

__all__ = [
    "MetaRegression",
    "coefficient_frame",
    "coefficient_lines",
    "newmods_matrix",
    "prediction_frame",
    "residual_and_moderator_tests",
]

F64 = NDArray[np.float64]


# --------------------------------------------------------------------------- shared by the coefficient results
def newmods_matrix(newmods: Any, terms: tuple[Term, ...], intercept: bool, p: int) -> F64:
    """Model-matrix rows for new moderator values of a fit with ``p`` coefficients: a DataFrame with the
    moderator columns (coded by the fit's ``terms``, when it has them) or a numeric array with one column
    per non-intercept coefficient (as metafor's ``newmods``)."""
    if isinstance(newmods, pd.DataFrame) and terms:
        x, _ = design_matrix(newmods.reset_index(drop=True), terms, intercept, "newmods")
        return x
    arr = np.asarray(newmods, dtype=np.float64)
    ncol = p - int(intercept)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1) if arr.size == ncol else arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != ncol:
        raise MetaacuInputError(f"argument 'newmods' must have {ncol} column(s), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise MetaacuInputError("argument 'newmods' has a missing or infinite value")
    return np.column_stack([np.ones(arr.shape[0]), arr]) if intercept else arr


def prediction_frame(x: F64, estimate: F64, vcov: F64, crit: float | F64, het: float | F64) -> pd.DataFrame:
    """Predictions ``Xβ̂`` with ``se = √diag(X vcov Xᵀ)``, CI ``pred ± crit·se`` and PI
    ``pred ± crit·√(se² + het)`` (``het``: the between-study variance of each row), as metafor's
    ``predict``: columns ``pred, se, ci_low, ci_high, pi_low, pi_high``."""
    pred = x @ estimate
    se = np.sqrt(np.einsum("ij,jk,ik->i", x, vcov, x))
    half = crit * np.sqrt(se**2 + het)
    return pd.DataFrame(
        {
            "pred": pred,
            "se": se,
            "ci_low": pred - crit * se,
            "ci_high": pred + crit * se,
            "pi_low": pred - half,
            "pi_high": pred + half,
        }
    )


def coefficient_frame(
    names: tuple[str, ...],
    estimate: F64,
    se: F64,
    statistic: F64,
    pvalue: F64,
    ci_low: F64,
    ci_high: F64,
    df: F64 | None = None,
) -> pd.DataFrame:
    """The tidy coefficient table: ``term, estimate, se, statistic, df, pvalue, ci_low, ci_high`` (no
    ``df`` column when ``df`` is None)."""
    cols: dict[str, Any] = {"term": list(names), "estimate": estimate, "se": se, "statistic": statistic}
    if df is not None:
        cols["df"] = df
    cols.update({"pvalue": pvalue, "ci_low": ci_low, "ci_high": ci_high})
    return pd.DataFrame(cols)


def residual_and_moderator_tests(
    qe: tuple[float, int, float], qm: tuple[float, int, float], qm_test: str, df2: float, d: int
) -> list[str]:
    """The summary lines of the test for residual heterogeneity and the omnibus test of the moderators:
    ``qe`` and ``qm`` as (statistic, df, p-value), the latter χ² or, with ``qm_test`` "F", F on
    ``(df, df2)``, at ``d`` decimals."""
    qm_stat, qm_df, qm_p = qm
    omnibus = f"F({qm_df}, {df2:g})" if qm_test == "F" else f"QM({qm_df})"
    return [
        f"Test for residual heterogeneity: QE({qe[1]}) = {qe[0]:.{d}f}, {format_p(qe[2])}",
        f"Test of moderators: {omnibus} = {qm_stat:.{d}f}, {format_p(qm_p)}",
    ]


def coefficient_lines(frame: pd.DataFrame, test: str, d: int) -> list[str]:
    """The coefficient table of a text summary (a header and one line per row of ``frame``, a
    :func:`coefficient_frame`), ``d`` decimals, the statistic headed z or t after ``test``."""
    stat = "z" if test == "z" else "t"
    lines = [f"{'term':>20} {'estimate':>10} {'se':>10} {stat:>8} {'p':>9} {'ci_low':>10} {'ci_high':>10}"]
    for r in frame.itertuples(index=False):
        p = cast(float, r.pvalue)  # cast: the rows are untyped tuples; the pvalue column holds floats
        lines.append(
            f"{r.term:>20} {r.estimate:>10.{d}f} {r.se:>10.{d}f} {r.statistic:>8.{min(d, 3)}f} "
            f"{format_p(p, prefix=False):>9} {r.ci_low:>10.{d}f} {r.ci_high:>10.{d}f}"
        )
    return lines


@dataclass(frozen=True, repr=False)
class MetaRegression(Printable):
    """Result of a meta-regression (mixed-effects or, with ``method="EE"``, fixed-effects).

    Attributes
    ----------
    coef_names : tuple of str
        ``"intercept"``, numeric moderator names, and ``"column[level]"`` for dummy-coded levels.
    estimate, se, statistic, pvalue, ci_low, ci_high : ndarray
        Coefficient table (z or t statistics).
    vcov : ndarray
        Variance-covariance matrix of the coefficients (Knapp-Hartung scaled under ``"knha"``).
    df : float
        Degrees of freedom of the coefficient tests (``inf`` for z, ``k − p`` for knha).
    qm, qm_df, qm_pvalue : float, int, float
        Omnibus test of the moderators (all coefficients but the intercept; all of them without
        an intercept): χ²(``qm_df``) under z, F(``qm_df``, ``k − p``) under knha.
    qm_test : str
        ``"chi2"`` or ``"F"``.
    qe, qe_df, qe_pvalue : float, int, float
        Test for residual heterogeneity, ``yᵀP₀y`` with weights ``1/vᵢ``, df ``k − p``.
    tau2 : float
        Residual between-study variance.
    i2, h2 : float
        Residual I² (percent) and H², τ²-based (Q-based for ``"EE"``), as metafor.
    r2 : float
        Pseudo-R² in percent, ``max(0, 100(τ²_RE − τ²)/τ²_RE)`` with τ²_RE from the intercept-only
        model with the same method (0 when τ²_RE = 0).  For ``"EE"``, as metafor, the adjusted R² of
        the weighted least-squares fit with weights ``1/vᵢ``.  NaN without an intercept.
    tau2_re : float
        The intercept-only τ² used for ``r2`` (NaN when not computed).
    k, p : int
        Studies and coefficients.
    s2 : float
        Knapp-Hartung scale ``yᵀPy/(k − p)`` (1 under z).
    yi, vi, weights : ndarray
        Data and weights in percent ``∝ 1/(vᵢ + τ²)``.
    design : ndarray
        The ``k × p`` model matrix.
    labels : tuple of str
    method, test : str
    level : float
    intercept : bool
    converged : bool
    iterations : int
    notes : tuple of str
    moderators : DataFrame
        The moderator columns as given (for plots and new predictions).
    user_weights : ndarray or None
        The user weights of ``meta_regression(weights=...)`` (metafor's ``weights=``), or None.
    """

    coef_names: tuple[str, ...]
    estimate: F64
    se: F64
    statistic: F64
    pvalue: F64
    ci_low: F64
    ci_high: F64
    vcov: F64
    df: float
    qm: float
    qm_df: int
    qm_pvalue: float
    qm_test: str
    qe: float
    qe_df: int
    qe_pvalue: float
    tau2: float
    i2: float
    h2: float
    r2: float
    tau2_re: float
    k: int
    p: int
    s2: float
    yi: F64
    vi: F64
    weights: F64
    design: F64
    labels: tuple[str, ...]
    method: str
    test: str
    level: float
    intercept: bool
    converged: bool = True
    iterations: int = 0
    notes: tuple[str, ...] = ()
    moderators: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False)
    _terms: tuple[Term, ...] = field(default=(), compare=False)
    _formula: FormulaDesign | None = field(default=None, compare=False)
    user_weights: F64 | None = field(default=None, compare=False)

    # ---------------------------------------------------------------- derived quantities
    @property
    def fitted(self) -> F64:
        """Fitted values ``Xβ̂``."""
        return self.design @ self.estimate

    @property
    def residuals(self) -> F64:
        """Residuals ``y − Xβ̂``."""
        return self.yi - self.fitted

    def _crit(self, level: float) -> float:
        return float(critical_value(level, self.df))

    def confidence_interval(self, level: float | None = None) -> Interval:
        """Intervals for the coefficients (arrays in ``low``/``high``) at ``level``."""
        lv = self.level if level is None else check_level(level)
        c = self._crit(lv)
        dist = "normal" if not np.isfinite(self.df) else f"t, {self.df:g} df"
        return Interval(self.estimate - c * self.se, self.estimate + c * self.se, lv, f"Wald ({dist})")

    def tau2_se(self) -> float:
        """Standard error of the residual τ̂² by the formula of the model's estimator (metafor's
        ``se.tau2``; formulas in :mod:`metaacu.tau2_inference` and, for GENQ/GENQM,
        :mod:`metaacu.tau2_genq`)."""
        from .tau2_inference import tau2_se

        return tau2_se(self)

    def tau2_confint(self, level: float | None = None) -> Interval:
        """Q-profile confidence interval for the residual τ² (Viechtbauer 2007, with ``k − p`` df; as
        metafor's ``confint`` of a model with moderators)."""
        from .tau2_inference import tau2_interval

        return tau2_interval(self, level, "qprofile", None)

    def heterogeneity_confint(
        self, level: float | None = None, *, kind: str = "qprofile", weights: ArrayLike | None = None
    ) -> HeterogeneityInterval:
        """Confidence intervals for the residual τ², τ, I² and H², as
        :meth:`metaacu.MetaAnalysis.heterogeneity_confint` (``kind``: ``"qprofile"``,
        ``"profile_likelihood"``, ``"wald"``, ``"genq"`` with ``weights``)."""
        from .tau2_inference import heterogeneity_interval

        return heterogeneity_interval(self, level, kind, weights)

    def fit_statistics(self, likelihood: str | None = None) -> FitStatistics:
        """Log-likelihood, deviance, AIC, BIC and AICc (metafor's ``fitstats``; ``likelihood`` as
        :meth:`metaacu.MetaAnalysis.fit_statistics`)."""
        from .fitstats import fit_statistics

        return fit_statistics(self, likelihood)

    def model_matrix(self, newmods: Any) -> F64:
        """Model-matrix rows for new moderator values.

        ``newmods`` is a DataFrame with the moderator columns (categorical levels as in the fit) or a
        numeric array with one column per non-intercept coefficient (as metafor's ``newmods``).
        """
        if self._formula is not None:  # moderators given as a formula: coded by its model spec
            return self._formula.model_matrix(newmods)
        return newmods_matrix(newmods, self._terms, self.intercept, self.p)

    def predict(self, newmods: Any = None, level: float | None = None) -> pd.DataFrame:
        """Predicted average effects with confidence and prediction intervals (metafor's ``predict``).

        Columns ``pred, se, ci_low, ci_high, pi_low, pi_high``;
        PI = ``pred ± crit·√(se² + τ²)`` with ``crit`` from z or t(k − p).  Without ``newmods``, the
        fitted values of the studies.
        """
        lv = self.level if level is None else check_level(level)
        x = self.design if newmods is None else self.model_matrix(newmods)
        return prediction_frame(x, self.estimate, self.vcov, self._crit(lv), self.tau2)

    def to_frame(self, level: float | None = None) -> pd.DataFrame:
        """Tidy coefficient table: ``term, estimate, se, statistic, pvalue, ci_low, ci_high``."""
        ci = self.confidence_interval(level)
        out = coefficient_frame(self.coef_names, self.estimate, self.se, self.statistic, self.pvalue, ci.low, ci.high)
        out.attrs.update({"level": ci.level, "method": self.method, "test": self.test, "tau2": self.tau2})
        return out

    def study_frame(self) -> pd.DataFrame:
        """One row per study: label, yi, vi, weight, fitted, residual and the moderator columns."""
        out = pd.DataFrame(
            {
                "label": list(self.labels),
                "yi": self.yi,
                "vi": self.vi,
                "weight": self.weights,
                "fitted": self.fitted,
                "residual": self.residuals,
            }
        )
        for col in self.moderators.columns:
            out[col] = self.moderators[col].to_numpy()
        return out

    def summary(self, digits: int = 4) -> str:
        """Multi-line text summary, in the spirit of metafor's ``print.rma``."""
        d = check_digits(digits)
        kind = "Fixed-effects" if self.method == "EE" else "Mixed-effects"
        lines = [
            f"{kind} meta-regression (k = {self.k}; p = {self.p}; tau^2 estimator: {self.method}; test: {self.test})",
            "",
        ]
        if self.method != "EE":
            lines.append(f"tau^2 (residual heterogeneity) = {self.tau2:.{d}f}, tau = {np.sqrt(self.tau2):.{d}f}")
        lines.append(f"I^2 (residual) = {self.i2:.2f}%   H^2 = {self.h2:.2f}")
        if np.isfinite(self.r2):
            lines.append(f"R^2 (heterogeneity accounted for) = {self.r2:.2f}%")
        lines += residual_and_moderator_tests(
            (self.qe, self.qe_df, self.qe_pvalue), (self.qm, self.qm_df, self.qm_pvalue), self.qm_test, self.df, d
        )
        lines.append("")
        lines += coefficient_lines(self.to_frame(), self.test, d)
        if not self.converged:
            lines.append(f"WARNING: tau^2 solver did not converge after {self.iterations} iterations")
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<MetaRegression {self.method}/{self.test} k={self.k} p={self.p} tau2={self.tau2:.4g} "
            f"QM={self.qm:.4g} (p={self.qm_pvalue:.3g}) R2={self.r2:.1f}%>"
        )


# --------------------------------------------------------------------------- entry points
