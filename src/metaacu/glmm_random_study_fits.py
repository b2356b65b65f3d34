"""The fits metafor's ``rma.glmm(model = "UM.RS")`` runs, for odds ratios and incidence-rate ratios, with
or without moderators, and the statistics it reports from them: the common-effect model (``(1 | study)``,
``method = "EE"``), the random-effects model (``(group12 || study)``, ``method = "ML"``), the saturated
model, the Wald-type and likelihood-ratio tests for (residual) heterogeneity and lme4's log-likelihood.

The likelihoods and maximisers are :mod:`metaacu.glmm_random_study`'s; :func:`metaacu.glmm.glmm_meta_analysis`
and :func:`metaacu.glmm_regression.glmm_meta_regression` turn :class:`RandomStudyFits` into their results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import linalg

from .glmm_fit import warn_not_converged
from .glmm_random_study import (
    RandomStudyFit,
    SaturatedFit,
    arm_saturated_loglik,
    fit_random_study,
    fit_saturated,
)

__all__ = ["RandomStudyFits", "random_study_fits", "saturated_wald"]

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class RandomStudyFits:
    """The UM.RS fits of :func:`random_study_fits`: ``common`` (τ = 0), ``fit`` (the model reported:
    ``common`` for ``method="EE"``), ``saturated``; the tests for (residual) heterogeneity ``qe_wald``
    and ``qe_lrt`` (χ² on k − p df), metafor's log-likelihood ``loglik_metafor`` (lme4's: relative to
    each arm's own proportion or rate for nodes > 1), metafor's parameter count ``parameters``,
    ``converged`` (all three fits) and ``notes`` for the result."""

    common: RandomStudyFit
    fit: RandomStudyFit
    saturated: SaturatedFit
    qe_wald: float
    qe_lrt: float
    loglik_metafor: float
    parameters: int
    converged: bool
    notes: tuple[str, ...]

    @property
    def beta_vcov(self) -> F64:
        """The covariance of the coefficients β of the model reported (inverse observed information)."""
        p = self.fit.beta.size
        out: F64 = self.fit.vcov[1 : 1 + p, 1 : 1 + p]
        return out


def random_study_fits(
    a: F64,
    s1: F64,
    c: F64,
    s2: F64,
    *,
    measure: str,
    method: str,
    nodes: int,
    max_iter: int,
    labels: tuple[str, ...],
    design: F64 | None = None,
    stacklevel: int = 2,
) -> RandomStudyFits:
    """Fit UM.RS as metafor 3.8-1 does with lme4 (``R/rma.glmm.r``): arms 1 and 2 of study i with
    ``a`` of ``s1`` and ``c`` of ``s2`` events (``measure="OR"``: binomial, logit link) or ``a`` and ``c``
    events in person-times ``s1``, ``s2`` (``measure="IRR"``: Poisson, offset ``log t``), arm 1's linear
    predictor ``γ + xᵢᵀβ + uᵢ + vᵢ/2`` with ``design`` X (default: the intercept alone; a centred and
    scaled X keeps the finite differences well conditioned, the caller maps β back).

    Parameters
    ----------
    a, s1, c, s2 : ndarray
        The informative studies' counts (double zeros already dropped).
    measure : {"OR", "IRR"}
    method : {"ML", "EE"}
        The random-effects model (τ by maximum likelihood) or the common-effect model (τ = 0).
    nodes : int
        1 for the Laplace approximation (metafor's forced ``nAGQ = 1`` for ``"ML"``), else adaptive
        Gauss-Hermite points per dimension.
    max_iter : int
        Newton iterations of each fit.
    labels : tuple of str
        The studies' labels, for the notes.
    design : ndarray, optional
        X, shape ``(k, p)``.
    stacklevel : int
        Of the warnings, counted from the caller of this function's caller.

    Returns
    -------
    RandomStudyFits

    Notes
    -----
    The heterogeneity tests compare the common-effect model with the saturated one (one log ratio per
    study, a random intercept per study; Stijnen, Hamza & Özdemir, Stat Med 2010;29:3046-67, section 3):
    the likelihood-ratio statistic, and the Wald statistic that the saturated θ lies in the column space
    of X (:func:`saturated_wald`).  Warns when a fit does not converge.

    Examples
    --------
    >>> import numpy as np
    >>> a, n1, c, n2 = (np.array(v, dtype=float) for v in ([4, 10, 2, 7], [100, 120, 90, 80], [9, 15, 6, 8],
    ...                                                     [100, 118, 95, 85]))
    >>> fits = random_study_fits(a, n1, c, n2, measure="OR", method="EE", nodes=7, max_iter=100,
    ...                          labels=("A", "B", "C", "D"))
    >>> fits.parameters, fits.fit.tau, fits.converged
    (3, 0.0, True)
    """
    poisson = measure == "IRR"
    x = np.ones((a.size, 1)) if design is None else np.asarray(design, dtype=np.float64)
    common = fit_random_study(a, s1, c, s2, nodes=nodes, max_iter=max_iter, design=x, poisson=poisson)
    notes: list[str] = []
    if method == "EE":
        fit = common
    else:
        fit = fit_random_study(a, s1, c, s2, start=common, nodes=nodes, max_iter=max_iter, design=x, poisson=poisson)
        if nodes > 1:
            notes.append(
                f"Random-effects fit by {nodes} x {nodes}-point adaptive Gauss-Hermite quadrature per study; "
                "metafor (glmer) can fit UM.RS only by the Laplace approximation (nodes=1, its forced nAGQ)."
            )
    sat = fit_saturated(a, s1, c, s2, start=common, nodes=nodes, max_iter=max_iter, poisson=poisson)
    converged = fit.converged and common.converged and sat.fit.converged
    if not converged:
        warn_not_converged("UM.RS", max_iter, max(fit.gradient, sat.fit.gradient), stacklevel=stacklevel + 1)
    if sat.information == "RX":
        diverging = ", ".join(lab for lab, f in zip(labels, sat.finite, strict=True) if not f)
        what = (
            "no events in group 1, so the saturated log rate ratio"
            if poisson
            else ("no events (or only events) in group 1, so the saturated log odds ratio")
        )
        notes.append(
            f"Wald-type test: {diverging}: {what} diverges and adds nothing; the others' information from "
            "lme4's RX, as metafor."
        )
    # lme4's log-likelihood with nAGQ > 1 is relative to each arm's own proportion (deviance residuals)
    shift = arm_saturated_loglik(a, s1, c, s2, poisson=poisson) if nodes > 1 else 0.0
    return RandomStudyFits(
        common=common,
        fit=fit,
        saturated=sat,
        qe_wald=saturated_wald(sat, x),
        qe_lrt=max(0.0, 2 * (sat.fit.loglik - common.loglik)),
        loglik_metafor=fit.loglik - shift,
        parameters=x.shape[1] + (3 if method == "ML" else 2),
        converged=converged,
        notes=tuple(notes),
    )


def saturated_wald(sat: SaturatedFit, design: F64) -> float:
    """The Wald-type test for (residual) heterogeneity: ``(Cθ̂)ᵀ(C V Cᵀ)⁻¹(Cθ̂)`` for the finite
    saturated estimates θ̂ with covariance V (``sat.theta_vcov``), the rows of C an orthonormal basis of
    the complement of the columns of their rows of ``design`` (with the intercept alone: the contrasts
    between the θ̂ᵢ).  metafor tests the non-aliased study-by-group coefficients of the saturated glmer
    fit with ``X.fit``, a reparametrisation of the same hypothesis (θ ∈ col X), so the same statistic;
    a diverging θ̂ᵢ is left out (the limit of its term).  0 when no contrast is left."""
    theta = sat.fit.beta[sat.finite]
    contrast = linalg.null_space(np.asarray(design, dtype=np.float64)[sat.finite].T).T
    if contrast.shape[0] == 0:
        return 0.0
    d = contrast @ theta
    try:
        q = float(d @ np.linalg.solve(contrast @ sat.theta_vcov @ contrast.T, d))
    except np.linalg.LinAlgError:
        return math.nan
    return max(0.0, q)
