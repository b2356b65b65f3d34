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
# # How quickly, how often, for how many?
#
# The questions and answers say that most research studies show results only after prolonged
# treatment, that few people get immediate relief after one treatment, that most people find relief,
# and (in "How many sessions?") that most trials gave acupuncture from once to six times a week. The
# article cites three trials that measured relief straight after one session: Inoue 2006 (against a
# sham), Inoue 2009 (against a local anaesthetic injection) and Shin 2013 (against a diclofenac
# injection).

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
# ## Claim `results_after_prolonged_treatment`
#
# The two Inoue trials report only p-values for pain straight after the first treatment, so the claim
# is decided on direction: both report relief after one session, which contradicts the claim, weakly
# because there is no effect size.

# %%
describe("results_after_prolonged_treatment")
res = evaluate_claim("results_after_prolonged_treatment", registry=registry, dataset=data)
print(f"verdict: {res.verdict} - {res.reason}")
display(fidelity(res))

# %% [markdown]
# ## Claim `immediate_relief_few`
#
# Decided on the cited trial that gives an effect size: Shin 2013 at 30 minutes after one session.
# It measures a difference in mean pain between groups rather than the share of people relieved,
# which the certainty rating counts as indirectness. A pooled review of immediate effects (Xiang
# 2017, not cited by the article) is shown as support.

# %%
describe("immediate_relief_few")
res = evaluate_claim("immediate_relief_few", registry=registry, dataset=data)
display(evidence(res))

# %%
show_figure(res)
explain_verdict(res)

# %%
display(certainty_table(res))
display(fidelity(res))

# %% [markdown]
# ## Claim `most_people_find_relief`
#
# The share of people treated with acupuncture who improved, in the cited trials that report it,
# pooled on the logit scale and compared with one half. The Cherkin 2009 share counts all three
# needling arms, simulated acupuncture included, and 39% of its usual-care arm improved too, so the
# figure says how many people improved, not that acupuncture caused it.

# %%
describe("most_people_find_relief")
res = evaluate_claim("most_people_find_relief", registry=registry, dataset=data)
display(evidence(res))

# %%
show_figure(res)
explain_verdict(res)

# %%
display(certainty_table(res))
display(fidelity(res))

# %% [markdown]
# ## Claim `session_frequency`
#
# The range of sessions per week in the cited trials and in the 39 trials of Vickers 2018 (Table 4),
# against the article's "once a week to up to six times per week". Single-session trials have no weekly
# frequency and are only listed.

# %%
describe("session_frequency")
res = evaluate_claim("session_frequency", registry=registry, dataset=data)
print(f"verdict: {res.verdict} - {res.reason}")
display(res.evidence[["study_id", "sessions_per_week_low", "sessions_per_week_high", "sessions_total", "description", "source"]])

# %% [markdown]
# ## Claim `weekly_minimum`
#
# What most acupuncturists recommend is not something any cited source reports.

# %%
r = evaluate_claim("weekly_minimum", registry=registry, dataset=data)
print(r.verdict, "-", r.reason)

# %% [markdown]
# ## What would change the verdicts
#
# The responder shares lean on one assumed denominator (the Cherkin needling arms' randomised
# number) and on the Kvorning denominators enumerated in `05_pregnancy`.

# %%
what_would_change_all(("immediate_relief_few", "most_people_find_relief",))

# %% [markdown]
# ## This notebook's verdicts

# %%
verdicts(("immediate_relief_few", "most_people_find_relief",))
