"""The claims audit: read the registry (``data/claims.toml``), assemble each claim's evidence from the
extraction dataset, pool what may be pooled, and apply the verdict rule fixed in the registry.

Data flow: registry + :class:`metaacu.audit.data.Dataset` → evidence rows (benefit scale) →
:class:`metaacu.MetaAnalysis` (pooled rows only) → :class:`ClaimResult` (verdict with its numbers).
Plots and reports read :class:`ClaimResult`; nothing here draws.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import stats

from .._validation import MetaacuInputError
from ..conversions import combine_many_groups
from .data import Dataset, default_data_dir, load_dataset
from ..escalc import effect_sizes
from ..pooling import meta_analysis
from ..results import MetaAnalysis
from .rules import VERDICTS, Verdict, clopper_pearson, effect_verdict, few_effect_verdict

__all__ = ["ClaimResult", "audit_claims", "evaluate_claim", "load_registry"]

RATIO_MEASURES: Final = frozenset({"RR", "OR"})
RULES: Final = ("effect", "few_effect", "persistence", "direction_only", "no_serious_harm", "arithmetic", "not_testable")
Z975: Final = float(stats.norm.ppf(0.975))
#: What every testable claim must state about the analysis that tests it.
ANALYSIS_KEYS: Final = ("section", "population", "comparison", "outcome", "timepoint", "measure", "model", "threshold")


@dataclass(frozen=True, repr=False)
class ClaimResult:
    """The audited claim: verdict, deciding numbers, evidence rows and (if pooled) the model.

    ``k`` counts the trials behind the deciding evidence (a review's estimate counts its trials);
    ``k_pooled`` the estimates combined in ``model`` (0 when nothing is pooled).

    ``evidence`` has one row per evidence item on the benefit scale (positive favours acupuncture;
    log scale for ratio measures) with columns ``label, estimate, ci_low, ci_high, se, pooled,
    source_id, source, locator, status, n``.
    """

    claim: dict[str, Any]
    verdict: str
    reason: str
    measure: str
    evidence: pd.DataFrame
    model: MetaAnalysis | None = None
    estimate: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    pi_low: float = math.nan
    pi_high: float = math.nan
    i2: float = math.nan
    k: int = 0
    k_pooled: int = 0
    participants: float = math.nan
    flags: tuple[str, ...] = ()
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def id(self) -> str:
        return str(self.claim["id"])

    @property
    def verdict_changes(self) -> bool:
        """True when a sensitivity scenario gives a different verdict."""
        return bool(len(self.sensitivity)) and bool((self.sensitivity["verdict"] != self.verdict).any())

    @property
    def is_ratio(self) -> bool:
        return self.measure in RATIO_MEASURES

    def show(self, x: float) -> str:
        """Format a benefit-scale value on the display scale."""
        return _shower(self.measure)(x)

    def summary(self) -> str:
        """Text report: statement, verdict and reason, flags, evidence, model and sensitivity."""
        from .report import claim_text

        return claim_text(self)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<ClaimResult {self.id}: {self.verdict}>"

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(self.summary())}</pre>"

    def as_row(self) -> dict[str, Any]:
        """One flat row for ``claims.csv``."""
        disp = (lambda x: math.exp(x)) if self.is_ratio else (lambda x: x)  # noqa: E731
        return {
            "id": self.id, "group": self.claim.get("group", ""), "claim_type": self.claim.get("claim_type", ""),
            "comparison": self.claim.get("comparison", ""), "outcome": self.claim.get("outcome", ""),
            "timepoint": self.claim.get("timepoint", ""), "threshold": self.claim.get("threshold", ""),
            "verdict": self.verdict, "measure": self.measure, "k_trials": self.k, "k_pooled": self.k_pooled,
            "participants": self.participants,
            "estimate": disp(self.estimate), "ci_low": disp(self.ci_low), "ci_high": disp(self.ci_high),
            "pi_low": disp(self.pi_low), "pi_high": disp(self.pi_high), "i2": self.i2,
            "verdict_changes_in_sensitivity": self.verdict_changes, "flags": "; ".join(self.flags),
            "reason": self.reason,
        }


def _shower(measure: str):
    """Formatter of benefit-scale values on the display scale (ratios back-transformed)."""
    if measure in RATIO_MEASURES:
        return lambda x: f"{math.exp(x):.2f}"
    return lambda x: f"{x:.2f}"


def load_registry(path: str | Path | None = None, dataset: Dataset | None = None) -> dict[str, Any]:
    """Read and validate ``claims.toml``; every id it names must exist in ``dataset``."""
    path = Path(path) if path is not None else default_data_dir() / "claims.toml"
    with open(path, "rb") as fh:
        reg = tomllib.load(fh)
    ds = dataset or load_dataset(path.parent)
    ids = {
        "pooled": set(ds.pooled_results["analysis_id"]), "contrast": set(ds.contrasts["row_id"]),
        "outcome": set(ds.outcomes["row_id"]), "harm": set(ds.adverse_events["row_id"]),
        "mechanism": set(ds.mechanism["row_id"]), "study": set(ds.studies["study_id"]),
    }
    seen: set[str] = set()
    for i, c in enumerate(reg.get("claim", [])):
        where = f"{path}: claim #{i + 1} ({c.get('id', '?')})"
        for key in ("id", "group", "statement", "claim_type", "rule", "references", "rows", "flags"):
            if key not in c:
                raise MetaacuInputError(f"{where}: missing key {key!r}")
        if c["id"] in seen:
            raise MetaacuInputError(f"{where}: duplicate claim id")
        seen.add(c["id"])
        if c["rule"] not in RULES:
            raise MetaacuInputError(f"{where}: rule {c['rule']!r} is not one of {', '.join(RULES)}")
        if c["rule"] != "not_testable":
            for key in ANALYSIS_KEYS:
                if key not in c:
                    raise MetaacuInputError(f"{where}: missing key {key!r} (every testable claim states its analysis)")
        if c.get("threshold") and c["threshold"] not in reg.get("thresholds", {}):
            raise MetaacuInputError(f"{where}: threshold {c['threshold']!r} is not defined in [thresholds]")
        for ref in c["references"]:
            if ref not in ids["study"]:
                raise MetaacuInputError(f"{where}: reference {ref!r} is not in studies.csv")
        for r in c["rows"]:
            src = r.get("source")
            need = {"pooled": [("id", "pooled")], "contrast": [("id", "contrast")],
                    "binary_arms": [("exp", "outcome"), ("ctl", "outcome")],
                    "continuous_arms": [("exp", "outcome"), ("ctl", "outcome")]}.get(src)
            if need is None:
                raise MetaacuInputError(f"{where}: row {r.get('id')!r} has unknown source {src!r}")
            for key, table in need:
                values = r.get(key) if isinstance(r.get(key), list) else [r.get(key)]
                for val in values:
                    if val not in ids[table]:
                        raise MetaacuInputError(f"{where}: row {r.get('id')!r}: {key} {val!r} not found in the data")
        for key, table in (("harms", "harm"), ("mechanism", "mechanism"), ("pvalues", "contrast"), ("context", "pooled")):
            for x in c.get(key, []):
                if x not in ids[table]:
                    raise MetaacuInputError(f"{where}: {key} entry {x!r} not found in the data")
    return reg


# ------------------------------------------------------------------------------- evidence rows
def _num(x: Any) -> float:
    return math.nan if x is None or pd.isna(x) else float(x)


def _short_label(ds: Dataset, study_id: str) -> str:
    st = ds.studies.set_index("study_id")
    return str(st.loc[study_id, "short_label"]) if study_id in st.index else study_id


def _pooled_row(ds: Dataset, spec: dict[str, Any]) -> dict[str, Any]:
    row = ds.pooled_results.set_index("analysis_id").loc[spec["id"]]
    ratio = str(row["measure"]) in RATIO_MEASURES
    tf = math.log if ratio else (lambda v: v)
    est, lo, hi = (tf(_num(row[c])) if not math.isnan(_num(row[c])) else math.nan for c in ("estimate", "ci_low", "ci_high"))
    sign = spec.get("sign", 1)
    if sign < 0:
        est, lo, hi = -est, -hi, -lo
    se = (hi - lo) / (2 * Z975)  # derived: SE from a symmetric 95% CI
    return {
        "label": spec.get("label", f"{_short_label(ds, row['review_id'])}: {row['comparison']}"), "estimate": est, "ci_low": lo,
        "ci_high": hi, "se": se, "n": _num(row["n_participants"]), "k_trials": _num(row["k_trials"]),
        "source_id": spec["id"], "source": row["source"], "locator": row["locator"], "status": row["status"],
        "measure": str(row["measure"]), "assumption": "SE from the published 95% CI",
    }


def _arm_pair_row(ds: Dataset, spec: dict[str, Any], exp_events: float | None = None, measure: str = "MD") -> dict[str, Any]:
    """One trial contrast from arm-level rows.  ``spec["exp"]`` may list several arms of a multi-arm
    trial: they are merged with the Cochrane Handbook formula (Table 6.5.a) before the contrast.
    A missing n falls back to the arm's randomised n; that assumption is recorded in the row."""
    out = ds.outcomes.set_index("row_id")
    arms = ds.arms.set_index("arm_id")
    exp_ids = spec["exp"] if isinstance(spec["exp"], list) else [spec["exp"]]
    exps, c = [out.loc[x] for x in exp_ids], out.loc[spec["ctl"]]
    assumed: list[str] = []

    def n_of(r: pd.Series, key: str) -> float:
        v = _num(r[key])
        if math.isnan(v):
            assumed.append(str(r["arm_id"]))
            return _num(arms.loc[r["arm_id"], "n_randomised"])
        return v

    if spec["source"] == "binary_arms":
        e = exps[0]
        a = exp_events if exp_events is not None else _num(e["events"])
        n1, n2 = n_of(e, "total"), n_of(c, "total")
        es = effect_sizes("RR", events1=[a], n1=[n1], events2=[_num(c["events"])], n2=[n2])
        measure = "RR"
    else:
        n1, m1, s1 = (float(x) for x in combine_many_groups(
            [n_of(e, "n") for e in exps], [_num(e["mean"]) for e in exps], [_num(e["sd"]) for e in exps]))
        n2 = n_of(c, "n")
        es = effect_sizes(measure, n1=[n1], mean1=[m1], sd1=[s1], n2=[n2], mean2=[_num(c["mean"])], sd2=[_num(c["sd"])])
    yi, se = float(es.yi[0]) * spec.get("sign", 1), float(np.sqrt(es.vi[0]))
    stated = all(r["status"] == "stated" for r in [*exps, c])
    status = "derived" if exp_events is not None or assumed or len(exps) > 1 else ("stated" if stated else "mixed")
    notes = []
    if len(exps) > 1:
        notes.append(f"arms {', '.join(str(e['arm_id']) for e in exps)} merged (Cochrane Handbook Table 6.5.a)")
    if assumed:
        notes.append(f"n analysed not reported for {', '.join(assumed)}: randomised n used")
    return {
        "label": spec.get("label", spec["id"]), "estimate": yi, "ci_low": yi - Z975 * se, "ci_high": yi + Z975 * se,
        "se": se, "n": n1 + n2, "k_trials": 1.0, "source_id": f"{' + '.join(exp_ids)} vs {spec['ctl']}",
        "source": exps[0]["source"], "locator": exps[0]["locator"], "status": status, "measure": measure,
        "assumption": "; ".join(notes),
    }


def _evidence(ds: Dataset, claim: dict[str, Any], overrides: dict[str, float] | None = None) -> pd.DataFrame:
    rows = []
    for spec in claim["rows"]:
        if spec["source"] == "pooled":
            r = _pooled_row(ds, spec)
        else:
            ev = (overrides or {}).get(spec["id"])
            if ev is None and spec["source"] == "binary_arms" and pd.isna(ds.outcomes.set_index("row_id").loc[spec["exp"], "events"]):
                imputed = spec.get("impute_exp_events")
                if not imputed:
                    raise MetaacuInputError(f"claim {claim['id']}: row {spec['id']} has no events and no imputation rule")
                ev = float(imputed[0])
            r = _arm_pair_row(ds, spec, ev, measure=str(claim.get("measure", "MD")))
            if ev is not None:
                r["label"] += f" (imputed {ev:g} events)"
        r["pooled"] = bool(spec.get("pool", False))
        r["primary"] = bool(spec.get("primary", False))
        r["role"] = spec.get("role", "")
        rows.append(r)
    cols = ["label", "estimate", "ci_low", "ci_high", "se", "pooled", "primary", "role", "n", "k_trials",
            "source_id", "source", "locator", "status", "measure", "assumption"]
    return pd.DataFrame(rows, columns=cols)


# ------------------------------------------------------------------------------- rules
def _threshold(reg: dict[str, Any], claim: dict[str, Any], measure: str) -> float | None:
    name = claim.get("threshold")
    if not name:
        return None
    value = float(reg["thresholds"][name]["value"])
    return math.log(value) if measure in RATIO_MEASURES else value


def _effect_claim(reg, ds, claim, overrides=None, test: str = "z") -> dict[str, Any]:
    ev = _evidence(ds, claim, overrides)
    measure = str(claim.get("measure", ev["measure"].iloc[0] if len(ev) else ""))
    thr = _threshold(reg, claim, measure)
    show = _shower(measure)
    pooled = ev[ev["pooled"]]
    model = None
    if len(pooled):
        model = meta_analysis(pooled["estimate"].to_numpy(), pooled["se"].to_numpy() ** 2, labels=pooled["label"].tolist(),
                              method="REML", test=test, measure=measure if measure in ("RR", "OR", "MD", "SMD") else None)
        est, lo, hi = model.estimate, model.ci_low, model.ci_high
        pi = model.prediction_interval() if model.k > 1 else None
        extra = dict(pi_low=pi.low if pi else math.nan, pi_high=pi.high if pi else math.nan,
                     i2=model.i2 if model.k > 1 else math.nan, k=int(pooled["k_trials"].fillna(1).sum()), k_pooled=model.k,
                     participants=float(pooled["n"].sum(min_count=len(pooled))))
    else:
        prim = ev[ev["primary"]].iloc[0]
        est, lo, hi = prim["estimate"], prim["ci_low"], prim["ci_high"]
        extra = dict(k=int(prim["k_trials"]) if not math.isnan(prim["k_trials"]) else 0, participants=prim["n"])
    rule = few_effect_verdict if claim["rule"] == "few_effect" else effect_verdict
    v = rule(est, lo, hi, thr, show, measure)
    return dict(verdict=v, measure=measure, evidence=ev, model=model, estimate=est, ci_low=lo, ci_high=hi, **extra)


def _persistence_claim(reg, ds, claim) -> dict[str, Any]:
    ev = _evidence(ds, claim)
    pr = ds.pooled_results.set_index("analysis_id")
    parts, ok = [], {}
    for role, base_id in claim["baseline"].items():
        base = _num(pr.loc[base_id, "estimate"])
        r = ev[ev["role"] == role].iloc[0]
        # benefit scale: sign = -1 turned "decline" into "-decline"; undo for the arithmetic
        dec, dec_lo, dec_hi = 4 * -r["estimate"], 4 * -r["ci_high"], 4 * -r["ci_low"]
        kept_lo = 1 - dec_hi / base
        ok[role] = kept_lo > 0
        parts.append(f"{role.replace('_', ' ')}: 12-month decline {dec:.3f} SD (95% CI {dec_lo:.3f} to {dec_hi:.3f}) "
                     f"of a {base:.1f} SD effect, i.e. {100 * dec / base:.0f}% lost (CI {100 * dec_lo / base:.0f}% to {100 * dec_hi / base:.0f}%)")
    if all(ok.values()):
        cat = "supported"
    elif ok.get("vs_noacu"):
        cat = "supported"
        parts.append("the effect over no-acupuncture controls persists; the specific effect over sham may not")
    else:
        cat = "inconclusive"
    return dict(verdict=Verdict(cat, "; ".join(parts)), measure="SMD_change_per_3mo", evidence=ev, k=0)


def _direction_claim(reg, ds, claim) -> dict[str, Any]:
    bits = []
    for x in claim.get("pvalues", []):
        r = ds.contrasts.set_index("row_id").loc[x]
        bits.append(f"{r['study_id']} {r['outcome']}: p {r['pvalue']}")
    for x in claim.get("mechanism", []):
        r = ds.mechanism.set_index("row_id").loc[x]
        bits.append(f"{r['study_id']}: {r['analyte']} {r.get('direction', '') or 'change'} ({r['condition']}, {r['timepoint']})")
    for x in claim.get("harms", []):
        r = ds.adverse_events.set_index("row_id").loc[x]
        bits.append(f"{r['study_id']}: {r['event']} (no counts)" if pd.isna(r["events"]) else f"{r['study_id']}: {r['event']} {r['events']}/{r['total']}")
    ev = _evidence(ds, claim)
    reason = "direction reported without an effect size that can be recomputed: " + "; ".join(bits)
    return dict(verdict=Verdict("weakly_supported", reason), measure=str(claim.get("measure", "")), evidence=ev)


def _harm_claim(reg, ds, claim) -> dict[str, Any]:
    bits, cat = [], "supported"
    for x in claim["harms"]:
        r = ds.adverse_events.set_index("row_id").loc[x]
        e, t = int(r["events"]), int(r["total"])
        lo, hi = clopper_pearson(e, t)
        bits.append(f"{r['study_id']}: {e}/{t} serious events; exact 95% CI {100 * lo:.1f}% to {100 * hi:.1f}%")
        if e > 0:
            cat = "contradicted"
    reason = "; ".join(bits) + " — no serious harm observed, but the trial is too small to exclude rates up to the upper bound"
    return dict(verdict=Verdict(cat, reason), measure="proportion", evidence=_evidence(ds, claim))


def _arithmetic_claim(reg, ds, claim) -> dict[str, Any]:
    """Each cost line: price x sessions per week x weeks (4 per month, and 52/12 as a check).  Lines
    without a ``stated`` total (e.g. the other end of a quoted price range) are shown, not checked."""
    rows, bad, unstated = [], [], []
    for c in claim["costs"]:
        weeks = 4.0 if c["period"] == "month" else 1.0
        ours = c["price"] * c["per_week"] * weeks
        exact = c["price"] * c["per_week"] * (52 / 12 if c["period"] == "month" else 1.0)
        stated = float(c.get("stated", math.nan))
        rows.append({"label": f"{c['label']} per {c['period']}", "stated": stated, "four_weeks": ours, "calendar": exact})
        if math.isnan(stated):
            unstated.append(f"{c['label']} per {c['period']}: {ours:g}")
        elif abs(ours - stated) > 0.5:
            bad.append(c["label"])
    frame = pd.DataFrame(rows)
    cat = "inconsistent" if bad else "consistent"
    reason = ("every stated total equals price x sessions with 4 weeks per month; with 52/12 weeks per month "
              f"monthly totals are {100 * (52 / 48 - 1):.1f}% higher") if not bad else f"totals that do not add up: {', '.join(bad)}"
    if unstated:
        reason += "; the totals quote the upper end of the price range (" + "; ".join(unstated) + ")"
    return dict(verdict=Verdict(cat, reason), measure="USD", evidence=frame)


def evaluate_claim(claim_id: str, *, registry: dict[str, Any] | None = None, dataset: Dataset | None = None) -> ClaimResult:
    """Evaluate one claim of the registry and return its :class:`ClaimResult`."""
    ds = dataset or load_dataset()
    reg = registry or load_registry(dataset=ds)
    claims = {c["id"]: c for c in reg["claim"]}
    if claim_id not in claims:
        raise MetaacuInputError(f"unknown claim id {claim_id!r}; known: {', '.join(claims)}")
    claim = claims[claim_id]
    rule = claim["rule"]
    if rule in ("effect", "few_effect"):
        out = _effect_claim(reg, ds, claim)
    elif rule == "persistence":
        out = _persistence_claim(reg, ds, claim)
    elif rule == "direction_only":
        out = _direction_claim(reg, ds, claim)
    elif rule == "no_serious_harm":
        out = _harm_claim(reg, ds, claim)
    elif rule == "arithmetic":
        out = _arithmetic_claim(reg, ds, claim)
    else:
        out = dict(verdict=Verdict("not_testable", "none of the article's references bears on it"), measure="",
                   evidence=pd.DataFrame())
    v: Verdict = out.pop("verdict")
    assert v.category in VERDICTS
    sens = _sensitivity(reg, ds, claim) if rule in ("effect", "few_effect") else pd.DataFrame()
    return ClaimResult(claim=claim, verdict=v.category, reason=v.reason, flags=tuple(claim.get("flags", [])),
                       sensitivity=sens, **out)


def _sensitivity(reg, ds, claim) -> pd.DataFrame:
    """Re-run the verdict under every imputation alternative and without each pooled row."""
    rows = []
    for spec in claim["rows"]:
        for ev in spec.get("impute_exp_events", [])[1:]:
            out = _effect_claim(reg, ds, claim, {spec["id"]: float(ev)})
            rows.append({"scenario": f"{spec['id']}: {ev:g} events", "verdict": out["verdict"].category,
                         "estimate": out["estimate"], "ci_low": out["ci_low"], "ci_high": out["ci_high"]})
    pooled = [s for s in claim["rows"] if s.get("pool")]
    if len(pooled) > 1:
        out = _effect_claim(reg, ds, claim, test="knha")
        rows.append({"scenario": "Knapp-Hartung (HKSJ) t interval instead of z", "verdict": out["verdict"].category,
                     "estimate": out["estimate"], "ci_low": out["ci_low"], "ci_high": out["ci_high"]})
        for s in pooled:
            reduced = dict(claim, rows=[r for r in claim["rows"] if r is not s])
            out = _effect_claim(reg, ds, reduced)
            rows.append({"scenario": f"without {s['id']}", "verdict": out["verdict"].category,
                         "estimate": out["estimate"], "ci_low": out["ci_low"], "ci_high": out["ci_high"]})
    return pd.DataFrame(rows, columns=["scenario", "verdict", "estimate", "ci_low", "ci_high"])


def audit_claims(*, registry: dict[str, Any] | None = None, dataset: Dataset | None = None) -> list[ClaimResult]:
    """Evaluate every claim in registry order."""
    ds = dataset or load_dataset()
    reg = registry or load_registry(dataset=ds)
    return [evaluate_claim(c["id"], registry=reg, dataset=ds) for c in reg["claim"]]
