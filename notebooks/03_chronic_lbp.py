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
# # Chronic low back pain: effective, and by how much?
#
# Two sentences of the article say that studies, "like this one" (the article's chronic low back
# pain trial, Cherkin 2009), and a meta-analysis of 33 studies (Manheimer 2005) show acupuncture is
# effective for chronic low back pain. Both are claims of *an* effect; a derived test asks the
# sharper question a clinician would, whether the effect is clinically relevant, on the Cochrane
# review that includes Cherkin 2009 (Mu 2020, CD013814).

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
    merged_vs_shared_control,
    setup,
    show_figure,
    verdicts,
    what_would_change_all,
)

data, registry, CLAIMS = setup()  # validated data/*.csv, data/claims.toml, claims by id

# %% [markdown]
# ## Claim `chronic_lbp_cherkin_vs_usual_care`
#
# The two real-acupuncture arms (merged) against usual care, on the improvement in Roland-Morris
# disability at 8 weeks. The simulated-acupuncture arm against usual care is shown too: it did as
# well, which is why the fidelity note qualifies what the trial shows. The Cochrane review's own
# rating of the pooled function outcome against usual care appears beside ours.

# %%
describe("chronic_lbp_cherkin_vs_usual_care")
res = evaluate_claim("chronic_lbp_cherkin_vs_usual_care", registry=registry, dataset=data)
display(evidence(res))

# %%
show_figure(res)
explain_verdict(res)

# %%
display(certainty_table(res))
display(fidelity(res))

# %% [markdown]
# ### Merged arms or two arms sharing one control?
#
# Cherkin 2009 had two real-acupuncture arms and one usual-care arm. The deciding row merges the two
# arms into one group before comparing it with usual care. The other way keeps each arm as its own
# comparison with usual care. The two comparisons are correlated, because both reuse the same
# usual-care patients: their covariance is the variance of the usual-care mean, s²/n (Gleser & Olkin
# 2009). They are then combined by generalised least squares with that covariance. With only two arms
# of one trial there is nothing to estimate a between-arm variance from, so the two arms are assumed
# to share one effect. If the two ways agree, the verdict does not depend on how the arms were
# combined.

# %%
merged_vs_shared_control(res)

# %% [markdown]
# ## Claim `chronic_lbp_effective`
#
# The meta-analysis of 33 trials: its primary comparison, acupuncture against sham for short-term
# chronic pain, decides; the comparison with no additional treatment is shown. The SMD is translated
# into points of a 0-10 bothersomeness scale for the Summary of findings.

# %%
describe("chronic_lbp_effective")
res = evaluate_claim("chronic_lbp_effective", registry=registry, dataset=data)
display(evidence(res))

# %%
show_figure(res)
explain_verdict(res)

# %%
display(certainty_table(res))
display(fidelity(res))

# %% [markdown]
# ## Claim `chronic_lbp_pain_vs_usual_care`
#
# A derived test of clinical relevance: the Cochrane review's pooled pain difference against usual
# care immediately after treatment, on a 0-100 scale, against 15 points (and 10 as the alternative).
# The review rated this evidence as low certainty and said the difference did not reach its own
# threshold; our rating is computed from its numbers and shown next to the published one.

# %%
describe("chronic_lbp_pain_vs_usual_care")
res = evaluate_claim("chronic_lbp_pain_vs_usual_care", registry=registry, dataset=data)
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
# Only the Cherkin contrast rests on assumptions (the correlation, the unverified SDs of two arms);
# the published summaries are used as printed.

# %%
what_would_change_all(("chronic_lbp_cherkin_vs_usual_care", "chronic_lbp_effective", "chronic_lbp_pain_vs_usual_care",))

# %% [markdown]
# ## This notebook's verdicts

# %%
verdicts(("chronic_lbp_cherkin_vs_usual_care", "chronic_lbp_effective", "chronic_lbp_pain_vs_usual_care",))
