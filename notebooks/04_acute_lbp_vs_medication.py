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
# For acute pain the article says acupuncture beats medication. The review it cites (Lee 2013) pooled
# global improvement against NSAIDs as a risk ratio; the trial it cites (Shin 2013) compared motion-style
# acupuncture with an NSAID injection. A risk ratio of 1.25 is GRADE's default threshold for an
# appreciable benefit; for the 0-10 pain scale we use 1.5 points.

# %%
import matplotlib
matplotlib.use("Agg")
from metaacu.audit import claim_figure
from metaacu.claims import evaluate_claim, load_registry
from metaacu.data import load_dataset

data = load_dataset()
registry = load_registry(dataset=data)

# %% [markdown]
# ## Claim `acute_pain_vs_medication`

# %%
res = evaluate_claim("acute_pain_vs_medication", registry=registry, dataset=data)
print(res.summary())

# %%
fp = claim_figure(res)
fp.figure if fp is not None else None

# %% [markdown]
# ## Claim `acute_pain_vs_medication_trials`

# %%
res = evaluate_claim("acute_pain_vs_medication_trials", registry=registry, dataset=data)
print(res.summary())

# %%
fp = claim_figure(res)
fp.figure if fp is not None else None

# %% [markdown]
# ## Claim `acute_lbp_vs_sham`

# %%
res = evaluate_claim("acute_lbp_vs_sham", registry=registry, dataset=data)
print(res.summary())

# %%
fp = claim_figure(res)
fp.figure if fp is not None else None

