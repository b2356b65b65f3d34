"""The working model of a fitted meta-analytic model, as robust variance and permutation tests read it:
effects ``y``, model matrix ``X``, coefficients ``β̂`` and the model-implied marginal covariance
``Φ`` (``W = Φ⁻¹`` the weights of the generalised least-squares fit).

Any result can take part by having a ``working_model()`` method returning a :class:`WorkingModel`
(the protocol :class:`SupportsWorkingModel`); :class:`~metaacu.MetaAnalysis` and
:class:`~metaacu.MetaRegression` are read by their fields (``Φ = diag(vᵢ + τ̂²)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from ._validation import MetaacuInputError

__all__ = ["SupportsWorkingModel", "WorkingModel", "working_model"]

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class WorkingModel:
    """What a sandwich estimator needs of a fitted model.

    Attributes
    ----------
    yi : ndarray
        The ``k`` effects.
    design : ndarray
        ``k × p`` model matrix.
    estimate : ndarray
        The ``p`` fitted coefficients.
    coef_names : tuple of str
    covariance : ndarray
        The working (model-implied marginal) covariance ``Φ``: a ``k`` vector for a diagonal one, or a
        ``k × k`` matrix; the fit's weights are ``Φ⁻¹``.  With ``blocks``, ``Φ``'s diagonal.
    btt : tuple of int
        The coefficients of the model's omnibus test (all but an intercept).
    blocks : tuple of (ndarray, ndarray)
        Optional block-diagonal form of ``Φ`` (never ``k × k``): per group of equal-size independent
        blocks, the effects' rows (``nb × n``) and the blocks of ``Φ`` (``nb × n × n``); ``Φ`` is zero
        between blocks.
    """

    yi: F64
    design: F64
    estimate: F64
    coef_names: tuple[str, ...]
    covariance: F64
    btt: tuple[int, ...]
    blocks: tuple[tuple[NDArray[np.int64], F64], ...] = ()

    @property
    def k(self) -> int:
        return int(self.yi.shape[0])

    @property
    def p(self) -> int:
        return int(self.design.shape[1])

    def block(self, rows: NDArray[np.intp]) -> F64:
        """The working covariance of the effects ``rows``."""
        if self.blocks:
            out = self.cluster_blocks((rows,))
            if out is None:
                raise ValueError("the rows split a block of the working covariance")
            return out[0]
        if self.covariance.ndim == 1:
            return np.diag(self.covariance[rows])
        return self.covariance[np.ix_(rows, rows)]

    def cluster_blocks(self, rows: tuple[NDArray[np.intp], ...]) -> tuple[F64, ...] | None:
        """The working covariance ``Φⱼ`` of each set of effects ``rows[j]`` (disjoint), or ``None`` when
        ``Φ`` links effects of two sets (or of a set and the rest)."""
        if not self.blocks:
            if self.covariance.ndim == 2:
                inside = sum(float(np.abs(self.covariance[np.ix_(r, r)]).sum()) for r in rows)
                if float(np.abs(self.covariance).sum()) - inside > 1e-12 * inside:
                    return None
            return tuple(self.block(r) for r in rows)
        which = np.full(self.k, -1, dtype=np.int64)  # the set of each effect and its place in it
        place = np.zeros(self.k, dtype=np.int64)
        for j, r in enumerate(rows):
            which[r] = j
            place[r] = np.arange(r.size)
        out = [np.zeros((r.size, r.size)) for r in rows]
        for index, cov in self.blocks:
            owner = which[index]  # nb × n
            if np.any(owner != owner[:, :1]):
                return None
            for b in np.flatnonzero(owner[:, 0] >= 0):
                pos = place[index[b]]
                out[int(owner[b, 0])][np.ix_(pos, pos)] = cov[b]
        return tuple(out)


@runtime_checkable
class SupportsWorkingModel(Protocol):
    """A fitted model that states its working model (e.g. a multilevel model)."""

    def working_model(self) -> WorkingModel: ...


def working_model(model: Any) -> WorkingModel:
    """The :class:`WorkingModel` of ``model``: its own ``working_model()`` when it has one, else read
    from a :class:`~metaacu.MetaAnalysis` or :class:`~metaacu.MetaRegression`."""
    from .regression_result import MetaRegression
    from .results import MetaAnalysis

    if isinstance(model, SupportsWorkingModel):
        return model.working_model()
    if isinstance(model, (MetaAnalysis, MetaRegression)) and getattr(model, "user_weights", None) is not None:
        raise MetaacuInputError(
            "argument 'model' was fitted with user weights (weights=); its working model is not 1/(vi + tau2)"
        )
    if isinstance(model, MetaAnalysis):
        k = model.k
        return WorkingModel(
            yi=np.asarray(model.yi, dtype=float),
            design=np.ones((k, 1)),
            estimate=np.array([model.estimate]),
            coef_names=("intercept",),
            covariance=np.asarray(model.vi, dtype=float) + model.tau2,
            btt=(0,),
        )
    if isinstance(model, MetaRegression):
        btt = tuple(range(1, model.p)) if model.intercept else tuple(range(model.p))
        return WorkingModel(
            yi=np.asarray(model.yi, dtype=float),
            design=np.asarray(model.design, dtype=float),
            estimate=np.asarray(model.estimate, dtype=float),
            coef_names=model.coef_names,
            covariance=np.asarray(model.vi, dtype=float) + model.tau2,
            btt=btt or (0,),
        )
    raise MetaacuInputError(
        f"argument 'model' must be a fitted MetaAnalysis, MetaRegression or a model with working_model(); "
        f"got {type(model).__name__}"
    )
