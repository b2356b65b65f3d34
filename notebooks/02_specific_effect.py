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
# Everything comes from the package: the validated extraction tables (`metaacu.audit.data.load_dataset()`),
# the claims registry (`metaacu.audit.claims.load_registry()`, which checks every id it names against the
# tables), the audit itself (`evaluate_claim`) and the forest plots (`metaacu.audit.figures.claim_figure`).
# The helpers imported from `metaacu.audit.walkthrough` only *display* those objects, or redo one step of the audit by hand so
# that each step can be checked; they do not change any verdict. Figures are drawn with the
# non-interactive Agg backend and shown as PNG images.

# %%
import matplotlib

matplotlib.use("Agg")
import pandas as pd
from IPython.display import display

from metaacu.audit.claims import evaluate_claim
from metaacu.audit.walkthrough import (
    apply_rule,
    arm_effect_sizes,
    arm_rows,
    compare_with_audit,
    describe,
    explain_verdict,
    from_published_ci,
    knha_check,
    pooled_rows,
    row_specs,
    setup,
    show_figure,
    threshold_of,
    what_would_change,
)

data, registry, CLAIMS = setup()  # validated data/*.csv, data/claims.toml, claims by id

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
_ = compare_with_audit(res, mine.dropna(subset=["se"]))

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
_ = compare_with_audit(res, mine)

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
mine = arm_effect_sizes("specific_effect_cherkin2009")
display(mine)
res = evaluate_claim("specific_effect_cherkin2009", registry=registry, dataset=data)
_ = compare_with_audit(res, mine, by="label")

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
