"""Permutation tests of a fitted model (metafor's ``permutest``; Follmann & Proschan 1999, Higgins &
Thompson 2004).

* Intercept-only model: the signs of the effects are flipped (under H₀: μ = 0 each yᵢ is symmetric
  about 0), and the model is refitted with the same τ² estimator and test; the p-value is the share of
  refits whose ``|z|`` (or ``|t|``) is at least the observed one.
* Meta-regression: the rows of the model matrix are permuted against the effects; p-values for every
  coefficient's ``|z|`` and for the omnibus QM.

Exact when feasible: all ``2^k`` sign flips or all distinct arrangements of the rows of ``X``
(``k!/Πnᵢ!`` for ``nᵢ`` identical rows) when ``exact=True`` or when there are no more of them than
``iterations``; otherwise ``iterations`` random ones from ``numpy.random.default_rng(seed)`` with the
observed data as the first (so p ≥ 1/iterations), as metafor.  Comparisons allow metafor's tolerance
``√ε`` (``control$comptol``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ._validation import MetaacuInputError, check_digits, check_int, readonly
from .fitting import fit_arrays
from .regression import fit_design
from .regression_result import MetaRegression
from .report import Printable, format_p
from .results import MetaAnalysis

__all__ = ["MAX_EXACT", "PermutationTest", "permutation_test"]

F64 = NDArray[np.float64]

#: Most refits an exact test may take (beyond it, ask for a random test).
MAX_EXACT: Final = 1 << 22
#: metafor's comparison tolerance ``.Machine$double.eps^0.5``.
COMPTOL: Final = float(np.finfo(float).eps ** 0.5)
_BLOCK = 1 << 15


@dataclass(frozen=True, repr=False)
class PermutationTest(Printable):
    """Result of :func:`permutation_test`.

    Attributes
    ----------
    coef_names : tuple of str
    estimate, statistic : ndarray
        The model's coefficients and their observed z (or t) statistics.
    pvalue : ndarray
        Permutation p-value of each coefficient (two-sided, ``|stat| ≥ |observed|``).
    pvalue_model : ndarray
        The model's own (asymptotic) p-values.
    qm, qm_pvalue : float
        The observed omnibus statistic and its permutation p-value.
    iterations : int
        Refits in the permutation distribution (the observed arrangement included).
    exact : bool
        All sign flips / distinct permutations were used.
    seed : int or None
        Seed of the random draws (``None`` for an exact test).
    statistic_permuted : ndarray
        ``iterations × p`` statistics of the refits; ``qm_permuted`` their omnibus statistics.
    kind : str
        ``"sign flips"`` or ``"row permutations"``.
    model : str
    """

    coef_names: tuple[str, ...]
    estimate: F64
    statistic: F64
    pvalue: F64
    pvalue_model: F64
    qm: float
    qm_pvalue: float
    iterations: int
    exact: bool
    seed: int | None
    statistic_permuted: F64
    qm_permuted: F64
    kind: str
    model: str

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: ``term, estimate, statistic, pvalue_model, pvalue`` (permutation)."""
        out = pd.DataFrame(
            {
                "term": list(self.coef_names),
                "estimate": self.estimate,
                "statistic": self.statistic,
                "pvalue_model": self.pvalue_model,
                "pvalue": self.pvalue,
            }
        )
        out.attrs.update({"iterations": self.iterations, "exact": self.exact, "seed": self.seed})
        return out

    def summary(self, digits: int = 4) -> str:
        d = check_digits(digits)
        how = "exact" if self.exact else f"random, seed {self.seed}"
        lines = [
            f"Permutation test ({self.kind}; {self.iterations} refits, {how}) of {self.model}",
            f"Omnibus test: QM = {self.qm:.{d}f}, permutation {format_p(self.qm_pvalue)}",
            "",
            f"{'term':>20} {'estimate':>10} {'stat':>8} {'p (model)':>10} {'p (perm)':>10}",
        ]
        for j, name in enumerate(self.coef_names):
            lines.append(
                f"{name:>20} {self.estimate[j]:>10.{d}f} {self.statistic[j]:>8.{min(d, 3)}f} "
                f"{format_p(float(self.pvalue_model[j]), prefix=False):>10} "
                f"{format_p(float(self.pvalue[j]), prefix=False):>10}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<PermutationTest {self.kind} iterations={self.iterations} exact={self.exact} QM p={self.qm_pvalue:.4g}>"
        )


def _multiset_permutations(codes: NDArray[np.intp]) -> Iterator[NDArray[np.intp]]:
    """Every distinct arrangement of ``codes`` (row classes), as indices into the sorted rows, in
    lexicographic order (Knuth's algorithm L)."""
    a = np.sort(codes).copy()
    n = a.size
    while True:
        yield a.copy()
        j = n - 2
        while j >= 0 and a[j] >= a[j + 1]:
            j -= 1
        if j < 0:
            return
        m = n - 1
        while a[m] <= a[j]:
            m -= 1
        a[j], a[m] = a[m], a[j]
        a[j + 1 :] = a[j + 1 :][::-1].copy()


def _pvalues(obs: F64, perm: F64) -> F64:
    return np.asarray(np.mean(np.abs(perm) >= np.abs(obs)[None, :] - COMPTOL, axis=0), dtype=float)


def permutation_test(
    model: MetaAnalysis | MetaRegression, *, iterations: int = 1000, exact: bool = False, seed: int = 0
) -> PermutationTest:
    """Permutation test of a meta-analysis (sign flips) or a meta-regression (permuted moderators).

    Parameters
    ----------
    model : MetaAnalysis or MetaRegression
        The fitted model; every refit uses its τ² estimator (``method``) and ``test``.
    iterations : int
        Refits of a random test (the observed data count as the first); an exact test is run instead
        when there are no more distinct permutations than this.
    exact : bool
        Run the exact test (all ``2^k`` sign flips, or all distinct arrangements of the rows of the
        model matrix) whatever ``iterations`` says; refused beyond :data:`MAX_EXACT` refits.
    seed : int
        Seed of ``numpy.random.default_rng`` for a random test (the same seed gives the same result).

    Returns
    -------
    PermutationTest

    Notes
    -----
    metafor ``permutest(x, exact, iter)`` (3.8-1): p-value ``mean(|z*| ≥ |z| − √ε)`` over the refits and
    ``mean(QM* ≥ QM − √ε)`` for the omnibus test.  Exact p-values equal metafor's; random ones agree
    within Monte-Carlo error (R's and NumPy's random streams differ).

    Examples
    --------
    >>> import metaacu
    >>> fit = metaacu.meta_analysis([0.3, 0.5, 0.2, 0.4, 0.6], [0.02, 0.03, 0.01, 0.05, 0.02], method="DL")
    >>> permutation_test(fit).pvalue[0]  # exact: 2 of the 32 sign flips are as extreme
    np.float64(0.0625)
    """
    iters = check_int(iterations, "iterations", low=2)
    if getattr(model, "user_weights", None) is not None or getattr(model, "tau2_fixed", False):
        raise MetaacuInputError(
            "permutation_test refits the model and cannot honour user weights (weights=) or a fixed tau2 (tau2=); "
            "use a model fitted without them"
        )
    if isinstance(model, MetaAnalysis):
        k = model.k
        count = 2**k
        use_exact = bool(exact) or count <= iters
        if use_exact and count > MAX_EXACT:
            raise MetaacuInputError(f"an exact test needs 2^{k} refits (more than {MAX_EXACT}); use exact=False")
        if use_exact:
            signs = 1.0 - 2.0 * ((np.arange(count)[:, None] >> np.arange(k)[None, :]) & 1)
        else:
            rng = np.random.default_rng(seed)
            signs = np.vstack([np.ones((1, k)), rng.choice(np.array([-1.0, 1.0]), size=(iters - 1, k))])
        y, v = np.asarray(model.yi, dtype=float), np.asarray(model.vi, dtype=float)
        stats = []
        for start in range(0, signs.shape[0], _BLOCK):
            s = signs[start : start + _BLOCK]
            fit = fit_arrays(s * y[None, :], np.tile(v, (s.shape[0], 1)), np.full(s.shape[0], float(k)), model.method,
                             model.test, model.level)  # fmt: skip
            stats.append(np.asarray(fit["statistic"], dtype=float))
        perm = np.concatenate(stats)[:, None]
        obs = np.array([model.statistic])
        qperm = perm[:, 0] ** 2
        qobs = float(obs[0] ** 2)
        names: tuple[str, ...] = ("intercept",)
        est, pmod, kind = np.array([model.estimate]), np.array([model.pvalue]), "sign flips"
    elif isinstance(model, MetaRegression):
        x = np.asarray(model.design, dtype=float)
        k, p = x.shape
        order = np.lexsort(x.T[::-1])
        xs = x[order]
        _, codes = np.unique(xs, axis=0, return_inverse=True)
        codes = codes.reshape(-1)
        _, counts = np.unique(codes, return_counts=True)
        count_f = math.factorial(k) // math.prod(math.factorial(int(c)) for c in counts)
        use_exact = bool(exact) or count_f <= iters
        if use_exact and count_f > MAX_EXACT:
            raise MetaacuInputError(f"an exact test needs {count_f} refits (more than {MAX_EXACT}); use exact=False")
        if use_exact:
            first = {int(c): int(np.flatnonzero(codes == c)[0]) for c in np.unique(codes)}
            perms: Any = (np.array([first[int(c)] for c in arr]) for arr in _multiset_permutations(codes))
            n_perm = count_f
        else:
            rng = np.random.default_rng(seed)
            draws = rng.permuted(np.tile(np.arange(k), (iters - 1, 1)), axis=1)
            perms = iter([np.argsort(order), *draws])  # the observed arrangement first
            n_perm = iters
        btt = list(range(1, p) if model.intercept else range(p))
        y, v = np.asarray(model.yi, dtype=float), np.asarray(model.vi, dtype=float)
        perm = np.empty((n_perm, p))
        qperm = np.empty(n_perm)
        for i, idx in enumerate(perms):
            f = fit_design(y, v, xs[idx], model.coef_names, method=model.method, test=model.test, level=model.level,
                           intercept=model.intercept, btt=btt)  # fmt: skip
            perm[i], qperm[i] = f["statistic"], f["qm"]
        obs = np.asarray(model.statistic, dtype=float)
        qobs = float(model.qm)
        names, est, pmod, kind = (
            model.coef_names,
            np.asarray(model.estimate),
            np.asarray(model.pvalue),
            "row permutations",
        )
        count = count_f
    else:
        raise MetaacuInputError(
            f"argument 'model' must be a MetaAnalysis or MetaRegression, got {type(model).__name__}"
        )
    pv = _pvalues(obs, perm)
    qp = float(np.mean(qperm >= qobs - COMPTOL))
    return PermutationTest(
        coef_names=names,
        estimate=readonly(np.array(est, dtype=float)),
        statistic=readonly(np.array(obs, dtype=float)),
        pvalue=readonly(pv),
        pvalue_model=readonly(np.array(pmod, dtype=float)),
        qm=qobs,
        qm_pvalue=qp,
        iterations=int(perm.shape[0]) if use_exact else iters,
        exact=use_exact,
        seed=None if use_exact else int(seed),
        statistic_permuted=readonly(perm),
        qm_permuted=readonly(qperm),
        kind=kind,
        model=f"{type(model).__name__} ({model.method}, test {model.test})",
    )
