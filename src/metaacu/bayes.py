"""Bayesian random-effects meta-analysis of the normal-normal hierarchical model by numerical
integration: the public entry points, :func:`bayesian_meta_analysis` (input checks, building the
model, the fit and its notes) and :func:`bayesian_meta_analysis_batch`.

Model (Röver 2020, J Stat Softw 93(6), Sec. 2): ``yᵢ | θᵢ ~ N(θᵢ, vᵢ)``, ``θᵢ | μ, τ ~ N(μ, τ²)``,
independent priors ``p(μ)`` (flat or normal) and ``p(τ)`` (:mod:`metaacu.bayes_priors`).

Computation
-----------
μ is integrated out analytically (Röver 2020, eqs. 12-15; :mod:`metaacu.bayes_model`).  The marginal
posterior ``p(τ | y) ∝ p(τ)·p(y | τ)`` (eq. 16) is integrated in ``u = log τ`` by globally adaptive
Gauss-Kronrod (7, 15) quadrature (:mod:`metaacu.bayes_quadrature`): panels are bisected until the
Kronrod-minus-Gauss error estimates of the normalising constant, of E[τ], E[τ²], E[μ], E[μ²] (where
they exist) and of P(μ > 0 | y), each relative to its scale, add up to at most ``rtol`` (default
1e-10); the posterior outside the integration range (where ``p(u | y)`` has fallen below ``e⁻⁶⁰`` of
its maximum, or beyond τ = e³⁰⁰) is dropped and its mass estimated (``neglected_mass``).  The
quadrature nodes τⱼ with weights ``Wⱼ`` then represent every marginal of μ, θ_new and the θᵢ as a
finite mixture of normals (Röver 2020, eq. 18 and Secs. 2.7-2.8; :mod:`metaacu.bayes_posterior`,
:mod:`metaacu.bayes_mixture`) — the approach of bayesmeta, with a quadrature rule in place of its
DIRECT grid (Röver & Friede 2017, J Comput Graph Stat 26:217).  The result is a
:class:`~metaacu.bayes_result.BayesianMetaAnalysis`.

Error control: ``rtol`` bounds the *estimated* (Kronrod − Gauss) relative error of the controlled
integrals; any other probability taken from the mixture is a τ-quadrature of a smooth function
bounded by 1 on the same nodes, so its error is of the same order (an estimate, not a rigorous
bound); the mixture is pruned of nodes whose weights add up to at most 1e-13.
``tests/test_bayes.py`` checks P(μ > 0), quantiles, interval masses, means and the marginal
likelihood against an independent two-dimensional quadrature at 1e-8, and that fits at ``rtol``
stay within 10·rtol of fits at 1e-12.  bayesmeta's DIRECT grid bounds the Kullback-Leibler
divergence of the μ mixture by δ = 0.01 instead: its printed μ, θ_new and shrinkage numbers differ
from the exact posterior by up to about 0.3% of a posterior SD (its τ numbers, from numerical
integration, agree to the printed 7 digits).

Bayes factors ``BF₀₁ = p(y | H₀)/p(y)`` and the marginal likelihood ``p(y)`` need both priors proper
and are refused otherwise (the improper constant would not cancel).  Posteriors that are improper
(a flat μ prior with an improper τ prior and too few studies: Jeffreys needs k ≥ 2, ``Uniform(inf)``
k ≥ 3; one fewer with a normal μ prior) are refused; a posterior moment that does not exist
(heavy-tailed τ priors with few studies) is reported as NaN (mean) or inf (SD) with a note.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from ._validation import MetaacuInputError, check_level, check_number
from .bayes_batch import BATCH_COLUMNS as BATCH_COLUMNS
from .bayes_batch import bayesian_meta_analysis_batch
from .bayes_mixture import Mix
from .bayes_model import build_model, check_priors, improper_message, min_k
from .bayes_posterior import INTERVALS as INTERVALS
from .bayes_posterior import Posterior, PosteriorSummary, summaries
from .bayes_prior_families import MuPrior, TauPrior
from .bayes_result import PARAMETERS, BayesianMetaAnalysis, fitted_result
from .pooling import resolve_effects

if TYPE_CHECKING:
    from .escalc import EffectSizes

__all__ = [
    "PARAMETERS",
    "BayesianMetaAnalysis",
    "PosteriorSummary",
    "bayesian_meta_analysis",
    "bayesian_meta_analysis_batch",
]


def bayesian_meta_analysis(
    yi: ArrayLike | EffectSizes,
    vi: ArrayLike | None = None,
    *,
    tau_prior: TauPrior,
    mu_prior: MuPrior | None = None,
    level: float = 0.95,
    labels: ArrayLike | None = None,
    measure: str | None = None,
    rtol: float = 1e-10,
) -> BayesianMetaAnalysis:
    """Bayesian random-effects meta-analysis by exact numerical integration (the bayesmeta model).

    Parameters
    ----------
    yi : array-like or EffectSizes
        Study effect sizes, or an :class:`~metaacu.EffectSizes` (then ``vi``, ``labels`` and
        ``measure`` come from it), as for :func:`metaacu.meta_analysis`.
    vi : array-like
        Sampling variances (> 0).
    tau_prior : TauPrior
        Prior for the heterogeneity τ (required: there is no neutral default):
        :class:`~metaacu.bayes_priors.HalfNormal`, ``HalfCauchy``, ``HalfStudentT``,
        ``Exponential`` (rate), ``LogNormal``, ``LogStudentT``, ``Uniform`` (``Uniform(math.inf)`` is
        the improper uniform), ``Jeffreys``, or a preset (``turner_prior``, ``rhodes_prior``,
        ``weakly_informative_prior``).
    mu_prior : MuPrior, optional
        ``MuPrior.normal(mean, sd)``; ``None`` (default) is the flat, improper prior.
    level : float
        Credible level of the stored intervals (0.95).
    labels, measure
        As :func:`metaacu.meta_analysis`.
    rtol : float
        Relative accuracy of the τ quadrature (1e-10; from 1e-14 to 1e-2).

    Returns
    -------
    BayesianMetaAnalysis

    Raises
    ------
    MetaacuInputError
        Bad data or priors, and an improper posterior: a flat μ prior with the Jeffreys prior needs
        k ≥ 2 and with ``Uniform(inf)`` k ≥ 3 (one study fewer with a normal μ prior).

    Notes
    -----
    ``p(τ | y) ∝ p(τ)·p(y | τ)`` with μ integrated analytically (Röver 2020, J Stat Softw 93(6),
    eqs. 10-16); the τ integrals by adaptive Gauss-Kronrod quadrature in log τ to ``rtol``; μ, θ_new
    and the θᵢ as normal mixtures over the quadrature nodes (see :mod:`metaacu.bayes`).  A 10-study
    fit takes a few milliseconds.

    Examples
    --------
    >>> from metaacu.bayes_priors import HalfNormal, MuPrior
    >>> res = bayesian_meta_analysis([-2.31, -0.46, -2.30, -1.76, -1.26, -2.42],
    ...                              [0.36, 0.31, 0.77, 0.21, 0.41, 2.34],
    ...                              tau_prior=HalfNormal(0.5), mu_prior=MuPrior.normal(0, 4))
    >>> round(res.mu.median, 3), round(res.tau.median, 3)
    (-1.574, 0.344)
    """
    tp, mp = check_priors(tau_prior, mu_prior)
    lv = check_level(level)
    tol = check_number(rtol, "rtol", low=1e-14, high=1e-2)
    y, v, labs, meas, effects, notes = resolve_effects(yi, vi, labels, measure)
    k = y.size
    if (kmin := min_k(tp, mp)) > k:
        raise MetaacuInputError(improper_message(k, kmin, tp, mp))
    model = build_model(y[None, :], v[None, :], np.ones((1, k), dtype=bool), tp, mp)
    post = Posterior.fit(model, tol)
    m1, m2 = (bool(f[0]) for f in post.moment_flags())
    mu1, mu2 = (True, True) if mp.proper else (m1, m2)

    # τ
    w, tau = post.quad.w[0], post.tau[0]
    t_mean = float((w * tau).sum()) if m1 else math.nan
    t_sd = float(np.sqrt((w * (tau - t_mean) ** 2).sum())) if m2 else (math.inf if m1 else math.nan)
    tq = [float(np.exp(post.quantile_u(np.array([p]))[0])) for p in (0.5, (1.0 - lv) / 2.0, (1.0 + lv) / 2.0)]
    ts = post.tau_shortest(lv)
    tau_sum = summaries(
        ["tau"], np.array([t_mean]), np.array([t_sd]), np.array([tq[0]]), (np.array([tq[1]]), np.array([tq[2]])), ts, lv
    )[0]

    # μ, θ_new, θᵢ
    full = post.mixtures(studies=True)
    mean, sd = full.mean(), full.sd()
    exists = np.array([mu1, m1] + [True] * k)
    exists2 = np.array([mu2, m2] + [True] * k)
    mean = np.where(exists, mean, np.nan)
    sd = np.where(exists2, sd, np.where(exists, np.inf, np.nan))
    mix = post.mixtures(studies=True, prune=True)
    q = mix.w.shape[0]
    med = mix.quantile(np.full(q, 0.5))
    cen = (mix.quantile(np.full(q, (1.0 - lv) / 2.0)), mix.quantile(np.full(q, (1.0 + lv) / 2.0)))
    sho = mix.shortest(lv)
    rows = summaries(["mu", "theta_new", *labs], mean, sd, med, cen, sho, lv)
    p_pos = float(Mix(mix.w[:1], mix.m[:1], mix.s[:1]).sf(np.zeros(1))[0])

    notes = list(notes)
    if k == 1:
        notes.append("k = 1: the data say nothing about tau; its posterior is driven by the prior")
    if not m1 or not mu1:
        notes.append(
            "the posterior mean of tau (and of theta_new" + ("" if mp.proper else ", mu") + ") does not exist "
            "(heavy-tailed tau prior, few studies): reported as NaN"
        )
    elif not m2 or not mu2:
        notes.append(
            "the posterior SD of tau (and of theta_new" + ("" if mp.proper else ", mu") + ") is infinite "
            "(heavy-tailed tau prior, few studies)"
        )
    if not post.quad.converged:
        msg = f"tau quadrature reached its panel limit with relative error {post.quad.error[0]:.1e} > rtol {tol:.0e}"
        notes.append(msg)
        import warnings

        warnings.warn(f"metaacu: {msg}", RuntimeWarning, stacklevel=2)
    if post.quad.neglected[0] > 1e-10:
        notes.append(f"posterior mass of about {post.quad.neglected[0]:.1e} lies beyond the integrated range of tau")
    if not (tp.proper and mp.proper):
        notes.append("improper prior: the marginal likelihood and Bayes factors are not defined")
    return fitted_result(
        post,
        mu=rows[0],
        tau=tau_sum,
        theta_new=rows[1],
        theta=tuple(rows[2:]),
        prob_mu_positive=p_pos,
        yi=y,
        vi=v,
        labels=labs,
        measure=meas,
        level=lv,
        rtol=tol,
        notes=tuple(notes),
        effects=effects,
    )
