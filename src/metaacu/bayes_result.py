"""The result of :func:`metaacu.bayes.bayesian_meta_analysis` (:class:`BayesianMetaAnalysis`): the
posterior summaries, distribution functions, probabilities and credible intervals of μ, τ, θ_new and
the θᵢ, the marginal likelihood and Bayes factors, and its text, tidy and HTML displays.

Bayes factors ``BF₀₁ = p(y | H₀)/p(y)`` and the marginal likelihood ``p(y)`` need both priors proper
and are refused otherwise (the improper constant would not cancel); ``p(y | τ = c)`` is closed-form
(Röver 2020, J Stat Softw 93(6), eqs. 13 and 15), ``p(y | μ = c)`` is integrated as the posterior is
(:func:`metaacu.bayes_posterior.log_evidence_mu`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ._validation import MetaacuInputError, as_float_array, check_choice, check_digits, check_level, check_number
from .bayes_mixture import Mix
from .bayes_posterior import INTERVALS, Posterior, PosteriorSummary, log_evidence_mu
from .bayes_prior_families import MuPrior, TauPrior
from .interval import Interval
from .report import SCALES, Printable, on_scale

if TYPE_CHECKING:
    from .escalc import EffectSizes

__all__ = ["PARAMETERS", "BayesianMetaAnalysis", "fitted_result", "readonly_copy"]

F64 = NDArray[np.float64]
#: Parameters whose posterior a fit describes (``"theta"`` is a study's true effect, with ``study=``).
PARAMETERS: Final = ("mu", "tau", "theta_new", "theta")


@dataclass(frozen=True, repr=False)
class BayesianMetaAnalysis(Printable):
    """Result of :func:`~metaacu.bayes.bayesian_meta_analysis`: the posterior of the normal-normal hierarchical model.

    Attributes
    ----------
    mu, tau, theta_new : PosteriorSummary
        Overall effect μ, heterogeneity τ and the true effect θ_new of a new study (prediction).
    theta : tuple of PosteriorSummary
        Shrinkage estimates: the posterior of each study's true effect θᵢ, in study order.
    prob_mu_positive : float
        P(μ > 0 | y).
    k : int
    yi, vi : ndarray
    labels : tuple of str
    measure : str or None
    tau_prior : TauPrior
    mu_prior : MuPrior
    level : float
        Credible level of the stored intervals.
    rtol : float
        Requested relative accuracy of the τ quadrature.
    error_estimate : float
        Its achieved (Kronrod − Gauss) relative error estimate.
    neglected_mass : float
        Estimated posterior mass of log τ outside the integrated range.
    tau_nodes, weights : ndarray
        The quadrature nodes τⱼ and normalised weights Wⱼ of the mixture representation.
    notes : tuple of str
    effects : EffectSizes or None
    """

    mu: PosteriorSummary
    tau: PosteriorSummary
    theta_new: PosteriorSummary
    theta: tuple[PosteriorSummary, ...]
    prob_mu_positive: float
    k: int
    yi: F64
    vi: F64
    labels: tuple[str, ...]
    measure: str | None
    tau_prior: TauPrior
    mu_prior: MuPrior
    level: float
    rtol: float
    error_estimate: float
    neglected_mass: float
    tau_nodes: F64
    weights: F64
    notes: tuple[str, ...]
    _posterior: Posterior = field(repr=False, compare=False)
    effects: EffectSizes | None = field(default=None, compare=False)

    # ---------------------------------------------------------------- distributions
    def _mix_row(self, parameter: str, study: int | str | None) -> int:
        """Row of the mixture stack ``[μ, θ_new, θ₁ … θ_k]``."""
        if parameter == "mu":
            return 0
        if parameter == "theta_new":
            return 1
        if study is None:
            raise MetaacuInputError("parameter 'theta' needs study= (an index or a label)")
        if isinstance(study, str):
            if study not in self.labels:
                raise MetaacuInputError(f"argument 'study'={study!r} is not a study label")
            return 2 + self.labels.index(study)
        if isinstance(study, bool) or not isinstance(study, (int, np.integer)) or not 0 <= int(study) < self.k:
            raise MetaacuInputError(
                f"argument 'study' must be a label or an index from 0 to {self.k - 1}; got {study!r}"
            )
        return 2 + int(study)

    def _mix(self, parameter: str, study: int | str | None) -> Mix:
        row = self._mix_row(parameter, study)
        full = self._posterior.mixtures(studies=True, prune=True)
        return Mix(full.w[row : row + 1], full.m[row : row + 1], full.s[row : row + 1])

    def _check(self, parameter: str, study: int | str | None) -> str:
        check_choice(parameter, "parameter", PARAMETERS)
        if parameter != "theta" and study is not None:
            raise MetaacuInputError("argument 'study' only goes with parameter='theta'")
        return parameter

    def pdf(self, x: ArrayLike, parameter: str = "mu", *, study: int | str | None = None) -> F64:
        """Posterior density of ``parameter`` at ``x`` (vectorised).

        ``"mu"``, ``"theta_new"`` and ``"theta"`` (with ``study=``): mixtures of normals over the τ
        nodes; ``"tau"``: ``p(τ)·p(y | τ)/p(y)`` exactly (0 for τ < 0).

        Examples
        --------
        >>> from metaacu.bayes import bayesian_meta_analysis
        >>> from metaacu.bayes_priors import HalfNormal
        >>> res = bayesian_meta_analysis([0.1, 0.3, 0.35], [0.02, 0.03, 0.01], tau_prior=HalfNormal(0.5))
        >>> res.pdf([0.0, 0.3]).round(3)
        array([0.406, 3.166])
        """
        par = self._check(parameter, study)
        xs = as_float_array(np.ravel(np.asarray(x, dtype=np.float64)), "x")
        shape = np.shape(x)
        if par == "tau":
            out = np.exp(self._posterior.tau_logpdf(np.where(xs < 0, 0.0, xs)[None, :])[0])
            return np.asarray(np.where(xs < 0, 0.0, out).reshape(shape))
        return np.asarray(self._mix(par, study).pdf(xs[None, :])[0].reshape(shape))

    def cdf(self, x: ArrayLike, parameter: str = "mu", *, study: int | str | None = None) -> F64:
        """Posterior CDF ``P(parameter ≤ x | y)`` (vectorised)."""
        par = self._check(parameter, study)
        xs = as_float_array(np.ravel(np.asarray(x, dtype=np.float64)), "x")
        if par == "tau":
            with np.errstate(divide="ignore"):
                u = np.log(np.maximum(xs, 0.0))
            rep = self._posterior.take(np.zeros(u.size, dtype=np.intp))  # the one row, once per point
            out = rep.cdf_u(np.where(np.isfinite(u), u, -np.inf)) if u.size else u
            return np.asarray(np.where(xs <= 0, 0.0, out).reshape(np.shape(x)))
        return np.asarray(self._mix(par, study).cdf(xs[None, :])[0].reshape(np.shape(x)))

    def quantile(self, p: ArrayLike, parameter: str = "mu", *, study: int | str | None = None) -> F64:
        """Posterior quantiles (inverse CDF) at probabilities ``p``."""
        par = self._check(parameter, study)
        ps = as_float_array(np.ravel(np.asarray(p, dtype=np.float64)), "p")
        if ((ps < 0) | (ps > 1)).any():
            raise MetaacuInputError("argument 'p' must hold probabilities in [0, 1]")
        if par == "tau":
            rep = self._posterior.take(np.zeros(ps.size, dtype=np.intp))
            out = np.exp(rep.quantile_u(ps)) if ps.size else ps
        else:
            mix = self._mix(par, study)
            inner = np.clip(ps, 1e-300, 1.0 - 1e-16)
            out = np.array([mix.quantile(np.array([pi]))[0] for pi in inner])
            out = np.where(ps == 0, -np.inf, np.where(ps == 1, np.inf, out))
        return np.asarray(out.reshape(np.shape(p)))

    def prob(
        self,
        parameter: str = "mu",
        *,
        lower: float | None = None,
        upper: float | None = None,
        study: int | str | None = None,
    ) -> float:
        """Posterior probability ``P(lower < parameter < upper | y)``; omit a bound for a one-sided
        probability: ``prob("mu", lower=0)`` is P(μ > 0), ``prob("mu", upper=0)`` is P(μ < 0).

        Examples
        --------
        >>> from metaacu.bayes import bayesian_meta_analysis
        >>> from metaacu.bayes_priors import HalfNormal
        >>> res = bayesian_meta_analysis([0.1, 0.3, 0.35], [0.02, 0.03, 0.01], tau_prior=HalfNormal(0.5))
        >>> round(res.prob("mu", lower=0.0), 4), round(res.prob("tau", lower=0.5), 4)
        (0.9467, 0.072)
        """
        par = self._check(parameter, study)
        if lower is None and upper is None:
            raise MetaacuInputError("give 'lower', 'upper' or both")
        lo = -math.inf if lower is None else check_number(lower, "lower")
        hi = math.inf if upper is None else check_number(upper, "upper")
        if hi <= lo:
            raise MetaacuInputError(f"argument 'upper' ({hi:g}) must be above 'lower' ({lo:g})")
        if par == "tau":

            def cdf(t: float) -> float:
                if t <= 0:
                    return 0.0
                if math.isinf(t):
                    return 1.0
                return float(self._posterior.cdf_u(np.array([math.log(t)]))[0])

            return cdf(hi) - cdf(lo)
        mix = self._mix(par, study)
        below = 0.0 if math.isinf(lo) else float(mix.cdf(np.array([lo]))[0])
        above = 0.0 if math.isinf(hi) else float(mix.sf(np.array([hi]))[0])
        return 1.0 - below - above

    def credible_interval(
        self,
        parameter: str = "mu",
        level: float | None = None,
        *,
        kind: str = "shortest",
        study: int | str | None = None,
    ) -> Interval:
        """Credible interval of ``parameter`` at ``level`` (default: the fit's), ``kind`` ``"shortest"``
        (as bayesmeta's default) or ``"central"``."""
        par = self._check(parameter, study)
        lv = self.level if level is None else check_level(level)
        kind = check_choice(kind, "kind", INTERVALS)
        label = f"{kind} credible interval"
        if par == "tau":
            if kind == "central":
                lo_, hi_ = (
                    float(np.exp(self._posterior.quantile_u(np.array([pp]))[0])) for pp in ((1 - lv) / 2, (1 + lv) / 2)
                )
                return Interval(lo_, hi_, lv, label)
            a, b = self._posterior.tau_shortest(lv)
            return Interval(float(a[0]), float(b[0]), lv, label)
        mix = self._mix(par, study)
        if kind == "central":
            lo_q, hi_q = mix.quantile(np.array([(1.0 - lv) / 2.0]))[0], mix.quantile(np.array([(1.0 + lv) / 2.0]))[0]
            return Interval(float(lo_q), float(hi_q), lv, label)
        a, b = mix.shortest(lv)
        return Interval(float(a[0]), float(b[0]), lv, label)

    def density_grid(
        self, parameter: str = "mu", *, study: int | str | None = None, n: int = 401, coverage: float = 0.999
    ) -> pd.DataFrame:
        """The posterior density on an even grid of ``n`` points spanning the central ``coverage``
        interval (from 0 for τ): a frame with columns ``x, density``."""
        par = self._check(parameter, study)
        n = int(n)
        if n < 2:
            raise MetaacuInputError("argument 'n' must be at least 2")
        cov = check_level(coverage, "coverage")
        lo = 0.0 if par == "tau" else float(self.quantile((1.0 - cov) / 2.0, par, study=study))
        hi = float(self.quantile((1.0 + cov) / 2.0, par, study=study))
        x = np.linspace(lo, hi, n)
        return pd.DataFrame({"x": x, "density": self.pdf(x, par, study=study)})

    # ---------------------------------------------------------------- evidence
    def _need_proper(self, what: str) -> None:
        bad = [name for name, pr in (("tau", self.tau_prior), ("mu", self.mu_prior)) if not pr.proper]
        if bad:
            raise MetaacuInputError(
                f"{what} is not defined: the {' and '.join(bad)} prior is improper (its arbitrary constant does not "
                "cancel); use proper priors for both mu (MuPrior.normal) and tau"
            )

    def log_marginal_likelihood(self) -> float:
        """``log p(y) = log ∫∫ p(y | μ, τ) p(μ) p(τ) dμ dτ`` (both priors must be proper)."""
        self._need_proper("the marginal likelihood")
        return float(self._posterior.quad.logz[0])

    def bayes_factor(self, *, mu: float | None = None, tau: float | None = None) -> float:
        """Bayes factor ``BF₀₁ = p(y | H₀)/p(y)`` of the point hypothesis ``μ = mu`` or ``τ = tau``
        against the fitted model (values above 1 favour H₀; bayesmeta's ``bayesfactor["actual", ...]``).

        ``p(y | τ = c) = ∫ p(y | μ, c) p(μ) dμ`` is closed-form; ``p(y | μ = c) = ∫ p(y | c, τ) p(τ) dτ``
        is integrated as the posterior is.  Both priors must be proper (refused otherwise).  By the
        Savage-Dickey identity this equals ``p(H₀ | y)/p(H₀)`` (posterior over prior density).

        Examples
        --------
        >>> from metaacu.bayes import bayesian_meta_analysis
        >>> from metaacu.bayes_priors import HalfNormal, MuPrior
        >>> res = bayesian_meta_analysis([0.1, 0.3, 0.35], [0.02, 0.03, 0.01], tau_prior=HalfNormal(0.5),
        ...                              mu_prior=MuPrior.normal(0, 1))
        >>> round(res.bayes_factor(mu=0.0), 4), round(res.bayes_factor(tau=0.0), 4)
        (1.0677, 2.163)
        """
        if (mu is None) == (tau is None):
            raise MetaacuInputError("give exactly one of 'mu' and 'tau'")
        self._need_proper("a Bayes factor")
        post = self._posterior
        logz = post.quad.logz[0]
        if tau is not None:
            t = check_number(tau, "tau", low=0.0)
            ll, _, _ = post.model.conditional(np.array([[t]]))
            return float(np.exp(ll[0, 0] - logz))
        c = check_number(mu, "mu")
        return float(np.exp(log_evidence_mu(post.model, c, self.rtol) - logz))

    # ---------------------------------------------------------------- presentation
    def to_frame(self, interval: str = "shortest", scale: str = "pooling") -> pd.DataFrame:
        """Tidy frame: one row per study (``row_type`` ``"study"``, the shrinkage posterior of θᵢ next to
        the observed ``yi`` and its ``se``), then ``"pooled"`` (μ), ``"prediction"`` (θ_new) and
        ``"heterogeneity"`` (τ).

        Columns: ``row_type, label, yi, se, median, mean, sd, ci_low, ci_high`` with the ``interval``
        (``"shortest"`` or ``"central"``) at the fit's level.  ``scale="response"`` back-transforms
        ``yi``, ``median`` and the bounds of every row but τ (e.g. ``exp`` for log odds ratios) and
        drops ``se``, ``mean`` and ``sd`` (not invariant); a back-transformed shortest interval is
        still a credible interval of the same level, but no longer the shortest one.
        """
        kind = check_choice(interval, "interval", INTERVALS)
        check_choice(scale, "scale", SCALES)
        rows = [*self.theta, self.mu, self.theta_new, self.tau]
        types = ["study"] * self.k + ["pooled", "prediction", "heterogeneity"]
        iv = [r.interval(kind) for r in rows]
        frame = pd.DataFrame(
            {
                "row_type": types,
                "label": [*self.labels, "mu", "theta_new", "tau"],
                "yi": [*self.yi, np.nan, np.nan, np.nan],
                "se": [*np.sqrt(self.vi), np.nan, np.nan, np.nan],
                "median": [r.median for r in rows],
                "mean": [r.mean for r in rows],
                "sd": [r.sd for r in rows],
                "ci_low": [i.low for i in iv],
                "ci_high": [i.high for i in iv],
            }
        )
        frame.attrs.update({"measure": self.measure, "interval": kind, "level": self.level})
        if scale == "response":
            tau_row = frame["row_type"] == "heterogeneity"
            keep = frame.loc[tau_row, ["median", "ci_low", "ci_high"]].copy()
            frame = on_scale(
                frame.drop(columns=["mean", "sd"]), self.measure, scale, ("yi", "median", "ci_low", "ci_high")
            )
            frame.loc[tau_row, ["median", "ci_low", "ci_high"]] = keep.to_numpy()
            frame.attrs.update({"measure": self.measure, "interval": kind, "level": self.level})
        else:
            on_scale(frame, self.measure, scale)
        return frame

    def grid_frame(self) -> pd.DataFrame:
        """The quadrature representation: τ nodes, weights and the conditional moments of μ there."""
        p = self._posterior
        return pd.DataFrame(
            {
                "tau": p.tau[0],
                "weight": p.quad.w[0],
                "mu_mean": p.cmean[0] + p.model.center[0],
                "mu_sd": np.sqrt(p.cvar[0]),
                "theta_new_sd": np.sqrt(p.cvar[0] + p.tau[0] ** 2),
            }
        )

    def _table_caption(self) -> str:
        return f"Posterior medians and {100 * self.level:g}% shortest credible intervals."

    def summary(self, digits: int = 4, interval: str = "shortest") -> str:
        """Text summary in the spirit of bayesmeta's ``print.bayesmeta``."""
        d = check_digits(digits)
        kind = check_choice(interval, "interval", INTERVALS)
        w = max(10, d + 7)

        def num(x: float) -> str:
            if not np.isfinite(x):
                return f"{'NA' if np.isnan(x) else ('inf' if x > 0 else '-inf'):>{w}}"
            return f"{x:>{w}.{d}f}"

        lw = min(max([12, *(len(lab) + 1 for lab in self.labels)]), 32)
        head = f"{'':<{lw}}" + "".join(f"{h:>{w}}" for h in ("median", "mean", "sd", "lower", "upper"))
        lines = [
            f"Bayesian random-effects meta-analysis (normal-normal hierarchical model), k = {self.k}",
            f"  tau prior: {self.tau_prior.describe()}"
            + (f"  [{self.tau_prior.citation}]" if self.tau_prior.citation else ""),
            f"  mu prior:  {self.mu_prior.describe()}",
            "",
            f"Marginal posteriors ({100 * self.level:g}% {kind} credible intervals):",
            head,
        ]
        for name, s in (("mu", self.mu), ("tau", self.tau), ("theta_new", self.theta_new)):
            iv = s.interval(kind)
            lines.append(f"{name:<{lw}}" + "".join(num(x) for x in (s.median, s.mean, s.sd, iv.low, iv.high)))
        lines.append(f"P(mu > 0 | y) = {self.prob_mu_positive:.{d}g}")
        if self.tau_prior.proper and self.mu_prior.proper:
            lines.append(
                f"log marginal likelihood = {self.log_marginal_likelihood():.{d}f};  Bayes factors BF01: "
                f"mu = 0: {self.bayes_factor(mu=0.0):.{d}g},  tau = 0: {self.bayes_factor(tau=0.0):.{d}g}"
            )
        else:
            lines.append("marginal likelihood and Bayes factors: not defined (improper prior)")
        lines += [
            "",
            "Shrinkage estimates (posterior of each study's true effect):",
            f"{'':<{lw}}" + "".join(f"{h:>{w}}" for h in ("yi", "median", "sd", "lower", "upper")),
        ]
        for lab, y, s in zip(self.labels, self.yi, self.theta, strict=True):
            iv = s.interval(kind)
            lines.append(f"{lab[: lw - 1]:<{lw}}" + "".join(num(x) for x in (y, s.median, s.sd, iv.low, iv.high)))
        lines += [
            "",
            f"tau integrated by adaptive Gauss-Kronrod quadrature in log(tau): {self.tau_nodes.size} nodes, "
            f"estimated relative error {self.error_estimate:.1e} (rtol {self.rtol:.0e})",
        ]
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        s = self.mu.shortest
        return (
            f"<BayesianMetaAnalysis k={self.k} mu={self.mu.median:.4g} [{s.low:.4g}, {s.high:.4g}] "
            f"tau={self.tau.median:.4g} tau prior={self.tau_prior.describe()}>"
        )


def readonly_copy(a: F64) -> F64:
    """A read-only copy."""
    out = np.array(a, dtype=np.float64)
    out.setflags(write=False)
    return out


def fitted_result(
    posterior: Posterior,
    *,
    mu: PosteriorSummary,
    tau: PosteriorSummary,
    theta_new: PosteriorSummary,
    theta: tuple[PosteriorSummary, ...],
    prob_mu_positive: float,
    yi: F64,
    vi: F64,
    labels: tuple[str, ...],
    measure: str | None,
    level: float,
    rtol: float,
    notes: tuple[str, ...],
    effects: EffectSizes | None,
) -> BayesianMetaAnalysis:
    """The :class:`BayesianMetaAnalysis` of a one-row ``posterior`` (whose priors, quadrature error,
    neglected mass, nodes and weights it records, with read-only copies of the arrays), queried by its
    methods; the other fields as given."""
    return BayesianMetaAnalysis(
        mu=mu,
        tau=tau,
        theta_new=theta_new,
        theta=theta,
        prob_mu_positive=prob_mu_positive,
        k=yi.size,
        yi=readonly_copy(yi),
        vi=readonly_copy(vi),
        labels=labels,
        measure=measure,
        tau_prior=posterior.model.tau_prior,
        mu_prior=posterior.model.mu_prior,
        level=level,
        rtol=rtol,
        error_estimate=float(posterior.quad.error[0]),
        neglected_mass=float(posterior.quad.neglected[0]),
        tau_nodes=readonly_copy(posterior.tau[0]),
        weights=readonly_copy(posterior.quad.w[0]),
        notes=notes,
        _posterior=posterior,
        effects=effects,
    )
