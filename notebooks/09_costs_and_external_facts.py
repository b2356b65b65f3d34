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
# # Costs, and facts this project cannot test
#
# The cost paragraph is arithmetic we can check. The opioid death count, Medicare coverage and the
# survey finding about back pain come from sources outside the article's reference list, so they are
# listed as not testable here.

# %%
import matplotlib
matplotlib.use("Agg")
from metaacu.audit import claim_figure
from metaacu.claims import evaluate_claim, load_registry
from metaacu.data import load_dataset

data = load_dataset()
registry = load_registry(dataset=data)

# %% [markdown]
# ## Claim `cost_arithmetic`

# %%
res = evaluate_claim("cost_arithmetic", registry=registry, dataset=data)
print(res.summary())

# %%
fp = claim_figure(res)
fp.figure if fp is not None else None

# %% [markdown]
# ## Claim `opioid_deaths_2019`

# %%
res = evaluate_claim("opioid_deaths_2019", registry=registry, dataset=data)
print(res.summary())

# %%
fp = claim_figure(res)
fp.figure if fp is not None else None

# %% [markdown]
# ## Claim `medicare_coverage_2020`

# %%
res = evaluate_claim("medicare_coverage_2020", registry=registry, dataset=data)
print(res.summary())

# %%
fp = claim_figure(res)
fp.figure if fp is not None else None

# %% [markdown]
# ## Claim `back_pain_top_cam_reason`

# %%
res = evaluate_claim("back_pain_top_cam_reason", registry=registry, dataset=data)
print(res.summary())

# %%
fp = claim_figure(res)
fp.figure if fp is not None else None

