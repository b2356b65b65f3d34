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
# # Side effects and safety
#
# Chung 2003 is a narrative review of adverse effects: it describes mild, transient effects and rare
# serious ones, without denominators we could extract. Kvorning 2004 counted serious maternal adverse
# effects; zero events in a small arm still leaves a wide exact confidence interval, shown below.

# %%
import matplotlib
matplotlib.use("Agg")
from metaacu.audit import claim_figure
from metaacu.claims import evaluate_claim, load_registry
from metaacu.data import load_dataset

data = load_dataset()
registry = load_registry(dataset=data)

# %% [markdown]
# ## Claim `side_effects_mild_rare`

# %%
res = evaluate_claim("side_effects_mild_rare", registry=registry, dataset=data)
print(res.summary())

# %%
fp = claim_figure(res)
fp.figure if fp is not None else None

# %% [markdown]
# ## Claim `pregnancy_no_serious_harm`

# %%
res = evaluate_claim("pregnancy_no_serious_harm", registry=registry, dataset=data)
print(res.summary())

# %%
fp = claim_figure(res)
fp.figure if fp is not None else None

