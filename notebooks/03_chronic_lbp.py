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
# # Chronic low back pain
#
# The article points to a meta-analysis of 33 studies (Manheimer 2005) and the Cherkin 2009 trial. The
# per-arm numbers of Cherkin 2009 lack group sizes in the public sources we could reach, so the verdict
# uses published pooled estimates: Manheimer 2005 against sham and no added treatment, and the later
# Cochrane review (Mu 2020, which includes Cherkin 2009) against usual care on the 0-100 pain scale,
# where 15 points is the commonly used minimal important difference.

# %%
import matplotlib
matplotlib.use("Agg")
from metaacu.audit import claim_figure
from metaacu.claims import evaluate_claim, load_registry
from metaacu.data import load_dataset

data = load_dataset()
registry = load_registry(dataset=data)

# %% [markdown]
# ## Claim `chronic_lbp_effective`

# %%
res = evaluate_claim("chronic_lbp_effective", registry=registry, dataset=data)
print(res.summary())

# %%
fp = claim_figure(res)
fp.figure if fp is not None else None

# %% [markdown]
# ## Claim `chronic_lbp_pain_vs_usual_care`

# %%
res = evaluate_claim("chronic_lbp_pain_vs_usual_care", registry=registry, dataset=data)
print(res.summary())

# %%
fp = claim_figure(res)
fp.figure if fp is not None else None

