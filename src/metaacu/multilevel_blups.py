"""Best linear unbiased predictions of the random effects of a multilevel model (metafor's
``ranef.rma.mv``), computed block by block.

For a random intercept with variance σ² and incidence ``Z``: ``û = σ² Zᵀ M⁻¹ (y − Xβ̂)`` and the
prediction-error variance ``σ² I − σ⁴ Zᵀ P Z`` with ``P = M⁻¹ − M⁻¹X(XᵀM⁻¹X)⁻¹XᵀM⁻¹`` (Robinson 1991,
Stat Sci 6:15, section 5; Harville 1976).  For a ``~ inner | outer`` term with contribution ``C`` to
``M`` (``C = (Z₁GZ₁ᵀ) ∘ (Z₂Z₂ᵀ)``): ``û = C M⁻¹ (y − Xβ̂)`` with variance ``diag(C − C P C)``, one row
per distinct (outer, inner) pair, ordered by outer then inner level (as metafor).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .multilevel_fit import Evaluation, Prepared
from .multilevel_structures import Component

__all__ = ["blups"]

F64 = NDArray[np.float64]


def blups(prep: Prepared, comps: list[Component], g: F64, ev: Evaluation) -> dict[str, tuple[list[str], F64, F64]]:
    """Per term: (group names, BLUPs, prediction-error variances)."""
    a = ev.vcov
    cached = []
    for grp in prep.groups:
        mm = grp.v + np.einsum("m,mbij->bij", g, grp.basis)
        w = np.linalg.inv(mm)
        w = 0.5 * (w + np.swapaxes(w, 1, 2))
        cached.append((w, w @ grp.x))
    out: dict[str, tuple[list[str], F64, F64]] = {}
    row = 0
    for c in comps:
        rows = list(range(row, row + len(c.pairs())))
        row += len(c.pairs())
        if c.struct == "intercept":
            sigma2 = float(g[rows[0]])
            nl = len(c.outer_levels)
            zwz, zu, zwx = np.zeros(nl), np.zeros(nl), np.zeros((nl, prep.p))
            for grp, (w, wx), u in zip(prep.groups, cached, ev.u, strict=True):
                codes = c.outer[grp.index].ravel()
                np.add.at(zwz, codes, np.einsum("bij,bij->bi", w, grp.basis[rows[0]]).ravel())
                np.add.at(zu, codes, u.ravel())
                np.add.at(zwx, codes, wx.reshape(-1, prep.p))
            quad = zwz - np.einsum("lp,pq,lq->l", zwx, a, zwx)
            out[c.name] = (list(c.outer_levels), sigma2 * zu, sigma2 - sigma2**2 * quad)
            continue
        keys, preds, vars_ = [], [], []
        for grp, (w, _), u in zip(prep.groups, cached, ev.u, strict=True):
            cc = np.einsum("m,mbij->bij", g[rows], grp.basis[rows])
            pred = np.einsum("bij,bj->bi", cc, u)
            cw = cc @ w
            cwx = cw @ grp.x
            var = (
                np.diagonal(cc, axis1=1, axis2=2)
                - np.einsum("bij,bji->bi", cw, cc)
                + np.einsum("bip,pq,biq->bi", cwx, a, cwx)
            )
            keys.append(np.stack([c.outer[grp.index].ravel(), c.inner[grp.index].ravel()], axis=1))
            preds.append(pred.ravel())
            vars_.append(var.ravel())
        key = np.concatenate(keys)
        uniq, first = np.unique(key, axis=0, return_index=True)  # sorted by outer, then inner code
        names = [f"{c.inner_levels[i]} | {c.outer_levels[o]}" for o, i in uniq]
        out[c.name] = (names, np.concatenate(preds)[first], np.concatenate(vars_)[first])
    return out
