"""The result of :func:`metaacu.glmm_meta_analysis` (:class:`GLMMResult`): the pooled effect with its
Wald test and interval, τ², the heterogeneity tests, fit statistics, and the text, tidy and HTML
displays."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import pandas as pd

from ._validation import check_choice, check_digits
from .measures import measure_info
from .report import Printable, format_p, on_scale, scale_label

__all__ = ["GLMMResult", "model_description"]

_MODELS: Final = {
    ("OR", "UM.FS"): "binomial-normal model with fixed study effects (UM.FS)",
    ("OR", "CM.EL"): "conditional hypergeometric-normal model, exact likelihood (CM.EL)",
    ("OR", "CM.AL"): "conditional binomial-normal model, approximate likelihood (CM.AL)",
    ("OR", "UM.RS"): "binomial-normal model with random study effects (UM.RS)",
    ("IRR", "UM.FS"): "Poisson-normal model with fixed study effects (UM.FS)",
    ("IRR", "UM.RS"): "Poisson-normal model with random study effects (UM.RS)",
    ("IRR", "CM.EL"): "conditional binomial-normal model, exact likelihood (CM.EL)",
}


def model_description(measure: str, model: str) -> str:
    """The model's name in words, e.g. "binomial-normal model with fixed study effects (UM.FS)"."""
    return _MODELS[(measure, model)]


@dataclass(frozen=True, repr=False)
class GLMMResult(Printable):
    """An exact-likelihood (generalised linear mixed model) meta-analysis.

    Attributes
    ----------
    measure : str
        ``"OR"`` or ``"IRR"``; the pooled effect is on the log scale.
    model, method : str
        metafor's model name (``"UM.FS"``, ``"CM.EL"``, ``"CM.AL"``, ``"UM.RS"``) and ``"ML"`` or ``"EE"``.
    nodes : int
        Adaptive Gauss-Hermite nodes per study (``nAGQ``; 1, the Laplace approximation, for the UM.RS
        random-effects fit and its common-effect and saturated fits).
    k : int
        Studies in the model; ``labels`` theirs, ``excluded`` those left out (no events in either
        arm, or all participants with events).
    estimate, se, statistic, pvalue, ci_low, ci_high : float
        Pooled log ratio, its standard error (observed information), Wald z, two-sided p and the
        Wald interval at ``level``.
    tau2, se_tau2 : float
        Between-study variance (ML; 0 for ``"EE"``) and its standard error (delta method; NaN at 0).
    i2, h2 : float
        I² (percent) and H² from τ² and the typical within-study variance (metafor's).
    qe_wald, qe_lrt, qe_df, qe_wald_pvalue, qe_lrt_pvalue : float, float, int, float, float
        Tests for heterogeneity: Wald-type and likelihood-ratio tests of the common-effect model
        against the saturated model, χ² on ``qe_df = k − 1``.
    loglik : float
        The maximised (marginal) log-likelihood, binomial coefficients and factorials included.
    loglik_common, loglik_saturated : float
        Log-likelihoods of the common-effect and the saturated model.
    loglik_metafor : float
        What metafor 3.8-1 prints as the log-likelihood of a random-effects fit made with lme4
        (UM.FS, CM.AL, CM.EL for IRR): the conditional log-likelihood at the conditional modes; equal
        to ``loglik`` otherwise.
    deviance, aic, bic, aicc : float
        ``−2(loglik − loglik_saturated)`` and the information criteria from ``loglik`` with
        ``parameters`` parameters (the fixed study effects counted) and ``observations`` data points
        (``2k`` for UM.FS, ``k`` for the conditional models), as metafor.
    iterations, converged : int, bool
        Newton iterations of the fit and whether it converged (a warning was issued if not).
    notes : tuple of str
    sigma2 : float
        UM.RS only (NaN otherwise): the variance of the random study intercepts (the studies' baseline
        log odds or log rates) of the fitted model, metafor's ``sigma2``.
    """

    measure: str
    model: str
    method: str
    nodes: int
    k: int
    labels: tuple[str, ...]
    excluded: tuple[str, ...]
    estimate: float
    se: float
    statistic: float
    pvalue: float
    ci_low: float
    ci_high: float
    level: float
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
    iterations: int
    converged: bool
    notes: tuple[str, ...] = ()
    sigma2: float = math.nan

    @property
    def tau(self) -> float:
        """τ, the square root of :attr:`tau2`."""
        return math.sqrt(self.tau2)

    def __repr__(self) -> str:
        return (
            f"GLMMResult(measure={self.measure!r}, model={self.model!r}, method={self.method!r}, k={self.k}, "
            f"estimate={self.estimate:.6g}, se={self.se:.6g}, tau2={self.tau2:.6g}, nodes={self.nodes})"
        )

    def to_frame(self, scale: str = "pooling") -> pd.DataFrame:
        """One tidy row: the pooled effect, τ², the heterogeneity tests and the fit statistics
        (``scale="response"``: estimate and interval back-transformed with ``exp``, no ``se``)."""
        scale = check_choice(scale, "scale", ("pooling", "response"))
        frame = pd.DataFrame(
            {
                "measure": [self.measure],
                "model": [self.model],
                "method": [self.method],
                "nodes": [self.nodes],
                "k": [self.k],
                "estimate": [self.estimate],
                "se": [self.se],
                "statistic": [self.statistic],
                "pvalue": [self.pvalue],
                "ci_low": [self.ci_low],
                "ci_high": [self.ci_high],
                "tau2": [self.tau2],
                "se_tau2": [self.se_tau2],
                "sigma2": [self.sigma2],
                "i2": [self.i2],
                "h2": [self.h2],
                "qe_wald": [self.qe_wald],
                "qe_wald_pvalue": [self.qe_wald_pvalue],
                "qe_lrt": [self.qe_lrt],
                "qe_lrt_pvalue": [self.qe_lrt_pvalue],
                "qe_df": [self.qe_df],
                "loglik": [self.loglik],
                "deviance": [self.deviance],
                "aic": [self.aic],
                "bic": [self.bic],
                "aicc": [self.aicc],
                "converged": [self.converged],
                "iterations": [self.iterations],
            }
        )
        return on_scale(frame, self.measure, scale, columns=("estimate", "ci_low", "ci_high"))

    def _table_caption(self) -> str:
        return scale_label(measure_info(self.measure))

    def summary(self, digits: int = 4) -> str:
        """metafor-like text: model, τ², heterogeneity tests, fit statistics, the pooled effect."""
        d = check_digits(digits)
        info = measure_info(self.measure)
        kind = "Random-effects" if self.method == "ML" else "Common-effect"
        lines = [
            f"{kind} {_MODELS[(self.measure, self.model)]}; k = {self.k}; "
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
        if not math.isnan(self.sigma2):
            lines.append(f"sigma^2 (random study intercepts) = {self.sigma2:.{d}f}")
        if self.method == "ML":
            se_t = "" if math.isnan(self.se_tau2) else f" (SE = {self.se_tau2:.{d}f})"
            lines.append(
                f"tau^2 = {self.tau2:.{d}f}{se_t}; tau = {self.tau:.{d}f}; I^2 = {self.i2:.2f}%; H^2 = {self.h2:.{d}f}"
            )
        lines += [
            "Tests for heterogeneity:",
            f"  Wald-type       chi^2({self.qe_df}) = {self.qe_wald:.{d}f}, {format_p(self.qe_wald_pvalue)}",
            f"  Likelihood-ratio chi^2({self.qe_df}) = {self.qe_lrt:.{d}f}, {format_p(self.qe_lrt_pvalue)}",
            f"log-likelihood = {self.loglik:.{d}f}; deviance = {self.deviance:.{d}f}; AIC = {self.aic:.{d}f}; "
            f"BIC = {self.bic:.{d}f}; AICc = {self.aicc:.{d}f}",
            f"{info.name}: {self.estimate:.{d}f} (SE {self.se:.{d}f}), {self.level:.0%} CI "
            f"[{self.ci_low:.{d}f}, {self.ci_high:.{d}f}]; z = {self.statistic:.{d}f}, {format_p(self.pvalue)}",
            f"{info.display_name}: {math.exp(self.estimate):.{d}f}, {self.level:.0%} CI "
            f"[{math.exp(self.ci_low):.{d}f}, {math.exp(self.ci_high):.{d}f}]",
        ]
        lines += list(self.notes)
        return "\n".join(lines)
