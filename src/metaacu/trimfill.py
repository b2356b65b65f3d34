"""Trim and fill, and fail-safe N (the counterparts of metafor's ``trimfill`` and ``fsn``).

Both take a fitted :class:`~metaacu.results.MetaAnalysis`; minimum numbers of studies and the
:class:`~metaacu.bias.SmallKWarning` are shared with :mod:`metaacu.bias`.

References
----------
Duval S, Tweedie R. Trim and fill. Biometrics 2000;56:455-463; J Am Stat Assoc 2000;95:89-98.
Rosenthal R. The file drawer problem and tolerance for null results. Psychol Bull 1979;86:638-641.
Orwin RG. A fail-safe N for effect size in meta-analysis. J Educ Stat 1983;8:157-159.
Rosenberg MS. The file-drawer problem revisited. Evolution 2005;59:464-468.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from ._validation import (
    MetaacuInputError,
    check_bool,
    check_choice,
    check_digits,
    check_int,
    check_level,
    check_number,
    no_other_keywords,
    renamed_argument,
)
from .bias import F64, check_univariate
from .fitting import fit_one
from .interval import Interval
from .pooling import meta_analysis
from .regression import fit_design
from .report import Printable, format_p
from .results import MetaAnalysis
from .scaling import rescale_one

__all__ = ["FAIL_SAFE_APPROACHES", "FailSafeN", "TrimAndFill", "fail_safe_n", "trim_and_fill"]

#: The approaches of :func:`fail_safe_n` (metafor ``fsn``'s ``type``).
FAIL_SAFE_APPROACHES: Final = ("rosenthal", "orwin", "rosenberg")


# ---------------------------------------------------------------------------------- trim and fill
@dataclass(frozen=True, repr=False)
class TrimAndFill(Printable):
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
        filled: NDArray[np.bool_] = np.r_[np.zeros(self.original.k, dtype=bool), np.ones(self.k0, dtype=bool)]
        return filled

    def to_frame(self) -> pd.DataFrame:
        """One row per study (observed then imputed): ``label, yi, vi, filled``."""
        return pd.DataFrame(
            {
                "label": list(self.adjusted.labels),
                "yi": self.adjusted.yi,
                "vi": self.adjusted.vi,
                "filled": self.is_filled,
            }
        )

    def summary(self, digits: int = 4) -> str:
        """Text summary."""
        d = check_digits(digits)
        se = f" (SE = {self.se_k0:.{d}f})" if np.isfinite(self.se_k0) else ""
        p = f", {format_p(self.p_k0)}" if np.isfinite(self.p_k0) else ""
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
        return (
            f"<TrimAndFill {self.estimator} k0={self.k0} side={self.side} "
            f"estimate={self.estimate:.4g} [{self.ci_low:.4g}, {self.ci_high:.4g}]>"
        )


def _pooled(y: F64, v: F64, method: str) -> float:
    e, ys, vs = rescale_one(y, v)
    return float(np.ldexp(fit_one(ys, vs, method, "z", 0.95)["estimate"], e))


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
    res = check_univariate(result, "trim_and_fill")
    estimator = check_choice(estimator, "estimator", ("L0", "R0", "Q0"))
    common_effect = check_bool(common_effect, "common_effect")
    maxiter = check_int(maxiter, "maxiter", low=1)
    fit_method = "EE" if common_effect else res.method
    y0, v0 = np.asarray(res.yi, dtype=float), np.asarray(res.vi, dtype=float)
    if side is None and np.ptp(v0) == 0:
        raise MetaacuInputError(
            "trim_and_fill(): the side of the funnel cannot be estimated when every study has the same "
            "variance (the slope of yi on its standard error is undefined); give side='left' or 'right'"
        )
    if side is None:
        X = np.column_stack([np.ones_like(v0), np.sqrt(v0)])
        slope = fit_design(y0, v0, X, ("intrcpt", "sei"), method=fit_method, test="z", level=0.95, intercept=True)[
            "estimate"
        ][1]
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
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * k0_raw**3
                + 27 * k0_raw**2
                + 17 * k0_raw
                - 18 * k * k0_raw**2
                - 18 * k * k0_raw
                + 6 * k**2 * k0_raw
            ) / 24.0
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
        mirrored = 2.0 * beta - y[k - k0 :]
        filled_y = -mirrored if side == "right" else mirrored
        filled_v = v[k - k0 :].copy()
        labels = tuple(res.labels) + tuple(f"Filled {i + 1}" for i in range(k0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            adjusted = meta_analysis(
                np.r_[y0, filled_y],
                np.r_[v0, filled_v],
                method=res.method,
                test=res.test,
                level=res.level,
                labels=labels,
                measure=res.measure,
                profile=res.profile,
                prediction=res.prediction,
            )
    else:
        filled_y, filled_v = np.zeros(0), np.zeros(0)
        adjusted = res
    return TrimAndFill(
        k0=k0,
        se_k0=float(se_k0),
        p_k0=p_k0,
        side=side,
        estimator=estimator,
        common_effect=common_effect,
        filled_yi=np.asarray(filled_y, dtype=float),
        filled_vi=np.asarray(filled_v, dtype=float),
        adjusted=adjusted,
        original=res,
        iterations=it,
    )


# ---------------------------------------------------------------------------------- fail-safe N
@dataclass(frozen=True, repr=False)
class FailSafeN(Printable):
    """Fail-safe N (metafor ``fsn``).

    Attributes
    ----------
    method : {"rosenthal", "orwin", "rosenberg"}
        The ``approach`` (the field keeps its name: a result's ``method`` says how it was computed).
    n : int or float
        Number of unpublished null studies needed to overturn the result (rounded up); ``inf``
        (a float) for Orwin's method with a target of 0.
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
    n: int | float
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
        digits = check_digits(digits)
        names = {"rosenthal": "Rosenthal", "orwin": "Orwin", "rosenberg": "Rosenberg"}
        lines = [f"Fail-safe N calculation using the {names[self.method]} approach (k = {self.k})"]
        if self.method == "orwin":
            lines.append(f"average effect size: {self.mean_effect:.{digits}f}; target: {self.target:.{digits}f}")
        else:
            lines.append(
                f"observed significance level: {format_p(self.pvalue, prefix=False)}; "
                f"target significance level: {self.alpha:g}"
            )
        lines.append(f"fail-safe N: {self.n}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<FailSafeN {self.method} k={self.k} N={self.n}>"


def _round_up(x: float) -> float:
    # metafor: ceiling unless within sqrt(machine epsilon) of a whole number
    if np.isinf(x):
        return x
    return float(np.ceil(x)) if abs(x - np.round(x)) >= np.sqrt(np.finfo(float).eps) else float(np.round(x))


def fail_safe_n(
    result: MetaAnalysis,
    *,
    approach: str = "rosenthal",
    target: float | None = None,
    alpha: float = 0.05,
    weighted: bool = False,
    **deprecated: Any,
) -> FailSafeN:
    """Fail-safe N: how many unpublished null studies would overturn the conclusion.

    Parameters
    ----------
    result : MetaAnalysis
        A fitted model (only its yi and vi are used).
    approach : {"rosenthal", "orwin", "rosenberg"}
        Rosenthal (1979, Stouffer's method), Orwin (1983) or Rosenberg (2005, weighted): metafor
        ``fsn``'s ``type``, printed as "the Rosenthal approach".  ``method=`` is its deprecated old
        name (``method`` is the τ² estimator everywhere else).
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
    approach = renamed_argument("fail_safe_n", deprecated, "method", "approach", approach, "rosenthal")
    no_other_keywords("fail_safe_n", deprecated)
    if not isinstance(result, MetaAnalysis):
        raise MetaacuInputError(f"fail_safe_n() needs a fitted MetaAnalysis, got {type(result).__name__}")
    method = check_choice(approach, "approach", FAIL_SAFE_APPROACHES)
    alpha = check_level(alpha, "alpha")
    if target is not None and method != "orwin":
        raise MetaacuInputError("argument 'target' applies to approach='orwin' only")
    if target is not None:
        target = check_number(target, "target")
    weighted = check_bool(weighted, "weighted")
    res = check_univariate(result, "fail_safe_n")
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
    return FailSafeN(
        method=method,
        n=int(n) if np.isfinite(n) else n,
        alpha=alpha,
        pvalue=pval,
        mean_effect=mean_es,
        target=tgt,
        k=k,
        weighted=weighted and method == "orwin",
    )
