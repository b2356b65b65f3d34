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
# # Specific effects: does needling the correct points matter?
#
# Reproduces the audit of three claims about the *specific* effect of acupuncture, i.e. the part of the
# benefit that a convincing sham does not also produce. Vickers 2018 is quoted for two of them: real
# acupuncture beats sham (Table 7, by sham type) and the correct points matter (Table 8, which compares
# trials whose sham used true points with trials whose sham used non-points, an indirect between-trial
# comparison). The chronic low back pain trial the article cites, Cherkin 2009, had real and simulated
# acupuncture arms and tests the specific effect directly. Numbers come from `data/pooled_results.csv`
# and `data/outcomes.csv`; rules and thresholds from `data/claims.toml`.
#
# Each section walks the chain **data → effect sizes → model → forest plot → verdict**; the notebook
# ends with what would change each verdict. Values are on the benefit scale (positive favours
# acupuncture).

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
# ## Claim `specific_effect_vs_sham`
#
# ### What the claim is and how the registry tests it
# The three sham types in Vickers 2018 Table 7 (penetrating needles, non-penetrating needles, non-needle
# shams) cover different trials, so their estimates are independent and are combined in a random-effects
# model. The review's overall estimate against sham and an earlier review (Madsen 2009) are shown next to
# the pooled result but not pooled with it, because they summarise overlapping trials.

# %%
describe("specific_effect_vs_sham")
display(row_specs("specific_effect_vs_sham"))

# %% [markdown]
# ### Data

# %%
display(pooled_rows("specific_effect_vs_sham"))

# %% [markdown]
# ### Effect sizes
# Standard errors are recovered from the published confidence intervals (width divided by twice the
# normal quantile); Madsen 2009 reports its SMD with the opposite sign convention, which `sign = -1`
# corrects.

# %%
mine = from_published_ci("specific_effect_vs_sham")
display(mine)
res = evaluate_claim("specific_effect_vs_sham", registry=registry, dataset=data)
compare_with_audit(res, mine.dropna(subset=["se"]))

# %% [markdown]
# ### Model
# REML random effects with a Wald z interval, as the registry prescribes. Note the weights: the
# penetrating-sham subgroup has by far the smallest standard error, but with τ² added to every variance
# the weights become much more even than the precisions alone would give. The prediction interval says
# where the specific effect of a new sham comparison would be expected to fall.

# %%
print(res.model.summary())
print("\nweights (%): " + ", ".join(f"{lab}: {w:.1f}" for lab, w in zip(res.model.labels, res.model.weights)))

# %% [markdown]
# ### Forest plot

# %%
show_figure(res)

# %% [markdown]
# ### Verdict
# `supported_below_threshold` means the confidence interval excludes no effect (there *is* a specific
# effect, in the claimed direction) but the best estimate is smaller than the clinical-relevance
# threshold, so the claim's "clinically relevant margin" is not shown.

# %%
explain_verdict(res)

# %% [markdown]
# ## Claim `specific_effect_points`
#
# ### What the claim is and how the registry tests it
# If the correct points matter, a sham placed on true points should do some good itself, so acupuncture
# should beat it by *less* than it beats a sham on non-points. Vickers 2018 Table 8 gives that difference
# (true-point shams minus non-point shams); `sign = -1` makes a positive value mean "the points matter".
# Nothing is pooled: the main row is the review's primary analysis, the other two are its sensitivity
# analyses of the same trials.

# %%
describe("specific_effect_points")
display(row_specs("specific_effect_points"))

# %% [markdown]
# ### Data

# %%
display(pooled_rows("specific_effect_points"))

# %% [markdown]
# ### Effect sizes

# %%
mine = from_published_ci("specific_effect_points")
display(mine)
res = evaluate_claim("specific_effect_points", registry=registry, dataset=data)
compare_with_audit(res, mine)

# %% [markdown]
# ### Model
# No model is fitted: the primary row (marked `primary`) decides the verdict on its own.

# %%
print(f"model: {res.model}")
print(f"deciding row: {res.evidence.loc[res.evidence['primary'], 'label'].iloc[0]}")

# %% [markdown]
# ### Forest plot

# %%
show_figure(res)

# %% [markdown]
# ### Verdict
# `inconclusive` here means the interval is wide enough to include no difference as well as large
# differences either way: the indirect comparison cannot tell whether the points matter.

# %%
explain_verdict(res)

# %% [markdown]
# ## Claim `specific_effect_cherkin2009`
#
# ### What the claim is and how the registry tests it
# Within Cherkin 2009, real acupuncture (both real arms merged) against simulated acupuncture (a
# toothpick pressed on the skin, no penetration), on Roland-Morris disability scores at the end of
# treatment.

# %%
describe("specific_effect_cherkin2009")
display(row_specs("specific_effect_cherkin2009"))

# %% [markdown]
# ### Data
# Arm-level final scores. Two arms come from a secondary transcription of the trial's Table 2 and two
# from an NCBI Bookshelf figure (see `source` and `locator`); the `n` column is empty where the
# analysed number is not reported.

# %%
display(arm_rows("specific_effect_cherkin2009"))

# %% [markdown]
# ### Effect sizes
# Cherkin 2009 had two real-acupuncture arms (individualized and standardized). To compare "acupuncture"
# with one control arm without using the control twice, the two arms are first merged into one group
# with the Cochrane Handbook formula (Table 6.5.a): the combined mean is the size-weighted mean, and the
# combined SD adds the spread *between* the two arm means to the pooled within-arm variance. Where an
# arm's analysed n is missing, the randomised n from `arms.csv` is used (the claim flags this). Then
# `metaacu.effect_sizes("SMD", ...)` gives Hedges' g (the SMD with its small-sample correction) for the
# merged and the single-arm contrasts. The RMDQ is scored so that higher is worse, so the registry's
# `sign = -1` turns "acupuncture arm has lower (better) scores" into a positive benefit.

# %%
out = data.outcomes.set_index("row_id")
n_rand = data.arms.set_index("arm_id")["n_randomised"]


def arm_summary(row_id):
    """(n, mean, sd) of one arm; randomised n where the analysed n is not reported."""
    r = out.loc[row_id]
    n = r["n"] if pd.notna(r["n"]) else n_rand[r["arm_id"]]
    return float(n), float(r["mean"]), float(r["sd"])


def merge_arms(*arms):
    """Combine arms (n, mean, sd) into one group, Cochrane Handbook Table 6.5.a, applied pairwise."""
    n, m, s = arms[0]
    for n2, m2, s2 in arms[1:]:
        tot = n + n2
        mean = (n * m + n2 * m2) / tot
        var = ((n - 1) * s**2 + (n2 - 1) * s2**2 + n * n2 / tot * (m - m2) ** 2) / (tot - 1)
        n, m, s = tot, mean, math.sqrt(var)
    return n, m, s


def smd_rows(claim_id):
    """Hedges' g on the benefit scale for every arm-level row of a claim, via metaacu.effect_sizes."""
    rows = []
    for spec in CLAIMS[claim_id]["rows"]:
        if spec["source"] != "continuous_arms":
            continue
        exp = spec["exp"] if isinstance(spec["exp"], list) else [spec["exp"]]
        n1, m1, s1 = merge_arms(*(arm_summary(x) for x in exp))
        n2, m2, s2 = arm_summary(spec["ctl"])
        es = metaacu.effect_sizes("SMD", labels=[spec["label"]], n1=[n1], mean1=[m1], sd1=[s1],
                                  n2=[n2], mean2=[m2], sd2=[s2])
        f = es.to_frame().iloc[0]
        rows.append({"label": spec["label"], "n1": n1, "mean1": m1, "sd1": s1, "n2": n2, "mean2": m2, "sd2": s2,
                     "g (raw scale)": f["yi"], "sign": spec["sign"], "estimate": spec["sign"] * f["yi"], "se": f["se"]})
    return pd.DataFrame(rows).set_index("label")

# %%
mine = smd_rows("specific_effect_cherkin2009")
display(mine)
res = evaluate_claim("specific_effect_cherkin2009", registry=registry, dataset=data)
compare_with_audit(res, mine, by="label")

# %% [markdown]
# ### Model
# Only the merged contrast is "pooled", so this is a random-effects model with a single study: it just
# returns that study's estimate and Wald interval (no heterogeneity can be estimated). The single-arm
# contrasts are shown in the plot but not pooled, because they share the control arm with the merged
# contrast and with each other.

# %%
print(res.model.summary())

# %% [markdown]
# ### Forest plot

# %%
show_figure(res)

# %% [markdown]
# ### Verdict

# %%
explain_verdict(res)

# %% [markdown]
# ## What would change the verdict
#
# **Against sham.** Leave-one-out scenarios over the three sham types, then (outside the prespecified
# rule) the Knapp-Hartung interval, which with three rows uses a t distribution with few degrees of
# freedom and so reflects the uncertainty in τ².

# %%
res = evaluate_claim("specific_effect_vs_sham", registry=registry, dataset=data)
what_would_change(res)
knha_check(res)

# %% [markdown]
# **Points and Cherkin 2009.** No sensitivity scenarios are defined (nothing is imputed and at most one
# row is pooled). For the points claim the review's own sensitivity analyses are in the evidence table;
# for Cherkin 2009 the single-arm contrasts show whether either real arm alone changes the picture.

# %%
for cid in ("specific_effect_points", "specific_effect_cherkin2009"):
    r = evaluate_claim(cid, registry=registry, dataset=data)
    what_would_change(r)
    _, thr = threshold_of(r)
    for _, e in r.evidence[~r.evidence["primary"] & ~r.evidence["pooled"]].iterrows():
        if pd.notna(e["ci_low"]) and e["measure"] == r.measure:
            print(f"  if '{e['label']}' decided: {r.show(e['estimate'])} "
                  f"({r.show(e['ci_low'])} to {r.show(e['ci_high'])}) -> "
                  f"{apply_rule(r.claim['rule'], e['estimate'], e['ci_low'], e['ci_high'], thr)}")
    print()
