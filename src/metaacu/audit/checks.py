"""Rules that decide without an effect estimate: reported directions, facts, schedules, arithmetic,
and the harm rate of a zero-event trial (an exact interval, not a model).

Each function returns ``(Verdict, evidence frame)``; the verdict tables are in :mod:`.rules`.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from . import rules
from .data import Dataset

__all__ = ["arithmetic", "direction", "fact", "harm", "schedule"]


def _p_below(text: Any, alpha: float = 0.05) -> bool:
    s = str(text).strip()
    if s.startswith("<"):
        return float(s[1:]) <= alpha
    if s.startswith(">"):
        return False
    return float(s) < alpha


def direction(claim: dict[str, Any], ds: Dataset) -> tuple[rules.Verdict, pd.DataFrame]:
    """Rule ``direction_only``: p-values, mechanism directions or narrative harm statements."""
    bits, reported = [], []
    con = ds.contrasts.set_index("row_id")
    for x in claim.get("pvalues", []):
        r = con.loc[x]
        bits.append(f"{r['study_id']} {r['outcome']} ({r['instrument']}): p {r['pvalue']}")
        reported.append(_p_below(r["pvalue"]))
    mech = ds.mechanism.set_index("row_id")
    for x in claim.get("mechanism", []):
        r = mech.loc[x]
        bits.append(f"{r['study_id']}: {r['analyte']} {r['direction']} ({r['condition']}, {r['timepoint']})")
        reported.append(r["direction"] == "increase")
    harms = ds.adverse_events.set_index("row_id")
    for x in claim.get("harms", []):
        r = harms.loc[x]
        bits.append(
            f"{r['study_id']}: {r['event']} (no counts)"
            if pd.isna(r["events"])
            else f"{r['study_id']}: {r['event']} {r['events']}"
        )
        reported.append(True)
    found = bool(reported) and all(reported)
    reason = "direction reported without an effect size that can be recomputed: " + "; ".join(bits)
    rows = [
        dict(label=b, source_id=x)
        for b, x in zip(
            bits, [*claim.get("pvalues", []), *claim.get("mechanism", []), *claim.get("harms", [])], strict=True
        )
    ]
    return rules.direction_verdict(claim["claim_kind"], found, reason), pd.DataFrame(rows)


def harm(claim: dict[str, Any], ds: Dataset, reg: dict[str, Any], threshold: str) -> tuple[rules.Verdict, pd.DataFrame]:
    """Rule ``no_serious_harm``: the exact CI of the serious-event rate against the acceptable rate."""
    rows = ds.adverse_events.set_index("row_id").loc[claim["harms"]]
    r = rows.iloc[0]
    v = rules.harm_verdict(int(r["events"]), int(r["total"]), float(reg["thresholds"][threshold]["value"]))
    frame = rows.reset_index()[["row_id", "study_id", "event", "events", "total", "source", "locator", "status"]]
    return v, frame


def fact(claim: dict[str, Any], ds: Dataset) -> tuple[rules.Verdict, pd.DataFrame]:
    """Rule ``fact``: each fact row, compared exactly (numbers) or as judged with a reason."""
    rows = ds.facts[ds.facts["claim_id"] == claim["id"]].reset_index(drop=True)
    out = []
    for _, r in rows.iterrows():
        if r["comparison"] == "equal":
            a, b = str(r["article_value"]), str(r["source_value"])
            try:
                same = math.isclose(float(a), float(b))
            except ValueError:
                same = a == b
            verdict = "consistent" if same else "inconsistent"
            out.append((verdict, f"{r['quantity']}: the article says {a}, the source {b} ({r['reason']})"))
        else:
            out.append((str(r["verdict"]), f"{r['quantity']}: {r['reason']}"))
    frame = rows.assign(verdict=[v for v, _ in out])
    return rules.fact_verdict(out), frame


def schedule(claim: dict[str, Any], ds: Dataset) -> tuple[rules.Verdict, pd.DataFrame]:
    """Rule ``schedule``: the stated range of sessions per week against the sources' range."""
    rows = ds.schedules.set_index("row_id").loc[claim["schedules"]].reset_index()
    freq = rows.dropna(subset=["sessions_per_week_low", "sessions_per_week_high"])
    lo, hi = claim["stated_range"]
    v = rules.schedule_verdict(
        float(lo),
        float(hi),
        float(freq["sessions_per_week_low"].min()),
        float(freq["sessions_per_week_high"].max()),
        float(claim["tolerance"]),
    )
    single = rows.loc[rows["sessions_per_week_low"].isna(), "study_id"].tolist()
    reason = v.reason + (f"; single-session trials ({', '.join(single)}) have no weekly frequency" if single else "")
    return rules.Verdict(v.category, v.verdict, reason), rows


def arithmetic(claim: dict[str, Any]) -> tuple[rules.Verdict, pd.DataFrame]:
    """Rule ``arithmetic``: price x sessions per week x weeks (4 per month, and 52/12 as a check).
    Lines without a stated total (the other end of a quoted price range) are shown, not checked."""
    rows, bad, unstated = [], [], []
    for c in claim["costs"]:
        weeks = 4.0 if c["period"] == "month" else 1.0
        ours = c["price"] * c["per_week"] * weeks
        exact = c["price"] * c["per_week"] * (52 / 12 if c["period"] == "month" else 1.0)
        stated = float(c.get("stated", math.nan))
        rows.append(
            {"label": f"{c['label']} per {c['period']}", "stated": stated, "four_weeks": ours, "calendar": exact}
        )
        if math.isnan(stated):
            unstated.append(f"{c['label']} per {c['period']}: {ours:g}")
        elif abs(ours - stated) > 0.5:
            bad.append(c["label"])
    reason = (
        (
            "every stated total equals price x sessions with 4 weeks per month; with 52/12 weeks per month "
            f"monthly totals are {100 * (52 / 48 - 1):.1f}% higher"
        )
        if not bad
        else f"totals that do not add up: {', '.join(bad)}"
    )
    if unstated:
        reason += "; the totals quote the upper end of the price range (" + "; ".join(unstated) + ")"
    return rules.arithmetic_verdict(bad, reason), pd.DataFrame(rows)
