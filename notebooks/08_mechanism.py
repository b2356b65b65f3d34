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
# Takano 2012 measured adenosine by microdialysis in human volunteers around needling at ST36. We could
# extract the direction of the change but no public numbers, and the link to back-pain relief is not part
# of the study, so the verdict can only be weak.

# %%
import matplotlib
matplotlib.use("Agg")
from metaacu.audit import claim_figure
from metaacu.claims import evaluate_claim, load_registry
from metaacu.data import load_dataset

data = load_dataset()
registry = load_registry(dataset=data)

# %% [markdown]
# ## Claim `adenosine_mechanism`

# %%
res = evaluate_claim("adenosine_mechanism", registry=registry, dataset=data)
print(res.summary())

# %%
fp = claim_figure(res)
fp.figure if fp is not None else None

