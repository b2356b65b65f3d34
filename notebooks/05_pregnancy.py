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
# # Back and pelvic pain in pregnancy
#
# Two small trials are cited: Guerreiro da Silva 2004 (quasi-randomised) and Kvorning 2004. Both report
# responders, with different definitions, so we pool risk ratios of responding. Kvorning's acupuncture
# responder count is only given as a percentage whose denominator is unclear; the registry fixes two
# imputed counts and the notebook shows the verdict under each (sensitivity), and without each trial.

# %%
import matplotlib
matplotlib.use("Agg")
from metaacu.audit import claim_figure
from metaacu.claims import evaluate_claim, load_registry
from metaacu.data import load_dataset

data = load_dataset()
registry = load_registry(dataset=data)

# %% [markdown]
# ## Claim `pregnancy_pain_relief`

# %%
res = evaluate_claim("pregnancy_pain_relief", registry=registry, dataset=data)
print(res.summary())

# %%
fp = claim_figure(res)
fp.figure if fp is not None else None

# %% [markdown]
# ## Claim `pregnancy_activity_drugs`

# %%
res = evaluate_claim("pregnancy_activity_drugs", registry=registry, dataset=data)
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

