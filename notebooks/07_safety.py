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
# # Side effects
#
# The article lists pain or bleeding at insertion, headaches, body aches, nausea and fainting as
# mild and transient side effects, and septicaemia and hepatitis C infection as rare serious ones,
# citing a narrative review (Chung 2003). A narrative review gives no denominators, so the claim can
# only be checked for direction and fidelity. The one counted harm in the cited trials, serious
# maternal events in Kvorning 2004, is audited with the pregnancy claims (`05_pregnancy`).

# %% [markdown]
# ## How to read a verdict
#
# Claims without an effect size are decided on what the source reports: a narrative statement or a
# p-value in the claimed direction gives **weakly supported**; an exact interval of an event rate
# gives a harm verdict (supported only if its upper limit is below the acceptable rate).
# **Fidelity** compares the article's wording with the source's.

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
# ## Claim `side_effects_mild_rare`

# %%
describe("side_effects_mild_rare")
res = evaluate_claim("side_effects_mild_rare", registry=registry, dataset=data)
print(f"verdict: {res.verdict} - {res.reason}")
display(res.evidence)
display(fidelity(res))

# %% [markdown]
# The review's own sentence adds that the rare serious events can be fatal, which the article leaves
# out. With no counts, neither the rate of mild events nor that of serious ones can be estimated here;
# the harm claim that has a count shows what such an estimate looks like.

# %%
harm = evaluate_claim("pregnancy_no_serious_harm", registry=registry, dataset=data)
print(harm.absolute.text, "-", harm.verdict)
show_figure(harm)  # the event rate with its exact CI against the acceptable rate
