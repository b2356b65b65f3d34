"""Sampling covariance of dependent effect sizes: the block-diagonal matrix ``V`` of a multivariate
or multilevel model (one block per study), with the assumption it rests on recorded on the result.

* :func:`shared_control_covariance` — effects of several treatment arms against one shared control
  group (Gleser & Olkin 2009, Handbook of Research Synthesis and Meta-Analysis, 2nd ed., ch. 19,
  pp. 360-367): the covariance of two effects is the variance of the shared
  group's part of them.
* :func:`vcalc` — metafor's ``vcalc(vi, cluster, obs, rho, grp1, grp2, w1, w2)``: effects of the same
  study correlated by a stated ``rho`` between different outcomes, and/or by shared groups
  (``ρ_ij = Σ ± √(1/w·1/w')`` over the groups two contrasts share, divided by the product of the
  contrasts' own norms; Viechtbauer, metafor 3.8 ``vcalc`` documentation, "Details").

Every block is checked to be symmetric positive definite (a non-PD block is refused, naming the
study).  :func:`check_covariance` validates a matrix a user brings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import MetaacuInputError, as_float_array, check_same_length, readonly
from .vcov_result import SamplingCovariance, check_covariance, cluster_index

__all__ = [
    "SHARED_CONTROL_MEASURES",
    "SamplingCovariance",
    "check_covariance",
    "cluster_index",
    "multiple_outcome_smd_covariance",
    "shared_control_covariance",
    "vcalc",
]

F64 = NDArray[np.float64]

#: Measures :func:`shared_control_covariance` knows, and the covariance of two effects sharing the
#: control group (``n``: its size, ``x``: its events, ``p = x/n``, ``sd``: its SD; ``N``: the study's
#: total size; Gleser & Olkin 2009, pp. 360-367).
SHARED_CONTROL_MEASURES: Final = {
    "MD": "sd^2 / n",
    "SMD": "1/n + d_i d_j / (2 N)",
    "RD": "p (1 - p) / n",
    "OR": "1 / (n p (1 - p))",
    "RR": "(1 - p) / (n p)",
    "AS": "1 / (4 n)",
}


def _build(vi: F64, cluster: ArrayLike, pair: Any, formula: str, assumption: str, **extra: Any) -> SamplingCovariance:
    """Blocks from ``pair(rows) -> block`` with ``vi`` on the diagonal, each checked to be PD."""
    k = vi.shape[0]
    clusters, rows = cluster_index(cluster, k)
    blocks = []
    for c, r in zip(clusters, rows, strict=True):
        b = np.array(pair(r), dtype=np.float64)
        b[np.diag_indices(r.size)] = vi[r]
        b = 0.5 * (b + b.T)
        try:
            np.linalg.cholesky(b)
        except np.linalg.LinAlgError:
            low = float(np.linalg.eigvalsh(b).min())
            raise MetaacuInputError(
                f"the covariance block of cluster {c!r} (effects {', '.join(map(str, r))}) is not positive "
                f"definite (smallest eigenvalue {low:.3g}); check 'rho' and the group sizes"
            ) from None
        blocks.append(readonly(b))
    return SamplingCovariance(
        vi=readonly(vi.copy()),
        cluster=tuple(np.asarray(cluster, dtype=object).tolist()),
        clusters=clusters,
        rows=tuple(readonly(r) for r in rows),
        blocks=tuple(blocks),
        formula=formula,
        assumption=assumption,
        **extra,
    )


def _constant(values: F64, rows: Sequence[NDArray[np.intp]], clusters: Sequence[Any], name: str) -> None:
    for c, r in zip(clusters, rows, strict=True):
        if np.ptp(values[r]) != 0:
            raise MetaacuInputError(
                f"argument {name!r} must be the same for every effect of a cluster (it describes the shared "
                f"group); cluster {c!r} has {', '.join(f'{x:g}' for x in values[r])}"
            )


def shared_control_covariance(
    measure: str,
    vi: ArrayLike,
    cluster: ArrayLike,
    *,
    n_control: ArrayLike,
    events_control: ArrayLike | None = None,
    sd_control: ArrayLike | None = None,
    yi: ArrayLike | None = None,
    n_total: ArrayLike | None = None,
) -> SamplingCovariance:
    """Sampling covariance of effects that share a control group (multiple-treatment studies).

    Two effects of the same study, each a treatment arm against the one control arm, are correlated
    through the control arm's sampling error; Gleser & Olkin (2009) give its variance for each measure
    (pp. 360-367).  All effects must have the control group on the same side (all "treatment −
    control", or all "control − treatment").

    Parameters
    ----------
    measure : {"MD", "SMD", "RD", "OR", "RR", "AS"}
        Effect measure (log scale for OR and RR; ``"AS"`` metafor's arcsine risk difference).
    vi : array-like
        Sampling variance of each effect (the diagonal).
    cluster : array-like
        The study of each effect; effects of one study share its control group.
    n_control : array-like
        Size of the shared control group, one value per effect (the same within a study).
    events_control : array-like, optional
        Events in the control group (RD, OR, RR); a zero-cell correction must already be applied
        (0 or ``n`` events is refused for OR and RR).
    sd_control : array-like, optional
        SD of the control group (MD).
    yi : array-like, optional
        The SMDs (SMD: the covariance depends on them).
    n_total : array-like, optional
        Total size of the study over all its arms (SMD; Gleser & Olkin's ``N``).

    Returns
    -------
    SamplingCovariance

    Notes
    -----
    Covariances (``n``, ``x``, ``p = x/n``, ``sd`` of the control group; ``N`` the study's total):
    MD ``sd²/n``; SMD ``1/n + dᵢdⱼ/(2N)`` (pp. 364-367, the pooled-SD version with ``vi = 1/nᵢ + 1/n +
    dᵢ²/(2N)``); RD ``p(1 − p)/n``; log OR ``1/(np(1 − p))``; log RR ``(1 − p)/(np)``; arcsine
    ``1/(4n)``.  Checked against metafor's Gleser & Olkin (2009) example.

    Examples
    --------
    >>> v = shared_control_covariance("RR", [0.03, 0.02, 0.05], [1, 1, 2], n_control=[1000, 1000, 200],
    ...                               events_control=[40, 40, 10])
    >>> round(float(v.to_dense()[0, 1]), 6)
    0.024
    """
    from ._validation import check_choice

    code = check_choice(measure, "measure", SHARED_CONTROL_MEASURES)
    v = as_float_array(vi, "vi", positive=True)
    k = v.shape[0]
    n = as_float_array(n_control, "n_control", positive=True)
    check_same_length({"vi": v, "n_control": n})
    clusters, rows = cluster_index(cluster, k)
    _constant(n, rows, clusters, "n_control")
    assumption = "effects of one study share its control group (same side of every contrast)"
    if code == "MD":
        if sd_control is None:
            raise MetaacuInputError("argument 'sd_control' is required for measure 'MD'")
        sd = as_float_array(sd_control, "sd_control", positive=True)
        check_same_length({"vi": v, "sd_control": sd})
        _constant(sd, rows, clusters, "sd_control")
        cov = sd**2 / n
    elif code == "SMD":
        if yi is None or n_total is None:
            raise MetaacuInputError("arguments 'yi' and 'n_total' are required for measure 'SMD'")
        d = as_float_array(yi, "yi")
        nt = as_float_array(n_total, "n_total", positive=True)
        check_same_length({"vi": v, "yi": d, "n_total": nt})
        _constant(nt, rows, clusters, "n_total")
        return _build(
            v,
            cluster,
            lambda r: 1.0 / n[r][:, None] + np.outer(d[r], d[r]) / (2.0 * nt[r][:, None]),
            SHARED_CONTROL_MEASURES[code],
            assumption + "; SMDs standardised by one pooled SD of all arms (Gleser & Olkin 2009, pp. 364-367)",
            measure=code,
        )
    elif code == "AS":
        cov = 1.0 / (4.0 * n)
    else:
        if events_control is None:
            raise MetaacuInputError(f"argument 'events_control' is required for measure {code!r}")
        x = as_float_array(events_control, "events_control", nonnegative=True)
        check_same_length({"vi": v, "events_control": x})
        _constant(x, rows, clusters, "events_control")
        if (x > n).any():
            raise MetaacuInputError(f"argument 'events_control' exceeds 'n_control' at effect index {np.argmax(x > n)}")
        p = x / n
        if code in ("OR", "RR") and ((x == 0) | ((x == n) if code == "OR" else np.zeros(k, bool))).any():
            bad = int(np.flatnonzero((x == 0) | (x == n))[0])
            raise MetaacuInputError(
                f"argument 'events_control' is 0{' or n' if code == 'OR' else ''} at effect index {bad}: the "
                f"log {'odds' if code == 'OR' else 'risk'} ratio covariance is infinite; apply the zero-cell "
                "correction used for the effect sizes (e.g. add 1/2) first"
            )
        cov = {"RD": p * (1 - p) / n, "OR": 1.0 / (n * p * (1 - p)), "RR": (1 - p) / (n * p)}[code]
    return _build(
        v,
        cluster,
        lambda r: np.full((r.size, r.size), cov[r[0]]),
        SHARED_CONTROL_MEASURES[code],
        assumption,
        measure=code,
    )


def multiple_outcome_smd_covariance(
    yi: ArrayLike,
    vi: ArrayLike,
    cluster: ArrayLike,
    *,
    n1: ArrayLike,
    n2: ArrayLike,
    rho: float | ArrayLike,
) -> SamplingCovariance:
    """Sampling covariance of SMDs of several outcomes measured on the same two groups.

    ``Cov(dᵢ, dⱼ) = (1/n₁ + 1/n₂) ρ + dᵢ dⱼ ρ² / (2(n₁ + n₂))`` (Gleser & Olkin 2009, pp. 368-371, the
    large-sample covariance of two standardised mean differences whose outcomes correlate ``ρ``).

    Parameters
    ----------
    yi, vi : array-like
        The SMDs and their variances (the diagonal).
    cluster : array-like
        The study of each effect.
    n1, n2 : array-like
        Group sizes (the same within a study).
    rho : float or array-like
        Correlation of the outcomes, one number or one per effect (the same within a study), in [−1, 1].

    Examples
    --------
    >>> v = multiple_outcome_smd_covariance([0.5, 0.3], [0.09, 0.088], [1, 1], n1=[22, 22], n2=[24, 24], rho=0.55)
    >>> round(float(v.to_dense()[0, 1]), 5)
    0.04841
    """
    d = as_float_array(yi, "yi")
    v = as_float_array(vi, "vi", positive=True)
    a = as_float_array(n1, "n1", positive=True)
    b = as_float_array(n2, "n2", positive=True)
    r = (
        np.broadcast_to(np.asarray(rho, dtype=np.float64), d.shape).copy()
        if np.ndim(rho) == 0
        else as_float_array(rho, "rho")
    )
    check_same_length({"yi": d, "vi": v, "n1": a, "n2": b, "rho": r})
    if not np.isfinite(r).all() or (np.abs(r) > 1).any():
        raise MetaacuInputError(f"argument 'rho' must lie in [-1, 1]; got {rho!r}")
    clusters, rows = cluster_index(cluster, d.shape[0])
    for arr, name in ((a, "n1"), (b, "n2"), (r, "rho")):
        _constant(arr, rows, clusters, name)
    return _build(
        v,
        cluster,
        lambda q: (
            (1 / a[q[0]] + 1 / b[q[0]]) * r[q[0]] + np.outer(d[q], d[q]) * r[q[0]] ** 2 / (2 * (a[q[0]] + b[q[0]]))
        ),
        "(1/n1 + 1/n2) rho + d_i d_j rho^2 / (2 (n1 + n2))",
        "outcomes of a study measured on the same participants, correlated rho (Gleser & Olkin 2009, pp. 368-371)",
        rho=float(r[0]) if np.ptp(r) == 0 else None,
        measure="SMD",
    )


def vcalc(
    vi: ArrayLike,
    cluster: ArrayLike,
    *,
    obs: ArrayLike | None = None,
    rho: float | ArrayLike | None = None,
    rho_levels: Sequence[Any] | None = None,
    grp1: ArrayLike | None = None,
    grp2: ArrayLike | None = None,
    w1: ArrayLike | None = None,
    w2: ArrayLike | None = None,
) -> SamplingCovariance:
    """Sampling covariance of dependent effects from a stated correlation and/or shared groups
    (metafor's ``vcalc``).

    Parameters
    ----------
    vi : array-like
        Sampling variances.
    cluster : array-like
        Study of each effect; effects of different studies are independent.
    obs : array-like, optional
        Outcome (or time point, measure) of each effect.  Two effects of one study with different
        ``obs`` are correlated by ``rho``; the same ``obs`` means the same outcome (correlation 1,
        before the shared-group factor): metafor's rule.
    rho : float or 2-D array-like, optional
        Correlation between different outcomes: one number in [−1, 1], or a matrix over the outcome
        levels (``rho_levels`` gives their order; default sorted distinct ``obs``).  Required with
        ``obs``.
    rho_levels : sequence, optional
        The outcome level of each row/column of a matrix ``rho``.
    grp1, grp2, w1, w2 : array-like, optional
        The two groups each effect contrasts (``grp1`` minus ``grp2``; defaults: groups 1 and 2, so
        effects share no group) and their sizes (default 1).  Effects sharing a group are correlated
        by ``±√(1/wᵢ·1/wⱼ)`` summed over the shared groups, divided by ``√(1/w1 + 1/w2)`` of each.

    Returns
    -------
    SamplingCovariance
        ``V_ij = R_ij √(vᵢvⱼ)`` with ``R_ij = ρ(obs) · (shared-group factor)``.

    Notes
    -----
    metafor ``vcalc`` (3.8-1) with ``cluster``, ``obs``, ``rho``, ``grp1``, ``grp2``, ``w1``, ``w2``;
    its ``type``, ``time1``/``time2``/``phi`` and ``rvars`` are not offered.  A block that is not
    positive definite is refused (metafor's ``checkpd``).

    Examples
    --------
    >>> v = vcalc([0.1, 0.2, 0.1], [1, 1, 2], obs=["a", "b", "a"], rho=0.5)
    >>> round(float(v.to_dense()[0, 1]), 6)
    0.070711
    """
    v = as_float_array(vi, "vi", positive=True)
    k = v.shape[0]
    cluster_index(cluster, k)  # validated before anything else
    parts, scalar_rho = [], None
    if obs is not None:
        if rho is None:
            raise MetaacuInputError("argument 'rho' is required with 'obs' (the correlation between outcomes)")
        ob = np.asarray(obs, dtype=object)
        if ob.shape != (k,):
            raise MetaacuInputError(f"argument 'obs' must be one value per effect ({k}), got shape {ob.shape}")
        rarr = np.asarray(rho, dtype=np.float64)
        if not np.isfinite(rarr).all() or (np.abs(rarr) > 1).any():
            raise MetaacuInputError(f"argument 'rho' must lie in [-1, 1]; got {rho!r}")
        if rarr.ndim == 0:
            scalar_rho = float(rarr)
            robs = np.where(ob[:, None] == ob[None, :], 1.0, scalar_rho)
            parts.append(f"rho = {scalar_rho:g} between different outcomes of a study")
        else:
            levels = list(rho_levels) if rho_levels is not None else sorted(set(ob.tolist()))
            if rarr.shape != (len(levels), len(levels)):
                raise MetaacuInputError(
                    f"argument 'rho' must be {len(levels)} x {len(levels)} (one row per outcome level)"
                )
            if not np.allclose(rarr, rarr.T) or not np.allclose(np.diag(rarr), 1.0):
                raise MetaacuInputError("argument 'rho' must be a symmetric correlation matrix (ones on the diagonal)")
            pos = {lv: j for j, lv in enumerate(levels)}
            unknown = [o for o in ob.tolist() if o not in pos]
            if unknown:
                raise MetaacuInputError(f"argument 'obs' has level {unknown[0]!r} with no row in 'rho'")
            idx = np.array([pos[o] for o in ob.tolist()])
            robs = np.where(ob[:, None] == ob[None, :], 1.0, rarr[np.ix_(idx, idx)])
            parts.append(f"rho, a correlation matrix over outcomes {', '.join(map(str, levels))}")
    elif rho is not None:
        raise MetaacuInputError("argument 'rho' needs 'obs' (which effects are different outcomes)")
    else:
        robs = np.ones((k, k))
    g1 = np.asarray(grp1 if grp1 is not None else np.ones(k), dtype=object)
    g2 = np.asarray(grp2 if grp2 is not None else np.full(k, 2), dtype=object)
    if grp2 is not None and grp1 is None:
        raise MetaacuInputError("argument 'grp2' needs 'grp1'")
    a1 = 1.0 / as_float_array(w1 if w1 is not None else np.ones(k), "w1", positive=True)
    a2 = 1.0 / as_float_array(w2 if w2 is not None else a1**-1, "w2", positive=True)
    check_same_length({"vi": v, "grp1": g1, "grp2": g2, "w1": a1, "w2": a2})
    if grp1 is not None:
        parts.append("shared groups (grp1, grp2) correlate contrasts by their sizes (w1, w2)")

    def same(a: NDArray[Any], b: NDArray[Any]) -> F64:
        out: F64 = (a[:, None] == b[None, :]).astype(float)
        return out

    num = (
        same(g1, g1) * np.sqrt(np.outer(a1, a1))
        - same(g1, g2) * np.sqrt(np.outer(a1, a2))
        - same(g2, g1) * np.sqrt(np.outer(a2, a1))
        + same(g2, g2) * np.sqrt(np.outer(a2, a2))
    )
    norm = np.sqrt(a1 + a2 - 2.0 * (g1 == g2) * np.sqrt(a1 * a2))
    r_all = robs * num / np.outer(norm, norm)
    sd = np.sqrt(v)
    return _build(
        v,
        cluster,
        lambda r: r_all[np.ix_(r, r)] * np.outer(sd[r], sd[r]),
        "R_ij sqrt(vi vj), R_ij = rho(obs_i, obs_j) x shared-group factor (metafor vcalc)",
        "; ".join(parts) or "effects of one study with the same obs and groups are perfectly correlated",
        rho=scalar_rho,
    )
