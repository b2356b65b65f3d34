"""Multi-arm trials: merged arms against the shared-control model (tracker issue 17, item 6).

Where a claim's evidence row merges several arms of one trial before comparing them with the trial's
one control arm (Cochrane Handbook Table 6.5.a, :func:`metaacu.conversions.combine_many_groups`),
the audit also computes the analysis that keeps the arms apart: each arm against the shared control
is its own effect ``yᵢ = x̄ᵢ − x̄_c`` (benefit scale, as the audit computes the merged row), with
sampling variance ``vᵢ = sᵢ²/nᵢ + s_c²/n_c`` and, because every contrast reuses the control arm's
mean, sampling covariance

    ``Cov(yᵢ, yⱼ) = s_c² / n_c``     (i ≠ j)

— the variance of the shared control mean (Gleser LJ & Olkin I, "Stochastically dependent effect
sizes", in Cooper H, Hedges LV & Valentine JC (eds), *The Handbook of Research Synthesis and
Meta-Analysis*, 2nd ed., Russell Sage 2009, ch. 19, pp. 360-367 (multiple-treatment studies); metafor's
``vcalc`` documentation, "Details" item 5: contrasts sharing a condition, correlation from the
conditions' inverse-variance weights), computed by :func:`metaacu.shared_control_covariance`.

The arm effects are pooled by generalised least squares, ``μ̂ = 1ᵀV⁻¹y / 1ᵀV⁻¹1`` with
``Var(μ̂) = 1 / 1ᵀV⁻¹1``, fitted with :func:`metaacu.multilevel_meta_analysis` (``V`` given, a random
intercept per arm held at 0): the equal-effects model.  With two correlated arm effects from one
trial a between-arm variance is not estimable (one residual degree of freedom, no replication of the
trial), so a random-effects model is not offered for one trial; the registry says so.

What is analysed is data (``[shared_control]`` in ``data/claims.toml``, checked by
:func:`check_section`, which :func:`metaacu.audit.registry.load_registry` calls).  The verdict stays
the merged-arm one; for a deciding row the shared-control result joins the sensitivity table (so
``verdict_changes`` sees it) and every registered row is shown in the report's section "Multi-arm
trials: merged arms vs shared-control model" and in ``claims.csv``.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from .._validation import MetaacuInputError
from ..inference import Z975
from ..multilevel import multilevel_meta_analysis
from ..multilevel_result import MultilevelMetaAnalysis
from ..report import Printable
from ..vcov import SamplingCovariance, shared_control_covariance
from . import rules
from .data import Dataset
from .decide import display, threshold_value
from .evidence import Scenario, arm_summary, evidence_frame

if TYPE_CHECKING:
    from .claims import ClaimResult

__all__ = [
    "MODELS",
    "SHARED_PREFIX",
    "SharedControlAnalysis",
    "analyse_claim",
    "check_section",
    "csv_columns",
    "gls_pool",
    "section_frame",
    "section_html",
    "section_markdown",
]

#: Sensitivity-table scenarios of the shared-control model start with this.
SHARED_PREFIX: Final = "Shared-control model"
#: The models the registry may name, in words.
MODELS: Final = {
    "EE": "equal-effects generalised least squares of the arm effects with the Gleser-Olkin covariance",
}
_SOURCES: Final = ("continuous_arms", "change_arms")
_TITLE: Final = "Multi-arm trials: merged arms vs shared-control model"


@dataclass(frozen=True, repr=False)
class SharedControlAnalysis(Printable):
    """One merged evidence row of a claim next to the shared-control analysis of the same arms.

    Effects are mean differences on the benefit scale (positive favours acupuncture).  ``merged_*``
    is the row as the audit computes it (arms merged by the Cochrane formula); ``estimate``/``se``/
    ``ci_*`` the GLS pool of the arms kept separate; ``category``/``verdict`` each placed by the
    claim's own rule and threshold.

    Attributes
    ----------
    claim_id, row_id, use, label : str
        The claim, its merged evidence row, the row's use (``decide`` or ``support``) and label.
    trial, arms, control : str, tuple of str, str
        The trial, its experimental arms (``arm_id``) and the shared control arm.
    arm_estimates, arm_se : tuple of float
        Each arm against the control (benefit scale) and its standard error.
    n_control, sd_control : float
        Size and SD (a change-score SD for change rows) of the control arm as the audit uses them.
    covariance : SamplingCovariance
        ``V`` of the arm effects (:func:`metaacu.shared_control_covariance`, measure MD).
    model, model_name : MultilevelMetaAnalysis, str
        The GLS fit (:func:`gls_pool`) and the registry's model code (:data:`MODELS`).
    estimate, se, ci_low, ci_high, category, verdict
        The shared-control result and where the claim's rule places it.
    merged_estimate, merged_se, merged_ci_low, merged_ci_high, merged_category, merged_verdict
        The same for the merged-arm row.
    threshold : float
        The claim's relevance threshold (MD).

    Examples
    --------
    >>> from metaacu.audit import evaluate_claim
    >>> a = evaluate_claim("chronic_lbp_cherkin_vs_usual_care").shared_control[0]
    >>> a.merged_verdict, a.verdict, round(a.estimate, 3), round(a.correlation, 3)
    ('supported', 'supported', 2.347, 0.511)
    """

    claim_id: str
    row_id: str
    use: str
    label: str
    trial: str
    arms: tuple[str, ...]
    arm_estimates: tuple[float, ...]
    arm_se: tuple[float, ...]
    control: str
    n_control: float
    sd_control: float
    covariance: SamplingCovariance
    model: MultilevelMetaAnalysis
    model_name: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    category: str
    verdict: str
    merged_estimate: float
    merged_se: float
    merged_ci_low: float
    merged_ci_high: float
    merged_category: str
    merged_verdict: str
    threshold: float

    @property
    def correlation(self) -> float:
        """Correlation of two arm effects induced by the shared control (the smallest, if more arms)."""
        c = self.covariance.correlation()
        return float(c[~np.eye(c.shape[0], dtype=bool)].min())

    @property
    def changes(self) -> bool:
        """Whether the shared-control model places the row in another verdict than the merged arms."""
        return self.verdict != self.merged_verdict

    def scenario(self) -> str:
        """The sensitivity-table scenario text of this analysis."""
        return f"{SHARED_PREFIX} ({self.model_name}): {len(self.arms)} arms kept apart, each vs the shared control, GLS"

    def sensitivity_row(self) -> dict[str, Any]:
        """A row of the claim's sensitivity table."""
        return {
            "scenario": self.scenario(),
            "category": self.category,
            "verdict": self.verdict,
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_benefit": math.nan,
            "p_important": math.nan,
        }

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: each arm vs the control, the merged row and the GLS pool (unrounded)."""
        rows = [
            {
                "analysis": f"{a} vs {self.control}",
                "estimate": y,
                "se": s,
                "ci_low": y - Z975 * s,
                "ci_high": y + Z975 * s,
            }
            for a, y, s in zip(self.arms, self.arm_estimates, self.arm_se, strict=True)
        ]
        rows.append(
            {
                "analysis": "arms merged (Cochrane formula)",
                "estimate": self.merged_estimate,
                "se": self.merged_se,
                "ci_low": self.merged_ci_low,
                "ci_high": self.merged_ci_high,
            }
        )
        rows.append(
            {
                "analysis": f"shared-control model ({self.model_name})",
                "estimate": self.estimate,
                "se": self.se,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            }
        )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """Text summary: the two analyses, the covariance and its source, the verdicts."""
        f = self.to_frame()
        cov = float(self.covariance.to_dense()[0, 1])
        return "\n".join(
            [
                f"{self.claim_id}, row {self.row_id} ({self.use}): {self.label}",
                f"  trial {self.trial}: {len(self.arms)} arms against one {self.control} arm "
                f"(n = {self.n_control:g}, SD {self.sd_control:.3f})",
                f"  covariance of two arm effects s_c^2/n_c = {cov:.4f} (correlation {self.correlation:.3f}; "
                "Gleser & Olkin 2009, Handbook ch. 19 pp. 360-367)",
                f"  model: {MODELS[self.model_name]}",
                f.to_string(index=False, float_format=lambda x: f"{x:.3f}"),
                f"  verdict with arms merged: {self.merged_verdict} [{self.merged_category}]; "
                f"with the shared-control model: {self.verdict} [{self.category}]"
                f"{' (changes)' if self.changes else ' (the same)'}",
            ]
        )


def _fail(path: Path, message: str) -> MetaacuInputError:
    return MetaacuInputError(f"{path}: [shared_control] {message}")


def check_section(path: Path, reg: dict[str, Any], ds: Dataset) -> None:
    """Validate the optional ``[shared_control]`` section (errors name the key and the entry).

    Keys: ``model`` (one of :data:`MODELS`), ``model_reason``, ``covariance_source`` and ``claims``, a
    list of ``{id, row}``: a claim id and the id of one of its evidence rows that merges at least two
    arms of one trial (``exp``) against that trial's control (``ctl``), on the mean difference.

    Examples
    --------
    >>> from metaacu.audit import default_data_dir, load_dataset, load_registry
    >>> ds = load_dataset()
    >>> reg = load_registry(dataset=ds)  # calls check_section
    >>> bad = {**reg, "shared_control": {**reg["shared_control"], "model": "REML"}}
    >>> check_section(default_data_dir() / "claims.toml", bad, ds)
    Traceback (most recent call last):
    ...
    metaacu._validation.MetaacuInputError: ...[shared_control] model 'REML' is not one of ['EE']: ...
    """
    cfg = reg.get("shared_control")
    if cfg is None:
        return
    for key in ("model", "model_reason", "covariance_source", "claims"):
        if key not in cfg:
            raise _fail(path, f"missing key {key!r}")
    if cfg["model"] not in MODELS:
        raise _fail(
            path,
            f"model {cfg['model']!r} is not one of {sorted(MODELS)}: every entry splits the arms of one trial, "
            "and a between-arm variance is not estimable from two correlated effects of one trial",
        )
    if not isinstance(cfg["claims"], list) or not cfg["claims"]:
        raise _fail(path, "claims must be a non-empty list of {id, row} tables")
    claims = {c.get("id"): c for c in reg.get("claim", [])}
    arms = ds.outcomes.set_index("row_id")
    seen: set[tuple[str, str]] = set()
    for i, entry in enumerate(cfg["claims"]):
        where = f"claims[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"id", "row"}:
            raise _fail(path, f"{where} must be a table with exactly the keys 'id' and 'row', got {entry!r}")
        cid, rid = entry["id"], entry["row"]
        if cid not in claims:
            raise _fail(path, f"{where}.id {cid!r} is not a claim of the registry")
        if (cid, rid) in seen:
            raise _fail(path, f"{where}: claim {cid!r} row {rid!r} is listed twice")
        seen.add((cid, rid))
        spec = next((r for r in claims[cid].get("rows", []) if r.get("id") == rid), None)
        if spec is None:
            raise _fail(path, f"{where}.row {rid!r} is not an evidence row of claim {cid!r}")
        if spec.get("source") not in _SOURCES or claims[cid].get("measure") != "MD":
            raise _fail(
                path,
                f"{where}.row {rid!r} must merge arm summaries (source {' or '.join(_SOURCES)}) on a claim with "
                f"measure 'MD'; got source {spec.get('source')!r}, measure {claims[cid].get('measure')!r}",
            )
        exp = list(spec.get("exp", []))
        if len(exp) < 2 or len(set(exp)) != len(exp):
            raise _fail(
                path,
                f"{where}.row {rid!r} compares {len(set(exp))} distinct arm(s) with the control: a trial with at "
                "least 2 arms against one shared control is needed",
            )
        studies = {str(arms.loc[x, "study_id"]) for x in [*exp, spec["ctl"]]}
        if len(studies) != 1:
            raise _fail(path, f"{where}.row {rid!r}: arms and control come from several trials {sorted(studies)}")


def gls_pool(y: np.ndarray, v: np.ndarray, labels: tuple[str, ...]) -> MultilevelMetaAnalysis:
    """Equal-effects GLS of effects ``y`` with sampling covariance ``v``: ``μ̂ = 1ᵀV⁻¹y / 1ᵀV⁻¹1``,
    ``Var(μ̂) = 1 / 1ᵀV⁻¹1``, Wald z interval; fitted by :func:`metaacu.multilevel_meta_analysis` with
    ``V`` and a random intercept per effect held at 0 (metafor: ``rma.mv(yi, V)`` without random effects).
    With a diagonal ``v`` it is the inverse-variance common-effect pool.

    Examples
    --------
    >>> import numpy as np
    >>> fit = gls_pool(np.array([2.3, 2.4]), np.array([[0.37, 0.195], [0.195, 0.39]]), ("a", "b"))
    >>> round(float(fit.estimate[0]), 4), round(float(fit.se[0]), 4)
    (2.3473, 0.5359)
    """
    return multilevel_meta_analysis(
        y, V=v, nested={"arm": list(labels)}, fixed={"sigma2[arm]": 0.0}, test="z", labels=list(labels)
    )


def _one(ds: Dataset, claim: dict[str, Any], spec: dict[str, Any], scenario: Scenario) -> pd.Series:
    return evidence_frame(ds, {**claim, "rows": [spec]}, scenario).iloc[0]


def _analyse(
    cfg: dict[str, Any], claim: dict[str, Any], spec: dict[str, Any], ds: Dataset, reg: dict[str, Any], scn: Scenario
) -> SharedControlAnalysis:
    out = ds.outcomes.set_index("row_id")
    merged = _one(ds, claim, spec, scn)
    parts = [_one(ds, claim, {**spec, "id": f"{spec['id']}:{x}", "exp": [x]}, scn) for x in spec["exp"]]
    y = np.array([float(p["estimate"]) for p in parts])
    vi = np.array([float(p["se"]) ** 2 for p in parts])
    n_c, _, sd_c = arm_summary(ds, spec, out.loc[spec["ctl"]], scn)
    m = len(parts)
    trial = str(merged["study_id"])
    cov = shared_control_covariance("MD", vi, [trial] * m, n_control=[n_c] * m, sd_control=[sd_c] * m)
    arms = tuple(str(out.loc[x, "arm_id"]) for x in spec["exp"])
    fit = gls_pool(y, cov.to_dense(), arms)
    est, se = float(fit.estimate[0]), float(fit.se[0])
    lo, hi = float(fit.ci_low[0]), float(fit.ci_high[0])
    thr = threshold_value(reg, claim["threshold"], "MD")

    def place(e: float, a: float, b: float) -> rules.Verdict:
        return rules.effect_verdict(e, a, b, thr, claim["claim_kind"], display("MD"), "MD")

    shared, joined = place(est, lo, hi), place(*(float(merged[k]) for k in ("estimate", "ci_low", "ci_high")))
    return SharedControlAnalysis(
        claim_id=str(claim["id"]),
        row_id=str(spec["id"]),
        use=str(spec["use"]),
        label=str(merged["label"]),
        trial=trial,
        arms=arms,
        arm_estimates=tuple(float(v) for v in y),
        arm_se=tuple(float(v) for v in np.sqrt(vi)),
        control=str(out.loc[spec["ctl"], "arm_id"]),
        n_control=float(n_c),
        sd_control=float(sd_c),
        covariance=cov,
        model=fit,
        model_name=str(cfg["model"]),
        estimate=est,
        se=se,
        ci_low=lo,
        ci_high=hi,
        category=shared.category,
        verdict=shared.verdict,
        merged_estimate=float(merged["estimate"]),
        merged_se=float(merged["se"]),
        merged_ci_low=float(merged["ci_low"]),
        merged_ci_high=float(merged["ci_high"]),
        merged_category=joined.category,
        merged_verdict=joined.verdict,
        threshold=thr,
    )


def analyse_claim(
    cfg: dict[str, Any] | None, claim: dict[str, Any], ds: Dataset, reg: dict[str, Any], scenario: Scenario
) -> tuple[SharedControlAnalysis, ...]:
    """The shared-control analyses the registry lists for ``claim`` (empty when none), under ``scenario``.

    Examples
    --------
    >>> from metaacu.audit import load_dataset, load_registry
    >>> from metaacu.audit.evidence import Scenario
    >>> ds = load_dataset(); reg = load_registry(dataset=ds)
    >>> claim = {c["id"]: c for c in reg["claim"]}["practitioner_skill"]
    >>> [a.use for a in analyse_claim(reg["shared_control"], claim, ds, reg, Scenario(correlation=0.5))]
    ['support']
    """
    if cfg is None:
        return ()
    rows = {r["id"]: r for r in claim.get("rows", [])}
    return tuple(
        _analyse(cfg, claim, rows[e["row"]], ds, reg, scenario) for e in cfg["claims"] if e["id"] == claim["id"]
    )


def csv_columns(r: ClaimResult) -> dict[str, Any]:
    """``claims.csv`` columns of the shared-control model of the claim's deciding row (blank if none).

    Examples
    --------
    >>> from metaacu.audit import evaluate_claim
    >>> csv_columns(evaluate_claim("specific_effect_cherkin2009"))["verdict_changes_under_shared_control"]
    False
    """
    a = next((x for x in r.shared_control if x.use == "decide"), None)
    return {
        "shared_control_estimate": a.estimate if a else "",
        "shared_control_ci_low": a.ci_low if a else "",
        "shared_control_ci_high": a.ci_high if a else "",
        "shared_control_verdict": a.verdict if a else "",
        "verdict_changes_under_shared_control": a.changes if a else "",
    }


def section_frame(results: list[ClaimResult]) -> pd.DataFrame:
    """One row per registered merged row: the merged-arm result next to the shared-control model.

    Examples
    --------
    >>> from metaacu.audit import evaluate_claim
    >>> list(section_frame([evaluate_claim("specific_effect_cherkin2009")])["changes"])
    ['no']
    """
    rows = []
    for r in results:
        for a in r.shared_control:
            rows.append(
                {
                    "claim": a.claim_id,
                    "evidence row (use)": f"{a.row_id} ({a.use})",
                    "arms vs shared control": f"{' + '.join(a.arms)} vs {a.control}",
                    "arm effects (SE)": "; ".join(
                        f"{y:.2f} ({s:.2f})" for y, s in zip(a.arm_estimates, a.arm_se, strict=True)
                    ),
                    "arm correlation": f"{a.correlation:.3f}",
                    "merged arms": f"{a.merged_estimate:.2f} ({a.merged_ci_low:.2f} to {a.merged_ci_high:.2f})",
                    "verdict, merged": a.merged_verdict,
                    "shared-control model": f"{a.estimate:.2f} ({a.ci_low:.2f} to {a.ci_high:.2f})",
                    "verdict, shared control": a.verdict,
                    "changes": "yes" if a.changes else "no",
                    "decides the claim": "yes" if a.use == "decide" else "no (support row)",
                }
            )
    return pd.DataFrame(rows)


def _intro() -> str:
    return (
        "Where a claim's evidence merges arms of one trial before comparing them with the trial's one control "
        "(Cochrane Handbook formula for combining groups), the audit also keeps the arms apart: each arm against "
        "the shared control is its own mean difference, correlated with the others through the control arm "
        "(covariance s_c^2/n_c, Gleser & Olkin 2009 in Cooper, Hedges & Valentine, Handbook of Research "
        "Synthesis and Meta-Analysis, 2nd ed., ch. 19; metafor's vcalc), and they are pooled by generalised "
        "least squares with that covariance (an equal-effects model: with two correlated arm effects from one "
        "trial a between-arm variance is not estimable). Both are placed by the claim's own rule and threshold; "
        "the verdict stays the merged-arm one (see `[shared_control]` in data/claims.toml)."
    )


def section_markdown(results: list[ClaimResult]) -> list[str]:
    """The ``claims.md`` section (no lines when nothing is registered)."""
    frame = section_frame(results)
    if frame.empty:
        return []
    lines = [f"## {_TITLE}", "", _intro(), "", "| " + " | ".join(frame.columns) + " |", "|" + "---|" * frame.shape[1]]
    lines += ["| " + " | ".join(str(v).replace("|", "/") for v in row) + " |" for row in frame.itertuples(index=False)]
    return [*lines, ""]


def section_html(results: list[ClaimResult]) -> list[str]:
    """The ``report.html`` section (no parts when nothing is registered)."""
    frame = section_frame(results)
    if frame.empty:
        return []
    return [
        f"<h2 id='shared_control'>{html.escape(_TITLE)}</h2>",
        f"<p>{html.escape(_intro())}</p>",
        "<div class='scroll'>" + frame.to_html(index=False, border=0) + "</div>",
    ]
