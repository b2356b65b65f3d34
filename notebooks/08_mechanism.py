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
# # How acupuncture works: adenosine, meridians and qi
#
# The introduction says acupuncture raises adenosine, which inhibits pain receptors and temporarily
# blocks pain signals, citing a microdialysis study in people (Takano 2012). The section on how
# acupuncture works explains it through energy flow along meridians.

# %% [markdown]
# ## How to read a verdict
#
# Mechanistic claims have no comparison to pool: they are decided on the direction the source
# reports (**weakly supported** when it agrees), and **fidelity** checks whether the article claims
# more than the source measured.

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
# ## Claim `adenosine_mechanism`
#
# The study measured adenosine in the tissue around the needle, in people; it did not measure pain.
# The claim is decided on the reported direction of the adenosine change, and the fidelity row records
# that the pain-blocking part comes from earlier work in mice, not from this study.

# %%
describe("adenosine_mechanism")
res = evaluate_claim("adenosine_mechanism", registry=registry, dataset=data)
print(f"verdict: {res.verdict} - {res.reason}")
display(data.mechanism[["row_id", "condition", "analyte", "timepoint", "direction", "source", "locator"]])
display(fidelity(res))

# %% [markdown]
# ## Claim `meridians_qi`
#
# A traditional explanatory concept that no cited source tests.

# %%
r = evaluate_claim("meridians_qi", registry=registry, dataset=data)
print(r.verdict, "-", r.reason)
