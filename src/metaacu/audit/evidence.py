"""Evidence rows of a claim on the benefit scale, built from the extraction tables.

Each registry row becomes one evidence row: a published review estimate (``pooled``), a reported
between-arm contrast (``contrast``), a contrast recomputed from arm summaries (``continuous_arms``,
``change_arms``, ``binary_arms``) or a single arm's responder share (``proportion_arm``).  On the
benefit scale a positive value favours acupuncture; ratios and proportions are on the log / logit
scale.  Where a number rests on an assumption, :class:`Scenario` says which value is used, so the
claims module can rerun every row under each alternative:

* the correlation between baseline and follow-up scores behind a change-score SD;
* an SD whose public source could not be established (``outcomes.unverified``), scaled up and down;
* the analysed denominator of an arm reported only as percentages: :func:`denominators` lists every
  denominator up to the randomised n for which whole numbers round to *all* of that arm's stated
  percentages, and the base case takes the largest (the least attrition).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from .._validation import MetaacuInputError
from ..conversions import change_score_sd, combine_many_groups
from ..escalc import effect_sizes
from ..inference import Z975
from .data import Dataset

__all__ = [
    "COLUMNS",
    "Scenario",
    "arm_summary",
    "denominators",
    "evidence_frame",
    "responder_counts",
    "uncertain_denominator",
]

RATIO: Final = frozenset({"RR", "OR"})
COLUMNS: Final = (
    "label",
    "estimate",
    "ci_low",
    "ci_high",
    "se",
    "use",
    "role",
    "n",
    "k_trials",
    "i2",
    "events_ctl",
    "total_ctl",
    "events_exp",
    "total_exp",
    "measure",
    "study_id",
    "review_id",
    "rob_comparison",
    "source_id",
    "source",
    "locator",
    "status",
    "assumption",
)


@dataclass(frozen=True)
class Scenario:
    """The values of every assumption used to build a claim's evidence (the base case by default).

    ``correlation``: pre-post correlation for change-score SDs; ``sd_factor``: multiplier of SDs marked
    unverified; ``denominator``: outcome row id -> analysed denominator for percentage-only arms.
    """

    correlation: float | None = None
    sd_factor: float = 1.0
    denominator: dict[str, int] = field(default_factory=dict)


def _num(x: Any) -> float:
    return math.nan if x is None or pd.isna(x) else float(x)


def _percent_rounds_to(k: int, d: int, percent: float) -> bool:
    # printed whole-number percentages: any k/d within half a point rounds to it under either convention
    return abs(100.0 * k / d - percent) <= 0.5 + 1e-12


def denominators(ds: Dataset, row_id: str) -> list[tuple[int, int]]:
    """Every ``(denominator, events)`` for an outcome row given only as a percentage.

    A denominator is kept if, for every percentage stated for the same arm at the same time point,
    some whole number of events over it rounds to that percentage; it runs from 1 to the arm's
    randomised n.  The events are the whole number closest to the stated percentage.  Returned in
    increasing order of the denominator.

    Examples
    --------
    >>> from metaacu.audit.data import load_dataset
    >>> denominators(load_dataset(), "kvorning2004_resp_pain_acupuncture")
    [(30, 18), (35, 21)]
    """
    out = ds.outcomes.set_index("row_id")
    row = out.loc[row_id]
    percent = _num(row["percent"])
    if math.isnan(percent):
        raise MetaacuInputError(f"outcomes.csv row {row_id!r} has no percent to derive events from")
    when: pd.Series[bool] = (
        out["timepoint_weeks"].isna()
        if pd.isna(row["timepoint_weeks"])
        else out["timepoint_weeks"] == row["timepoint_weeks"]
    )
    same_arm = out[(out["arm_id"] == row["arm_id"]) & when.fillna(False) & out["percent"].notna() & out["total"].isna()]
    n_max = _randomised(ds, str(row["arm_id"]))
    options = []
    for d in range(1, n_max + 1):
        if all(any(_percent_rounds_to(k, d, _num(p)) for k in range(d + 1)) for p in same_arm["percent"]):
            k = min(range(d + 1), key=lambda j: (abs(100.0 * j / d - percent), j))
            options.append((d, k))
    if not options:
        raise MetaacuInputError(
            f"outcomes.csv row {row_id!r}: no denominator up to {n_max} fits the stated percentages"
        )
    return options


def _randomised(ds: Dataset, arm_ids: str) -> int:
    arms = ds.arms.set_index("arm_id")["n_randomised"]
    return int(sum(_num(arms[a]) for a in arm_ids.split(";")))


def uncertain_denominator(ds: Dataset, row_id: str) -> list[int]:
    """The denominators to run for a percentage-only responder row: empty when the randomised n fits
    the stated percentages (it is then used, as an assumption), else every consistent denominator."""
    r = ds.outcomes.set_index("row_id").loc[row_id]
    if not (pd.isna(r["events"]) or pd.isna(r["total"])):
        return []
    options = [d for d, _ in denominators(ds, row_id)]
    return [] if _randomised(ds, str(r["arm_id"])) in options else options


def responder_counts(ds: Dataset, row_id: str, scenario: Scenario) -> tuple[int, int, str]:
    """Events and total of a responder row: as stated, or derived from its percentage.

    When the randomised n fits every stated percentage of the arm it is used (noted as an
    assumption); when it does not (some women were not analysed), the denominator is the scenario's
    choice among :func:`denominators`, by default the largest.  Returns ``(events, total, note)``.
    """
    r = ds.outcomes.set_index("row_id").loc[row_id]
    if not pd.isna(r["events"]) and not pd.isna(r["total"]):
        return int(r["events"]), int(r["total"]), ""
    options = dict(denominators(ds, row_id))
    randomised = _randomised(ds, str(r["arm_id"]))
    if randomised in options and row_id not in scenario.denominator:
        return (
            options[randomised],
            randomised,
            (
                f"{options[randomised]}/{randomised} derived from {r['percent']:g}% "
                "(analysed n not reported: randomised n used)"
            ),
        )
    d = scenario.denominator.get(row_id, max(options))
    if d not in options:
        raise MetaacuInputError(
            f"denominator {d} is not consistent with the percentages of {row_id!r}; options {sorted(options)}"
        )
    listed = ", ".join(str(x) for x in sorted(options))
    return (
        options[d],
        d,
        (
            f"{options[d]}/{d} derived from {r['percent']:g}% (the randomised {randomised} does not fit the "
            f"stated percentages; denominators that fit all of them: {listed})"
        ),
    )


def _arm_n(ds: Dataset, row: pd.Series, assumed: list[str]) -> float:
    v = _num(row["n"])
    if math.isnan(v):
        arms = ds.arms.set_index("arm_id")
        assumed.append(str(row["arm_id"]))
        return float(sum(_num(arms.loc[a, "n_randomised"]) for a in str(row["arm_id"]).split(";")))
    return v


def _sd(row: pd.Series, scenario: Scenario, notes: list[str]) -> float:
    sd = _num(row["sd"])
    flags = row.get("unverified")
    if not pd.isna(flags) and "sd" in str(flags).split(";"):
        if scenario.sd_factor != 1.0:
            notes.append(f"unverified SD of {row['row_id']} x {scenario.sd_factor:g}")
        return sd * scenario.sd_factor
    return sd


def _row_base(ds: Dataset, spec: dict[str, Any], row: pd.Series) -> dict[str, Any]:
    return {
        "label": spec.get("label", spec["id"]),
        "use": spec["use"],
        "role": spec.get("role", ""),
        "source_id": spec["id"],
        "source": row["source"],
        "locator": row["locator"],
        "status": row["status"],
        "rob_comparison": spec.get("rob_comparison", "all"),
        "review_id": "",
        "study_id": "",
        "events_ctl": math.nan,
        "total_ctl": math.nan,
        "events_exp": math.nan,
        "total_exp": math.nan,
        "i2": math.nan,
    }


def _pooled(ds: Dataset, spec: dict[str, Any]) -> dict[str, Any]:
    row = ds.pooled_results.set_index("analysis_id").loc[spec["id"]]
    tf = math.log if str(row["measure"]) in RATIO else float
    est, lo, hi = (
        tf(_num(row[c])) if not math.isnan(_num(row[c])) else math.nan for c in ("estimate", "ci_low", "ci_high")
    )
    if spec["sign"] < 0:
        est, lo, hi = -est, -hi, -lo
    short = ds.studies.set_index("study_id")["short_label"]
    out = _row_base(ds, spec, row)
    out.update(
        label=spec.get("label", f"{short.get(row['review_id'], row['review_id'])}: {row['comparison']}"),
        estimate=est,
        ci_low=lo,
        ci_high=hi,
        se=(hi - lo) / (2 * Z975),
        n=_num(row["n_participants"]),
        k_trials=_num(row["k_trials"]),
        i2=_num(row["i2"]),
        measure=str(row["measure"]),
        review_id=str(row["review_id"]),
        assumption="SE from the published 95% CI",
    )
    return out


def _contrast(ds: Dataset, spec: dict[str, Any]) -> dict[str, Any]:
    row = ds.contrasts.set_index("row_id").loc[spec["contrast"]]
    est, lo, hi = _num(row["estimate"]), _num(row["ci_low"]), _num(row["ci_high"])
    if spec["sign"] < 0:
        est, lo, hi = -est, -hi, -lo
    se = _num(row["se"]) if not pd.isna(row["se"]) else (hi - lo) / (2 * Z975)
    out = _row_base(ds, spec, row)
    out.update(
        estimate=est,
        ci_low=lo,
        ci_high=hi,
        se=se,
        n=_num(row["n_exp"]) + _num(row["n_ctl"]),
        k_trials=1.0,
        measure=str(row["measure"]),
        study_id=str(row["study_id"]),
        source_id=spec["contrast"],
        assumption="estimate and 95% CI as reported",
    )
    return out


def arm_summary(
    ds: Dataset,
    spec: dict[str, Any],
    r: pd.Series,
    scenario: Scenario,
    assumed: list[str] | None = None,
    notes: list[str] | None = None,
) -> tuple[float, float, float]:
    """``(n, mean, sd)`` of one arm's outcome row ``r`` as a ``continuous_arms`` / ``change_arms`` row
    ``spec`` uses it: n analysed (else randomised, appended to ``assumed``), the SD (an unverified one
    scaled by the scenario); for ``change_arms`` the change-score SD from the baseline and follow-up SDs
    with the scenario's pre-post correlation (Cochrane Handbook 5.1 section 16.1.3.2)."""
    assumed = [] if assumed is None else assumed
    notes = [] if notes is None else notes
    if spec["source"] == "change_arms":
        base, final = _baseline_and_final(ds, r)
        r_pre_post = scenario.correlation
        if r_pre_post is None:
            raise MetaacuInputError(f"row {spec['id']!r}: a change-score SD needs the pre-post correlation assumption")
        sd = float(change_score_sd(_sd(base, scenario, notes), _sd(final, scenario, notes), r_pre_post))
        return _arm_n(ds, base, assumed), _num(r["mean"]), sd
    return _arm_n(ds, r, assumed), _num(r["mean"]), _sd(r, scenario, notes)


def _continuous(ds: Dataset, spec: dict[str, Any], measure: str, scenario: Scenario) -> dict[str, Any]:
    """Experimental arms (merged with the Cochrane Handbook formula, Table 6.5.a) against the control arm;
    for ``change_arms`` the arm SDs are change-score SDs from baseline and follow-up SDs."""
    out_tab = ds.outcomes.set_index("row_id")
    exps, ctl = [out_tab.loc[x] for x in spec["exp"]], out_tab.loc[spec["ctl"]]
    assumed: list[str] = []
    notes: list[str] = []

    def arm(r: pd.Series) -> tuple[float, float, float]:
        return arm_summary(ds, spec, r, scenario, assumed, notes)

    parts = [arm(e) for e in exps]
    n1, m1, s1 = (float(v) for v in combine_many_groups(*zip(*parts, strict=True)))
    n2, m2, s2 = arm(ctl)
    es = effect_sizes(measure, n1=[n1], mean1=[m1], sd1=[s1], n2=[n2], mean2=[m2], sd2=[s2])
    yi, se = float(es.yi[0]) * spec["sign"], float(np.sqrt(es.vi[0]))
    if len(exps) > 1:
        notes.append(f"arms {', '.join(str(e['arm_id']) for e in exps)} merged (Cochrane Handbook Table 6.5.a)")
    if spec["source"] == "change_arms":
        notes.append(f"change-score SDs with pre-post correlation {scenario.correlation:g} (assumed)")
    if assumed:
        notes.append(f"n analysed not reported for {', '.join(dict.fromkeys(assumed))}: randomised n used")
    first = exps[0]
    out = _row_base(ds, spec, first)
    out.update(
        estimate=yi,
        ci_low=yi - Z975 * se,
        ci_high=yi + Z975 * se,
        se=se,
        n=n1 + n2,
        k_trials=1.0,
        measure=measure,
        study_id=str(first["study_id"]),
        source_id=f"{' + '.join(spec['exp'])} vs {spec['ctl']}",
        status="derived" if notes else str(first["status"]),
        assumption="; ".join(notes),
    )
    return out


def _baseline_and_final(ds: Dataset, change_row: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The baseline row (with n and SD) and the follow-up row (with SD) matching a change row."""
    o = ds.outcomes
    same = (o["arm_id"] == change_row["arm_id"]) & (o["instrument"] == change_row["instrument"])
    base = o[same & (o["value_type"] == "baseline") & o["sd"].notna()]
    final = o[
        same & (o["value_type"] == "final") & (o["timepoint_weeks"] == change_row["timepoint_weeks"]) & o["sd"].notna()
    ]
    if len(base) != 1 or len(final) != 1:
        raise MetaacuInputError(
            f"change row {change_row['row_id']!r}: expected one baseline and one follow-up row with an SD for arm "
            f"{change_row['arm_id']!r} ({change_row['instrument']}), found {len(base)} and {len(final)}"
        )
    return base.iloc[0], final.iloc[0]


def _binary(ds: Dataset, spec: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    a, n1, how_e = responder_counts(ds, spec["exp"][0], scenario)
    c, n2, how_c = responder_counts(ds, spec["ctl"], scenario)
    es = effect_sizes("RR", events1=[a], n1=[n1], events2=[c], n2=[n2])
    yi, se = float(es.yi[0]) * spec["sign"], float(np.sqrt(es.vi[0]))
    row = ds.outcomes.set_index("row_id").loc[spec["exp"][0]]
    notes = [h for h in (how_e, how_c) if h]
    out = _row_base(ds, spec, row)
    out.update(
        estimate=yi,
        ci_low=yi - Z975 * se,
        ci_high=yi + Z975 * se,
        se=se,
        n=float(n1 + n2),
        k_trials=1.0,
        measure="RR",
        study_id=str(row["study_id"]),
        events_exp=float(a),
        total_exp=float(n1),
        events_ctl=float(c),
        total_ctl=float(n2),
        source_id=f"{spec['exp'][0]} vs {spec['ctl']}",
        status="derived" if notes else str(row["status"]),
        assumption="; ".join(notes),
    )
    return out


def _proportion(ds: Dataset, spec: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    k, n, how = responder_counts(ds, spec["arm"], scenario)
    es = effect_sizes("PLO", events=[k], n=[n])
    yi, se = float(es.yi[0]), float(np.sqrt(es.vi[0]))
    row = ds.outcomes.set_index("row_id").loc[spec["arm"]]
    out = _row_base(ds, spec, row)
    out.update(
        estimate=yi,
        ci_low=yi - Z975 * se,
        ci_high=yi + Z975 * se,
        se=se,
        n=float(n),
        k_trials=1.0,
        measure="PLO",
        study_id=str(row["study_id"]),
        events_exp=float(k),
        total_exp=float(n),
        source_id=spec["arm"],
        status="derived" if how else str(row["status"]),
        assumption=how,
    )
    return out


def evidence_frame(ds: Dataset, claim: dict[str, Any], scenario: Scenario) -> pd.DataFrame:
    """One evidence row per registry row of ``claim`` under ``scenario`` (columns :data:`COLUMNS`)."""
    rows = []
    measure = str(claim.get("measure", "MD"))
    for spec in claim["rows"]:
        src = spec["source"]
        if src == "pooled":
            r = _pooled(ds, spec)
        elif src == "contrast":
            r = _contrast(ds, spec)
        elif src in ("continuous_arms", "change_arms"):
            r = _continuous(ds, spec, measure if measure in ("MD", "SMD") else "MD", scenario)
        elif src == "binary_arms":
            r = _binary(ds, spec, scenario)
        else:
            r = _proportion(ds, spec, scenario)
        rows.append(r)
    return pd.DataFrame(rows, columns=list(COLUMNS))
