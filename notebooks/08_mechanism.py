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
# # Mechanism: adenosine
#
# Reproduces the audit of the article's mechanistic claim that acupuncture raises local adenosine, which
# damps pain signalling. The cited study, Takano 2012, measured adenosine by microdialysis around needling
# at an acupuncture point. We could extract the direction of each change but no public concentrations,
# and the link to back-pain relief is outside the study. Rows come from `data/mechanism.csv`; the rule
# from `data/claims.toml`.
#
# The chain **data → effect sizes → model → forest plot → verdict** stops early here: there is no effect
# size to compute.

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
from IPython.display import display

from metaacu.audit.claims import evaluate_claim
from metaacu.audit.walkthrough import (
    PROVENANCE,
    describe,
    explain_verdict,
    setup,
    show_figure,
    what_would_change,
)

data, registry, CLAIMS = setup()  # validated data/*.csv, data/claims.toml, claims by id

# %% [markdown]
# ## Claim `adenosine_mechanism`
#
# ### What the claim is and how the registry tests it
# The `direction_only` rule reads the reported direction of change; with no numbers the best possible
# verdict is `weakly_supported`.

# %%
describe("adenosine_mechanism")

# %% [markdown]
# ### Data
# The rows the rule uses, then all rows of the study: the control conditions (needling without rotation,
# needling outside the point) showed no change, which is what makes the rotated-needle result
# informative.

# %%
mech = data.mechanism.set_index("row_id")
cols = ["condition", "analyte", "timepoint", "n", "value", "unit", "direction", *PROVENANCE]
display(mech.loc[CLAIMS["adenosine_mechanism"]["mechanism"], cols].dropna(axis=1, how="all"))
display(mech[mech["study_id"] == "takano2012"][["condition", "timepoint", "direction", "status"]])

# %% [markdown]
# ### Effect sizes, model and plot
# No concentrations or subject counts are public, so no effect size, no model and no plot.

# %%
res = evaluate_claim("adenosine_mechanism", registry=registry, dataset=data)
print(f"numeric values available: {int(mech.loc[CLAIMS['adenosine_mechanism']['mechanism'], 'value'].notna().sum())}")
print(f"model: {res.model}")
show_figure(res)

# %% [markdown]
# ### Verdict

# %%
explain_verdict(res)

# %% [markdown]
# ## What would change the verdict
#
# Concentrations with their spread and the number of subjects would allow an effect size; a study
# linking the adenosine rise to pain relief in back pain would be needed for the second half of the
# claim.

# %%
what_would_change(res)
