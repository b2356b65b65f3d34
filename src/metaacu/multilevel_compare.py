"""Likelihood-ratio test between two nested multilevel models (metafor's ``anova(full, reduced)`` of two
``rma.mv`` fits): :func:`multilevel_likelihood_ratio_test`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._validation import MetaacuInputError, check_digits
from .fitstats import FitStatistics, column_space_contains, deviance_test
from .multilevel_result import MultilevelMetaAnalysis
from .report import Printable, format_p

__all__ = ["MultilevelLikelihoodRatioTest", "multilevel_likelihood_ratio_test"]


@dataclass(frozen=True, repr=False)
class MultilevelLikelihoodRatioTest(Printable):
    """Likelihood-ratio test of a reduced multilevel model against the full model it is nested in.

    Attributes
    ----------
    statistic : float
        ``deviance(reduced) − deviance(full)``, truncated at 0.
    df : int
        Difference in the number of parameters.
    pvalue : float
        ``P(χ²_df > statistic)`` (metafor's; for a variance tested at its boundary 0 the null
        distribution is a χ² mixture and this p-value is conservative).
    likelihood : str
        ``"REML"`` or ``"ML"``, the models' method.
    full, reduced : FitStatistics
    """

    statistic: float
    df: int
    pvalue: float
    likelihood: str
    full: FitStatistics
    reduced: FitStatistics

    def to_frame(self) -> pd.DataFrame:
        """Two rows (full, reduced): the fit statistics, with the test on the reduced row."""
        out = pd.concat([self.full.to_frame(), self.reduced.to_frame()], ignore_index=True)
        out.insert(0, "model", ["full", "reduced"])
        out["lrt"] = [np.nan, self.statistic]
        out["df"] = [np.nan, float(self.df)]
        out["pvalue"] = [np.nan, self.pvalue]
        return out

    def summary(self, digits: int = 4) -> str:
        d = check_digits(digits)
        return "\n".join(
            [
                f"Likelihood-ratio test of nested multilevel models ({self.likelihood})",
                f"  full:    {self.full.parameters} parameters, logLik = {self.full.loglik:.{d}f}, "
                f"AIC = {self.full.aic:.{d}f}",
                f"  reduced: {self.reduced.parameters} parameters, logLik = {self.reduced.loglik:.{d}f}, "
                f"AIC = {self.reduced.aic:.{d}f}",
                f"  LRT = {self.statistic:.{d}f} on {self.df} df, {format_p(self.pvalue)}",
            ]
        )

    def __repr__(self) -> str:
        return (
            f"<MultilevelLikelihoodRatioTest {self.likelihood} LRT={self.statistic:.4g} df={self.df} "
            f"p={self.pvalue:.3g}>"
        )


def multilevel_likelihood_ratio_test(
    full: MultilevelMetaAnalysis, reduced: MultilevelMetaAnalysis
) -> MultilevelLikelihoodRatioTest:
    """Likelihood-ratio test between two nested multilevel models fitted to the same effects (metafor's
    ``anova(full, reduced)``).

    Parameters
    ----------
    full, reduced : MultilevelMetaAnalysis
        Fits to the same ``yi`` and sampling covariance, both by ML or both by REML (REML: with the
        same fixed effects).  The model with more parameters is the full one (as metafor).  That the
        random-effects structure of the reduced model is a special case of the full one's (CS of UN,
        one level of two) is the caller's claim, as in metafor, which does not check it either.

    Returns
    -------
    MultilevelLikelihoodRatioTest

    Notes
    -----
    ``LRT = deviance(reduced) − deviance(full)`` with the deviances of
    :meth:`MultilevelMetaAnalysis.fit_statistics`, on χ² with the difference in parameters.

    Examples
    --------
    >>> import pandas as pd
    >>> from metaacu import multilevel_meta_analysis
    >>> d = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.6, 0.2, 0.1], "vi": [0.02] * 8,
    ...                   "a": list("aabbccdd"), "b": list("12121212")})
    >>> full = multilevel_meta_analysis("yi", "vi", data=d, nested=["a", "b"])
    >>> reduced = multilevel_meta_analysis("yi", "vi", data=d, nested=["a"])
    >>> multilevel_likelihood_ratio_test(full, reduced).df
    1
    """
    if not (np.array_equal(full.yi, reduced.yi) and full.loglik_saturated == reduced.loglik_saturated):
        raise MetaacuInputError("multilevel_likelihood_ratio_test: the two models are not fitted to the same yi and V")
    if full.method != reduced.method:
        raise MetaacuInputError(
            "multilevel_likelihood_ratio_test: one model is fitted by ML and the other by REML; fit both the same way"
        )
    if full.parameters == reduced.parameters:
        raise MetaacuInputError(
            f"multilevel_likelihood_ratio_test: both models have {full.parameters} parameters; the test compares "
            "a model with a reduction of it that has fewer"
        )
    if full.parameters < reduced.parameters:
        full, reduced = reduced, full
    if not column_space_contains(full.design, reduced.design):
        raise MetaacuInputError(
            "multilevel_likelihood_ratio_test: the models are not nested: the reduced model's moderators are not "
            "contained in the full model's"
        )
    if full.method == "REML" and not column_space_contains(reduced.design, full.design):
        raise MetaacuInputError(
            "multilevel_likelihood_ratio_test: REML likelihoods of models with different fixed effects cannot be "
            "compared; refit both models with method='ML'"
        )
    fs_f, fs_r = full.fit_statistics(), reduced.fit_statistics()
    statistic, df, pvalue = deviance_test(fs_f, fs_r)
    return MultilevelLikelihoodRatioTest(
        statistic=statistic,
        df=df,
        pvalue=pvalue,
        likelihood=full.method,
        full=fs_f,
        reduced=fs_r,
    )
