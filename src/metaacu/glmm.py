"""Exact-likelihood random-effects models for 2×2 tables and two-group event counts (metafor's
``rma.glmm``): the binomial-normal model with fixed study effects (``"UM.FS"``), the conditional
hypergeometric-normal model (``"CM.EL"``) and its binomial approximation (``"CM.AL"``) for odds ratios;
the Poisson-normal model with fixed study effects (``"UM.FS"``) and the exact conditional
binomial-normal model (``"CM.EL"``) for incidence-rate ratios.  Intercept-only; with moderators
:func:`metaacu.glmm_regression.glmm_meta_regression`.

The likelihoods are in :mod:`metaacu.glmm_likelihood`, the maximisation in :mod:`metaacu.glmm_fit`,
the result in :mod:`metaacu.glmm_result`.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._validation import (
    MetaacuInputError,
    as_float_array,
    bad_indices,
    check_choice,
    check_events_within_totals,
    check_int,
    check_labels,
    check_level,
    check_same_length,
)
from .escalc import data_column
from .glmm_fit import maximise, warn_not_converged
from .glmm_likelihood import Family, loglik_at_modes, saturated
from .glmm_random_study_fits import random_study_fits
from .glmm_result import GLMMResult
from .inference import critical_value, tau2_heterogeneity, two_sided_p, typical_variance

__all__ = [
    "GLMM_MODELS",
    "RANDOM_STUDY_MODELS",
    "alpha_start",
    "checked_counts",
    "checked_nodes",
    "event_columns",
    "glmm_family",
    "glmm_meta_analysis",
    "informative_studies",
    "study_variances",
]

F64 = NDArray[np.float64]
#: The models: metafor's names.
GLMM_MODELS: Final = ("UM.FS", "CM.EL", "CM.AL")
#: Models with random study effects (:mod:`metaacu.glmm_random_study_fits`; lme4's fits in metafor).
RANDOM_STUDY_MODELS: Final = ("UM.RS",)
_FAMILY = {
    ("OR", "UM.FS"): "binomial_fs",
    ("OR", "CM.EL"): "hypergeometric",
    ("OR", "CM.AL"): "binomial_cond",
    ("IRR", "UM.FS"): "poisson_fs",
    ("IRR", "CM.EL"): "binomial_cond",
}


def informative_studies(
    a: F64, s1: F64, c: F64, s2: F64, measure: str, labels: tuple[str, ...], notes: list[str]
) -> tuple[NDArray[np.bool_], tuple[str, ...]]:
    """Which studies inform the ratio (metafor's ``drop00``): not those without events in either arm,
    nor, for OR, those with events in every participant of both.  The others are excluded with a
    ``UserWarning`` (issued for the caller's caller) and a note naming them; returns ``(keep, excluded)``."""
    if measure == "OR":
        uninformative = ((a == 0) & (c == 0)) | ((a == s1) & (c == s2))
        what = "no events in either arm or events in every participant of both arms"
    else:
        uninformative = (a == 0) & (c == 0)
        what = "no events in either group"
    excluded = tuple(labels[i] for i in np.flatnonzero(uninformative))
    if uninformative.any():
        msg = f"{bad_indices(uninformative, labels=labels)}: {what}; excluded (no information on the {measure})"
        warnings.warn(msg, UserWarning, stacklevel=3)
        notes.append(f"Excluded, {what}: {', '.join(excluded)}.")
    return ~uninformative, excluded


def glmm_meta_analysis(
    events1: ArrayLike | str,
    n1: ArrayLike | str | None = None,
    events2: ArrayLike | str | None = None,
    n2: ArrayLike | str | None = None,
    *,
    time1: ArrayLike | str | None = None,
    time2: ArrayLike | str | None = None,
    data: pd.DataFrame | None = None,
    measure: str = "OR",
    model: str = "UM.FS",
    method: str = "ML",
    profile: str = "metafor",
    nodes: int | None = None,
    level: float = 0.95,
    labels: ArrayLike | str | None = None,
    max_iter: int = 100,
) -> GLMMResult:
    """Random-effects (or common-effect) meta-analysis of event data by maximum likelihood of a
    generalised linear mixed model (metafor's ``rma.glmm``).

    Parameters
    ----------
    events1, n1, events2, n2 : array-like or str
        Events and totals of the experimental (1) and control (2) arms (``measure="OR"``), or column
        names of ``data``.
    time1, time2 : array-like or str, optional
        Person-time of the two groups (``measure="IRR"``, with ``events1, events2``; no ``n1, n2``).
    data : DataFrame, optional
        Table whose columns the other arguments may name.
    measure : {"OR", "IRR"}
        Log odds ratio or log incidence-rate ratio.
    model : {"UM.FS", "CM.EL", "CM.AL", "UM.RS"}
        ``"UM.FS"``: unconditional model with fixed study effects (binomial-normal for OR,
        Poisson-normal for IRR); ``"CM.EL"``: conditional model, exact likelihood (noncentral
        hypergeometric-normal for OR, binomial-normal given the total events for IRR);
        ``"CM.AL"``: the conditional model's binomial approximation (OR only; for IRR the binomial
        model is exact and ``"CM.AL"`` is the same as ``"CM.EL"``, as in metafor, with a note);
        ``"UM.RS"``: unconditional binomial-normal (OR) or Poisson-normal (IRR) model with random study
        effects (a random intercept per study, variance ``sigma2``, and the random log ratio,
        uncorrelated), by the Laplace approximation as metafor with lme4
        (:mod:`metaacu.glmm_random_study`).
    method : {"ML", "EE"}
        The τ² estimator: ``"ML"`` (random effects, τ² by maximum likelihood) or ``"EE"`` (the
        common-effect model, τ² = 0).
    profile : {"metafor"}
        Convention profile, as :func:`metaacu.meta_analysis`; only ``"metafor"`` (rma.glmm's defaults:
        ML, Wald z): ``"revman5"`` and ``"cochrane"`` define no generalised linear mixed model and are
        refused.
    nodes : int, optional
        Number of adaptive Gauss-Hermite nodes (metafor's ``nAGQ``; 1 is the Laplace approximation).
        Default: metafor's 7, except UM.RS with ``method="ML"``: 1, since glmer (and so metafor, which
        forces ``nAGQ = 1``) fits its two random effects per study only by the Laplace approximation;
        there ``nodes > 1`` (at most 30) is the ``nodes × nodes`` adaptive product rule, also used for
        its common-effect and saturated fits, which metafor cannot reproduce (noted on the result).
    level : float
        Confidence level of the Wald interval of the pooled effect.
    labels : array-like or str, optional
        Study labels (or a column of ``data``).
    max_iter : int
        Newton iterations allowed; a fit that stops without converging is returned with
        ``converged=False`` and a ``RuntimeWarning``.

    Returns
    -------
    GLMMResult

    Notes
    -----
    Studies with no events in either arm, or events in every participant of both arms, carry no
    information about the log ratio under these models (their fixed study effect or the conditioning
    on the total events absorbs them); they are excluded, named in a warning and listed in
    ``excluded`` (metafor drops them silently with ``drop00=TRUE``).  Other zero cells need no
    continuity correction.  The heterogeneity tests are metafor's: a Wald-type and a likelihood-ratio
    test of the common-effect model against the saturated model (one effect per study), χ² on k − 1
    df.  I² and H² use the typical within-study variance of the studies' escalc variances (½ added
    to every cell of a table with a zero cell), as metafor.  For UM.RS the common-effect and the
    saturated model keep a random study intercept (metafor's glmer fits with ``(1 | study)``), and
    ``sigma2`` is that of the model fitted.  Formulas: Stijnen, Hamza & Özdemir, Stat
    Med 2010;29:3046-67 (eqs. 4, 7, 9); quadrature as lme4 (Bates et al., J Stat Softw 2015;67(1)).

    Examples
    --------
    >>> import metaacu
    >>> res = metaacu.glmm_meta_analysis([4, 10, 2], [100, 120, 90], [9, 15, 6], [100, 118, 95])
    >>> round(res.estimate, 3), res.tau2, res.nodes
    (-0.684, 0.0, 7)
    """
    measure = check_choice(measure, "measure", ("OR", "IRR"))
    model = check_choice(model, "model", GLMM_MODELS + RANDOM_STUDY_MODELS)
    method = check_choice(method, "method", ("ML", "EE"))
    check_choice(profile, "profile", ("metafor",))
    nodes = checked_nodes(nodes, model, method)
    level = check_level(level)
    max_iter = check_int(max_iter, "max_iter", low=1)
    notes: list[str] = []
    if measure == "IRR" and model == "CM.AL":
        model = "CM.EL"
        notes.append("For IRR the conditional binomial model is exact: model 'CM.AL' is fitted as 'CM.EL'.")
    cols = event_columns(events1, n1, events2, n2, time1, time2, data, measure)
    k_all = check_same_length(cols)
    labs = check_labels(data_column(data, "labels", labels), k_all) or ()
    a, s1, c, s2 = checked_counts(cols, measure, labs)
    keep, excluded = informative_studies(a, s1, c, s2, measure, labs, notes)
    a, s1, c, s2 = a[keep], s1[keep], c[keep], s2[keep]
    kept = tuple(lab for lab, k in zip(labs, keep, strict=True) if k)
    k = int(a.size)
    if k < 2:
        raise MetaacuInputError(f"a {model} model needs at least 2 informative studies; got {k}")
    if model == "UM.RS":
        counts = (a, s1, c, s2)
        return _random_study(counts, measure, kept, excluded, method, nodes, level, max_iter, tuple(notes))
    fam = glmm_family(measure, model, a, s1, c, s2)
    ll_sat, y_sat, v_sat = saturated(fam)
    w_sat = 1.0 / v_sat
    mu0 = float(np.sum(w_sat * y_sat) / np.sum(w_sat)) if np.sum(w_sat) > 0 else 0.0
    alpha0 = alpha_start(fam)
    common = maximise(fam, nodes, random=False, mu0=mu0, tau0=0.0, alpha0=alpha0, max_iter=max_iter)
    fit = (
        common
        if method == "EE"
        else maximise(fam, nodes, random=True, mu0=common.mu, tau0=0.5, alpha0=common.alpha, max_iter=max_iter)
    )
    if not (fit.converged and common.converged):
        warn_not_converged(model, max_iter, fit.gradient, stacklevel=2)
    se = math.sqrt(fit.vcov[0, 0]) if fit.vcov[0, 0] > 0 else math.nan
    if math.isnan(se):
        warnings.warn(
            "the observed information of the fit is not positive definite: no standard error",
            RuntimeWarning,
            stacklevel=2,
        )
    z = fit.mu / se
    crit = critical_value(level)
    tau2 = fit.tau**2
    se_tau2 = 2 * fit.tau * math.sqrt(fit.vcov[1, 1]) if method == "ML" and fit.vcov[1, 1] > 0 else math.nan
    df = k - 1
    qe_wald = _wald_q(y_sat, w_sat)
    qe_lrt = max(0.0, 2 * (ll_sat - common.loglik))
    i2, h2 = tau2_heterogeneity(tau2, _typical_variance(measure, a, s1, c, s2), df)
    parms = (1 if method == "ML" else 0) + 1 + (k if fam.has_alpha else 0)
    k_eff = 2 * k if fam.has_alpha else k
    ll = fit.loglik
    lme4_like = not (measure == "OR" and model == "CM.EL") and method == "ML"
    ll_metafor = loglik_at_modes(fam, fit.mu, fit.tau, fit.alpha) if lme4_like else ll
    return GLMMResult(
        measure=measure,
        model=model,
        method=method,
        nodes=nodes,
        k=k,
        labels=kept,
        excluded=excluded,
        estimate=fit.mu,
        se=se,
        statistic=z,
        pvalue=float(two_sided_p(z)),
        ci_low=fit.mu - crit * se,
        ci_high=fit.mu + crit * se,
        level=level,
        tau2=tau2,
        se_tau2=se_tau2,
        i2=float(i2),
        h2=float(h2),
        **heterogeneity_and_fit(qe_wald, qe_lrt, df, ll, common.loglik, ll_sat, ll_metafor, parms, k_eff),
        iterations=fit.iterations,
        converged=fit.converged and common.converged,
        notes=tuple(notes),
    )


def checked_nodes(nodes: int | None, model: str, method: str) -> int:
    """``nodes`` checked, ``None`` → metafor's default (7; 1 for the UM.RS random-effects fit, metafor's
    forced ``nAGQ = 1``); UM.RS's 2-D rule has ``nodes²`` points: at most 30 nodes."""
    two_d = model == "UM.RS" and method == "ML"
    if nodes is None:
        return 1 if two_d else 7
    return check_int(nodes, "nodes", low=1, high=30 if two_d else 100)


def _random_study(
    counts: tuple[F64, F64, F64, F64],
    measure: str,
    labels: tuple[str, ...],
    excluded: tuple[str, ...],
    method: str,
    nodes: int,
    level: float,
    max_iter: int,
    notes: tuple[str, ...],
) -> GLMMResult:
    """UM.RS (:func:`metaacu.glmm_random_study_fits.random_study_fits`) as a :class:`GLMMResult`: the
    common-effect, random-effects and saturated fits, at ``nodes`` (1 for ``method="ML"``, as metafor)."""
    a, s1, c, s2 = counts
    k = int(a.size)
    rs = random_study_fits(
        a, s1, c, s2, measure=measure, method=method, nodes=nodes, max_iter=max_iter, labels=labels, stacklevel=3
    )
    fit, common, sat, parms = rs.fit, rs.common, rs.saturated, rs.parameters
    var = float(fit.vcov[1, 1])
    se = math.sqrt(var) if var > 0 else math.nan
    if math.isnan(se):
        warnings.warn(
            "the observed information of the fit is not positive definite: no standard error",
            RuntimeWarning,
            stacklevel=3,
        )
    estimate, tau2 = float(fit.beta[0]), fit.tau**2
    z, crit, df = estimate / se, critical_value(level), k - 1
    i2, h2 = tau2_heterogeneity(tau2, _typical_variance(measure, a, s1, c, s2), df)
    return GLMMResult(
        measure=measure,
        model="UM.RS",
        method=method,
        nodes=nodes,
        k=k,
        labels=labels,
        excluded=excluded,
        estimate=estimate,
        se=se,
        statistic=z,
        pvalue=float(two_sided_p(z)),
        ci_low=estimate - crit * se,
        ci_high=estimate + crit * se,
        level=level,
        tau2=tau2,
        se_tau2=math.nan,
        i2=float(i2),
        h2=float(h2),
        **heterogeneity_and_fit(
            rs.qe_wald, rs.qe_lrt, df, fit.loglik, common.loglik, sat.fit.loglik, rs.loglik_metafor, parms, 2 * k
        ),
        iterations=fit.iterations,
        converged=rs.converged,
        notes=(*notes, *rs.notes),
        sigma2=fit.sigma**2,
    )


def heterogeneity_and_fit(
    qe_wald: float,
    qe_lrt: float,
    df: int,
    ll: float,
    ll_common: float,
    ll_sat: float,
    ll_metafor: float,
    parms: int,
    k_eff: int,
) -> dict[str, Any]:
    """The residual-heterogeneity tests (Wald-type and likelihood-ratio, χ² on ``df``) and the fit
    statistics (deviance against the saturated model, AIC, BIC, AICc with metafor's parameter count
    ``parms`` and ``k_eff`` observations) shared by :class:`GLMMResult` and ``GLMMRegression``."""
    big = max(k_eff, parms + 2)
    return {
        "qe_wald": qe_wald,
        "qe_lrt": qe_lrt,
        "qe_df": df,
        "qe_wald_pvalue": float(special.chdtrc(df, qe_wald)),
        "qe_lrt_pvalue": float(special.chdtrc(df, qe_lrt)),
        "loglik": ll,
        "loglik_common": ll_common,
        "loglik_saturated": ll_sat,
        "loglik_metafor": ll_metafor,
        "deviance": -2 * (ll - ll_sat),
        "aic": -2 * ll + 2 * parms,
        "bic": -2 * ll + parms * math.log(k_eff),
        "aicc": -2 * ll + 2 * parms * big / (big - parms - 1),
        "parameters": parms,
        "observations": k_eff,
    }


def event_columns(
    events1: Any, n1: Any, events2: Any, n2: Any, time1: Any, time2: Any, data: Any, measure: str
) -> dict[str, Any]:
    """The count columns ``measure`` needs (``events1, n1, events2, n2`` or ``events1, time1, events2,
    time2``) as float arrays, refusing arguments of the other measure and missing ones."""
    given = {"events1": events1, "n1": n1, "events2": events2, "n2": n2, "time1": time1, "time2": time2}
    need = ("events1", "n1", "events2", "n2") if measure == "OR" else ("events1", "time1", "events2", "time2")
    stray = [name for name, v in given.items() if v is not None and name not in need]
    if stray:
        raise MetaacuInputError(f"measure {measure!r} takes {', '.join(need)}; got also {', '.join(stray)}")
    missing = [name for name in need if given[name] is None]
    if missing:
        raise MetaacuInputError(f"measure {measure!r} needs {', '.join(need)}; missing {', '.join(missing)}")
    return {name: as_float_array(data_column(data, name, given[name]), name) for name in need}


def checked_counts(cols: dict[str, F64], measure: str, labs: tuple[str, ...]) -> tuple[F64, F64, F64, F64]:
    """Re-check with labels: whole nonnegative events, positive totals or times, events ≤ totals."""
    if measure == "OR":
        a = as_float_array(cols["events1"], "events1", nonnegative=True, integer=True, labels=labs)
        c = as_float_array(cols["events2"], "events2", nonnegative=True, integer=True, labels=labs)
        n1 = as_float_array(cols["n1"], "n1", positive=True, integer=True, labels=labs)
        n2 = as_float_array(cols["n2"], "n2", positive=True, integer=True, labels=labs)
        check_events_within_totals(a, n1, ("events1", "n1"), labs)
        check_events_within_totals(c, n2, ("events2", "n2"), labs)
        return a, n1, c, n2
    a = as_float_array(cols["events1"], "events1", nonnegative=True, integer=True, labels=labs)
    c = as_float_array(cols["events2"], "events2", nonnegative=True, integer=True, labels=labs)
    t1 = as_float_array(cols["time1"], "time1", positive=True, labels=labs)
    t2 = as_float_array(cols["time2"], "time2", positive=True, labels=labs)
    return a, t1, c, t2


def glmm_family(measure: str, model: str, a: F64, s1: F64, c: F64, s2: F64) -> Family:
    """The conditional likelihood of ``model`` for ``measure`` (:class:`metaacu.glmm_likelihood.Family`)."""
    name = _FAMILY[(measure, model)]
    if name == "binomial_cond":  # the offset log(n₁/n₂) or log(t₁/t₂) rides in n1
        return Family(name, a, np.log(s1 / s2), c, np.zeros_like(a))
    return Family(name, a, s1, c, s2)


def alpha_start(fam: Family) -> F64:
    """Starting fixed study effects: the mean of the two arms' empirical logits (log rates)."""
    a, s1, c, s2 = fam.y1, fam.n1, fam.y2, fam.n2
    if fam.name == "binomial_fs":
        out: F64 = 0.5 * (np.log((a + 0.5) / (s1 - a + 0.5)) + np.log((c + 0.5) / (s2 - c + 0.5)))
        return out
    if fam.name == "poisson_fs":
        out = 0.5 * (np.log((a + 0.5) / s1) + np.log((c + 0.5) / s2))
        return out
    return np.zeros(fam.k)


def _wald_q(y: F64, w: F64) -> float:
    """Wald-type test that the saturated model's effects are equal, ``Σwᵢ(yᵢ − ȳ_w)²`` (studies on the
    boundary, a zero cell, weigh 0: the limit of metafor's fit with a diverging coefficient)."""
    if np.sum(w) == 0:
        return 0.0
    ybar = np.sum(w * y) / np.sum(w)
    return float(max(0.0, np.sum(w * (y - ybar) ** 2)))


def _typical_variance(measure: str, a: F64, s1: F64, c: F64, s2: F64) -> float:
    """metafor's ``vt = (k − 1)/tr P`` from the escalc variances (:func:`study_variances`)."""
    w = 1.0 / study_variances(measure, a, s1, c, s2)
    return float(typical_variance(a.size - 1, np.sum(w) - np.sum(w**2) / np.sum(w)))


def study_variances(measure: str, a: F64, s1: F64, c: F64, s2: F64) -> F64:
    """The escalc sampling variances metafor's I² and H² use: ``1/a + 1/b + 1/c + 1/d`` (OR) or
    ``1/x₁ + 1/x₂`` (IRR), ½ added to every cell of a table with a zero cell (to both counts for IRR)."""
    if measure == "OR":
        cells = np.stack([a, s1 - a, c, s2 - c])
        cells = cells + 0.5 * (cells == 0).any(axis=0)
        vi = np.sum(1.0 / cells, axis=0)
    else:
        ev = np.stack([a, c])
        ev = ev + 0.5 * (ev == 0).any(axis=0)
        vi = np.sum(1.0 / ev, axis=0)
    out: F64 = vi
    return out
