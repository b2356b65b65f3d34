"""Immutable result types.  Numbers and derived-value methods only: presentation is in report.py."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import MetaacuInputError, check_choice, check_level, no_other_keywords, renamed_argument
from .inference import critical_value
from .interval import Interval
from .measures import MeasureInfo, measure_info
from .profiles import PREDICTIONS
from .report import Printable, scale_label

if TYPE_CHECKING:
    import pandas as pd

    from .escalc import EffectSizes
    from .fitstats import FitStatistics
    from .tau2_inference import HeterogeneityInterval

__all__ = ["Interval", "MetaAnalysis", "check_refittable"]

F64 = NDArray[np.float64]


@dataclass(frozen=True, repr=False)
class MetaAnalysis(Printable):
    """Result of an intercept-only (common- or random-effects) meta-analysis.

    Attributes
    ----------
    estimate, se : float
        Pooled effect (on the pooling scale, e.g. log RR) and its standard error (including the
        Knapp-Hartung factor when ``test`` is ``"knha"`` or ``"adhoc"``).
    ci_low, ci_high : float
        Confidence interval at ``level``.
    statistic, pvalue, df : float
        Test statistic (z or t), two-sided p-value, and degrees of freedom (``inf`` for z).
    tau2 : float
        Between-study variance (0 for ``method="EE"``).
    q, q_df, q_pvalue : float, int, float
        Cochran's Q (with fixed-effect weights ``1/vi``), its degrees of freedom k − 1 and p-value.
    i2, h2 : float
        I² (percent, 0-100) and H², τ²-based for random effects and Q-based for EE, as metafor.
    i2_q : float
        Q-based I² ``max(0, 100(Q − df)/Q)`` for every method (Higgins & Thompson 2002).
    k : int
        Number of studies.
    weights : ndarray
        Per-study weights in percent (sum to 100).
    yi, vi : ndarray
        The study effect sizes and sampling variances.
    labels : tuple of str
    method, test : str
        τ² estimator and test (``"z"``, ``"t"``, ``"knha"``, ``"adhoc"``).
    level : float
        Confidence level of ``ci_low``/``ci_high`` (a fraction, e.g. 0.95).
    measure : str or None
        Effect-size measure code (``None`` for generic input).
    converged : bool
        Whether the τ² solver converged (always True for closed-form estimators).
    iterations : int
        Solver iterations (0 for closed forms or when τ² is on the boundary).
    tau2_at_boundary : bool
        True when a random-effects τ² estimate was truncated at 0.
    s2 : float
        Knapp-Hartung scale factor ``Σwᵢ(yᵢ − μ̂)²/(k − 1)`` (1 for z tests).
    pi_method : str
        Prediction-interval distribution, the ``prediction=`` the model was fitted with and the default
        of :meth:`prediction_interval`: ``"test"`` (as metafor) or ``"higgins"`` (t, k − 2).  Read it
        as :attr:`prediction` (the field keeps its name so that stored results still load).
    profile : str
        Name of the convention profile used, if any.
    notes : tuple of str
        Everything worth a warning: adjustments, boundary estimates, small k.
    effects : EffectSizes or None
        The effect sizes the model was fitted to, if given (arm data for forest plots).
    tau2_maxima : int
        ML/REML: local maxima of the (restricted) likelihood found on τ² ≥ 0 (1 otherwise); when
        above 1 the global one is returned, a :class:`~metaacu.LikelihoodWarning` is issued and
        ``tau2_alternative`` holds the next best ``(τ², log-likelihood)``.
    tau2_alternative : (float, float) or None
    user_weights : ndarray or None
        The user weights of ``meta_analysis(weights=...)`` (metafor's ``weights=``), or None
        (inverse-variance weights).
    tau2_fixed : bool
        True when τ² was fixed by the user (``meta_analysis(tau2=...)``), not estimated.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    statistic: float
    pvalue: float
    df: float
    tau2: float
    q: float
    q_df: int
    q_pvalue: float
    i2: float
    h2: float
    i2_q: float
    k: int
    weights: F64
    yi: F64
    vi: F64
    labels: tuple[str, ...]
    method: str
    test: str
    level: float
    measure: str | None = None
    converged: bool = True
    iterations: int = 0
    tau2_at_boundary: bool = False
    s2: float = 1.0
    pi_method: str = "test"
    profile: str = "metafor"
    notes: tuple[str, ...] = ()
    effects: EffectSizes | None = field(default=None, compare=False)
    tau2_maxima: int = 1
    tau2_alternative: tuple[float, float] | None = None
    user_weights: F64 | None = field(default=None, compare=False)
    tau2_fixed: bool = False

    # ---------------------------------------------------------------- derived quantities
    @property
    def info(self) -> MeasureInfo:
        """Registry entry of the measure (identity scale for generic input)."""
        return measure_info(self.measure)

    @property
    def tau(self) -> float:
        """Between-study standard deviation ``√τ²``."""
        return float(np.sqrt(self.tau2))

    @property
    def is_random(self) -> bool:
        """True for a random-effects model (any method but ``"EE"``)."""
        return self.method != "EE"

    def _crit(self, level: float, df: float) -> float:
        return float(critical_value(level, df))

    def confidence_interval(self, level: float | None = None) -> Interval:
        """Confidence interval for the pooled effect at ``level`` (default: the model's)."""
        lv = self.level if level is None else check_level(level)
        c = self._crit(lv, self.df)
        dist = "normal" if not np.isfinite(self.df) else f"t, {self.df:g} df"
        return Interval(self.estimate - c * self.se, self.estimate + c * self.se, lv, f"Wald ({dist})")

    @property
    def prediction(self) -> str:
        """The prediction-interval distribution (``"test"`` or ``"higgins"``): the model's ``prediction=``
        argument, the default of :meth:`prediction_interval` (stored as ``pi_method``)."""
        return self.pi_method

    def prediction_interval(
        self, level: float | None = None, *, prediction: str | None = None, **deprecated: Any
    ) -> Interval:
        """Prediction interval for the true effect in a new study: ``μ̂ ± crit·√(SE² + τ²)``.

        Parameters
        ----------
        level : float, optional
            Coverage, a fraction (default: the model's ``level``).
        prediction : {"test", "higgins"}, optional
            ``"test"`` (metafor): ``crit`` from the test's distribution — normal for ``test="z"``, t
            with k − 1 df otherwise.  ``"higgins"``: t with k − 2 df (Higgins, Thompson &
            Spiegelhalter 2009, J R Stat Soc A 172:137, eq. 12); needs k ≥ 3.  Default: the model's
            :attr:`prediction` (``meta_analysis(..., prediction=)``).  ``method=`` is its deprecated
            old name.

        Returns
        -------
        Interval
        """
        prediction = renamed_argument("prediction_interval", deprecated, "method", "prediction", prediction)
        no_other_keywords("prediction_interval", deprecated)
        lv = self.level if level is None else check_level(level)
        how = check_choice(self.pi_method if prediction is None else prediction, "prediction", PREDICTIONS)
        if how == "higgins":
            if self.k < 3:
                raise MetaacuInputError("a Higgins-Thompson-Spiegelhalter prediction interval needs k >= 3 studies")
            df, label = float(self.k - 2), f"t, {self.k - 2} df (Higgins 2009)"
        else:
            df = self.df
            label = "normal" if not math.isfinite(df) else f"t, {df:g} df"
        half = self._crit(lv, df) * math.sqrt(self.se**2 + self.tau2)
        return Interval(self.estimate - half, self.estimate + half, lv, label)

    def tau2_confint(self, level: float | None = None) -> Interval:
        """Q-profile confidence interval for τ² (Viechtbauer 2007, Stat Med 26:37)."""
        from .heterogeneity import q_profile

        if not self.is_random:
            raise MetaacuInputError("tau2_confint needs a random-effects model (method other than 'EE')")
        if self.k < 2:
            raise MetaacuInputError("tau2_confint needs at least 2 studies; with k = 1 there is no information on tau2")
        lv = self.level if level is None else check_level(level)
        lo, hi = q_profile(self.yi[None, :], self.vi[None, :], np.array([float(self.k)]), lv)
        return Interval(float(lo[0]), float(hi[0]), lv, "Q-profile")

    def tau2_se(self) -> float:
        """Standard error of τ̂² by the formula of the model's estimator (metafor's ``se.tau2``; formulas
        in :mod:`metaacu.tau2_inference`).  Needs a random-effects model with k >= 2."""
        from .tau2_inference import tau2_se

        return tau2_se(self)

    def heterogeneity_confint(
        self, level: float | None = None, *, kind: str = "qprofile", weights: ArrayLike | None = None
    ) -> HeterogeneityInterval:
        """Confidence intervals for τ², τ, I² and H² (metafor's ``confint(res)``).

        Parameters
        ----------
        level : float, optional
            A fraction (default: the model's ``level``).
        kind : {"qprofile", "profile_likelihood", "wald", "genq"}
            How the τ² interval is made: Q-profile (as :meth:`tau2_confint`; any estimator), profile
            likelihood (ML and REML fits), Wald ``τ̂² ± z·SE`` truncated at 0, or the generalised Q with
            the fixed ``weights`` (Jackson 2013).  The I², H² and τ intervals transform its bounds.
        weights : array-like, optional
            With ``kind="genq"`` only: the weights ``aᵢ > 0`` of the generalised Q, one per study.

        Returns
        -------
        HeterogeneityInterval
            With ``to_frame()`` (rows ``tau2, tau, i2, h2``) and the SE of τ̂².
        """
        from .tau2_inference import heterogeneity_interval

        return heterogeneity_interval(self, level, kind, weights)

    def fit_statistics(self, likelihood: str | None = None) -> FitStatistics:
        """Log-likelihood, deviance, AIC, BIC and AICc (metafor's ``fitstats``): the restricted
        likelihood (``"REML"``) for a REML fit and the full one (``"ML"``) otherwise, unless
        ``likelihood`` says which.  See :func:`metaacu.fitstats.fit_statistics`."""
        from .fitstats import fit_statistics

        return fit_statistics(self, likelihood)

    def to_frame(self, level: float | None = None, scale: str = "pooling") -> pd.DataFrame:
        """Tidy frame: one row per study and one pooled row (``row_type`` 'study' / 'pooled').

        Columns: ``row_type, label, estimate, se, ci_low, ci_high, weight, pi_low, pi_high`` (the
        measure is in ``frame.attrs['measure']``) and, when the model was fitted to
        :class:`EffectSizes`, the summary-data columns (``n1, mean1`` ...).

        ``scale="pooling"`` (default): the scale the model is fitted on (log risk ratio, log odds
        ratio, SMD ...).  ``scale="response"``: ``estimate``, ``ci_low``, ``ci_high``, ``pi_low`` and
        ``pi_high`` back-transformed (``exp`` for ratio measures — RR, OR, PETO, ROM; inverse logit
        for PLO; the identity, i.e. the same numbers, for MD, SMD, RD ...), as metafor's
        ``predict(res, transf = exp)``; ``se`` is left out.  Generic effects (no ``measure``) have
        no back-transform and ``"response"`` is refused.  ``frame.attrs`` holds ``scale``,
        ``scale_name`` (e.g. "Log risk ratio" / "Risk ratio") and, on the response scale,
        ``transform``.
        """
        from .report import tidy_frame

        return tidy_frame(self, level, scale)

    def summary_frame(self, level: float | None = None, scale: str = "pooling") -> pd.DataFrame:
        """One-row frame with every pooled statistic (estimate, CIs, PI, τ², Q, I², H², k ...).

        ``scale`` as :meth:`to_frame`: on ``"response"`` the estimate, CI and PI are back-transformed
        and ``se`` is left out; τ², τ, the test statistic and Q stay what they are (statistics of the
        model on the pooling scale).
        """
        from .report import summary_frame

        return summary_frame(self, level, scale)

    def summary(self, digits: int = 4) -> str:
        """Multi-line text summary, in the spirit of metafor's ``print.rma``."""
        from .report import text_summary

        return text_summary(self, digits)

    def __repr__(self) -> str:
        return (
            f"<MetaAnalysis {self.method}/{self.test} k={self.k} estimate={self.estimate:.4g} "
            f"[{self.ci_low:.4g}, {self.ci_high:.4g}] tau2={self.tau2:.4g} I2={self.i2:.1f}%>"
        )

    def _html_frame(self) -> pd.DataFrame:
        return self.to_frame()[["row_type", "label", "estimate", "se", "ci_low", "ci_high", "weight"]]

    def _table_caption(self) -> str:
        return scale_label(self.info) if self.measure else ""


def check_refittable(result: Any, what: str) -> None:
    """Refuse ``what`` (a function that refits the model or re-estimates τ²) for a :class:`MetaAnalysis`
    or :class:`~metaacu.MetaRegression` fitted with user weights or a fixed τ², which the refit could not
    honour."""
    weighted = getattr(result, "user_weights", None) is not None
    if weighted or getattr(result, "tau2_fixed", False):
        how = "user weights (weights=)" if weighted else "a tau2 fixed by the user (tau2=)"
        raise MetaacuInputError(
            f"{what} refits the model or re-estimates tau2 and cannot honour its {how}; "
            "use a model fitted without weights= and tau2="
        )
