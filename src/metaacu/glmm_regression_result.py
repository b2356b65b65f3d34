"""The result of :func:`metaacu.glmm_meta_regression` (:class:`GLMMRegression`): the coefficients with
their Wald tests and intervals, the omnibus test of the moderators, τ², the tests for residual
heterogeneity, fit statistics, predictions for new moderator values, and the text, tidy and HTML
displays (the coefficient table and its text, the coding of ``newmods`` and the prediction frame are
:mod:`metaacu.regression_result`'s, as :class:`metaacu.MetaRegression` uses them)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ._validation import check_choice, check_digits, check_level
from .design import Term
from .glmm_result import model_description
from .inference import critical_value
from .measures import measure_info
from .regression_result import coefficient_frame, coefficient_lines, newmods_matrix, prediction_frame
from .report import Printable, format_p, scale_label

if TYPE_CHECKING:
    from .formula import FormulaDesign

__all__ = ["GLMMRegression"]

F64 = NDArray[np.float64]


@dataclass(frozen=True, repr=False, eq=False)
class GLMMRegression(Printable):
    """An exact-likelihood (generalised linear mixed model) meta-regression.

    Attributes
    ----------
    measure, model, method : str
        ``"OR"`` or ``"IRR"`` (coefficients on the log scale); metafor's model name; ``"ML"`` or ``"EE"``.
    nodes : int
        Adaptive Gauss-Hermite nodes per study (``nAGQ``).
    k, p : int
        Studies in the model and coefficients; ``labels`` the studies', ``excluded`` those left out (no
        events in either arm, or all participants with events).
    coef_names : tuple of str
        ``"intercept"``, numeric moderator names, ``"column[level]"`` for dummy-coded levels.
    estimate, se, statistic, pvalue, ci_low, ci_high : ndarray
        Coefficients, standard errors (observed information), Wald z (or t), two-sided p, Wald intervals
        at ``level``.
    vcov : ndarray
        Their variance-covariance matrix (``p × p``).
    intercept : bool
    test : str
        ``"z"`` or ``"t"`` (metafor's ``test``).
    df : float
        Degrees of freedom of the coefficient tests: ``inf`` under z, ``k − p`` under t.
    btt : tuple of int
        The coefficients of the omnibus test (indices from 0).
    qm, qm_df, qm_pvalue, qm_test : float, int, float, str
        Omnibus Wald test of the coefficients ``btt`` (default all but the intercept, all without one):
        ``qm_test`` ``"chi2"``, QM on χ²(``qm_df``), or ``"F"`` (under t), QM/m on F(``qm_df``, k − p).
    tau2, se_tau2 : float
        Residual between-study variance (ML; 0 for ``"EE"``) and its standard error (NaN at 0).
    i2, h2 : float
        Residual I² (percent) and H² from τ² and metafor's typical variance ``(k − p)/tr P``.
    qe_wald, qe_lrt, qe_df, qe_wald_pvalue, qe_lrt_pvalue : float, float, int, float, float
        Tests for residual heterogeneity (Wald-type and likelihood-ratio, the fixed-effects model with
        the moderators against the saturated model), χ² on ``qe_df = k − p``.
    loglik, loglik_common, loglik_saturated, loglik_metafor, deviance, aic, bic, aicc : float
        As :class:`metaacu.GLMMResult` (``parameters`` counts the p coefficients).
    parameters, observations : int
    design : ndarray
        The ``k × p`` model matrix of the studies in the model.
    iterations, converged : int, bool
    notes : tuple of str
    sigma2 : float
        UM.RS only (NaN otherwise): the variance of the random study intercepts, metafor's ``sigma2``.
    """

    measure: str
    model: str
    method: str
    nodes: int
    k: int
    p: int
    labels: tuple[str, ...]
    excluded: tuple[str, ...]
    coef_names: tuple[str, ...]
    estimate: F64
    se: F64
    statistic: F64
    pvalue: F64
    ci_low: F64
    ci_high: F64
    vcov: F64
    level: float
    intercept: bool
    test: str
    df: float
    btt: tuple[int, ...]
    qm: float
    qm_df: int
    qm_pvalue: float
    qm_test: str
    tau2: float
    se_tau2: float
    i2: float
    h2: float
    qe_wald: float
    qe_lrt: float
    qe_df: int
    qe_wald_pvalue: float
    qe_lrt_pvalue: float
    loglik: float
    loglik_common: float
    loglik_saturated: float
    loglik_metafor: float
    deviance: float
    aic: float
    bic: float
    aicc: float
    parameters: int
    observations: int
    design: F64
    iterations: int
    converged: bool
    notes: tuple[str, ...] = ()
    sigma2: float = math.nan
    _terms: tuple[Term, ...] = field(default=(), compare=False)
    _formula: FormulaDesign | None = field(default=None, compare=False)

    @property
    def tau(self) -> float:
        """τ, the square root of :attr:`tau2`."""
        return math.sqrt(self.tau2)

    def __repr__(self) -> str:
        coefs = ", ".join(f"{n}={b:.6g}" for n, b in zip(self.coef_names, self.estimate, strict=True))
        return (
            f"GLMMRegression(measure={self.measure!r}, model={self.model!r}, method={self.method!r}, "
            f"k={self.k}, {coefs}, tau2={self.tau2:.6g}, nodes={self.nodes})"
        )

    def to_frame(self, scale: str = "pooling") -> pd.DataFrame:
        """The tidy coefficient table, one row per coefficient: ``term, estimate, se, statistic,
        pvalue, ci_low, ci_high`` (``scale="response"``: estimate and interval back-transformed with
        ``exp``, the ratio per unit of the moderator, no ``se``)."""
        scale = check_choice(scale, "scale", ("pooling", "response"))
        frame = coefficient_frame(
            self.coef_names, self.estimate, self.se, self.statistic, self.pvalue, self.ci_low, self.ci_high
        )
        if scale == "response":
            for col in ("estimate", "ci_low", "ci_high"):
                frame[col] = np.exp(frame[col])
            frame = frame.drop(columns="se")
        return frame

    def model_matrix(self, newmods: Any) -> F64:
        """Model-matrix rows for new moderator values, as :meth:`metaacu.MetaRegression.model_matrix`:
        a DataFrame with the moderator columns (coded as the fit was: by its formula, or its dummy
        coding), or a numeric array with one column per non-intercept coefficient (metafor's
        ``newmods``)."""
        if self._formula is not None:
            return self._formula.model_matrix(newmods)
        return newmods_matrix(newmods, self._terms, self.intercept, self.p)

    def predict(self, newmods: Any = None, level: float | None = None, scale: str = "pooling") -> pd.DataFrame:
        """Predicted average log odds (rate) ratios with confidence and prediction intervals (metafor's
        ``predict`` of an ``rma.glmm`` fit).

        Parameters
        ----------
        newmods : DataFrame or array-like, optional
            New moderator values (see :meth:`model_matrix`); without them, the fitted values of the
            studies in the model.
        level : float, optional
            Confidence level (default the fit's).
        scale : {"pooling", "response"}
            ``"response"``: prediction and both intervals back-transformed to the odds (rate) ratio
            (``exp``, metafor's ``transf = exp``), without ``se``.

        Returns
        -------
        DataFrame
            ``pred, se, ci_low, ci_high, pi_low, pi_high``: ``pred = xβ̂``, ``se = √(x V xᵀ)``, CI
            ``pred ± c·se`` and PI ``pred ± c·√(se² + τ̂²)``, ``c`` the normal (z) or t(k − p) quantile.

        Examples
        --------
        >>> import metaacu
        >>> res = metaacu.glmm_meta_regression([4, 10, 2, 7], [100, 120, 90, 80], [9, 15, 6, 8], [100, 118, 95, 85],
        ...                                    moderators={"dose": [1, 2, 1, 3]}, method="EE")
        >>> list(res.predict([[1.0], [3.0]], scale="response").columns)
        ['pred', 'ci_low', 'ci_high', 'pi_low', 'pi_high']
        """
        scale = check_choice(scale, "scale", ("pooling", "response"))
        lv = self.level if level is None else check_level(level)
        x = self.design if newmods is None else self.model_matrix(newmods)
        out = prediction_frame(x, self.estimate, self.vcov, float(critical_value(lv, self.df)), self.tau2)
        if scale == "response":
            back = measure_info(self.measure).to_display
            for col in ("pred", "ci_low", "ci_high", "pi_low", "pi_high"):
                out[col] = back(out[col].to_numpy())
            out = out.drop(columns="se")
        out.attrs.update({"level": lv, "scale": scale, "measure": self.measure})
        return out

    def _table_caption(self) -> str:
        return scale_label(measure_info(self.measure))

    def summary(self, digits: int = 4) -> str:
        """metafor-like text: model, τ², the tests for residual heterogeneity and of the moderators,
        fit statistics, the coefficient table."""
        d = check_digits(digits)
        kind = "Mixed-effects" if self.method == "ML" else "Fixed-effects"
        lines = [
            f"{kind} meta-regression, {model_description(self.measure, self.model)}; k = {self.k}, p = {self.p}; "
            f"{'maximum likelihood' if self.method == 'ML' else 'tau^2 = 0'}",
            f"Adaptive Gauss-Hermite quadrature with {self.nodes} node(s); "
            + (
                f"converged in {self.iterations} Newton iteration(s)"
                if self.converged
                else f"DID NOT CONVERGE ({self.iterations} iterations)"
            ),
        ]
        if self.excluded:
            lines.append(f"Excluded (no information): {', '.join(self.excluded)}")
        if self.method == "ML":
            se_t = "" if math.isnan(self.se_tau2) else f" (SE = {self.se_tau2:.{d}f})"
            lines.append(
                f"tau^2 (residual) = {self.tau2:.{d}f}{se_t}; tau = {self.tau:.{d}f}; I^2 = {self.i2:.2f}%; "
                f"H^2 = {self.h2:.{d}f}"
            )
        if not math.isnan(self.sigma2):
            lines.append(f"sigma^2 (random study intercepts) = {self.sigma2:.{d}f}")
        lines += [
            "Tests for residual heterogeneity:",
            f"  Wald-type       chi^2({self.qe_df}) = {self.qe_wald:.{d}f}, {format_p(self.qe_wald_pvalue)}",
            f"  Likelihood-ratio chi^2({self.qe_df}) = {self.qe_lrt:.{d}f}, {format_p(self.qe_lrt_pvalue)}",
        ]
        if self.qm_df:
            default = tuple(range(1, self.p)) if self.intercept else tuple(range(self.p))
            which = "" if self.btt == default else f" ({', '.join(self.coef_names[j] for j in self.btt)})"
            omnibus = f"F({self.qm_df}, {self.df:g})" if self.qm_test == "F" else f"QM({self.qm_df})"
            lines.append(f"Test of moderators{which}: {omnibus} = {self.qm:.{d}f}, {format_p(self.qm_pvalue)}")
        lines.append(
            f"log-likelihood = {self.loglik:.{d}f}; deviance = {self.deviance:.{d}f}; AIC = {self.aic:.{d}f}; "
            f"BIC = {self.bic:.{d}f}; AICc = {self.aicc:.{d}f}"
        )
        lines.append(f"Coefficients ({measure_info(self.measure).name}, {self.level:.0%} CI):")
        lines += coefficient_lines(self.to_frame(), self.test, d)
        lines += list(self.notes)
        return "\n".join(lines)
