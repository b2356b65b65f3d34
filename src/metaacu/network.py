"""The contrast-based layout of a network meta-analysis: :func:`network_contrasts` (arm-level data →
contrasts against each study's reference arm with their covariance and the treatment design matrix)
and :func:`treatment_design` (metafor's ``contrmat`` for data already given as contrasts).

The consistency model is then :func:`metaacu.multilevel_meta_analysis` with the treatment columns as
moderators without an intercept and a random effect per comparison within each study whose
correlation is held at 1/2 (so that τ² is the heterogeneity of every comparison; Salanti et al. 2008,
Stat Methods Med Res 17:279; Law et al. 2016, BMC Med Res Methodol 16:87)::

    net = network_contrasts(study, treatment, yi, vi, reference="placebo")
    fit = multilevel_meta_analysis(**net.fit_arguments())
    fit.predict(net.comparison_matrix().to_numpy())  # every relative effect

(:meth:`NetworkContrasts.fit_arguments` spells the arguments out).  This is metafor's ``to.wide`` +
``contrmat`` + ``rma.mv(yi, V, mods = ~ <treatments> - 1, random = ~ comp | study, rho = 1/2)`` of
the ``dat.senn2013`` and ``dat.hasselblad1998`` examples.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ._validation import MetaacuInputError, as_float_array, readonly
from .escalc import data_column
from .report import Printable
from .vcov import vcalc
from .vcov_result import SamplingCovariance

__all__ = ["NetworkContrasts", "network_contrasts", "treatment_design"]

F64 = NDArray[np.float64]


def _labels(values: Any, name: str, k: int | None = None) -> list[str]:
    arr = np.asarray(values, dtype=object).reshape(-1)
    if k is not None and arr.size != k:
        raise MetaacuInputError(f"argument {name!r} has {arr.size} values for {k} rows")
    if (miss := pd.isna(pd.Series(arr)).to_numpy()).any():
        raise MetaacuInputError(f"argument {name!r}: missing value at row {int(np.flatnonzero(miss)[0])}")
    return [str(v) for v in arr]


def _check_connected(edges: Sequence[tuple[str, str]], treatments: Sequence[str], reference: str) -> None:
    """Refuse a network in which some treatment is not linked to ``reference`` by comparisons."""
    parent = {t: t for t in treatments}

    def root(t: str) -> str:
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    for a, b in edges:
        parent[root(a)] = root(b)
    apart = sorted(t for t in treatments if root(t) != root(reference))
    if apart:
        raise MetaacuInputError(
            f"the network is not connected: treatment(s) {', '.join(map(repr, apart))} are not linked to the "
            f"reference {reference!r} by any chain of comparisons (fit the parts as separate networks)"
        )


def treatment_design(
    treatment1: ArrayLike, treatment2: ArrayLike, *, reference: str | None = None
) -> tuple[F64, tuple[str, ...]]:
    """The treatment design matrix of contrasts ``treatment1 − treatment2`` (metafor's ``contrmat``).

    Parameters
    ----------
    treatment1, treatment2 : array-like
        The two treatments each contrast compares (its effect is ``treatment1`` minus ``treatment2``).
    reference : str, optional
        The network's reference treatment, whose column is left out (its effect is 0); default the
        treatment occurring most often (ties: the first in sorted order), as metafor's ``to.wide``.

    Returns
    -------
    (ndarray, tuple of str)
        The ``k × (T − 1)`` matrix (+1 in the column of ``treatment1``, −1 in that of ``treatment2``)
        and the column names: the non-reference treatments, sorted.

    Examples
    --------
    >>> x, names = treatment_design(["b", "c", "c"], ["a", "a", "b"], reference="a")
    >>> names, x.tolist()
    (('b', 'c'), [[1.0, 0.0], [0.0, 1.0], [-1.0, 1.0]])
    """
    t1 = _labels(treatment1, "treatment1")
    t2 = _labels(treatment2, "treatment2", len(t1))
    same = [i for i, (a, b) in enumerate(zip(t1, t2, strict=True)) if a == b]
    if same:
        raise MetaacuInputError(
            f"arguments 'treatment1'/'treatment2': row {same[0]} compares {t1[same[0]]!r} with itself"
        )
    counts = Counter(t1 + t2)
    ref = _reference(counts, reference)
    everything = sorted(counts)
    _check_connected(list(zip(t1, t2, strict=True)), everything, ref)
    names = tuple(t for t in everything if t != ref)
    col = {t: j for j, t in enumerate(names)}
    x = np.zeros((len(t1), len(names)))
    for i, (a, b) in enumerate(zip(t1, t2, strict=True)):
        if a in col:
            x[i, col[a]] += 1.0
        if b in col:
            x[i, col[b]] -= 1.0
    return readonly(x), names


def _reference(counts: Counter[str], reference: str | None) -> str:
    if reference is None:
        best = max(counts.values())
        return min(t for t, c in counts.items() if c == best)
    if str(reference) not in counts:
        raise MetaacuInputError(
            f"argument 'reference': no treatment {reference!r} (treatments: {', '.join(sorted(counts))})"
        )
    return str(reference)


@dataclass(frozen=True, repr=False)
class NetworkContrasts(Printable):
    """Contrasts of a network of studies against each study's reference arm (one row per contrast).

    Attributes
    ----------
    study, treatment1, treatment2 : tuple of str
        Per contrast: its study and the two treatments (effect = ``treatment1`` − ``treatment2``;
        ``treatment2`` is the study's reference arm).
    comparison : tuple of str
        ``"treatment1-treatment2"``: the inner level of the random effect (metafor's ``comp``).
    design_label : tuple of str
        The study's set of treatments joined by ``"-"`` (metafor's ``design``, for inconsistency models).
    yi, vi : ndarray
        The contrasts and their sampling variances.
    covariance : SamplingCovariance
        ``V``: contrasts of one study share its reference arm, ``Cov = Var(reference arm)``.
    design : ndarray
        The treatment design matrix (metafor's ``contrmat`` without the reference column).
    treatments : tuple of str
        The design's columns: the non-reference treatments, sorted.
    reference : str
        The network's reference treatment.
    """

    study: tuple[str, ...]
    treatment1: tuple[str, ...]
    treatment2: tuple[str, ...]
    comparison: tuple[str, ...]
    design_label: tuple[str, ...]
    yi: F64
    vi: F64
    covariance: SamplingCovariance
    design: F64
    treatments: tuple[str, ...]
    reference: str

    @property
    def k(self) -> int:
        """The number of contrasts."""
        return int(self.yi.size)

    def moderators(self) -> pd.DataFrame:
        """The design matrix as a moderator table (one column per non-reference treatment)."""
        return pd.DataFrame(np.asarray(self.design), columns=list(self.treatments))

    def fit_arguments(self) -> dict[str, Any]:
        """Keyword arguments of :func:`metaacu.multilevel_meta_analysis` for the consistency model:
        ``multilevel_meta_analysis(**net.fit_arguments())`` is metafor's ``rma.mv(yi, V, mods = ~
        <treatments> - 1, random = ~ comp | study, rho = 1/2)`` (add ``method=`` etc. as usual)."""
        return {
            "yi": self.yi,
            "V": self.covariance.to_sparse(),
            "moderators": self.moderators(),
            "intercept": False,
            "outcome": {"comparison": np.asarray(self.comparison, dtype=object)},
            "cluster": {"study": np.asarray(self.study, dtype=object)},
            "struct": "CS",
            "fixed": {"rho": 0.5},
        }

    def comparison_matrix(self, pairs: Sequence[tuple[str, str]] | None = None) -> pd.DataFrame:
        """Rows ``L`` with ``L β`` the relative effect of treatment ``a`` versus ``b`` (θ_a − θ_b).

        For :meth:`MultilevelMetaAnalysis.predict` (``fit.predict(L.to_numpy())``) or
        :func:`metaacu.wald_test` (``contrasts=L.to_numpy()``).  Default pairs: every treatment
        against the reference, then every two non-reference treatments ``(b, a)``, ``a`` before ``b``
        in sorted order (metafor's ``combn``).  The index says ``"a vs b"``.
        """
        if pairs is None:
            t = self.treatments
            pairs = [(a, self.reference) for a in t] + [
                (t[j], t[i]) for i in range(len(t)) for j in range(i + 1, len(t))
            ]
        known = (*self.treatments, self.reference)
        col = {t: j for j, t in enumerate(self.treatments)}
        rows = np.zeros((len(pairs), len(self.treatments)))
        for i, pair in enumerate(pairs):
            if len(pair) != 2 or pair[0] == pair[1]:
                raise MetaacuInputError(f"argument 'pairs': entry {i} must be two different treatments, got {pair!r}")
            for sign, name in zip((1.0, -1.0), pair, strict=True):
                if name not in known:
                    raise MetaacuInputError(
                        f"argument 'pairs': unknown treatment {name!r} (treatments: {', '.join(known)})"
                    )
                if name in col:
                    rows[i, col[name]] += sign
        return pd.DataFrame(rows, columns=list(self.treatments), index=[f"{a} vs {b}" for a, b in pairs])

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: ``study, treatment1, treatment2, comparison, design, yi, vi`` and the design columns."""
        cols = ("study", "treatment1", "treatment2", "comparison", "design_label", "yi", "vi")
        out = pd.DataFrame({c: getattr(self, c) for c in cols}).rename(columns={"design_label": "design"})
        return pd.concat([out, self.moderators()], axis=1)

    def summary(self) -> str:
        n_studies = len(set(self.study))
        multi = sum(1 for c in Counter(self.study).values() if c > 1)
        return "\n".join(
            [
                f"Network of {len(self.treatments) + 1} treatments: {self.k} contrasts in {n_studies} studies "
                f"({multi} with more than two arms)",
                f"Reference treatment: {self.reference}; contrasts against each study's reference arm",
                f"Treatments: {', '.join(self.treatments)}",
                f"Covariance: {self.covariance.assumption}",
            ]
        )

    def __repr__(self) -> str:
        return f"<NetworkContrasts k={self.k} treatments={len(self.treatments) + 1} reference={self.reference!r}>"


def network_contrasts(
    study: ArrayLike | str,
    treatment: ArrayLike | str,
    yi: ArrayLike | str,
    vi: ArrayLike | str,
    *,
    reference: str | None = None,
    data: pd.DataFrame | None = None,
) -> NetworkContrasts:
    """Arm-level data → contrasts against each study's reference arm (metafor's ``to.wide``), their
    covariance (the shared reference arm) and the treatment design matrix (``contrmat``).

    Parameters
    ----------
    study, treatment : array-like or str
        The study and treatment of each arm (or columns of ``data``).  A study needs at least two
        arms, each treatment once.
    yi, vi : array-like or str
        Each arm's estimate on a scale where a contrast is a difference (a mean: metafor's ``"MN"``;
        a log odds: ``"PLO"``, with any zero-cell correction already applied) and its sampling
        variance (> 0); arms are independent.
    reference : str, optional
        The network's reference treatment (its effect is 0); default the most frequent treatment
        (ties: first in sorted order), as ``to.wide``.
    data : DataFrame, optional
        If given, the arguments may name its columns.

    Returns
    -------
    NetworkContrasts

    Notes
    -----
    Treatments are ordered sorted with ``reference`` last; a study's reference arm is its arm last
    in that order (``reference`` where the study has it), and each other arm gives the contrast
    ``y_arm − y_ref`` with variance ``v_arm + v_ref``.  Two contrasts of one study share the
    reference arm: ``Cov = v_ref`` (Gleser & Olkin 2009, eq. 19.11 for log odds ratios; ``sd²/n`` of
    the reference arm for mean differences), built by :func:`metaacu.vcalc` with ``grp1`` the arm,
    ``grp2`` the reference arm and ``w = 1/v``.  Rows: studies in order of first appearance, arms
    in treatment order.

    Examples
    --------
    >>> net = network_contrasts([1, 1, 1, 2, 2], ["a", "b", "c", "a", "c"], [0.0, 0.5, 0.2, 0.1, 0.4],
    ...                         [0.1, 0.2, 0.1, 0.1, 0.1], reference="a")
    >>> net.comparison, net.yi.tolist()
    (('b-a', 'c-a', 'c-a'), [0.5, 0.2, 0.30000000000000004])
    >>> round(float(net.covariance.to_dense()[0, 1]), 6)
    0.1
    """
    s = _labels(data_column(data, "study", study), "study")
    t = _labels(data_column(data, "treatment", treatment), "treatment", len(s))
    y = as_float_array(data_column(data, "yi", yi), "yi")
    v = as_float_array(data_column(data, "vi", vi), "vi", positive=True)
    if y.size != len(s) or v.size != len(s):
        raise MetaacuInputError(f"arguments 'yi' and 'vi' need one value per arm ({len(s)}), got {y.size} and {v.size}")
    ref = _reference(Counter(t), reference)
    order = {name: i for i, name in enumerate([*sorted(set(t) - {ref}), ref])}
    arms: dict[str, list[int]] = {}
    for i, st in enumerate(s):
        arms.setdefault(st, []).append(i)
    rows: list[tuple[str, int, int, str]] = []
    for st, idx in arms.items():
        if len(idx) < 2:
            raise MetaacuInputError(f"argument 'study': study {st!r} has a single arm (a contrast needs two)")
        names = [t[i] for i in idx]
        if len(set(names)) < len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise MetaacuInputError(f"argument 'treatment': study {st!r} has treatment {dup!r} in more than one arm")
        idx = sorted(idx, key=lambda i: order[t[i]])
        label = "-".join(t[i] for i in idx)
        rows += [(st, i, idx[-1], label) for i in idx[:-1]]
    _check_connected([(t[a], t[b]) for _, a, b, _ in rows], sorted(order), ref)
    a = np.array([r[1] for r in rows])
    b = np.array([r[2] for r in rows])
    t1 = tuple(t[i] for i in a)
    t2 = tuple(t[i] for i in b)
    studies = tuple(r[0] for r in rows)
    cov = replace(
        vcalc(v[a] + v[b], list(studies), grp1=list(t1), grp2=list(t2), w1=1.0 / v[a], w2=1.0 / v[b]),
        formula="Cov(y_a - y_ref, y_b - y_ref) = v_ref (vcalc with grp1 = arm, grp2 = reference arm, w = 1/v)",
        assumption="arms are independent; the contrasts of a study share its reference arm (Gleser & Olkin 2009)",
    )
    x, cols = treatment_design(t1, t2, reference=ref)
    return NetworkContrasts(
        study=studies,
        treatment1=t1,
        treatment2=t2,
        comparison=tuple(f"{p}-{q}" for p, q in zip(t1, t2, strict=True)),
        design_label=tuple(r[3] for r in rows),
        yi=readonly(y[a] - y[b]),
        vi=readonly(v[a] + v[b]),
        covariance=cov,
        design=x,
        treatments=cols,
        reference=ref,
    )
