"""The generalised-Q estimators of τ² with user weights for any model matrix, and the coefficients with
user weights (metafor's ``rma.uni(..., weights = a)`` with ``method = "GENQ"`` / ``"GENQM"``).

With weights ``aᵢ > 0``, ``A = diag(aᵢ)``, a k × p model matrix ``X`` and ``V = diag(vᵢ)``:

* ``P_a = A − AX(XᵀAX)⁻¹XᵀA`` and the generalised Q ``Q_a = yᵀP_a y`` (the A-weighted residual sum of
  squares), whose expectation is ``tr(P_a V) + τ² tr P_a`` (DerSimonian & Kacker 2007, eq. 8;
  Jackson 2013, eq. 4).
* ``"GENQ"``: the method-of-moments estimate ``(Q_a − tr(P_a V)) / tr P_a``, truncated at 0.
* ``"GENQM"``: the median-unbiased estimate, the τ² at which ``Q_a`` is the median of its distribution
  ``Σⱼ λⱼ(τ²) χ²₁`` (Jackson 2013; metafor ``method = "GENQM"``), truncated at 0
  (:func:`metaacu.heterogeneity.generalised_q_median`, which shares the distribution of the
  generalised-Q interval).
* The SE of τ̂² (both estimators, metafor's ``se.tau2``): the variance of ``Q_a`` under the model,
  ``2 tr(P_aVP_aV) + 4τ² tr(P_aVP_a) + 2τ⁴ tr(P_aP_a)``, square-rooted and divided by ``tr P_a``, at the
  truncated estimate (the delta method of the DL case, Raudenbush 2009 eq. 16.45, with ``A`` for ``W₀``).
* Coefficients with user weights (any τ² estimator): ``β̂ = (XᵀAX)⁻¹XᵀAy`` with the sandwich covariance
  ``(XᵀAX)⁻¹XᵀA(V + τ²I)AX(XᵀAX)⁻¹`` (metafor's ``vb`` with ``weights``; with ``aᵢ = 1/(vᵢ + τ²)`` it is
  the inverse-variance ``(XᵀWX)⁻¹``).

With ``aᵢ = 1/vᵢ`` GENQ is DL, with equal weights HE (their ``P_a`` are DL's ``P₀`` and HE's
least-squares projection up to a factor that cancels).

References
----------
DerSimonian R, Kacker R. Random-effects model for meta-analysis of clinical trials: an update.
Contemp Clin Trials 2007;28:105-114.
Jackson D. Confidence intervals for the between-study variance in random effects meta-analysis using
generalised Cochran heterogeneity statistics. Res Synth Methods 2013;4:220-229.
Raudenbush SW. Analyzing effect sizes: random-effects models. In: Cooper H, Hedges LV, Valentine JC
(eds). The Handbook of Research Synthesis and Meta-Analysis, 2nd ed. Russell Sage; 2009:295-315.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import NDArray

from ._validation import MetaacuInputError
from .heterogeneity import generalised_q_median

__all__ = ["GENQ_METHODS", "generalised_q_tau2", "generalised_q_tau2_se", "user_weighted_coefficients"]

F64 = NDArray[np.float64]

#: The τ² estimators of this module (both need user weights).
GENQ_METHODS: Final = ("GENQ", "GENQM")


def _projection(x: F64, a: F64) -> F64:
    """``P_a = A − AX(XᵀAX)⁻¹XᵀA``, symmetrised."""
    ax = a[:, None] * x
    pa = np.diag(a) - ax @ np.linalg.solve(x.T @ ax, ax.T)
    return 0.5 * (pa + pa.T)


def generalised_q_tau2(y: F64, v: F64, x: F64, weights: F64, method: str) -> float:
    """τ̂² of ``method`` ``"GENQ"`` (moments) or ``"GENQM"`` (median-unbiased) with weights ``aᵢ``, for the
    model matrix ``x`` (k × p, full rank), truncated at 0 (module docstring); 0 when k ≤ p.

    Examples
    --------
    >>> import numpy as np
    >>> y, v = np.array([0.1, 0.3, 0.35, 0.6, 0.5, -0.2]), np.array([0.02, 0.03, 0.01, 0.05, 0.02, 0.04])
    >>> x = np.ones((6, 1))
    >>> round(generalised_q_tau2(y, v, x, 1.0 / v, "GENQ"), 6)  # = DL: rma(y, v, method = "DL")$tau2
    0.03364
    """
    if method not in GENQ_METHODS:
        raise MetaacuInputError(f"method={method!r} is not a generalised-Q estimator ({', '.join(GENQ_METHODS)})")
    a = np.asarray(weights, dtype=np.float64)
    if x.shape[0] <= x.shape[1]:  # no residual degrees of freedom (k = 1 intercept-only): no information
        return 0.0
    if method == "GENQM":
        return max(0.0, generalised_q_median(y, v, x, a))
    pa = _projection(x, a)
    raw = (float(y @ pa @ y) - float(np.sum(np.diag(pa) * v))) / float(np.trace(pa))
    return max(0.0, raw) if math.isfinite(raw) else 0.0


def generalised_q_tau2_se(y: F64, v: F64, x: F64, weights: F64, tau2: float) -> float:
    """SE of a generalised-Q τ̂² (GENQ or GENQM; metafor's ``se.tau2``):
    ``√(2 tr(P_aVP_aV) + 4t tr(P_aVP_a) + 2t² tr(P_aP_a)) / tr P_a`` at ``t = max(τ̂², 0)``.

    Examples
    --------
    >>> import numpy as np
    >>> y, v = np.array([0.1, 0.3, 0.35, 0.6, 0.5, -0.2]), np.array([0.02, 0.03, 0.01, 0.05, 0.02, 0.04])
    >>> round(generalised_q_tau2_se(y, v, np.ones((6, 1)), 1.0 / v, 0.0336395), 5)  # DL's SE
    0.03725
    """
    pa = _projection(x, np.asarray(weights, dtype=np.float64))
    pv = pa * v[None, :]  # P_a V
    t = max(tau2, 0.0)
    var = 2.0 * float((pv * pv.T).sum()) + 4.0 * t * float((pv * pa).sum()) + 2.0 * t * t * float((pa * pa).sum())
    return math.sqrt(var) / float(np.trace(pa))


def user_weighted_coefficients(y: F64, v: F64, x: F64, weights: F64, tau2: float) -> tuple[F64, F64]:
    """``β̂ = (XᵀAX)⁻¹XᵀAy`` and its sandwich covariance ``(XᵀAX)⁻¹XᵀA(V + τ²I)AX(XᵀAX)⁻¹`` (metafor's
    ``rma.uni(weights=)``; module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> y, v = np.array([0.1, 0.3, 0.35, 0.6]), np.array([0.02, 0.03, 0.01, 0.05])
    >>> b, vb = user_weighted_coefficients(y, v, np.ones((4, 1)), np.ones(4), 0.0)
    >>> round(float(b[0]), 4), round(float(vb[0, 0]), 6)  # the plain mean, Σvᵢ/k²
    (0.3375, 0.006875)
    """
    a = np.asarray(weights, dtype=np.float64)
    ax = a[:, None] * x
    bread = np.linalg.inv(x.T @ ax)
    bread = 0.5 * (bread + bread.T)
    b = bread @ (ax.T @ y)
    meat = ax.T @ ((v + tau2)[:, None] * ax)
    vb = bread @ meat @ bread
    return b, 0.5 * (vb + vb.T)
