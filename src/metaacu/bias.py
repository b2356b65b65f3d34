"""Small-study effects and publication bias: Egger's regression test, the Begg-Mazumdar rank test,
trim and fill, and fail-safe N (the counterparts of metafor's ``regtest``, ``ranktest``,
``trimfill`` and ``fsn``).

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

import html
import warnings
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from ._validation import MetaacuInputError, as_float_array, check_choice, check_level
from .pooling import fit_arrays, meta_analysis
from .results import Interval, MetaAnalysis
from .tau2 import solve_decreasing

__all__ = [
    "MIN_K",
    "EggerTest",
    "FailSafeN",
    "RankTest",
    "SmallKWarning",
    "TrimAndFill",
    "egger_test",
    "fail_safe_n",
    "rank_test",
    "trim_and_fill",
]

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


def _check(result: Any, name: str) -> MetaAnalysis:
    if not isinstance(result, MetaAnalysis):
        raise MetaacuInputError(f"{name}() needs a fitted MetaAnalysis (from metaacu.meta_analysis), got {type(result).__name__}")
    hard, soft = MIN_K[name]
    if result.k < hard:
        raise MetaacuInputError(f"{name}() cannot be computed with k = {result.k} studies; it needs at least {hard}")
    if result.k < soft:
        warnings.warn(
            f"{name}() with k = {result.k} studies: fewer than {soft}, the minimum for a meaningful result "
            "(low power; Sterne et al. 2011, BMJ 343:d4002)", SmallKWarning, stacklevel=3,
        )
    return result


def _html(title: str, frame: pd.DataFrame) -> str:
    return f"<p><b>{html.escape(title)}</b></p>" + frame.to_html(index=False, float_format=lambda x: f"{x:.4f}", border=0)


def _fmt_p(p: float) -> str:
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


# ---------------------------------------------------------------------------------- meta-regression
def _hat_pieces(v: F64, X: F64, tau2: float) -> tuple[F64, F64]:
    """``w = 1/(v + τ²)`` and ``P = W − WX(XᵀWX)⁻¹XᵀW``."""
    w = 1.0 / (v + tau2)
    wx = w[:, None] * X
    P = np.diag(w) - wx @ np.linalg.solve(X.T @ wx, wx.T)
    return w, P


def _metareg_tau2(y: F64, v: F64, X: F64, method: str) -> float:
    """τ² of a mixed-effects meta-regression, as metafor's ``rma.uni`` with moderators (truncated at 0)."""
    k, p = X.shape
    if method == "EE":
        return 0.0
    if method in ("DL", "HS"):
        w, P = _hat_pieces(v, X, 0.0)
        rss = float(y @ P @ y)
        raw = (rss - (k - p)) / np.trace(P) if method == "DL" else (rss - k) / w.sum()
        return max(0.0, raw)
    if method == "SJ":
        tau0 = float(np.mean((y - y.mean()) ** 2))
        _, P = _hat_pieces(v, X, tau0)
        return max(0.0, tau0 * float(y @ P @ y) / (k - p))
    # HE (also the starting value of the iterative estimators)
    H = np.eye(k) - X @ np.linalg.solve(X.T @ X, X.T)
    he = (float(y @ H @ y) - float(np.sum(np.diag(H) * v))) / (k - p)
    if method == "HE":
        return max(0.0, he)

    def score(t: float) -> tuple[float, float]:
        w, P = _hat_pieces(v, X, t)
        py = P @ y
        if method in ("PM", "EB"):
            return float(y @ py) - (k - p), -float(py @ py)
        ppy = P @ py
        if method == "REML":
            tr_p, tr_pp = np.trace(P), float(np.sum(P * P))
        else:  # ML
            tr_p, tr_pp = w.sum(), float(np.sum(w * w))
        f = 0.5 * (float(py @ py) - tr_p)
        slope = 0.5 * tr_pp - float(py @ ppy)
        return f, slope if slope < 0 else -0.5 * tr_pp

    f0, _ = score(0.0)
    if not f0 > 0:
        return 0.0

    def fun(x: F64, rows: NDArray[np.intp]) -> tuple[F64, F64]:
        f, s = score(float(x[0]))
        return np.array([f]), np.array([s])

    span = float(y.max() - y.min())
    fit = solve_decreasing(fun, np.array([True]), np.array([max(10.0 * (span**2 + 1.0), 1.0)]), np.array([max(he, 0.0)]))
    return max(0.0, float(fit.tau2[0]))


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


def _metareg(y: F64, v: F64, X: F64, method: str, test: str, level: float) -> _RegFit:
    k, p = X.shape
    tau2 = _metareg_tau2(y, v, X, method)
    w = 1.0 / (v + tau2)
    wx = w[:, None] * X
    vb = np.linalg.inv(X.T @ wx)
    beta = vb @ (wx.T @ y)
    if test in ("knha", "adhoc"):
        rss = float(np.sum(w * (y - X @ beta) ** 2))
        s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)
        if test == "adhoc":
            s2w = max(1.0, s2w)
        vb = s2w * vb
    se = np.sqrt(np.diag(vb))
    stat = beta / se
    if test == "z":
        df = np.inf
        crit = special.ndtri(0.5 + level / 2)
        pval = 2.0 * special.ndtr(-np.abs(stat))
    else:
        df = float(k - p)
        crit = stats.t.ppf(0.5 + level / 2, df)
        pval = 2.0 * special.stdtr(df, -np.abs(stat))
    return _RegFit(beta, se, stat, pval, beta - crit * se, beta + crit * se, df, tau2)


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
    pval = 2.0 * special.stdtr(df, -np.abs(stat))
    crit = stats.t.ppf(0.5 + level / 2, df)
    return _RegFit(beta, se, stat, pval, beta - crit * se, beta + crit * se, df, 0.0)


# ---------------------------------------------------------------------------------- Egger
@dataclass(frozen=True, repr=False)
class EggerTest:
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
        kind = ("weighted regression with multiplicative dispersion" if self.model == "lm"
                else f"mixed-effects meta-regression ({self.method}, test {self.test})")
        stat = "z" if not np.isfinite(self.df) else f"t({self.df:g})"
        lines = [
            f"Regression test for funnel plot asymmetry (k = {self.k})",
            f"model: {kind}; predictor: {self.predictor}",
            f"test for funnel plot asymmetry: {stat} = {self.statistic:.{d}f}, p = {_fmt_p(self.pvalue)}",
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

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


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
    res = _check(result, "egger_test")
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
        raise MetaacuInputError(f"egger_test(): the predictor {predictor!r} is the same for every study; the slope cannot be estimated")
    X = np.column_stack([np.ones_like(x), x])
    if model == "lm":
        fit = _wls(y, v, X, res.level)
        method, test = "EE", "t"
    else:
        fit = _metareg(y, v, X, res.method, res.test, res.level)
        method, test = res.method, res.test
    has_limit = predictor in _LIMIT_PREDICTORS
    nan = float("nan")
    return EggerTest(
        model=model, predictor=predictor, statistic=float(fit.stat[1]), df=float(fit.df), pvalue=float(fit.pval[1]),
        slope=float(fit.beta[1]), slope_se=float(fit.se[1]),
        limit_estimate=float(fit.beta[0]) if has_limit else nan,
        limit_ci_low=float(fit.ci_low[0]) if has_limit else nan,
        limit_ci_high=float(fit.ci_high[0]) if has_limit else nan,
        tau2=float(fit.tau2), method=method, test=test, level=res.level, k=res.k,
    )


# ---------------------------------------------------------------------------------- rank test
@dataclass(frozen=True, repr=False)
class RankTest:
    """Begg and Mazumdar's rank correlation test (metafor ``ranktest``).

    Attributes
    ----------
    tau : float
        Kendall's τ (τ-b) between the standardized effects and the sampling variances.
    pvalue : float
        Two-sided p-value: exact when there are no ties, otherwise the normal approximation with
        the tie-corrected variance (no continuity correction), as R's ``cor.test``.
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
        how = "exact" if self.exact else "normal approximation (ties)"
        return (f"Rank correlation test for funnel plot asymmetry (k = {self.k})\n"
                f"Kendall's tau = {self.tau:.{digits}f}, p = {_fmt_p(self.pvalue)} ({how})")

    def __repr__(self) -> str:
        return f"<RankTest k={self.k} tau={self.tau:.4g} p={self.pvalue:.4g} exact={self.exact}>"

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def _kendall_cdf(q: int, n: int) -> float:
    """P(T ≤ q) for the number T of concordant pairs among n untied pairs (Mahonian distribution)."""
    dist = np.array([1.0])
    for i in range(2, n + 1):
        # adding the i-th element adds 0..i-1 inversions, uniformly
        new = np.convolve(dist, np.full(i, 1.0 / i))
        dist = new
    if q < 0:
        return 0.0
    return float(min(1.0, dist[: q + 1].sum()))


def _kendall(x: F64, y: F64) -> tuple[float, float, bool]:
    n = x.size
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    iu = np.triu_indices(n, 1)
    s = float(np.sum(dx[iu] * dy[iu]))
    t0 = n * (n - 1) / 2
    _, cx = np.unique(x, return_counts=True)
    _, cy = np.unique(y, return_counts=True)
    t1 = float(np.sum(cx * (cx - 1)) / 2)
    t2 = float(np.sum(cy * (cy - 1)) / 2)
    tau = s / np.sqrt((t0 - t1) * (t0 - t2))
    ties = min(cx.size, cy.size) < n
    if not ties:
        q = int(np.round((tau + 1) * n * (n - 1) / 4))
        if q > n * (n - 1) / 4:
            p = 1.0 - _kendall_cdf(q - 1, n)
        else:
            p = _kendall_cdf(q, n)
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


def rank_test(result: MetaAnalysis) -> RankTest:
    """Begg and Mazumdar's rank correlation test for funnel-plot asymmetry.

    Parameters
    ----------
    result : MetaAnalysis
        A fitted model (k ≥ 3; a :class:`SmallKWarning` below 10 studies).

    Returns
    -------
    RankTest

    Notes
    -----
    With ``θ̂ = Σyᵢ/vᵢ / Σ1/vᵢ`` and ``vᵢ* = vᵢ − 1/Σ(1/vⱼ)``, Kendall's τ is computed between
    ``(yᵢ − θ̂)/√vᵢ*`` and ``vᵢ`` (Begg & Mazumdar 1994), whatever the model's τ² method.  The
    exact p-value (no ties) is used for every k, as metafor's ``ranktest(exact=TRUE)`` default.

    Examples
    --------
    >>> from metaacu import meta_analysis
    >>> y = [0.9, 0.7, 0.6, 0.45, 0.5, 0.3, 0.35, 0.2, 0.25, 0.1]
    >>> v = [0.25, 0.2, 0.15, 0.1, 0.09, 0.05, 0.04, 0.02, 0.015, 0.01]
    >>> round(rank_test(meta_analysis(y, v)).tau, 4)
    0.8667
    """
    res = _check(result, "rank_test")
    y, v = np.asarray(res.yi, dtype=float), np.asarray(res.vi, dtype=float)
    w = 1.0 / v
    theta = float(np.sum(w * y) / np.sum(w))
    vstar = v - 1.0 / np.sum(w)
    ystar = (y - theta) / np.sqrt(vstar)
    tau, p, exact = _kendall(ystar, v)
    return RankTest(tau=tau, pvalue=p, exact=exact, k=res.k)


# ---------------------------------------------------------------------------------- trim and fill
@dataclass(frozen=True, repr=False)
class TrimAndFill:
    """Result of Duval and Tweedie's trim and fill (metafor ``trimfill``).

    Attributes
    ----------
    k0 : int
        Estimated number of missing studies.
    se_k0 : float
        Its standard error (Duval & Tweedie 2000b).
    p_k0 : float
        p-value of the test of no missing studies (estimator ``"R0"`` only; NaN otherwise).
    side : {"left", "right"}
        Side of the funnel plot on which studies were imputed.
    estimator : {"L0", "R0", "Q0"}
    common_effect : bool
        Whether k0 was estimated with a common-effect model (R meta's default) rather than the
        model's own τ² method (metafor's).
    filled_yi, filled_vi : ndarray
        The imputed studies (empty when k0 = 0), on the pooling scale.
    adjusted : MetaAnalysis
        The model refitted to the observed plus imputed studies with the original τ² method,
        test and level (the original model when k0 = 0).
    original : MetaAnalysis
    iterations : int
    """

    k0: int
    se_k0: float
    p_k0: float
    side: str
    estimator: str
    common_effect: bool
    filled_yi: F64
    filled_vi: F64
    adjusted: MetaAnalysis
    original: MetaAnalysis
    iterations: int = 0

    def __post_init__(self) -> None:
        self.filled_yi.setflags(write=False)
        self.filled_vi.setflags(write=False)

    @property
    def estimate(self) -> float:
        """Adjusted pooled estimate."""
        return self.adjusted.estimate

    @property
    def se(self) -> float:
        """Standard error of the adjusted estimate."""
        return self.adjusted.se

    @property
    def ci_low(self) -> float:
        """Lower confidence limit of the adjusted estimate."""
        return self.adjusted.ci_low

    @property
    def ci_high(self) -> float:
        """Upper confidence limit of the adjusted estimate."""
        return self.adjusted.ci_high

    def confidence_interval(self, level: float | None = None) -> Interval:
        """Confidence interval of the adjusted estimate."""
        return self.adjusted.confidence_interval(level)

    @property
    def is_filled(self) -> NDArray[np.bool_]:
        """Per study of :attr:`adjusted`, whether it was imputed."""
        return np.r_[np.zeros(self.original.k, dtype=bool), np.ones(self.k0, dtype=bool)]

    def to_frame(self) -> pd.DataFrame:
        """One row per study (observed then imputed): ``label, yi, vi, filled``."""
        return pd.DataFrame({
            "label": list(self.adjusted.labels), "yi": self.adjusted.yi, "vi": self.adjusted.vi,
            "filled": self.is_filled,
        })

    def summary(self, digits: int = 4) -> str:
        """Text summary."""
        d = digits
        se = f" (SE = {self.se_k0:.{d}f})" if np.isfinite(self.se_k0) else ""
        p = f", p = {_fmt_p(self.p_k0)}" if np.isfinite(self.p_k0) else ""
        how = "common-effect model" if self.common_effect else f"{self.original.method} model"
        lines = [
            f"Trim and fill ({self.estimator}, k0 estimated with a {how})",
            f"Estimated number of missing studies on the {self.side} side: {self.k0}{se}{p}",
            f"original estimate: {self.original.estimate:.{d}f} "
            f"[{self.original.ci_low:.{d}f}, {self.original.ci_high:.{d}f}]",
            f"adjusted estimate: {self.estimate:.{d}f} [{self.ci_low:.{d}f}, {self.ci_high:.{d}f}] "
            f"(k = {self.adjusted.k}, tau^2 = {self.adjusted.tau2:.{d}f})",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<TrimAndFill {self.estimator} k0={self.k0} side={self.side} "
                f"estimate={self.estimate:.4g} [{self.ci_low:.4g}, {self.ci_high:.4g}]>")

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def _pooled(y: F64, v: F64, method: str) -> float:
    out = fit_arrays(y[None, :], v[None, :], np.array([float(y.size)]), method, "z", 0.95)
    return float(out["estimate"][0])


def trim_and_fill(
    result: MetaAnalysis,
    *,
    estimator: str = "L0",
    side: str | None = None,
    common_effect: bool = False,
    maxiter: int = 100,
) -> TrimAndFill:
    """Duval and Tweedie's trim-and-fill adjustment for funnel-plot asymmetry.

    Parameters
    ----------
    result : MetaAnalysis
        A fitted model (k ≥ 3; a :class:`SmallKWarning` below 10 studies).
    estimator : {"L0", "R0", "Q0"}
        Estimator of the number of missing studies.
    side : {"left", "right"}, optional
        Side on which to impute.  Default: chosen from the sign of the slope of a meta-regression
        on √vᵢ with the model's τ² method — negative slope, impute on the right (as metafor).
    common_effect : bool
        Estimate the side and k0 with a common-effect model (R meta's default, "fixed-random")
        instead of the model's τ² method (metafor's default).  The final fit always uses the
        model's method.
    maxiter : int
        Maximum number of trim-and-fill iterations.

    Returns
    -------
    TrimAndFill

    Raises
    ------
    MetaacuInputError
        If the estimator is undefined for these data (``"Q0"`` with a negative square-root
        argument; metafor stops with an error too) or the algorithm does not converge.

    Notes
    -----
    Algorithm of metafor's ``trimfill.rma.uni``.  The k0 estimates (Duval & Tweedie 2000b) with
    ``Sᵣ`` the sum of the positive signed ranks of ``|yᵢ − μ̂|``: L0 = (4Sᵣ − k(k+1))/(2k − 1);
    R0 = k − γ* − 1 (γ* the longest run of the largest ranks on the imputed side); Q0 = k − ½ −
    √(2k² − 4Sᵣ + ¼).  They are rounded half to even and truncated at 0.  Imputed studies mirror
    the k0 most extreme trimmed studies about the trimmed estimate: ``2μ̂ − yᵢ``, same ``vᵢ``.

    Examples
    --------
    >>> from metaacu import meta_analysis
    >>> y = [0.9, 0.7, 0.6, 0.45, 0.5, 0.3, 0.35, 0.2, 0.25, 0.1]
    >>> v = [0.25, 0.2, 0.15, 0.1, 0.09, 0.05, 0.04, 0.02, 0.015, 0.01]
    >>> tf = trim_and_fill(meta_analysis(y, v, method="REML"))
    >>> tf.side, tf.k0
    ('left', 5)
    """
    res = _check(result, "trim_and_fill")
    estimator = check_choice(estimator, "estimator", ("L0", "R0", "Q0"))
    fit_method = "EE" if common_effect else res.method
    y0, v0 = np.asarray(res.yi, dtype=float), np.asarray(res.vi, dtype=float)
    if side is None:
        X = np.column_stack([np.ones_like(v0), np.sqrt(v0)])
        slope = _metareg(y0, v0, X, fit_method, "z", 0.95).beta[1]
        side = "right" if slope < 0 else "left"
    else:
        side = check_choice(side, "side", ("left", "right"))
    y = -y0 if side == "right" else y0.copy()
    ix = np.argsort(y, kind="stable")
    y, v = y[ix], v0[ix]
    k = y.size
    k0, k0_prev, it = 0, -1, 0
    beta = float("nan")
    se_k0 = float("nan")
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            raise MetaacuInputError(f"trim_and_fill(): the algorithm did not converge in {maxiter} iterations")
        if k - k0 < 1:
            raise MetaacuInputError("trim_and_fill(): every study was trimmed; k0 is not estimable for these data")
        beta = _pooled(y[: k - k0], v[: k - k0], fit_method)
        yc = y - beta
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(yc), kind="stable")] = np.arange(1, k + 1)
        signed = np.sign(yc) * ranks
        if estimator == "R0":
            neg = -signed[signed < 0]
            k0_raw = (k - (neg.max() if neg.size else 0.0)) - 1.0
            se_k0 = float(np.sqrt(2.0 * max(0.0, k0_raw) + 2.0))
        else:
            sr = float(signed[signed > 0].sum())
            if estimator == "L0":
                k0_raw = (4.0 * sr - k * (k + 1)) / (2.0 * k - 1.0)
            else:
                arg = 2.0 * k * k - 4.0 * sr + 0.25
                if arg < 0:
                    raise MetaacuInputError(
                        "trim_and_fill(): the Q0 estimator is undefined for these data (negative square-root "
                        "argument 2k^2 - 4Sr + 1/4); use estimator='L0' or 'R0'"
                    )
                k0_raw = k - 0.5 - np.sqrt(arg)
            var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0_raw**3 + 27 * k0_raw**2 + 17 * k0_raw
                      - 18 * k * k0_raw**2 - 18 * k * k0_raw + 6 * k**2 * k0_raw) / 24.0
            with np.errstate(invalid="ignore"):
                if estimator == "L0":
                    se_k0 = float(4.0 * np.sqrt(var_sr) / (2.0 * k - 1.0))
                else:
                    se_k0 = float(2.0 * np.sqrt(var_sr) / np.sqrt((k - 0.5) ** 2 - k0_raw * (2.0 * k - k0_raw - 1.0)))
            if not np.isfinite(k0_raw):
                raise MetaacuInputError(f"trim_and_fill(): the {estimator} estimator is undefined for these data")
        k0 = max(0, int(np.round(k0_raw)))  # numpy rounds half to even, as R's round()
        se_k0 = max(0.0, se_k0) if np.isfinite(se_k0) else se_k0
    p_k0 = float("nan")
    if estimator == "R0":
        m = np.arange(-1, k0)
        p_k0 = float(1.0 - np.sum(special.comb(m + 1, m + 1) * 0.5 ** (m + 2)))
    if k0 > 0:
        mirrored = 2.0 * beta - y[k - k0:]
        filled_y = -mirrored if side == "right" else mirrored
        filled_v = v[k - k0:].copy()
        labels = tuple(res.labels) + tuple(f"Filled {i + 1}" for i in range(k0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            adjusted = meta_analysis(
                np.r_[y0, filled_y], np.r_[v0, filled_v], method=res.method, test=res.test, level=res.level,
                labels=labels, measure=res.measure, profile=res.profile, prediction=res.pi_method,
            )
    else:
        filled_y, filled_v = np.zeros(0), np.zeros(0)
        adjusted = res
    return TrimAndFill(
        k0=k0, se_k0=float(se_k0), p_k0=p_k0, side=side, estimator=estimator, common_effect=common_effect,
        filled_yi=np.asarray(filled_y, dtype=float), filled_vi=np.asarray(filled_v, dtype=float),
        adjusted=adjusted, original=res, iterations=it,
    )


# ---------------------------------------------------------------------------------- fail-safe N
@dataclass(frozen=True, repr=False)
class FailSafeN:
    """Fail-safe N (metafor ``fsn``).

    Attributes
    ----------
    method : {"rosenthal", "orwin", "rosenberg"}
    n : int
        Number of unpublished null studies needed to overturn the result (rounded up).
    alpha : float
        Significance level (Rosenthal: one-sided; Rosenberg: two-sided).
    pvalue : float
        p-value of the observed studies (Stouffer's one-sided for Rosenthal; the common-effect
        z test for Rosenberg; NaN for Orwin).
    mean_effect : float
        Orwin: the (unweighted, or inverse-variance weighted) mean effect; Rosenberg: the
        inverse-variance weighted mean; NaN for Rosenthal.
    target : float
        Orwin's target effect (default half the mean effect); NaN otherwise.
    k : int
    """

    method: str
    n: int
    alpha: float
    pvalue: float
    mean_effect: float
    target: float
    k: int
    weighted: bool = field(default=False)

    def to_frame(self) -> pd.DataFrame:
        """One row with every number."""
        return pd.DataFrame([{f: getattr(self, f) for f in self.__dataclass_fields__}])

    def summary(self, digits: int = 4) -> str:
        """Text summary."""
        names = {"rosenthal": "Rosenthal", "orwin": "Orwin", "rosenberg": "Rosenberg"}
        lines = [f"Fail-safe N calculation using the {names[self.method]} approach (k = {self.k})"]
        if self.method == "orwin":
            lines.append(f"average effect size: {self.mean_effect:.{digits}f}; target: {self.target:.{digits}f}")
        else:
            lines.append(f"observed significance level: {_fmt_p(self.pvalue)}; target significance level: {self.alpha:g}")
        lines.append(f"fail-safe N: {self.n}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<FailSafeN {self.method} k={self.k} N={self.n}>"

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def _round_up(x: float) -> float:
    # metafor: ceiling unless within sqrt(machine epsilon) of a whole number
    if np.isinf(x):
        return x
    return float(np.ceil(x)) if abs(x - np.round(x)) >= np.sqrt(np.finfo(float).eps) else float(np.round(x))


def fail_safe_n(
    result: MetaAnalysis,
    *,
    method: str = "rosenthal",
    target: float | None = None,
    alpha: float = 0.05,
    weighted: bool = False,
) -> FailSafeN:
    """Fail-safe N: how many unpublished null studies would overturn the conclusion.

    Parameters
    ----------
    result : MetaAnalysis
        A fitted model (only its yi and vi are used).
    method : {"rosenthal", "orwin", "rosenberg"}
        Rosenthal (1979, Stouffer's method), Orwin (1983) or Rosenberg (2005, weighted).
    target : float, optional
        Orwin only: the effect size to reduce the mean to (default: half the mean effect).
    alpha : float
        Significance level.
    weighted : bool
        Orwin only: use the inverse-variance weighted mean instead of the unweighted mean.

    Returns
    -------
    FailSafeN

    Notes
    -----
    Rosenthal: ``N = max(0, k(z̄/z_α)² − k)`` with ``z̄ = |Σzᵢ|/√k``, ``zᵢ = yᵢ/√vᵢ`` and ``z_α`` the
    one-sided critical value.  Orwin: ``N = max(0, k(ȳ − target)/target)``.  Rosenberg:
    ``N = max(0, k((Σwᵢyᵢ/z_{α/2})² − Σwᵢ)/Σwᵢ)``.  N is rounded up (metafor ``fsn``).  Fail-safe N
    ignores heterogeneity and how the missing studies would look; prefer other methods.

    Examples
    --------
    >>> from metaacu import meta_analysis
    >>> res = meta_analysis([0.3, 0.5, 0.2, 0.4], [0.01, 0.04, 0.02, 0.03])
    >>> fail_safe_n(res).n
    28
    """
    if not isinstance(result, MetaAnalysis):
        raise MetaacuInputError(f"fail_safe_n() needs a fitted MetaAnalysis, got {type(result).__name__}")
    method = check_choice(method, "method", ("rosenthal", "orwin", "rosenberg"))
    alpha = check_level(alpha, "alpha")
    if target is not None and method != "orwin":
        raise MetaacuInputError("argument 'target' applies to method='orwin' only")
    res = _check(result, "fail_safe_n")
    y, v = np.asarray(res.yi, dtype=float), np.asarray(res.vi, dtype=float)
    k = y.size
    nan = float("nan")
    pval = mean_es = tgt = nan
    if method == "rosenthal":
        z_avg = abs(np.sum(y / np.sqrt(v)) / np.sqrt(k))
        pval = float(special.ndtr(-z_avg))
        n = max(0.0, k * (z_avg / special.ndtri(1 - alpha)) ** 2 - k)
    elif method == "orwin":
        mean_es = float(np.sum(y / v) / np.sum(1 / v)) if weighted else float(np.mean(y))
        tgt = mean_es / 2 if target is None else float(target)
        if tgt == 0:
            n = np.inf
        else:
            if np.sign(tgt) != np.sign(mean_es):
                tgt = -tgt
            n = max(0.0, k * (mean_es - tgt) / tgt)
    else:
        w = 1.0 / v
        mean_es = float(np.sum(w * y) / np.sum(w))
        zval = mean_es / np.sqrt(1.0 / np.sum(w))
        wp = (np.sum(w * y) / special.ndtri(1 - alpha / 2)) ** 2 - np.sum(w)
        pval = float(2.0 * special.ndtr(-abs(zval)))
        n = max(0.0, k * wp / np.sum(w))
    n = _round_up(float(n))
    return FailSafeN(method=method, n=int(n) if np.isfinite(n) else n, alpha=alpha, pvalue=pval,  # type: ignore[arg-type]
                     mean_effect=mean_es, target=tgt, k=k, weighted=weighted and method == "orwin")
