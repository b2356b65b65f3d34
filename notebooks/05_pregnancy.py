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
# The pregnancy section quotes two trials and draws a conclusion from both. The first quotation
# (Guerreiro da Silva 2004, a quasi-randomised trial) holds three claims: pain relief, more capacity
# for physical activity, and less need for drugs. The second (Kvorning 2004) holds two: pain relief,
# and no serious adverse effects. The section ends by saying research suggests acupuncture may help;
# that claim pools the two trials. Each claim is decided on the trial the article quotes for it; the
# other trial appears only as support, so no result is counted twice.

# %% [markdown]
# ## How to read a verdict
#
# Each result first gets a **category**: where its 95% confidence interval lies relative to no
# effect and to the claim's clinical-relevance threshold, which the registry fixed before any number
# was computed. An interval wholly beyond the threshold is an *important effect*; one that excludes
# no effect but straddles the threshold is an effect *whose importance is uncertain*; one that
# excludes both no effect and the threshold is an effect *smaller than important*; one that includes
# no effect but stops short of the threshold *rules out an important effect*; one that reaches from
# no effect past the threshold is *inconclusive*. The **verdict** then depends on what the article
# claims: a claim that acupuncture is *effective* is supported by any of the first three, a claim of
# a *clinically relevant* effect only by the first, a claim that *few* people benefit by the third
# and fourth (`metaacu.audit.rules.CLAIM_VERDICTS` is the whole table). Every verdict is also shown
# under a second, pre-specified threshold, so a reader can see whether it hangs on that choice.
# **Certainty** (GRADE) says how far to trust the deciding estimate: it starts high for randomised
# trials and loses a level for each serious concern about risk of bias, inconsistency, indirectness,
# imprecision or publication bias; each concern is a row of `data/certainty.csv` with its reason, or
# a rule applied to the numbers. The **plain-language statement** turns certainty and size into
# words ('may' for low, 'likely' for moderate certainty). **Fidelity** compares what the article
# says a source found with what the source says.

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
    denominators,
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
# ## Claim `pregnancy_pain_guerreiro`
#
# Responders (average pain halved) over 8 weeks, counts stated in the abstract. The alternative
# threshold is a risk difference of 10 percentage points, one extra responder for every ten women
# treated.

# %%
describe("pregnancy_pain_guerreiro")
res = evaluate_claim("pregnancy_pain_guerreiro", registry=registry, dataset=data)
display(evidence(res))

# %%
show_figure(res)
explain_verdict(res)

# %%
display(certainty_table(res))
display(fidelity(res))

# %% [markdown]
# ## Claims `pregnancy_activity` and `pregnancy_drugs`
#
# The quoted trial reports only p-values for activity and for paracetamol use, so these are decided on
# the reported direction alone. For activity, the other trial's responder result is shown as support.

# %%
for cid in ("pregnancy_activity", "pregnancy_drugs"):
    describe(cid)
    r = evaluate_claim(cid, registry=registry, dataset=data)
    print(f"verdict: {r.verdict} - {r.reason}\n")
    display(fidelity(r))
display(evidence(evaluate_claim("pregnancy_activity", registry=registry, dataset=data)))

# %% [markdown]
# ## Kvorning 2004: which denominators?
#
# The abstract gives percentages only. No whole number out of the 37 women randomised to acupuncture
# rounds to the stated 60%, so fewer women were analysed. The audit lists every denominator, up to the
# randomised number, for which whole numbers round to *all* of that arm's stated percentages (60% and
# 43%), runs the claims over each, and uses the largest as the base case. The data keep only the
# printed percentages.

# %%
for row in ("kvorning2004_resp_pain_acupuncture", "kvorning2004_resp_activity_acupuncture"):
    print(row, "->", denominators(data, row))

# %% [markdown]
# ## Claim `pregnancy_pain_kvorning`
#
# Women whose pain fell over the study period, acupuncture against no acupuncture (no sham).

# %%
describe("pregnancy_pain_kvorning")
res = evaluate_claim("pregnancy_pain_kvorning", registry=registry, dataset=data)
display(evidence(res))

# %%
show_figure(res)
explain_verdict(res)

# %%
display(certainty_table(res))
display(fidelity(res))

# %% [markdown]
# ## Claim `pregnancy_no_serious_harm`
#
# No serious adverse effect was seen among the 37 women given acupuncture. A claim of "no serious
# adverse effects" is read as serious harm being at most uncommon (below 1 in 100; the alternative,
# rare, is 1 in 1,000). The rule decides on the upper limit of the exact 95% interval of the harm
# rate: a trial this small cannot exclude serious harm in one woman in ten, so the claim is
# inconclusive, not supported.

# %%
describe("pregnancy_no_serious_harm")
res = evaluate_claim("pregnancy_no_serious_harm", registry=registry, dataset=data)
display(evidence(res))

# %%
show_figure(res)
explain_verdict(res)

# %%
display(certainty_table(res))
display(fidelity(res))

# %% [markdown]
# ## Claim `pregnancy_pain_relief`
#
# The section's conclusion, on both trials: the two trials' risk ratios pooled with REML. With two
# trials the between-trial variance is barely estimable; the Knapp-Hartung scenario shows how much
# wider an honest interval can be. The quasi-randomised trial carries about half the weight, which
# the risk-of-bias rule rates very serious.

# %%
describe("pregnancy_pain_relief")
res = evaluate_claim("pregnancy_pain_relief", registry=registry, dataset=data)
display(evidence(res))

# %%
show_figure(res)
explain_verdict(res)

# %%
display(certainty_table(res))
display(fidelity(res))

# %% [markdown]
# ## What would change the verdicts
#
# For the two Kvorning-based claims the scenarios run every consistent denominator; for the pooled
# claim also each trial left out and a Knapp-Hartung interval.

# %%
what_would_change_all(("pregnancy_pain_guerreiro", "pregnancy_pain_kvorning", "pregnancy_no_serious_harm", "pregnancy_pain_relief",))

# %% [markdown]
# ## This notebook's verdicts

# %%
verdicts(("pregnancy_pain_guerreiro", "pregnancy_pain_kvorning", "pregnancy_no_serious_harm", "pregnancy_pain_relief",))
