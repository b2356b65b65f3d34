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
# # Acute low back pain: better than medication?
#
# Reproduces the audit of three claims about acute low back pain. The article says acupuncture beats
# medication for acute pain and works beyond sham. The review it cites (Lee 2013) pooled global
# improvement against NSAIDs as a risk ratio and pain against sham as a mean difference; the trial it
# cites (Shin 2013) compared motion-style acupuncture with an NSAID injection and reports change scores
# per arm. Numbers come from `data/pooled_results.csv` and `data/outcomes.csv`; rules and thresholds
# from `data/claims.toml`.
#
# Each section walks the chain **data → effect sizes → model → forest plot → verdict**; the notebook
# ends with what would change each verdict. Values are on the benefit scale (positive favours
# acupuncture; log scale for risk ratios).

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
# ## Claim `acute_pain_vs_medication`
#
# ### What the claim is and how the registry tests it
# The primary evidence is Lee 2013's pooled risk ratio of global improvement against NSAIDs. A later
# review (Lin 2024) is shown beside it; it is not pooled with Lee 2013 because the two summarise
# overlapping trials.

# %%
describe("acute_pain_vs_medication")
display(row_specs("acute_pain_vs_medication"))

# %% [markdown]
# ### Data

# %%
display(pooled_rows("acute_pain_vs_medication"))

# %% [markdown]
# ### Effect sizes
# Ratios are analysed on the log scale, where their confidence intervals are symmetric; the SE is the
# width of the log interval divided by twice the normal quantile.

# %%
mine = from_published_ci("acute_pain_vs_medication")
display(mine.assign(RR=np.exp(mine["estimate"])))
res = evaluate_claim("acute_pain_vs_medication", registry=registry, dataset=data)
compare_with_audit(res, mine)

# %% [markdown]
# ### Model
# No model is fitted; the primary published estimate decides.

# %%
print(f"model: {res.model}")

# %% [markdown]
# ### Forest plot

# %%
show_figure(res)

# %% [markdown]
# ### Verdict
# For risk ratios of improvement the registry uses GRADE's default threshold for an appreciable benefit
# (value and source printed below); the comparison is made on the log scale. A verdict of
# `supported_below_threshold` means more patients improve with acupuncture than with NSAIDs, but by less
# than that threshold.

# %%
explain_verdict(res)

# %% [markdown]
# ## Claim `acute_pain_vs_medication_trials`
#
# ### What the claim is and how the registry tests it
# Shin 2013 randomised patients to motion-style acupuncture or an NSAID injection and reported the
# improvement in pain (baseline minus follow-up) with SDs. The registry uses the early follow-up as the
# primary contrast and shows the late follow-up.

# %%
describe("acute_pain_vs_medication_trials")
display(row_specs("acute_pain_vs_medication_trials"))

# %% [markdown]
# ### Data
# Change scores per arm; `n` is the randomised number per arm, an assumption recorded in the data
# (`status = mixed`).

# %%
display(arm_rows("acute_pain_vs_medication_trials"))

# %% [markdown]
# ### Effect sizes
# The mean difference of the improvements, acupuncture minus injection, with `metaacu.effect_sizes("MD",
# ...)`. Because the values are improvements, a positive difference already favours acupuncture
# (`sign = +1`).

# %%
out = data.outcomes.set_index("row_id")
rows = []
for spec in CLAIMS["acute_pain_vs_medication_trials"]["rows"]:
    e, c = out.loc[spec["exp"]], out.loc[spec["ctl"]]
    es = metaacu.effect_sizes("MD", labels=[spec["label"]], n1=[e["n"]], mean1=[e["mean"]], sd1=[e["sd"]],
                              n2=[c["n"]], mean2=[c["mean"]], sd2=[c["sd"]])
    f = es.to_frame().iloc[0]
    rows.append({"label": spec["label"], "estimate": spec["sign"] * f["yi"], "se": f["se"],
                 "ci_low": f["ci_low"], "ci_high": f["ci_high"]})
mine = pd.DataFrame(rows).set_index("label")
display(mine)
res = evaluate_claim("acute_pain_vs_medication_trials", registry=registry, dataset=data)
compare_with_audit(res, mine, by="label")

# %% [markdown]
# ### Model
# A random-effects model with one study returns that study's estimate and Wald interval.

# %%
print(res.model.summary())

# %% [markdown]
# ### Forest plot

# %%
show_figure(res)

# %% [markdown]
# ### Verdict
# The threshold is the back-pain minimal important difference of Ostelo 2008 expressed on a 0-10 pain
# scale (value printed below).

# %%
explain_verdict(res)

# %% [markdown]
# ## Claim `acute_lbp_vs_sham`
#
# ### What the claim is and how the registry tests it
# Lee 2013's pooled pain difference against sham.

# %%
describe("acute_lbp_vs_sham")
display(pooled_rows("acute_lbp_vs_sham"))

# %% [markdown]
# ### Effect sizes
# The published difference is acupuncture minus sham on a pain scale (negative = less pain), so the sign
# is flipped.

# %%
mine = from_published_ci("acute_lbp_vs_sham")
display(mine)
res = evaluate_claim("acute_lbp_vs_sham", registry=registry, dataset=data)
compare_with_audit(res, mine)
print(f"model: {res.model} (the published estimate decides)")

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
# No claim here has prespecified sensitivity scenarios. We show the flags, whether the threshold lies
# inside the interval (then the size of the effect is not pinned down), and the verdict the rule would
# give to each row that is only shown. For the Shin 2013 claim this matters: the claim speaks of both
# follow-ups, but only the early one decides.

# %%
for cid in ("acute_pain_vs_medication", "acute_pain_vs_medication_trials", "acute_lbp_vs_sham"):
    r = evaluate_claim(cid, registry=registry, dataset=data)
    what_would_change(r)
    _, thr = threshold_of(r)
    print(f"  threshold {r.show(thr)} inside the CI {r.show(r.ci_low)} to {r.show(r.ci_high)}: {r.ci_low <= thr <= r.ci_high}")
    for _, e in r.evidence[~r.evidence["primary"] & ~r.evidence["pooled"]].iterrows():
        if pd.notna(e["ci_low"]) and e["measure"] == r.measure:
            print(f"  if '{e['label']}' decided: {r.show(e['estimate'])} "
                  f"({r.show(e['ci_low'])} to {r.show(e['ci_high'])}) -> "
                  f"{apply_rule(r.claim['rule'], e['estimate'], e['ci_low'], e['ci_high'], thr)}")
    print()
