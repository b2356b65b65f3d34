"""Helpers for the claim notebooks: open up, step by step, how each claim's verdict is reached.

The audit (:func:`metaacu.audit.evaluate_claim`) does the work in one call; these functions show a
reader the registry entry, the evidence rows with their provenance, the rule-table check behind the
verdict, the certainty of the evidence, the fidelity of the article to its source and the scenarios
that could change the verdict.  A few redo one step by hand with the library's public functions
(effect sizes from arm data, standard errors from published CIs) so that the notebook can compare.
They print or display; they decide nothing.
"""

from __future__ import annotations

import io
import math
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from ..conversions import combine_many_groups
from ..escalc import effect_sizes
from ..inference import Z975
from .claims import ClaimResult
from .data import Dataset, load_dataset, table_row
from .evidence import denominators
from .registry import load_registry
from .rules import CATEGORIES, CLAIM_VERDICTS, DEFINITIONS, categorise

__all__ = [
    "PROVENANCE",
    "arm_effect_sizes",
    "certainty_table",
    "compare_with_audit",
    "context",
    "denominators",
    "describe",
    "evidence",
    "explain_verdict",
    "fidelity",
    "from_published_ci",
    "merged_vs_shared_control",
    "setup",
    "show_figure",
    "verdicts",
    "what_would_change",
    "what_would_change_all",
]

PROVENANCE = ["source", "locator", "status"]
_RATIO = frozenset({"RR", "OR"})


@lru_cache(maxsize=1)
def context() -> tuple[Dataset, dict[str, Any]]:
    """The bundled dataset (validated) and the claims registry, loaded once."""
    data = load_dataset()
    return data, load_registry(dataset=data)


def setup() -> tuple[Dataset, dict[str, Any], dict[str, dict[str, Any]]]:
    """For a notebook: readable pandas display options, and ``(dataset, registry, claims by id)``."""
    pd.set_option("display.max_colwidth", 70)
    pd.set_option("display.width", 200)
    pd.set_option("display.precision", 3)
    data, registry = context()
    return data, registry, {c["id"]: c for c in registry["claim"]}


def _claim(claim_id: str) -> dict[str, Any]:
    by_id: dict[str, dict[str, Any]] = {c["id"]: c for c in context()[1]["claim"]}
    return by_id[claim_id]


def describe(claim_id: str) -> None:
    """Print the claim as the article makes it and the analysis the registry fixes before any number."""
    c = _claim(claim_id)
    reg = context()[1]
    origin = f"derived test of {c['derived_from']}" if c["origin"] == "derived" else "the article's claim"
    print(f"{claim_id} ({origin}; {c['section']}, paragraph {c['paragraph']})")
    print(f"  article words: \u201c{c['article_words']}\u201d")
    print(f"  our paraphrase: {c['statement']}")
    for key in ("claim_kind", "rule", "population", "comparison", "outcome", "timepoint", "measure", "model"):
        if key in c:
            print(f"  {key:<11} {c[key]}")
    for key in ("threshold", "alt_threshold"):
        if key in c:
            t = reg["thresholds"][c[key]]
            print(f"  {key:<11} {c[key]} = {t['value']} ({t['scale']}): {t['source']}")


def evidence(res: ClaimResult, *, display_scale: bool = True) -> pd.DataFrame:
    """The claim's evidence rows with their role, provenance and assumptions; effects on the display
    scale (ratios back-transformed, shares in percent) unless ``display_scale=False``."""
    ev = res.evidence.copy()
    if ev.empty or "estimate" not in ev:
        return ev
    if display_scale:
        for col in ("estimate", "ci_low", "ci_high"):
            ev[col] = [_to_display(m, x) for m, x in zip(ev["measure"], ev[col], strict=True)]
    cols = ["label", "measure", "estimate", "ci_low", "ci_high", "use", "n", *PROVENANCE, "assumption"]
    return ev[[c for c in cols if c in ev]]


def _to_display(measure: str, x: float) -> float:
    if pd.isna(x):
        return math.nan
    if measure in _RATIO:
        return math.exp(x)
    if measure == "PLO":
        return float(special.expit(x))
    return float(x)


def fidelity(res: ClaimResult) -> pd.DataFrame:
    """What the cited source says next to the article's words, with the fidelity verdict."""
    cols = ["article_words", "source_words", "verdict", "reason", "source", "locator"]
    return res.fidelity[cols] if not res.fidelity.empty else pd.DataFrame(columns=cols)


def arm_effect_sizes(claim_id: str) -> pd.DataFrame:
    """Effect sizes of a claim's continuous arm-level rows (final values), recomputed with the public
    functions: several experimental arms merged (:func:`metaacu.conversions.combine_many_groups`,
    Cochrane Handbook Table 6.5.a), a missing analysed n replaced by the randomised n, then
    :func:`metaacu.effect_sizes` with the claim's measure."""
    data = context()[0]
    claim = _claim(claim_id)
    out = data.outcomes.set_index("row_id")
    n_rand = data.arms.set_index("arm_id")["n_randomised"]

    def arm(row_id: str) -> tuple[float, float, float]:
        r = table_row(out, row_id)
        n = r["n"] if pd.notna(r["n"]) else n_rand[r["arm_id"]]
        return float(n), float(r["mean"]), float(r["sd"])

    rows = []
    for spec in claim["rows"]:
        if spec["source"] != "continuous_arms":
            continue
        n1, m1, s1 = (float(v) for v in combine_many_groups(*zip(*[arm(x) for x in spec["exp"]], strict=True)))
        n2, m2, s2 = arm(spec["ctl"])
        es = effect_sizes(claim["measure"], n1=[n1], mean1=[m1], sd1=[s1], n2=[n2], mean2=[m2], sd2=[s2])
        yi, se = float(es.yi[0]), float(np.sqrt(es.vi[0]))
        rows.append(
            {
                "label": spec.get("label", spec["id"]),
                "n1": n1,
                "mean1": m1,
                "sd1": s1,
                "n2": n2,
                "mean2": m2,
                "sd2": s2,
                "sign": spec["sign"],
                "estimate": spec["sign"] * yi,
                "se": se,
            }
        )
    return pd.DataFrame(rows).set_index("label")


def from_published_ci(claim_id: str) -> pd.DataFrame:
    """Benefit-scale estimate and SE of each published row, derived step by step: log scale for ratios,
    sign flipped where a negative value favours acupuncture, ``SE = (upper - lower) / (2 z_0.975)``."""
    table = context()[0].pooled_results.set_index("analysis_id")
    out = []
    for spec in _claim(claim_id)["rows"]:
        if spec["source"] != "pooled":
            continue
        r = table.loc[spec["id"]]
        to_scale = math.log if r["measure"] in _RATIO else float
        est, lo, hi = (to_scale(float(r[k])) if pd.notna(r[k]) else math.nan for k in ("estimate", "ci_low", "ci_high"))
        if spec["sign"] < 0:
            est, lo, hi = -est, -hi, -lo
        out.append(
            {
                "id": spec["id"],
                "measure": r["measure"],
                "sign": spec["sign"],
                "estimate": est,
                "ci_low": lo,
                "ci_high": hi,
                "se": (hi - lo) / (2 * Z975),
            }
        )
    return pd.DataFrame(out).set_index("id")


def compare_with_audit(res: ClaimResult, mine: pd.DataFrame, by: str = "source_id") -> float:
    """Print and return the largest absolute difference between estimates/SEs computed in a notebook
    and the audit's evidence rows (matched on ``by``)."""
    ev = res.evidence.set_index(by).loc[mine.index]
    diff = float(np.nanmax(np.abs(np.r_[ev["estimate"] - mine["estimate"], ev["se"] - mine["se"]])))
    print(f"largest difference from the audit's evidence table: {diff:.2e}")
    return diff


def merged_vs_shared_control(res: ClaimResult) -> pd.DataFrame | None:
    """Print, for each evidence row of ``res`` that merges arms of one multi-arm trial (registered in
    ``[shared_control]``), the merged-arm result next to the shared-control model (each arm vs the
    shared control, Gleser-Olkin covariance, GLS; :mod:`metaacu.audit.shared_control`); return their
    tidy tables, one block per row."""
    if not res.shared_control:
        print(f"{res.id}: no evidence row merges the arms of a multi-arm trial")
        return None
    for a in res.shared_control:
        print(a.summary(), end="\n\n")
    return pd.concat([a.to_frame().assign(row=a.row_id) for a in res.shared_control], ignore_index=True)


def show_figure(res: ClaimResult) -> None:
    """Draw the claim's figure and display it inline as a PNG (works under any matplotlib backend)."""
    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    from .figures import claim_figure

    fp = claim_figure(res)
    if fp is None:
        print("no numeric evidence on the claim's measure: nothing to draw")
        return
    buf = io.BytesIO()
    fp.figure.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    plt.close(fp.figure)
    display(Image(data=buf.getvalue()))  # type: ignore[no-untyped-call]  # IPython leaves both unannotated


def explain_verdict(res: ClaimResult) -> None:
    """Print each check of the rule table that led to the verdict, recomputed here, and the verdict
    under the alternative threshold."""
    c = res.claim
    print(f"rule: {c['rule']}; claim kind: {c['claim_kind']}")
    if c["rule"] in ("effect", "persistence"):
        for name, t, v in (
            ("threshold", res.threshold, None),
            ("alternative threshold", res.alt_threshold, res.alternative),
        ):
            info = res.threshold_info if v is None else res.alt_threshold_info
            if info.get("scale") == "RD" and res.is_ratio:
                category, verdict = (res.category, res.verdict) if v is None else (v.category, v.verdict)
                print(f"  {name} {info['label']}: on the risk-difference scale -> {category} -> {verdict}")
                continue
            cat = categorise(res.ci_low, res.ci_high, t)
            verdict = CLAIM_VERDICTS[(c["claim_kind"], cat)]
            print(f"  CI {res.show(res.ci_low)} to {res.show(res.ci_high)} against the {name} {info['label']}:")
            print(f"    category {cat}: {CATEGORIES[cat][1]}")
            print(f"    a claim of kind {c['claim_kind']} in this category is {verdict}")
            assert cat == (res.category if v is None else v.category)
    print(f"\nverdict: {res.verdict} - {DEFINITIONS[res.verdict]}")
    print(f"reason recorded by the audit: {res.reason}")


def certainty_table(res: ClaimResult) -> pd.DataFrame | None:
    """Print the certainty level and statement; return the five domains (judgement, reason, source)."""
    cert = res.certainty
    if cert is None:
        print("no effect estimate: certainty is not rated")
        return None
    print(f"certainty: {cert.level} {cert.symbol} (rated down for {cert.downgrades})")
    print(f"plain language: {cert.statement}")
    for p in cert.published.itertuples():
        print(f"published rating: {p.certainty} ({p.review_id}, {p.outcome}; {p.locator})")
    return cert.to_frame()[["domain", "judgement", "levels_down", "by_rule", "reason", "source"]]


def what_would_change(res: ClaimResult) -> pd.DataFrame:
    """Print whether a pre-specified scenario or the alternative threshold changes the verdict and the
    flags; return the scenarios on the display scale."""
    print(f"{res.id}: verdict {res.verdict}")
    if res.alternative is not None:
        print(
            f"  under the alternative threshold: {res.alternative.verdict}"
            f"{' (the verdict changes)' if res.alt_changes else ''}"
        )
    s = res.sensitivity.copy()
    for col in ("estimate", "ci_low", "ci_high"):
        s[col] = [_to_display(res.measure, x) for x in s[col]]
    print(f"  does any scenario change the verdict? {res.verdict_changes}" if len(s) else "  no sensitivity scenarios")
    print("  flags (what the result leans on):")
    for f in res.flags or ("none",):
        print(f"   - {f}")
    return s


def what_would_change_all(claim_ids: tuple[str, ...]) -> None:
    """:func:`what_would_change` for several claims, displaying each one's scenarios."""
    from IPython.display import display

    from .claims import evaluate_claim

    data, registry = context()
    for cid in claim_ids:
        scen = what_would_change(evaluate_claim(cid, registry=registry, dataset=data))
        if len(scen):
            display(scen)  # type: ignore[no-untyped-call]  # IPython's display is unannotated
        print()


def verdicts(claim_ids: tuple[str, ...]) -> pd.DataFrame:
    """One row per claim: origin, category, verdict, verdict at the alternative threshold, certainty, fidelity."""
    from .claims import evaluate_claim

    data, registry = context()
    rows = [evaluate_claim(cid, registry=registry, dataset=data).as_row() for cid in claim_ids]
    return pd.DataFrame(rows)[["id", "origin", "category", "verdict", "alt_verdict", "certainty", "fidelity"]]
