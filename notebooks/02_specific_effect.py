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
# # Specific effects: does needling the correct points matter?
#
# Vickers 2018 is quoted as saying that needling at the correct points contributes specifically to the
# benefit. Two numbers bear on this: how much real acupuncture beats sham (Table 7, by sham type), and
# whether the benefit over sham depends on where the sham needles went (Table 8: sham at true points vs
# sham at non-points). The second is an indirect, between-trial comparison, which we flag.
#
# The chronic low back pain trial the article cites, Cherkin 2009, had both real-acupuncture arms
# and a simulated-acupuncture arm, so it tests the specific effect directly within one trial; its
# two real-acupuncture arms are merged with the Cochrane Handbook formula before the comparison.

# %%
import matplotlib
matplotlib.use("Agg")
from metaacu.audit import claim_figure
from metaacu.claims import evaluate_claim, load_registry
from metaacu.data import load_dataset

data = load_dataset()
registry = load_registry(dataset=data)

# %% [markdown]
# ## Claim `specific_effect_vs_sham`

# %%
res = evaluate_claim("specific_effect_vs_sham", registry=registry, dataset=data)
print(res.summary())

# %%
fp = claim_figure(res)
fp.figure if fp is not None else None

# %% [markdown]
# ## Claim `specific_effect_points`

# %%
res = evaluate_claim("specific_effect_points", registry=registry, dataset=data)
print(res.summary())

# %%
fp = claim_figure(res)
fp.figure if fp is not None else None

# %% [markdown]
# ## Claim `specific_effect_cherkin2009`

# %%
res = evaluate_claim("specific_effect_cherkin2009", registry=registry, dataset=data)
print(res.summary())

# %%
fp = claim_figure(res)
fp.figure if fp is not None else None
