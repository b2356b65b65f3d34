"""Exact-likelihood meta-regression of event data (metafor's ``rma.glmm`` with ``mods=``): the models of
:mod:`metaacu.glmm` with each study's mean log odds ratio (log rate ratio) a linear function of
study-level moderators, ``θᵢ = xᵢᵀβ + τ zᵢ``.

The likelihoods are those of :mod:`metaacu.glmm_likelihood` with the linear predictor in place of the
common mean, maximised by :func:`metaacu.glmm_fit.maximise` over ``(β, τ)``; the result is
:class:`metaacu.glmm_regression_result.GLMMRegression`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._validation import (
    MetaacuInputError,
    bad_indices,
    check_choice,
    check_int,
    check_labels,
    check_level,
    check_same_length,
)
from .coefficients import select_coefficients
from .design import check_rank, design_matrix, design_terms, moderator_frame
from .escalc import data_column
from .formula import formula_design, is_formula
from .glmm import (
    GLMM_MODELS,
    RANDOM_STUDY_MODELS,
    alpha_start,
    checked_counts,
    checked_nodes,
    event_columns,
    glmm_family,
    heterogeneity_and_fit,
    informative_studies,
    study_variances,
)
from .glmm_fit import maximise, warn_not_converged
from .glmm_likelihood import loglik_at_modes, saturated
from .glmm_random_study_fits import random_study_fits
from .glmm_regression_result import GLMMRegression
from .inference import critical_value, tau2_heterogeneity, two_sided_p, typical_variance

__all__ = ["glmm_meta_regression"]

F64 = NDArray[np.float64]


def glmm_meta_regression(
    events1: ArrayLike | str,
    n1: ArrayLike | str | None = None,
    events2: ArrayLike | str | None = None,
    n2: ArrayLike | str | None = None,
    *,
    moderators: Any,
    btt: Any = None,
    time1: ArrayLike | str | None = None,
    time2: ArrayLike | str | None = None,
    data: pd.DataFrame | None = None,
    intercept: bool = True,
    measure: str = "OR",
    model: str = "UM.FS",
    method: str = "ML",
    test: str = "z",
    profile: str = "metafor",
    nodes: int | None = None,
    level: float = 0.95,
    labels: ArrayLike | str | None = None,
    max_iter: int = 100,
) -> GLMMRegression:
    """Mixed-effects (or fixed-effects) meta-regression of event data by maximum likelihood of a
    generalised linear mixed model (metafor's ``rma.glmm`` with ``mods``).

    Parameters
    ----------
    events1, n1, events2, n2, time1, time2, data, measure, model, nodes, level, labels, max_iter
        As :func:`metaacu.glmm_meta_analysis`.
    method : {"ML", "EE"}
        The τ² estimator: ``"ML"`` (mixed-effects model, residual τ² by maximum likelihood) or ``"EE"``
        (the fixed-effects model, τ² = 0).
    profile : {"metafor"}
        Convention profile, as :func:`metaacu.glmm_meta_analysis` (only ``"metafor"``; ``"revman5"``
        and ``"cochrane"`` define no generalised linear mixed model and are refused).
    moderators : DataFrame, mapping, array-like, str or list of str
        One row per study (all studies, including any that are excluded for carrying no information):
        a table (numeric columns as they are, text/boolean/categorical columns dummy-coded as
        :func:`metaacu.meta_regression`), a numeric 1-D or 2-D array, column name(s) of ``data``, or
        a formula on ``data`` (any other string: ``"~ ablat + I(year - 1960) + factor(alloc)"``, R's
        ``mods = ~ ...``, read by :mod:`metaacu.formula` exactly as :func:`metaacu.meta_regression`
        reads it; needs the ``formulaic`` package).
    btt : int, str or sequence, optional
        The coefficients of the omnibus test ``QM`` (metafor's ``btt``), read as the ``coefs`` of
        :func:`metaacu.wald_test`: indices from 0 (metafor counts from 1), names, or a string that is part of names
        (``"alloc"``: every ``alloc`` dummy).  Default: all but the intercept (all without one).
    test : {"z", "t"}
        metafor's ``test``: Wald z tests and intervals with QM on χ²(m), or t tests and intervals on
        ``k − p`` df with ``QM/m`` on F(m, k − p) (the tests for residual heterogeneity stay χ²).
    intercept : bool
        Whether the model has an intercept (with a formula, ``False`` is its ``- 1``).

    Returns
    -------
    GLMMRegression

    Notes
    -----
    Study i's true log ratio is ``θᵢ = xᵢᵀβ + τzᵢ``, ``zᵢ ~ N(0, 1)``, in the conditional likelihoods of
    :mod:`metaacu.glmm_likelihood` (Stijnen, Hamza & Özdemir, Stat Med 2010;29:3046-67, section 2,
    covariates in the linear predictor).  The coefficients' standard errors come from the observed
    information of the profile likelihood in ``(β, τ)``; the Wald z (or t) tests, the omnibus test
    ``QM = β̂ᵀ V⁻¹ β̂`` of the coefficients ``btt`` (χ², df their number; ``QM/m`` on F under t) and the tests for
    residual heterogeneity (Wald-type ``Σ`` weighted residual sum of squares of the saturated model's
    estimates on X, and likelihood-ratio, both χ² on k − p df) are metafor's; I² and H² use
    ``ṽ = (k − p)/tr P`` with the escalc variances (metafor's ``vt``).  ``model="UM.RS"`` (random
    study effects) is fitted by :func:`metaacu.glmm_random_study_fits.random_study_fits`, arm 1 at
    ``γ + xᵢᵀβ + uᵢ + vᵢ/2`` (metafor's ``X.fit = group1 · X``), its Wald-type QE the test that the
    saturated estimates lie in the column space of X, σ² on the result, ``se_tau2`` NaN (metafor: NA).

    Examples
    --------
    >>> import metaacu
    >>> res = metaacu.glmm_meta_regression(
    ...     [4, 10, 2, 7], [100, 120, 90, 80], [9, 15, 6, 8], [100, 118, 95, 85], moderators=[0, 1, 0, 1]
    ... )
    >>> res.coef_names, res.p
    (('intercept', 'x1'), 2)

    A formula on ``data`` (the event columns named there too), and the test of a subset:

    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [4, 10, 2, 7, 5], "n1": [100, 120, 90, 80, 70], "c": [9, 15, 6, 8, 9],
    ...                    "n2": [100, 118, 95, 85, 75], "dose": [1, 2, 1, 3, 2], "arm": list("xyxyy")})
    >>> fit = metaacu.glmm_meta_regression("a", "n1", "c", "n2", data=df, moderators="~ I(dose - 2) + factor(arm)",
    ...                                    method="EE", btt="arm")
    >>> fit.coef_names, fit.btt
    (('intercept', 'I(dose - 2)', 'factor(arm)[y]'), (2,))
    """
    measure = check_choice(measure, "measure", ("OR", "IRR"))
    model = check_choice(model, "model", GLMM_MODELS + RANDOM_STUDY_MODELS)
    method = check_choice(method, "method", ("ML", "EE"))
    test = check_choice(test, "test", ("z", "t"))
    check_choice(profile, "profile", ("metafor",))
    nodes = checked_nodes(nodes, model, method)
    level = check_level(level)
    max_iter = check_int(max_iter, "max_iter", low=1)
    if not isinstance(intercept, bool | np.bool_):
        raise MetaacuInputError(f"argument 'intercept' must be True or False, got {intercept!r}")
    notes: list[str] = []
    if measure == "IRR" and model == "CM.AL":
        model = "CM.EL"
        notes.append("For IRR the conditional binomial model is exact: model 'CM.AL' is fitted as 'CM.EL'.")
    cols = event_columns(events1, n1, events2, n2, time1, time2, data, measure)
    k_all = check_same_length(cols)
    labs = check_labels(data_column(data, "labels", labels), k_all) or ()
    a, s1, c, s2 = checked_counts(cols, measure, labs)
    formula = formula_design(moderators, data, bool(intercept)) if is_formula(moderators, data) else None
    frame = formula.frame if formula is not None else moderator_frame(_moderator_table(moderators, data))
    if frame.shape[0] != k_all:
        raise MetaacuInputError(f"argument 'moderators' has {frame.shape[0]} rows for {k_all} studies")
    terms = design_terms(frame, bool(intercept)) if formula is None else ()
    if formula is None:
        x_all, names = design_matrix(frame, terms, bool(intercept), "moderators")
    else:  # coded by formulaic, as meta_regression's formulas
        x_all, names, intercept = formula.matrix, [*formula.names], formula.intercept
    btt_idx = np.arange(1, len(names)) if intercept else np.arange(len(names))
    if btt is not None:
        btt_idx = np.array(sorted(select_coefficients(names, btt, "btt")), dtype=np.intp)
    if not np.isfinite(x_all).all():
        bad = np.asarray(~np.isfinite(x_all).all(axis=1), dtype=bool)
        raise MetaacuInputError(f"argument 'moderators': {bad_indices(bad, labels=labs)}: missing or infinite value")
    keep, excluded = informative_studies(a, s1, c, s2, measure, labs, notes)
    a, s1, c, s2, x = a[keep], s1[keep], c[keep], s2[keep], x_all[keep]
    kept = tuple(lab for lab, kp in zip(labs, keep, strict=True) if kp)
    k, p = int(a.size), int(x.shape[1])
    if k <= p:
        raise MetaacuInputError(
            f"a {model} meta-regression needs more informative studies than coefficients: k = {k}, p = {p} "
            f"({', '.join(names)})"
        )
    check_rank(x, names)
    # fitted on a centred and scaled design X̃ = XM (finite differences need O(1) coefficients); β = Mβ̃
    m = _standardising(x, bool(intercept))
    if model == "UM.RS":
        rs = random_study_fits(
            a, s1, c, s2, measure=measure, method=method, nodes=nodes, max_iter=max_iter, labels=kept, design=x @ m
        )
        fitted = _Fitted(
            beta=rs.fit.beta,
            vcov=rs.beta_vcov,
            tau=rs.fit.tau,
            se_tau2=math.nan,  # metafor: NA for the lme4 fits of UM.RS
            loglik=rs.fit.loglik,
            loglik_common=rs.common.loglik,
            loglik_saturated=rs.saturated.fit.loglik,
            loglik_metafor=rs.loglik_metafor,
            qe_wald=rs.qe_wald,
            qe_lrt=rs.qe_lrt,
            parameters=rs.parameters,
            observations=2 * k,
            iterations=rs.fit.iterations,
            converged=rs.converged,
            sigma2=rs.fit.sigma**2,
        )
        notes.extend(rs.notes)
    else:
        fitted = _study_effects(a, s1, c, s2, x, m, measure, model, method, nodes, max_iter)
    vb = m @ fitted.vcov @ m.T
    diag = np.diag(vb)
    if not (np.isfinite(diag).all() and (diag > 0).all()):
        warnings.warn(
            "the observed information of the fit is not positive definite: no standard errors",
            RuntimeWarning,
            stacklevel=2,
        )
    se = np.sqrt(np.where(diag > 0, diag, np.nan))
    beta = m @ fitted.beta
    z = beta / se
    df = k - p
    tdf = float(df) if test == "t" else math.inf
    crit = critical_value(level, tdf)
    m_btt = int(btt_idx.size)
    qm = _wald_chi2(beta[btt_idx], vb[np.ix_(btt_idx, btt_idx)])
    if test == "t" and m_btt:
        qm, qm_p = qm / m_btt, float(special.fdtrc(m_btt, df, qm / m_btt))
    else:
        qm_p = float(special.chdtrc(m_btt, qm))
    tau2 = fitted.tau**2
    i2, h2 = tau2_heterogeneity(tau2, _typical_variance(x, study_variances(measure, a, s1, c, s2)), df)
    return GLMMRegression(
        measure=measure,
        model=model,
        method=method,
        nodes=nodes,
        k=k,
        p=p,
        labels=kept,
        excluded=excluded,
        coef_names=tuple(names),
        estimate=beta,
        se=se,
        statistic=z,
        pvalue=np.asarray(two_sided_p(z, tdf), dtype=np.float64),
        ci_low=beta - crit * se,
        ci_high=beta + crit * se,
        vcov=vb,
        level=level,
        intercept=bool(intercept),
        test=test,
        df=tdf,
        btt=tuple(int(j) for j in btt_idx),
        qm=qm,
        qm_df=m_btt,
        qm_pvalue=qm_p,
        qm_test="F" if test == "t" else "chi2",
        tau2=tau2,
        se_tau2=fitted.se_tau2,
        i2=float(i2),
        h2=float(h2),
        **heterogeneity_and_fit(
            fitted.qe_wald,
            fitted.qe_lrt,
            df,
            fitted.loglik,
            fitted.loglik_common,
            fitted.loglik_saturated,
            fitted.loglik_metafor,
            fitted.parameters,
            fitted.observations,
        ),
        design=x,
        iterations=fitted.iterations,
        converged=fitted.converged,
        notes=tuple(notes),
        sigma2=fitted.sigma2,
        _terms=terms,
        _formula=formula,
    )


class _Fitted(NamedTuple):
    """One model's fit for :func:`glmm_meta_regression`: the coefficients and their covariance on the
    scaled design, τ, SE(τ²), the log-likelihoods (fit, common, saturated, metafor's), the heterogeneity
    statistics (Wald-type, LRT), metafor's parameter and observation counts, iterations, convergence
    and σ² (UM.RS; NaN otherwise)."""

    beta: F64
    vcov: F64
    tau: float
    se_tau2: float
    loglik: float
    loglik_common: float
    loglik_saturated: float
    loglik_metafor: float
    qe_wald: float
    qe_lrt: float
    parameters: int
    observations: int
    iterations: int
    converged: bool
    sigma2: float


def _study_effects(
    a: F64,
    s1: F64,
    c: F64,
    s2: F64,
    x: F64,
    m: F64,
    measure: str,
    model: str,
    method: str,
    nodes: int,
    max_iter: int,
) -> _Fitted:
    """UM.FS, CM.EL and CM.AL (:mod:`metaacu.glmm_likelihood`) on the scaled design ``X̃ = XM``."""
    k, p = a.size, x.shape[1]
    xs = x @ m
    fam = glmm_family(measure, model, a, s1, c, s2)
    ll_sat, y_sat, v_sat = saturated(fam)
    w_sat = 1.0 / v_sat
    beta0, qe_wald = _weighted_fit(x, y_sat, w_sat)
    common = maximise(
        fam,
        nodes,
        random=False,
        mu0=np.asarray(np.linalg.solve(m, beta0), dtype=np.float64),
        tau0=0.0,
        alpha0=alpha_start(fam),
        max_iter=max_iter,
        design=xs,
    )
    fit = (
        common
        if method == "EE"
        else maximise(
            fam, nodes, random=True, mu0=common.beta, tau0=0.5, alpha0=common.alpha, max_iter=max_iter, design=xs
        )
    )
    if not (fit.converged and common.converged):
        warn_not_converged(model, max_iter, fit.gradient, stacklevel=3)
    se_tau2 = 2 * fit.tau * math.sqrt(fit.vcov[p, p]) if method == "ML" and fit.vcov[p, p] > 0 else math.nan
    lme4_like = not (measure == "OR" and model == "CM.EL") and method == "ML"
    ll_metafor = loglik_at_modes(fam, (x @ (m @ fit.beta))[:, None], fit.tau, fit.alpha) if lme4_like else fit.loglik
    return _Fitted(
        beta=fit.beta,
        vcov=fit.vcov[:p, :p],
        tau=fit.tau,
        se_tau2=se_tau2,
        loglik=fit.loglik,
        loglik_common=common.loglik,
        loglik_saturated=ll_sat,
        loglik_metafor=ll_metafor,
        qe_wald=qe_wald,
        qe_lrt=max(0.0, 2 * (ll_sat - common.loglik)),
        parameters=(1 if method == "ML" else 0) + p + (k if fam.has_alpha else 0),
        observations=2 * k if fam.has_alpha else k,
        iterations=fit.iterations,
        converged=fit.converged and common.converged,
        sigma2=math.nan,
    )


def _moderator_table(moderators: Any, data: pd.DataFrame | None) -> Any:
    """Column name(s) of ``data``, or a mapping of names to columns, as a table; anything else as given
    (``moderator_frame`` checks it)."""
    if moderators is None:
        raise MetaacuInputError(
            "argument 'moderators' is required (one row per study); use glmm_meta_analysis() for an "
            "intercept-only model"
        )
    if isinstance(moderators, Mapping):
        return pd.DataFrame(dict(moderators))
    names = [moderators] if isinstance(moderators, str) else moderators
    if isinstance(names, Sequence) and names and all(isinstance(m, str) for m in names):
        if data is None:
            raise MetaacuInputError("argument 'moderators' names columns but no 'data' was given")
        return pd.DataFrame({m: data_column(data, "moderators", m) for m in names})
    return moderators


def _weighted_fit(x: F64, y: F64, w: F64) -> tuple[F64, float]:
    """Weighted least squares of the saturated model's estimates on X: the starting coefficients, and
    the residual sum of squares ``Σwᵢ(yᵢ − xᵢᵀb)²`` — the Wald-type test for residual heterogeneity
    (the Wald statistic that the saturated model's extra effects are 0, its estimates being
    independent; studies on the boundary weigh 0, as :func:`metaacu.glmm.glmm_meta_analysis`)."""
    xw = x * w[:, None]
    xtwx = x.T @ xw
    if np.linalg.matrix_rank(xtwx) < x.shape[1]:  # too few finite-weight studies: start from 0
        return np.zeros(x.shape[1]), math.nan
    b = np.asarray(np.linalg.solve(xtwx, xw.T @ y), dtype=np.float64)
    r = y - x @ b
    return b, float(max(0.0, np.sum(w * r * r)))


def _standardising(x: F64, intercept: bool) -> F64:
    """``M`` with ``XM`` of centred (with an intercept in column 0) and unit-scale columns."""
    p = x.shape[1]
    m = np.eye(p)
    start = 1 if intercept else 0
    for j in range(start, p):
        col = x[:, j]
        centre = float(np.mean(col)) if intercept else 0.0
        scale = float(np.sqrt(np.mean((col - centre) ** 2)))
        scale = scale if scale > 0 else 1.0
        m[j, j] = 1.0 / scale
        if intercept:
            m[0, j] = -centre / scale
    return m


def _wald_chi2(b: F64, v: F64) -> float:
    if b.size == 0:
        return math.nan
    try:
        return float(b @ np.linalg.solve(v, b))
    except np.linalg.LinAlgError:
        return math.nan


def _typical_variance(x: F64, vi: F64) -> float:
    """metafor's ``vt = (k − p)/tr P``, ``P = W − WX(XᵀWX)⁻¹XᵀW`` with ``W = diag(1/vᵢ)``."""
    w = 1.0 / vi
    xw = x * w[:, None]
    # tr P = Σwᵢ − tr((XᵀWX)⁻¹ XᵀW²X)
    tr_p = float(np.sum(w) - np.trace(np.linalg.solve(x.T @ xw, xw.T @ xw)))
    return float(typical_variance(x.shape[0] - x.shape[1], tr_p))
