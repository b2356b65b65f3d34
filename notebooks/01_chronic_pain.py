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
# # Chronic pain: is the effect clinically relevant, and does it last?
#
# The article cites the Acupuncture Trialists' Collaboration individual-patient-data meta-analysis
# (Vickers 2018) for two claims: a clinically relevant effect on chronic pain, and an effect that lasts
# at least 12 months with only a small decline. The IPD themselves are not public, so this notebook works
# from the review's published tables (Table 7: effect by type of control group) and from MacPherson
# 2017, which modelled the decline of the effect over time in the same dataset.
#
# Everything below is on the benefit scale: a positive standardised mean difference favours acupuncture.
# The clinical-relevance threshold (half a standard deviation) and the verdict rules are fixed in
# `data/claims.toml` before any number is computed.

# %%
import matplotlib
matplotlib.use("Agg")
from metaacu.audit import claim_figure
from metaacu.claims import evaluate_claim, load_registry
from metaacu.data import load_dataset

data = load_dataset()
registry = load_registry(dataset=data)

# %% [markdown]
# ## Claim `chronic_pain_effect`

# %%
res = evaluate_claim("chronic_pain_effect", registry=registry, dataset=data)
print(res.summary())

# %%
fp = claim_figure(res)
fp.figure if fp is not None else None

# %% [markdown]
# ## Claim `persistence_12_months`

# %%
res = evaluate_claim("persistence_12_months", registry=registry, dataset=data)
print(res.summary())

# %%
fp = claim_figure(res)
fp.figure if fp is not None else None

