"""The binomial-normal model with random study effects for odds ratios (metafor's ``rma.glmm(model =
"UM.RS")``), fitted as metafor fits it with lme4's ``glmer``: the Laplace approximation of each study's
two-dimensional integral, and its common-effect and saturated relatives with one random effect per study.

Arm 1 (experimental) and arm 2 (control) of study i have ``aᵢ`` of ``n₁ᵢ`` and ``cᵢ`` of ``n₂ᵢ`` events
with log odds

    η₁ᵢ = γ + β + uᵢ + vᵢ/2,    η₂ᵢ = γ + uᵢ − vᵢ/2,    uᵢ ~ N(0, σ²),  vᵢ ~ N(0, τ²) independent

(metafor's long format: ``cbind(xi, mi) ~ −1 + group1 + const + (group12 || study)`` with ``group12 =
±½``), so β is the mean log odds ratio, τ² its between-study variance and σ² the variance of the
studies' baseline log odds (Stijnen, Hamza & Özdemir, Stat Med 2010;29:3046-67, section 3.1; Turner et
al., Stat Med 2000;19:3417-32).  The common-effect model sets τ = 0 (``(1 | study)``), and the saturated
model gives each study its own log odds ratio θᵢ in place of β.

With spherical random effects ``z ~ N(0, I_d)`` (``u = σz₁, v = τz₂``) and ``h(z) = ℓᵢ(z) − |z|²/2``,
the Laplace approximation (lme4's ``nAGQ = 1``; Bates et al., J Stat Softw 2015;67(1), section 5.3) is
``log Lᵢ ≈ h(ẑ) − ½ log det(−∇²h(ẑ))``, even in σ and in τ; ``nodes > 1`` uses adaptive Gauss-Hermite
quadrature centred and scaled as lme4's (for two dimensions the product rule, which glmer lacks).  ``ℓᵢ`` includes the
binomial coefficients.  The parameters are maximised by a safeguarded Newton iteration with
finite-difference derivatives (fourth order, per study, then summed), and the standard errors come from
the inverse of the observed information of all parameters (lme4's ``vcov`` from its Hessian).

With moderators (``design`` X, one row per study) arm 1 has ``γ + xᵢᵀβ + uᵢ + vᵢ/2`` (metafor's ``X.fit =
group1 · X``); for incidence-rate ratios (``poisson``) the arms are Poisson with means ``tᵢ e^η`` (offset
``log t``, metafor's ``family = poisson``), the totals ``n`` being the person-times.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import special

from .glmm_likelihood import gauss_hermite

__all__ = [
    "RandomStudyFit",
    "SaturatedFit",
    "arm_saturated_loglik",
    "fit_random_study",
    "fit_saturated",
    "study_log_marginal",
]

F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]
_H: Final = 1e-3
_HALF_LOG_PI: Final = 0.5 * math.log(math.pi)
#: Convergence: the Newton step on all parameters below this (absolute; all are O(1) on the log scale).
STEP_TOL: Final = 1e-10
#: |σ| or |τ| below this is reported as 0 (the boundary maximum, reached up to rounding).
SD_ZERO: Final = 1e-7


@dataclass(frozen=True)
class RandomStudyFit:
    """One maximum: ``intercept`` γ, ``beta`` (the p coefficients β, or the saturated model's θᵢ),
    ``sigma`` and ``tau`` (≥ 0), the log-likelihood, ``vcov`` of ``(γ, β…, σ)``, ``(γ, β…, σ, τ)`` or,
    saturated, ``(γ, σ, θ…)`` (rows of parameters on the boundary NaN), Newton iterations, convergence
    and the final gradient's largest absolute entry."""

    intercept: float
    beta: F64
    sigma: float
    tau: float
    loglik: float
    vcov: F64
    iterations: int
    converged: bool
    gradient: float


class _Counts:
    """The 2 × 2 tables (with ``poisson``: events and person-times) as float arrays of shape ``(k,)``;
    ``keep1`` marks studies whose arm 1 enters (the saturated model drops arm 1 of a study with no or
    only events there: its θᵢ diverges)."""

    def __init__(self, a: F64, n1: F64, c: F64, n2: F64, keep1: F64 | None = None, poisson: bool = False) -> None:
        k1 = np.ones_like(a) if keep1 is None else keep1
        self.a, self.n1, self.c, self.n2 = a * k1, n1 * k1, c, n2
        self.poisson = poisson
        self.constant: F64 = _log_constant(self.a, self.n1, poisson) + _log_constant(c, n2, poisson)

    def _ll(self, y: F64, n: F64, eta: F64) -> F64:
        """An arm's log-likelihood less its constant: ``yη − n log(1 + e^η)`` or ``yη − n e^η``."""
        out: F64 = y * eta - n * (np.exp(eta) if self.poisson else np.logaddexp(0.0, eta))
        return out

    def _mean_weight(self, n: F64, eta: F64) -> tuple[F64, F64]:
        """An arm's mean and working weight: ``np``, ``np(1 − p)`` (binomial) or ``n e^η`` twice."""
        if self.poisson:
            mu: F64 = n * np.exp(eta)
            return mu, mu
        p = special.expit(eta)
        return n * p, n * p * (1.0 - p)

    def log_marginal(self, m1: F64, m2: F64, load1: F64, load2: F64, nodes: int) -> F64:
        """Each study's log marginal likelihood with linear predictors ``m + L z`` (loadings ``load1``,
        ``load2`` of length d = 1 or 2): the Laplace approximation (``nodes = 1``) or the adaptive
        Gauss-Hermite product rule with ``nodes`` points per dimension, ``z = ẑ + √2 C⁻ᵀx`` for the
        Cholesky factor ``C Cᵀ = −∇²h(ẑ)``, ``Lᵢ ≈ |C|⁻¹ π^{−d/2} Σ w e^{|x|²} e^{h(z)}`` (lme4's rule for
        d = 1; Liu & Pierce, Biometrika 1994;81:624-9)."""
        z = self._modes(m1, m2, load1, load2)
        h, _, neg_hess = self._h(z, m1, m2, load1, load2)
        if nodes == 1:
            _, logdet = np.linalg.slogdet(neg_hess)
            out: F64 = h - 0.5 * logdet + self.constant
            return out
        d = load1.size
        x, logw = gauss_hermite(nodes)
        grid = np.stack([g.ravel() for g in np.meshgrid(*([x] * d), indexing="ij")], axis=1)  # (G, d)
        log_wt = np.sum(np.stack([g.ravel() for g in np.meshgrid(*([logw] * d), indexing="ij")], axis=1), axis=1)
        chol = np.linalg.cholesky(neg_hess)  # (k, d, d), lower
        offsets = math.sqrt(2.0) * np.linalg.solve(
            np.swapaxes(chol, 1, 2), np.broadcast_to(grid.T, (z.shape[0], d, grid.shape[0]))
        )
        zz = z[:, :, None] + offsets  # (k, d, G)
        e1 = m1[:, None] + np.einsum("j,kjg->kg", load1, zz)
        e2 = m2[:, None] + np.einsum("j,kjg->kg", load2, zz)
        ll = self._ll(self.a[:, None], self.n1[:, None], e1) + self._ll(self.c[:, None], self.n2[:, None], e2)
        terms = log_wt[None, :] + np.sum(grid * grid, axis=1)[None, :] + ll - 0.5 * np.sum(zz * zz, axis=1)
        log_chol = np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1)
        out = special.logsumexp(terms, axis=1) - log_chol - d * _HALF_LOG_PI + self.constant
        return out

    def _h(self, z: F64, m1: F64, m2: F64, load1: F64, load2: F64) -> tuple[F64, F64, F64]:
        """``h(z)``, its gradient and ``−∇²h`` for each study (z of shape ``(k, d)``)."""
        e1, e2 = m1 + z @ load1, m2 + z @ load2
        (mu1, w1), (mu2, w2) = self._mean_weight(self.n1, e1), self._mean_weight(self.n2, e2)
        h = self._ll(self.a, self.n1, e1) + self._ll(self.c, self.n2, e2) - 0.5 * np.sum(z * z, axis=1)
        r1, r2 = self.a - mu1, self.c - mu2
        grad = r1[:, None] * load1[None, :] + r2[:, None] * load2[None, :] - z
        d = load1.size
        neg = (
            np.eye(d)[None, :, :]
            + w1[:, None, None] * np.outer(load1, load1)
            + w2[:, None, None] * np.outer(load2, load2)
        )
        return h, grad, neg

    def _modes(self, m1: F64, m2: F64, load1: F64, load2: F64) -> F64:
        """The conditional modes ``ẑ`` (h is strictly concave): Newton from 0, steps halved where h
        would fall, finished by a full step after convergence so that ``ẑ`` is exact to rounding."""
        z = np.zeros((m1.size, load1.size))
        h, grad, neg = self._h(z, m1, m2, load1, load2)
        for _ in range(100):
            step = np.linalg.solve(neg, grad[:, :, None])[:, :, 0]
            for _ in range(60):
                new = z + step
                h_new, g_new, n_new = self._h(new, m1, m2, load1, load2)
                worse = h_new < h - 1e-12 * (1.0 + np.abs(h))
                if not worse.any():
                    break
                step = np.where(worse[:, None], step / 2.0, step)
            z, h, grad, neg = new, h_new, g_new, n_new
            if np.max(np.abs(step)) <= 1e-11:
                break
        final: F64 = z + np.linalg.solve(neg, grad[:, :, None])[:, :, 0]
        return final

    def weights_at_modes(self, m1: F64, m2: F64, sigma: float) -> tuple[F64, F64]:
        """The working weights (``nᵢpᵢ(1 − pᵢ)``, Poisson ``μᵢ``) of both arms at the conditional modes of
        the one-random-intercept model with standard deviation ``sigma``."""
        load = np.array([sigma])
        z = self._modes(m1, m2, load, load)[:, 0]
        return self._mean_weight(self.n1, m1 + sigma * z)[1], self._mean_weight(self.n2, m2 + sigma * z)[1]


def _log_constant(x: F64, n: F64, poisson: bool) -> F64:
    """``log C(n, x)`` (binomial) or ``x log n − log x!`` (Poisson with person-time n)."""
    if poisson:
        pois: F64 = special.xlogy(x, n) - special.gammaln(x + 1.0)
        return pois
    out: F64 = special.gammaln(n + 1.0) - special.gammaln(x + 1.0) - special.gammaln(n - x + 1.0)
    return out


def study_log_marginal(
    a: F64,
    n1: F64,
    c: F64,
    n2: F64,
    *,
    gamma: float,
    beta: float,
    sigma: float,
    tau: float,
    nodes: int,
    poisson: bool = False,
) -> F64:
    """Each study's log marginal likelihood under UM.RS at the given parameters (the module docstring;
    ``poisson``: the Poisson-normal model of events ``a, c`` over person-times ``n1, n2``): the 2-D
    integral, or with ``tau = 0`` the 1-D integral over the study intercept, by the Laplace
    approximation (``nodes = 1``) or ``nodes``-point adaptive Gauss-Hermite quadrature."""
    counts = _Counts(a, n1, c, n2, poisson=poisson)
    m1, m2 = gamma + beta + 0 * a, gamma + 0 * a
    if tau == 0.0:
        return counts.log_marginal(m1, m2, np.array([sigma]), np.array([sigma]), nodes)
    return counts.log_marginal(m1, m2, np.array([sigma, 0.5 * tau]), np.array([sigma, -0.5 * tau]), nodes)


def arm_saturated_loglik(a: F64, n1: F64, c: F64, n2: F64, *, poisson: bool = False) -> float:
    """``Σ log Bin`` at each arm's own proportion (``poisson``: ``Σ log Pois(x; x)``): what lme4 subtracts
    from the log-likelihood of a fit with ``nAGQ > 1`` (its deviance is built from deviance residuals);
    the Laplace fit keeps it."""
    if poisson:
        return float(
            np.sum(special.xlogy(a, a) - a - special.gammaln(a + 1) + special.xlogy(c, c) - c - special.gammaln(c + 1))
        )
    b, d = n1 - a, n2 - c
    parts = special.xlogy(a, a / n1) + special.xlogy(b, b / n1) + special.xlogy(c, c / n2) + special.xlogy(d, d / n2)
    return float(np.sum(parts + _log_constant(a, n1, False) + _log_constant(c, n2, False)))


_StudyFun = Callable[[F64, F64], F64]


def _study_derivatives(fun: _StudyFun, shared: F64, own: F64, own_free: bool) -> tuple[F64, F64, F64]:
    """Per-study values, gradients and Hessians of ``fun(shared, own)`` (shape ``(k,)``) in the shared
    parameters and, with ``own_free``, the study's own parameter (all studies' moved together: each
    study's value depends on its own only), by fourth-order central differences."""
    q = shared.size
    m = q + (1 if own_free else 0)
    eye = np.eye(m)

    def at(delta: F64) -> F64:
        return fun(shared + delta[:q], own + (delta[q] if own_free else 0.0))

    f0 = at(np.zeros(m))
    k = f0.size
    g, hess = np.zeros((k, m)), np.zeros((k, m, m))
    h = _H
    for i in range(m):
        v = {s: at(s * h * eye[i]) for s in (-2, -1, 1, 2)}
        g[:, i] = (8 * (v[1] - v[-1]) - (v[2] - v[-2])) / (12 * h)
        hess[:, i, i] = (-v[2] + 16 * v[1] - 30 * f0 + 16 * v[-1] - v[-2]) / (12 * h * h)
    for i in range(m):
        for j in range(i + 1, m):
            cross = []
            for step in (h, 2 * h):
                pp, pm = at(step * (eye[i] + eye[j])), at(step * (eye[i] - eye[j]))
                mp, mm = at(step * (eye[j] - eye[i])), at(-step * (eye[i] + eye[j]))
                cross.append((pp - pm - mp + mm) / (4 * step * step))
            hess[:, i, j] = hess[:, j, i] = (4 * cross[0] - cross[1]) / 3
    return f0, g, hess


def _assemble(g: F64, hess: F64, q: int, free: Bool) -> tuple[F64, F64]:
    """Gradient and Hessian of the total in ``(shared, own[free])`` from the per-study ones."""
    idx = np.flatnonzero(free)
    n = q + idx.size
    grad, full = np.zeros(n), np.zeros((n, n))
    grad[:q] = g[:, :q].sum(axis=0)
    full[:q, :q] = hess[:, :q, :q].sum(axis=0)
    if idx.size:
        grad[q:] = g[idx, q]
        full[:q, q:] = hess[idx, :q, q].T
        full[q:, :q] = hess[idx, q, :q]
        full[q:, q:] = np.diag(hess[idx, q, q])
    return grad, full


def _ascent_step(g: F64, hess: F64) -> F64:
    """Newton step for a maximum; eigenvalues of the Hessian that are not negative are replaced by
    minus their absolute values, and along such a direction the step is at least 0.1 (σ = 0 or τ = 0
    can be a minimum of the even likelihood, where the gradient vanishes)."""
    lam, vec = np.linalg.eigh(hess)
    gv = vec.T @ g
    newton = gv / np.maximum(-lam, 1e-8)
    push = np.where(gv >= 0, 1.0, -1.0) * np.maximum(np.abs(gv) / np.maximum(lam, 1e-8), 0.1)
    step: F64 = vec @ np.where(lam >= 0, push, newton)
    return step


def _maximise(
    fun: _StudyFun, shared0: F64, own0: F64, free: Bool, sd_index: tuple[int, ...], max_iter: int
) -> tuple[F64, F64, float, F64, int, bool, float]:
    """Newton ascent on ``Σᵢ fun(shared, own)ᵢ`` over the shared parameters and the free own ones.
    Returns shared, own, the maximum, the inverse observed information (parameters in ``sd_index``, the
    standard deviations, that end at 0 are left out: NaN rows), iterations, convergence, gradient."""
    q = shared0.size
    own_free = bool(free.any())
    shared, own = shared0.astype(np.float64).copy(), own0.astype(np.float64).copy()
    idx = np.flatnonzero(free)

    def total(s: F64, o: F64) -> float:
        return float(np.sum(fun(s, o)))

    converged, iterations, grad = False, 0, np.full(q, np.nan)
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        vals, g, hess = _study_derivatives(fun, shared, own, own_free)
        f0 = float(np.sum(vals))
        grad, full = _assemble(g, hess, q, free)
        step = np.clip(_ascent_step(grad, full), -2.0, 2.0)
        t = 1.0
        while t > 1e-10:
            cand_s, cand_o = shared + t * step[:q], own.copy()
            cand_o[idx] += t * step[q:]
            if total(cand_s, cand_o) >= f0 - 1e-12 * (1.0 + abs(f0)):
                break
            t /= 2
        shared = shared + t * step[:q]
        own[idx] += t * step[q:]
        if np.max(np.abs(t * step)) < STEP_TOL:
            converged = True
            break
    for j in sd_index:  # the boundary: the likelihood is even in each standard deviation
        if abs(shared[j]) < SD_ZERO:
            shared[j] = 0.0
    vals, g, hess = _study_derivatives(fun, shared, own, own_free)
    grad, full = _assemble(g, hess, q, free)
    inner = np.array([not (j in sd_index and shared[j] == 0.0) for j in range(q)] + [True] * idx.size)
    vcov = np.full_like(full, np.nan)
    with contextlib.suppress(np.linalg.LinAlgError):
        vcov[np.ix_(inner, inner)] = np.linalg.inv(-full[np.ix_(inner, inner)])
    gmax = float(np.max(np.abs(grad))) if grad.size else math.nan
    return shared, own, float(np.sum(vals)), vcov, iterations, converged, gmax


def _log_ratios(a: F64, n1: F64, c: F64, n2: F64, poisson: bool) -> tuple[F64, F64, F64]:
    """Arm 2's empirical logit (log rate), the studies' log odds (rate) ratios and their variances,
    ½ added to every cell (count)."""
    if poisson:
        lc = np.log((c + 0.5) / n2)
        return lc, np.log((a + 0.5) / n1) - lc, 1 / (a + 0.5) + 1 / (c + 0.5)
    lc = np.log((c + 0.5) / (n2 - c + 0.5))
    v = 1 / (a + 0.5) + 1 / (n1 - a + 0.5) + 1 / (c + 0.5) + 1 / (n2 - c + 0.5)
    return lc, np.log((a + 0.5) / (n1 - a + 0.5)) - lc, v


def _start(a: F64, n1: F64, c: F64, n2: F64, x: F64, poisson: bool) -> tuple[float, F64]:
    """Starting γ (mean arm-2 logit or log rate) and β (inverse-variance weighted least squares of the
    log ratios on the design ``x``; with ``x = 1`` their weighted mean)."""
    lc, y, v = _log_ratios(a, n1, c, n2, poisson)
    xw = x / v[:, None]
    beta = np.asarray(np.linalg.lstsq(x.T @ xw, xw.T @ y, rcond=None)[0], dtype=np.float64)
    return float(np.mean(lc)), beta


def _design(design: F64 | None, a: F64) -> F64:  # the intercept alone by default
    return np.ones((a.size, 1)) if design is None else np.asarray(design, dtype=np.float64)


def fit_random_study(
    a: F64,
    n1: F64,
    c: F64,
    n2: F64,
    *,
    nodes: int,
    max_iter: int,
    start: RandomStudyFit | None = None,
    design: F64 | None = None,
    poisson: bool = False,
) -> RandomStudyFit:
    """Without ``start``, the common-effect model with random study intercepts (``(1 | study)``;
    parameters γ, β…, σ); from ``start`` (that fit), the random-effects model UM.RS (``(group12 ||
    study)``; γ, β…, σ, τ).  ``design``: the moderators' X (default the intercept alone); ``poisson``:
    rate ratios.  Laplace (``nodes = 1``, glmer's only choice for UM.RS) or adaptive Gauss-Hermite
    quadrature (for UM.RS the ``nodes × nodes`` product rule)."""
    counts, x = _Counts(a, n1, c, n2, poisson=poisson), _design(design, a)
    p = x.shape[1]

    def fun(s: F64, _own: F64) -> F64:
        m1, m2 = s[0] + x @ s[1 : 1 + p], s[0] + 0 * a
        if start is None:
            load = s[1 + p] * np.ones(1)
            return counts.log_marginal(m1, m2, load, load, nodes)
        load1, load2 = np.array([s[1 + p], 0.5 * s[2 + p]]), np.array([s[1 + p], -0.5 * s[2 + p]])
        return counts.log_marginal(m1, m2, load1, load2, nodes)

    sds: tuple[int, ...]
    if start is None:
        g0, b0 = _start(a, n1, c, n2, x, poisson)
        x0, sds = np.array([g0, *b0, 1.0]), (1 + p,)
    else:
        x0, sds = np.array([start.intercept, *start.beta, max(start.sigma, 0.1), 0.5]), (1 + p, 2 + p)
    shared, _, ll, vcov, it, conv, gmax = _maximise(
        fun, x0, np.zeros_like(a), np.zeros(a.size, dtype=bool), sds, max_iter
    )
    sigma, tau = abs(float(shared[1 + p])), (0.0 if start is None else abs(float(shared[2 + p])))
    return RandomStudyFit(float(shared[0]), shared[1 : 1 + p].copy(), sigma, tau, ll, vcov, it, conv, gmax)


@dataclass(frozen=True)
class SaturatedFit:
    """The saturated model (:func:`fit_saturated`): the fit (``beta`` the θᵢ, NaN where θ̂ᵢ diverges;
    ``vcov`` of ``(γ, σ, the finite θᵢ)``), the mask ``finite``, ``theta_vcov``, the covariance of the
    finite θ̂ᵢ for the Wald-type test, and which information it is (``"observed"`` or ``"RX"``, see
    :func:`fit_saturated`)."""

    fit: RandomStudyFit
    finite: Bool
    theta_vcov: F64
    information: str


def fit_saturated(
    a: F64,
    n1: F64,
    c: F64,
    n2: F64,
    *,
    start: RandomStudyFit,
    nodes: int,
    max_iter: int,
    poisson: bool = False,
) -> SaturatedFit:
    """The saturated model: study i's arm 1 at ``γ + θᵢ + uᵢ``, arm 2 at ``γ + uᵢ`` (``(1 | study)``;
    ``poisson``: rate ratios, where only a study with no events in arm 1 diverges), and the covariance
    of the θ̂ᵢ for the Wald-type test (metafor: the study-by-group coefficients of the glmer fit and
    their ``vcov``; the test is ``saturated_wald`` of :mod:`metaacu.glmm_random_study_fits`).

    A study with no events or only events in arm 1 has ``θ̂ᵢ = ∓∞``; at that limit its arm 1 has
    likelihood 1 and is left out, its θᵢ is not estimated (NaN) and it is left out of the Wald-type
    statistic (the limit of its term).  V is the inverse observed information of all parameters, as
    lme4's ``vcov``; where a θ̂ᵢ diverges lme4's finite-difference Hessian is singular and its
    ``vcov`` falls back (with a warning) to ``RX``, the fixed-effects information of the penalised
    least-squares problem at the conditional modes with σ fixed,
    ``XᵀWX − XᵀWZσ(σ²ZᵀWZ + I)⁻¹σZᵀWX`` (Bates et al. 2015, section 5.2), and so does this function,
    which is what metafor's statistic then is."""
    free = (a > 0) & ((a < n1) | poisson)
    counts = _Counts(a, n1, c, n2, keep1=free.astype(np.float64), poisson=poisson)
    one = np.ones(1)

    def fun(s: F64, own: F64) -> F64:
        return counts.log_marginal(s[0] + own, s[0] + 0 * a, s[1] * one, s[1] * one, nodes)

    theta0 = np.where(free, _log_ratios(a, n1, c, n2, poisson)[1], 0.0)
    shared, own, ll, vcov, it, conv, gmax = _maximise(
        fun, np.array([start.intercept, max(start.sigma, 0.1)]), theta0, free, (1,), max_iter
    )
    theta = np.where(free, own, np.nan)
    fit = RandomStudyFit(float(shared[0]), theta, abs(float(shared[1])), 0.0, ll, vcov, it, conv, gmax)
    if free.all():
        v, kind = vcov[2:, 2:], "observed"
    else:
        sigma = abs(float(shared[1]))
        w1, w2 = counts.weights_at_modes(shared[0] + np.where(free, own, 0.0), shared[0] + 0 * a, sigma)
        v, kind = _rx_theta_vcov(w1[free], w2[free], w1[~free] + w2[~free], sigma), "RX"
    return SaturatedFit(fit, free, v, kind)


def _rx_theta_vcov(w1: F64, w2: F64, w_other: F64, sigma: float) -> F64:
    """The θ block of ``RX⁻¹`` for the fixed effects ``(γ, θ_free)`` of the saturated model: arm 1 of a
    free study has design ``e_γ + e_θᵢ``, every arm 2 (and the remaining arm of the other studies,
    weights ``w_other``) ``e_γ``; one random intercept per study with loading σ."""
    s2 = sigma * sigma
    wt = w1 + w2
    den = 1.0 + s2 * wt
    den_o = 1.0 + s2 * w_other
    m = w1.size
    info = np.zeros((m + 1, m + 1))
    info[0, 0] = np.sum(wt - s2 * wt * wt / den) + np.sum(w_other - s2 * w_other * w_other / den_o)
    info[0, 1:] = info[1:, 0] = w1 - s2 * wt * w1 / den
    info[1:, 1:] = np.diag(w1 - s2 * w1 * w1 / den)
    try:
        out: F64 = np.asarray(np.linalg.inv(info)[1:, 1:], dtype=np.float64)
    except np.linalg.LinAlgError:
        out = np.full((m, m), np.nan)
    return out
