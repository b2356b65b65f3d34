"""Helpers for the claim notebooks: show, step by step, how each claim's evidence and verdict are built.

The claims audit (:mod:`metaacu.audit.claims`) does the work in one call; these functions open it up for a
reader: the registry entry, the extracted rows with their provenance, the effect sizes derived from
published confidence intervals, the checks behind the verdict and the scenarios that could change it.
They print or display (they are meant for notebooks) and use only public functions of the package.
"""

from __future__ import annotations

import io
import math
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from .claims import ClaimResult, load_registry
from ..conversions import combine_many_groups
from .data import Dataset, load_dataset
from ..escalc import effect_sizes
from ..pooling import meta_analysis
from .rules import DEFINITIONS, effect_verdict, few_effect_verdict

__all__ = [
    "PROVENANCE", "apply_rule", "arm_effect_sizes", "arm_rows", "compare_with_audit", "context", "describe", "explain_verdict",
    "from_published_ci", "knha_check", "pooled_rows", "row_specs", "setup", "show_figure", "threshold_of",
    "what_would_change",
]

PROVENANCE = ["source", "locator", "status"]
_RATIO = frozenset({"RR", "OR"})
_Z975 = float(special.ndtri(0.975))


@lru_cache(maxsize=1)
def context() -> tuple[Dataset, dict[str, Any]]:
    """The bundled dataset (validated) and the claims registry, loaded once."""
    data = load_dataset()
    return data, load_registry(dataset=data)


def setup() -> tuple[Dataset, dict[str, Any], dict[str, dict[str, Any]]]:
    """For a notebook: readable pandas display options, and ``(dataset, registry, claims by id)``."""
    pd.set_option("display.max_colwidth", 60)
    pd.set_option("display.width", 200)
    pd.set_option("display.precision", 3)
    data, registry = context()
    return data, registry, {c["id"]: c for c in registry["claim"]}


def _claim(claim_id: str) -> dict[str, Any]:
    return {c["id"]: c for c in context()[1]["claim"]}[claim_id]


def describe(claim_id: str) -> None:
    """Print a claim and the analysis the registry fixes for it before any number is computed."""
    c = _claim(claim_id)
    print(f"{claim_id}: {c['statement']}")
    for key in ("section", "references", "population", "comparison", "outcome", "timepoint", "measure",
                "model", "threshold", "rule"):
        if key in c:
            print(f"  {key:<11} {c[key]}")


def row_specs(claim_id: str) -> pd.DataFrame:
    """How the registry uses each evidence row (sign, pooled or only shown, primary, imputations)."""
    frame = pd.DataFrame(_claim(claim_id)["rows"])
    cols = ["id", "source", "sign", "pool", "primary", "label", "impute_exp_events"]
    return frame[[c for c in cols if c in frame]].fillna("")


def pooled_rows(claim_id: str) -> pd.DataFrame:
    """The review-level rows (pooled_results.csv) a claim uses, as extracted, with provenance."""
    ids = [r["id"] for r in _claim(claim_id)["rows"] if r["source"] == "pooled"]
    cols = ["review_id", "comparison", "measure", "estimate", "ci_low", "ci_high", "k_trials", "n_participants",
            *PROVENANCE]
    return context()[0].pooled_results.set_index("analysis_id").loc[ids, cols]


def arm_rows(claim_id: str) -> pd.DataFrame:
    """The arm-level rows (outcomes.csv) a claim uses, as extracted (empty columns dropped)."""
    ids: list[str] = []
    for r in _claim(claim_id)["rows"]:
        if r["source"] in ("binary_arms", "continuous_arms"):
            exp = r["exp"] if isinstance(r["exp"], list) else [r["exp"]]
            ids += [x for x in (*exp, r["ctl"]) if x not in ids]
    cols = ["arm_id", "instrument", "timepoint_weeks", "value_type", "n", "mean", "sd", "events", "total",
            "percent", *PROVENANCE]
    return context()[0].outcomes.set_index("row_id").loc[ids, cols].dropna(axis=1, how="all")


def arm_effect_sizes(claim_id: str) -> pd.DataFrame:
    """Effect sizes of a claim's continuous arm-level rows, recomputed with the public functions.

    Several experimental arms of one trial are first merged into one group
    (:func:`metaacu.conversions.combine_many_groups`, Cochrane Handbook Table 6.5.a); a missing analysed
    n is replaced by the randomised n of ``arms.csv``; then :func:`metaacu.effect_sizes` with the claim's
    measure.  Columns: the merged summary data, the effect on the raw scale, ``sign``, and the
    benefit-scale ``estimate`` and ``se`` (comparable with the audit's evidence rows by label).
    """
    data = context()[0]
    claim = _claim(claim_id)
    out = data.outcomes.set_index("row_id")
    n_rand = data.arms.set_index("arm_id")["n_randomised"]

    def arm(row_id: str) -> tuple[float, float, float]:
        r = out.loc[row_id]
        n = r["n"] if pd.notna(r["n"]) else n_rand[r["arm_id"]]
        return float(n), float(r["mean"]), float(r["sd"])

    rows = []
    for spec in claim["rows"]:
        if spec["source"] != "continuous_arms":
            continue
        exp = spec["exp"] if isinstance(spec["exp"], list) else [spec["exp"]]
        arms = [arm(x) for x in exp]
        n1, m1, s1 = (float(v) for v in combine_many_groups(*zip(*arms, strict=True)))
        n2, m2, s2 = arm(spec["ctl"])
        es = effect_sizes(claim["measure"], n1=[n1], mean1=[m1], sd1=[s1], n2=[n2], mean2=[m2], sd2=[s2])
        yi, se = float(es.yi[0]), float(np.sqrt(es.vi[0]))
        rows.append({"label": spec.get("label", spec["id"]), "n1": n1, "mean1": m1, "sd1": s1, "n2": n2,
                     "mean2": m2, "sd2": s2, f"{claim['measure']} (raw scale)": yi, "sign": spec.get("sign", 1),
                     "estimate": spec.get("sign", 1) * yi, "se": se})
    return pd.DataFrame(rows).set_index("label")


def from_published_ci(claim_id: str) -> pd.DataFrame:
    """Benefit-scale estimate and SE of each published row, derived step by step: log scale for ratios,
    sign flipped where a negative value favours acupuncture, ``SE = (upper − lower) / (2 z₀.₉₇₅)``."""
    table = context()[0].pooled_results.set_index("analysis_id")
    out = []
    for spec in _claim(claim_id)["rows"]:
        if spec["source"] != "pooled":
            continue
        r = table.loc[spec["id"]]
        to_scale = math.log if r["measure"] in _RATIO else float
        est, lo, hi = (to_scale(float(r[k])) if pd.notna(r[k]) else math.nan for k in ("estimate", "ci_low", "ci_high"))
        if spec.get("sign", 1) < 0:
            est, lo, hi = -est, -hi, -lo
        out.append({"id": spec["id"], "measure": r["measure"], "sign": spec.get("sign", 1), "estimate": est,
                    "ci_low": lo, "ci_high": hi, "se": (hi - lo) / (2 * _Z975)})
    return pd.DataFrame(out).set_index("id")


def compare_with_audit(res: ClaimResult, mine: pd.DataFrame, by: str = "source_id") -> float:
    """Print and return the largest absolute difference between estimates/SEs computed in a notebook
    and the audit's evidence rows (matched on ``by``)."""
    ev = res.evidence.set_index(by).loc[mine.index]
    diff = float(np.nanmax(np.abs(np.r_[ev["estimate"] - mine["estimate"], ev["se"] - mine["se"]])))
    print(f"largest difference from the audit's evidence table: {diff:.2e}")
    return diff


def show_figure(res: ClaimResult) -> None:
    """Draw the claim's figure and display it inline as a PNG (the Agg backend shows no window)."""
    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    from .reproduce import claim_figure

    fp = claim_figure(res)
    if fp is None:
        print("no numeric evidence on the claim's measure: nothing to draw")
        return
    buf = io.BytesIO()
    fp.figure.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    plt.close(fp.figure)
    display(Image(data=buf.getvalue()))


def threshold_of(res: ClaimResult) -> tuple[dict[str, Any] | None, float | None]:
    """The registry's threshold entry and its value on the benefit scale (log for ratios)."""
    name = res.claim.get("threshold")
    if not name:
        return None, None
    t = context()[1]["thresholds"][name]
    return t, (math.log(t["value"]) if res.is_ratio else float(t["value"]))


def apply_rule(rule: str, est: float, lo: float, hi: float, thr: float | None) -> str:
    """The verdict category the registry's ``effect``/``few_effect`` rule gives these numbers."""
    fn = few_effect_verdict if rule == "few_effect" else effect_verdict
    return fn(est, lo, hi, thr, str).category


def explain_verdict(res: ClaimResult) -> None:
    """Print the rule, the threshold (value, scale, source) and each check that led to the verdict."""
    c = res.claim
    t, thr = threshold_of(res)
    print(f"rule: {c['rule']}")
    if t is not None:
        print(f"threshold '{c['threshold']}': {t['value']} ({t['scale']})\n  source: {t['source']}")
    if c["rule"] in ("effect", "few_effect"):
        print(f"estimate on the display scale: {res.show(res.estimate)} "
              f"(95% CI {res.show(res.ci_low)} to {res.show(res.ci_high)}), measure {res.measure}")
        print(f"  lower CI bound beyond no effect (favours acupuncture): {res.ci_low > 0}")
        print(f"  upper CI bound below no effect (favours control):      {res.ci_high < 0}")
        if thr is not None:
            print(f"  point estimate at or above the threshold:              {res.estimate >= thr}")
            print(f"  threshold inside the CI (size not pinned down):        {res.ci_low <= thr <= res.ci_high}")
        mine = apply_rule(c["rule"], res.estimate, res.ci_low, res.ci_high, thr)
        print(f"verdict from these checks: {mine}   verdict of the audit: {res.verdict}")
        assert mine == res.verdict
    print(f"\n{res.verdict}: {DEFINITIONS[res.verdict]}")
    print(f"reason recorded by the audit: {res.reason}")


def what_would_change(res: ClaimResult) -> None:
    """Display the prespecified sensitivity scenarios, whether any changes the verdict, and the flags."""
    from IPython.display import display

    print(f"{res.id}: verdict {res.verdict}")
    if len(res.sensitivity):
        s = res.sensitivity.copy()
        if res.is_ratio:
            s[["estimate", "ci_low", "ci_high"]] = np.exp(s[["estimate", "ci_low", "ci_high"]])
            s = s.rename(columns={"estimate": res.measure})
        display(s)
    else:
        print("  no sensitivity scenarios (nothing imputed, fewer than two pooled rows)")
    print(f"  does any scenario change the verdict? {res.verdict_changes}")
    print("  flags (what the result leans on):")
    for f in res.flags or ("none",):
        print(f"   - {f}")


def knha_check(res: ClaimResult) -> str:
    """Refit the claim's model with a Knapp-Hartung (HKSJ) t interval and apply the same rule; print
    and return the verdict.  Shown for comparison; the registry's model decides."""
    m = res.model
    alt = meta_analysis(m.yi, m.vi, method="REML", test="knha", labels=list(m.labels))
    v = apply_rule(res.claim["rule"], alt.estimate, alt.ci_low, alt.ci_high, threshold_of(res)[1])
    pi = alt.prediction_interval()
    print(f"{res.id}, Knapp-Hartung: {res.show(alt.estimate)} (95% CI {res.show(alt.ci_low)} to "
          f"{res.show(alt.ci_high)}; prediction interval {res.show(pi.low)} to {res.show(pi.high)}, {pi.method}) -> {v}")
    return v
