"""The fitted posterior of :mod:`metaacu.bayes` (:class:`Posterior`) and its summaries
(:class:`PosteriorSummary`).

:meth:`Posterior.fit` integrates ``p(u | y)``, ``u = log τ``, for ``m`` meta-analyses by the adaptive
quadrature of :mod:`metaacu.bayes_quadrature`, controlling the normalising constant, E[τ], E[τ²],
E[μ], E[μ²] (where they exist) and P(μ > 0 | y), and keeps the conditional moments μ̂(τⱼ), 1/W(τⱼ)
of μ at the nodes (:mod:`metaacu.bayes_model`).  From it: the τ density exactly, the τ CDF (the sum
of the panels left of τ plus a 15-point Kronrod rule on the last partial panel), τ quantiles (Newton
within the panel), shortest τ intervals (one-sided ``[0, b]`` when the density at 0 is the higher
end), and the other marginals as mixtures of normals (:mod:`metaacu.bayes_mixture`):

    μ | y       ≈ Σⱼ Wⱼ N(μ̂(τⱼ), 1/W(τⱼ))                                      (Röver 2020, eq. 18)
    θ_new | y   ≈ Σⱼ Wⱼ N(μ̂(τⱼ), 1/W(τⱼ) + τⱼ²)                                 (Röver 2020, Sec. 2.7)
    θᵢ | y      ≈ Σⱼ Wⱼ N((1 − Bᵢ)yᵢ + Bᵢμ̂, (1 − Bᵢ)vᵢ + Bᵢ²/W),  Bᵢ = vᵢ/(vᵢ + τⱼ²)      (Sec. 2.8)

(Röver 2020, J Stat Softw 93(6)).  :func:`log_evidence_mu` integrates ``p(y | μ = c)`` by the same
quadrature, for Bayes factors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import special

from ._validation import check_choice
from .bayes_mixture import Mix, min_width, newton_hpd
from .bayes_model import LOG_2PI, Model, moment_exists, tail_exponents
from .bayes_quadrature import WK, XK, Quadrature, quadrature
from .interval import Interval

__all__ = ["INTERVALS", "Posterior", "PosteriorSummary", "log_evidence_mu", "summaries"]

F64 = NDArray[np.float64]
#: Kinds of credible interval: the shortest one, or the central one (equal tails).
INTERVALS: Final = ("shortest", "central")


@dataclass(frozen=True)
class Posterior:
    """The fitted posterior of ``m`` meta-analyses: τ quadrature and the conditional moments of μ."""

    model: Model
    quad: Quadrature
    tau: F64  # (m, n) nodes
    cmean: F64  # (m, n) μ̂(τ), centred
    cvar: F64  # (m, n) 1/W(τ)
    alpha: F64  # posterior tail exponents (see tail_exponents)
    beta: float

    @classmethod
    def fit(cls, model: Model, rtol: float) -> Posterior:
        """Fit ``model``: the τ quadrature to ``rtol`` and the conditional moments of μ at its nodes."""
        alpha, beta = tail_exponents(model)
        m1, m2 = moment_exists(alpha, beta, 1.0), moment_exists(alpha, beta, 2.0)
        mu1, mu2 = (np.ones_like(m1), np.ones_like(m2)) if model.mu_prior.proper else (m1, m2)
        a_right = np.where(m2, 2.0, np.where(m1, 1.0, 0.0))
        shift = model.center[:, None]

        def logdens(u: F64) -> F64:
            return model.logpost_u(u)[0]

        def evaluate(u: F64) -> tuple[F64, list[F64], list[F64]]:
            g, mean, var = model.logpost_u(u)
            tau = np.exp(u)
            sd = np.sqrt(var)
            t1, t2 = tau * m1[:, None], tau * tau * m2[:, None]
            e1, e2 = mean * mu1[:, None], (mean * mean + var) * mu2[:, None]
            pos = special.ndtr((mean + shift) / sd)
            return g, [t1, t2, e1, e2, pos], [t1, t2, (np.abs(mean) + sd) * mu1[:, None], e2, np.ones_like(g)]

        quad = quadrature(model, logdens, evaluate, a_right, rtol)
        _, mean, var = model.logpost_u(quad.u)
        return cls(model, quad, np.exp(quad.u), mean, var, alpha, beta)

    # ---------------------------------------------------------------- τ
    def moment_flags(self) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        return moment_exists(self.alpha, self.beta, 1.0), moment_exists(self.alpha, self.beta, 2.0)

    def _g(self, u: F64) -> F64:
        return self.model.logpost_u(u)[0]

    def _partial(self, a: F64, b: F64) -> tuple[F64, F64]:
        """``(∫_a^b p(u | y) du, p(b | y))`` per row (15-point Kronrod rule on one sub-panel)."""
        half = 0.5 * (b - a)
        pts = np.concatenate([(a + half)[:, None] + half[:, None] * XK, b[:, None]], axis=1)
        e = np.exp(self._g(pts) - self.quad.gref[:, None]) / self.quad.total[:, None]
        return (e[:, :15] * WK).sum(axis=1) * half, e[:, 15]

    def _panel(self, u: F64) -> tuple[F64, F64]:
        brk = self.quad.breaks
        j = np.clip((brk[:, 1:] < u[:, None]).sum(axis=1), 0, brk.shape[1] - 2)
        rows = np.arange(brk.shape[0])
        return brk[rows, j], self.quad.cdf[rows, j]

    def cdf_u(self, u: F64) -> F64:
        """P(log τ ≤ u | y) per row."""
        brk = self.quad.breaks
        uu = np.clip(u, brk[:, 0], brk[:, -1])
        a, c0 = self._panel(uu)
        part, _ = self._partial(a, uu)
        return np.where(u <= brk[:, 0], 0.0, np.where(u >= brk[:, -1], 1.0, np.clip(c0 + part, 0.0, 1.0)))

    def pdf_u(self, u: F64) -> F64:
        """Posterior density of u = log τ (rows × points)."""
        return np.asarray(np.exp(self._g(u) - self.quad.logz[:, None]))

    def quantile_u(self, p: F64) -> F64:
        """Quantiles of log τ: Newton on the CDF within the panel that holds ``p``."""
        brk, cdf = self.quad.breaks, self.quad.cdf
        rows = np.arange(brk.shape[0])
        j = np.clip((cdf[:, 1:] < p[:, None]).sum(axis=1), 0, brk.shape[1] - 2)
        lo, hi = brk[rows, j].copy(), brk[rows, j + 1].copy()
        c0, c1 = cdf[rows, j], cdf[rows, j + 1]
        a = lo.copy()
        with np.errstate(invalid="ignore", divide="ignore"):
            u = np.where(c1 > c0, lo + (p - c0) / (c1 - c0) * (hi - lo), 0.5 * (lo + hi))
        u = np.clip(np.nan_to_num(u, nan=0.5), lo, hi)
        for _ in range(100):
            part, dens = self._partial(a, u)
            res = c0 + part - p
            lo = np.where(res < 0, u, lo)
            hi = np.where(res > 0, u, hi)
            with np.errstate(divide="ignore", invalid="ignore"):
                nxt = u - res / dens
            nxt = np.where((nxt > lo) & (nxt < hi), nxt, 0.5 * (lo + hi))
            small = np.abs(res) <= 1e-15 * np.minimum(p, 1.0 - p)
            done = (np.abs(nxt - u) <= 1e-14 * np.maximum(1.0, np.abs(u))) | small | (hi - lo <= 1e-15)
            u = np.where(small, u, nxt)
            if done.all():
                break
        return np.where(p <= 0, -np.inf, np.where(p >= 1, np.inf, u))

    def tau_logpdf(self, tau: F64) -> F64:
        """log p(τ | y) (rows × points), including τ = 0."""
        t = np.asarray(tau, dtype=np.float64)
        ll, _, _ = self.model.conditional(np.maximum(t, 0.0))
        with np.errstate(invalid="ignore"):
            out = self.model.logprior(t) + ll - self.quad.logz[:, None]
        return np.where(np.isnan(out), -np.inf, out)

    def tau_shortest(self, level: float) -> tuple[F64, F64]:
        """Shortest τ interval per row: ``[0, Q(level)]`` when the density at 0 is at least that at
        ``Q(level)``; ``[Q(1 − level), max]`` for a bounded prior with the density highest at its
        bound; otherwise Newton in u (with a bounded one-dimensional minimisation as fallback)."""
        m = self.tau.shape[0]
        logz = self.quad.logz

        def logf(u: F64) -> F64:
            return self._g(u[:, None])[:, 0] - u - logz

        q_hi = self.quantile_u(np.full(m, level))
        lo0 = self.tau_logpdf(np.zeros((m, 1)))[:, 0]
        at_zero = lo0 >= logf(q_hi)
        a = np.where(at_zero, -np.inf, 0.0)
        b = q_hi.copy()
        top = math.log(self.model.tau_prior.support_max) if math.isfinite(self.model.tau_prior.support_max) else None
        at_top = np.zeros(m, dtype=bool)
        if top is not None:
            q_lo = self.quantile_u(np.full(m, 1.0 - level))
            at_top = ~at_zero & (logf(np.full(m, top)) >= logf(q_lo))
            a, b = np.where(at_top, q_lo, a), np.where(at_top, top, b)
        inner = ~(at_zero | at_top)
        if inner.any():
            idx = np.flatnonzero(inner)
            na, nb = (self if idx.size == m else self.take(idx))._tau_hpd(level)
            a[idx], b[idx] = na, nb
        return np.exp(a), np.exp(b)

    def _tau_hpd(self, level: float) -> tuple[F64, F64]:
        """Interior shortest τ interval of every row, in u: Newton from the central interval, with a
        bounded one-dimensional minimisation of the width where Newton fails."""
        m = self.tau.shape[0]
        ca = self.quantile_u(np.full(m, (1.0 - level) / 2.0))
        cb = self.quantile_u(np.full(m, (1.0 + level) / 2.0))

        def ev(lo: F64, hi: F64) -> tuple[F64, F64, F64, F64, F64, F64]:
            pts = np.stack([lo, hi], axis=1)
            g = self._g(pts)
            dg = self.model.dlogpost_u(pts) - 1.0
            fu = np.exp(g - self.quad.logz[:, None])
            mass = self.cdf_u(hi) - self.cdf_u(lo)
            lf = g - pts
            return mass - level, lf[:, 1] - lf[:, 0], fu[:, 0], fu[:, 1], dg[:, 0], dg[:, 1]

        na, nb, ok = newton_hpd(ev, ca, cb)
        for i in np.flatnonzero(~ok):
            sub = self.take(np.array([i]))

            def q(p: float, sub: Posterior = sub) -> float:
                return float(np.exp(sub.quantile_u(np.array([p]))[0]))

            lo_t, hi_t = min_width(q, level, 0.0)
            na[i], nb[i] = (math.log(lo_t) if lo_t > 0 else -math.inf), math.log(hi_t)
        return na, nb

    def take(self, idx: NDArray[np.intp]) -> Posterior:
        """The posterior of the rows ``idx`` only."""
        md, q = self.model, self.quad
        model = Model(md.y[idx], md.v[idx], md.kk[idx], md.center[idx], md.tau_prior, md.mu_prior, md.m0[idx])
        quad = Quadrature(
            q.breaks[idx],
            q.u[idx],
            q.w[idx],
            q.logz[idx],
            q.gref[idx],
            q.total[idx],
            q.cdf[idx],
            q.error[idx],
            q.neglected[idx],
            q.converged,
        )
        return Posterior(model, quad, self.tau[idx], self.cmean[idx], self.cvar[idx], self.alpha[idx], self.beta)

    # ---------------------------------------------------------------- mixtures
    def mixtures(self, studies: bool = False, prune: bool = False) -> Mix:
        """Rows ``[μ, θ_new]`` of each meta-analysis (``m = 1`` with ``studies``: then also θ₁ … θ_k)."""
        w, tau, mean, var = self.quad.w, self.tau, self.cmean + self.model.center[:, None], self.cvar
        if prune and w.shape[0] == 1:
            # drop the smallest weights that add up to at most 1e-13 (the mixture moves by less in any
            # probability; the moments are taken from the unpruned mixture)
            order = np.argsort(w[0])
            keep = np.ones(w.shape[1], dtype=bool)
            keep[order[np.cumsum(w[0, order]) <= 1e-13]] = False
            w, tau, mean, var = w[:, keep], tau[:, keep], mean[:, keep], var[:, keep]
        ws = [w, w]
        ms = [mean, mean]
        ss = [np.sqrt(var), np.sqrt(var + tau * tau)]
        if studies:
            v = self.model.v[0][: int(self.model.kk[0])]
            y = self.model.y[0][: int(self.model.kk[0])] + self.model.center[0]
            shrink = v[:, None] / (v[:, None] + tau * tau)  # (k, n)
            ws.append(np.broadcast_to(w, shrink.shape))
            ms.append((1.0 - shrink) * y[:, None] + shrink * mean)
            ss.append(np.sqrt((1.0 - shrink) * v[:, None] + shrink * shrink * var))
        if w.shape[0] == 1:
            return Mix(np.concatenate(ws), np.concatenate(ms), np.concatenate(ss))
        return Mix(
            np.stack(ws, 1).reshape(-1, w.shape[1]),
            np.stack(ms, 1).reshape(-1, w.shape[1]),
            np.stack(ss, 1).reshape(-1, w.shape[1]),
        )


@dataclass(frozen=True, repr=False)
class PosteriorSummary:
    """Summary of one marginal posterior: mean, SD, median, and central and shortest credible intervals.

    ``mean`` is NaN and ``sd`` inf when the posterior moment does not exist (heavy-tailed τ prior with
    few studies); ``central`` is ``[Q((1 − level)/2), Q((1 + level)/2)]`` and ``shortest`` the
    shortest interval with probability ``level`` (one-sided ``[0, b]`` for τ when the density is
    highest at 0).

    Attributes
    ----------
    parameter : str
        ``"mu"``, ``"tau"``, ``"theta_new"`` or a study label (posterior of that study's θᵢ).
    mean, sd, median : float
    central, shortest : Interval
    """

    parameter: str
    mean: float
    sd: float
    median: float
    central: Interval
    shortest: Interval

    def interval(self, kind: str = "shortest") -> Interval:
        """The ``"shortest"`` or ``"central"`` interval."""
        return self.shortest if check_choice(kind, "interval", INTERVALS) == "shortest" else self.central

    def __repr__(self) -> str:
        s = self.shortest
        return (
            f"<PosteriorSummary {self.parameter}: median={self.median:.4g} mean={self.mean:.4g} sd={self.sd:.4g} "
            f"{100 * s.level:g}% shortest [{s.low:.4g}, {s.high:.4g}]>"
        )


def summaries(
    names: Sequence[str],
    mean: F64,
    sd: F64,
    median: F64,
    central: tuple[F64, F64],
    short: tuple[F64, F64],
    level: float,
) -> list[PosteriorSummary]:
    """One :class:`PosteriorSummary` per name from per-row arrays (``central`` and ``short`` as ``(lows, highs)``)."""
    return [
        PosteriorSummary(
            str(n),
            float(mean[i]),
            float(sd[i]),
            float(median[i]),
            Interval(float(central[0][i]), float(central[1][i]), level, "central credible interval"),
            Interval(float(short[0][i]), float(short[1][i]), level, "shortest credible interval"),
        )
        for i, n in enumerate(names)
    ]


def log_evidence_mu(model: Model, mu: float, rtol: float) -> F64 | float:
    """``log p(y | μ = mu) = log ∫ Πᵢ N(yᵢ; mu, vᵢ + τ²) p(τ) dτ`` (row 0), by the same quadrature."""
    c = mu - model.center[:, None]
    valid = np.isfinite(model.v)

    def logdens(u: F64) -> F64:
        tau = np.exp(u)
        d = model.v[:, None, :] + (tau * tau)[:, :, None]
        r = model.y[:, None, :] - c[:, :, None]
        with np.errstate(invalid="ignore"):
            terms = np.where(valid[:, None, :], -0.5 * (LOG_2PI + np.log(d) + r * r / d), 0.0)
            g = model.logprior(tau) + terms.sum(axis=2) + u
        return np.where(np.isnan(g), -np.inf, g)

    def evaluate(u: F64) -> tuple[F64, list[F64], list[F64]]:
        return logdens(u), [], []

    quad = quadrature(model, logdens, evaluate, np.zeros(model.kk.shape), rtol)
    return float(quad.logz[0])
