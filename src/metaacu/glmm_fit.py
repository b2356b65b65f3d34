"""Maximum likelihood for the models of :mod:`metaacu.glmm`: the fixed study effects profiled out
(one-dimensional Newton per study), then a safeguarded Newton iteration on the profile log-likelihood
in ``(μ, τ)`` with finite-difference derivatives of fourth order (central differences, Richardson
extrapolated), and the observed information for the standard errors.

The profile log-likelihood ``P(μ, τ) = maxₐ ℓ(μ, τ, α)`` has the same maximiser as the joint
likelihood, and at the maximum the ``(μ, τ)`` block of the inverse observed information of the full
parameter equals the inverse of ``−∇²P`` (the Schur complement; e.g. Pawitan, *In All Likelihood*,
2001, section 9.4), which is how lme4 (through its Hessian of all parameters) and metafor obtain the
standard error of ``μ̂``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .glmm_likelihood import Family, log_marginal

__all__ = ["FitOutcome", "maximise", "warn_not_converged"]

F64 = NDArray[np.float64]
_H_ALPHA: Final = 1e-4


def warn_not_converged(model: str, max_iter: int, gradient: float, stacklevel: int) -> None:
    """The ``RuntimeWarning`` of a GLMM fit that stopped after ``max_iter`` Newton iterations
    (``stacklevel`` counted from the caller of this function)."""
    warnings.warn(
        f"the {model} fit did not converge in {max_iter} Newton iterations (largest gradient entry "
        f"{gradient:.3g}); the estimates are where it stopped",
        RuntimeWarning,
        stacklevel=stacklevel + 1,
    )


_H: Final = 1e-3
#: Convergence: the Newton step on (μ, τ) below this (absolute; both are O(1) on the log scale).
STEP_TOL: Final = 1e-10
#: |τ| below this is reported as τ = 0 (τ² < 1e-16: the boundary maximum, reached up to rounding).
TAU_ZERO: Final = 1e-8


@dataclass(frozen=True)
class FitOutcome:
    """The maximum: ``mu``, ``tau`` (≥ 0), the log-likelihood, ``vcov`` of ``(μ, τ)`` (1 × 1 without
    τ), the fixed study effects, Newton iterations, convergence and the final gradient's largest
    absolute entry.  With a design matrix of ``p`` columns, ``beta`` holds the ``p`` coefficients
    (``mu`` is the first), and ``vcov`` is that of ``(β, τ)``."""

    mu: float
    tau: float
    loglik: float
    vcov: F64
    alpha: F64
    iterations: int
    converged: bool
    gradient: float
    beta: F64 = field(default_factory=lambda: np.zeros(0))


class _Profile:
    """``P(μ, τ)``: the log-likelihood with the fixed study effects at their maximum."""

    def __init__(self, family: Family, nodes: int, alpha: F64, design: F64 | None = None) -> None:
        self.family, self.nodes, self.alpha, self.design = family, nodes, alpha.copy(), design
        self.p = 1 if design is None else int(design.shape[1])

    def split(self, x: F64) -> tuple[float | F64, float]:
        """``(μ, τ)`` from the parameter vector ``(β, τ)``: ``μ`` the scalar ``β₀`` without a design
        matrix, else each study's linear predictor ``Xβ`` (shape ``(k, 1)``)."""
        tau = float(x[self.p]) if x.size > self.p else 0.0
        if self.design is None:
            return float(x[0]), tau
        mu: F64 = (self.design @ x[: self.p])[:, None]
        return mu, tau

    def value(self, mu: float | F64, tau: float, alpha0: F64 | None = None) -> tuple[float, F64]:
        fam, nodes = self.family, self.nodes
        al = (self.alpha if alpha0 is None else alpha0).copy()
        if not fam.has_alpha:
            return float(np.sum(log_marginal(fam, mu, tau, al, nodes))), al
        h = _H_ALPHA
        f0 = log_marginal(fam, mu, tau, al, nodes)
        for _ in range(100):
            fp = log_marginal(fam, mu, tau, al + h, nodes)
            fm = log_marginal(fam, mu, tau, al - h, nodes)
            g, curv = (fp - fm) / (2 * h), (fp - 2 * f0 + fm) / (h * h)
            step = np.clip(np.where(curv < 0, -g / np.where(curv < 0, curv, -1.0), np.sign(g)), -3.0, 3.0)
            new = al + step
            f_new = log_marginal(fam, mu, tau, new, nodes)
            worse = f_new < f0 - 1e-12 * (1.0 + np.abs(f0))
            while worse.any():  # halve the steps that lowered a study's likelihood
                step = np.where(worse, step / 2, step)
                new = al + step
                f_new = log_marginal(fam, mu, tau, new, nodes)
                worse = (f_new < f0 - 1e-12 * (1.0 + np.abs(f0))) & (np.abs(step) > 1e-14)
            al, f0 = new, f_new
            if np.max(np.abs(step)) < 1e-11:
                break
        return float(np.sum(f0)), al

    def __call__(self, x: F64) -> float:
        return self.value(*self.split(x))[0]


def _derivatives(f: Callable[[F64], float], x: F64, h: float = _H) -> tuple[float, F64, F64]:
    """Value, gradient and Hessian of ``f`` at ``x`` by fourth-order central differences."""
    n = x.size
    f0 = f(x)
    e = np.eye(n)
    g, hess = np.zeros(n), np.zeros((n, n))
    vals: dict[tuple[int, int], float] = {}
    for i in range(n):
        for s in (-2, -1, 1, 2):
            vals[(i, s)] = f(x + s * h * e[i])
        g[i] = (8 * (vals[(i, 1)] - vals[(i, -1)]) - (vals[(i, 2)] - vals[(i, -2)])) / (12 * h)
        hess[i, i] = (-vals[(i, 2)] + 16 * vals[(i, 1)] - 30 * f0 + 16 * vals[(i, -1)] - vals[(i, -2)]) / (12 * h * h)
    for i in range(n):
        for j in range(i + 1, n):
            cross = []
            for step in (h, 2 * h):
                pp, pm = f(x + step * (e[i] + e[j])), f(x + step * (e[i] - e[j]))
                mp, mm = f(x + step * (e[j] - e[i])), f(x - step * (e[i] + e[j]))
                cross.append((pp - pm - mp + mm) / (4 * step * step))
            hess[i, j] = hess[j, i] = (4 * cross[0] - cross[1]) / 3
    return f0, g, hess


def _ascent_step(g: F64, hess: F64) -> F64:
    """Newton step for a maximum; where the Hessian is not negative definite, its eigenvalues are
    replaced by minus their absolute values (an ascent direction)."""
    lam, vec = np.linalg.eigh(hess)
    gv = vec.T @ g
    with np.errstate(divide="ignore", invalid="ignore"):
        newton = gv / np.maximum(-lam, 1e-8)
    # a direction of upward curvature (τ = 0 can be a minimum of the even profile in τ, where the
    # gradient vanishes): move along it by at least 0.1, uphill (or outward from τ = 0)
    up = lam >= 0
    push = np.where(gv >= 0, 1.0, -1.0) * np.maximum(np.abs(gv) / np.maximum(lam, 1e-8), 0.1)
    step: F64 = vec @ np.where(up, push, newton)
    return step


def maximise(
    family: Family,
    nodes: int,
    *,
    random: bool,
    mu0: float | F64,
    tau0: float,
    alpha0: F64,
    max_iter: int,
    design: F64 | None = None,
) -> FitOutcome:
    """Maximise the (profile) log-likelihood; ``random=False`` fixes ``τ = 0`` (common effect).  With
    ``design`` (``k × p``), the mean log ratio of study i is ``xᵢᵀβ`` and ``mu0`` the ``p`` starting
    coefficients."""
    prof = _Profile(family, nodes, alpha0, design)
    p = prof.p
    start = np.atleast_1d(np.asarray(mu0, dtype=np.float64))
    x = np.append(start, tau0) if random else start.copy()

    def f(v: F64) -> float:
        return prof(v)

    converged, iterations, g = False, 0, np.full(x.size, np.nan)
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        f0, g, hess = _derivatives(f, x)
        step = np.clip(_ascent_step(g, hess), -2.0, 2.0)
        t = 1.0
        while t > 1e-10:
            cand = x + t * step
            if f(cand) >= f0 - 1e-12 * (1.0 + abs(f0)):
                break
            t /= 2
        x = x + t * step
        prof.alpha = prof.value(*prof.split(x))[1]
        if np.max(np.abs(t * step)) < STEP_TOL:
            converged = True
            break
    if random and abs(x[p]) < TAU_ZERO:  # the boundary: τ = 0 (the profile is even in τ)
        x[p] = 0.0
    f0, g, hess = _derivatives(f, x)
    try:
        vcov: F64 = np.asarray(np.linalg.inv(-hess), dtype=np.float64)
    except np.linalg.LinAlgError:
        vcov = np.full_like(hess, np.nan)
    tau = abs(float(x[p])) if random else 0.0
    if random and tau == 0.0:
        vcov[p, :] = vcov[:, p] = np.nan
        if p == 1:
            vcov[0, 0] = -1.0 / hess[0, 0]
        else:
            vcov[:p, :p] = _inverse(-hess[:p, :p])
    return FitOutcome(
        mu=float(x[0]),
        tau=tau,
        loglik=f0,
        vcov=vcov,
        alpha=prof.alpha,
        iterations=iterations,
        converged=converged,
        gradient=float(np.max(np.abs(g))) if g.size else math.nan,
        beta=x[:p].copy(),
    )


def _inverse(m: F64) -> F64:
    try:
        return np.asarray(np.linalg.inv(m), dtype=np.float64)
    except np.linalg.LinAlgError:
        return np.full_like(m, np.nan)
