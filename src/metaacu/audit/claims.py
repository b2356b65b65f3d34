"""The claims audit: each claim of the registry evaluated on its evidence, with its verdict under the
claim's threshold and the alternative one, every sensitivity scenario, the certainty of the evidence,
the absolute effect and the fidelity of the article to its source.

Data flow: registry (:mod:`.registry`) + tables (:mod:`.data`) → evidence on the benefit scale
(:mod:`.evidence`) → deciding estimate and verdict (:mod:`.decide`, :mod:`.checks`, rules in
:mod:`.rules`) → certainty (:mod:`.certainty`) → :class:`ClaimResult`.  Figures and reports read
:class:`ClaimResult`; nothing here draws.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import pandas as pd
from scipy import special

from .._validation import MetaacuInputError
from ..results import MetaAnalysis
from . import checks
from .absolute import AbsoluteEffect, natural_units, risk_difference
from .bayes_view import BAYES_PREFIX, bayesian_rows
from .certainty import Certainty, CertaintyInputs, plain_statement, rate_certainty
from .data import Dataset, load_dataset
from .decide import RATIO, Decision, decide_effect, decide_majority, decide_persistence, display, threshold_value
from .evidence import Scenario, uncertain_denominator
from .registry import load_registry
from .rules import VERDICTS, Verdict
from .shared_control import SharedControlAnalysis, analyse_claim

__all__ = ["ClaimResult", "audit_claims", "evaluate_claim", "load_registry"]

#: One row per scenario; ``p_benefit`` / ``p_important`` (posterior probabilities that the effect favours
#: acupuncture / exceeds the relevance threshold) are filled for the Bayesian rows only.
SENSITIVITY_COLUMNS: Final = (
    "scenario",
    "category",
    "verdict",
    "estimate",
    "ci_low",
    "ci_high",
    "p_benefit",
    "p_important",
)


@dataclass(frozen=True, repr=False)
class ClaimResult:
    """The audited claim: verdict, deciding numbers, evidence, certainty and fidelity.

    ``estimate``/``ci_low``/``ci_high`` are on the benefit scale (positive favours acupuncture; log
    for ratios, logit for proportions); :meth:`show` formats them on the display scale.  ``category``
    is where the CI lies relative to the threshold (:data:`metaacu.audit.rules.CATEGORIES`);
    ``alternative`` is the verdict under the pre-specified alternative threshold.
    """

    claim: dict[str, Any]
    verdict: str
    category: str
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
    threshold: float = math.nan
    alternative: Verdict | None = None
    alt_threshold: float = math.nan
    threshold_info: dict[str, Any] = field(default_factory=dict)
    alt_threshold_info: dict[str, Any] = field(default_factory=dict)
    certainty: Certainty | None = None
    absolute: AbsoluteEffect | None = None
    fidelity: pd.DataFrame = field(default_factory=pd.DataFrame)
    flags: tuple[str, ...] = ()
    sensitivity: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(SENSITIVITY_COLUMNS)))
    notes: tuple[str, ...] = ()
    shared_control: tuple[SharedControlAnalysis, ...] = ()

    @property
    def id(self) -> str:
        return str(self.claim["id"])

    @property
    def origin(self) -> str:
        return str(self.claim.get("origin", "article"))

    @property
    def bayes_changes(self) -> bool:
        """True when the Bayesian view (few pooled studies) gives another verdict than the CI."""
        s = self.sensitivity
        if not len(s):
            return False
        bayes = s[s["scenario"].str.startswith(BAYES_PREFIX)]
        return bool((bayes["verdict"] != self.verdict).any())

    @property
    def shared_control_changes(self) -> bool:
        """True when keeping a multi-arm trial's arms apart (``[shared_control]``) changes a row's verdict."""
        return any(a.changes for a in self.shared_control)

    @property
    def verdict_changes(self) -> bool:
        """True when a sensitivity scenario gives a different claim-level verdict."""
        return bool(len(self.sensitivity)) and bool((self.sensitivity["verdict"] != self.verdict).any())

    @property
    def alt_changes(self) -> bool:
        """True when the alternative threshold gives a different claim-level verdict."""
        return self.alternative is not None and self.alternative.verdict != self.verdict

    @property
    def is_ratio(self) -> bool:
        return self.measure in RATIO

    def show(self, x: float) -> str:
        """Format a benefit-scale value on the display scale (ratios back-transformed, logits in %)."""
        return display(self.measure)(x)

    def summary(self) -> str:
        """Text report: the claim, its verdict and reason, certainty, fidelity, evidence and sensitivity."""
        from .report import claim_text

        return claim_text(self)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<ClaimResult {self.id}: {self.verdict} ({self.category})>"

    def _repr_html_(self) -> str:
        from .report import claim_html

        return claim_html(self)

    def as_row(self) -> dict[str, Any]:
        """One flat row for ``claims.csv`` (effects on the display scale; ratios back-transformed)."""
        from .report import claim_row

        return claim_row(self)


def _alternatives(claim: dict[str, Any], ds: Dataset, reg: dict[str, Any]) -> list[tuple[str, Scenario]]:
    """Every pre-specified sensitivity scenario of the claim's assumptions (the base case excluded)."""
    base_r = float(reg["assumptions"]["prepost_correlation"]["value"])
    out: list[tuple[str, Scenario]] = []
    if any(r["source"] == "change_arms" for r in claim["rows"]):
        out += [
            (f"pre-post correlation {r:g} instead of {base_r:g}", Scenario(correlation=r))
            for r in reg["assumptions"]["prepost_correlation"]["alternatives"]
        ]
    if _uses_unverified(claim, ds):
        out += [
            (f"unverified SDs x {f:g}", Scenario(correlation=base_r, sd_factor=float(f)))
            for f in reg["assumptions"]["unverified_sd"]["factors"]
        ]
    arm_rows = sorted(
        {
            x
            for r in claim["rows"]
            if r["source"] in ("binary_arms", "proportion_arm")
            for x in ([*r.get("exp", []), r["ctl"]] if "exp" in r else [r["arm"]])
        }
    )
    options = {x: uncertain_denominator(ds, x) for x in arm_rows}
    options = {x: o for x, o in options.items() if o}
    if options:
        names = sorted(options)
        base = {x: max(o) for x, o in options.items()}
        for combo in itertools.product(*(options[x] for x in names)):
            choice = dict(zip(names, combo, strict=True))
            if choice != base:
                label = ", ".join(f"{x.split('_', 1)[0]} {x.rsplit('_', 1)[-1]} n = {d}" for x, d in choice.items())
                out.append((f"analysed denominators: {label}", Scenario(correlation=base_r, denominator=choice)))
    return out


def _uses_unverified(claim: dict[str, Any], ds: Dataset) -> bool:
    o = ds.outcomes.set_index("row_id")
    arms = {
        str(o.loc[x, "arm_id"])
        for r in claim["rows"]
        for x in [*r.get("exp", []), *([r["ctl"]] if "ctl" in r else [])]
        if r["source"] in ("continuous_arms", "change_arms")
    }
    flagged = ds.outcomes[ds.outcomes["unverified"].fillna("").str.contains("sd")]
    return bool(set(flagged["arm_id"]) & arms)


def _effect_like(
    claim: dict[str, Any], ds: Dataset, reg: dict[str, Any]
) -> tuple[Decision, Decision | None, pd.DataFrame, tuple[SharedControlAnalysis, ...]]:
    """Base decision, the decision under the alternative threshold, the sensitivity table and the
    shared-control analyses of merged multi-arm rows (a deciding one joins the table)."""
    rule = claim["rule"]
    base = Scenario(correlation=float(reg["assumptions"]["prepost_correlation"]["value"]))

    def run(
        scn: Scenario,
        *,
        threshold: str | None = None,
        test: str | None = None,
        drop: str | None = None,
        factor: float = 1.0,
    ) -> Decision:
        thr = threshold or claim.get("threshold", "")
        if rule == "effect":
            return decide_effect(claim, ds, reg, scn, thr, test=test, drop=drop)
        if rule == "persistence":
            return decide_persistence(claim, ds, reg, scn, thr, factor)
        return decide_majority(claim, ds, reg, scn, test=test, drop=drop)

    main = run(base)
    alt = run(base, threshold=claim["alt_threshold"]) if "alt_threshold" in claim else None
    scenarios: list[tuple[str, Decision]] = [(name, run(s)) for name, s in _alternatives(claim, ds, reg)]
    if rule == "persistence":
        scenarios += [(f"starting effects x {f:g}", run(base, factor=float(f))) for f in claim["baseline_factors"]]
    if main.model is not None and main.model.k > 1:
        scenarios.append(("Knapp-Hartung (HKSJ) t interval instead of z", run(base, test="knha")))
        if claim["model"] != "none" and "reconstructs" not in claim["model"]:
            for sid in main.deciding["source_id"]:
                scenarios.append((f"without {sid}", run(base, drop=sid)))
    rows: list[dict[str, Any]] = [
        {
            "scenario": n,
            "category": d.verdict.category,
            "verdict": d.verdict.verdict,
            "estimate": d.estimate,
            "ci_low": d.ci_low,
            "ci_high": d.ci_high,
            "p_benefit": math.nan,
            "p_important": math.nan,
        }
        for n, d in scenarios
    ]
    rd_threshold = rule == "effect" and reg["thresholds"][claim["threshold"]]["scale"] == "RD"
    if rule in ("effect", "majority") and not rd_threshold:  # a risk-difference line has no log-scale image
        measure = "PLO" if rule == "majority" else str(claim["measure"])
        thr = threshold_value(reg, claim["threshold"], measure) if rule == "effect" else math.nan
        rows += bayesian_rows(reg.get("bayes"), main.model, claim, measure, thr)
    shared = analyse_claim(reg.get("shared_control"), claim, ds, reg, base)
    rows += [a.sensitivity_row() for a in shared if a.use == "decide"]
    sens = pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS))
    return main, alt, sens, shared


def _statement(claim: dict[str, Any], category: str) -> Callable[[str], str]:
    return lambda level: plain_statement(level, category, str(claim["plain_outcome"]), str(claim["plain_comparator"]))


def _certainty(
    claim: dict[str, Any], d: Decision, ds: Dataset, reg: dict[str, Any], harm_ratio: float = math.nan
) -> Certainty:
    deciding = d.deciding
    binary = claim["measure"] in RATIO or claim["rule"] == "no_serious_harm"
    events = (
        float(deciding[["events_exp", "events_ctl"]].sum().sum(min_count=1)) if binary and len(deciding) else math.nan
    )
    if claim["rule"] == "no_serious_harm":
        events = float(d.evidence["events"].sum())
    part = float(deciding["n"].sum(min_count=1)) if len(deciding) else math.nan
    if d.model is not None and d.model.k > 1:
        i2 = d.model.i2
    else:
        i2 = float(deciding["i2"].iloc[0]) if len(deciding) == 1 and "i2" in deciding else math.nan
    target = "null" if claim["claim_kind"] == "any_effect" else "threshold"
    pi = d.model.prediction_interval() if d.model is not None and d.model.k > 2 else None
    inputs = CertaintyInputs(
        d.verdict.category,
        target,
        deciding,
        i2,
        d.model.k if d.model is not None else 0,
        part,
        events,
        binary,
        harm_ratio,
        d.ci_low,
        pi.low if pi else math.nan,
        pi.high if pi else math.nan,
    )
    return rate_certainty(claim, inputs, ds, reg["certainty"], _statement(claim, d.verdict.category))


def _absolute(claim: dict[str, Any], d: Decision, ds: Dataset) -> AbsoluteEffect | None:
    measure = claim["measure"]
    rows = d.deciding
    if measure in RATIO:
        if len(rows) and rows[["events_ctl", "total_ctl"]].notna().all().all():
            cr = float(rows["events_ctl"].sum() / rows["total_ctl"].sum())
            basis = (
                f"control risk of the deciding evidence: {rows['events_ctl'].sum():g}/{rows['total_ctl'].sum():g} "
                f"= {100 * cr:.0f}% ({', '.join(rows['label'])})"
            )
            return risk_difference(math.exp(d.estimate), math.exp(d.ci_low), math.exp(d.ci_high), cr, basis)
        return AbsoluteEffect("not computable: the control risk is not published", basis="")
    if measure == "SMD" and claim.get("natural_units"):
        return natural_units(d.estimate, d.ci_low, d.ci_high, ds, claim["natural_units"])
    if measure == "MD":
        return AbsoluteEffect(
            f"{d.estimate:.1f} points (95% CI {d.ci_low:.1f} to {d.ci_high:.1f}) on the outcome's own scale",
            d.estimate,
            d.ci_low,
            d.ci_high,
            "mean difference as analysed",
        )
    if claim["rule"] == "majority":
        p = [100 * float(special.expit(x)) for x in (d.estimate, d.ci_low, d.ci_high)]
        return AbsoluteEffect(
            f"{p[0]:.0f} per 100 treated improved (95% CI {p[1]:.0f} to {p[2]:.0f})", p[0], p[1], p[2], "pooled share"
        )
    return None


def _trials(deciding: pd.DataFrame) -> int:
    """Trials behind the deciding evidence (0 when a review summary does not say how many)."""
    if deciding.empty or deciding["k_trials"].isna().any():
        return 0
    return int(deciding["k_trials"].sum())


def evaluate_claim(
    claim_id: str, *, registry: dict[str, Any] | None = None, dataset: Dataset | None = None
) -> ClaimResult:
    """Evaluate one claim of the registry and return its :class:`ClaimResult`."""
    ds = dataset or load_dataset()
    reg = registry or load_registry(dataset=ds)
    claims = {c["id"]: c for c in reg["claim"]}
    if claim_id not in claims:
        raise MetaacuInputError(f"unknown claim id {claim_id!r}; known: {', '.join(claims)}")
    c = claims[claim_id]
    rule = c["rule"]
    fid = ds.fidelity[ds.fidelity["claim_id"] == claim_id].reset_index(drop=True)
    common = dict(
        claim=c,
        flags=tuple(c.get("flags", [])),
        fidelity=fid,
        measure=str(c.get("measure", "")),
        threshold_info=dict(reg["thresholds"].get(c.get("threshold", ""), {})),
        alt_threshold_info=dict(reg["thresholds"].get(c.get("alt_threshold", ""), {})),
    )
    if rule in ("effect", "persistence", "majority"):
        main, alt, sens, shared = _effect_like(c, ds, reg)
        m = main.model
        pi = m.prediction_interval() if m is not None and m.k > 1 else None
        deciding = main.deciding
        measure = "PLO" if rule == "majority" else str(c["measure"])
        common["measure"] = measure
        thr = threshold_value(reg, c["threshold"], measure) if "threshold" in c else math.nan
        alt_thr = threshold_value(reg, c["alt_threshold"], measure) if "alt_threshold" in c else math.nan
        notes = tuple(main.extra.values())
        return ClaimResult(
            verdict=main.verdict.verdict,
            category=main.verdict.category,
            reason=main.verdict.reason,
            evidence=main.evidence,
            model=m,
            estimate=main.estimate,
            ci_low=main.ci_low,
            ci_high=main.ci_high,
            pi_low=pi.low if pi else math.nan,
            pi_high=pi.high if pi else math.nan,
            i2=m.i2 if m is not None and m.k > 1 else math.nan,
            k=_trials(deciding),
            k_pooled=m.k if m is not None else 0,
            participants=float(deciding["n"].sum(min_count=len(deciding))) if len(deciding) else math.nan,
            threshold=thr,
            alternative=alt.verdict if alt else None,
            alt_threshold=alt_thr,
            certainty=_certainty(c, main, ds, reg),
            absolute=_absolute(c, main, ds),
            sensitivity=sens,
            notes=notes,
            shared_control=shared,
            **common,
        )
    if rule == "no_serious_harm":
        v, frame = checks.harm(c, ds, reg, c["threshold"])
        av, _ = checks.harm(c, ds, reg, c["alt_threshold"])
        r = frame.iloc[0]
        deciding = pd.DataFrame(
            [
                {
                    "study_id": r["study_id"],
                    "rob_comparison": "all",
                    "weight": 100.0,
                    "n": float(r["total"]),
                    "review_id": "",
                    "source_id": r["row_id"],
                    "label": r["row_id"],
                    "events_exp": float(r["events"]),
                    "events_ctl": math.nan,
                }
            ]
        )
        from .rules import clopper_pearson

        lo, hi = clopper_pearson(int(r["events"]), int(r["total"]))
        acceptable = float(reg["thresholds"][c["threshold"]]["value"])
        d = Decision(v, frame, int(r["events"]) / int(r["total"]), lo, hi, None, deciding)
        cert = _certainty(c, d, ds, reg, harm_ratio=hi / acceptable)
        absolute = AbsoluteEffect(
            f"{100 * d.estimate:.0f} per 100 (exact 95% CI {100 * lo:.0f} to {100 * hi:.1f})",
            100 * d.estimate,
            100 * lo,
            100 * hi,
            "serious events in the acupuncture arm",
        )
        return ClaimResult(
            verdict=v.verdict,
            category=v.category,
            reason=v.reason,
            evidence=frame,
            estimate=d.estimate,
            ci_low=lo,
            ci_high=hi,
            k=1,
            participants=float(r["total"]),
            threshold=acceptable,
            alternative=av,
            alt_threshold=float(reg["thresholds"][c["alt_threshold"]]["value"]),
            certainty=cert,
            absolute=absolute,
            **common,
        )
    if rule == "direction_only":
        v, frame = checks.direction(c, ds)
    elif rule == "fact":
        v, frame = checks.fact(c, ds)
    elif rule == "schedule":
        v, frame = checks.schedule(c, ds)
    elif rule == "arithmetic":
        v, frame = checks.arithmetic(c)
    else:
        v, frame = Verdict("not_testable", "not_testable", str(c["reason"])), pd.DataFrame()
    if v.verdict not in VERDICTS:
        raise AssertionError(f"rule {rule!r} returned an unknown verdict {v.verdict!r}")
    return ClaimResult(verdict=v.verdict, category=v.category, reason=v.reason, evidence=frame, **common)


def audit_claims(
    *,
    registry: dict[str, Any] | None = None,
    dataset: Dataset | None = None,
    progress: Callable[[int, int, ClaimResult], None] | None = None,
) -> list[ClaimResult]:
    """Evaluate every claim in registry order; ``progress(i, n, result)`` is called after each."""
    ds = dataset or load_dataset()
    reg = registry or load_registry(dataset=ds)
    out: list[ClaimResult] = []
    for i, c in enumerate(reg["claim"], start=1):
        out.append(evaluate_claim(c["id"], registry=reg, dataset=ds))
        if progress is not None:
            progress(i, len(reg["claim"]), out[-1])
    return out
