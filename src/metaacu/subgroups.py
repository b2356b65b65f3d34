"""Subgroup analysis: pooled effects per subgroup and a test of subgroup differences.

Two conventions (the argument ``tau2_mode``):

* ``tau2_mode="separate"`` (RevMan; R meta's default ``tau.common = FALSE``): each subgroup is its
  own meta-analysis with its own τ²; the test of subgroup differences is Cochran's Q of the
  subgroup estimates around their inverse-variance weighted mean, with weights ``1/SE²`` of the
  subgroup estimates (a fixed-effect test), df = G − 1 (Borenstein et al. 2009, ch. 19; Cochrane
  Handbook §10.11.3.1).
* ``tau2_mode="common"`` (R meta's ``tau.common = TRUE``): one τ² shared by all subgroups, i.e. the
  meta-regression on the group factor (metafor: ``rma(yi, vi, mods = ~ factor(g))``); the test is
  its omnibus QM (χ²(G − 1), or F(G − 1, k − G) with ``test="knha"``) and the subgroup estimates
  are the coefficients of ``mods = ~ factor(g) - 1``.

References
----------
Borenstein M, Hedges LV, Higgins JPT, Rothstein HR. Introduction to Meta-Analysis. Wiley; 2009,
chapter 19 (subgroup analyses, separate vs pooled τ²).
Higgins JPT et al. (eds). Cochrane Handbook for Systematic Reviews of Interventions v6.4, §10.11.
Viechtbauer W. J Stat Softw 2010;36(3) (meta-regression with a factor).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._validation import (
    MetaacuInputError,
    check_choice,
    check_digits,
    check_level,
    no_other_keywords,
    readonly,
    renamed_argument,
)
from .escalc import EffectSizes, data_column, effects_shorthand
from .inference import q_heterogeneity, tau2_heterogeneity, typical_variance
from .measures import measure_info
from .pooling import TESTS, ModelOptions, model_options, note_effect_sizes, pool_effects, resolve_effects
from .regression import REGRESSION_METHODS, REGRESSION_TESTS, MetaRegression, meta_regression
from .report import SCALES, Printable, format_p, on_scale, pooled_size, pooling_name, scale_label
from .results import MetaAnalysis
from .tau2 import TAU2_METHODS

__all__ = ["TAU2_MODES", "SubgroupAnalysis", "subgroup_analysis"]

F64 = NDArray[np.float64]
TAU2_MODES: Final = ("separate", "common")


@dataclass(frozen=True, repr=False)
class SubgroupAnalysis(Printable):
    """Subgroup meta-analyses with a test of subgroup differences.

    Attributes
    ----------
    groups : dict of str to MetaAnalysis
        One model per subgroup, in order of first appearance.  With ``tau2_mode="common"`` each has the
        common τ² and the estimate, SE and tests of the meta-regression ``~ factor(g) - 1``; its
        ``q`` is the subgroup's own Cochran's Q.
    overall : MetaAnalysis
        The model for all studies together (same method, test and prediction).
    q_between, q_between_df, q_between_pvalue : float, int, float
        Test of subgroup differences (see the module notes); under ``tau2_mode="common"`` with
        ``test="knha"`` ``q_between`` is an F statistic with df (``q_between_df``, ``q_between_df2``).
    q_between_test : str
        ``"chi2"`` or ``"F"``.
    q_between_df2 : float
        Denominator df of the F test (``inf`` for χ²).
    tau2_mode : str
        ``"separate"`` or ``"common"`` (the argument ``tau2_mode``).
    tau2_common : float
        The shared τ² (NaN for ``"separate"``).
    group_of : tuple of str
        Subgroup of each study.
    method, test : str
    level : float
    measure : str or None
    regression : MetaRegression or None
        The meta-regression on the group factor (``"common"`` only).
    notes : tuple of str
    """

    groups: dict[str, MetaAnalysis]
    overall: MetaAnalysis
    q_between: float
    q_between_df: int
    q_between_pvalue: float
    q_between_test: str
    q_between_df2: float
    tau2_mode: str
    tau2_common: float
    group_of: tuple[str, ...]
    method: str
    test: str
    level: float
    measure: str | None = None
    regression: MetaRegression | None = field(default=None, compare=False)
    notes: tuple[str, ...] = ()

    def to_frame(self, scale: str = "pooling") -> pd.DataFrame:
        """One row per subgroup and one overall row (``row_type`` 'subgroup' / 'overall').

        Columns ``row_type, group, k, estimate, se, ci_low, ci_high, statistic, pvalue, tau2, q, q_df,
        q_pvalue, i2``; the test of subgroup differences is in ``frame.attrs``.  ``scale`` as
        :meth:`MetaAnalysis.to_frame <metaacu.MetaAnalysis.to_frame>`: ``"response"`` back-transforms
        the estimates and CIs (risk ratios ...) and leaves out ``se``.
        """
        check_choice(scale, "scale", SCALES)
        rows = []
        for name, m in [*self.groups.items(), ("Overall", self.overall)]:
            rows.append(
                {
                    "row_type": "subgroup" if m is not self.overall else "overall",
                    "group": name,
                    "k": m.k,
                    "estimate": m.estimate,
                    "se": m.se,
                    "ci_low": m.ci_low,
                    "ci_high": m.ci_high,
                    "statistic": m.statistic,
                    "pvalue": m.pvalue,
                    "tau2": m.tau2,
                    "q": m.q,
                    "q_df": m.q_df,
                    "q_pvalue": m.q_pvalue,
                    "i2": m.i2,
                }
            )
        out = pd.DataFrame(rows)
        out.attrs.update(
            {
                "q_between": self.q_between,
                "q_between_df": self.q_between_df,
                "q_between_pvalue": self.q_between_pvalue,
                "q_between_test": self.q_between_test,
                "tau2_mode": self.tau2_mode,
                "measure": self.measure,
                "level": self.level,
                "method": self.method,
                "test": self.test,
            }
        )
        # PFT, IRFT: each model's values at the harmonic mean of its own studies' n (person-time)
        sizes = [pooled_size(m) for m in (*self.groups.values(), self.overall)]
        known = [float(v) for v in sizes if v is not None]
        return on_scale(out, self.measure, scale, size=known if len(known) == len(sizes) else None)

    def _table_caption(self) -> str:
        return scale_label(measure_info(self.measure)) if self.measure else ""

    def summary(self, digits: int = 4) -> str:
        """Text summary: one line per subgroup, the overall model and the test of differences."""
        d = check_digits(digits)
        lines = [
            f"Subgroup analysis (k = {self.overall.k}; {len(self.groups)} subgroups; tau^2: {self.tau2_mode}, "
            f"{self.method}; test: {self.test})",
            *(
                [f"Estimates and CIs on the pooling scale ({pooling_name(measure_info(self.measure))})"]
                if self.measure
                else []
            ),
            "",
            f"{'group':>16} {'k':>4} {'estimate':>10} {'ci_low':>10} {'ci_high':>10} {'tau2':>9} {'I2 %':>7}",
        ]
        for name, m in [*self.groups.items(), ("Overall", self.overall)]:
            lines.append(
                f"{name:>16} {m.k:>4d} {m.estimate:>10.{d}f} {m.ci_low:>10.{d}f} {m.ci_high:>10.{d}f} "
                f"{m.tau2:>9.{d}f} {m.i2:>7.2f}"
            )
        lines.append("")
        p = format_p(self.q_between_pvalue)
        if self.q_between_test == "F":
            lines.append(
                f"Test for subgroup differences: F({self.q_between_df}, {self.q_between_df2:g}) = "
                f"{self.q_between:.{d}f}, {p}"
            )
        else:
            lines.append(f"Test for subgroup differences: Q({self.q_between_df}) = {self.q_between:.{d}f}, {p}")
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<SubgroupAnalysis {self.tau2_mode} tau2 {self.method}/{self.test} k={self.overall.k} "
            f"groups={len(self.groups)} Q_between={self.q_between:.4g} (p={self.q_between_pvalue:.3g})>"
        )


def _group_labels(groups: ArrayLike, k: int) -> tuple[str, ...]:
    if groups is None:
        raise MetaacuInputError("argument 'groups' is required (one subgroup label per study)")
    vals = pd.Series(
        np.asarray(groups, dtype=object).ravel() if not isinstance(groups, pd.Series) else groups.to_numpy()
    )
    if len(vals) != k:
        raise MetaacuInputError(f"argument 'groups' has {len(vals)} entries for {k} studies")
    if (bad := vals.isna().to_numpy()).any():
        idx = ", ".join(map(str, np.flatnonzero(bad)[:5]))
        raise MetaacuInputError(f"argument 'groups' has a missing subgroup label at study index {idx}")
    return tuple(str(v) for v in vals)


def _common_group_model(
    y: F64,
    v: F64,
    members: list[NDArray[np.bool_]],
    names: list[str],
    labs: tuple[str, ...],
    opts: ModelOptions,
    level: float,
    measure: str | None,
) -> dict[str, MetaAnalysis]:
    """Per-group MetaAnalysis objects sharing the common τ² (coefficients of ``~ factor(g) - 1``)."""
    from .regression import fit_design

    method, test = opts.method, opts.test
    x = np.column_stack([m.astype(float) for m in members])
    fit = fit_design(y, v, x, names, method=method, test=test, level=level, intercept=False)
    tau2 = fit["tau2"]
    out = {}
    for j, (name, mem) in enumerate(zip(names, members, strict=True)):
        yg, vg = y[mem], v[mem]
        kg = int(mem.sum())
        w0 = 1.0 / vg
        r0 = yg - (w0 * yg).sum() / w0.sum()
        q = float((w0 * r0 * r0).sum())
        q_df = kg - 1
        q_p, i2_q, h2_q = q_heterogeneity(q, q_df)
        if method == "EE":
            i2, h2 = i2_q, h2_q
        else:
            sw0 = float(w0.sum())
            i2, h2 = tau2_heterogeneity(tau2, typical_variance(q_df, sw0 - float((w0 * w0).sum()) / sw0), q_df)
        w = 1.0 / (vg + tau2)
        out[name] = MetaAnalysis(
            estimate=float(fit["estimate"][j]),
            se=float(fit["se"][j]),
            ci_low=float(fit["ci_low"][j]),
            ci_high=float(fit["ci_high"][j]),
            statistic=float(fit["statistic"][j]),
            pvalue=float(fit["pvalue"][j]),
            df=float(fit["df"]),
            tau2=float(tau2),
            q=q,
            q_df=q_df,
            q_pvalue=q_p,
            i2=float(i2),
            h2=float(h2),
            i2_q=i2_q,
            k=kg,
            weights=readonly(100.0 * w / w.sum()),
            yi=readonly(yg.copy()),
            vi=readonly(vg.copy()),
            labels=tuple(lab for lab, m in zip(labs, mem, strict=True) if m),
            method=method,
            test=test,
            level=level,
            measure=measure,
            converged=bool(fit["converged"]),
            iterations=int(fit["iterations"]),
            tau2_at_boundary=bool(method != "EE" and tau2 == 0),
            s2=float(fit["s2"]),
            pi_method=opts.prediction,
            profile=opts.profile.name,
            notes=(f"common tau2 = {tau2:.6g} estimated from all {len(y)} studies (meta-regression on the subgroup)",),
        )
    return out


def subgroup_analysis(
    yi: ArrayLike | str | EffectSizes,
    vi: ArrayLike | str | None = None,
    groups: ArrayLike | str | None = None,
    *,
    data: pd.DataFrame | None = None,
    method: str | None = None,
    test: str | None = None,
    tau2_mode: str = "separate",
    labels: ArrayLike | str | None = None,
    measure: str | None = None,
    level: float = 0.95,
    profile: str = "metafor",
    prediction: str | None = None,
    **deprecated: Any,
) -> SubgroupAnalysis:
    """Pool within subgroups and test whether the subgroup effects differ.

    Three call forms, as :func:`metaacu.meta_analysis`::

        subgroup_analysis(yi, vi, groups)                      # arrays
        subgroup_analysis("yi", "vi", "alloc", data=frame)     # column names of data
        subgroup_analysis(es, groups=g)                        # EffectSizes; also subgroup_analysis(es, g)

    The rule for an :class:`EffectSizes`: it holds its own variances, so a second positional
    argument is the subgroups (``subgroup_analysis(es, g)``, kept as a shorthand) — and so is
    ``vi=g``, which Python cannot tell apart from it.  Giving the subgroups twice
    (``subgroup_analysis(es, g, groups=g)`` or three positional arguments) is refused as ambiguous.

    Parameters
    ----------
    yi : array-like, str or EffectSizes
        Effect sizes (or a column of ``data``), or an :class:`EffectSizes` (then ``vi``, ``labels``
        and ``measure`` come from it).
    vi : array-like or str
        Sampling variances (or a column of ``data``); with an :class:`EffectSizes`, see the rule above.
    groups : array-like or str
        Subgroup label of each study (any hashable; shown as ``str``), or a column of ``data``.
    data : DataFrame, optional
        If given, ``yi``, ``vi``, ``groups`` and ``labels`` may be column names.
    method : str, optional
        τ² estimator, any of :data:`metaacu.tau2.TAU2_METHODS` (for ``"common"`` those of
        :data:`metaacu.regression.REGRESSION_METHODS`).  Default from ``profile`` (REML for "metafor").
    test : str, optional
        ``"z"``, ``"t"``, ``"knha"`` or ``"adhoc"``, as :func:`metaacu.meta_analysis`.  Default from
        ``profile``.
    tau2_mode : {"separate", "common"}
        One τ² per subgroup (RevMan; R meta's ``tau.common = FALSE``) or one τ² shared by all
        (``tau.common = TRUE``; metafor's meta-regression on the group factor).  ``tau2=`` is its
        deprecated old name (``tau2`` is a number everywhere else).
    labels, measure, level :
        As :func:`metaacu.meta_analysis`.
    profile : {"metafor", "revman5", "cochrane"}
        Convention profile giving the defaults of ``method``, ``test`` and ``prediction``, as
        :func:`metaacu.meta_analysis` (an SMD computed under another convention is noted and warned
        about once).
    prediction : {"test", "higgins"}, optional
        Prediction-interval distribution of the subgroup and overall models, as
        :func:`metaacu.meta_analysis`.  Default from ``profile``.

    Returns
    -------
    SubgroupAnalysis

    Notes
    -----
    Separate τ²: ``Q_between = Σ_g w_g (θ̂_g − θ̄)²``, ``w_g = 1/SE_g²``, ``θ̄ = Σ w_g θ̂_g / Σ w_g``,
    compared with χ²(G − 1).  Common τ²: QM of ``y ~ factor(g)`` with one τ².  A subgroup with one
    study is allowed with ``test="z"`` (its τ² is 0 under ``"separate"``).

    Examples
    --------
    >>> res = subgroup_analysis([0.1, 0.3, 0.5, 0.7], [0.02, 0.03, 0.02, 0.03], ["a", "a", "b", "b"], method="DL")
    >>> list(res.groups), round(res.q_between, 4)
    (['a', 'b'], 6.6667)
    """
    tau2_mode = renamed_argument("subgroup_analysis", deprecated, "tau2", "tau2_mode", tau2_mode, "separate")
    no_other_keywords("subgroup_analysis", deprecated)
    mode = check_choice(tau2_mode, "tau2_mode", TAU2_MODES)
    if mode == "separate":
        opts = model_options(profile, method, test, prediction, methods=TAU2_METHODS, tests=TESTS)
    else:
        opts = model_options(profile, method, test, prediction, methods=REGRESSION_METHODS, tests=REGRESSION_TESTS)
    method, test = opts.method, opts.test
    lv = check_level(level)
    vi, groups = effects_shorthand(yi, vi, groups, "groups")  # subgroup_analysis(effect_sizes, groups)
    yi, vi, groups, labels = (
        data_column(data, n, a) for n, a in (("yi", yi), ("vi", vi), ("groups", groups), ("labels", labels))
    )
    y, v, labs, measure, es, notes = resolve_effects(yi, vi, labels, measure)
    note_effect_sizes(opts.profile, es, notes, warn=False)  # the overall model below warns
    k = y.size
    labels = es.labels if es is not None and labels is None else labels
    g = _group_labels(groups, k)
    names = list(dict.fromkeys(g))
    if len(names) < 2:
        raise MetaacuInputError(f"argument 'groups' needs at least 2 subgroups to compare; got only {names[0]!r}")
    garr = np.asarray(g, dtype=object)
    members = [garr == n for n in names]
    singles = [n for n, m in zip(names, members, strict=True) if m.sum() == 1]
    if singles:
        notes.append(
            f"subgroup(s) {', '.join(map(repr, singles))} hold one study"
            + ("; no within-subgroup heterogeneity can be estimated" if mode == "separate" else "")
        )
    if es is not None and labels is es.labels:
        overall = pool_effects(es, None, None, None, opts, lv)
    else:
        overall = pool_effects(y, v, labs, measure, opts, lv)
    reg: MetaRegression | None = None
    if mode == "separate":
        fits: dict[str, MetaAnalysis] = {}
        for n, m in zip(names, members, strict=True):
            if m.sum() == 1 and test != "z":
                raise MetaacuInputError(
                    f"subgroup {n!r} (argument 'groups', study index {int(np.flatnonzero(m)[0])}) holds one study; "
                    f"test={test!r} needs at least 2 per subgroup: use test='z' or tau2_mode='common'"
                )
            if es is not None and labels is es.labels:  # keep the arm data for forest plots
                fits[n] = pool_effects(es.subset(m), None, None, None, opts, lv, warn=False)
            else:
                group_labels = [lab for lab, keep in zip(labs, m, strict=True) if keep]
                fits[n] = pool_effects(y[m], v[m], group_labels, measure, opts, lv, warn=False)
        est = np.array([f.estimate for f in fits.values()])
        w = 1.0 / np.array([f.se for f in fits.values()]) ** 2
        qb = float((w * (est - (w * est).sum() / w.sum()) ** 2).sum())
        qb_df = len(names) - 1
        qb_p = float(special.chdtrc(qb_df, qb))
        qtest, df2, tau2_common = "chi2", np.inf, np.nan
        if test != "z":
            notes.append(
                "test of subgroup differences uses the subgroup standard errors of the chosen test "
                f"({test!r}), compared with chi-squared(G - 1)"
            )
    else:
        if k <= len(names):
            raise MetaacuInputError(
                f"tau2_mode='common' needs more studies than subgroups (k = {k}, {len(names)} subgroups)"
            )
        frame = pd.DataFrame({"group": pd.Categorical(g, categories=names)})
        reg = meta_regression(y, v, frame, method=method, test=test, level=lv, labels=labs)
        fits = _common_group_model(y, v, members, names, labs, opts, lv, measure)
        qb, qb_df, qb_p = reg.qm, reg.qm_df, reg.qm_pvalue
        qtest, df2, tau2_common = reg.qm_test, reg.df, reg.tau2
    return SubgroupAnalysis(
        groups=fits,
        overall=overall,
        q_between=qb,
        q_between_df=int(qb_df),
        q_between_pvalue=qb_p,
        q_between_test=qtest,
        q_between_df2=float(df2),
        tau2_mode=mode,
        tau2_common=float(tau2_common),
        group_of=g,
        method=method,
        test=test,
        level=lv,
        measure=measure,
        regression=reg,
        notes=tuple(notes),
    )
