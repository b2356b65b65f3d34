# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
# ---

# %% [markdown]
# # Side effects and safety
#
# Reproduces the audit of two safety claims. Chung 2003 is a narrative review of adverse effects: it
# describes mild, transient effects and rare serious ones, without denominators we could extract.
# Kvorning 2004 counted serious maternal adverse effects in its acupuncture arm. Numbers come from
# `data/adverse_events.csv`; rules from `data/claims.toml`.
#
# Safety claims have no comparison to pool, so the chain is shorter: **data → event rate (where a
# denominator exists) → verdict**, followed by what would change each verdict.

# %% [markdown]
# ## Set-up
#
# Everything comes from the package: the validated extraction tables (`metaacu.data.load_dataset()`),
# the claims registry (`metaacu.claims.load_registry()`, which checks every id it names against the
# tables), the audit itself (`evaluate_claim`) and the forest plots (`metaacu.audit.claim_figure`).
# The helper functions below only *display* those objects, or redo one step of the audit by hand so
# that each step can be checked; they do not change any verdict. Figures are drawn with the
# non-interactive Agg backend and shown as PNG images.

# %%
import io
import math
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Image, display
from scipy import stats

import metaacu
from metaacu.audit import claim_figure
from metaacu.claims import evaluate_claim, load_registry
from metaacu.data import default_data_dir, load_dataset

pd.set_option("display.max_colwidth", 60)
pd.set_option("display.width", 200)
pd.set_option("display.precision", 3)

data = load_dataset()                   # data/*.csv, validated cell by cell
registry = load_registry(dataset=data)  # data/claims.toml
CLAIMS = {c["id"]: c for c in registry["claim"]}
Z975 = float(stats.norm.ppf(0.975))
RATIO = {"RR", "OR"}
PROVENANCE = ["source", "locator", "status"]


def describe(claim_id):
    """Print a claim and the analysis that the registry fixes for it before any number is computed."""
    c = CLAIMS[claim_id]
    print(f"{claim_id}: {c['statement']}")
    for key in ("section", "references", "population", "comparison", "outcome", "timepoint", "measure",
                "model", "threshold", "rule"):
        if key in c:
            print(f"  {key:<11} {c[key]}")


def row_specs(claim_id):
    """How the registry uses each evidence row (sign, pooled or only shown, primary)."""
    frame = pd.DataFrame(CLAIMS[claim_id]["rows"])
    cols = ["id", "source", "sign", "pool", "primary", "label", "impute_exp_events"]
    return frame[[c for c in cols if c in frame]].fillna("")


def pooled_rows(claim_id):
    """The review-level rows (pooled_results.csv) a claim uses, as extracted."""
    ids = [r["id"] for r in CLAIMS[claim_id]["rows"] if r["source"] == "pooled"]
    cols = ["review_id", "comparison", "measure", "estimate", "ci_low", "ci_high", "k_trials",
            "n_participants", *PROVENANCE]
    return data.pooled_results.set_index("analysis_id").loc[ids, cols]


def arm_rows(claim_id):
    """The arm-level rows (outcomes.csv) a claim uses, as extracted (empty columns dropped)."""
    ids = []
    for r in CLAIMS[claim_id]["rows"]:
        if r["source"] in ("binary_arms", "continuous_arms"):
            exp = r["exp"] if isinstance(r["exp"], list) else [r["exp"]]
            ids += [x for x in (*exp, r["ctl"]) if x not in ids]
    cols = ["arm_id", "instrument", "timepoint_weeks", "value_type", "n", "mean", "sd", "events", "total",
            "percent", *PROVENANCE]
    return data.outcomes.set_index("row_id").loc[ids, cols].dropna(axis=1, how="all")


def from_published_ci(claim_id):
    """Benefit-scale estimate and SE of each published row: log scale for ratios, sign flipped where
    the registry says a negative value favours acupuncture, SE = (upper - lower) / (2 z)."""
    table = data.pooled_results.set_index("analysis_id")
    out = []
    for spec in CLAIMS[claim_id]["rows"]:
        if spec["source"] != "pooled":
            continue
        r = table.loc[spec["id"]]
        to_scale = math.log if r["measure"] in RATIO else float
        est, lo, hi = (to_scale(float(r[k])) if pd.notna(r[k]) else math.nan for k in ("estimate", "ci_low", "ci_high"))
        if spec.get("sign", 1) < 0:
            est, lo, hi = -est, -hi, -lo
        out.append({"id": spec["id"], "measure": r["measure"], "sign": spec.get("sign", 1), "estimate": est,
                    "ci_low": lo, "ci_high": hi, "se": (hi - lo) / (2 * Z975)})
    return pd.DataFrame(out).set_index("id")


def compare_with_audit(res, mine, by="source_id"):
    """Largest absolute difference between our hand-made estimates/SEs and the audit's evidence rows."""
    ev = res.evidence.set_index(by).loc[mine.index]
    diff = np.nanmax(np.abs(np.r_[ev["estimate"] - mine["estimate"], ev["se"] - mine["se"]]))
    print(f"largest difference from the audit's evidence table: {diff:.2e}")


def show_figure(res):
    """Draw the claim's forest plot (right of the line favours acupuncture) and show it as a PNG."""
    fp = claim_figure(res)
    if fp is None:
        print("no numeric evidence on the claim's measure: nothing to draw")
        return
    buf = io.BytesIO()
    fp.figure.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    plt.close(fp.figure)
    display(Image(data=buf.getvalue()))


def verdict_definitions():
    """The verdict categories as the registry's header defines them (read from data/claims.toml)."""
    lines = (default_data_dir() / "claims.toml").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.rstrip().endswith("Categories:")) + 1
    defs, key = {}, None
    for line in lines[start:]:
        body = line[1:]
        if not body.strip():
            break
        if body[3] != " ":
            key, text = re.split(r"\s{2,}", body.strip(), maxsplit=1)
            defs[key] = text
        else:
            defs[key] += " " + body.strip()
    return {k: v for key, v in defs.items() for k in key.split(" / ")}


DEFINITIONS = verdict_definitions()


def threshold_of(res):
    """The registry's threshold entry and its value on the benefit scale (log for ratios)."""
    name = res.claim.get("threshold")
    if not name:
        return None, None
    t = registry["thresholds"][name]
    return t, (math.log(t["value"]) if res.is_ratio else float(t["value"]))


def apply_rule(rule, est, lo, hi, thr):
    """The registry's `effect` and `few_effect` rules, redone by hand (benefit scale, no effect = 0)."""
    if rule == "few_effect":
        return "contradicted" if lo > 0 else "supported"
    if hi < 0:
        return "contradicted"
    if lo <= 0:
        return "inconclusive"
    return "supported" if thr is None or est >= thr else "supported_below_threshold"


def explain_verdict(res):
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
        print(f"verdict recomputed here: {mine}   verdict of the audit: {res.verdict}")
        assert mine == res.verdict
    if c["rule"] in ("no_serious_harm", "persistence"):
        print(f"\n{res.verdict}: decided by the '{c['rule']}' rule explained above "
              "(the registry's category text is written for effect claims)")
    else:
        print(f"\n{res.verdict}: {DEFINITIONS[res.verdict]}")
    print(f"reason recorded by the audit: {res.reason}")


def what_would_change(res):
    """The prespecified sensitivity scenarios, whether any changes the verdict, and the flags."""
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


def knha_check(res):
    """Not part of the registry's rule: refit the same model with a Knapp-Hartung (HKSJ) t interval."""
    m = res.model
    alt = metaacu.meta_analysis(m.yi, m.vi, method="REML", test="knha", labels=list(m.labels))
    v = apply_rule(res.claim["rule"], alt.estimate, alt.ci_low, alt.ci_high, threshold_of(res)[1])
    pi = alt.prediction_interval()
    print(f"{res.id}, Knapp-Hartung: {res.show(alt.estimate)} (95% CI {res.show(alt.ci_low)} to "
          f"{res.show(alt.ci_high)}; prediction interval {res.show(pi.low)} to {res.show(pi.high)}, {pi.method}) -> {v}")

# %% [markdown]
# ## Claim `side_effects_mild_rare`
#
# ### What the claim is and how the registry tests it
# Without counts and denominators no rate can be estimated, so the registry applies the `direction_only`
# rule: the review says the same thing as the article, but the audit cannot check how rare "rare" is.

# %%
describe("side_effects_mild_rare")
display(data.adverse_events.set_index("row_id").loc[CLAIMS["side_effects_mild_rare"]["harms"],
                                                     ["event", "serious", "events", "total", "unit", *PROVENANCE]])

# %% [markdown]
# ### Effect sizes, model and plot
# None: the rows have no counts, nothing is pooled and there is nothing to draw.

# %%
res = evaluate_claim("side_effects_mild_rare", registry=registry, dataset=data)
print(f"model: {res.model}")
show_figure(res)

# %% [markdown]
# ### Verdict

# %%
explain_verdict(res)

# %% [markdown]
# ## Claim `pregnancy_no_serious_harm`
#
# ### What the claim is and how the registry tests it
# Zero serious events in a small arm do not show a zero rate. The exact (Clopper-Pearson) confidence
# interval gives the largest rate still compatible with what was seen; the "rule of three" (three divided
# by the number observed) is its quick approximation when no events occur.

# %%
describe("pregnancy_no_serious_harm")
harms = data.adverse_events.set_index("row_id").loc[CLAIMS["pregnancy_no_serious_harm"]["harms"],
                                                     ["arm_id", "event", "serious", "events", "total", "unit", *PROVENANCE]]
display(harms)

# %% [markdown]
# ### Event rate
# The lower bound is zero when no events occur; the upper bound is a beta quantile.

# %%
e, n = int(harms["events"].iloc[0]), int(harms["total"].iloc[0])
upper = 1.0 if e == n else float(stats.beta.ppf(0.975, e + 1, n - e))
lower = 0.0 if e == 0 else float(stats.beta.ppf(0.025, e, n - e + 1))
print(f"{e}/{n} serious events: exact 95% CI {100 * lower:.1f}% to {100 * upper:.1f}%; rule of three {100 * 3 / n:.1f}%")
res = evaluate_claim("pregnancy_no_serious_harm", registry=registry, dataset=data)
print(f"model: {res.model} (nothing to pool)")
show_figure(res)

# %% [markdown]
# ### Verdict
# The `no_serious_harm` rule calls the claim supported when no serious event was seen, and the reason
# states the upper bound the trial cannot exclude.

# %%
explain_verdict(res)

# %% [markdown]
# ## What would change the verdict
#
# Neither rule has sensitivity scenarios. For the narrative review, counts with denominators would allow
# a real estimate. For the trial, a single serious event would change the verdict under this rule; and
# to bring the upper bound of the exact interval below a given rate, far more observed patients with no
# events would be needed, as the table shows.

# %%
for cid in ("side_effects_mild_rare", "pregnancy_no_serious_harm"):
    what_would_change(evaluate_claim(cid, registry=registry, dataset=data))
    print()
needed = []
for rate in (0.05, 0.01, 0.001):
    m = next(m for m in range(1, 100_000) if stats.beta.ppf(0.975, 1, m) < rate)
    needed.append({"upper bound below": f"{100 * rate:g}%", "patients with zero events needed": m})
display(pd.DataFrame(needed))
