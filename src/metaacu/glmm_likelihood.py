"""Likelihoods of the exact-likelihood (generalised linear mixed) models of :mod:`metaacu.glmm`.

Each study i has a true log odds ratio (or log rate ratio) ``θᵢ = μ + τ zᵢ`` with ``zᵢ ~ N(0, 1)``
and a conditional log-likelihood ``ℓᵢ(θᵢ; αᵢ)`` of its counts (``αᵢ`` a fixed study effect, only
in the unconditional models).  The marginal likelihood ``Lᵢ = ∫ exp ℓᵢ(μ + τz) φ(z) dz`` is computed
by adaptive Gauss-Hermite quadrature (Liu & Pierce 1994; the scheme of lme4's ``glmer`` with
``nAGQ`` nodes, Bates et al. 2015, section 5.3): centred at the mode ``ẑ`` of
``h(z) = ℓᵢ(μ + τz) − z²/2`` and scaled by ``σ̂ = (−h''(ẑ))^{-1/2}``,

    Lᵢ ≈ σ̂ π^{-1/2} Σⱼ wⱼ exp(xⱼ²) exp h(ẑ + √2 σ̂ xⱼ)

with Gauss-Hermite nodes ``xⱼ`` and weights ``wⱼ``.  With ``τ = 0`` the rule is exact
(``Lᵢ = exp ℓᵢ(μ)``) and the log-likelihood is smooth and even in ``τ``, so ``τ`` is optimised over
the real line and reported as ``τ² ≥ 0``.

Families (``ℓᵢ`` includes the binomial coefficients / factorials, as R's ``logLik`` of ``glm``):

* ``"binomial_fs"`` (model UM.FS, OR): ``aᵢ ~ Bin(n₁ᵢ, expit(αᵢ + θᵢ/2))``,
  ``cᵢ ~ Bin(n₂ᵢ, expit(αᵢ − θᵢ/2))`` (metafor's ``coding = 1/2``);
* ``"poisson_fs"`` (UM.FS, IRR): ``x₁ᵢ ~ Poisson(t₁ᵢ e^{αᵢ + θᵢ/2})``, ``x₂ᵢ ~ Poisson(t₂ᵢ e^{αᵢ − θᵢ/2})``;
* ``"binomial_cond"`` (CM.AL for OR: the binomial approximation of Stijnen et al. 2010, eq. 9; CM.EL
  for IRR, where it is exact): ``aᵢ | aᵢ + cᵢ ~ Bin(aᵢ + cᵢ, expit(θᵢ + oᵢ))`` with offset
  ``oᵢ = log(n₁ᵢ/n₂ᵢ)`` (OR) or ``log(t₁ᵢ/t₂ᵢ)`` (IRR);
* ``"hypergeometric"`` (CM.EL, OR): ``aᵢ`` given the margins follows Fisher's noncentral
  hypergeometric distribution with odds ratio ``e^{θᵢ}`` (Stijnen et al. 2010, eq. 7; van
  Houwelingen et al. 1993).

References
----------
Stijnen T, Hamza TH, Özdemir P. Random effects meta-analysis of event outcome in the framework of the
generalized linear mixed model with applications in sparse data. Stat Med 2010;29:3046-3067.
Liu Q, Pierce DA. A note on Gauss-Hermite quadrature. Biometrika 1994;81:624-629.
Bates D, Mächler M, Bolker B, Walker S. Fitting linear mixed-effects models using lme4. J Stat Softw
2015;67(1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import special

__all__ = ["FAMILIES", "Family", "conditional_modes", "gauss_hermite", "log_marginal", "loglik_at_modes", "saturated"]

F64 = NDArray[np.float64]
#: The conditional likelihoods.
FAMILIES: Final = ("binomial_fs", "poisson_fs", "binomial_cond", "hypergeometric")
_HALF_LOG_PI: Final = 0.5 * math.log(math.pi)
_MODE_TOL: Final = 1e-11
_MODE_MAXIT: Final = 100


@cache
def gauss_hermite(n: int) -> tuple[F64, F64]:
    """Gauss-Hermite nodes and log weights for ``∫ e^{-x²} f(x) dx`` (``n`` nodes)."""
    x, w = np.polynomial.hermite.hermgauss(n)
    return x, np.log(w)


@dataclass(frozen=True)
class Family:
    """Counts of the k studies for one conditional likelihood (arrays of shape ``(k, 1)`` internally).

    ``y1, n1, y2, n2``: events and totals (``binomial_fs``, ``hypergeometric``), events and
    person-time (``poisson_fs``), or events ``a``, ``c`` and the offset in ``n1`` (``binomial_cond``).
    """

    name: str
    y1: F64
    n1: F64
    y2: F64
    n2: F64

    @property
    def has_alpha(self) -> bool:
        """Whether the model has a fixed effect per study (the unconditional models)."""
        return self.name in ("binomial_fs", "poisson_fs")

    @property
    def k(self) -> int:
        return int(self.y1.size)

    def constant(self) -> F64:
        """The part of ``ℓᵢ`` that depends on no parameter (binomial coefficients, factorials)."""
        a, n1, c, n2 = self.y1, self.n1, self.y2, self.n2
        if self.name == "binomial_fs":
            return _log_choose(n1, a) + _log_choose(n2, c)
        if self.name == "poisson_fs":
            return -special.gammaln(a + 1.0) - special.gammaln(c + 1.0) + a * np.log(n1) + c * np.log(n2)
        if self.name == "binomial_cond":
            return _log_choose(a + c, a)
        return _log_choose(n1, a) + _log_choose(n2, c)

    def terms(self, theta: F64, alpha: F64) -> tuple[F64, F64, F64]:
        """``ℓᵢ`` without :meth:`constant`, and its first two derivatives in ``θ``; ``theta`` of shape
        ``(k, m)``, ``alpha`` of shape ``(k, 1)`` (ignored by the conditional families)."""
        a, n1, c, n2 = (v[:, None] for v in (self.y1, self.n1, self.y2, self.n2))
        if self.name == "binomial_fs":
            e1, e2 = alpha + theta / 2.0, alpha - theta / 2.0
            p1, p2 = special.expit(e1), special.expit(e2)
            ll = a * e1 - n1 * np.logaddexp(0.0, e1) + c * e2 - n2 * np.logaddexp(0.0, e2)
            d1 = 0.5 * (a - n1 * p1) - 0.5 * (c - n2 * p2)
            d2 = -0.25 * (n1 * p1 * (1.0 - p1) + n2 * p2 * (1.0 - p2))
            return ll, d1, d2
        if self.name == "poisson_fs":
            e1, e2 = alpha + theta / 2.0, alpha - theta / 2.0
            m1, m2 = n1 * np.exp(e1), n2 * np.exp(e2)
            ll = a * e1 - m1 + c * e2 - m2
            return ll, 0.5 * (a - m1) - 0.5 * (c - m2), -0.25 * (m1 + m2)
        if self.name == "binomial_cond":
            eta = theta + n1
            p = special.expit(eta)
            ll = a * eta - (a + c) * np.logaddexp(0.0, eta)
            return ll, a - (a + c) * p, -(a + c) * p * (1.0 - p)
        return self._hypergeometric(theta)

    def _hypergeometric(self, theta: F64) -> tuple[F64, F64, F64]:
        u, logw = _support(self.y1.tobytes(), self.n1.tobytes(), self.y2.tobytes(), self.n2.tobytes())
        expo = logw[:, None, :] + u[:, None, :] * theta[:, :, None]  # (k, m, S)
        top = np.max(expo, axis=2, keepdims=True)
        prob = np.exp(expo - top)
        total = prob.sum(axis=2, keepdims=True)
        prob /= total
        lse = (np.log(total) + top)[:, :, 0]
        mean = np.sum(prob * u[:, None, :], axis=2)
        var = np.sum(prob * (u[:, None, :] - mean[:, :, None]) ** 2, axis=2)
        a = self.y1[:, None]  # ℓ = log C(n₁, a) + log C(n₂, c) + aθ − log Σᵤ wᵤ e^{uθ}
        return a * theta - lse, a - mean, -var


def _log_choose(n: F64, x: F64) -> F64:
    out: F64 = special.gammaln(n + 1.0) - special.gammaln(x + 1.0) - special.gammaln(n - x + 1.0)
    return out


@cache
def _support(a_b: bytes, n1_b: bytes, c_b: bytes, n2_b: bytes) -> tuple[F64, F64]:
    """Support ``u`` and log weights ``log C(n₁, u) + log C(n₂, t − u)`` of each study's noncentral
    hypergeometric distribution (``t = a + c`` events), padded with ``−inf`` weights."""
    a, n1, c, n2 = (np.frombuffer(b, dtype=np.float64) for b in (a_b, n1_b, c_b, n2_b))
    t = a + c
    lo, hi = np.maximum(0.0, t - n2), np.minimum(t, n1)
    size = int(np.max(hi - lo)) + 1
    u: F64 = lo[:, None] + np.arange(size, dtype=np.float64)[None, :]
    valid = u <= hi[:, None]
    u = np.where(valid, u, hi[:, None])
    with np.errstate(invalid="ignore"):
        logw: F64 = np.where(valid, _log_choose(n1[:, None], u) + _log_choose(n2[:, None], t[:, None] - u), -np.inf)
    return u, logw


def conditional_modes(family: Family, mu: float | F64, tau: float, alpha: F64) -> F64:
    """The mode ``ẑᵢ`` of ``h(z) = ℓᵢ(μ + τz) − z²/2`` for each study (shape ``(k, 1)``): Newton's
    method on a concave function, from 0, each step halved until ``h`` does not decrease (plain Newton
    can cycle where ``ℓᵢ`` flattens out, e.g. a zero cell with a large τ)."""
    al = alpha.reshape(family.k, 1)
    z = np.zeros((family.k, 1))
    ll, d1, d2 = family.terms(mu + tau * z, al)
    h = ll - 0.5 * z * z
    for _ in range(_MODE_MAXIT):
        step = (tau * d1 - z) / (tau * tau * d2 - 1.0)
        for _ in range(60):
            new = z - step
            ll_new, d1_new, d2_new = family.terms(mu + tau * new, al)
            h_new = ll_new - 0.5 * new * new
            worse = h_new < h - 1e-12 * (1.0 + np.abs(h))
            if not worse.any():
                break
            step = np.where(worse, step / 2.0, step)
        z, h, d1, d2 = new, h_new, d1_new, d2_new
        if np.max(np.abs(step)) <= _MODE_TOL:
            break
    return z


def loglik_at_modes(family: Family, mu: float | F64, tau: float, alpha: F64) -> float:
    """``Σᵢ ℓᵢ(μ + τẑᵢ)``: the conditional log-likelihood at the conditional modes, which is what
    metafor 3.8-1 reports as the log-likelihood of its lme4-based fits (``ll.QE − deviance/2``,
    lme4's deviance of a GLMM being the conditional deviance at the modes)."""
    z = conditional_modes(family, mu, tau, alpha)
    ll, _, _ = family.terms(mu + tau * z, alpha.reshape(family.k, 1))
    return float(np.sum(ll[:, 0] + family.constant()))


def log_marginal(family: Family, mu: float | F64, tau: float, alpha: F64, nodes: int) -> F64:
    """Each study's log marginal likelihood ``log Lᵢ`` by adaptive Gauss-Hermite quadrature with
    ``nodes`` nodes (the module docstring); ``alpha`` one fixed study effect per study (any values
    for the conditional families); ``mu`` the mean log ratio, or each study's own (an array of shape
    ``(k, 1)``: the linear predictor ``xᵢᵀβ`` of a meta-regression)."""
    k = family.k
    al = alpha.reshape(k, 1)
    z = conditional_modes(family, mu, tau, alpha)
    _, _, d2 = family.terms(mu + tau * z, al)
    sigma = 1.0 / np.sqrt(1.0 - tau * tau * d2)
    x, logw = gauss_hermite(nodes)
    zz = z + math.sqrt(2.0) * sigma * x[None, :]
    ll, _, _ = family.terms(mu + tau * zz, al)
    h = ll - 0.5 * zz * zz
    terms = logw[None, :] + x[None, :] ** 2 + h
    top = np.max(terms, axis=1)  # a log-sum-exp (scipy's costs more than the sum on these sizes)
    lse = top + np.log(np.sum(np.exp(terms - top[:, None]), axis=1))
    out: F64 = np.log(sigma[:, 0]) - _HALF_LOG_PI + lse
    return out + family.constant()


def saturated(family: Family) -> tuple[float, F64, F64]:
    """The saturated model (one effect per study): its log-likelihood, and each study's maximum
    likelihood log ratio and its inverse observed information (``inf`` where the estimate is on the
    boundary, i.e. a zero cell: weight 0 in the Wald-type test).

    UM.FS OR: each arm its own proportion (``yᵢ = log(ad/bc)``, ``vᵢ = 1/a + 1/b + 1/c + 1/d``);
    UM.FS IRR: each arm its own rate (``vᵢ = 1/x₁ + 1/x₂``); the conditional binomial:
    ``expit⁻¹(a/(a + c))`` (``vᵢ = 1/a + 1/c``); the hypergeometric: the conditional maximum
    likelihood estimate (Newton on ``a = E[U; θ]``), ``vᵢ = 1/Var(U; θ̂)``."""
    a, n1, c, n2 = family.y1, family.n1, family.y2, family.n2
    y: F64
    v: F64
    ll: F64
    with np.errstate(divide="ignore", invalid="ignore"):
        if family.name == "binomial_fs":
            b, d = n1 - a, n2 - c
            ll = _xlogy(a, a / n1) + _xlogy(b, b / n1) + _xlogy(c, c / n2) + _xlogy(d, d / n2)
            y = np.log(a) - np.log(b) - np.log(c) + np.log(d)
            v = 1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d
        elif family.name == "poisson_fs":
            ll = _xlogy(a, a / n1) - a + _xlogy(c, c / n2) - c  # fitted means a, c; constant adds a·log t
            y = np.log(a / n1) - np.log(c / n2)
            v = 1.0 / a + 1.0 / c
        elif family.name == "binomial_cond":
            t = a + c
            ll = _xlogy(a, a / t) + _xlogy(c, c / t)
            y = np.log(a) - np.log(c) - n1
            v = 1.0 / a + 1.0 / c
        else:
            y, v, ll = _conditional_mle(family)
    ll_total = float(np.sum(ll + family.constant()))
    finite = np.isfinite(y) & np.isfinite(v)
    return ll_total, np.where(finite, y, 0.0), np.where(finite, v, np.inf)


def _xlogy(x: F64, y: F64) -> F64:
    return np.asarray(special.xlogy(x, y), dtype=np.float64)


def _conditional_mle(family: Family) -> tuple[F64, F64, F64]:
    """Per-study conditional MLE of the log odds ratio (the hypergeometric likelihood), its variance and
    the maximised ``terms`` (0 on the boundary, where the likelihood tends to 1)."""
    a, n1, c, n2 = family.y1, family.n1, family.y2, family.n2
    t = a + c
    interior = (a > np.maximum(0.0, t - n2)) & (a < np.minimum(t, n1))
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = np.where(interior, np.log((a + 0.5) * (n2 - c + 0.5) / ((n1 - a + 0.5) * (c + 0.5))), 0.0)
    dummy = np.zeros((family.k, 1))
    for _ in range(200):
        _, d1, d2 = family.terms(theta[:, None], dummy)
        step = np.where(interior, d1[:, 0] / d2[:, 0], 0.0)
        step = np.clip(step, -2.0, 2.0)
        theta = theta - step
        if np.max(np.abs(step)) < 1e-14 * (1.0 + np.max(np.abs(theta))):
            break
    ll, _, d2 = family.terms(theta[:, None], dummy)
    # on the boundary the supremum of the conditional likelihood is 1 (terms = −constant)
    ll_i = np.where(interior, ll[:, 0], -family.constant())
    v = np.where(interior, -1.0 / d2[:, 0], np.inf)
    return np.where(interior, theta, np.nan), v, ll_i
