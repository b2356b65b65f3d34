"""Meta-regression: the mixed-effects model ``yᵢ = xᵢᵀβ + uᵢ + εᵢ`` (metafor's ``rma.uni`` with
``mods``).

τ² estimators with moderators, as metafor (``P = W − WX(XᵀWX)⁻¹XᵀW``):

* ``"EE"``: τ² = 0 (fixed-effects meta-regression);
* ``"DL"``: ``(yᵀP₀y − (k − p)) / tr P₀`` with ``W₀ = diag(1/vᵢ)`` (Raudenbush 2009, eq. 16.44);
* ``"HE"``: ``(yᵀP_ols y − tr(P_ols V)) / (k − p)`` with the OLS projection ``P_ols = I − X(XᵀX)⁻¹Xᵀ``;
* ``"PM"``: the root of ``yᵀP(τ²)y = k − p`` (generalised Q); ``"PMM"``: of ``yᵀP(τ²)y = χ²₀.₅(k − p)``;
* ``"HS"``/``"HSk"``: ``(c·yᵀP₀y − k)/Σ(1/vᵢ)`` with ``c = 1`` or ``k/(k − p)``;
* ``"DLIT"``/``"SJIT"``: the fixed-point iterations of :mod:`metaacu.kernels_extra` with ``P``;
* ``"ML"``/``"REML"``: the root of the likelihood score ``½(yᵀPPy − tr W)`` / ``½(yᵀPPy − tr P)``,
  found with the same safeguarded bracketing Newton solver as the intercept-only model
  (:func:`metaacu.tau2.solve_decreasing`), so it cannot oscillate as plain Fisher scoring can.

All are truncated at 0.  Wald tests use ``Var(β̂) = (XᵀWX)⁻¹``; with ``test="knha"`` it is
multiplied by ``s² = yᵀPy/(k − p)`` and t / F distributions with ``k − p`` denominator df are used
(Knapp & Hartung 2003).

References
----------
Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3).
Raudenbush SW. Analyzing effect sizes: random-effects models. In: Cooper H, Hedges LV, Valentine JC
(eds). The Handbook of Research Synthesis and Meta-Analysis, 2nd ed. Russell Sage; 2009:295-315.
Knapp G, Hartung J. Improved tests for a random effects meta-regression with a single covariate.
Stat Med 2003;22:2693-2710.
Raudenbush SW, Bryk AS. Hierarchical Linear Models, 2002 (pseudo-R², "proportion of variance
accounted for").
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._validation import (
    MetaacuInputError,
    as_float_array,
    check_labels,
    check_level,
    check_same_length,
    readonly,
)
from .design import check_rank, design_matrix, design_terms, moderator_frame
from .escalc import EffectSizes, data_column, effects_shorthand
from .formula import formula_design, is_formula
from .inference import critical_value, q_heterogeneity, tau2_heterogeneity, two_sided_p, typical_variance
from .pooling import model_options, note_effect_sizes
from .regression_result import MetaRegression
from .scaling import rescale_one
from .tau2 import (
    FIXED_POINT_MAXITER,
    SCAN_GRID,
    TOL,
    RowFunction,
    estimate_tau2,
    solve_decreasing,
    solve_in_bracket,
)
from .tau2_genq import GENQ_METHODS, generalised_q_tau2, user_weighted_coefficients

__all__ = ["REGRESSION_METHODS", "REGRESSION_TESTS", "MetaRegression", "meta_regression"]

F64 = NDArray[np.float64]

REGRESSION_METHODS: Final = ("EE", "DL", "HE", "ML", "REML", "PM", "EB", "SJ", "HS", "PMM", "DLIT", "SJIT", "HSk")
REGRESSION_TESTS: Final = ("z", "t", "knha", "adhoc")


# --------------------------------------------------------------------------- numerical core
def _wls(y: F64, v: F64, x: F64, tau2: float) -> tuple[F64, F64, F64, F64]:
    """Return ``w``, ``(XᵀWX)⁻¹``, ``β̂`` and ``P y`` for weights ``1/(v + τ²)``."""
    w = 1.0 / (v + tau2)
    xtwx = x.T @ (w[:, None] * x)
    vb = np.linalg.inv(xtwx)
    vb = 0.5 * (vb + vb.T)
    b = vb @ (x.T @ (w * y))
    py = w * (y - x @ b)
    return w, vb, b, py


def _p_matrix(v: F64, x: F64, tau2: float) -> F64:
    w = 1.0 / (v + tau2)
    wx = w[:, None] * x
    return np.diag(w) - wx @ np.linalg.solve(x.T @ wx, wx.T)


def _fixed_point(y: F64, v: F64, x: F64, method: str) -> tuple[float, bool, int]:
    """Iterated DL (``τ² ← (yᵀPy − tr(PV))/tr P`` from 0, truncated at 0; metafor ≥ 4.5-7) or iterated
    SJ (``τ² ← τ² yᵀPy/(k − p)`` from ``Σ(yᵢ − ȳ)²/k``), ``P`` at the current τ², to a step of at most
    ``TOL·max(mean v, τ²)`` (the rule of :func:`metaacu.kernels_extra.tau2_dlit`)."""
    k, p = x.shape
    scale = float(v.mean())
    tau2 = 0.0 if method == "DLIT" else float(np.mean((y - y.mean()) ** 2))
    if tau2 == 0.0 and method == "SJIT":
        return 0.0, True, 0
    for it in range(1, FIXED_POINT_MAXITER + 1):
        pm = _p_matrix(v, x, tau2)
        rss = float(y @ pm @ y)
        if method == "DLIT":
            new = max(0.0, (rss - float(np.sum(np.diag(pm) * v))) / float(np.trace(pm)))
        else:
            new = tau2 * rss / (k - p)
        done = abs(new - tau2) <= TOL * max(scale, new)
        tau2 = new
        if done:
            return tau2, True, it
    return tau2, False, FIXED_POINT_MAXITER


def _tau2(y: F64, v: F64, x: F64, method: str, weights: F64 | None = None) -> tuple[float, bool, int]:
    k, p = x.shape
    if method in GENQ_METHODS and weights is not None:  # with user weights (metaacu.tau2_genq)
        return generalised_q_tau2(y, v, x, weights, method), True, 0
    if method not in REGRESSION_METHODS:
        raise MetaacuInputError(
            f"method={method!r} estimates tau2 with user weights: available in meta_analysis(weights=) and "
            "meta_regression(weights=), not in common-tau2 subgroups, egger_test(model='rma') or refits; "
            f"use one of {', '.join(REGRESSION_METHODS)}"
        )
    if method == "EE":
        return 0.0, True, 0
    if method in ("DL", "HS", "HSk"):
        p0 = _p_matrix(v, x, 0.0)
        rss = float(y @ p0 @ y)
        hs = ((k / (k - p) if method == "HSk" else 1.0) * rss - k) / float(np.sum(1.0 / v))
        raw = (rss - (k - p)) / np.trace(p0) if method == "DL" else hs
        return max(0.0, raw), True, 0
    if method in ("DLIT", "SJIT"):
        return _fixed_point(y, v, x, method)
    if method == "SJ":
        # Sidik & Jonkman (2005): start from the spread of y around its mean, one weighted step
        tau0 = float(np.mean((y - y.mean()) ** 2))
        return max(0.0, tau0 * float(y @ _p_matrix(v, x, tau0) @ y) / (k - p)), True, 0
    if method == "HE":
        pols = np.eye(k) - x @ np.linalg.solve(x.T @ x, x.T)
        return max(0.0, float((y @ pols @ y - np.trace(pols * v[None, :])) / (k - p))), True, 0

    target = float(special.chdtri(k - p, 0.5)) if method == "PMM" else float(k - p)  # PMM: the χ² median

    def one(t2: float) -> tuple[float, float]:
        pm = _p_matrix(v, x, t2)
        py = pm @ y
        if method in ("PM", "EB", "PMM"):  # EB solves the same estimating equation as PM (Viechtbauer et al. 2015)
            return float(y @ py - target), float(-(py @ py))
        ppy = pm @ py
        if method == "REML":
            tr, trr = np.trace(pm), float(np.sum(pm * pm.T))
        else:
            w = 1.0 / (v + t2)
            tr, trr = float(w.sum()), float((w * w).sum())
        score = 0.5 * (float(py @ py) - tr)
        slope = 0.5 * trr - float(py @ ppy)
        return score, slope if slope < 0 else -0.5 * trr

    def fun(t2: F64, rows: NDArray[np.intp]) -> tuple[F64, F64]:
        out = [one(float(a)) for a in t2]
        return np.array([f for f, _ in out]), np.array([s for _, s in out])

    if method in ("PM", "EB", "PMM"):  # the generalised Q decreases in τ²: at most one root
        f0, _ = one(0.0)
        if not f0 > 0:
            return 0.0, True, 0
        span = float(y.max() - y.min())
        upper = np.array([max(10.0 * (span**2 + 1.0), 1.0)])
        fit = solve_decreasing(fun, np.array([True]), upper, np.array([_tau2(y, v, x, "HE")[0]]))
        return max(0.0, float(fit.tau2[0])), bool(fit.converged[0]), int(fit.iterations[0])
    tau2, converged, iterations, _ = _likelihood_maximum(y, v, x, method == "ML", one, fun)
    return tau2, converged, iterations


def _loglik(y: F64, v: F64, x: F64, tau2: float, ml: bool) -> float:
    """(Restricted) log-likelihood of the mixed-effects model up to a constant."""
    w, vb, b, _ = _wls(y, v, x, tau2)
    r = y - x @ b
    ll = -0.5 * (float(np.sum(np.log(v + tau2))) + float(np.sum(w * r * r)))
    return ll if ml else ll + 0.5 * float(np.linalg.slogdet(vb)[1])


def _likelihood_maximum(
    y: F64, v: F64, x: F64, ml: bool, one: Callable[[float], tuple[float, float]], fun: RowFunction
) -> tuple[float, bool, int, list[tuple[float, float]]]:
    """The global maximum of the (restricted) likelihood over τ² >= 0: the score is scanned on
    :data:`metaacu.tau2.SCAN_GRID` (multiples of the residual spread) and every interval where it
    turns from positive to negative is refined, as for the intercept-only model.  Returns
    ``(tau2, converged, iterations, maxima)`` with every local maximum as ``(tau2, loglik)``."""
    k, p = x.shape
    pols = np.eye(k) - x @ np.linalg.solve(x.T @ x, x.T)
    spread = float(y @ pols @ y) / max(k - p, 1) + float(v.mean())
    pts = [0.0, *(spread * float(g) for g in SCAN_GRID)]
    sc = [one(t)[0] for t in pts]
    brackets = [(pts[j], pts[j + 1]) for j in range(len(pts) - 1) if sc[j] > 0 >= sc[j + 1]]
    if sc[-1] > 0:
        brackets.append((pts[-1], np.inf))
    cands: list[tuple[float, bool, int]] = [(0.0, True, 0)] if sc[0] <= 0 else []
    he = _tau2(y, v, x, "HE")[0]
    for lo, hi in brackets:
        fit = solve_in_bracket(fun, np.array([lo]), np.array([hi]), np.array([he]), np.array([float(v.mean())]))
        cands.append((max(0.0, float(fit.tau2[0])), bool(fit.converged[0]), int(fit.iterations[0])))
    scored = sorted(((_loglik(y, v, x, t2, ml), t2, ok, it) for t2, ok, it in cands), key=lambda c: (-c[0], c[1]))
    _, tau2, ok, it = scored[0]
    return tau2, ok, it, [(c[1], c[0]) for c in scored]


# --------------------------------------------------------------------------- result
def fit_design(
    y: F64,
    v: F64,
    x: F64,
    coef_names: Sequence[str],
    *,
    method: str,
    test: str,
    level: float,
    intercept: bool,
    btt: Sequence[int] | None = None,
    weights: F64 | None = None,
) -> dict[str, Any]:
    """Fit the mixed-effects model for validated arrays and a full-rank model matrix ``x``.

    Returns a dict of the fields of :class:`MetaRegression` that depend only on the numbers.
    ``btt`` selects the coefficients of the omnibus test (default: all but the intercept).  With user
    ``weights`` (metafor's ``weights=``) the coefficients are ``(XᵀAX)⁻¹XᵀAy`` with the sandwich
    covariance (:func:`metaacu.tau2_genq.user_weighted_coefficients`; τ² uses them under GENQ/GENQM);
    the Knapp-Hartung factor keeps the weights ``1/(vᵢ + τ̂²)``, as metafor.
    """
    k, p = x.shape
    tau2, converged, iterations = _tau2(y, v, x, method, weights)
    w, vb, b, py = _wls(y, v, x, tau2)
    rss = float(py @ (y - x @ b))  # metafor's RSS.knha: inverse-variance weights, also with user weights
    if weights is not None:
        b, vb = user_weighted_coefficients(y, v, x, weights, tau2)
    s2 = 1.0
    if test in ("knha", "adhoc"):
        s2 = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)  # metafor: residuals at rounding level
        vb = vb * (s2 if test == "knha" else max(1.0, s2))
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = b / se
    df = float(k - p) if test != "z" else np.inf
    pval = two_sided_p(stat, df)
    crit = critical_value(level, df)
    idx = list(range(1, p) if intercept else range(p)) if btt is None else list(btt)
    m = len(idx)
    if m:
        bb = b[idx]
        qm = float(bb @ np.linalg.solve(vb[np.ix_(idx, idx)], bb))
        if test != "z":
            qm /= m
            qm_p = float(special.fdtrc(m, df, qm))
        else:
            qm_p = float(special.chdtrc(m, qm))
    else:
        qm, qm_p = np.nan, np.nan
    p0 = _p_matrix(v, x, 0.0)
    qe = max(0.0, float(y @ p0 @ y))
    qe_df = k - p
    qe_p, i2_q, h2_q = q_heterogeneity(qe, qe_df)
    if method == "EE":
        i2, h2 = i2_q, h2_q
    else:
        i2, h2 = tau2_heterogeneity(tau2, typical_variance(qe_df, float(np.trace(p0))), qe_df)
    return {
        "estimate": b,
        "se": se,
        "statistic": stat,
        "pvalue": pval,
        "ci_low": b - crit * se,
        "ci_high": b + crit * se,
        "vcov": vb,
        "df": df,
        "qm": qm,
        "qm_df": m,
        "qm_pvalue": qm_p,
        "qm_test": "chi2" if test == "z" else "F",
        "qe": qe,
        "qe_df": qe_df,
        "qe_pvalue": qe_p,
        "tau2": tau2,
        "i2": float(i2),
        "h2": float(h2),
        "s2": s2,
        "converged": converged,
        "iterations": iterations,
        "weights": 100.0 * w / w.sum() if weights is None else 100.0 * weights / weights.sum(),
    }


def meta_regression(
    yi: ArrayLike | str | EffectSizes,
    vi: ArrayLike | str | None = None,
    moderators: pd.DataFrame | ArrayLike | str | Sequence[str] | None = None,
    *,
    data: pd.DataFrame | None = None,
    method: str | None = None,
    test: str | None = None,
    level: float = 0.95,
    intercept: bool = True,
    labels: ArrayLike | str | None = None,
    weights: ArrayLike | str | None = None,
    profile: str = "metafor",
) -> MetaRegression:
    """Mixed-effects meta-regression of effect sizes on study-level moderators.

    Called as :func:`metaacu.meta_analysis` is, plus the moderators: ``meta_regression(yi, vi,
    mods)``; ``meta_regression("yi", "vi", ["ablat"], data=frame)``; or
    ``meta_regression(es, moderators=mods)`` with an :class:`~metaacu.EffectSizes`, where, as in
    :func:`metaacu.subgroup_analysis`, a second positional argument is the moderators
    (``meta_regression(es, mods)``) and giving them twice is refused.

    Parameters
    ----------
    yi, vi : array-like, str or EffectSizes
        Effect sizes and sampling variances (> 0), or columns of ``data``; or ``yi`` an
        :class:`EffectSizes` (its ``yi``, ``vi`` and labels are used; its adjustments become notes).
    moderators : DataFrame, array-like, str or list of str
        One row per study.  DataFrame: numeric columns enter as they are; object, string, boolean
        and categorical columns are dummy-coded with the first level as reference (treatment
        contrasts; levels sorted as R's ``factor()`` for object columns, in category order for
        categoricals).  A 1-D or 2-D numeric array gives columns ``x1, x2, ...``.  A column name or
        a list of column names selects those columns of ``data``; any other string is a formula on
        ``data`` (``"ablat + I(year - 1960) + C(alloc)"``, R's ``mods = ~ ...``; :mod:`metaacu.formula`,
        needs the ``formulaic`` package).
    data : DataFrame, optional
        If given, ``yi``, ``vi``, ``moderators`` and ``labels`` may be column names.
    method : str, optional
        Residual τ² estimator: ``"REML"``, ``"ML"``, ``"DL"``, ``"HE"``, ``"PM"``, ``"EB"``, ``"SJ"``,
        ``"HS"``, ``"PMM"``, ``"DLIT"``, ``"SJIT"``, ``"HSk"``, ``"GENQ"``, ``"GENQM"`` or ``"EE"``
        (fixed-effects meta-regression, τ² = 0); ``"GENQ"``/``"GENQM"``: the generalised Q with the user
        ``weights``, moments or median-unbiased (:mod:`metaacu.tau2_genq`).  All are checked against
        metafor fixtures.  Default from ``profile`` (REML for "metafor").
    test : {"z", "t", "knha", "adhoc"}, optional
        Wald z / χ² tests; t / F tests with ``k − p`` df (``"t"`` unscaled, ``"knha"`` with the
        Knapp-Hartung factor, ``"adhoc"`` with the factor truncated below at 1).  Default from
        ``profile``.
    level : float
        Confidence level, a fraction.
    intercept : bool
        Include an intercept (without one, the first categorical column gets one dummy per level,
        as R's ``model.matrix``).
    labels : array-like or str, optional
        Study labels (or a column of ``data``).
    weights : array-like or str, optional
        User weights (> 0, one per study, or a column of ``data``), metafor's ``weights=``: the
        coefficients are ``(XᵀAX)⁻¹XᵀAy`` with the sandwich covariance
        ``(XᵀAX)⁻¹XᵀA(V + τ̂²I)AX(XᵀAX)⁻¹``; τ² is estimated by ``method`` (with these weights under
        ``"GENQ"``/``"GENQM"``, which need them).  Knapp-Hartung's factor keeps the weights
        ``1/(vᵢ + τ̂²)``; ``weights`` of the result are then ``100 aᵢ/Σa``.
    profile : {"metafor", "revman5", "cochrane"}
        Convention profile giving the defaults of ``method`` and ``test``, as
        :func:`metaacu.meta_analysis` (an SMD :class:`EffectSizes` computed under another convention
        is noted and warned about).  A meta-regression has no ``prediction`` option: its
        ``predict()`` intervals use the test's distribution.

    Returns
    -------
    MetaRegression
        The same numbers whichever way the studies are given.  It has no ``measure``: its
        coefficients and ``predict()`` are on the pooling scale (apply
        ``metaacu.measure_info(code).to_display`` for ratios).

    Notes
    -----
    ``β̂ = (XᵀWX)⁻¹XᵀWy``, ``W = diag(1/(vᵢ + τ̂²))``.  QE = ``yᵀP₀y`` with ``W₀ = diag(1/vᵢ)``
    (df ``k − p``).  Residual I² = ``100 τ̂²/(τ̂² + ṽ)`` with ``ṽ = (k − p)/tr P₀``.  Pseudo-R² =
    ``max(0, (τ̂²_RE − τ̂²)/τ̂²_RE)`` in percent (Raudenbush 2009), τ̂²_RE from the intercept-only
    model with the same estimator.

    Examples
    --------
    >>> res = meta_regression([0.1, 0.3, 0.35, 0.6, 0.5], [0.02, 0.03, 0.01, 0.05, 0.02], [1, 2, 3, 4, 5])
    >>> res.coef_names
    ('intercept', 'x1')
    >>> round(float(res.estimate[1]), 4)
    0.1029
    """
    opts = model_options(profile, method, test, methods=REGRESSION_METHODS + GENQ_METHODS, tests=REGRESSION_TESTS)
    method, test = opts.method, opts.test
    lv = check_level(level)
    vi, moderators = effects_shorthand(yi, vi, moderators, "moderators")  # meta_regression(effect_sizes, mods)
    if moderators is None:
        raise MetaacuInputError(
            "argument 'moderators' is required (one row per study); use meta_analysis() for an intercept-only model"
        )
    formula = formula_design(moderators, data, intercept) if is_formula(moderators, data) else None
    if (
        formula is None
        and data is not None
        and (
            isinstance(moderators, str)
            or (isinstance(moderators, Sequence) and moderators and all(isinstance(m, str) for m in moderators))
        )
    ):
        cols = [moderators] if isinstance(moderators, str) else list(moderators)
        moderators = pd.DataFrame({c: data_column(data, "moderators", c) for c in cols})
    labels = data_column(data, "labels", labels)
    notes: list[str] = []
    if isinstance(yi, EffectSizes):  # vi is None: effects_shorthand took a second argument as the moderators
        labels = yi.labels if labels is None else labels
        es = yi
        yi, vi, notes = es.yi, es.vi, list(es.adjustments)
        note_effect_sizes(opts.profile, es, notes)
    elif vi is None:
        raise MetaacuInputError("argument 'vi' is required when 'yi' is not an EffectSizes object")
    named = check_labels(labels)
    y = as_float_array(data_column(data, "yi", yi), "yi", labels=named)
    v = as_float_array(data_column(data, "vi", vi), "vi", positive=True, labels=named)
    k = check_same_length({"yi": y, "vi": v})
    a = None
    if weights is not None:
        given = data_column(data, "weights", weights)
        check_same_length({"yi": y, "weights": as_float_array(given, "weights", allow_nan=True)})
        a = as_float_array(given, "weights", positive=True, labels=named)
        notes.append("coefficients with user weights (weights=); their covariance is the sandwich "
                     "(X'AX)^-1 X'A(V + tau2)AX(X'AX)^-1")  # fmt: skip
    elif method in GENQ_METHODS:
        raise MetaacuInputError(f"method={method!r} estimates tau2 with user weights: give weights= (one per study)")
    frame = formula.frame if formula is not None else moderator_frame(moderators)
    if frame.shape[0] != k:
        raise MetaacuInputError(f"argument 'moderators' has {frame.shape[0]} rows for {k} studies")
    terms = design_terms(frame, intercept) if formula is None else ()
    x, names = (formula.matrix, [*formula.names]) if formula else design_matrix(frame, terms, intercept, "moderators")
    intercept = intercept if formula is None else formula.intercept
    p = x.shape[1]
    if k <= p:
        raise MetaacuInputError(
            f"meta-regression needs more studies than coefficients: k = {k}, p = {p} ({', '.join(names)})"
        )
    check_rank(x, names)
    labs = check_labels(labels, k)
    assert labs is not None
    # an extreme scale is fitted rescaled by c = 2^e (metaacu.scaling); the design does not depend on it
    c_exp, ys, vs = rescale_one(y, v)
    fit = fit_design(ys, vs, x, names, method=method, test=test, level=lv, intercept=intercept, weights=a)
    if not fit["converged"]:
        notes.append(f"tau2 solver ({method}) did not converge in {fit['iterations']} iterations")
        warnings.warn(f"metaacu: tau2 estimation ({method}) did not converge", RuntimeWarning, stacklevel=2)
    if method != "EE" and fit["tau2"] == 0:
        notes.append("residual tau2 estimate truncated at 0 (on the boundary of the parameter space)")
    r2 = tau2_re = np.nan
    if method == "EE" and intercept and p > 1:
        # metafor: adjusted R² of the weighted least-squares fit lm(yi ~ X, weights = 1/vi), in percent.
        w0 = 1.0 / vs if a is None else a  # metafor: lm(yi ~ X, weights = weights) with user weights
        if np.ptp(ys) > 0:
            rss = float((w0 * (ys - x @ fit["estimate"]) ** 2).sum())
            tss = float((w0 * (ys - (w0 * ys).sum() / w0.sum()) ** 2).sum())
            r2 = max(0.0, 100.0 * (1.0 - (rss / tss) * (k - 1) / (k - p)))
        else:
            r2 = 0.0
    if method != "EE" and intercept and p > 1:
        if method in GENQ_METHODS and a is not None:  # the intercept-only model with the same weights, as metafor
            tau2_re = generalised_q_tau2(ys, vs, np.ones((k, 1)), a, method)
        else:
            tau2_re = float(estimate_tau2(ys[None, :], vs[None, :], np.array([float(k)]), method).tau2[0])
        r2 = 0.0 if tau2_re == 0 else max(0.0, 100.0 * (tau2_re - fit["tau2"]) / tau2_re)
    if c_exp:
        for key in ("estimate", "se", "ci_low", "ci_high"):
            fit[key] = np.ldexp(fit[key], c_exp)
        fit["vcov"] = np.ldexp(fit["vcov"], 2 * c_exp)
        fit["tau2"], tau2_re = float(np.ldexp(fit["tau2"], 2 * c_exp)), float(np.ldexp(tau2_re, 2 * c_exp))
    for key in ("estimate", "se", "statistic", "pvalue", "ci_low", "ci_high", "vcov", "weights"):
        fit[key] = readonly(np.asarray(fit[key], dtype=float))
    return MetaRegression(
        coef_names=tuple(names),
        r2=float(r2),
        tau2_re=float(tau2_re),
        k=k,
        p=p,
        yi=readonly(y.copy()),
        vi=readonly(v.copy()),
        design=readonly(x),
        labels=labs,
        method=method,
        test=test,
        level=lv,
        intercept=intercept,
        notes=tuple(notes),
        moderators=frame.copy(),
        _terms=terms,
        _formula=formula,
        user_weights=None if a is None else readonly(a.copy()),
        **fit,
    )
