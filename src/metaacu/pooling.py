"""Common- and random-effects pooling of study effect sizes (the counterpart of metafor's ``rma.uni``
without moderators).

Every fit runs the kernels of :mod:`metaacu.kernels` through :mod:`metaacu.fitting` (one dataset:
:func:`~metaacu.fitting.fit_one`; the rows of ``(m, k)`` arrays, for batches and refits:
:func:`~metaacu.fitting.fit_arrays`); this module validates the studies and builds the result.

References
----------
Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw 2010;36(3).
Hartung J, Knapp G. On tests of the overall treatment effect in meta-analysis with normally
distributed responses. Stat Med 2001;20:1771-1782.  Sidik K, Jonkman JN. Stat Med 2002;21:3153.
Higgins JPT, Thompson SG. Quantifying heterogeneity in a meta-analysis. Stat Med 2002;21:1539-1558.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import (
    LikelihoodWarning,
    MetaacuInputError,
    as_float_array,
    check_choice,
    check_labels,
    check_level,
    check_same_length,
    readonly,
)
from .escalc_result import EffectSizes  # not .escalc: a fit needs none of its formulas (nor SciPy's stats)
from .fitting import fit_one
from .measures import measure_info
from .profiles import PREDICTIONS, Profile, effect_size_note, get_profile
from .results import MetaAnalysis
from .scaling import rescale_one, unscale
from .tau2 import METHOD_ALIASES, TAU2_METHODS, USER_WEIGHT_METHODS

__all__ = [
    "PREDICTIONS",
    "TESTS",
    "ModelOptions",
    "meta_analysis",
    "model_options",
    "note_effect_sizes",
    "pool_effects",
    "resolve_effects",
]

F64 = NDArray[np.float64]
TESTS: Final = ("z", "t", "knha", "adhoc")


@dataclass(frozen=True)
class ModelOptions:
    """A model's settings with the defaults of its convention profile filled in (:func:`model_options`).

    Attributes
    ----------
    profile : Profile
    method : str
        τ² estimator.
    test : str
    prediction : str
        Prediction-interval distribution, one of :data:`PREDICTIONS`.
    """

    profile: Profile
    method: str
    test: str
    prediction: str


def model_options(
    profile: str,
    method: str | None,
    test: str | None,
    prediction: str | None = None,
    *,
    methods: Iterable[str] = TAU2_METHODS,
    tests: Iterable[str] = TESTS,
) -> ModelOptions:
    """Resolve ``profile=``: the τ² estimator, test and prediction-interval distribution as given, or
    the profile's default where ``None``, each checked against its choices.

    Every function that fits a model (:func:`meta_analysis`, :func:`metaacu.subgroup_analysis`,
    :func:`metaacu.meta_regression`, :func:`metaacu.meta_analysis_batch`) reads its ``profile``
    here, so a profile means the same everywhere.

    Examples
    --------
    >>> opts = model_options("cochrane", None, None)
    >>> opts.method, opts.test, opts.prediction
    ('REML', 'knha', 'test')

    metafor's aliases ``"FE"`` and ``"CE"`` of ``"EE"`` are accepted (:data:`metaacu.tau2.METHOD_ALIASES`)
    and stored as ``"EE"``.
    """
    args = (profile, method, test, prediction, tuple(methods), tuple(tests))
    try:
        return _cached_options(*args)
    except TypeError:  # an unhashable argument: resolve it uncached, so that the checks name it
        return _resolve_options(*args)


def _resolve_options(
    profile: str,
    method: str | None,
    test: str | None,
    prediction: str | None,
    methods: tuple[str, ...],
    tests: tuple[str, ...],
) -> ModelOptions:
    prof = get_profile(profile)
    if isinstance(method, str):
        method = METHOD_ALIASES.get(method, method)
        if method in USER_WEIGHT_METHODS and method not in methods:
            raise MetaacuInputError(
                f"method={method!r} estimates tau2 with user weights and is available only in "
                "meta_analysis(weights=...) and meta_regression(weights=...)"
            )
    return ModelOptions(
        profile=prof,
        method=check_choice(prof.method if method is None else method, "method", methods),
        test=check_choice(prof.test if test is None else test, "test", tests),
        prediction=check_choice(prof.pi_method if prediction is None else prediction, "prediction", PREDICTIONS),
    )


#: :func:`_resolve_options` once per distinct call (options are frozen; a fit saves ~2 µs).
_cached_options = functools.lru_cache(maxsize=512)(_resolve_options)


def note_effect_sizes(
    profile: Profile, effects: EffectSizes | None, notes: list[str], *, warn: bool = True, stacklevel: int = 3
) -> None:
    """Append to ``notes`` — and, with ``warn``, issue as a ``UserWarning`` — why SMD ``effects`` do not
    follow ``profile``'s convention (:func:`metaacu.profiles.effect_size_note`); nothing when they do.

    ``stacklevel`` is given to :func:`warnings.warn`: 3 is the caller of the function that calls this.
    """
    if effects is not None and (mismatch := effect_size_note(profile, effects.measure, effects.options)):
        notes.append(mismatch)
        if warn:
            warnings.warn(f"metaacu: {mismatch}", UserWarning, stacklevel=stacklevel)


def resolve_effects(
    yi: ArrayLike | EffectSizes, vi: ArrayLike | None, labels: ArrayLike | None, measure: str | None
) -> tuple[F64, F64, tuple[str, ...], str | None, EffectSizes | None, list[str]]:
    """Validate the two ways of giving studies — an :class:`EffectSizes`, or ``yi`` and ``vi`` — and
    return ``(yi, vi, labels, measure, effects, notes)`` with the effect sizes' adjustments as notes."""
    effects: EffectSizes | None = None
    notes: list[str] = []
    if isinstance(yi, EffectSizes):
        if vi is not None:
            raise MetaacuInputError("give either an EffectSizes object or yi and vi, not both")
        effects = yi
        y, v = np.asarray(effects.yi, dtype=float), np.asarray(effects.vi, dtype=float)
        labels = effects.labels if labels is None else labels
        if measure is not None and measure != effects.measure:
            raise MetaacuInputError(f"argument 'measure'={measure!r} contradicts the effect sizes' {effects.measure!r}")
        measure = effects.measure
        notes.extend(effects.adjustments)
    else:
        if vi is None:
            raise MetaacuInputError("argument 'vi' is required when 'yi' is not an EffectSizes object")
        named = check_labels(labels)
        y = as_float_array(yi, "yi", labels=named)
        v = as_float_array(vi, "vi", positive=True, labels=named)
    k = y.shape[0] if 0 < y.shape[0] == v.shape[0] else check_same_length({"yi": y, "vi": v})
    if measure is not None:
        measure_info(measure)
    labs = check_labels(labels, k)
    assert labs is not None
    return y, v, labs, measure, effects, notes


def meta_analysis(
    yi: ArrayLike | EffectSizes,
    vi: ArrayLike | None = None,
    *,
    method: str | None = None,
    test: str | None = None,
    level: float = 0.95,
    labels: ArrayLike | None = None,
    measure: str | None = None,
    profile: str = "metafor",
    prediction: str | None = None,
    weights: ArrayLike | None = None,
    tau2: float | None = None,
) -> MetaAnalysis:
    """Pool effect sizes with a common-effect or random-effects model.

    Parameters
    ----------
    yi : array-like or EffectSizes
        Study effect sizes, or an :class:`EffectSizes` (then ``vi``, ``labels`` and ``measure``
        come from it).
    vi : array-like
        Sampling variances (> 0).
    method : str, optional
        ``"EE"`` (common/equal effect; metafor's ``"FE"`` and ``"CE"`` are accepted) or a τ² estimator:
        ``"DL"``, ``"REML"``, ``"ML"``, ``"PM"``, ``"EB"``, ``"HE"``, ``"SJ"``, ``"HS"``, ``"PMM"``
        (median-unbiased PM), ``"DLIT"``/``"SJIT"`` (iterated DL/SJ), ``"HSk"`` (HS with the k
        correction), ``"GENQ"``/``"GENQM"`` (generalised Q with the user ``weights``; median-unbiased:
        :mod:`metaacu.tau2_genq`).  Default from ``profile``
        (REML for "metafor").
    test : str, optional
        ``"z"`` (Wald), ``"t"`` (t with k − 1 df), ``"knha"`` (Hartung-Knapp-Sidik-Jonkman) or
        ``"adhoc"`` (HKSJ never narrower than z).  Default from ``profile``.
    level : float
        Confidence level, a fraction (0.95).
    labels : array-like, optional
        Study labels.
    measure : str, optional
        Measure code, for back-transformation in plots and reports.
    profile : {"metafor", "revman5", "cochrane"}
        Convention profile giving the defaults of ``method``, ``test`` and ``prediction``.  The default
        is "metafor" because metafor is the reference this package is validated against.  The profile
        cannot change effect sizes already computed: an SMD :class:`EffectSizes` whose ``vtype``
        differs from the profile's (e.g. the default ``"LS"`` under ``"revman5"``) is pooled as it
        is, with a note and a ``UserWarning`` saying to compute it with
        ``effect_sizes("SMD", ..., profile=profile)``.
    prediction : {"test", "higgins"}, optional
        Prediction-interval distribution: ``"test"`` (the test's: normal for ``"z"``, t with k − 1 df
        otherwise; metafor) or ``"higgins"`` (t with k − 2 df, Higgins et al. 2009).  The default of
        :meth:`MetaAnalysis.prediction_interval` (``MetaAnalysis.prediction``) and of every table and
        plot of the result.  Default from ``profile``.
    weights : array-like, optional
        User weights (> 0, one per study) for the pooled estimate, metafor's ``weights=``:
        ``μ̂ = Σaᵢyᵢ/Σaᵢ`` with ``Var(μ̂) = Σaᵢ²(vᵢ + τ̂²)/(Σaᵢ)²``; τ² is estimated by ``method``
        (with these weights under ``"GENQ"``/``"GENQM"``).  Knapp-Hartung's factor keeps the weights ``1/(vᵢ + τ̂²)``
        (as metafor).  ``MetaAnalysis.weights`` are then ``100 aᵢ/Σa``.
    tau2 : float, optional
        A τ² (≥ 0) fixed by the user instead of estimated (metafor's ``tau2=``); not for ``"EE"``.

    Returns
    -------
    MetaAnalysis

    Notes
    -----
    ``μ̂ = Σwᵢyᵢ/Σwᵢ``, ``wᵢ = 1/(vᵢ + τ̂²)``, ``SE = (Σwᵢ)^{-1/2}``.  Under ``"knha"`` the variance is
    multiplied by ``s² = Σwᵢ(yᵢ − μ̂)²/(k − 1)`` and a t(k − 1) reference is used (Hartung & Knapp 2001;
    Sidik & Jonkman 2002).  Q always uses ``1/vᵢ``.  With k = 1, τ² = 0 and heterogeneity is not
    estimable (Q = 0, p = 1); t-based tests need k ≥ 2.

    Examples
    --------
    >>> res = meta_analysis([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.01, 0.05], method="DL")
    >>> round(res.estimate, 4), round(res.tau2, 4)
    (0.3059, 0.0078)
    """
    opts = model_options(profile, method, test, prediction, methods=(*TAU2_METHODS, *USER_WEIGHT_METHODS, "GENQM"))
    return pool_effects(yi, vi, labels, measure, opts, check_level(level), weights=weights, tau2=tau2)


def _fixed_tau2(tau2: float | None, method: str) -> float | None:
    if tau2 is None:
        return None
    if method == "EE":
        raise MetaacuInputError("argument 'tau2' fixes the between-study variance: not with method='EE' (tau2 = 0)")
    try:
        if isinstance(tau2, (bool, np.bool_, str)):
            raise TypeError
        value = float(tau2)
    except (TypeError, ValueError):
        raise MetaacuInputError(f"argument 'tau2' must be a number >= 0; got {tau2!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise MetaacuInputError(f"argument 'tau2' must be a finite number >= 0; got {tau2!r}")
    return value


def pool_effects(
    yi: ArrayLike | EffectSizes,
    vi: ArrayLike | None,
    labels: ArrayLike | None,
    measure: str | None,
    opts: ModelOptions,
    level: float,
    *,
    warn: bool = True,
    weights: ArrayLike | None = None,
    tau2: float | None = None,
) -> MetaAnalysis:
    """:func:`meta_analysis` once its options are resolved (:func:`model_options`) and ``level`` checked:
    the one fit of every intercept-only model, also of each subgroup of
    :func:`metaacu.subgroup_analysis`.  With ``warn=False`` effect sizes computed under another SMD
    convention than the profile's are noted but not warned about (the caller has warned once).
    ``weights`` and ``tau2`` are :func:`meta_analysis`'s user weights and fixed τ²."""
    y, v, labs, measure, effects, notes = resolve_effects(yi, vi, labels, measure)
    note_effect_sizes(opts.profile, effects, notes, warn=warn, stacklevel=4)
    method, test = opts.method, opts.test
    k = y.size
    user: F64 | None = None
    if weights is not None:
        check_same_length({"yi": y, "weights": as_float_array(weights, "weights", allow_nan=True)})
        user = as_float_array(weights, "weights", positive=True, labels=labs)
        notes.append("pooled with user weights (weights=); its SE is the sandwich sum(a^2 (v + tau2))/sum(a)^2")
    elif method in (*USER_WEIGHT_METHODS, "GENQM"):
        raise MetaacuInputError(f"method={method!r} estimates tau2 with user weights: give weights= (one per study)")
    fixed = _fixed_tau2(tau2, method)
    if k == 1 and test != "z":
        raise MetaacuInputError(f"test={test!r} needs at least 2 studies (t with k - 1 df); use test='z' for k = 1")
    if fixed is not None:
        notes.append(f"tau2 fixed at {fixed:.6g} by the user (tau2=), not estimated")
    elif k == 1:
        notes.append("k = 1: no heterogeneity can be estimated; tau2 set to 0")
    lo, hi = float(np.minimum.reduce(v)), float(np.maximum.reduce(v))
    e, ys, vs = rescale_one(y, v, (lo, hi))
    if (vratio := hi / lo) > 1e12:
        notes.append(f"sampling variances span {vratio:.1e}; weights are dominated by the smallest")
    pct = np.empty(k)
    fixed_scaled = None if fixed is None else float(np.ldexp(fixed, -2 * e))
    if method == "GENQM" and fixed_scaled is None:  # the weighted-χ² median (SciPy's integrals load only here)
        from .tau2_genq import generalised_q_tau2

        fixed_scaled = generalised_q_tau2(ys, vs, np.ones((k, 1)), np.asarray(user), "GENQM")
    kernel_method = "GENQ" if method == "GENQM" else method  # GENQM: the kernel at the τ² solved above
    one = fit_one(ys, vs, kernel_method, test, level, pct, user_weights=user, tau2=fixed_scaled)  # percent: scale-free
    if e:
        unscale(one, e, float(k), method == "REML")
    if fixed is not None:
        one["tau2"], one["at_boundary"] = fixed, False
    if not one["converged"]:
        notes.append(f"tau2 solver ({method}) did not converge in {int(one['iterations'])} iterations")
        warnings.warn(f"metaacu: tau2 estimation ({method}) did not converge", RuntimeWarning, stacklevel=3)
    if one["at_boundary"]:
        notes.append("tau2 estimate truncated at 0 (on the boundary of the parameter space)")
    if one["maxima"] > 1:
        msg = (
            f"the {'restricted ' if method == 'REML' else ''}likelihood has {int(one['maxima'])} local maxima in tau2: "
            f"the global one at tau2 = {one['tau2']:.6g} (log-likelihood {one['loglik']:.6g}) is used; the next at "
            f"tau2 = {one['alt_tau2']:.6g} (log-likelihood {one['alt_loglik']:.6g})"
        )
        notes.append(msg)
        warnings.warn(f"metaacu: {msg}", LikelihoodWarning, stacklevel=3)
    return MetaAnalysis(
        estimate=float(one["estimate"]),
        se=float(one["se"]),
        ci_low=float(one["ci_low"]),
        ci_high=float(one["ci_high"]),
        statistic=float(one["statistic"]),
        pvalue=float(one["pvalue"]),
        df=float(one["df"]),
        tau2=float(one["tau2"]),
        q=float(one["q"]),
        q_df=int(one["q_df"]),
        q_pvalue=float(one["q_pvalue"]),
        i2=float(one["i2"]),
        h2=float(one["h2"]),
        i2_q=float(one["i2_q"]),
        k=k,
        weights=readonly(pct),
        yi=readonly(y.copy()),
        vi=readonly(v.copy()),
        labels=labs,
        method=method,
        test=test,
        level=level,
        measure=measure,
        converged=bool(one["converged"]),
        iterations=int(one["iterations"]),
        tau2_at_boundary=bool(one["at_boundary"]),
        s2=float(one["s2"]),
        pi_method=opts.prediction,
        profile=opts.profile.name,
        notes=tuple(notes),
        effects=effects,
        tau2_maxima=int(one["maxima"]),
        tau2_alternative=(float(one["alt_tau2"]), float(one["alt_loglik"])) if one["maxima"] > 1 else None,
        user_weights=None if user is None else readonly(user.copy()),
        tau2_fixed=fixed is not None,
    )
