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
# Reproduces the audit of the article's cost paragraph, which is arithmetic we can check, and lists three
# facts from sources outside the article's reference list (an overdose death count, Medicare coverage, a
# survey finding), which the audit marks not testable. The prices, session frequencies and stated totals
# are kept in `data/claims.toml` itself.
#
# For arithmetic the chain becomes **stated figures → recomputed totals → plot → verdict**.

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
import re

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
from IPython.display import display

from metaacu.audit.claims import evaluate_claim
from metaacu.audit.walkthrough import (
    describe,
    explain_verdict,
    setup,
    show_figure,
    what_would_change,
)

data, registry, CLAIMS = setup()  # validated data/*.csv, data/claims.toml, claims by id

# %% [markdown]
# ## Claim `cost_arithmetic`
#
# ### Data
# Each line: price per session, sessions per week, the total the article states and the period it
# refers to.

# %%
describe("cost_arithmetic")
costs = pd.DataFrame(CLAIMS["cost_arithmetic"]["costs"])
display(costs)

# %% [markdown]
# ### Recomputed totals
# A month is taken as four weeks (which is how the article's totals come out) and, as a check, as the
# calendar average (a year's weeks divided by its months). We recompute both by hand and compare with the
# audit's evidence table.

# %%
weeks = np.where(costs["period"] == "month", 4.0, 1.0)
calendar = np.where(costs["period"] == "month", 52 / 12, 1.0)
mine = costs.assign(four_weeks=costs["price"] * costs["per_week"] * weeks,
                    calendar=costs["price"] * costs["per_week"] * calendar)
display(mine)
res = evaluate_claim("cost_arithmetic", registry=registry, dataset=data)
print(f"matches the audit: {np.allclose(res.evidence[['four_weeks', 'calendar']], mine[['four_weeks', 'calendar']])}")
print(f"calendar months are {100 * (52 / 48 - 1):.1f}% longer than four weeks")

# %% [markdown]
# The article gives a price *range* for community sessions; the registry checks the upper price. At the
# lower end the weekly total would be smaller:

# %%
low_price = int(re.search(r"\$(\d+)-(\d+)", CLAIMS["cost_arithmetic"]["statement"]).group(1))  # from the claim text
print(f"community 3x weekly at ${low_price}: ${low_price * 3} a week, ${low_price * 3 * 4} a four-week month")

# %% [markdown]
# ### Plot
# Stated against recomputed totals.

# %%
show_figure(res)

# %% [markdown]
# ### Verdict

# %%
explain_verdict(res)

# %% [markdown]
# ## Claims `opioid_deaths_2019`, `medicare_coverage_2020`, `back_pain_top_cam_reason`
#
# These facts are not in the literature the article cites, so no row of our data bears on them and the
# registry marks them `not_testable` without evidence rows.

# %%
external = [
    evaluate_claim("opioid_deaths_2019", registry=registry, dataset=data),
    evaluate_claim("medicare_coverage_2020", registry=registry, dataset=data),
    evaluate_claim("back_pain_top_cam_reason", registry=registry, dataset=data),
]
for r in external:
    describe(r.id)
    print(f"  evidence rows: {len(r.evidence)}; model: {r.model}")
    show_figure(r)
    explain_verdict(r)
    print()

# %% [markdown]
# ## What would change the verdict
#
# For the costs, a stated total that does not equal price times sessions (with four weeks per month)
# would make the claim inconsistent; using calendar months changes the totals but not the verdict, since
# the article's own convention is followed. The external facts would need their own sources (for
# example the agency reports behind them) added to the dataset.

# %%
for r in [evaluate_claim("cost_arithmetic", registry=registry, dataset=data), *external]:
    what_would_change(r)
