"""Multilevel and multivariate random-effects models with a known sampling covariance (metafor's
``rma.mv``): :func:`multilevel_meta_analysis`.

Input checks, the random-effects terms, tests of the coefficients and the result; the likelihood and
its maximiser are in :mod:`metaacu.multilevel_fit`, the structures in
:mod:`metaacu.multilevel_structures`, the result in :mod:`metaacu.multilevel_result`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import sparse, special

from ._validation import MetaacuInputError, as_float_array, check_choice, check_labels, check_level, readonly
from .design import Term, check_rank, design_matrix, design_terms, moderator_frame
from .escalc import data_column
from .inference import critical_value, two_sided_p
from .multilevel_blups import blups
from .multilevel_fit import ZERO, Prepared, evaluate, maximise, prepare
from .multilevel_result import MultilevelMetaAnalysis, VarianceComponent
from .multilevel_structures import STRUCTS, Component, coefficient_jacobian, intercept_component, struct_component
from .pooling import model_options

__all__ = ["DFS", "METHODS", "TESTS", "multilevel_meta_analysis"]

F64 = NDArray[np.float64]
#: ``method=`` choices: restricted or full maximum likelihood.
METHODS = ("REML", "ML")
#: ``test=`` choices: Wald z, or t with ``dfs`` degrees of freedom.
TESTS = ("z", "t")
#: ``dfs=`` choices (metafor): ``k − p`` for every coefficient, or the "containment" rule.
DFS = ("residual", "contain")


def _sampling_covariance(vi: Any, V: Any, k: int, labels: tuple[str, ...] | None) -> sparse.coo_matrix:
    """The known sampling covariance as a sparse matrix, checked: square ``k × k``, finite, symmetric."""
    if (vi is None) == (V is None):
        raise MetaacuInputError("give exactly one of 'vi' (sampling variances) and 'V' (their covariance matrix)")
    if vi is not None:
        v = as_float_array(vi, "vi", positive=True, labels=labels)
        if v.size != k:
            raise MetaacuInputError(f"argument 'vi' has {v.size} values for {k} effects")
        return sparse.coo_matrix((v, (np.arange(k), np.arange(k))), shape=(k, k))
    if isinstance(V, (list, tuple)) and V and all(np.ndim(b) == 2 for b in V):
        sizes = [np.shape(b) for b in V]
        if any(s[0] != s[1] for s in sizes):
            raise MetaacuInputError("argument 'V': every block must be square")
        mat = sparse.block_diag([np.asarray(b, dtype=float) for b in V], format="coo")
    elif sparse.issparse(V):
        mat = sparse.coo_matrix(cast(Any, V), dtype=float)  # cast: scipy's stubs know no generic sparse input
    else:
        try:
            arr = np.asarray(V, dtype=float)
        except (TypeError, ValueError) as exc:
            raise MetaacuInputError(f"argument 'V' must be a numeric matrix: {exc}") from None
        if arr.ndim != 2:
            raise MetaacuInputError(f"argument 'V' must be a k x k matrix (or a list of blocks), got shape {arr.shape}")
        mat = sparse.coo_matrix(arr)
    if mat.shape != (k, k):
        raise MetaacuInputError(
            f"argument 'V' must be {k} x {k} (one row per effect), got {mat.shape[0]} x {mat.shape[1]}"
        )
    mat.sum_duplicates()
    if not np.isfinite(mat.data).all():
        raise MetaacuInputError("argument 'V' has a missing or infinite entry")
    csr = mat.tocsr()
    asym = abs(csr - csr.T)
    scale = float(abs(csr).max()) if mat.nnz else 0.0
    if asym.nnz and float(asym.max()) > 1e-12 * max(scale, 1e-300):
        i, j = (int(a[0]) for a in sparse.find(asym > 1e-12 * scale)[:2])
        raise MetaacuInputError(f"argument 'V' is not symmetric: V[{i}, {j}] != V[{j}, {i}]")
    diag = csr.diagonal()
    if (bad := diag <= 0).any():
        raise MetaacuInputError(f"argument 'V' must have a positive diagonal; check row {int(np.flatnonzero(bad)[0])}")
    out = sparse.coo_matrix(csr)
    out.eliminate_zeros()
    return out


def _indefinite_block(prep: Prepared) -> str:
    """Which effects form the first block of ``V`` that is not positive definite."""
    for grp in prep.groups:
        bad = np.flatnonzero(np.linalg.eigvalsh(grp.v)[:, 0] <= 0)
        if bad.size:
            rows = ", ".join(map(str, np.sort(grp.index[bad[0]])))
            return f"the block of effects (row indices) {rows}"
    return "no block is indefinite on its own"  # pragma: no cover - V passed its blockwise test


def _groups(value: Any, data: pd.DataFrame | None, argument: str, k: int) -> list[tuple[str, NDArray[Any]]]:
    """Named grouping columns: names of ``data`` columns, or a mapping name → values."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        items = [(str(n), np.asarray(v, dtype=object)) for n, v in value.items()]
    else:
        names = [value] if isinstance(value, str) else list(value)
        if data is None:
            raise MetaacuInputError(f"argument {argument!r} names columns, but no 'data' was given")
        items = []
        for n in names:
            if not isinstance(n, str) or n not in data.columns:
                raise MetaacuInputError(f"argument {argument!r}: 'data' has no column {n!r}")
            items.append((n, data[n].to_numpy(dtype=object)))
    for n, v in items:
        if v.shape != (k,):
            raise MetaacuInputError(f"argument {argument!r}, column {n!r}: {v.size} values for {k} effects")
        if (miss := pd.isna(pd.Series(v)).to_numpy()).any():
            raise MetaacuInputError(
                f"argument {argument!r}, column {n!r}: missing value at effect index {int(np.flatnonzero(miss)[0])}"
            )
    return items


def _components(
    nested: list[tuple[str, NDArray[Any]]],
    inner: list[tuple[str, NDArray[Any]]],
    outer: list[tuple[str, NDArray[Any]]],
    struct: str,
) -> list[Component]:
    comps = []
    for j in range(len(nested)):
        name = "/".join(n for n, _ in nested[: j + 1])
        keys = ["/".join(str(v[i]) for _, v in nested[: j + 1]) for i in range(nested[0][1].size)]
        comps.append(intercept_component(name, keys))
    if inner or outer:
        if len(inner) != 1 or len(outer) != 1:
            raise MetaacuInputError(
                "arguments 'outcome' and 'cluster' go together: one column each (~ outcome | cluster)"
            )
        comps.append(struct_component(inner[0][0], outer[0][0], inner[0][1], outer[0][1], struct))
    if not comps:
        raise MetaacuInputError("no random effects: give 'nested' (random intercepts) and/or 'outcome' with 'cluster'")
    for c in comps:
        if c.struct == "intercept" and len(c.outer_levels) < 2:
            raise MetaacuInputError(
                f"argument 'nested': {c.name!r} has a single group; its variance is not identifiable"
            )
        if c.struct != "intercept" and len(c.outer_levels) < 2:
            raise MetaacuInputError(
                f"argument 'cluster': {c.name!r} has a single cluster; its covariance is not identifiable"
            )
        if c.struct in ("CS", "HCS", "UN") and c.q < 2:
            raise MetaacuInputError(
                f"argument 'outcome' has one level; struct {c.struct!r} needs at least two (use 'ID')"
            )
    return comps


def _identifiable(prep: Prepared, comps: list[Component], eta: F64) -> None:
    _, jac = coefficient_jacobian(comps, eta)
    info = jac.T @ prep.gram @ jac
    n = info.shape[0]
    if n + prep.p > prep.k:
        raise MetaacuInputError(
            f"the random effects have {n} variance parameters and the model {prep.p} coefficients, "
            f"more than the k = {prep.k} effects"
        )
    if np.linalg.matrix_rank(info, tol=1e-10 * max(float(np.abs(info).max()), 1e-300)) < n:
        names = ", ".join(c.name for c in comps)
        raise MetaacuInputError(
            f"the random-effects structure ({names}) is not identifiable: two terms group the effects the same way "
            "or a correlation has no pair of effects to inform it"
        )


def _fixed_positions(comps: list[Component], fixed: Mapping[str, float] | None) -> dict[int, float]:
    """Positions in η and values (on the η scale) of the components named in ``fixed``."""
    if not fixed:
        return {}
    where, pos = {}, 0
    for c in comps:
        for i, n in enumerate(c.param_names()):
            where[n] = (pos + i, c, i)
        pos += c.n_params
    out = {}
    for name, value in fixed.items():
        if name not in where:
            raise MetaacuInputError(
                f"argument 'fixed': no variance component {name!r} (components: {', '.join(where)})"
            )
        i, c, j = where[name]
        val = float(value)
        if j < c.n_variances:
            if not (math.isfinite(val) and val >= 0):
                raise MetaacuInputError(f"argument 'fixed': {name} must be a variance >= 0, got {value!r}")
            out[i] = math.log(val) if val > 0 else ZERO
        else:
            if c.struct == "UN" and c.q > 2:
                raise MetaacuInputError(f"argument 'fixed': a UN correlation can be fixed for two levels only ({name})")
            if not -1 < val < 1:
                raise MetaacuInputError(f"argument 'fixed': {name} must be a correlation in (-1, 1), got {value!r}")
            out[i] = math.atanh(val)
    return out


def _profiler(
    prep: Prepared, comps: list[Component], eta: F64, restricted: bool, scale: float, held: dict[int, float]
) -> Callable[[str, float], float]:
    """``f(name, value)``: the maximised (restricted) log-likelihood with component ``name`` held at
    ``value`` (the profile likelihood behind :meth:`MultilevelMetaAnalysis.variance_confint`)."""
    start = np.where(eta <= ZERO + 1.0, math.log(1e-3 * scale), eta)

    def profile(name: str, value: float) -> float:
        one = _fixed_positions(comps, {name: value})
        trial = start.copy()
        for i, val in {**held, **one}.items():
            trial[i] = val
        return maximise(prep, comps, trial, restricted, scale, {**held, **one}).loglik

    return profile


def _contain_df(x: F64, comps: list[Component], k: int, p: int) -> F64:
    """metafor's ``dfs = "contain"``: per coefficient, the smallest number of levels among the
    random-effects factors within whose levels the coefficient's column is constant, minus p."""
    factors: list[NDArray[np.int64]] = []
    for c in comps:
        if c.struct == "intercept":
            factors.append(c.outer)
        else:
            factors += [c.outer * (c.q + 1) + c.inner, c.outer]
    out = np.full(x.shape[1], float(k))
    for j in range(x.shape[1]):
        for f in factors:
            frame = pd.DataFrame({"f": f, "x": x[:, j]})
            if (frame.groupby("f")["x"].nunique() == 1).all():
                out[j] = min(out[j], float(np.unique(f).size))
    return cast(F64, np.maximum(out - p, 1.0))  # cast: the stubs type np.maximum as Any


def multilevel_meta_analysis(
    yi: ArrayLike | str,
    vi: ArrayLike | str | None = None,
    moderators: pd.DataFrame | ArrayLike | str | Sequence[str] | None = None,
    *,
    V: Any = None,
    data: pd.DataFrame | None = None,
    nested: str | Sequence[str] | Mapping[str, ArrayLike] | None = None,
    outcome: str | Mapping[str, ArrayLike] | None = None,
    cluster: str | Mapping[str, ArrayLike] | None = None,
    struct: str = "CS",
    method: str | None = None,
    test: str | None = None,
    dfs: str = "residual",
    level: float = 0.95,
    intercept: bool = True,
    labels: ArrayLike | str | None = None,
    fixed: Mapping[str, float] | None = None,
    profile: str = "metafor",
) -> MultilevelMetaAnalysis:
    """Multilevel / multivariate random-effects meta-analysis (metafor's ``rma.mv``).

    Parameters
    ----------
    yi : array-like or str
        Effect sizes (or a column of ``data``).
    vi : array-like or str, optional
        Sampling variances (> 0) when they are independent; else give ``V``.
    moderators : DataFrame, array-like, str or list of str, optional
        One row per effect, coded as in :func:`metaacu.meta_regression`; none: intercept only.
    V : array-like, sparse matrix or list of arrays, optional
        Known sampling covariance: a ``k × k`` matrix (dense or scipy.sparse) or a list of square
        blocks along the diagonal, in row order.  Symmetric, positive definite.
    data : DataFrame, optional
        If given, ``yi``, ``vi``, ``moderators``, ``labels`` and the grouping arguments may be columns.
    nested : str, list of str or mapping, optional
        Nested random intercepts: ``["district", "school"]`` is metafor's ``~ 1 | district/school``
        (one variance per district and one per school within district).  Column names of ``data``,
        or a mapping name → values.
    outcome, cluster : str or mapping, optional
        A random effect per ``outcome`` level within each ``cluster`` (metafor's
        ``~ outcome | cluster``), with covariance ``struct``.
    struct : {"CS", "HCS", "UN", "DIAG", "ID"}
        Compound symmetry, heteroscedastic CS, unstructured, diagonal, identity (metafor's).
    method : {"REML", "ML"}, optional
        Estimator of the variance components (τ², σ², ρ); default from ``profile`` (REML).
    test : {"z", "t"}, optional
        Wald z tests, or t tests with ``dfs`` df; default from ``profile`` ("z" for "metafor"; the
        "cochrane" profile's "knha" is refused: metafor calls it experimental for these models).
    dfs : {"residual", "contain"}
        Degrees of freedom of the t tests: ``k − p``, or metafor's containment rule.
    level : float
        Confidence level, a fraction.
    intercept : bool
        Include an intercept.
    labels : array-like or str, optional
        Effect labels.
    fixed : mapping, optional
        Variance components held at given values instead of estimated, by name
        (``{"sigma2[district]": 0.05, "rho": 0.5}``; names as in ``components``), as metafor's
        ``sigma2=``, ``tau2=``, ``rho=`` arguments.  Fixed components are not counted in
        ``parameters``.  (A UN correlation can be fixed for two inner levels only.)
    profile : {"metafor", "revman5", "cochrane"}
        Convention profile for the defaults of ``method`` and ``test``, as :func:`metaacu.meta_analysis`.

    Returns
    -------
    MultilevelMetaAnalysis

    Notes
    -----
    ``y ~ N(Xβ, V + Σ Z G Zᵀ)``; β̂ by generalised least squares; the variance components maximise
    the (restricted) likelihood (formulas in :mod:`metaacu.multilevel_fit`).  A variance estimated on
    the boundary is exactly 0 and listed in ``boundary`` (metafor stops near 0).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.6], "vi": [0.02] * 6,
    ...                   "study": ["a", "a", "b", "b", "c", "c"]})
    >>> res = multilevel_meta_analysis("yi", "vi", data=d, nested=["study"])
    >>> res.coef_names
    ('intercept',)
    """
    opts = model_options(profile, method, test, methods=METHODS, tests=TESTS)
    lv = check_level(level)
    dfs = check_choice(dfs, "dfs", DFS)
    struct = check_choice(struct, "struct", STRUCTS)
    labels = data_column(data, "labels", labels)
    named = check_labels(labels)
    y = as_float_array(data_column(data, "yi", yi), "yi", labels=named)
    k = y.size
    if named is not None and len(named) != k:
        raise MetaacuInputError(f"argument 'labels' has {len(named)} entries for {k} effects")
    vmat = _sampling_covariance(data_column(data, "vi", vi), V, k, named)
    if moderators is None:
        if not intercept:
            raise MetaacuInputError("a model without moderators needs the intercept")
        x, names = np.ones((k, 1)), ["intercept"]
        terms: tuple[Term, ...] = ()
    else:
        if data is not None and (
            isinstance(moderators, str)
            or (isinstance(moderators, Sequence) and moderators and all(isinstance(m, str) for m in moderators))
        ):
            cols = [moderators] if isinstance(moderators, str) else list(moderators)
            moderators = pd.DataFrame({c: data_column(data, "moderators", c) for c in cols})
        frame = moderator_frame(moderators)
        if frame.shape[0] != k:
            raise MetaacuInputError(f"argument 'moderators' has {frame.shape[0]} rows for {k} effects")
        terms = design_terms(frame, intercept)
        x, names = design_matrix(frame, terms, intercept, "moderators")
        check_rank(x, names)
    p = x.shape[1]
    if k <= p:
        raise MetaacuInputError(f"the model needs more effects than coefficients: k = {k}, p = {p}")
    comps = _components(
        _groups(nested, data, "nested", k),
        _groups(outcome, data, "outcome", k),
        _groups(cluster, data, "cluster", k),
        struct,
    )
    prep = prepare(y, x, vmat, comps)
    base = evaluate(prep, np.zeros(prep.m), False, derivatives=False)
    if base is None:
        raise MetaacuInputError(f"argument 'V' is not positive definite: {_indefinite_block(prep)}")
    resid = y - x @ base.beta
    diag_v = vmat.tocsr().diagonal()
    n_var = sum(c.n_variances for c in comps)
    total = max(0.001 * n_var, float(np.var(resid, ddof=1)) - 1.0 / float(np.mean(1.0 / diag_v)))
    start = np.concatenate([c.start(total / n_var) for c in comps])
    _identifiable(prep, comps, start)
    scale = max(float(np.var(resid, ddof=1)), float(np.mean(diag_v)))
    restricted = opts.method == "REML"
    held = _fixed_positions(comps, fixed)
    for i, val in held.items():
        start[i] = val
    fit = maximise(prep, comps, start, restricted, scale, held)
    notes: list[str] = []
    if not fit.converged:
        notes.append(f"the optimiser did not converge in {fit.iterations} iterations")
        warnings.warn("metaacu: multilevel model did not converge", RuntimeWarning, stacklevel=2)
    ev = fit.evaluation
    # ------------------------------------------------------------------ variance components
    components, pos = [], 0
    for c in comps:
        eta = fit.eta[pos : pos + c.n_params]
        var, cor = c.natural(eta)
        pnames = c.param_names()
        levels = len(c.outer_levels)
        for i, val in enumerate(var):
            zero = pos + i in fit.zero
            kind = "sigma2" if c.struct == "intercept" else "tau2"
            components.append(VarianceComponent(pnames[i], c.name, kind, 0.0 if zero else float(val), levels, zero))
        for i, val in enumerate(cor):
            components.append(
                VarianceComponent(pnames[len(var) + i], c.name, "rho", float(val), levels, abs(val) > 1 - 1e-6)
            )
        pos += c.n_params
    for c2 in components:
        if c2.boundary:
            notes.append(f"{c2.name} is on the boundary of the parameter space ({c2.estimate:g})")
    # ------------------------------------------------------------------ tests
    vcov = ev.vcov
    se = np.sqrt(np.diag(vcov))
    stat = ev.beta / se
    if opts.test == "z":
        df = np.full(p, math.inf)
    else:
        df = np.full(p, float(k - p)) if dfs == "residual" else _contain_df(x, comps, k, p)
    pval = np.asarray(two_sided_p(stat, df), dtype=float)
    crit = np.asarray(critical_value(lv, df), dtype=float)
    btt = np.arange(1, p) if intercept and p > 1 else np.arange(p)
    qm = float(ev.beta[btt] @ np.linalg.solve(vcov[np.ix_(btt, btt)], ev.beta[btt]))
    if opts.test == "z":
        qm_p, qm_test = float(special.chdtrc(btt.size, qm)), "chi2"
    else:
        qm = qm / btt.size
        qm_p, qm_test = float(special.fdtrc(btt.size, df[btt].min(), qm)), "F"
    qe = base.rss
    qe_p = float(special.chdtrc(k - p, qe))
    g, _ = coefficient_jacobian(comps, np.where(np.isin(np.arange(fit.eta.size), fit.zero), ZERO, fit.eta))
    profile_fit = _profiler(prep, comps, fit.eta, restricted, scale, held)
    blup = blups(prep, comps, g, ev)
    labs = check_labels(labels, k)
    assert labs is not None
    ro = readonly
    return MultilevelMetaAnalysis(
        coef_names=tuple(names),
        estimate=ro(ev.beta.copy()),
        se=ro(se),
        statistic=ro(stat),
        pvalue=ro(pval),
        ci_low=ro(ev.beta - crit * se),
        ci_high=ro(ev.beta + crit * se),
        vcov=ro(vcov.copy()),
        df=ro(df),
        qm=qm,
        qm_df=int(btt.size),
        qm_pvalue=qm_p,
        qm_test=qm_test,
        qe=float(qe),
        qe_df=k - p,
        qe_pvalue=qe_p,
        components=tuple(components),
        struct=next((c.struct for c in comps if c.struct != "intercept"), ""),
        inner_levels=next((c.inner_levels for c in comps if c.struct != "intercept"), ()),
        loglik_ml=ev.loglik_ml,
        loglik_reml=ev.loglik_reml,
        loglik_saturated=base.loglik_ml + 0.5 * base.rss,
        parameters=p + sum(c.n_params for c in comps) - len(held),
        k=k,
        p=p,
        method=opts.method,
        test=opts.test,
        dfs=dfs,
        level=lv,
        converged=fit.converged,
        iterations=fit.iterations,
        blocks=prep.n_blocks,
        largest_block=prep.largest_block,
        yi=ro(y.copy()),
        design=ro(x),
        labels=labs,
        intercept=intercept,
        notes=tuple(notes),
        _terms=tuple(terms),
        _blups=blup,
        _profile=profile_fit,
        _marginal=tuple((grp.index, grp.v + np.einsum("m,mbij->bij", g, grp.basis)) for grp in prep.groups),
        _held=tuple(sorted(n for n in (fixed or {}))),
    )
