"""Inference on the between-study variance of a fitted univariate model: the standard error of τ̂²
(metafor's ``se.tau2`` for every estimator) and confidence intervals for τ², τ, I² and H²
(metafor's ``confint.rma.uni``): Q-profile, profile likelihood, Wald and generalised Q.

Standard errors (``P = W − WX(XᵀWX)⁻¹XᵀW`` with the weights named; ``t = τ̂²``; k studies, p
coefficients; metafor ``rma.uni``):

* ML: ``√(2/Σwᵢ²)``, ``wᵢ = 1/(vᵢ + t)``; REML: ``√(2/tr(PP))`` at t (the inverse expected
  information of the (restricted) likelihood; Viechtbauer 2005, J Educ Behav Stat 30:261, eqs. 13-14).
* DL: ``√(2(k − p) + 4t·tr P₀ + 2t²·tr(P₀P₀)) / tr P₀`` with ``W₀ = diag(1/vᵢ)``; HS: the same
  numerator over ``Σ 1/vᵢ``; HE: ``√(2 tr(P_ols V P_ols V) + 4t·tr(P_ols V) + 2t²(k − p)) / (k − p)``
  with the least-squares projection ``P_ols = I − X(XᵀX)⁻¹Xᵀ``, ``V = diag(vᵢ)``; SJ:
  ``τ₀²/(k − p)·√(2 tr(PVPV) + 4t·tr(PVP) + 2t²·tr(PP))`` with P at ``τ₀² = Σ(yᵢ − ȳ)²/k``.  These are
  the variances of the quadratic forms in y that define each moment estimator, evaluated at the
  truncated estimate (delta method; Raudenbush 2009, eq. 16.45 for DL).
* PM, EB: ``√(2k²/(k − p)) / Σwᵢ``, ``wᵢ = 1/(vᵢ + t)``.
* GENQ, GENQM (fits with user weights ``aᵢ``): DL's form with ``A = diag(aᵢ)`` for ``W₀``,
  ``√(2 tr(P_aVP_aV) + 4t tr(P_aVP_a) + 2t² tr(P_aP_a)) / tr P_a`` (:mod:`metaacu.tau2_genq`).

Intervals for τ² (``level`` = 1 − α):

* ``"qprofile"``: the generalised Q ``yᵀP(τ²)y`` against χ²_{k−p} quantiles (Viechtbauer 2007,
  Stat Med 26:37); any estimator.
* ``"profile_likelihood"``: ``{τ²: 2(ℓ(τ̂²) − ℓ(τ²)) ≤ χ²₁(level)}`` with ℓ the ML or REML
  log-likelihood, β profiled out (Hardy & Thompson 1996, Stat Med 15:619); ML and REML fits only.
  The bounds are the crossings nearest τ̂² on either side, found by stepping away from τ̂² and
  refined by Brent's method; the lower bound is 0 when the likelihood ratio at 0 is within the
  critical value.
* ``"wald"``: ``τ̂² ± z_{1−α/2}·SE``, the lower bound truncated at 0 (as metafor).
* ``"genq"``: the generalised Q with fixed weights ``aᵢ`` (Jackson 2013, Res Synth Methods 4:220;
  :func:`metaacu.heterogeneity.generalised_q_interval`); any estimator.

I² and H² intervals transform the τ² bounds with the model's typical within-study variance
``ṽ = (k − p)/tr P₀``: ``I² = 100 τ²/(ṽ + τ²)``, ``H² = τ²/ṽ + 1``; τ's are the square roots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

from ._validation import MetaacuInputError, as_float_array, check_choice, check_digits, check_level
from .fitstats import ModelData, log_likelihood, model_data
from .heterogeneity import generalised_q_interval, q_profile, q_profile_design
from .inference import critical_value
from .interval import Interval
from .report import Printable
from .scaling import rescale_one
from .tau2_genq import GENQ_METHODS, generalised_q_tau2_se

if TYPE_CHECKING:
    from .regression_result import MetaRegression
    from .results import MetaAnalysis

__all__ = ["CONFINT_KINDS", "HeterogeneityInterval", "heterogeneity_interval", "tau2_interval", "tau2_se"]

F64 = NDArray[np.float64]

#: ``kind=`` of the τ² intervals, with the label each :class:`~metaacu.Interval` carries.
CONFINT_KINDS: Final = {
    "qprofile": "Q-profile",
    "profile_likelihood": "profile likelihood",
    "wald": "Wald (normal)",
    "genq": "generalised Q",
}


def _require_tau2(md: ModelData, what: str) -> None:
    if md.method == "EE":
        raise MetaacuInputError(
            f"{what} needs a random-effects model (method other than 'EE'): a common-effect model has no tau2"
        )
    if md.k - md.p < 1:
        raise MetaacuInputError(f"{what} needs at least 2 studies; with k = 1 there is no information on tau2")


# --------------------------------------------------------------------------- standard error
def _projection(v: F64, x: F64, tau2: float) -> F64:
    w = 1.0 / (v + tau2)
    wx = w[:, None] * x
    p = np.diag(w) - wx @ np.linalg.solve(x.T @ wx, wx.T)
    return 0.5 * (p + p.T)


def _se_scaled(md: ModelData) -> float:
    """SE of τ̂² on the rescaled data (formulas in the module docstring)."""
    y, v, x, method = md.y, md.v, md.x, md.method
    k, p = md.k, md.p
    t = max(md.tau2, 0.0)
    if method == "ML":
        w = 1.0 / (v + t)
        return math.sqrt(2.0 / float((w * w).sum()))
    if method == "REML":
        pm = _projection(v, x, t)
        return math.sqrt(2.0 / float((pm * pm).sum()))
    if method in ("PM", "EB", "PMM", "DLIT", "SJIT"):  # DLIT: metafor >= 4.5-7 (3.8-1: the DL formula)
        w = 1.0 / (v + t)
        return math.sqrt(2.0 * k * k / (k - p)) / float(w.sum())
    if method in ("DL", "HS", "HSk"):
        p0 = _projection(v, x, 0.0)
        tr = float(np.trace(p0))
        num = math.sqrt(2.0 * (k - p) + 4.0 * t * tr + 2.0 * t * t * float((p0 * p0).sum()))
        return num / (tr if method == "DL" else float((1.0 / v).sum())) * (k / (k - p) if method == "HSk" else 1.0)
    if method == "HE":
        pols = np.eye(k) - x @ np.linalg.solve(x.T @ x, x.T)
        pv = pols * v[None, :]
        return math.sqrt(2.0 * float((pv * pv.T).sum()) + 4.0 * t * float(np.trace(pv)) + 2.0 * t * t * (k - p)) / (
            k - p
        )
    if method == "SJ":
        tau0 = float(np.mean((y - y.mean()) ** 2))
        pm = _projection(v, x, tau0)
        pv = pm * v[None, :]
        inner = 2.0 * float((pv * pv.T).sum()) + 4.0 * t * float((pv * pm).sum()) + 2.0 * t * t * float((pm * pm).sum())
        return tau0 / (k - p) * math.sqrt(inner)
    raise MetaacuInputError(f"no standard error of tau2 for method={method!r}")  # pragma: no cover - every method


def tau2_se(result: MetaAnalysis | MetaRegression) -> float:
    """Standard error of τ̂² by the formula of the model's estimator (metafor's ``se.tau2``; module
    docstring).

    Examples
    --------
    >>> import metaacu
    >>> res = metaacu.meta_analysis([0.1, 0.3, 0.35, 0.6, 0.5, -0.2], [0.02, 0.03, 0.01, 0.05, 0.02, 0.04])
    >>> round(tau2_se(res), 6)  # metafor: rma(yi, vi)$se.tau2 = 0.03959619
    0.039596
    """
    weights = getattr(result, "user_weights", None)
    if result.method in GENQ_METHODS and weights is not None:  # τ² came from these weights: their formula
        y, v = np.asarray(result.yi, dtype=np.float64), np.asarray(result.vi, dtype=np.float64)
        design = getattr(result, "design", None)
        x = np.ones((y.size, 1)) if design is None else np.asarray(design, dtype=np.float64)
        if y.size <= x.shape[1]:
            raise MetaacuInputError(
                "the standard error of tau2 needs at least 2 studies; with k = 1 there is no information on tau2"
            )
        e, ys, vs = rescale_one(y, v)
        a = np.asarray(weights, dtype=np.float64)
        se = generalised_q_tau2_se(ys, vs, x, a, float(np.ldexp(result.tau2, -2 * e)))
        return float(np.ldexp(se, 2 * e))
    md = model_data(result)
    _require_tau2(md, "the standard error of tau2")
    return md.to_variance_scale(_se_scaled(md))


# --------------------------------------------------------------------------- intervals
def _profile_bounds(md: ModelData, level: float) -> tuple[float, float]:
    """Profile-likelihood bounds on the rescaled data (module docstring)."""
    restricted = md.method == "REML"
    crit = float(special.chdtri(1.0, 1.0 - level))
    hat = md.tau2
    ll_hat = log_likelihood(md.y, md.v, md.x, hat, restricted)

    def excess(t: float) -> float:  # > 0 outside the interval
        return 2.0 * (ll_hat - log_likelihood(md.y, md.v, md.x, t, restricted)) - crit

    scale = float(np.var(md.y)) + float(md.v.mean())  # the data's spread, as tau2.SCAN_GRID uses
    eps = 4.0 * np.finfo(float).eps

    def crossing(inside: float, outside: float) -> float:
        return float(optimize.brentq(excess, inside, outside, xtol=1e-15 * scale, rtol=eps, maxiter=500))

    # lower: step down from τ̂² by scale·2^j (j = −30, −29, ...) to 0
    lower = 0.0
    prev = hat
    for j in range(-30, 200):
        t = max(0.0, hat - scale * 2.0**j)
        if excess(t) > 0:
            lower = crossing(t, prev)
            break
        if t == 0.0:
            break
        prev = t
    # upper: step up from τ̂² by scale·2^j until the likelihood ratio exceeds the critical value
    prev = hat
    for j in range(-30, 2000):
        t = hat + scale * 2.0**j
        if excess(t) > 0:
            return lower, crossing(prev, t)
        prev = t
    raise MetaacuInputError("the profile-likelihood upper bound for tau2 was not found")  # pragma: no cover


def _tau2_bounds(
    result: MetaAnalysis | MetaRegression, md: ModelData, level: float, kind: str, weights: F64 | None
) -> tuple[float, float]:
    """The τ² interval on the data's own scale."""
    if kind == "qprofile":
        if getattr(result, "design", None) is None:  # intercept-only: the row-wise path of tau2_confint()
            lo, hi = q_profile(
                np.asarray(result.yi, dtype=np.float64)[None, :],
                np.asarray(result.vi, dtype=np.float64)[None, :],
                np.array([float(md.k)]),
                level,
            )
            return float(lo[0]), float(hi[0])
        lo_s, hi_s = q_profile_design(md.y, md.v, md.x, level)
    elif kind == "profile_likelihood":
        if md.method not in ("ML", "REML"):
            raise MetaacuInputError(
                f"a profile-likelihood interval for tau2 needs a model fitted by ML or REML; this one used "
                f"method={md.method!r} (use kind='qprofile' or 'genq', or refit with method='REML')"
            )
        lo_s, hi_s = _profile_bounds(md, level)
    elif kind == "wald":
        half = float(critical_value(level)) * _se_scaled(md)
        lo_s, hi_s = max(0.0, md.tau2 - half), md.tau2 + half
    else:  # genq
        assert weights is not None
        lo_s, hi_s = generalised_q_interval(md.y, md.v, md.x, weights, level)
    return md.to_variance_scale(lo_s), md.to_variance_scale(hi_s)


@dataclass(frozen=True, repr=False)
class HeterogeneityInterval(Printable):
    """Estimates and confidence intervals of τ², τ, I² and H² (metafor's ``confint(res)``, random part).

    Attributes
    ----------
    tau2, tau2_se : float
        τ̂² and its standard error (formula of the model's estimator).
    i2, h2 : float
        The model's τ²-based (residual) I² (percent) and H².
    tau2_interval, tau_interval, i2_interval, h2_interval : Interval
        The intervals at ``level``: τ²'s by ``kind``, the others transformed from it.
    typical_variance : float
        ``ṽ = (k − p)/tr P₀``, the within-study variance behind I² and H².
    kind : str
        ``"qprofile"``, ``"profile_likelihood"``, ``"wald"`` or ``"genq"``.
    level : float
    method : str
        The model's τ² estimator.
    notes : tuple of str
        E.g. that the interval is the single point 0.
    """

    tau2: float
    tau2_se: float
    i2: float
    h2: float
    tau2_interval: Interval
    tau_interval: Interval
    i2_interval: Interval
    h2_interval: Interval
    typical_variance: float
    kind: str
    level: float
    method: str
    notes: tuple[str, ...] = ()

    @property
    def tau(self) -> float:
        """``√τ̂²``."""
        return math.sqrt(self.tau2)

    def to_frame(self) -> pd.DataFrame:
        """Rows ``tau2, tau, i2, h2``; columns ``quantity, estimate, ci_low, ci_high`` (``level`` and
        ``kind`` in ``attrs``)."""
        rows = (
            ("tau2", self.tau2, self.tau2_interval),
            ("tau", self.tau, self.tau_interval),
            ("i2", self.i2, self.i2_interval),
            ("h2", self.h2, self.h2_interval),
        )
        out = pd.DataFrame(
            {
                "quantity": [r[0] for r in rows],
                "estimate": [r[1] for r in rows],
                "ci_low": [float(r[2].low) for r in rows],
                "ci_high": [float(r[2].high) for r in rows],
            }
        )
        out.attrs.update({"level": self.level, "kind": self.kind, "interval": CONFINT_KINDS[self.kind]})
        return out

    def summary(self, digits: int = 4) -> str:
        """The table of metafor's ``print.confint.rma``, with the interval's kind and level."""
        d = check_digits(digits)
        frame = self.to_frame()
        names = {"tau2": "tau^2", "tau": "tau", "i2": "I^2(%)", "h2": "H^2"}
        lines = [
            f"{CONFINT_KINDS[self.kind]} {100 * self.level:g}% confidence intervals (tau^2 estimator: {self.method}; "
            f"SE of tau^2 = {self.tau2_se:.{d}f})",
            "",
            f"{'':<8} {'estimate':>10} {'ci_low':>10} {'ci_high':>10}",
        ]
        for r in frame.itertuples(index=False):
            lines.append(f"{names[str(r.quantity)]:<8} {r.estimate:>10.{d}f} {r.ci_low:>10.{d}f} {r.ci_high:>10.{d}f}")
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        t = self.tau2_interval
        return (
            f"<HeterogeneityInterval {self.kind} tau2={self.tau2:.4g} [{float(t.low):.4g}, {float(t.high):.4g}] "
            f"I2={self.i2:.1f}% [{float(self.i2_interval.low):.1f}, {float(self.i2_interval.high):.1f}]>"
        )


def _genq_weights(weights: ArrayLike | None, k: int) -> F64:
    if weights is None:
        raise MetaacuInputError(
            "kind='genq' needs the weights of the generalised Q: argument 'weights' (one per study)"
        )
    a = as_float_array(weights, "weights", positive=True)
    if a.size != k:
        raise MetaacuInputError(f"argument 'weights' has {a.size} values for {k} studies")
    return a


def heterogeneity_interval(
    result: MetaAnalysis | MetaRegression,
    level: float | None = None,
    kind: str = "qprofile",
    weights: ArrayLike | None = None,
) -> HeterogeneityInterval:
    """Confidence intervals for τ², τ, I² and H² of a random-effects model or meta-regression.

    The one implementation behind ``MetaAnalysis.heterogeneity_confint`` and
    ``MetaRegression.heterogeneity_confint`` (their docstrings have the parameters).

    Examples
    --------
    >>> import metaacu
    >>> res = metaacu.meta_analysis([0.1, 0.3, 0.35, 0.6, 0.5, -0.2], [0.02, 0.03, 0.01, 0.05, 0.02, 0.04])
    >>> h = heterogeneity_interval(res, kind="profile_likelihood")
    >>> round(h.tau2_interval.low, 4), round(h.tau2_interval.high, 4)  # metafor confint(type = "PL")
    (0.0, 0.3127)
    >>> round(h.i2_interval.high, 2)
    93.13
    """
    md = model_data(result)
    _require_tau2(md, "a confidence interval for tau2")
    lv = result.level if level is None else check_level(level)
    how = check_choice(kind, "kind", CONFINT_KINDS)
    a = _genq_weights(weights, md.k) if how == "genq" else None
    if how != "genq" and weights is not None:
        raise MetaacuInputError("argument 'weights' is used only with kind='genq'")
    lo, hi = _tau2_bounds(result, md, lv, how, a)
    # ṽ = (k − p)/tr P₀, on the data's own scale
    vt = md.to_variance_scale((md.k - md.p) / float(np.trace(_projection(md.v, md.x, 0.0))))
    label = CONFINT_KINDS[how]

    def i2(t: float) -> float:
        return 100.0 * t / (vt + t)

    def h2(t: float) -> float:
        return t / vt + 1.0

    notes = []
    if hi == 0.0:
        notes.append("both bounds are 0: the data are less heterogeneous than expected even at tau2 = 0")
    return HeterogeneityInterval(
        tau2=float(result.tau2),
        tau2_se=md.to_variance_scale(_se_scaled(md)),
        i2=float(result.i2),
        h2=float(result.h2),
        tau2_interval=Interval(lo, hi, lv, label),
        tau_interval=Interval(math.sqrt(lo), math.sqrt(hi), lv, label),
        i2_interval=Interval(i2(lo), i2(hi), lv, label),
        h2_interval=Interval(h2(lo), h2(hi), lv, label),
        typical_variance=vt,
        kind=how,
        level=lv,
        method=md.method,
        notes=tuple(notes),
    )


def tau2_interval(result: Any, level: float | None, kind: str, weights: ArrayLike | None) -> Interval:
    """The τ² interval alone of :func:`heterogeneity_interval`."""
    return heterogeneity_interval(result, level, kind, weights).tau2_interval
