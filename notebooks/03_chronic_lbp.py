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
# # Chronic low back pain
#
# Reproduces the audit of three claims about chronic low back pain. The article points to a
# meta-analysis of many studies (Manheimer 2005) and to the Cherkin 2009 trial. The review-level claims
# use published pooled estimates: Manheimer 2005 against sham and against no added treatment, and the
# later Cochrane review (Mu 2020, which includes Cherkin 2009) against usual care on a pain scale with a
# minimal important difference. For Cherkin 2009 the end-of-treatment Roland-Morris scores of all four
# arms are public (some only through secondary copies), so its effect size is computed from arm data.
# Numbers come from `data/pooled_results.csv` and `data/outcomes.csv`; rules and thresholds from
# `data/claims.toml`.
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
    pooled_rows,
    row_specs,
    setup,
    show_figure,
    threshold_of,
    what_would_change,
)

data, registry, CLAIMS = setup()  # validated data/*.csv, data/claims.toml, claims by id

# %% [markdown]
# ## Claim `chronic_lbp_effective`
#
# ### What the claim is and how the registry tests it
# "A meta-analysis shows acupuncture is effective." The review reports several comparisons; the
# registry takes the comparison with sham as primary (the strictest test of effectiveness) and shows the
# others, including two later reviews, next to it. None of them is pooled with another: they overlap in
# trials, and each is already a pooled result.

# %%
describe("chronic_lbp_effective")
display(row_specs("chronic_lbp_effective"))

# %% [markdown]
# ### Data
# Note the `k_trials` column: the primary comparison rests on far fewer trials than the number the
# article quotes for the whole review.

# %%
display(pooled_rows("chronic_lbp_effective"))

# %% [markdown]
# ### Effect sizes
# Standard errors from the published confidence intervals. Two rows are function scores reported as
# "lower is better", so `sign = -1` turns them to the benefit scale.

# %%
mine = from_published_ci("chronic_lbp_effective")
display(mine)
res = evaluate_claim("chronic_lbp_effective", registry=registry, dataset=data)
_ = compare_with_audit(res, mine)

# %% [markdown]
# ### Model
# No model is fitted; the primary published estimate decides.

# %%
print(f"model: {res.model}")
print(f"deciding row: {res.evidence.loc[res.evidence['primary'], 'label'].iloc[0]}")

# %% [markdown]
# ### Forest plot

# %%
show_figure(res)

# %% [markdown]
# ### Verdict
# The SMD threshold is a fixed fraction of a standard deviation, taken from Norman and colleagues'
# observation that the smallest change patients notice on many quality-of-life instruments is about that
# size (value and source printed below). Because the point estimate only has to *reach* it, a
# `supported` verdict does not mean the whole interval is above the threshold; the check "threshold
# inside the CI" shows whether the data could also be compatible with a smaller effect.

# %%
explain_verdict(res)

# %% [markdown]
# ## Claim `chronic_lbp_pain_vs_usual_care`
#
# ### What the claim is and how the registry tests it
# Pain relief compared with usual care, on a pain scale where the minimal important difference for back
# pain is well studied (Ostelo 2008). The evidence is the Cochrane review's pooled mean difference.

# %%
describe("chronic_lbp_pain_vs_usual_care")
display(row_specs("chronic_lbp_pain_vs_usual_care"))

# %% [markdown]
# ### Data

# %%
display(pooled_rows("chronic_lbp_pain_vs_usual_care"))

# %% [markdown]
# ### Effect sizes
# Mean differences in pain are reported as acupuncture minus usual care (negative = less pain), so the
# sign is flipped.

# %%
mine = from_published_ci("chronic_lbp_pain_vs_usual_care")
display(mine)
res = evaluate_claim("chronic_lbp_pain_vs_usual_care", registry=registry, dataset=data)
_ = compare_with_audit(res, mine)

# %% [markdown]
# ### Model
# No model is fitted; the published random-effects estimate decides.

# %%
print(f"model: {res.model}")

# %% [markdown]
# ### Forest plot

# %%
show_figure(res)

# %% [markdown]
# ### Verdict

# %%
explain_verdict(res)

# %% [markdown]
# ## Claim `chronic_lbp_cherkin_vs_usual_care`
#
# ### What the claim is and how the registry tests it
# Within Cherkin 2009: both real-acupuncture arms merged against usual care, on Roland-Morris disability
# at the end of treatment. The Cochrane review's SMD for the same comparison is shown beside it (not
# pooled, since it contains this trial).

# %%
describe("chronic_lbp_cherkin_vs_usual_care")
display(row_specs("chronic_lbp_cherkin_vs_usual_care"))

# %% [markdown]
# ### Data
# Arm-level final scores with their sources; `n` is empty where the analysed number is not reported.

# %%
display(arm_rows("chronic_lbp_cherkin_vs_usual_care"))
display(pooled_rows("chronic_lbp_cherkin_vs_usual_care"))

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
mine = arm_effect_sizes("chronic_lbp_cherkin_vs_usual_care")
display(mine)
res = evaluate_claim("chronic_lbp_cherkin_vs_usual_care", registry=registry, dataset=data)
_ = compare_with_audit(res, mine, by="label")

# %% [markdown]
# ### Model
# A random-effects model with a single study (the merged contrast): it returns that study's estimate
# and Wald interval; τ² cannot be estimated and the prediction interval collapses onto the CI. The
# single-arm contrasts share the usual-care arm and are only shown.

# %%
print(res.model.summary())

# %% [markdown]
# ### Forest plot

# %%
show_figure(res)

# %% [markdown]
# ### Verdict
# `supported_below_threshold`: the trial shows a benefit over usual care (the interval excludes no
# effect), but its best estimate falls short of the relevance threshold, so "clinically relevant" is not
# established.

# %%
explain_verdict(res)

# %% [markdown]
# ## What would change the verdict
#
# None of these claims has prespecified sensitivity scenarios (nothing is imputed, at most one row is
# pooled). What the verdicts lean on is in the flags. We add two checks: whether the threshold lies
# inside the confidence interval (if it does, the data cannot tell whether the effect is above or below
# it, so a small shift in the estimate could flip `supported` and `supported_below_threshold`), and
# what the verdict would be if one of the rows that are only shown had decided instead.

# %%
for cid in ("chronic_lbp_effective", "chronic_lbp_pain_vs_usual_care", "chronic_lbp_cherkin_vs_usual_care"):
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
