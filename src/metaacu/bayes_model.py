"""The normal-normal hierarchical model of :mod:`metaacu.bayes`: its likelihood with μ integrated
out, the tails of its τ posterior, and building it from data and priors.

Model (Röver 2020, J Stat Softw 93(6), Sec. 2): ``yᵢ | θᵢ ~ N(θᵢ, vᵢ)``, ``θᵢ | μ, τ ~ N(μ, τ²)``,
independent priors ``p(μ)`` (flat or normal) and ``p(τ)`` (:mod:`metaacu.bayes_priors`).  μ is
integrated out analytically: with ``wᵢ(τ) = 1/(vᵢ + τ²)`` (and the normal prior as one more
"study" ``(μ_p, σ_p²)``), ``W = Σwᵢ``, ``μ̂(τ) = Σwᵢyᵢ/W`` and ``Q(τ) = Σwᵢ(yᵢ − μ̂)²``,

    log p(y | τ) = −(n − 1)/2·log 2π + ½Σ log wᵢ − ½ log W − ½Q        (Röver 2020, eqs. 13 and 15)

with ``n`` the number of terms (k, or k + 1 with a normal μ prior), and ``μ | τ, y ~ N(μ̂(τ), 1/W)``
(eqs. 12 and 14); the marginal posterior is ``p(τ | y) ∝ p(τ)·p(y | τ)`` (eq. 16), integrated in
``u = log τ``.

Far out, ``p(τ | y) ~ τ^-alpha (log τ)^-beta``: the prior's tail times ``p(y | τ) ~ τ^-(k-1)`` (flat
μ) or ``τ^-k`` (normal μ).  This decides whether the posterior is proper (a flat μ prior with the
improper Jeffreys prior needs k ≥ 2, with ``Uniform(inf)`` k ≥ 3; one fewer with a normal μ prior)
and which posterior moments of τ exist.

A :class:`Model` holds ``m`` meta-analyses (rows) with common priors, for single and batch fits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from ._validation import MetaacuInputError
from .bayes_prior_families import MuPrior, TauPrior

__all__ = [
    "LOG_2PI",
    "Model",
    "build_model",
    "check_priors",
    "improper_message",
    "min_k",
    "moment_exists",
    "tail_exponents",
]

F64 = NDArray[np.float64]
LOG_2PI: Final = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class Model:
    """``m`` meta-analyses (rows) with common priors; data centred at ``center`` (the posterior of μ is
    shift-equivariant, so μ quantities are computed centred and shifted back)."""

    y: F64  # (m, k) centred, 0 for padding
    v: F64  # (m, k), inf for padding
    kk: F64  # (m,)
    center: F64  # (m,)
    tau_prior: TauPrior
    mu_prior: MuPrior
    m0: F64  # (m,) centred prior mean (0 when flat)

    @property
    def w0(self) -> float:
        return 0.0 if self.mu_prior.sd is None else 1.0 / self.mu_prior.sd**2

    def conditional(self, tau: F64) -> tuple[F64, F64, F64]:
        """``(log p(y | τ), μ̂(τ), 1/W(τ))`` for ``tau`` of shape ``(m, n)``."""
        t2 = (tau * tau)[:, :, None]
        d = self.v[:, None, :] + t2
        w = 1.0 / d
        w0 = self.w0
        sw = w.sum(axis=2) + w0
        mean = ((w * self.y[:, None, :]).sum(axis=2) + w0 * self.m0[:, None]) / sw
        r = self.y[:, None, :] - mean[:, :, None]
        q = (w * r * r).sum(axis=2) + w0 * (self.m0[:, None] - mean) ** 2
        with np.errstate(divide="ignore"):
            logd = np.where(np.isfinite(d), np.log(d), 0.0).sum(axis=2)
        nterms = self.kk + (1.0 if w0 else 0.0)
        ll = -0.5 * (nterms[:, None] - 1.0) * LOG_2PI - 0.5 * logd - 0.5 * np.log(sw) - 0.5 * q
        if w0:
            ll = ll + 0.5 * math.log(w0)
        return ll, mean, 1.0 / sw

    def dloglik_dt(self, tau: F64) -> F64:
        """d log p(y | τ) / d(τ²): Röver 2020 eq. 13 (15) differentiated (μ̂ drops out: ∂Q/∂μ̂ = 0)."""
        t2 = (tau * tau)[:, :, None]
        w = 1.0 / (self.v[:, None, :] + t2)
        sw = w.sum(axis=2) + self.w0
        mean = ((w * self.y[:, None, :]).sum(axis=2) + self.w0 * self.m0[:, None]) / sw
        r = self.y[:, None, :] - mean[:, :, None]
        w2 = w * w
        return np.asarray(-0.5 * w.sum(axis=2) + 0.5 * w2.sum(axis=2) / sw + 0.5 * (w2 * r * r).sum(axis=2))

    def logprior(self, tau: F64) -> F64:
        """log p(τ) for ``tau`` of shape ``(m, n)`` (the Jeffreys prior reads each row's vᵢ)."""
        return self.tau_prior.logpdf(tau, self.v)

    def logpost_u(self, u: F64) -> tuple[F64, F64, F64]:
        """Unnormalised log posterior density of ``u = log τ`` with μ̂(τ) and 1/W(τ)."""
        tau = np.exp(u)
        ll, mean, var = self.conditional(tau)
        with np.errstate(invalid="ignore"):
            g = self.logprior(tau) + ll + u
        return np.where(np.isnan(g), -np.inf, g), mean, var

    def dlogpost_u(self, u: F64) -> F64:
        """d/du of :meth:`logpost_u` (for the shortest τ interval and tail estimates)."""
        tau = np.exp(u)
        return np.asarray(tau * self.tau_prior.dlogpdf(tau, self.v) + 2.0 * tau * tau * self.dloglik_dt(tau) + 1.0)


def tail_exponents(model: Model) -> tuple[F64, float]:
    """Per row ``(alpha, beta)`` of the posterior's τ tail, ``p(τ | y) ~ τ^-alpha (log τ)^-beta``: the
    prior's tail times ``p(y | τ) ~ τ^-(k-1)`` (flat μ) or ``τ^-k`` (normal μ)."""
    a, b = model.tau_prior.tail()
    return a + model.kk - (0.0 if model.mu_prior.proper else 1.0), b


def moment_exists(alpha: F64, beta: float, r: float) -> NDArray[np.bool_]:
    """Whether ∫^∞ τ^r τ^-alpha (log τ)^-beta dτ is finite, per row."""
    return np.asarray((alpha - r > 1.0) | ((alpha - r == 1.0) & (beta > 1.0)))


def build_model(y: F64, v: F64, valid: NDArray[np.bool_], tau_prior: TauPrior, mu_prior: MuPrior) -> Model:
    """Centre each row at its common-effect estimate; padding becomes ``y = 0, v = inf``."""
    w = np.where(valid, 1.0 / np.where(valid, v, 1.0), 0.0)
    center = (w * np.where(valid, y, 0.0)).sum(axis=1) / w.sum(axis=1)
    yc = np.where(valid, y - center[:, None], 0.0)
    vv = np.where(valid, v, np.inf)
    m0 = (mu_prior.mean - center) if mu_prior.mean is not None else np.zeros_like(center)
    return Model(yc, vv, valid.sum(axis=1).astype(np.float64), center, tau_prior, mu_prior, m0)


def min_k(tau_prior: TauPrior, mu_prior: MuPrior) -> int:
    """Smallest k for a proper posterior (1 for a proper τ prior)."""
    a, b = tau_prior.tail()
    flat = 0.0 if mu_prior.proper else 1.0
    k = 1
    while not bool(moment_exists(np.array([a + k - flat]), b, 0.0)[0]):
        k += 1
    return k


def check_priors(tau_prior: Any, mu_prior: Any) -> tuple[TauPrior, MuPrior]:
    """The priors of a fit, checked: a :class:`TauPrior` and a :class:`MuPrior` (``None`` is the flat one)."""
    if not isinstance(tau_prior, TauPrior):
        raise MetaacuInputError(
            "argument 'tau_prior' must be a TauPrior (e.g. HalfNormal(0.5), HalfCauchy(1), Jeffreys(), "
            f"turner_prior(...) from metaacu.bayes_priors); got {type(tau_prior).__name__}"
        )
    mp = MuPrior.flat() if mu_prior is None else mu_prior
    if not isinstance(mp, MuPrior):
        raise MetaacuInputError(
            "argument 'mu_prior' must be a MuPrior (MuPrior.normal(mean, sd)) or None (flat); "
            f"got {type(mu_prior).__name__}"
        )
    return tau_prior, mp


def improper_message(k: int, kmin: int, tau_prior: TauPrior, mu_prior: MuPrior) -> str:
    """Why a fit of ``k`` studies is refused when these priors need ``kmin`` (:func:`min_k`)."""
    return (
        f"the posterior is improper: a {tau_prior.describe()} tau prior with a {mu_prior.describe()} mu prior needs "
        f"at least {kmin} studies, got k = {k} (use a proper tau prior, or a normal mu prior, MuPrior.normal)"
    )
