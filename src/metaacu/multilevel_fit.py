"""The likelihood of a multilevel / multivariate random-effects model and its safeguarded maximiser.

Model (metafor's ``rma.mv``; Viechtbauer 2010, J Stat Softw 36(3); Harville 1977, J Am Stat Assoc
72:320): ``y ~ N(Xβ, M)`` with ``M = V + Σₘ gₘ Bₘ``, ``V`` the known sampling covariance, ``Bₘ`` fixed
basis matrices (one per entry of each random effect's ``G``, :mod:`metaacu.multilevel_structures`) and
``gₘ = gₘ(η)``.  With ``W = M⁻¹``, ``β̂ = (XᵀWX)⁻¹XᵀWy``, ``r = y − Xβ̂`` and ``RSS = rᵀWr``:

* ML: ``ℓ = −(k/2) log 2π − ½ log|M| − ½ RSS``;
* REML: ``ℓ_R = −((k − p)/2) log 2π + ½ log|XᵀX| − ½ log|M| − ½ log|XᵀWX| − ½ RSS`` (metafor's
  ``REMLf = TRUE``).

Score ``∂ℓ/∂gₘ = −½ tr(P Bₘ) + ½ uᵀBₘu`` with ``u = Wr`` and ``P = W − WX(XᵀWX)⁻¹XᵀW`` (``P = W`` for
ML); expected information ``½ tr(P Bₘ P Bₙ)`` (Harville 1977, eqs. 4.4-4.6).  ``M`` is block diagonal
over the connected clusters of the data (effects linked by ``V`` or by a shared group), so every
quantity is a sum over blocks: blocks of equal size are stacked and factorised together (NumPy batched
Cholesky), and nothing of size ``k × k`` is formed.

The maximiser is Fisher scoring in ``η`` (log-variances, transformed correlations) with step halving,
a step cap and a fallback to L-BFGS-B; a variance that the scoring drives below ``1e-10`` of the data's
scale is set to exactly 0 (on the boundary of the parameter space) when the score there points
outwards (``∂ℓ/∂σ² ≤ 0`` at 0), and the remaining parameters are refitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, sparse
from scipy.sparse import csgraph

from ._validation import MetaacuInputError
from .multilevel_structures import Component, coefficient_jacobian

__all__ = ["ZERO", "Evaluation", "FitOutcome", "Prepared", "evaluate", "maximise", "prepare"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

_LOG_2PI: Final = math.log(2.0 * math.pi)
MAX_ITER: Final = 500
TOL_STEP: Final = 1e-10
BOUNDARY: Final = 1e-10  # relative to the data's scale: a variance below this is tried at exactly 0
#: |atanh ρ| beyond which a correlation is on the boundary ±1 (|ρ| > 1 − 4e-9)
EDGE: Final = 10.0
#: η of a variance fixed at exactly 0: ``exp(-800)`` underflows to 0.0 (also in the complex step).
ZERO: Final = -800.0


@dataclass(frozen=True)
class Group:
    """Blocks of one size ``n``, stacked: indices, V, X, y and the basis matrices."""

    index: I64  # (nb, n)
    v: F64  # (nb, n, n)
    x: F64  # (nb, n, p)
    y: F64  # (nb, n)
    basis: F64  # (m, nb, n, n)


@dataclass(frozen=True)
class Prepared:
    groups: tuple[Group, ...]
    k: int
    p: int
    m: int
    logdet_xtx: float
    n_blocks: int
    largest_block: int
    gram: F64 = field(repr=False)


def clusters(k: int, rows: I64, cols: I64, components: list[Component]) -> I64:
    """Block id of each effect: connected components of the graph linking effects that share a
    non-zero of ``V`` or a group of any random effect."""
    r = [rows, np.arange(k)]
    c = [cols, np.arange(k)]
    for comp in components:
        first = np.full(comp.outer.max() + 1, -1, dtype=np.int64)
        seen = np.arange(k)[::-1]
        first[comp.outer[seen]] = seen
        r.append(np.arange(k))
        c.append(first[comp.outer])
    graph = sparse.coo_matrix((np.ones(sum(a.size for a in r)), (np.concatenate(r), np.concatenate(c))), shape=(k, k))
    _, labels = csgraph.connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)


def prepare(y: F64, x: F64, v: sparse.coo_matrix, components: list[Component]) -> Prepared:
    """Split the data into blocks of the marginal covariance and build the stacked basis matrices."""
    k, p = x.shape
    label = clusters(k, v.row.astype(np.int64), v.col.astype(np.int64), components)
    order = np.argsort(label, kind="stable")
    sizes = np.bincount(label)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    local = np.empty(k, dtype=np.int64)
    local[order] = np.arange(k) - starts[label[order]]
    pairs = [(ci, a, b) for ci, c in enumerate(components) for a, b in c.pairs()]
    groups, gram = [], np.zeros((len(pairs), len(pairs)))
    where = np.empty(label.max() + 1, dtype=np.int64)  # block -> row in its size group
    for n in np.unique(sizes):
        blocks = np.flatnonzero(sizes == n)
        where[blocks] = np.arange(blocks.size)
        index = np.stack([order[starts[b] : starts[b + 1]] for b in blocks]) if n > 0 else np.zeros((0, 0), int)
        vv = np.zeros((blocks.size, n, n))
        mask = sizes[label[v.row]] == n
        vv[where[label[v.row[mask]]], local[v.row[mask]], local[v.col[mask]]] = v.data[mask]
        basis = np.zeros((len(pairs), blocks.size, n, n))
        for mi, (ci, a, b) in enumerate(pairs):
            comp = components[ci]
            o, inn = comp.outer[index], comp.inner[index]
            same = o[:, :, None] == o[:, None, :]
            ia, ib = inn == a, inn == b
            basis[mi] = same & ((ia[:, :, None] & ib[:, None, :]) | (ib[:, :, None] & ia[:, None, :]))
        gram += np.einsum("mbij,nbij->mn", basis, basis)
        groups.append(Group(index, vv, x[index], y[index], basis))
    _, logdet = np.linalg.slogdet(x.T @ x)
    return Prepared(tuple(groups), k, p, len(pairs), float(logdet), int(sizes.size), int(sizes.max()), gram)


@dataclass(frozen=True)
class Evaluation:
    """The fit at one ``g``: both log-likelihoods, β̂, its covariance, the score and information in ``g``."""

    loglik_ml: float
    loglik_reml: float
    beta: F64
    vcov: F64
    rss: float
    score: F64
    information: F64
    u: tuple[F64, ...] = field(repr=False)


def evaluate(
    prep: Prepared, g: F64, restricted: bool, derivatives: bool = True, information: bool = True
) -> Evaluation | None:
    """Log-likelihoods, β̂ and (with ``derivatives``) the score and (with ``information``) the expected
    information in ``g``;
    ``None`` when ``M`` is not positive definite."""
    p = prep.p
    xtwx, xtwy, logdet = np.zeros((p, p)), np.zeros(p), 0.0
    inv = []
    for grp in prep.groups:
        mm = grp.v + np.einsum("m,mbij->bij", g, grp.basis) if prep.m else grp.v.copy()
        try:
            low = np.linalg.cholesky(mm)
        except np.linalg.LinAlgError:
            return None
        logdet += 2.0 * float(np.log(np.diagonal(low, axis1=1, axis2=2)).sum())
        w = np.linalg.inv(mm)
        w = 0.5 * (w + np.swapaxes(w, 1, 2))
        wx = w @ grp.x
        xtwx += np.einsum("bip,biq->pq", grp.x, wx)
        xtwy += np.einsum("bip,bij,bj->p", grp.x, w, grp.y)
        inv.append((w, wx))
    try:
        vcov = np.linalg.inv(xtwx)
        sign, logdet_xtwx = np.linalg.slogdet(xtwx)
    except np.linalg.LinAlgError:
        return None
    if sign <= 0:
        return None
    vcov = 0.5 * (vcov + vcov.T)
    beta = vcov @ xtwy
    rss, us = 0.0, []
    score, info = np.zeros(prep.m), np.zeros((prep.m, prep.m))
    k2 = np.zeros((prep.m, p, p))
    for grp, (w, wx) in zip(prep.groups, inv, strict=True):
        r = grp.y - grp.x @ beta
        u = np.einsum("bij,bj->bi", w, r)
        rss += float((r * u).sum())
        us.append(u)
        if not derivatives or not prep.m:
            continue
        b = grp.basis
        t = np.einsum("bij,mbij->m", w, b)
        bu = b @ u[None, :, :, None]  # (m, nb, n, 1)
        s = np.einsum("bi,mbi->m", u, bu[..., 0])
        bwx = b @ wx[None] if restricted else None  # (m, nb, n, p)
        if bwx is not None:
            t -= np.einsum("mbip,bip->m", bwx @ vcov, wx)
        score += -0.5 * t + 0.5 * s
        if information:
            qb = w[None] @ b
            info += np.einsum("mbij,nbji->mn", qb, qb, optimize=True)
            if bwx is not None:
                qbwx = qb @ wx[None]
                info -= 2.0 * np.einsum("mbip,nbip->mn", bwx @ vcov, qbwx, optimize=True)
                k2 += np.einsum("bip,mbiq->mpq", wx, bwx, optimize=True)
    if information and restricted and prep.m:
        ak = np.einsum("pq,mqr->mpr", vcov, k2)
        info += np.einsum("mpr,nrp->mn", ak, ak)
    info *= 0.5
    k, lp = prep.k, -0.5 * logdet - 0.5 * rss
    ll_ml = -0.5 * k * _LOG_2PI + lp
    ll_reml = -0.5 * (k - p) * _LOG_2PI + 0.5 * prep.logdet_xtx - 0.5 * float(logdet_xtwx) + lp
    return Evaluation(ll_ml, ll_reml, beta, vcov, rss, score, info, tuple(us))


@dataclass(frozen=True)
class FitOutcome:
    eta: F64
    zero: tuple[int, ...]  # positions of η fixed at a variance of exactly 0
    converged: bool
    iterations: int
    loglik: float
    evaluation: Evaluation


def _objective(
    prep: Prepared, comps: list[Component], eta: F64, restricted: bool, deriv: bool, information: bool = True
) -> tuple[float, F64, F64, Evaluation | None]:
    g, jac = coefficient_jacobian(comps, eta)
    ev = evaluate(prep, g, restricted, deriv, information)
    if ev is None:
        return -math.inf, np.zeros(eta.size), np.zeros((eta.size, eta.size)), None
    ll = ev.loglik_reml if restricted else ev.loglik_ml
    if not deriv:
        return ll, np.zeros(eta.size), np.zeros((eta.size, eta.size)), ev
    return ll, jac.T @ ev.score, jac.T @ ev.information @ jac, ev


def _scoring(
    prep: Prepared, comps: list[Component], eta: F64, free: NDArray[np.bool_], restricted: bool, floor: float
) -> tuple[F64, bool, int, list[int]]:
    """Fisher scoring on the free entries of ``eta``; returns (eta, converged, iterations, variances
    that fell below ``floor``)."""
    ll, grad, info, _ = _objective(prep, comps, eta, restricted, True)
    if not math.isfinite(ll):
        raise MetaacuInputError("the marginal covariance V + random effects is not positive definite at the start")
    var_pos = [i for i in _variance_positions(comps) if free[i]]
    cor_pos = [i for i in range(eta.size) if free[i] and i not in _variance_positions(comps)]
    flat, last, before = 0, math.inf, math.inf
    for it in range(1, MAX_ITER + 1):
        # a correlation pressed against ±1 (|atanh ρ| > EDGE and the score pushing outwards) is held
        # there while the others move: its huge steps would otherwise throttle every other step
        pinned = [i for i in cor_pos if abs(eta[i]) > EDGE and grad[i] * eta[i] >= 0]
        idx = np.array([i for i in np.flatnonzero(free) if i not in pinned], dtype=np.intp)
        if idx.size == 0:
            return eta, True, it, []
        h = info[np.ix_(idx, idx)]
        gr = grad[idx]
        if last < 1e-3 and last > 0.2 * before:  # scoring crawls near the optimum: Newton, observed information
            observed = _observed_information(prep, comps, eta, idx, restricted)
            if observed is not None:
                h = observed
        try:
            step = np.linalg.solve(h + 1e-12 * np.trace(h) / idx.size * np.eye(idx.size), gr)
        except np.linalg.LinAlgError:
            step = gr
        big = np.abs(step).max()
        if big > 5.0:
            step *= 5.0 / big
        t = 1.0
        while True:
            trial = eta.copy()
            trial[idx] += t * step
            ll_new, g_new, i_new, _ = _objective(prep, comps, trial, restricted, True)
            if math.isfinite(ll_new) and ll_new >= ll - 1e-13 * (1.0 + abs(ll)):
                break
            t *= 0.5
            if t < 1e-10:
                return eta, bool(np.abs(gr).max() < 1e-6 * (1.0 + abs(ll))), it, []
        before, last = last, t * np.abs(step).max()
        change = last
        flat = flat + 1 if abs(ll_new - ll) <= 1e-12 * (1.0 + abs(ll)) else 0
        eta, ll, grad, info = trial, ll_new, g_new, i_new
        low = [i for i in var_pos if eta[i] < floor]
        if low:
            return eta, False, it, low
        # converged: the step is negligible, or a correlation drifts to ±1 (|atanh ρ| > EDGE, where the
        # step stays large but moves nothing) and the likelihood has stopped changing for five steps
        edge = bool(np.any(np.abs(eta[cor_pos]) > EDGE)) if cor_pos else False
        if change < TOL_STEP or (edge and flat >= 5):
            return eta, True, it, []
    return eta, False, MAX_ITER, []


def _observed_information(
    prep: Prepared, comps: list[Component], eta: F64, idx: NDArray[np.intp], restricted: bool
) -> F64 | None:
    """Minus the Hessian of ℓ in the free ``η`` by central differences of the exact score (step 1e-5);
    ``None`` unless it is positive definite."""
    n = idx.size
    out = np.zeros((n, n))
    for a, i in enumerate(idx):
        up, down = eta.copy(), eta.copy()
        up[i] += 1e-5
        down[i] -= 1e-5
        lu, gu, _, _ = _objective(prep, comps, up, restricted, True, False)
        ld, gd, _, _ = _objective(prep, comps, down, restricted, True, False)
        if not (math.isfinite(lu) and math.isfinite(ld)):
            return None
        out[:, a] = -(gu[idx] - gd[idx]) / 2e-5
    out = 0.5 * (out + out.T)
    try:
        np.linalg.cholesky(out)
    except np.linalg.LinAlgError:
        return None
    return out


def _variance_positions(comps: list[Component]) -> list[int]:
    out, pos = [], 0
    for c in comps:
        out += [pos + i for i in c.variance_index()]
        pos += c.n_params
    return out


def _lbfgs(
    prep: Prepared, comps: list[Component], eta: F64, free: NDArray[np.bool_], restricted: bool
) -> tuple[F64, bool, int]:
    idx = np.flatnonzero(free)

    def fun(z: F64) -> tuple[float, F64]:
        e = eta.copy()
        e[idx] = z
        ll, grad, _, _ = _objective(prep, comps, e, restricted, True)
        if not math.isfinite(ll):
            return 1e300, np.zeros(idx.size)
        return -ll, -grad[idx]

    res = optimize.minimize(
        fun, eta[idx], jac=True, method="L-BFGS-B", options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10}
    )
    out = eta.copy()
    out[idx] = res.x
    return out, bool(res.success), int(res.nit)


def maximise(
    prep: Prepared,
    comps: list[Component],
    start: F64,
    restricted: bool,
    scale: float,
    fixed: dict[int, float] | None = None,
) -> FitOutcome:
    """Maximise the (restricted) log-likelihood over ``η`` from ``start`` (entries in ``fixed`` held
    at their given values; :data:`ZERO` for a variance of 0)."""
    eta = start.astype(float).copy()
    free = np.ones(eta.size, dtype=bool)
    for i, val in (fixed or {}).items():
        eta[i], free[i] = val, False
    floor = math.log(BOUNDARY * scale)
    zero: list[int] = []
    total_it, converged = 0, False
    for _ in range(eta.size + 1):
        eta, converged, it, low = _scoring(prep, comps, eta, free, restricted, floor)
        total_it += it
        if not low:
            break
        for i in low:  # try each tiny variance at exactly 0; keep it there when the score points outwards
            trial = eta.copy()
            trial[i] = ZERO
            g, _ = coefficient_jacobian(comps, trial)
            ev = evaluate(prep, g, restricted)
            if ev is not None and _outward(comps, i, ev.score):
                eta, free[i] = trial, False
                zero.append(i)
            else:
                eta[i] = floor + 5.0
    if not converged:
        eta, converged, it = _lbfgs(prep, comps, eta, free, restricted)
        total_it += it
    ll, _, _, ev = _objective(prep, comps, eta, restricted, True)
    if ev is None:
        raise MetaacuInputError("the fitted marginal covariance is not positive definite")
    return FitOutcome(eta, tuple(sorted(zero)), converged, total_it, ll, ev)


def _outward(comps: list[Component], position: int, score_g: F64) -> bool:
    """Whether the score of the variance at ``position`` (an entry of η) is ≤ 0 at 0: the derivative
    of ℓ along that component's diagonal entry of G."""
    pos = row = 0
    for c in comps:
        if position < pos + c.n_params:
            level = position - pos
            pairs = c.pairs()
            return bool(score_g[row + pairs.index((level, level))] <= 0.0)
        pos += c.n_params
        row += len(c.pairs())
    return False
