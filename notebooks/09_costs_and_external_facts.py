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
# # Costs, bibliographic details and external facts
#
# The article states costs, the year and size of the meta-analyses it cites, and several facts from
# sources outside its reference list: an overdose death count, Medicare's coverage decision, a
# survey finding, a government summary sentence and a guideline's view of massage and chiropractic.
# Each external fact is checked against a public source recorded in `data/facts.csv`; each
# attribution to a source against `data/fidelity.csv`.

# %% [markdown]
# ## How to read a verdict
#
# Facts are **consistent** when the article agrees with the public source, **partly consistent**
# when part of the statement does and part does not, and **inconsistent** when it does not; numbers
# are compared exactly, statements as judged (the judgement and its reason are a row of
# `data/facts.csv`). Arithmetic is recomputed. **Fidelity** records whether the source the article
# names says what the article attributes to it.

# %% [markdown]
# ## Set-up
#
# Everything comes from the package: the validated tables and the claims registry (`setup()` loads
# `data/` once and checks every id the registry names), the audit itself (`evaluate_claim`) and the
# helpers of `metaacu.audit.walkthrough`, which only *display* what the audit computed or redo one step
# by hand so that it can be checked.

# %%
from IPython.display import display

from metaacu.audit import evaluate_claim
from metaacu.audit.walkthrough import (
    certainty_table,
    describe,
    evidence,
    explain_verdict,
    fidelity,
    setup,
    show_figure,
    verdicts,
    what_would_change_all,
)

data, registry, CLAIMS = setup()  # validated data/*.csv, data/claims.toml, claims by id

# %% [markdown]
# ## Claim `cost_arithmetic`
#
# Prices, sessions per week and the stated totals are in the registry; each total is recomputed with 4
# weeks per month and, as a check, with 52/12 weeks per month.

# %%
describe("cost_arithmetic")
res = evaluate_claim("cost_arithmetic", registry=registry, dataset=data)
print(f"verdict: {res.verdict} - {res.reason}")
display(res.evidence)
show_figure(res)

# %% [markdown]
# ## Claim `back_pain_top_cam_reason`
#
# The substance is checked against national survey reports; whether the Annals of Internal Medicine
# said it is a fidelity question.

# %%
describe("back_pain_top_cam_reason")
res = evaluate_claim("back_pain_top_cam_reason", registry=registry, dataset=data)
print(f"verdict: {res.verdict}\n{res.reason}")
display(res.evidence.drop(columns=[c for c in ("claim_id", "status", "derivation", "notes") if c in res.evidence]))
display(fidelity(res))

# %% [markdown]
# ## Claim `opioid_deaths_2019`
#
# The CDC's count for 2019 against the article's number.

# %%
describe("opioid_deaths_2019")
res = evaluate_claim("opioid_deaths_2019", registry=registry, dataset=data)
print(f"verdict: {res.verdict}\n{res.reason}")
display(res.evidence.drop(columns=[c for c in ("claim_id", "status", "derivation", "notes") if c in res.evidence]))
display(fidelity(res))

# %% [markdown]
# ## Claim `medicare_approval_2020`
#
# Two parts: the date, and what was approved and why. The coverage decision memo is the source for
# both.

# %%
describe("medicare_approval_2020")
res = evaluate_claim("medicare_approval_2020", registry=registry, dataset=data)
print(f"verdict: {res.verdict}\n{res.reason}")
display(res.evidence.drop(columns=[c for c in ("claim_id", "status", "derivation", "notes") if c in res.evidence]))
display(fidelity(res))

# %% [markdown]
# ## Claim `medicare_coverage_2020`
#
# The questions-and-answers version of the same fact, limited to chronic low back pain.

# %%
describe("medicare_coverage_2020")
res = evaluate_claim("medicare_coverage_2020", registry=registry, dataset=data)
print(f"verdict: {res.verdict}\n{res.reason}")
display(res.evidence.drop(columns=[c for c in ("claim_id", "status", "derivation", "notes") if c in res.evidence]))
display(fidelity(res))

# %% [markdown]
# ## Claim `nlm_quote`
#
# The quoted sentence, found in the NIH complementary-medicine centre's summary; the fidelity row
# records the dropped caveat and the attribution.

# %%
describe("nlm_quote")
res = evaluate_claim("nlm_quote", registry=registry, dataset=data)
print(f"verdict: {res.verdict}\n{res.reason}")
display(res.evidence.drop(columns=[c for c in ("claim_id", "status", "derivation", "notes") if c in res.evidence]))
display(fidelity(res))

# %% [markdown]
# ## Claim `vickers_publication_year`
#
# The journal issue's date against the article's year.

# %%
describe("vickers_publication_year")
res = evaluate_claim("vickers_publication_year", registry=registry, dataset=data)
print(f"verdict: {res.verdict}\n{res.reason}")
display(res.evidence.drop(columns=[c for c in ("claim_id", "status", "derivation", "notes") if c in res.evidence]))
display(fidelity(res))

# %% [markdown]
# ## Claim `vickers_counts`
#
# Trials and patients of the chronic pain meta-analysis.

# %%
describe("vickers_counts")
res = evaluate_claim("vickers_counts", registry=registry, dataset=data)
print(f"verdict: {res.verdict}\n{res.reason}")
display(res.evidence.drop(columns=[c for c in ("claim_id", "status", "derivation", "notes") if c in res.evidence]))
display(fidelity(res))

# %% [markdown]
# ## Claim `manheimer_count`
#
# Trials in the low back pain meta-analysis.

# %%
describe("manheimer_count")
res = evaluate_claim("manheimer_count", registry=registry, dataset=data)
print(f"verdict: {res.verdict}\n{res.reason}")
display(res.evidence.drop(columns=[c for c in ("claim_id", "status", "derivation", "notes") if c in res.evidence]))
display(fidelity(res))

# %% [markdown]
# ## Claim `massage_chiropractic`
#
# An external claim checked against the American College of Physicians' guideline on low back pain.

# %%
describe("massage_chiropractic")
res = evaluate_claim("massage_chiropractic", registry=registry, dataset=data)
print(f"verdict: {res.verdict}\n{res.reason}")
display(res.evidence.drop(columns=[c for c in ("claim_id", "status", "derivation", "notes") if c in res.evidence]))
display(fidelity(res))

# %% [markdown]
# ## Claim `dissolved_org_quote`
#
# The article quotes an organisation without naming it, so there is nothing to check the quotation
# against.

# %%
r = evaluate_claim("dissolved_org_quote", registry=registry, dataset=data)
print(r.verdict, "-", r.reason)

# %% [markdown]
# ## This notebook's verdicts

# %%
verdicts(("cost_arithmetic", "dissolved_org_quote", "back_pain_top_cam_reason", "opioid_deaths_2019", "medicare_approval_2020", "medicare_coverage_2020", "nlm_quote", "vickers_publication_year", "vickers_counts", "manheimer_count", "massage_chiropractic"))
