"""Random-effects specifications of a multilevel / multivariate model (metafor's ``rma.mv`` ``random=``).

Every random effect is a :class:`Component`: an *outer* grouping (clusters whose effects share the
random effect) and an *inner* factor with ``q`` levels, and a ``q × q`` covariance matrix ``G(η)`` of
unconstrained parameters ``η``.  Its contribution to the marginal covariance of the effects is

    ``M[i, j] += G[inner_i, inner_j]``  when ``outer_i = outer_j``,

that is metafor's ``(Z₁ G Z₁ᵀ) ∘ (Z₂ Z₂ᵀ)`` (Viechtbauer 2010, J Stat Softw 36(3); metafor's
``.ll.rma.mv``).  A random intercept (``~ 1 | group``) has ``q = 1`` and ``G = [σ²]``; a nested
``~ 1 | district/school`` is two intercepts, one per ``district`` and one per ``district/school``.
For ``~ outcome | study`` the structures are those of metafor:

* ``"ID"``: ``G = τ² I``; ``"DIAG"``: ``G = diag(τ₁², …, τ_q²)``;
* ``"CS"``: ``G = τ² ((1 − ρ) I + ρ J)``; ``"HCS"``: ``Gᵢⱼ = τᵢ τⱼ ρ`` (i ≠ j), ``Gᵢᵢ = τᵢ²``;
* ``"UN"``: ``G = S R S`` with ``S = diag(τᵢ)`` and a correlation matrix ``R`` free.

Parametrisation: variances on the log scale (as metafor), ``ρ = tanh(η)`` for CS and HCS (as metafor),
and for UN ``R = L Lᵀ`` with ``L`` built from canonical partial correlations ``tanh(η)`` (Lewandowski,
Kurowicka & Joe 2009, J Multivar Anal 100:1989, section 2), which keeps ``G`` positive definite; at an
interior optimum it is the same model as metafor's (which optimises ``atanh ρ`` directly).  Every map
``η → G`` is written with operations that accept complex numbers, so :func:`coefficient_jacobian`
differentiates it exactly by the complex step (Squire & Trapp 1998, SIAM Rev 40:110).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

__all__ = ["STRUCTS", "Component", "coefficient_jacobian", "intercept_component", "struct_component"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: ``struct=`` choices for a ``~ inner | outer`` random effect.
STRUCTS: Final = ("CS", "HCS", "UN", "DIAG", "ID")
_STEP: Final = 1e-30  # complex step


@dataclass(frozen=True)
class Component:
    """One random effect: grouping codes, its structure and the map ``η → G``.

    Attributes
    ----------
    name : str
        ``"district"``, ``"district/school"`` (intercepts) or ``"outcome | trial"``.
    struct : str
        ``"intercept"`` or one of :data:`STRUCTS`.
    outer, inner : ndarray of int
        Codes per effect (``inner`` all 0 for an intercept).
    outer_levels, inner_levels : tuple of str
        The labels of the codes (inner levels sorted as R's ``factor()``).
    """

    name: str
    struct: str
    outer: I64
    inner: I64
    outer_levels: tuple[str, ...]
    inner_levels: tuple[str, ...]

    @property
    def q(self) -> int:
        return len(self.inner_levels)

    @property
    def n_variances(self) -> int:
        """Variance parameters: σ² (intercept), τ² (ID, CS) or one τ² per level (DIAG, HCS, UN)."""
        return 1 if self.struct in ("intercept", "ID", "CS") else self.q

    @property
    def n_correlations(self) -> int:
        if self.struct in ("CS", "HCS"):
            return 1
        return self.q * (self.q - 1) // 2 if self.struct == "UN" else 0

    @property
    def n_params(self) -> int:
        return self.n_variances + self.n_correlations

    def pairs(self) -> list[tuple[int, int]]:
        """The entries ``(a, b)``, ``a ≤ b``, of ``G`` that can be non-zero (the coefficients of the
        basis matrices)."""
        if self.struct in ("intercept", "ID", "DIAG"):
            return [(a, a) for a in range(self.q)]
        return [(a, b) for a in range(self.q) for b in range(a, self.q)]

    def param_names(self) -> list[str]:
        if self.struct == "intercept":
            return [f"sigma2[{self.name}]"]
        lv = self.inner_levels
        var = ["tau2"] if self.n_variances == 1 else [f"tau2[{v}]" for v in lv]
        if self.struct in ("CS", "HCS"):
            return [*var, "rho"]
        if self.struct == "UN":
            # metafor's order: R[lower.tri(R)], column by column
            return [*var, *(f"rho[{lv[a]},{lv[b]}]" for b in range(self.q) for a in range(b + 1, self.q))]
        return var

    def covariance(self, eta: NDArray[Any]) -> NDArray[Any]:
        """``G(η)`` (real or complex ``η``)."""
        q, s = self.q, self.struct
        nv = self.n_variances
        var: NDArray[Any] = np.exp(eta[:nv])
        out: NDArray[Any]
        if s in ("intercept", "ID"):
            out = var[0] * np.eye(q)
            return out
        if s == "DIAG":
            out = np.diag(var)
            return out
        if s == "CS":
            rho = np.tanh(eta[1])
            out = var[0] * ((1 - rho) * np.eye(q) + rho * np.ones((q, q)))
            return out
        sd = np.sqrt(var)
        if s == "HCS":
            rho = np.tanh(eta[nv])
            r = rho * np.ones((q, q)) + (1 - rho) * np.eye(q)
        else:  # UN
            r = correlation_from_cpc(np.tanh(eta[nv:]), q)
        out = sd[:, None] * r * sd[None, :]
        return out

    def coefficients(self, eta: NDArray[Any]) -> NDArray[Any]:
        """The entries of ``G(η)`` at :meth:`pairs`."""
        g = self.covariance(eta)
        return np.array([g[a, b] for a, b in self.pairs()])

    def natural(self, eta: F64) -> tuple[F64, F64]:
        """(variances, correlations) at ``η`` (correlations in metafor's order)."""
        g = self.covariance(eta).real
        var = np.diag(g)[: self.n_variances].copy() if self.n_variances > 1 else np.array([g[0, 0]])
        if self.n_correlations == 0:
            return var, np.zeros(0)
        if self.struct in ("CS", "HCS"):
            return var, np.array([float(np.tanh(eta[self.n_variances]))])
        sd = np.sqrt(np.diag(g))
        r = g / np.outer(sd, sd)
        return var, np.array([r[a, b] for b in range(self.q) for a in range(b + 1, self.q)])

    def start(self, variance: float) -> F64:
        """Starting ``η``: every variance ``variance``, every correlation 0.5 (metafor's defaults)."""
        eta = np.full(self.n_params, np.log(variance))
        if self.struct in ("CS", "HCS"):
            eta[-1] = np.arctanh(0.5)
        elif self.struct == "UN":
            eta[self.n_variances :] = np.arctanh(
                cpc_from_correlation(np.full((self.q, self.q), 0.5) + 0.5 * np.eye(self.q))
            )
        return eta

    def variance_index(self) -> list[int]:
        """Positions in ``η`` of the log-variances (the parameters that can reach the boundary 0)."""
        return list(range(self.n_variances))


def correlation_from_cpc(z: NDArray[Any], q: int) -> NDArray[Any]:
    """Correlation matrix ``L Lᵀ`` from canonical partial correlations ``z`` (row by row, ``j < i``)."""
    dtype = np.result_type(z, float)
    low = np.zeros((q, q), dtype=dtype)
    low[0, 0] = 1.0
    pos = 0
    for i in range(1, q):
        rest = np.ones((), dtype=dtype)
        for j in range(i):
            low[i, j] = z[pos] * np.sqrt(rest)
            rest = rest - low[i, j] ** 2
            pos += 1
        low[i, i] = np.sqrt(rest)
    return low @ low.T


def cpc_from_correlation(r: F64) -> F64:
    """Inverse of :func:`correlation_from_cpc` for a positive-definite correlation matrix."""
    low = np.linalg.cholesky(r)
    out = []
    for i in range(1, r.shape[0]):
        rest = 1.0
        for j in range(i):
            out.append(low[i, j] / np.sqrt(rest))
            rest -= low[i, j] ** 2
    return np.array(out)


def coefficient_jacobian(components: list[Component], eta: F64) -> tuple[F64, F64]:
    """All components' coefficients ``g(η)`` and the Jacobian ``∂g/∂η`` (complex step, exact to
    rounding)."""
    gs, blocks = [], []
    pos = 0
    for c in components:
        e = eta[pos : pos + c.n_params]
        gs.append(c.coefficients(e).real)
        jac = np.zeros((len(c.pairs()), c.n_params))
        for j in range(c.n_params):
            ec = e.astype(complex)
            ec[j] += 1j * _STEP
            jac[:, j] = c.coefficients(ec).imag / _STEP
        blocks.append(jac)
        pos += c.n_params
    g = np.concatenate(gs) if gs else np.zeros(0)
    total = np.zeros((g.size, eta.size))
    r = c0 = 0
    for jac in blocks:
        total[r : r + jac.shape[0], c0 : c0 + jac.shape[1]] = jac
        r, c0 = r + jac.shape[0], c0 + jac.shape[1]
    return g, total


def _codes(values: Any) -> tuple[I64, tuple[str, ...]]:
    """Integer codes and level labels, the levels sorted as R's ``factor()``: numerically when every
    value is a number, else as strings."""
    raw = list(values)
    labels = np.asarray([str(v) for v in raw], dtype=object)
    numeric = all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in raw)
    if numeric:
        first: dict[str, float] = {}
        for v, lab in zip(raw, labels.tolist(), strict=True):
            first.setdefault(lab, float(v))
        levels = tuple(sorted(first, key=lambda lab: first[lab]))
    else:
        levels = tuple(sorted(set(labels.tolist())))
    index = {lv: i for i, lv in enumerate(levels)}
    return np.fromiter((index[v] for v in labels), dtype=np.int64, count=labels.size), levels


def intercept_component(name: str, groups: Any) -> Component:
    """A random intercept ``~ 1 | name`` with one code per group."""
    outer, levels = _codes(groups)
    return Component(name, "intercept", outer, np.zeros(outer.size, dtype=np.int64), levels, ("1",))


def struct_component(inner_name: str, outer_name: str, inner: Any, outer: Any, struct: str) -> Component:
    """A random effect ``~ inner | outer`` with covariance structure ``struct``."""
    o, olv = _codes(outer)
    i, ilv = _codes(inner)
    return Component(f"{inner_name} | {outer_name}", struct, o, i, olv, ilv)
