"""``metaacu pool``: what the command fits and prints once its columns are known: the :class:`Plan`
(which columns, which model), the studies whose effect cannot be computed, the zero-cell adjustments,
the fit itself (:func:`fit_model`: ``effect_sizes`` with ``meta_analysis``/``subgroup_analysis``,
``mantel_haenszel`` or ``peto``), the forest plot's order and the printed report."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

import metaacu
from metaacu import MetaacuInputError
from metaacu.profiles import PROFILES

from .userdata import BINARY, CsvTable, zero_cells

if TYPE_CHECKING:
    from metaacu.binary import BinaryPooled
    from metaacu.results import MetaAnalysis
    from metaacu.subgroups import SubgroupAnalysis

    #: The fits of ``metaacu pool``: the (overall) model, the subgroup analysis or None, the adjusted rows.
    Fit = tuple[MetaAnalysis | BinaryPooled, SubgroupAnalysis | None, dict[int, str]]

__all__ = ["Plan", "binary_adjustments", "fit_model", "report_text", "row_failures", "sort_key", "study_columns"]


@dataclass
class Plan:
    mode: str  # "summary" (effect sizes from arm data), "effects" (yi/vi), "mh", "peto"
    measure: str  # GEN for plain yi/vi
    columns: dict[str, str]  # role -> column
    label: str | None = None
    year: str | None = None
    subgroup: str | None = None
    notes: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- fitting
def study_columns(v: dict[str, np.ndarray]) -> dict[str, Any]:
    """The role columns ``v`` as they go to ``effect_sizes(**columns)``, typed as its ``**columns: Any``
    (mypy would also match them against its other keywords; the role names never are one of those)."""
    return v


def row_failures(measure: str, v: dict[str, np.ndarray], vtype: str) -> dict[int, str]:
    """Rows that ``effect_sizes`` refuses, with its reason (a safety net behind ``screen_rows``)."""
    try:
        metaacu.effect_sizes(measure, vtype=vtype, **study_columns(v))
        return {}
    except MetaacuInputError:
        pass
    bad = {}
    for i in range(len(next(iter(v.values())))):
        try:
            metaacu.effect_sizes(measure, vtype=vtype, **study_columns({r: a[i : i + 1] for r, a in v.items()}))
        except MetaacuInputError as exc:
            bad[i] = re.sub(r"[;,]? *(check |at )?study ind(ex|ices) [\d, ]+", "", str(exc))
    return bad


def binary_adjustments(plan: Plan, v: dict[str, np.ndarray], correction: str) -> dict[int, str]:
    """What happens to the zero-cell tables under --mh / --peto (rows of ``v`` are the studies used)."""
    one, both = zero_cells(v)
    inside = plan.mode == "mh" and correction == "revman5" and plan.measure != "RD"
    what = (
        "zero cell: 1/2 added to every cell, also inside the Mantel-Haenszel estimate (RevMan 5)"
        if inside
        else "zero cell: 1/2 added to every cell for its own estimate and Q only; the Mantel-Haenszel estimate "
        "uses the raw counts"
        if plan.mode == "mh"
        else "zero cell: 1/2 added to every cell for its own estimate only; the Peto estimate and Q use the raw counts"
    )
    out = {int(i): what for i in np.flatnonzero(one)}
    kept = (
        "its raw counts stay in the Mantel-Haenszel estimate"
        if plan.mode == "mh"
        else "zero weight in the Peto estimate"
    )
    out.update(
        {
            int(i): f"no events in both groups (or events in everyone): no study estimate and not in Q; {kept}"
            for i in np.flatnonzero(both)
        }
    )
    return out


def fit_model(
    plan: Plan, args: argparse.Namespace, v: dict[str, np.ndarray], labels: list[str], groups: list[str] | None
) -> Fit:
    """Fit the studies ``v`` (those used, in order): ``(model, subgroup analysis or None, adjusted rows)``."""
    prof = PROFILES[args.profile]
    res: MetaAnalysis | BinaryPooled
    if plan.mode in ("mh", "peto"):
        correction = "metafor" if args.profile == "metafor" else "revman5"
        cells = [v[r] for r in BINARY]
        if plan.mode == "mh":
            res = metaacu.mantel_haenszel(
                *cells, measure=plan.measure, level=args.level, correction=correction, labels=labels
            )
        else:
            res = metaacu.peto(*cells, level=args.level, labels=labels)
        return res, None, binary_adjustments(plan, v, correction)
    adjusted: dict[int, str] = {}
    measure = None if plan.measure == "GEN" else plan.measure
    if plan.mode == "effects":
        yi: Any = v["yi"]
        vi = v["vi"] if "vi" in v else v["sei"] ** 2
        kw: dict[str, Any] = {"labels": labels, "measure": measure}
    else:
        yi = metaacu.effect_sizes(plan.measure, labels=labels, vtype=prof.smd_vtype, **study_columns(v))
        vi, kw = None, {}
        for i in np.flatnonzero(yi.adjusted):
            adjusted[int(i)] = (
                f"zero cell: {yi.options['add']:g} added to every cell (metafor's escalc "
                f"default, to={yi.options['to']!r})"
            )
    if groups is None:
        res = metaacu.meta_analysis(
            yi, vi, method=args.method, test=args.test, level=args.level, profile=args.profile, **kw
        )
        return res, None, adjusted
    sub = metaacu.subgroup_analysis(
        yi, vi, groups, method=args.method, test=args.test, level=args.level, profile=args.profile, **kw
    )
    return sub.overall, sub, adjusted


def sort_key(
    how: str, res: MetaAnalysis | BinaryPooled, labels: list[str], year: NDArray[np.float64] | None
) -> NDArray[np.float64]:
    if how == "label":
        rank = np.empty(len(labels))
        rank[sorted(range(len(labels)), key=lambda j: labels[j].casefold())] = np.arange(len(labels))
        return rank
    if how == "effect":
        return np.nan_to_num(np.asarray(res.yi, np.float64), nan=np.inf)
    if how == "weight":
        return np.nan_to_num(-np.asarray(res.weights, np.float64), nan=np.inf)
    if year is None:  # a four-digit year in the label, as forest_plot(sort_by="year")
        found = [re.search(r"\b(1[89]\d\d|20\d\d)\b", s) for s in labels]
        year = np.array([float(m.group(1)) if m else np.nan for m in found], np.float64)
    return np.nan_to_num(year, nan=np.inf)


def report_text(
    table: CsvTable,
    plan: Plan,
    reasons: list[list[str]],
    used: list[int],
    labels: list[str],
    adjusted: dict[int, str],
    res: MetaAnalysis | BinaryPooled,
    sub: SubgroupAnalysis | None,
) -> str:
    """The printed text: what was read, what was left out or adjusted and why, then the summary."""
    cols = ", ".join(f"{r} = {c!r}" for r, c in plan.columns.items())
    cols += f"; labels from {plan.label!r}" if plan.label else "; no label column: studies are named by line"
    cols += f"; subgroups from {plan.subgroup!r}" if plan.subgroup else ""
    out = [f"metaacu pool {table.path}", f"Columns: {cols}"]
    if table.delimiter != ",":
        out.append(f"Read as {'semicolon' if table.delimiter == ';' else 'tab'}-separated (no comma in the header)")
    out += [f"Note: {n}" for n in plan.notes]
    n = table.n_rows
    excluded = [i for i in range(n) if reasons[i]]
    w = len(str(table.lines[-1]))
    if excluded:
        out.append(f"Studies: {len(used)} of {n} used; {len(excluded)} excluded (in no result below):")
        out += [f"  line {table.lines[i]:>{w}}  {labels[i]}: {'; '.join(reasons[i])}" for i in excluded]
    else:
        out.append(f"Studies: all {n} used (lines {table.lines[0]}-{table.lines[-1]}); none excluded")
    if adjusted:
        out.append(f"Adjusted studies ({len(adjusted)}):")
        out += [f"  line {table.lines[used[j]]:>{w}}  {labels[used[j]]}: {why}" for j, why in sorted(adjusted.items())]
    out += ["", res.summary()] + (["", sub.summary()] if sub is not None else [])
    cited = sorted(
        {
            int(x)
            for m in re.finditer(r"study ind(?:ex|ices) ([\d, ]+)", "\n".join(out))
            for x in re.findall(r"\d+", m.group(1))
            if int(x) < len(used)
        }
    )
    if cited:
        out.append(
            "Study index in the notes = CSV line: "
            + ", ".join(f"{j} = line {table.lines[used[j]]} ({labels[used[j]]})" for j in cited)
        )
    if excluded:
        out += ["", f"{len(excluded)} of {n} studies were excluded (listed above with their lines)."]
    return "\n".join(out)
