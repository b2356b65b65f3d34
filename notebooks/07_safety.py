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
# Everything comes from the package: the validated extraction tables (`metaacu.audit.data.load_dataset()`),
# the claims registry (`metaacu.audit.claims.load_registry()`, which checks every id it names against the
# tables), the audit itself (`evaluate_claim`) and the forest plots (`metaacu.audit.figures.claim_figure`).
# The helpers imported from `metaacu.audit.walkthrough` only *display* those objects, or redo one step of the audit by hand so
# that each step can be checked; they do not change any verdict. Figures are drawn with the
# non-interactive Agg backend and shown as PNG images.

# %%
import matplotlib

matplotlib.use("Agg")
import pandas as pd
from IPython.display import display
from scipy import stats

from metaacu.audit.claims import evaluate_claim
from metaacu.audit.walkthrough import (
    PROVENANCE,
    describe,
    explain_verdict,
    setup,
    show_figure,
    what_would_change,
)

data, registry, CLAIMS = setup()  # validated data/*.csv, data/claims.toml, claims by id

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
# ## Serious harm in pregnancy
# The article's claim that acupuncture relieved pain in late pregnancy without serious adverse effects
# (Kvorning 2004) is analysed in `05_pregnancy`, with the exact interval for the serious-event rate.

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
