"""Small-study effects and publication bias: Egger's regression test and the Begg-Mazumdar rank test
(metafor's ``regtest`` and ``ranktest``); trim and fill and fail-safe N are in :mod:`metaacu.trimfill`.

Every function takes a fitted :class:`~metaacu.results.MetaAnalysis` and reuses its τ² method,
test and level.  Each has a minimum number of studies below which it raises
:class:`~metaacu.MetaacuInputError` and a (larger) number below which it emits a
:class:`SmallKWarning`: tests for funnel-plot asymmetry have little power with fewer than 10
studies (Sterne et al. 2011, BMJ 343:d4002; Cochrane Handbook, section 13.3.5.4).

References
----------
Egger M, Davey Smith G, Schneider M, Minder C. Bias in meta-analysis detected by a simple,
graphical test. BMJ 1997;315:629-634.
Begg CB, Mazumdar M. Operating characteristics of a rank correlation test for publication bias.
Biometrics 1994;50:1088-1101.
Duval S, Tweedie R. Trim and fill. Biometrics 2000;56:455-463; J Am Stat Assoc 2000;95:89-98.
Rosenthal R. The file drawer problem and tolerance for null results. Psychol Bull 1979;86:638-641.
Orwin RG. A fail-safe N for effect size in meta-analysis. J Educ Stat 1983;8:157-159.
Rosenberg MS. The file-drawer problem revisited. Evolution 2005;59:464-468.
Stanley TD, Doucouliagos H. Meta-regression approximations to reduce publication selection bias.
Res Synth Methods 2014;5:60-78 (PET and PEESE).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Final, cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from ._validation import MetaacuInputError, as_float_array, check_choice
from .interval import Interval
from .regression import fit_design
from .report import Printable, format_p
from .results import MetaAnalysis, check_refittable

__all__ = ["EXACT_MAX_K", "MIN_K", "EggerTest", "RankTest", "SmallKWarning", "egger_test", "rank_test"]

F64 = NDArray[np.float64]

#: (minimum k to compute, minimum sensible k) per function.  Below the first an error is raised,
#: below the second a :class:`SmallKWarning` is emitted.
MIN_K: Final = {
    "egger_test": (3, 10),
    "rank_test": (3, 10),
    "trim_and_fill": (3, 10),
    "fail_safe_n": (1, 2),
}

PREDICTORS: Final = ("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")
#: Predictors for which the intercept is the "limit" effect of an infinitely large study.
_LIMIT_PREDICTORS: Final = ("sei", "vi", "ninv", "sqrtninv")


class SmallKWarning(UserWarning):
    """A publication-bias method was used with fewer studies than it needs to be informative."""


def check_univariate(result: Any, name: str) -> MetaAnalysis:
    """Validate the fitted model a small-study or fail-safe method receives, and warn below its minimum k."""
    if not isinstance(result, MetaAnalysis):
        raise MetaacuInputError(
            f"{name}() needs a fitted MetaAnalysis (from metaacu.meta_analysis), got {type(result).__name__}"
        )
    if name in ("egger_test", "trim_and_fill"):  # they refit the model
        check_refittable(result, f"{name}()")
    hard, soft = MIN_K[name]
    if result.k < hard:
        raise MetaacuInputError(f"{name}() cannot be computed with k = {result.k} studies; it needs at least {hard}")
    if result.k < soft:
        warnings.warn(
            f"{name}() with k = {result.k} studies: fewer than {soft}, the minimum for a meaningful result "
            "(low power; Sterne et al. 2011, BMJ 343:d4002)",
            SmallKWarning,
            stacklevel=3,
        )
    return result


# ---------------------------------------------------------------------------------- regression fits
@dataclass(frozen=True)
class _RegFit:
    beta: F64
    se: F64
    stat: F64
    pval: F64
    ci_low: F64
    ci_high: F64
    df: float
    tau2: float


def _wls(y: F64, v: F64, X: F64, level: float) -> _RegFit:
    """Weighted least squares with weights 1/v and a multiplicative dispersion (R's ``lm``)."""
    k, p = X.shape
    w = 1.0 / v
    wx = w[:, None] * X
    xtwx_inv = np.linalg.inv(X.T @ wx)
    beta = xtwx_inv @ (wx.T @ y)
    sigma2 = float(np.sum(w * (y - X @ beta) ** 2)) / (k - p)
    se = np.sqrt(np.diag(sigma2 * xtwx_inv))
    df = float(k - p)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    # cast: float64 in, float64 out, but scipy-stubs type the ufunc's result as any floating array
    pval = cast(F64, 2.0 * special.stdtr(df, -np.abs(stat)))
    crit = stats.t.ppf(0.5 + level / 2, df)
    return _RegFit(beta, se, stat, pval, beta - crit * se, beta + crit * se, df, 0.0)


# ---------------------------------------------------------------------------------- Egger
@dataclass(frozen=True, repr=False)
class EggerTest(Printable):
    """Regression test for funnel-plot asymmetry (metafor ``regtest``).

    Attributes
    ----------
    model : {"lm", "rma"}
        ``"lm"``: weighted least squares with a multiplicative dispersion (Egger et al. 1997);
        ``"rma"``: mixed-effects meta-regression with the model's τ² method and test.
    predictor : str
        Predictor of the effect sizes: ``"sei"`` (Egger/PET), ``"vi"`` (PEESE), ``"ni"``, ``"ninv"``,
        ``"sqrtni"`` or ``"sqrtninv"``.
    statistic, df, pvalue : float
        Test of the slope: t with k − 2 df for ``"lm"`` and for t-based tests, z (``df = inf``)
        otherwise; two-sided p-value.
    slope, slope_se : float
        The coefficient of the predictor and its standard error.
    limit_estimate, limit_ci_low, limit_ci_high : float
        Intercept: the expected effect of a study with infinite precision (PET for ``"sei"``,
        PEESE for ``"vi"``); NaN for ``"ni"`` and ``"sqrtni"``, whose intercept has no such meaning.
    tau2 : float
        Residual τ² of the meta-regression (0 for ``"lm"``).
    method, test : str
        τ² method and test used for ``"rma"`` (``"lm"``: method ``"EE"``, test ``"t"``).
    level : float
    k : int
    """

    model: str
    predictor: str
    statistic: float
    df: float
    pvalue: float
    slope: float
    slope_se: float
    limit_estimate: float
    limit_ci_low: float
    limit_ci_high: float
    tau2: float
    method: str
    test: str
    level: float
    k: int

    def limit_interval(self) -> Interval:
        """Confidence interval of the limit estimate (intercept)."""
        dist = "normal" if not np.isfinite(self.df) else f"t, {self.df:g} df"
        return Interval(self.limit_ci_low, self.limit_ci_high, self.level, f"Wald ({dist})")

    def to_frame(self) -> pd.DataFrame:
        """One row with every number of the test."""
        return pd.DataFrame([{f: getattr(self, f) for f in self.__dataclass_fields__}])

    def summary(self, digits: int = 4) -> str:
        """Text summary in the spirit of metafor's ``print.regtest``."""
        d = digits
        kind = (
            "weighted regression with multiplicative dispersion"
            if self.model == "lm"
            else f"mixed-effects meta-regression ({self.method}, test {self.test})"
        )
        stat = "z" if not np.isfinite(self.df) else f"t({self.df:g})"
        lines = [
            f"Regression test for funnel plot asymmetry (k = {self.k})",
            f"model: {kind}; predictor: {self.predictor}",
            f"test for funnel plot asymmetry: {stat} = {self.statistic:.{d}f}, {format_p(self.pvalue)}",
        ]
        if np.isfinite(self.limit_estimate):
            lines.append(
                f"limit estimate (as sei -> 0): {self.limit_estimate:.{d}f} "
                f"({100 * self.level:g}% CI {self.limit_ci_low:.{d}f} to {self.limit_ci_high:.{d}f})"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        stat = "z" if not np.isfinite(self.df) else "t"
        return f"<EggerTest {self.model}/{self.predictor} k={self.k} {stat}={self.statistic:.4g} p={self.pvalue:.4g}>"


def _sample_sizes(result: MetaAnalysis, ni: ArrayLike | None) -> F64:
    if ni is not None:
        arr = as_float_array(ni, "ni", positive=True)
        if arr.size != result.k:
            raise MetaacuInputError(f"argument 'ni' has {arr.size} entries for {result.k} studies")
        return arr
    eff = result.effects
    if eff is not None:
        cols = eff.data.columns
        if "n1" in cols and "n2" in cols:
            return np.asarray(eff.data["n1"] + eff.data["n2"], dtype=float)
        if "n" in cols:
            return np.asarray(eff.data["n"], dtype=float)
    raise MetaacuInputError("this predictor needs sample sizes: pass 'ni' or fit the model to EffectSizes with n1/n2")


def egger_test(
    result: MetaAnalysis,
    *,
    model: str = "lm",
    predictor: str = "sei",
    ni: ArrayLike | None = None,
) -> EggerTest:
    """Egger's regression test for funnel-plot asymmetry and its variants.

    Parameters
    ----------
    result : MetaAnalysis
        A fitted model (k ≥ 3; a :class:`SmallKWarning` below 10 studies).
    model : {"lm", "rma"}
        ``"lm"`` (default) is the classical test of Egger et al. (1997): weighted least squares of
        yᵢ on the predictor with weights 1/vᵢ and a multiplicative dispersion, t with k − 2 df
        (metafor ``regtest(model="lm")``).  ``"rma"`` is metafor's default: a mixed-effects
        meta-regression with the model's τ² method, test and level.
    predictor : {"sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv"}
        ``"sei"`` gives Egger's test and the PET limit estimate; ``"vi"`` the PEESE estimate.
    ni : array-like, optional
        Sample sizes for the ``n``-based predictors (default: ``n1 + n2`` of the effect sizes).

    Returns
    -------
    EggerTest

    Notes
    -----
    ``model="lm"`` with predictor ``"sei"`` is algebraically the original form, the regression of
    yᵢ/seᵢ on 1/seᵢ, with slope and intercept swapped.

    Examples
    --------
    >>> from metaacu import meta_analysis
    >>> y = [0.9, 0.7, 0.6, 0.45, 0.5, 0.3, 0.35, 0.2, 0.25, 0.1]
    >>> v = [0.25, 0.2, 0.15, 0.1, 0.09, 0.05, 0.04, 0.02, 0.015, 0.01]
    >>> eg = egger_test(meta_analysis(y, v, method="REML"))
    >>> eg.pvalue < 0.05
    True
    """
    res = check_univariate(result, "egger_test")
    model = check_choice(model, "model", ("lm", "rma"))
    predictor = check_choice(predictor, "predictor", PREDICTORS)
    y, v = np.asarray(res.yi, dtype=float), np.asarray(res.vi, dtype=float)
    if predictor == "sei":
        x = np.sqrt(v)
    elif predictor == "vi":
        x = v
    else:
        n = _sample_sizes(res, ni)
        x = {"ni": n, "ninv": 1.0 / n, "sqrtni": np.sqrt(n), "sqrtninv": 1.0 / np.sqrt(n)}[predictor]
    if np.ptp(x) == 0:
        raise MetaacuInputError(
            f"egger_test(): the predictor {predictor!r} is the same for every study; the slope cannot be estimated"
        )
    X = np.column_stack([np.ones_like(x), x])
    if model == "lm":
        fit = _wls(y, v, X, res.level)
        method, test = "EE", "t"
    else:
        out = fit_design(
            y, v, X, ("intrcpt", predictor), method=res.method, test=res.test, level=res.level, intercept=True, btt=[1]
        )
        fit = _RegFit(
            out["estimate"],
            out["se"],
            out["statistic"],
            out["pvalue"],
            out["ci_low"],
            out["ci_high"],
            float(out["df"]),
            float(out["tau2"]),
        )
        method, test = res.method, res.test
    has_limit = predictor in _LIMIT_PREDICTORS
    nan = float("nan")
    return EggerTest(
        model=model,
        predictor=predictor,
        statistic=float(fit.stat[1]),
        df=float(fit.df),
        pvalue=float(fit.pval[1]),
        slope=float(fit.beta[1]),
        slope_se=float(fit.se[1]),
        limit_estimate=float(fit.beta[0]) if has_limit else nan,
        limit_ci_low=float(fit.ci_low[0]) if has_limit else nan,
        limit_ci_high=float(fit.ci_high[0]) if has_limit else nan,
        tau2=float(fit.tau2),
        method=method,
        test=test,
        level=res.level,
        k=res.k,
    )


# ---------------------------------------------------------------------------------- rank test
@dataclass(frozen=True, repr=False)
class RankTest(Printable):
    """Begg and Mazumdar's rank correlation test (metafor ``ranktest``).

    Attributes
    ----------
    tau : float
        Kendall's τ (τ-b) between the standardized effects and the sampling variances.
    pvalue : float
        Two-sided p-value: exact when there are no ties (and k ≤ :data:`EXACT_MAX_K` unless asked
        otherwise), otherwise the normal approximation with the tie-corrected variance (no
        continuity correction), as R's ``cor.test``.
    exact : bool
        Whether the p-value is exact.
    k : int
    """

    tau: float
    pvalue: float
    exact: bool
    k: int

    def to_frame(self) -> pd.DataFrame:
        """One row: ``tau, pvalue, exact, k``."""
        return pd.DataFrame([{"tau": self.tau, "pvalue": self.pvalue, "exact": self.exact, "k": self.k}])

    def summary(self, digits: int = 4) -> str:
        """Text summary."""
        how = "exact" if self.exact else "normal approximation"
        return (
            f"Rank correlation test for funnel plot asymmetry (k = {self.k})\n"
            f"Kendall's tau = {self.tau:.{digits}f}, {format_p(self.pvalue)} ({how})"
        )

    def __repr__(self) -> str:
        return f"<RankTest k={self.k} tau={self.tau:.4g} p={self.pvalue:.4g} exact={self.exact}>"


#: Largest k for which :func:`rank_test` uses the exact null distribution of Kendall's S by default
#: (when there are no ties).  metafor's ``ranktest`` calls ``cor.test(..., exact=TRUE)`` for every k,
#: but R's ``pkendall`` (src/library/stats/src/kendall.c) divides counts of permutations by
#: ``gammafn(n + 1)``, which overflows a double beyond n = 170: R's exact p-value is then 0 or NaN.
#: 170 is therefore the largest k at which metafor returns an exact p-value to agree with; above it
#: the normal approximation of ``cor.test(..., exact=FALSE)`` is used.
EXACT_MAX_K: Final = 170


def _kendall_cdf(q: int, n: int) -> float:
    """P(T ≤ q) for the number T of concordant pairs among n untied pairs (Mahonian distribution).

    T is distributed as the number of inversions of a uniform random permutation; adding the i-th element adds
    0, ..., i − 1 inversions with equal probability, so the distribution of n elements is that of
    n − 1 convolved with a uniform box of width i (Kendall 1938).  Only ``P(T = 0..q)`` is needed,
    and the box sum is a difference of cumulative sums: O(n·q) time, O(q) memory.
    """
    if q < 0:
        return 0.0
    if q >= n * (n - 1) // 2:
        return 1.0
    dist = np.zeros(q + 1)
    dist[0] = 1.0
    for i in range(2, n + 1):
        cum = np.cumsum(dist)
        box = cum.copy()
        if i <= q:
            box[i:] -= cum[:-i]
        dist = box / i
    return float(min(1.0, dist.sum()))


def _kendall(x: F64, y: F64, exact: bool | None) -> tuple[float, float, bool]:
    """Kendall's τ_b between ``x`` and ``y`` and its two-sided p-value, as R's ``cor.test``.

    τ comes from :func:`scipy.stats.kendalltau` (O(n log n)); ``S`` (concordant minus discordant
    pairs, an integer) is recovered from it so that τ = S / √((T₀ − T₁)(T₀ − T₂)) exactly as before.
    """
    n = x.size
    _, cx = np.unique(x, return_counts=True)
    _, cy = np.unique(y, return_counts=True)
    t0 = n * (n - 1) / 2
    t1 = float(np.sum(cx * (cx - 1)) / 2)
    t2 = float(np.sum(cy * (cy - 1)) / 2)
    if t1 == t0 or t2 == t0:  # all x or all y the same: τ undefined (R: NA)
        return float("nan"), float("nan"), False
    tau_b = float(stats.kendalltau(x, y, method="asymptotic").statistic)
    s = float(np.round(tau_b * np.sqrt(t0 - t1) * np.sqrt(t0 - t2)))
    tau = s / np.sqrt((t0 - t1) * (t0 - t2))
    ties = min(cx.size, cy.size) < n
    if not ties and (exact if exact is not None else n <= EXACT_MAX_K):
        # R: q = round((τ + 1) n(n − 1)/4) concordant pairs; two-sided p = 2 min(P(T ≤ q), P(T ≥ q)).
        # The upper tail is taken as P(T ≤ N − q) by symmetry (N = n(n − 1)/2), not as 1 − P(T ≤ q − 1).
        big = n * (n - 1) // 2
        q = int(np.round((tau + 1) * n * (n - 1) / 4))
        p = _kendall_cdf(big - q, n) if q > n * (n - 1) / 4 else _kendall_cdf(q, n)
        return float(tau), min(2.0 * p, 1.0), True
    xt, yt = cx[cx > 1].astype(float), cy[cy > 1].astype(float)
    v0 = n * (n - 1) * (2 * n + 5)
    vt = np.sum(xt * (xt - 1) * (2 * xt + 5))
    vu = np.sum(yt * (yt - 1) * (2 * yt + 5))
    v1 = np.sum(xt * (xt - 1)) * np.sum(yt * (yt - 1))
    v2 = np.sum(xt * (xt - 1) * (xt - 2)) * np.sum(yt * (yt - 1) * (yt - 2))
    var_s = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + v2 / (9 * n * (n - 1) * (n - 2))
    z = s / np.sqrt(var_s)
    return float(tau), float(2.0 * special.ndtr(-abs(z))), False


def rank_test(result: MetaAnalysis, exact: bool | None = None) -> RankTest:
    """Begg and Mazumdar's rank correlation test for funnel-plot asymmetry.

    Parameters
    ----------
    result : MetaAnalysis
        A fitted model (k ≥ 3; a :class:`SmallKWarning` below 10 studies).
    exact : bool, optional
        Use the exact null distribution of Kendall's S when there are no ties (metafor's
        ``ranktest(..., exact=)``).  Default: exact for k ≤ :data:`EXACT_MAX_K` (170), the normal
        approximation above.  ``True`` forces the exact p-value at any k (cost O(k³) time, O(k²)
        memory at worst: about 1 s at k = 1,000); ``False`` forces the normal approximation.

    Returns
    -------
    RankTest

    Notes
    -----
    With ``θ̂ = Σyᵢ/vᵢ / Σ1/vᵢ`` and ``vᵢ* = vᵢ − 1/Σ(1/vⱼ)``, Kendall's τ_b is computed between
    ``(yᵢ − θ̂)/√vᵢ*`` and ``vᵢ`` (Begg & Mazumdar 1994), whatever the model's τ² method, in
    O(k log k) (:func:`scipy.stats.kendalltau`).  The p-value follows R's ``cor.test(method =
    "kendall", exact = TRUE)``, which metafor's ``ranktest`` calls: the exact distribution of S
    without ties, otherwise the normal approximation with the tie-corrected variance of S and no
    continuity correction (Kendall MG, Rank Correlation Methods, 4th ed., Griffin 1970).  R's exact p-value
    overflows beyond k = 170 (see :data:`EXACT_MAX_K`), so the default switches to the normal
    approximation there; ``RankTest.exact`` tells which was used.

    Examples
    --------
    >>> from metaacu import meta_analysis
    >>> y = [0.9, 0.7, 0.6, 0.45, 0.5, 0.3, 0.35, 0.2, 0.25, 0.1]
    >>> v = [0.25, 0.2, 0.15, 0.1, 0.09, 0.05, 0.04, 0.02, 0.015, 0.01]
    >>> round(rank_test(meta_analysis(y, v)).tau, 4)
    0.8667
    """
    if exact is not None and not isinstance(exact, (bool, np.bool_)):
        raise MetaacuInputError(f"argument 'exact' must be True, False or None; got {exact!r}")
    res = check_univariate(result, "rank_test")
    y, v = np.asarray(res.yi, dtype=float), np.asarray(res.vi, dtype=float)
    w = 1.0 / v
    theta = float(np.sum(w * y) / np.sum(w))
    vstar = v - 1.0 / np.sum(w)
    ystar = (y - theta) / np.sqrt(vstar)
    tau, p, used_exact = _kendall(ystar, v, None if exact is None else bool(exact))
    return RankTest(tau=tau, pvalue=p, exact=used_exact, k=res.k)
