"""Apply a claim's rule to its evidence: the deciding estimate (one row, a pooled model, or a
recombination of one review's subgroups) and the verdict of :mod:`metaacu.audit.rules`.

Pooling refuses rows from the same review or the same trial: subgroup summaries of one review share
trials and each already carries its own heterogeneity, so they are never random-effects pooled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import special

from .._validation import MetaacuInputError
from ..inference import Z975
from ..pooling import meta_analysis
from ..results import MetaAnalysis
from . import rules
from .data import Dataset
from .evidence import Scenario, evidence_frame

__all__ = ["Decision", "decide_effect", "decide_majority", "decide_persistence", "display", "threshold_value"]

RATIO: Final = frozenset({"RR", "OR"})


@dataclass(frozen=True)
class Decision:
    """The deciding numbers of one evaluation (one scenario) and the verdict they give."""

    verdict: rules.Verdict
    evidence: pd.DataFrame
    estimate: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    model: MetaAnalysis | None = None
    deciding: pd.DataFrame = field(default_factory=pd.DataFrame)
    extra: dict[str, Any] = field(default_factory=dict)


def display(measure: str) -> rules.Show:
    """Formatter of benefit-scale values on the display scale (ratios back-transformed, logits as %)."""
    if measure in RATIO:
        return lambda x: f"{math.exp(x):.2f}"
    if measure == "PLO":
        return lambda x: f"{100 * special.expit(x):.0f}%"
    if measure == "proportion":
        return lambda x: f"{100 * x:.1f}%"
    return lambda x: f"{x:.2f}"


def threshold_value(reg: dict[str, Any], name: str, measure: str) -> float:
    """A registry threshold on the benefit scale of ``measure`` (log for ratio measures)."""
    t = reg["thresholds"][name]
    return math.log(t["value"]) if measure in RATIO and t["scale"] in RATIO else float(t["value"])


def _refuse_shared_sources(claim: dict[str, Any], rows: pd.DataFrame) -> None:
    for col, what in (("review_id", "review"), ("study_id", "trial")):
        ids = rows.loc[rows[col] != "", col]
        dup = ids[ids.duplicated()]
        if len(dup):
            raise MetaacuInputError(
                f"claim {claim['id']!r}: rows {', '.join(rows.loc[rows[col] == dup.iloc[0], 'source_id'])} "
                "come from the "
                f"same {what} ({dup.iloc[0]}); summaries that share trials are never pooled"
            )


def _deciding(
    claim: dict[str, Any], ev: pd.DataFrame, ds: Dataset, test: str | None, drop: str | None, measure: str | None = None
) -> Decision:
    """The deciding estimate: the single ``decide`` row, the pooled model, or the reconstruction."""
    from ..measures import MEASURES

    model_spec = claim["model"]
    measure = measure or str(claim["measure"])
    show = display(measure)
    if model_spec == "none":
        d = ev[ev["use"] == "decide"].copy()
        d["weight"] = 100.0
        r = d.iloc[0]
        return Decision(rules.Verdict("", "", ""), ev, r["estimate"], r["ci_low"], r["ci_high"], None, d)
    use = "reconstruct" if "reconstructs" in model_spec else "pool"
    rows = ev[(ev["use"] == use) & (ev["source_id"] != drop)].copy()
    if use == "pool":
        _refuse_shared_sources(claim, rows)
    elif rows["review_id"].nunique() != 1 or (rows["review_id"] == "").any():
        raise MetaacuInputError(f"claim {claim['id']!r}: a reconstruction recombines the subgroups of one review only")
    fit = meta_analysis(
        rows["estimate"].to_numpy(),
        rows["se"].to_numpy() ** 2,
        labels=rows["label"].tolist(),
        method=model_spec["method"],
        test=test or model_spec["test"],
        measure=measure if measure in MEASURES else None,
    )
    rows["weight"] = fit.weights
    extra: dict[str, Any] = {}
    if use == "reconstruct":
        target = ds.pooled_results.set_index("analysis_id").loc[model_spec["reconstructs"]]
        stated = float(target["estimate"])
        if abs(fit.estimate - stated) > float(model_spec["tolerance"]):
            raise MetaacuInputError(
                f"claim {claim['id']!r}: the recombined subgroups give {fit.estimate:.3f}, not the review's stated "
                f"{stated:g} (tolerance {model_spec['tolerance']:g}); the reconstruction is refused"
            )
        extra["reconstruction"] = (
            f"common-effect recombination of {len(rows)} subgroups gives {show(fit.estimate)}, "
            f"reproducing the review's stated {stated:g}"
        )
    return Decision(rules.Verdict("", "", ""), ev, fit.estimate, fit.ci_low, fit.ci_high, fit, rows, extra)


def decide_effect(
    claim: dict[str, Any],
    ds: Dataset,
    reg: dict[str, Any],
    scenario: Scenario,
    threshold: str,
    *,
    test: str | None = None,
    drop: str | None = None,
) -> Decision:
    """Rule ``effect``: the deciding estimate placed against ``threshold`` (a registry name)."""
    ev = evidence_frame(ds, claim, scenario)
    d = _deciding(claim, ev, ds, test, drop)
    measure = str(claim["measure"])
    scale = reg["thresholds"][threshold]["scale"]
    if scale == "RD" and measure in RATIO:
        return _rd_effect(claim, d, reg, threshold)
    t = threshold_value(reg, threshold, measure)
    v = rules.effect_verdict(d.estimate, d.ci_low, d.ci_high, t, claim["claim_kind"], display(measure), measure)
    return Decision(v, d.evidence, d.estimate, d.ci_low, d.ci_high, d.model, d.deciding, d.extra)


def _rd_effect(claim: dict[str, Any], d: Decision, reg: dict[str, Any], threshold: str) -> Decision:
    """The same deciding rows on the risk-difference scale (for a threshold given as a risk difference)."""
    from ..escalc import effect_sizes

    rows = d.deciding
    if rows[["events_exp", "total_exp", "events_ctl", "total_ctl"]].isna().any().any():
        v = rules.Verdict("not_assessable", "inconclusive", "no arm counts: the risk difference cannot be computed")
        return Decision(v, d.evidence)
    es = effect_sizes(
        "RD",
        events1=rows["events_exp"].to_numpy(),
        n1=rows["total_exp"].to_numpy(),
        events2=rows["events_ctl"].to_numpy(),
        n2=rows["total_ctl"].to_numpy(),
    )
    if len(rows) == 1:
        est, se = float(es.yi[0]), float(np.sqrt(es.vi[0]))
        lo, hi = est - Z975 * se, est + Z975 * se
    else:
        spec = claim["model"]
        fit = meta_analysis(es.yi, es.vi, method=spec["method"], test=spec["test"])
        est, lo, hi = fit.estimate, fit.ci_low, fit.ci_high
    t = float(reg["thresholds"][threshold]["value"])
    v = rules.effect_verdict(est, lo, hi, t, claim["claim_kind"], lambda x: f"{100 * x:.0f} points", "RD")
    return Decision(v, d.evidence, est, lo, hi)


def decide_persistence(
    claim: dict[str, Any],
    ds: Dataset,
    reg: dict[str, Any],
    scenario: Scenario,
    threshold: str,
    baseline_factor: float = 1.0,
) -> Decision:
    """Rule ``persistence``: the effect retained after ``horizon_quarters`` of decline,
    ``start - h x decline`` (CI from the decline's CI; the start has no CI and is varied instead).

    The evidence gets one derived row per comparison (``retained ...``, measure SMD) next to the
    published decline rows (which become ``use = "input"``).
    """
    ev = evidence_frame(ds, claim, scenario)
    pr = ds.pooled_results.set_index("analysis_id")
    h = float(claim["horizon_quarters"])
    t = threshold_value(reg, threshold, "SMD")
    parts, retained = [], []
    for role, base_id in claim["baseline"].items():
        start = float(pr.loc[base_id, "estimate"]) * baseline_factor
        r = ev[ev["role"] == role].iloc[0]  # benefit scale: estimate = -(decline per quarter)
        est, lo, hi = start + h * r["estimate"], start + h * r["ci_low"], start + h * r["ci_high"]
        lost = [-100 * h * x / start for x in (r["estimate"], r["ci_high"], r["ci_low"])]
        words = role.replace("vs_noacu", "vs no-acupuncture control").replace("vs_sham", "vs sham")
        parts.append(
            f"{words}: {start:.2f} SD at the end of treatment, {lost[0]:.0f}% lost after {h:g} quarters "
            f"(CI {lost[1]:.0f}% to {lost[2]:.0f}%)"
        )
        retained.append(
            {
                **r.to_dict(),
                "label": f"effect retained after {h:g} quarters, {words}",
                "estimate": est,
                "ci_low": lo,
                "ci_high": hi,
                "se": (hi - lo) / (2 * Z975),
                "measure": "SMD",
                "source_id": f"{r['source_id']} + {base_id}",
                "status": "derived",
                "assumption": f"start {start:.2f} SD ({base_id}, no CI) minus {h:g} x the decline per quarter",
            }
        )
    ev = pd.concat([ev.assign(use="input"), pd.DataFrame(retained)], ignore_index=True)
    deciding = ev[ev["use"] == "decide"].assign(weight=100.0)
    r = deciding.iloc[0]
    v = rules.effect_verdict(
        r["estimate"], r["ci_low"], r["ci_high"], t, claim["claim_kind"], display("SMD"), "retained SMD"
    )
    reason = f"{v.reason}; " + "; ".join(parts)
    return Decision(
        rules.Verdict(v.category, v.verdict, reason), ev, r["estimate"], r["ci_low"], r["ci_high"], None, deciding
    )


def decide_majority(
    claim: dict[str, Any],
    ds: Dataset,
    reg: dict[str, Any],
    scenario: Scenario,
    *,
    test: str | None = None,
    drop: str | None = None,
) -> Decision:
    """Rule ``majority``: responder shares pooled on the logit scale, back-transformed, against one half."""
    ev = evidence_frame(ds, claim, scenario)
    d = _deciding(claim, ev, ds, test, drop, measure="PLO")
    p, lo, hi = (float(special.expit(x)) for x in (d.estimate, d.ci_low, d.ci_high))
    v = rules.majority_verdict(p, lo, hi)
    return Decision(v, d.evidence, d.estimate, d.ci_low, d.ci_high, d.model, d.deciding, d.extra)
