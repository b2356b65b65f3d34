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
# Reproduces the audit of two safety claims. Chung 2003 is a narrative review of adverse effects: it
# describes mild, transient effects and rare serious ones, without denominators we could extract.
# Kvorning 2004 counted serious maternal adverse effects in its acupuncture arm. Numbers come from
# `data/adverse_events.csv`; rules from `data/claims.toml`.
#
# Safety claims have no comparison to pool, so the chain is shorter: **data → event rate (where a
# denominator exists) → verdict**, followed by what would change each verdict.

# %% [markdown]
# ## Set-up
#
# Everything comes from the package: the validated extraction tables (`metaacu.data.load_dataset()`),
# the claims registry (`metaacu.claims.load_registry()`, which checks every id it names against the
# tables), the audit itself (`evaluate_claim`) and the forest plots (`metaacu.audit.claim_figure`).
# The helper functions below only *display* those objects, or redo one step of the audit by hand so
# that each step can be checked; they do not change any verdict. Figures are drawn with the
# non-interactive Agg backend and shown as PNG images.

# %%

import matplotlib

matplotlib.use("Agg")
import pandas as pd
from IPython.display import display
from scipy import stats

from metaacu.claims import evaluate_claim
from metaacu.walkthrough import (
    PROVENANCE, context, describe, explain_verdict,
    show_figure, what_would_change,
)

data, registry = context()  # data/*.csv (validated cell by cell) and data/claims.toml
CLAIMS = {c["id"]: c for c in registry["claim"]}
pd.set_option("display.max_colwidth", 60)
pd.set_option("display.width", 200)
pd.set_option("display.precision", 3)

# %% [markdown]
# ## Claim `side_effects_mild_rare`
#
# ### What the claim is and how the registry tests it
# Without counts and denominators no rate can be estimated, so the registry applies the `direction_only`
# rule: the review says the same thing as the article, but the audit cannot check how rare "rare" is.

# %%
describe("side_effects_mild_rare")
display(data.adverse_events.set_index("row_id").loc[CLAIMS["side_effects_mild_rare"]["harms"],
                                                     ["event", "serious", "events", "total", "unit", *PROVENANCE]])

# %% [markdown]
# ### Effect sizes, model and plot
# None: the rows have no counts, nothing is pooled and there is nothing to draw.

# %%
res = evaluate_claim("side_effects_mild_rare", registry=registry, dataset=data)
print(f"model: {res.model}")
show_figure(res)

# %% [markdown]
# ### Verdict

# %%
explain_verdict(res)

# %% [markdown]
# ## Claim `pregnancy_no_serious_harm`
#
# ### What the claim is and how the registry tests it
# Zero serious events in a small arm do not show a zero rate. The exact (Clopper-Pearson) confidence
# interval gives the largest rate still compatible with what was seen; the "rule of three" (three divided
# by the number observed) is its quick approximation when no events occur.

# %%
describe("pregnancy_no_serious_harm")
harms = data.adverse_events.set_index("row_id").loc[CLAIMS["pregnancy_no_serious_harm"]["harms"],
                                                     ["arm_id", "event", "serious", "events", "total", "unit", *PROVENANCE]]
display(harms)

# %% [markdown]
# ### Event rate
# The lower bound is zero when no events occur; the upper bound is a beta quantile.

# %%
e, n = int(harms["events"].iloc[0]), int(harms["total"].iloc[0])
upper = 1.0 if e == n else float(stats.beta.ppf(0.975, e + 1, n - e))
lower = 0.0 if e == 0 else float(stats.beta.ppf(0.025, e, n - e + 1))
print(f"{e}/{n} serious events: exact 95% CI {100 * lower:.1f}% to {100 * upper:.1f}%; rule of three {100 * 3 / n:.1f}%")
res = evaluate_claim("pregnancy_no_serious_harm", registry=registry, dataset=data)
print(f"model: {res.model} (nothing to pool)")
show_figure(res)

# %% [markdown]
# ### Verdict
# The `no_serious_harm` rule calls the claim supported when no serious event was seen, and the reason
# states the upper bound the trial cannot exclude.

# %%
explain_verdict(res)

# %% [markdown]
# ## What would change the verdict
#
# Neither rule has sensitivity scenarios. For the narrative review, counts with denominators would allow
# a real estimate. For the trial, a single serious event would change the verdict under this rule; and
# to bring the upper bound of the exact interval below a given rate, far more observed patients with no
# events would be needed, as the table shows.

# %%
for cid in ("side_effects_mild_rare", "pregnancy_no_serious_harm"):
    what_would_change(evaluate_claim(cid, registry=registry, dataset=data))
    print()
needed = []
for rate in (0.05, 0.01, 0.001):
    m = next(m for m in range(1, 100_000) if stats.beta.ppf(0.975, 1, m) < rate)
    needed.append({"upper bound below": f"{100 * rate:g}%", "patients with zero events needed": m})
display(pd.DataFrame(needed))
