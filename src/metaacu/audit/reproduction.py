"""Reproduction table: our recomputed numbers next to the published values they should match."""

from __future__ import annotations

import math
from typing import Any, TypedDict

import pandas as pd
from scipy import stats

from ..inference import Z975
from .claims import ClaimResult
from .data import Dataset, table_row

__all__ = ["reproduction_table"]


class _Target(TypedDict):
    """One row of the reproduction table (before the difference is added)."""

    target: str
    published: float
    recomputed: float
    source: str
    locator: str
    explanation: str


def _pvalue_number(text: str) -> float:
    return float(str(text).lstrip("<>"))


def _arm_contrasts(ds: Dataset) -> list[_Target]:
    """Between-arm MD and Student t p-value recomputed from arm means/SDs where a contrast reports them."""
    rows: list[_Target] = []
    out = ds.outcomes.set_index("row_id")
    for _, c in ds.contrasts.iterrows():
        if c["measure"] != "MD" or pd.isna(c["estimate"]):
            continue
        exp = out[
            (out["arm_id"] == c["arm_id_exp"])
            & (out["timepoint_weeks"] == c["timepoint_weeks"])
            & (out["outcome"] == c["outcome"])
            & out["sd"].notna()
            & out["n"].notna()
        ]
        ctl = out[
            (out["arm_id"] == c["arm_id_ctl"])
            & (out["timepoint_weeks"] == c["timepoint_weeks"])
            & (out["outcome"] == c["outcome"])
            & out["sd"].notna()
            & out["n"].notna()
        ]
        if len(exp) != 1 or len(ctl) != 1:
            continue
        e, k = exp.iloc[0], ctl.iloc[0]
        md = float(e["mean"] - k["mean"])
        n1, n2, s1, s2 = float(e["n"]), float(k["n"]), float(e["sd"]), float(k["sd"])
        sp2 = ((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2)
        t = md / math.sqrt(sp2 * (1 / n1 + 1 / n2))
        p = float(2 * stats.t.sf(abs(t), n1 + n2 - 2))
        rows.append(
            {
                "target": f"{c['row_id']} (mean difference)",
                "published": float(c["estimate"]),
                "recomputed": md,
                "source": c["source"],
                "locator": c["locator"],
                "explanation": "difference of the arm means in outcomes.csv",
            }
        )
        if not pd.isna(c["pvalue"]):
            rows.append(
                {
                    "target": f"{c['row_id']} (p-value, Student t)",
                    "published": _pvalue_number(c["pvalue"]),
                    "recomputed": p,
                    "source": c["source"],
                    "locator": c["locator"],
                    "explanation": "two-sample t test from arm means, SDs and n; SDs and n partly from a review table "
                    "(see outcomes.csv), so small differences are expected",
                }
            )
    return rows


def _percentages(ds: Dataset) -> list[_Target]:
    rows: list[_Target] = []
    o = ds.outcomes
    sel = o[o["percent"].notna() & o["events"].notna() & o["total"].notna()]
    for _, r in sel.iterrows():
        rows.append(
            {
                "target": f"{r['row_id']} (percent)",
                "published": float(r["percent"]),
                "recomputed": 100 * float(r["events"]) / float(r["total"]),
                "source": r["source"],
                "locator": r["locator"],
                "explanation": "events / total; published percentages are rounded to whole numbers",
            }
        )
    return rows


def _reconstructions(results: list[ClaimResult], ds: Dataset, registry: dict[str, Any]) -> list[_Target]:
    """Common-effect recombinations of one review's subgroups next to the overall estimate the review
    states (as a claim's deciding estimate, or listed under ``[[reproduction]]`` in the registry)."""
    from ..pooling import meta_analysis

    rows: list[_Target] = []
    pr = ds.pooled_results.set_index("analysis_id")
    z = Z975
    for res in results:
        spec = res.claim.get("model")
        if isinstance(spec, dict) and "reconstructs" in spec:
            target = table_row(pr, spec["reconstructs"])
            rows.append(
                {
                    "target": f"{spec['reconstructs']} (claim {res.id})",
                    "published": float(target["estimate"]),
                    "recomputed": res.estimate,
                    "source": target["source"],
                    "locator": target["locator"],
                    "explanation": f"common-effect recombination of the review's subgroups ({res.k_pooled} rows); "
                    "the review states its overall estimate without a CI",
                }
            )
    for item in registry.get("reproduction", []):
        sub = pr.loc[item["rows"]]
        se = (sub["ci_high"].astype(float) - sub["ci_low"].astype(float)) / (2 * z)
        fit = meta_analysis(sub["estimate"].astype(float).to_numpy(), se.to_numpy() ** 2, method="EE")
        target = table_row(pr, item["reconstructs"])
        rows.append(
            {
                "target": f"{item['reconstructs']} ({item['id']})",
                "published": float(target["estimate"]),
                "recomputed": fit.estimate,
                "source": target["source"],
                "locator": target["locator"],
                "explanation": f"common-effect recombination of {len(sub)} subgroups: {fit.estimate:.3f} "
                f"(95% CI {fit.ci_low:.3f} to {fit.ci_high:.3f}); {item['note']}",
            }
        )
    return rows


def reproduction_table(results: list[ClaimResult], ds: Dataset, registry: dict[str, Any] | None = None) -> pd.DataFrame:
    """Every reproduction target with published value, recomputed value and their difference."""
    rows = _reconstructions(results, ds, registry or {}) + _arm_contrasts(ds) + _percentages(ds)
    frame = pd.DataFrame(rows, columns=["target", "published", "recomputed", "source", "locator", "explanation"])
    diff = frame["recomputed"] - frame["published"]
    # differences at rounding level (e.g. 6.3 - 5.4 against a printed 0.9) are exactly zero here
    noise = diff.abs() <= 1e-9 * frame["published"].abs().clip(lower=1.0)
    frame.insert(3, "difference", diff.where(~noise, 0.0))
    return frame.sort_values("target", kind="stable").reset_index(drop=True)
