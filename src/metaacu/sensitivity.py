"""Sensitivity analyses of a fitted meta-analysis: leave-one-out, influence diagnostics and
cumulative meta-analysis (the counterparts of metafor's ``leave1out``, ``influence`` and ``cumul``).

Every function takes a fitted :class:`~metaacu.results.MetaAnalysis` and refits with the same
settings (τ² method, test, level).  The k refits are done with :func:`metaacu.fitting.fit_arrays`
on ``(m, k)`` blocks of rows in which the studies left out of a row are padded with ``yi = 0,
vi = inf`` (weight zero).  A block holds at most :data:`CHUNK_ELEMENTS` elements, so time is O(k²)
and memory O(k) plus a constant that does not grow with k (about 80 MB at most, for REML and ML,
whose likelihood scan evaluates 26 values of τ² per row at once), instead of one ``(k, k)`` array
(1.8 GB at k = 5,000).  ``fit_arrays`` treats rows independently, so the results are bit for bit
those of the single array.

References
----------
Viechtbauer W, Cheung MW-L. Outlier and influence diagnostics for meta-analysis. Res Synth Methods
2010;1:112-125.
Lau J, Antman EM, Jimenez-Silva J, et al. Cumulative meta-analysis of therapeutic trials for
myocardial infarction. N Engl J Med 1992;327:248-254.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from ._validation import MetaacuInputError, no_other_keywords, renamed_argument
from .fitting import fit_arrays
from .interval import Interval
from .ordering import study_order
from .report import Printable
from .results import MetaAnalysis, check_refittable

__all__ = ["Cumulative", "Influence", "LeaveOneOut", "cumulative", "influence", "leave_one_out"]

F64 = NDArray[np.float64]

_REFIT_KEYS = ("estimate", "se", "statistic", "pvalue", "ci_low", "ci_high", "q", "q_pvalue", "tau2", "i2", "h2")
#: Refit outputs kept (``s2``, the Knapp-Hartung factor, for :func:`influence`).
_KEEP_KEYS = (*_REFIT_KEYS, "s2")

#: Largest number of elements (rows × k) of one block of refits: each of the solver's temporaries
#: is then at most 512 kB and stays in cache.  Measured at k = 1,000 and 5,000 (benchmarks/run.py),
#: blocks of 2¹⁶ elements are as fast as or faster than 2¹⁸ to 2²¹ and than one (k, k) array.
CHUNK_ELEMENTS: Final = 2**16


def _check_result(result: Any, name: str, min_k: int) -> MetaAnalysis:
    if not isinstance(result, MetaAnalysis):
        raise MetaacuInputError(
            f"{name}() needs a fitted MetaAnalysis (from metaacu.meta_analysis), got {type(result).__name__}"
        )
    if result.k < min_k:
        raise MetaacuInputError(f"{name}() needs at least {min_k} studies; the meta-analysis has k = {result.k}")
    check_refittable(result, f"{name}()")
    return result


def _blocks(m: int, k: int) -> Iterator[slice]:
    """Consecutive row slices covering ``range(m)``, each of at most ``CHUNK_ELEMENTS // k`` rows
    (at least one)."""
    rows = max(1, CHUNK_ELEMENTS // max(k, 1))
    for start in range(0, m, rows):
        yield slice(start, min(m, start + rows))


def _refit_block(result: MetaAnalysis, keep: NDArray[np.bool_]) -> dict[str, F64]:
    """Fit one model per row of the boolean ``keep`` mask (shape ``(m, k)``) with the result's settings."""
    yi = np.where(keep, result.yi[None, :], 0.0)
    vi = np.where(keep, result.vi[None, :], np.inf)
    kk = keep.sum(axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = fit_arrays(yi, vi, kk, result.method, result.test, result.level)
    one = kk < 2
    if result.test != "z" and one.any():
        # A t-based test has no degrees of freedom with one study; metafor's rma.uni then switches
        # to test="z" (with a warning), so the one-study rows are refitted with z.
        z = fit_arrays(yi[one], vi[one], kk[one], result.method, "z", result.level)
        for key in ("se", "statistic", "pvalue", "ci_low", "ci_high", "s2"):
            out[key] = out[key].copy()
            out[key][one] = z[key]
    return out


def _refit(result: MetaAnalysis, m: int, mask: Callable[[slice], NDArray[np.bool_]]) -> dict[str, F64]:
    """Refit ``m`` models; ``mask(rows)`` gives the ``keep`` mask of the rows in the slice ``rows``.

    The rows are fitted in blocks of :func:`_blocks`, so only one block's ``(rows, k)`` arrays exist
    at a time; returns ``(m,)`` arrays of :data:`_KEEP_KEYS`.
    """
    out = {key: np.empty(m) for key in _KEEP_KEYS}
    for rows in _blocks(m, result.k):
        part = _refit_block(result, mask(rows))
        for key in _KEEP_KEYS:
            out[key][rows] = part[key]
    return out


def _omit_one(k: int) -> Callable[[slice], NDArray[np.bool_]]:
    """Mask maker for leave-one-out: row *i* keeps every study but *i*."""

    def mask(rows: slice) -> NDArray[np.bool_]:
        idx = np.arange(rows.start, rows.stop)
        keep = np.ones((idx.size, k), dtype=bool)
        keep[np.arange(idx.size), idx] = False
        return keep

    return mask


def _stat_name(test: str) -> str:
    return "z" if test == "z" else "t"


def _readonly_fields(obj: Any) -> None:
    for f in fields(obj):
        val = getattr(obj, f.name)
        if isinstance(val, np.ndarray):
            val.setflags(write=False)


@dataclass(frozen=True, repr=False)
class _Refits(Printable):
    """Fields and methods shared by leave-one-out and cumulative results: one refit per row."""

    labels: tuple[str, ...]
    estimate: F64
    se: F64
    statistic: F64
    pvalue: F64
    ci_low: F64
    ci_high: F64
    q: F64
    q_pvalue: F64
    tau2: F64
    i2: F64
    h2: F64
    method: str
    test: str
    level: float
    full: MetaAnalysis

    def __post_init__(self) -> None:
        _readonly_fields(self)

    @property
    def k(self) -> int:
        """Number of studies in the full analysis."""
        return len(self.labels)

    def confidence_interval(self) -> Interval:
        """Per-row confidence intervals as one :class:`Interval` of arrays."""
        return Interval(self.ci_low, self.ci_high, self.level, f"Wald ({_stat_name(self.test)})")

    def _frame(self, first: dict[str, Any]) -> pd.DataFrame:
        data: dict[str, Any] = dict(first)
        for key in _REFIT_KEYS:
            data[key] = getattr(self, key)
        frame = pd.DataFrame(data)
        frame.attrs.update({"level": self.level, "method": self.method, "test": self.test})
        return frame

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - defined by subclasses
        raise NotImplementedError

    def _html_text(self) -> str:
        return self.summary().splitlines()[0]  # the heading: the table follows as HTML


@dataclass(frozen=True, repr=False)
class LeaveOneOut(_Refits):
    """Each study omitted in turn (metafor ``leave1out``).

    Attributes
    ----------
    labels : tuple of str
        Label of the omitted study, one per row.
    estimate, se, statistic, pvalue, ci_low, ci_high : ndarray
        Pooled estimate without study *i*, its standard error, test statistic (z or t), p-value
        and confidence interval at ``level``.
    q, q_pvalue, tau2, i2, h2 : ndarray
        Heterogeneity of the remaining k − 1 studies (I² in percent).
    method, test : str
        Settings of the original fit, reused for every refit.
    level : float
    full : MetaAnalysis
        The fit with all studies.
    """

    def to_frame(self) -> pd.DataFrame:
        """One row per omitted study: ``omitted, estimate, se, statistic, pvalue, ci_low, ci_high,
        q, q_pvalue, tau2, i2, h2``."""
        return self._frame({"omitted": list(self.labels)})

    def summary(self, digits: int = 4) -> str:
        """Text table, one line per omitted study."""
        head = (
            f"Leave-one-out analysis (k = {self.k}; {self.method}, test {self.test}); "
            f"full estimate {self.full.estimate:.{digits}f} "
            f"[{self.full.ci_low:.{digits}f}, {self.full.ci_high:.{digits}f}]"
        )
        table = self.to_frame().to_string(index=False, float_format=lambda x: f"{x:.{digits}f}")
        return head + "\n" + table

    def __repr__(self) -> str:
        return (
            f"<LeaveOneOut k={self.k} {self.method}/{self.test} estimate range "
            f"[{np.nanmin(self.estimate):.4g}, {np.nanmax(self.estimate):.4g}]>"
        )


def leave_one_out(result: MetaAnalysis) -> LeaveOneOut:
    """Refit the meta-analysis with each study omitted in turn.

    Parameters
    ----------
    result : MetaAnalysis
        A fitted model (k ≥ 2); its τ² method, test and level are reused.

    Returns
    -------
    LeaveOneOut

    Notes
    -----
    Matches metafor's ``leave1out``.  With a t-based test and k = 2 the one-study refits use a z
    test, as metafor's ``rma.uni`` does for k = 1.

    Examples
    --------
    >>> from metaacu import meta_analysis
    >>> res = meta_analysis([0.1, 0.3, 0.35, 0.6], [0.02, 0.03, 0.01, 0.05], method="DL")
    >>> loo = leave_one_out(res)
    >>> [round(float(x), 3) for x in loo.estimate]
    [0.372, 0.314, 0.292, 0.271]
    """
    res = _check_result(result, "leave_one_out", 2)
    out = _refit(res, res.k, _omit_one(res.k))
    return LeaveOneOut(
        labels=res.labels,
        **{key: np.asarray(out[key], dtype=float) for key in _REFIT_KEYS},
        method=res.method,
        test=res.test,
        level=res.level,
        full=res,
    )


@dataclass(frozen=True, repr=False)
class Influence(Printable):
    """Case-deletion influence diagnostics (metafor ``influence.rma.uni``).

    Attributes
    ----------
    labels : tuple of str
    rstudent : ndarray
        Externally standardized (deleted) residuals ``(yᵢ − μ̂₍₋ᵢ₎) / √(s²₍₋ᵢ₎(vᵢ + τ̂²₍₋ᵢ₎) + SE²₍₋ᵢ₎)``.
    dffits : ndarray
        ``(μ̂ − μ̂₍₋ᵢ₎) / √(s²₍₋ᵢ₎ hᵢ (τ̂²₍₋ᵢ₎ + vᵢ))``.
    cook_d : ndarray
        Cook's distance ``(μ̂ − μ̂₍₋ᵢ₎)² / SE(μ̂)²``.
    cov_r : ndarray
        Covariance ratio ``SE²₍₋ᵢ₎ / SE²``.
    tau2_del, q_del : ndarray
        τ² and Cochran's Q with study *i* omitted.
    hat : ndarray
        Hat values ``wᵢ/Σw`` (w = 1/(vᵢ + τ̂²)).
    weight : ndarray
        Weights in percent.
    dfbetas : ndarray
        ``(μ̂ − μ̂₍₋ᵢ₎) / √(s²₍₋ᵢ₎ / Σⱼ 1/(vⱼ + τ̂²₍₋ᵢ₎))`` (sum over all k studies).
    is_influential : ndarray of bool
        metafor's flag: ``|DFFITS| > 3√(1/(k − 1))`` or ``pchisq(D, 1) > 0.5`` or ``h > 3/k`` or
        ``|DFBETAS| > 1``.
    """

    labels: tuple[str, ...]
    rstudent: F64
    dffits: F64
    cook_d: F64
    cov_r: F64
    tau2_del: F64
    q_del: F64
    hat: F64
    weight: F64
    dfbetas: F64
    is_influential: NDArray[np.bool_]
    full: MetaAnalysis

    def __post_init__(self) -> None:
        _readonly_fields(self)

    @property
    def k(self) -> int:
        """Number of studies."""
        return len(self.labels)

    def to_frame(self) -> pd.DataFrame:
        """One row per study: ``label, rstudent, dffits, cook_d, cov_r, tau2_del, q_del, hat, weight,
        dfbetas, is_influential``."""
        cols = (
            "rstudent",
            "dffits",
            "cook_d",
            "cov_r",
            "tau2_del",
            "q_del",
            "hat",
            "weight",
            "dfbetas",
            "is_influential",
        )
        return pd.DataFrame({"label": list(self.labels), **{c: getattr(self, c) for c in cols}})

    def summary(self, digits: int = 4) -> str:
        """Text table; influential studies are marked with ``*`` as in metafor."""
        frame = self.to_frame()
        frame["is_influential"] = np.where(self.is_influential, "*", "")
        head = f"Influence diagnostics (k = {self.k}; {self.full.method}, test {self.full.test}); * = influential"
        return head + "\n" + frame.to_string(index=False, float_format=lambda x: f"{x:.{digits}f}")

    def __repr__(self) -> str:
        flagged = [lab for lab, f in zip(self.labels, self.is_influential, strict=True) if f]
        return f"<Influence k={self.k} influential={flagged!r}>"

    def _html_text(self) -> str:
        return self.summary().splitlines()[0]  # the heading: the table follows as HTML


def influence(result: MetaAnalysis) -> Influence:
    """Outlier and influence diagnostics by deleting each study in turn.

    Parameters
    ----------
    result : MetaAnalysis
        A fitted model (k ≥ 2).

    Returns
    -------
    Influence

    Notes
    -----
    Definitions follow Viechtbauer & Cheung (2010) as implemented in metafor's
    ``influence.rma.uni`` (intercept-only model, p = 1).  ``s²₍₋ᵢ₎`` is the Knapp-Hartung factor of
    the deleted fit (1 for z and t tests; at least 1 for ``"adhoc"``).

    Examples
    --------
    >>> from metaacu import meta_analysis
    >>> res = meta_analysis([0.1, 0.3, 0.35, 0.6, 1.6], [0.02, 0.03, 0.01, 0.05, 0.04], method="DL")
    >>> inf = influence(res)
    >>> inf.labels[int(np.argmax(inf.cook_d))]
    'Study 5'
    """
    res = _check_result(result, "influence", 2)
    k = res.k
    out = _refit(res, k, _omit_one(k))
    est_del, se_del, tau2_del = out["estimate"], out["se"], out["tau2"]
    if res.test == "knha":
        s2w = out["s2"]
    elif res.test == "adhoc":
        s2w = np.maximum(1.0, out["s2"])
    else:
        s2w = np.ones(k)
    w = 1.0 / (res.vi + res.tau2)
    hat = w / w.sum()
    vb = res.se**2
    diff = res.estimate - est_del
    resid = res.yi - est_del
    resid = np.where(np.abs(resid) < 100 * np.finfo(float).eps, 0.0, resid)
    with np.errstate(divide="ignore", invalid="ignore"):
        rstudent = resid / np.sqrt(res.vi * s2w + se_del**2 + tau2_del * s2w)
        dffits = diff / np.sqrt(s2w * hat * (tau2_del + res.vi))
        vb_del = np.empty(k)
        for rows in _blocks(k, k):  # Σⱼ 1/(vⱼ + τ̂²₍₋ᵢ₎) over all k studies, one block of rows at a time
            vb_del[rows] = 1.0 / (1.0 / (res.vi[None, :] + tau2_del[rows, None])).sum(axis=1)
        dfbetas = diff / np.sqrt(s2w * vb_del)
        cook = diff**2 / vb
        cov_r = se_del**2 / vb
        flag = (
            (np.abs(dffits) > 3.0 * np.sqrt(1.0 / (k - 1)))
            | (stats.chi2.cdf(cook, 1) > 0.5)
            | (hat > 3.0 / k)
            | (np.abs(dfbetas) > 1.0)
        )
    return Influence(
        labels=res.labels,
        rstudent=rstudent,
        dffits=dffits,
        cook_d=cook,
        cov_r=cov_r,
        tau2_del=np.asarray(tau2_del, dtype=float),
        q_del=np.asarray(out["q"], dtype=float),
        hat=hat,
        weight=100.0 * hat,
        dfbetas=dfbetas,
        is_influential=np.asarray(flag, dtype=bool),
        full=res,
    )


@dataclass(frozen=True, repr=False)
class Cumulative(_Refits):
    """Cumulative meta-analysis (metafor ``cumul``): row *j* pools the first *j* studies in ``order``.

    Attributes
    ----------
    labels : tuple of str
        Label of the study added at each step.
    order : ndarray of int
        Indices (into the original studies) in the order they were added: the permutation that
        ``sort_by`` gave.
    estimate, se, statistic, pvalue, ci_low, ci_high, q, q_pvalue, tau2, i2, h2 : ndarray
        Results after each addition.
    """

    order: NDArray[np.intp]

    def to_frame(self) -> pd.DataFrame:
        """One row per step: ``added, k, estimate, se, statistic, pvalue, ci_low, ci_high, q, q_pvalue,
        tau2, i2, h2``."""
        return self._frame({"added": list(self.labels), "k": np.arange(1, self.k + 1)})

    def summary(self, digits: int = 4) -> str:
        """Text table, one line per step."""
        head = f"Cumulative meta-analysis (k = {self.k}; {self.method}, test {self.test})"
        return head + "\n" + self.to_frame().to_string(index=False, float_format=lambda x: f"{x:.{digits}f}")

    def __repr__(self) -> str:
        return (
            f"<Cumulative k={self.k} {self.method}/{self.test} first={self.estimate[0]:.4g} "
            f"last={self.estimate[-1]:.4g}>"
        )


def cumulative(result: MetaAnalysis, sort_by: ArrayLike | None = None, **deprecated: Any) -> Cumulative:
    """Cumulative meta-analysis, adding studies one at a time.

    Parameters
    ----------
    result : MetaAnalysis
        A fitted model.
    sort_by : {"year", "effect", "weight"} or array-like, optional
        The order in which studies are added, as :func:`metaacu.forest_plot`'s ``sort_by``
        (:mod:`metaacu.ordering`): ``"year"`` (a four-digit year in each label), ``"effect"``
        (ascending), ``"weight"`` (largest first), or one sort key per study (e.g. publication
        years), studies added in increasing order of the key, ties kept in their original order (a
        stable sort, as R's ``order``).  Default: the order of the data.  Give keys, not a
        permutation from ``argsort`` (metafor warns about the same mistake).  Numbers, strings and
        dates (``datetime64``, pandas timestamps) all work; a missing key (None, NaN, NaT,
        ``pd.NA``), an infinite one or keys that cannot be compared raise
        :class:`~metaacu.MetaacuInputError` naming the studies concerned.  ``order=`` is its
        deprecated old name.

    Returns
    -------
    Cumulative

    Notes
    -----
    The first step has one study: τ² = 0, and with a t-based test it uses a z test (metafor's
    ``rma.uni`` switches to ``test="z"`` when k = 1).

    Examples
    --------
    >>> from metaacu import meta_analysis
    >>> res = meta_analysis([0.1, 0.3, 0.35], [0.02, 0.03, 0.01], method="EE")
    >>> cum = cumulative(res, sort_by=[2001, 1995, 1998])
    >>> cum.labels
    ('Study 2', 'Study 3', 'Study 1')
    """
    sort_by = renamed_argument("cumulative", deprecated, "order", "sort_by", sort_by)
    no_other_keywords("cumulative", deprecated)
    res = _check_result(result, "cumulative", 1)
    k = res.k
    idx = study_order(sort_by, res.labels, effects=res.yi, weights=res.weights)
    step = np.empty(k, dtype=np.intp)
    step[idx] = np.arange(k)  # study idx[j] enters at step j: row j keeps the studies with step ≤ j
    out = _refit(res, k, lambda rows: step[None, :] <= np.arange(rows.start, rows.stop)[:, None])
    return Cumulative(
        labels=tuple(res.labels[i] for i in idx),
        order=idx.astype(np.intp),
        **{key: np.asarray(out[key], dtype=float) for key in _REFIT_KEYS},
        method=res.method,
        test=res.test,
        level=res.level,
        full=res,
    )
