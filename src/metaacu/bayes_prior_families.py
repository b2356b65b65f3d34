"""The prior families of Bayesian random-effects meta-analysis (:func:`metaacu.bayes.bayesian_meta_analysis`):
the :class:`TauPrior` classes for the heterogeneity τ and :class:`MuPrior` for the overall effect μ.

The heterogeneity τ (the between-study standard deviation) gets one of the frozen :class:`TauPrior`
classes below; the overall effect μ gets a :class:`MuPrior` (flat, improper, or normal).  Every τ
prior has a vectorised ``logpdf(tau, vi)`` (normalised when the prior is proper; ``vi`` is only read
by :class:`Jeffreys`), its derivative ``dlogpdf``, a ``describe()`` text, and the facts the fit needs
to decide whether a posterior is proper and which posterior moments exist (:meth:`TauPrior.tail`).
The Jeffreys prior is Röver 2020, J Stat Softw 93(6), Sec. 2.2, eq. (7).  Gather them, and the
named presets of :mod:`metaacu.bayes_presets`, from :mod:`metaacu.bayes_priors`.
"""

from __future__ import annotations

import functools
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._validation import MetaacuInputError, check_number

__all__ = [
    "Exponential",
    "HalfCauchy",
    "HalfNormal",
    "HalfStudentT",
    "Jeffreys",
    "LogNormal",
    "LogStudentT",
    "MuPrior",
    "TauPrior",
    "Uniform",
]

F64 = NDArray[np.float64]
_LOG2: Final = math.log(2.0)
_LOG_SQRT_2PI: Final = 0.5 * math.log(2.0 * math.pi)
#: Tail of a density far out: ``p(τ) ~ τ^-alpha (log τ)^-beta``; ``alpha = inf`` for light tails.
Tail = tuple[float, float]
LIGHT: Final[Tail] = (math.inf, 0.0)


def _positive(value: float, name: str) -> float:
    return check_number(value, name, low=0.0, low_open=True)


def _tau(tau: ArrayLike) -> F64:
    return np.asarray(tau, dtype=np.float64)


def _quiet(f: Callable[..., F64]) -> Callable[..., F64]:
    """Evaluate a log density without overflow warnings (a density that underflows is -inf)."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> F64:
        with np.errstate(over="ignore", under="ignore"):
            return f(*args, **kwargs)

    return wrapper


def _t_logpdf(z: F64, df: float) -> F64:
    """Log density of Student's t with ``df`` degrees of freedom."""
    c = special.gammaln((df + 1.0) / 2.0) - special.gammaln(df / 2.0) - 0.5 * math.log(df * math.pi)
    return np.asarray(c - (df + 1.0) / 2.0 * np.log1p(z * z / df), dtype=np.float64)


def _inside(tau: F64, values: F64, upper: float = math.inf) -> F64:
    """``values`` where ``0 <= tau <= upper``, ``-inf`` elsewhere."""
    return np.where((tau >= 0.0) & (tau <= upper), values, -np.inf)


class TauPrior(ABC):
    """A prior for the heterogeneity τ ≥ 0 (the between-study standard deviation).

    Subclasses are frozen dataclasses.  ``citation`` records where a preset's numbers come from.
    """

    #: Short family name used in :meth:`describe`.
    family: ClassVar[str] = ""
    citation: str

    @abstractmethod
    def logpdf(self, tau: ArrayLike, vi: F64 | None = None) -> F64:
        """Log prior density at ``tau`` (vectorised; ``-inf`` outside the support).

        Normalised for a proper prior; for an improper one (:class:`Jeffreys`, ``Uniform(inf)``) the
        density is known up to a constant only."""

    @abstractmethod
    def dlogpdf(self, tau: ArrayLike, vi: F64 | None = None) -> F64:
        """Derivative of :meth:`logpdf` with respect to τ (for τ > 0 inside the support)."""

    @abstractmethod
    def describe(self) -> str:
        """One-line description, e.g. ``"half-normal(scale=0.5)"``."""

    @property
    def proper(self) -> bool:
        """True when the density integrates to 1 (every prior here except Jeffreys and Uniform(inf))."""
        return True

    @property
    def support_max(self) -> float:
        """Upper end of the support (``inf`` except for :class:`Uniform`)."""
        return math.inf

    def tail(self) -> Tail:
        """``(alpha, beta)`` with ``p(τ) ~ τ^-alpha (log τ)^-beta`` as τ → ∞ (``alpha = inf``: lighter
        than every power).  Decides propriety of the posterior and which moments exist."""
        return LIGHT

    def quantile(self, p: ArrayLike) -> F64:
        """Prior quantiles (proper priors); used to place the first τ nodes where the prior has mass."""
        raise MetaacuInputError(f"the {self.describe()} prior is improper: it has no quantiles")

    def pdf(self, tau: ArrayLike, vi: F64 | None = None) -> F64:
        """Prior density at ``tau`` (see :meth:`logpdf`)."""
        return np.asarray(np.exp(self.logpdf(tau, vi)), dtype=np.float64)

    def __str__(self) -> str:
        return self.describe()


@dataclass(frozen=True)
class HalfNormal(TauPrior):
    """Half-normal prior, ``p(τ) = 2/scale · φ(τ/scale)`` on τ ≥ 0 (median 0.674·scale).

    Examples
    --------
    >>> HalfNormal(0.5).describe(), round(float(HalfNormal(0.5).quantile(0.95)), 4)
    ('half-normal(scale=0.5)', 0.98)
    """

    scale: float
    citation: str = ""
    family: ClassVar[str] = "half-normal"

    def __post_init__(self) -> None:
        _positive(self.scale, "scale")

    @_quiet
    def logpdf(self, tau: ArrayLike, vi: F64 | None = None) -> F64:
        t = _tau(tau)
        z = t / self.scale
        return _inside(t, _LOG2 - _LOG_SQRT_2PI - math.log(self.scale) - 0.5 * z * z)

    @_quiet
    def dlogpdf(self, tau: ArrayLike, vi: F64 | None = None) -> F64:
        return -_tau(tau) / self.scale**2

    def quantile(self, p: ArrayLike) -> F64:
        return np.asarray(self.scale * special.ndtri((1.0 + np.asarray(p, dtype=np.float64)) / 2.0))

    def describe(self) -> str:
        return f"half-normal(scale={self.scale:g})"


@dataclass(frozen=True)
class HalfStudentT(TauPrior):
    """Half-Student-t prior with ``df`` degrees of freedom: ``p(τ) = 2/scale · t_df(τ/scale)`` on τ ≥ 0.

    The tail is ``τ^-(df+1)``: the posterior mean of τ exists only when the data add enough decay
    (see :meth:`TauPrior.tail`)."""

    scale: float
    df: float
    citation: str = ""
    family: ClassVar[str] = "half-Student-t"

    def __post_init__(self) -> None:
        _positive(self.scale, "scale")
        _positive(self.df, "df")

    @_quiet
    def logpdf(self, tau: ArrayLike, vi: F64 | None = None) -> F64:
        t = _tau(tau)
        return _inside(t, _LOG2 - math.log(self.scale) + _t_logpdf(t / self.scale, self.df))

    @_quiet
    def dlogpdf(self, tau: ArrayLike, vi: F64 | None = None) -> F64:
        t = _tau(tau)
        return -(self.df + 1.0) * t / (self.df * self.scale**2 + t * t)

    def tail(self) -> Tail:
        return (self.df + 1.0, 0.0)

    def quantile(self, p: ArrayLike) -> F64:
        return np.asarray(self.scale * special.stdtrit(self.df, (1.0 + np.asarray(p, dtype=np.float64)) / 2.0))

    def describe(self) -> str:
        return f"half-Student-t(scale={self.scale:g}, df={self.df:g})"


@dataclass(frozen=True)
class HalfCauchy(TauPrior):
    """Half-Cauchy prior, ``p(τ) = 2 / (π·scale·(1 + (τ/scale)²))`` on τ ≥ 0 (median = scale)."""

    scale: float
    citation: str = ""
    family: ClassVar[str] = "half-Cauchy"

    def __post_init__(self) -> None:
        _positive(self.scale, "scale")

    @_quiet
    def logpdf(self, tau: ArrayLike, vi: F64 | None = None) -> F64:
        t = _tau(tau)
        z = t / self.scale
        return _inside(t, _LOG2 - math.log(math.pi * self.scale) - np.log1p(z * z))

    @_quiet
    def dlogpdf(self, tau: ArrayLike, vi: F64 | None = None) -> F64:
        t = _tau(tau)
        return -2.0 * t / (self.scale**2 + t * t)

    def tail(self) -> Tail:
        return (2.0, 0.0)

    def quantile(self, p: ArrayLike) -> F64:
        return np.asarray(self.scale * np.tan(np.pi * np.asarray(p, dtype=np.float64) / 2.0))

    def describe(self) -> str:
        return f"half-Cauchy(scale={self.scale:g})"


@dataclass(frozen=True)
class Exponential(TauPrior):
    """Exponential prior with ``rate`` (the mean is ``1/rate``): ``p(τ) = rate·exp(−rate·τ)``.

    Parametrised by the rate, as R's ``dexp``; ``Exponential(1 / mean)`` for a given prior mean."""

    rate: float
    citation: str = ""
    family: ClassVar[str] = "exponential"

    def __post_init__(self) -> None:
        _positive(self.rate, "rate")

    @_quiet
    def logpdf(self, tau: ArrayLike, vi: F64 | None = None) -> F64:
        t = _tau(tau)
        return _inside(t, math.log(self.rate) - self.rate * t)

    @_quiet
    def dlogpdf(self, tau: ArrayLike, vi: F64 | None = None) -> F64:
        return np.full(np.shape(tau), -self.rate)

    def quantile(self, p: ArrayLike) -> F64:
        return np.asarray(-np.log1p(-np.asarray(p, dtype=np.float64)) / self.rate)

    def describe(self) -> str:
        return f"exponential(rate={self.rate:g})"


@dataclass(frozen=True)
class LogNormal(TauPrior):
    """Log-normal prior on τ: ``log τ ~ N(mu, sigma²)``.

    A log-normal prior on τ² with parameters ``(m, s)`` (as Turner et al. 2015 give them) is the
    log-normal ``(m/2, s/2)`` on τ: use :meth:`for_tau2`."""

    mu: float
    sigma: float
    citation: str = ""
    family: ClassVar[str] = "log-normal"

    def __post_init__(self) -> None:
        check_number(self.mu, "mu")
        _positive(self.sigma, "sigma")

    @classmethod
    def for_tau2(cls, mu: float, sigma: float, citation: str = "") -> LogNormal:
        """The prior on τ implied by ``log τ² ~ N(mu, sigma²)``: ``log τ ~ N(mu/2, (sigma/2)²)``."""
        check_number(mu, "mu")
        _positive(sigma, "sigma")
        return cls(mu / 2.0, sigma / 2.0, citation)

    @_quiet
    def logpdf(self, tau: ArrayLike, vi: F64 | None = None) -> F64:
        t = _tau(tau)
        with np.errstate(divide="ignore", invalid="ignore"):
            lt = np.log(t)
            z = (lt - self.mu) / self.sigma
            out = -_LOG_SQRT_2PI - math.log(self.sigma) - lt - 0.5 * z * z
        return np.where(t > 0.0, out, -np.inf)

    @_quiet
    def dlogpdf(self, tau: ArrayLike, vi: F64 | None = None) -> F64:
        t = _tau(tau)
        return -((np.log(t) - self.mu) / self.sigma**2 + 1.0) / t

    def quantile(self, p: ArrayLike) -> F64:
        return np.asarray(np.exp(self.mu + self.sigma * special.ndtri(np.asarray(p, dtype=np.float64))))

    def describe(self) -> str:
        return f"log-normal(mu={self.mu:.4g}, sigma={self.sigma:.4g}) on tau"


@dataclass(frozen=True)
class LogStudentT(TauPrior):
    """Log-Student-t prior on τ: ``(log τ − location)/scale ~ t_df``.

    Rhodes et al. (2015) give log-t(5) distributions for τ²; :meth:`for_tau2` halves location and
    scale.  Its tail, ``τ^-1 (log τ)^-(df+1)``, is heavier than any power: τ has no prior mean."""

    location: float
    scale: float
    df: float
    citation: str = ""
    family: ClassVar[str] = "log-Student-t"

    def __post_init__(self) -> None:
        check_number(self.location, "location")
        _positive(self.scale, "scale")
        _positive(self.df, "df")

    @classmethod
    def for_tau2(cls, location: float, scale: float, df: float, citation: str = "") -> LogStudentT:
        """The prior on τ implied by ``(log τ² − location)/scale ~ t_df``."""
        check_number(location, "location")
        _positive(scale, "scale")
        return cls(location / 2.0, scale / 2.0, df, citation)

    @_quiet
    def logpdf(self, tau: ArrayLike, vi: F64 | None = None) -> F64:
        t = _tau(tau)
        with np.errstate(divide="ignore", invalid="ignore"):
            lt = np.log(t)
            out = _t_logpdf((lt - self.location) / self.scale, self.df) - math.log(self.scale) - lt
        return np.where(t > 0.0, out, -np.inf)

    @_quiet
    def dlogpdf(self, tau: ArrayLike, vi: F64 | None = None) -> F64:
        t = _tau(tau)
        z = (np.log(t) - self.location) / self.scale
        return -((self.df + 1.0) * z / (self.df + z * z) / self.scale + 1.0) / t

    def tail(self) -> Tail:
        return (1.0, self.df + 1.0)

    def quantile(self, p: ArrayLike) -> F64:
        q = special.stdtrit(self.df, np.asarray(p, dtype=np.float64))
        return np.asarray(np.exp(self.location + self.scale * q))

    def describe(self) -> str:
        return f"log-Student-t(location={self.location:.4g}, scale={self.scale:.4g}, df={self.df:g}) on tau"


@dataclass(frozen=True)
class Uniform(TauPrior):
    """Uniform prior on ``[0, upper]``; ``Uniform(math.inf)`` is the improper uniform prior (bayesmeta's
    default), which needs k ≥ 3 studies with a flat μ prior and k ≥ 2 with a normal one."""

    upper: float
    citation: str = ""
    family: ClassVar[str] = "uniform"

    def __post_init__(self) -> None:
        if not (isinstance(self.upper, float) and math.isinf(self.upper) and self.upper > 0):
            _positive(self.upper, "upper")

    @property
    def proper(self) -> bool:
        return math.isfinite(self.upper)

    @property
    def support_max(self) -> float:
        return float(self.upper)

    @_quiet
    def logpdf(self, tau: ArrayLike, vi: F64 | None = None) -> F64:
        t = _tau(tau)
        return _inside(t, np.full(t.shape, -math.log(self.upper) if self.proper else 0.0), self.upper)

    @_quiet
    def dlogpdf(self, tau: ArrayLike, vi: F64 | None = None) -> F64:
        return np.zeros(np.shape(tau))

    def tail(self) -> Tail:
        return LIGHT if self.proper else (0.0, 0.0)

    def quantile(self, p: ArrayLike) -> F64:
        if not self.proper:
            return super().quantile(p)
        return np.asarray(self.upper * np.asarray(p, dtype=np.float64))

    def describe(self) -> str:
        return f"uniform(0, {self.upper:g})" if self.proper else "uniform(0, inf) (improper)"


@dataclass(frozen=True)
class Jeffreys(TauPrior):
    """The Jeffreys prior for τ of the normal-normal hierarchical model (Tibshirani's variant),
    ``p(τ) ∝ sqrt(Σᵢ (τ / (vᵢ + τ²))²)`` (Röver 2020, J Stat Softw 93(6), eq. 7; bayesmeta's
    ``"Jeffreys"``).  It depends on the sampling variances ``vi``; improper (tail ``1/τ``), so the
    posterior is proper only for k ≥ 2 studies with a flat μ prior (k ≥ 1 with a normal one)."""

    citation: str = "Röver 2020, J Stat Softw 93(6), Sec. 2.2, eq. (7)"
    family: ClassVar[str] = "Jeffreys"

    @property
    def proper(self) -> bool:
        return False

    @staticmethod
    def _vi(vi: F64 | None) -> F64:
        if vi is None:
            raise MetaacuInputError("the Jeffreys prior depends on the sampling variances: give vi")
        return np.asarray(vi, dtype=np.float64)

    @_quiet
    def logpdf(self, tau: ArrayLike, vi: F64 | None = None) -> F64:
        """``log τ + ½ log Σ (vᵢ + τ²)^-2`` (unnormalised); ``vi`` of shape ``(k,)`` or, for ``tau``
        of shape ``(m, n)``, ``(m, k)`` with ``inf`` for padding."""
        t = _tau(tau)
        v = self._vi(vi)
        with np.errstate(divide="ignore"):
            s = (1.0 / (v[..., None, :] + (t * t)[..., None]) ** 2).sum(axis=-1)
            out = np.log(t) + 0.5 * np.log(s.reshape(t.shape))
        return np.where(t > 0.0, out, -np.inf)

    @_quiet
    def dlogpdf(self, tau: ArrayLike, vi: F64 | None = None) -> F64:
        t = _tau(tau)
        v = self._vi(vi)
        d = v[..., None, :] + (t * t)[..., None]
        return np.asarray(1.0 / t - 2.0 * t * ((d**-3).sum(axis=-1) / (d**-2).sum(axis=-1)).reshape(t.shape))

    def tail(self) -> Tail:
        return (1.0, 0.0)

    def describe(self) -> str:
        return "Jeffreys (improper)"


@dataclass(frozen=True)
class MuPrior:
    """Prior for the overall effect μ: flat (improper, ``mean = sd = None``) or normal(mean, sd).

    Examples
    --------
    >>> MuPrior.normal(0.0, 4.0).describe(), MuPrior.flat().proper
    ('normal(mean=0, sd=4)', False)
    """

    mean: float | None = None
    sd: float | None = None

    def __post_init__(self) -> None:
        if (self.mean is None) != (self.sd is None):
            raise MetaacuInputError("a normal mu prior needs both 'mean' and 'sd' (give neither for a flat prior)")
        if self.mean is not None and self.sd is not None:
            check_number(self.mean, "mean")
            _positive(self.sd, "sd")

    @classmethod
    def flat(cls) -> MuPrior:
        """The improper uniform prior on the real line."""
        return cls()

    @classmethod
    def normal(cls, mean: float, sd: float) -> MuPrior:
        """A normal prior N(mean, sd²)."""
        return cls(mean, sd)

    @property
    def proper(self) -> bool:
        """True for a normal prior."""
        return self.sd is not None

    @_quiet
    def logpdf(self, mu: ArrayLike) -> F64:
        """Log density (0 everywhere for the flat prior)."""
        x = np.asarray(mu, dtype=np.float64)
        if self.mean is None or self.sd is None:
            return np.zeros(x.shape)
        z = (x - self.mean) / self.sd
        return np.asarray(-_LOG_SQRT_2PI - math.log(self.sd) - 0.5 * z * z)

    def describe(self) -> str:
        """``"flat (improper)"`` or ``"normal(mean=0, sd=4)"``."""
        return "flat (improper)" if self.sd is None else f"normal(mean={self.mean:g}, sd={self.sd:g})"

    def __str__(self) -> str:
        return self.describe()
