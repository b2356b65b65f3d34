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
# Everything comes from the package: the validated extraction tables (`metaacu.audit.data.load_dataset()`),
# the claims registry (`metaacu.audit.claims.load_registry()`, which checks every id it names against the
# tables), the audit itself (`evaluate_claim`) and the forest plots (`metaacu.audit.figures.claim_figure`).
# The helpers imported from `metaacu.audit.walkthrough` only *display* those objects, or redo one step of the audit by hand so
# that each step can be checked; they do not change any verdict. Figures are drawn with the
# non-interactive Agg backend and shown as PNG images.

# %%
import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
from IPython.display import display

import metaacu
from metaacu.audit.claims import evaluate_claim
from metaacu.audit.walkthrough import (
    apply_rule,
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
_ = compare_with_audit(res, mine)

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
_ = compare_with_audit(res, mine, by="label")

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
_ = compare_with_audit(res, mine)
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
# ## Claim `acute_pain_vs_medication_trials_6m`
#
# The same trial measured pain again at 24 weeks. The claim that acupuncture works better than
# medication only matters to patients if the advantage lasts, so the later time point is audited as a
# claim of its own rather than shown as a footnote.

# %%
describe("acute_pain_vs_medication_trials_6m")
display(row_specs("acute_pain_vs_medication_trials_6m"))

# %% [markdown]
# ### Data and effect sizes
# The arm-level rows with their provenance, then the effect size recomputed from them.

# %%
display(arm_rows("acute_pain_vs_medication_trials_6m"))

# %%
res = evaluate_claim("acute_pain_vs_medication_trials_6m", registry=registry, dataset=data)
print(res.summary())

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
for cid in ("acute_pain_vs_medication", "acute_pain_vs_medication_trials", "acute_pain_vs_medication_trials_6m", "acute_lbp_vs_sham"):
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
