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
# # Immediate relief after one treatment
#
# In its FAQ the article says few people feel relief right after a single treatment. Yet two of the trials
# it cites (Inoue 2006 and Shin 2013) measured pain immediately after the first session. A later review
# (Xiang 2017) pooled such immediate effects, including these trials. The claim is about the share of
# patients relieved; the evidence gives mean differences, which we flag.

# %%
import matplotlib
matplotlib.use("Agg")
from metaacu.audit import claim_figure
from metaacu.claims import evaluate_claim, load_registry
from metaacu.data import load_dataset

data = load_dataset()
registry = load_registry(dataset=data)

# %% [markdown]
# ## Claim `immediate_relief_few`

# %%
res = evaluate_claim("immediate_relief_few", registry=registry, dataset=data)
print(res.summary())

# %%
fp = claim_figure(res)
fp.figure if fp is not None else None

