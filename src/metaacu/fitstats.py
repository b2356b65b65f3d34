"""Fit statistics of univariate models (log-likelihood, deviance, AIC, BIC, AICc) and likelihood-ratio
tests between nested models: metafor's ``fitstats`` and ``anova(full, reduced)``.

For a model ``yᵢ ~ N(xᵢᵀβ, vᵢ + τ²)`` with ``W = diag(1/(vᵢ + τ²))``, ``β̂ = (XᵀWX)⁻¹XᵀWy`` and
``RSS = Σ wᵢ(yᵢ − xᵢᵀβ̂)²`` (metafor ``rma.uni``, the ``fit.stats`` block):

* ML: ``ℓ = −(k/2) log 2π − ½ Σ log(vᵢ + τ²) − ½ RSS``; deviance ``−2(ℓ − ℓ_sat)`` with the saturated
  model's ``ℓ_sat = −½ Σ log(2π vᵢ)`` (0 when k ≤ p); ``BIC = −2ℓ + m log k``;
  ``AICc = −2ℓ + 2m·max(k, m + 2)/(max(k, m + 2) − m − 1)``.
* REML: ``ℓ_R = −((k − p)/2) log 2π + ½ log|XᵀX| − ½ Σ log(vᵢ + τ²) − ½ log|XᵀWX| − ½ RSS``
  (Harville 1977; the ``½ log|XᵀX|`` term, metafor's ``REMLf = TRUE``, makes ℓ_R invariant to a
  reparametrisation of X); deviance ``−2ℓ_R``; BIC and AICc with ``k − p`` in place of k.
* ``AIC = −2ℓ + 2m``; ``m`` = p, plus 1 for τ² unless the model is a common-effect (EE) one.

Every statistic is evaluated at the model's own τ̂², whatever its estimator (so a DL fit has an ML
log-likelihood, as in metafor).  The likelihood-ratio test compares the deviances of two nested models
fitted to the same data by ML (or EE), or by REML with the same fixed effects (Viechtbauer 2010, J Stat
Softw 36(3), section 3.7; Harville 1977, J Am Stat Assoc 72:320).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from ._validation import MetaacuInputError, check_choice, check_digits
from .report import Printable, format_p
from .results import check_refittable
from .scaling import rescale_one

if TYPE_CHECKING:
    from .regression_result import MetaRegression
    from .results import MetaAnalysis

__all__ = [
    "LIKELIHOODS",
    "FitStatistics",
    "LikelihoodRatioTest",
    "ModelData",
    "column_space_contains",
    "deviance_test",
    "fit_statistics",
    "likelihood_ratio_test",
    "log_likelihood",
    "model_data",
]

F64 = NDArray[np.float64]

#: ``likelihood=`` of :func:`fit_statistics`: the full or the restricted likelihood.
LIKELIHOODS: Final = ("ML", "REML")
_LOG_2PI: Final = math.log(2.0 * math.pi)


# --------------------------------------------------------------------------- the model's numbers
@dataclass(frozen=True)
class ModelData:
    """The numbers of a fitted univariate model, exactly rescaled by ``c = 2^exponent``
    (:mod:`metaacu.scaling`) so that every formula here runs in the range of double precision:
    ``y = yᵢ/c``, ``v = vᵢ/c²``, ``tau2 = τ̂²/c²``; ``x`` is the k × p model matrix."""

    y: F64
    v: F64
    x: F64
    tau2: float
    method: str
    exponent: int

    @property
    def k(self) -> int:
        return int(self.x.shape[0])

    @property
    def p(self) -> int:
        return int(self.x.shape[1])

    def to_variance_scale(self, value: float) -> float:
        """A τ²-like value on the data's own scale (times ``c²``)."""
        return float(np.ldexp(value, 2 * self.exponent)) if self.exponent else float(value)

    def from_variance_scale(self, value: float) -> float:
        """A τ²-like value of the data's scale on the rescaled one (divided by ``c²``)."""
        return float(np.ldexp(value, -2 * self.exponent)) if self.exponent else float(value)


def model_data(result: MetaAnalysis | MetaRegression) -> ModelData:
    """:class:`ModelData` of a :class:`~metaacu.MetaAnalysis` (model matrix: a column of ones) or a
    :class:`~metaacu.MetaRegression` (its ``design``); refused for a fit with user weights or a fixed τ²."""
    check_refittable(result, "fit_statistics(), tau2_se() or heterogeneity_confint()")
    y = np.asarray(result.yi, dtype=np.float64)
    v = np.asarray(result.vi, dtype=np.float64)
    design = getattr(result, "design", None)
    x = np.ones((y.size, 1)) if design is None else np.asarray(design, dtype=np.float64)
    e, ys, vs = rescale_one(y, v)
    tau2 = float(np.ldexp(result.tau2, -2 * e)) if e else float(result.tau2)
    return ModelData(ys, vs, x, tau2, result.method, e)


def _gls(y: F64, v: F64, x: F64, tau2: float) -> tuple[F64, F64, F64]:
    """``w``, ``XᵀWX`` and the residuals ``y − Xβ̂`` of the weighted least-squares fit at τ²."""
    w = 1.0 / (v + tau2)
    xtwx = x.T @ (w[:, None] * x)
    beta = np.linalg.solve(xtwx, x.T @ (w * y))
    return w, xtwx, y - x @ beta


def log_likelihood(y: F64, v: F64, x: F64, tau2: float, restricted: bool) -> float:
    """The full (ML) or restricted (REML) log-likelihood at ``tau2``, with every constant, as metafor's
    ``logLik`` (module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> y, v = np.array([0.1, 0.3, 0.35, 0.6]), np.array([0.02, 0.03, 0.01, 0.05])
    >>> round(log_likelihood(y, v, np.ones((4, 1)), 0.0, restricted=False), 6)  # = logLik(rma(y, v, method = "EE"))
    1.811447
    """
    k, p = int(x.shape[0]), int(x.shape[1])
    w, xtwx, r = _gls(y, v, x, tau2)
    ll = -0.5 * float(np.log(v + tau2).sum()) - 0.5 * float((w * r * r).sum())
    if not restricted:
        return ll - 0.5 * k * _LOG_2PI
    return (
        ll
        - 0.5 * (k - p) * _LOG_2PI
        + 0.5 * float(np.linalg.slogdet(x.T @ x)[1])
        - 0.5 * float(np.linalg.slogdet(xtwx)[1])
    )


def _log_likelihood_of(md: ModelData, tau2: float, restricted: bool) -> float:
    """:func:`log_likelihood` of the model's data at a τ² on the rescaled scale, returned on the data's
    own scale: rescaling by ``c`` shifts ℓ by ``−k log c`` (ML) or ``−(k − p) log c`` (REML)."""
    ll = log_likelihood(md.y, md.v, md.x, tau2, restricted)
    return ll - (md.k - (md.p if restricted else 0)) * md.exponent * math.log(2.0)


# --------------------------------------------------------------------------- fit statistics
@dataclass(frozen=True, repr=False)
class FitStatistics(Printable):
    """Fit statistics of a univariate model (metafor's ``fitstats``).

    Attributes
    ----------
    loglik, deviance, aic, bic, aicc : float
        Log-likelihood, deviance, AIC, BIC and AICc of the ``likelihood`` (formulas in
        :mod:`metaacu.fitstats`).
    likelihood : str
        ``"ML"`` or ``"REML"`` (restricted likelihood).
    parameters : int
        Parameters counted by the information criteria: p coefficients, plus τ² for a random-effects
        model.
    k, p : int
        Studies and coefficients (p = 1 for an intercept-only model).
    method : str
        The τ² estimator of the model; the statistics are evaluated at its τ̂².
    """

    loglik: float
    deviance: float
    aic: float
    bic: float
    aicc: float
    likelihood: str
    parameters: int
    k: int
    p: int
    method: str

    def to_frame(self) -> pd.DataFrame:
        """One row: ``likelihood, parameters, loglik, deviance, aic, bic, aicc``."""
        return pd.DataFrame(
            {
                "likelihood": [self.likelihood],
                "parameters": [self.parameters],
                "loglik": [self.loglik],
                "deviance": [self.deviance],
                "aic": [self.aic],
                "bic": [self.bic],
                "aicc": [self.aicc],
            }
        )

    def summary(self, digits: int = 4) -> str:
        """The statistics one per line, as metafor's ``fitstats`` prints them."""
        d = check_digits(digits)
        rows = [
            ("logLik", self.loglik),
            ("deviance", self.deviance),
            ("AIC", self.aic),
            ("BIC", self.bic),
            ("AICc", self.aicc),
        ]
        head = f"Fit statistics ({self.likelihood}; {self.parameters} parameters; k = {self.k}; tau^2 by {self.method})"
        return "\n".join([head, *(f"{name + ':':<10} {value:>12.{d}f}" for name, value in rows)])

    def __repr__(self) -> str:
        return (
            f"<FitStatistics {self.likelihood} logLik={self.loglik:.6g} deviance={self.deviance:.6g} "
            f"AIC={self.aic:.6g} BIC={self.bic:.6g} AICc={self.aicc:.6g}>"
        )


def _parameters(md: ModelData) -> int:
    return md.p + (0 if md.method == "EE" else 1)


def _statistics(md: ModelData, restricted: bool) -> FitStatistics:
    k, p = md.k, md.p
    m = _parameters(md)
    tau2 = 0.0 if md.method == "EE" else md.tau2
    ll = _log_likelihood_of(md, tau2, restricted)
    n = k - p if restricted else k  # the number of observations behind BIC and AICc
    if restricted:
        deviance = -2.0 * ll
    elif k > p:
        # the saturated model: ℓ_sat = Σ log φ(0; vᵢ) on the data's own scale
        saturated = -0.5 * float(np.log(md.v).sum()) - 0.5 * k * _LOG_2PI - k * md.exponent * math.log(2.0)
        deviance = -2.0 * (ll - saturated)
    else:
        deviance = 0.0
    with np.errstate(divide="ignore"):
        log_n = float(np.log(float(n)))
    big = max(n, m + 2)
    return FitStatistics(
        loglik=ll,
        deviance=deviance,
        aic=-2.0 * ll + 2.0 * m,
        bic=-2.0 * ll + m * log_n,
        aicc=-2.0 * ll + 2.0 * m * big / (big - m - 1),
        likelihood="REML" if restricted else "ML",
        parameters=m,
        k=k,
        p=p,
        method=md.method,
    )


def fit_statistics(result: MetaAnalysis | MetaRegression, likelihood: str | None = None) -> FitStatistics:
    """Log-likelihood, deviance, AIC, BIC and AICc of a fitted model (metafor's ``fitstats``).

    Parameters
    ----------
    result : MetaAnalysis or MetaRegression
    likelihood : {"ML", "REML"}, optional
        The full or the restricted likelihood.  Default: ``"REML"`` for a model fitted by REML, ``"ML"``
        for every other (as metafor's ``fitstats``, ``logLik``, ``AIC`` ...).

    Returns
    -------
    FitStatistics

    Examples
    --------
    >>> import metaacu
    >>> res = metaacu.meta_analysis([0.1, 0.3, 0.35, 0.6, 0.5], [0.02, 0.03, 0.01, 0.05, 0.02], method="ML")
    >>> round(res.fit_statistics().aic, 4)
    -0.1698
    """
    md = model_data(result)
    how = ("REML" if md.method == "REML" else "ML") if likelihood is None else likelihood
    return _statistics(md, check_choice(how, "likelihood", LIKELIHOODS) == "REML")


# --------------------------------------------------------------------------- likelihood-ratio tests
@dataclass(frozen=True, repr=False)
class LikelihoodRatioTest(Printable):
    """Likelihood-ratio test of a reduced model against the full model it is nested in (metafor's
    ``anova(full, reduced)``).

    Attributes
    ----------
    statistic : float
        ``deviance(reduced) − deviance(full)``, truncated at 0.
    df : int
        Difference in the number of parameters.
    pvalue : float
        ``P(χ²_df > statistic)``.  For a test of τ² = 0 (a random-effects full model against its
        common-effect reduction) the true null distribution is the 50:50 mixture of χ²₀ and χ²₁, so
        this p-value (metafor's) is conservative: halve it for the mixture.
    likelihood : str
        ``"ML"`` or ``"REML"``: REML when the full model was fitted by REML, ML otherwise.
    full, reduced : FitStatistics
        Fit statistics of both models under ``likelihood``.
    method_full, method_reduced : str
        Their τ² estimators (``"EE"``, ``"ML"`` or ``"REML"``).
    tau2_full, tau2_reduced : float
        Their τ² (0 for EE).
    qe_full, qe_reduced : float
        Their tests for (residual) heterogeneity.
    r2 : float
        Percent of the reduced model's (residual) τ² accounted for by the full model,
        ``100·max(0, (τ²_r − τ²_f)/τ²_r)`` (0 when τ²_r = 0); for two EE models the same with the
        residual variances ``QE/(k − p)`` of the weighted least-squares fits (as metafor).
    """

    statistic: float
    df: int
    pvalue: float
    likelihood: str
    full: FitStatistics
    reduced: FitStatistics
    method_full: str
    method_reduced: str
    tau2_full: float
    tau2_reduced: float
    qe_full: float
    qe_reduced: float
    r2: float

    def to_frame(self) -> pd.DataFrame:
        """Two rows (``model`` "full", "reduced"): ``parameters, aic, bic, aicc, loglik, statistic, pvalue,
        qe, tau2, r2``, the statistic, p-value and R² on the reduced row (metafor's layout)."""
        nan = math.nan
        return pd.DataFrame(
            {
                "model": ["full", "reduced"],
                "method": [self.method_full, self.method_reduced],
                "parameters": [self.full.parameters, self.reduced.parameters],
                "aic": [self.full.aic, self.reduced.aic],
                "bic": [self.full.bic, self.reduced.bic],
                "aicc": [self.full.aicc, self.reduced.aicc],
                "loglik": [self.full.loglik, self.reduced.loglik],
                "statistic": [nan, self.statistic],
                "pvalue": [nan, self.pvalue],
                "qe": [self.qe_full, self.qe_reduced],
                "tau2": [self.tau2_full, self.tau2_reduced],
                "r2": [nan, self.r2],
            }
        )

    def summary(self, digits: int = 4) -> str:
        """The comparison table and the test, in the spirit of metafor's ``print.anova.rma``."""
        d = check_digits(digits)
        head = f"{'':>8} {'df':>4} {'AIC':>10} {'BIC':>10} {'AICc':>10} {'logLik':>10} {'QE':>10} {'tau^2':>8}"
        lines = [f"Likelihood-ratio test ({self.likelihood})", "", head]
        for name, fs, qe, tau2 in (
            ("Full", self.full, self.qe_full, self.tau2_full),
            ("Reduced", self.reduced, self.qe_reduced, self.tau2_reduced),
        ):
            lines.append(
                f"{name:>8} {fs.parameters:>4} {fs.aic:>10.{d}f} {fs.bic:>10.{d}f} {fs.aicc:>10.{d}f} "
                f"{fs.loglik:>10.{d}f} {qe:>10.{d}f} {tau2:>8.{d}f}"
            )
        lines += ["", f"LRT = {self.statistic:.{d}f} on {self.df} df, {format_p(self.pvalue)}; R^2 = {self.r2:.2f}%"]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<LikelihoodRatioTest {self.likelihood} LRT={self.statistic:.6g} df={self.df} p={self.pvalue:.3g}>"


_LIKELIHOOD_METHODS: Final = ("EE", "ML", "REML")


def column_space_contains(big: F64, small: F64) -> bool:
    """Whether every column of ``small`` lies in the column space of ``big`` (a least-squares fit of
    ``small`` on ``big`` leaves residuals at rounding level)."""
    coef, *_ = np.linalg.lstsq(big, small, rcond=None)
    resid = small - big @ coef
    scale = max(float(np.abs(small).max()), 1.0)
    return bool(np.abs(resid).max() <= 1e-9 * scale)


def deviance_test(full: FitStatistics, reduced: FitStatistics) -> tuple[float, int, float]:
    """The likelihood-ratio test of ``reduced`` against ``full``: ``deviance(reduced) − deviance(full)``
    truncated at 0, the difference in parameters, and ``P(χ²_df > statistic)``."""
    statistic = max(0.0, reduced.deviance - full.deviance)
    df = full.parameters - reduced.parameters
    return statistic, df, float(special.chdtrc(df, statistic))


def _heterogeneity_q(result: MetaAnalysis | MetaRegression) -> float:
    """The test for (residual) heterogeneity: ``MetaRegression.qe`` or ``MetaAnalysis.q``."""
    from .regression_result import MetaRegression

    return float(result.qe) if isinstance(result, MetaRegression) else float(result.q)


def likelihood_ratio_test(
    full: MetaAnalysis | MetaRegression, reduced: MetaAnalysis | MetaRegression
) -> LikelihoodRatioTest:
    """Likelihood-ratio test between two nested models fitted to the same studies (metafor's
    ``anova(full, reduced)``).

    Parameters
    ----------
    full, reduced : MetaAnalysis or MetaRegression
        Two fits to the same ``yi`` and ``vi``; any mix of intercept-only models and
        meta-regressions.  Each must be fitted by ML, REML or as a common-effect model (``"EE"``).
        The model with more parameters is taken as the full one (as metafor), so the order does not
        matter.

    Returns
    -------
    LikelihoodRatioTest

    Raises
    ------
    MetaacuInputError
        When the models are fitted to different data; have the same number of parameters; are not
        nested (the reduced model's moderators must lie in the column space of the full model's; a
        common-effect full model cannot contain a random-effects reduced one); mix ML and REML; were
        fitted by another τ² estimator (a moment estimator has no likelihood to compare); or are REML
        fits with different fixed effects (restricted likelihoods of different model matrices are
        likelihoods of different data — refit both with ``method="ML"``; metafor only warns).

    Notes
    -----
    ``LRT = deviance(reduced) − deviance(full)`` (ML deviances, or REML deviances when the full model
    is a REML fit), compared with χ² on the difference in parameters; for a test of τ² = 0 see
    :attr:`LikelihoodRatioTest.pvalue`.

    Examples
    --------
    >>> import metaacu
    >>> y, v, x = [0.1, 0.3, 0.35, 0.6, 0.5, 0.2], [0.02, 0.03, 0.01, 0.05, 0.02, 0.04], [1, 2, 3, 4, 5, 2]
    >>> full = metaacu.meta_regression(y, v, x, method="ML")
    >>> reduced = metaacu.meta_analysis(y, v, method="ML")
    >>> lrt = metaacu.likelihood_ratio_test(full, reduced)
    >>> lrt.df, round(lrt.statistic, 4)
    (1, 5.2154)
    """
    for name, res in (("full", full), ("reduced", reduced)):
        if res.method not in _LIKELIHOOD_METHODS:
            raise MetaacuInputError(
                f"likelihood_ratio_test needs models fitted by ML or REML (or common-effect models, method='EE'); "
                f"the {name} model was fitted with method={res.method!r}, which has no likelihood to compare"
            )
    if not (np.array_equal(full.yi, reduced.yi) and np.array_equal(full.vi, reduced.vi)):
        raise MetaacuInputError("likelihood_ratio_test: the two models are not fitted to the same yi and vi")
    md_f, md_r = model_data(full), model_data(reduced)
    if _parameters(md_f) == _parameters(md_r):
        raise MetaacuInputError(
            f"likelihood_ratio_test: both models have {_parameters(md_f)} parameters; a likelihood-ratio test "
            "compares a model with a reduction of it that has fewer"
        )
    if _parameters(md_f) < _parameters(md_r):  # as metafor: the model with more parameters is the full one
        full, reduced, md_f, md_r = reduced, full, md_r, md_f
    if {md_f.method, md_r.method} == {"ML", "REML"}:
        raise MetaacuInputError(
            "likelihood_ratio_test: one model is fitted by ML and the other by REML; fit both with the same method"
        )
    if md_f.method == "EE" and md_r.method != "EE":
        raise MetaacuInputError(
            "likelihood_ratio_test: the model with more parameters is a common-effect (EE) model and the other a "
            "random-effects model; they are not nested"
        )
    if not column_space_contains(md_f.x, md_r.x):
        raise MetaacuInputError(
            "likelihood_ratio_test: the models are not nested: the reduced model's moderators are not contained "
            "in the full model's"
        )
    restricted = md_f.method == "REML"
    if restricted and not column_space_contains(md_r.x, md_f.x):
        raise MetaacuInputError(
            "likelihood_ratio_test: REML likelihoods of models with different fixed effects (moderators) cannot "
            "be compared; refit both models with method='ML'"
        )
    fs_f, fs_r = _statistics(md_f, restricted), _statistics(md_r, restricted)
    statistic, df, pvalue = deviance_test(fs_f, fs_r)
    tau2_f, tau2_r = float(full.tau2), float(reduced.tau2)
    qe_f, qe_r = _heterogeneity_q(full), _heterogeneity_q(reduced)
    if md_f.method == "EE":
        s2_f, s2_r = qe_f / (md_f.k - md_f.p), qe_r / (md_r.k - md_r.p)
        r2 = 100.0 * max(0.0, (s2_r - s2_f) / s2_r) if s2_r > 0 else math.nan
    else:
        r2 = 0.0 if tau2_r == 0 else 100.0 * max(0.0, (tau2_r - tau2_f) / tau2_r)
    return LikelihoodRatioTest(
        statistic=statistic,
        df=df,
        pvalue=pvalue,
        likelihood="REML" if restricted else "ML",
        full=fs_f,
        reduced=fs_r,
        method_full=md_f.method,
        method_reduced=md_r.method,
        tau2_full=tau2_f,
        tau2_reduced=tau2_r,
        qe_full=qe_f,
        qe_reduced=qe_r,
        r2=r2,
    )
