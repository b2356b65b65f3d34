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
# # Immediate relief after one treatment
#
# Reproduces the audit of the article's FAQ statement that few people feel relief right after a single
# treatment. Two of the trials it cites (Inoue 2006, Shin 2013) measured pain right after the first
# session, and a later review (Xiang 2017) pooled such immediate effects, including the cited trials.
# Numbers come from `data/pooled_results.csv` and `data/contrasts.csv`; the rule from
# `data/claims.toml`.
#
# The chain is **data → effect sizes → model → forest plot → verdict**, followed by what would change
# the verdict. Values are on the benefit scale (positive favours acupuncture).

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
from IPython.display import display

from metaacu.audit.claims import evaluate_claim
from metaacu.audit.walkthrough import (
    PROVENANCE,
    apply_rule,
    compare_with_audit,
    describe,
    explain_verdict,
    from_published_ci,
    pooled_rows,
    row_specs,
    setup,
    show_figure,
    threshold_of,
    what_would_change,
)

data, registry, CLAIMS = setup()  # validated data/*.csv, data/claims.toml, claims by id

# %% [markdown]
# ## Claim `immediate_relief_few`
#
# ### What the claim is and how the registry tests it
# This is a claim that an effect is *rare or absent*, so the registry uses the `few_effect` rule: the
# claim is contradicted if the evidence shows a clear immediate effect (the interval excludes no effect
# in favour of acupuncture), and otherwise supported. The claim speaks of the share of people relieved,
# while the evidence gives standardised mean differences, a mismatch that is flagged.

# %%
describe("immediate_relief_few")
display(row_specs("immediate_relief_few"))

# %% [markdown]
# ### Data
# The review rows (primary: against sham) and the p-values of the cited trials, which the rule does not
# use but which point the same way.

# %%
display(pooled_rows("immediate_relief_few"))
display(data.contrasts.set_index("row_id").loc[CLAIMS["immediate_relief_few"]["pvalues"],
                                                ["outcome", "instrument", "pvalue", "n_exp", "n_ctl", *PROVENANCE]])

# %% [markdown]
# ### Effect sizes
# SMDs are reported as acupuncture minus control on pain (negative = less pain), so the sign is flipped;
# SEs come from the published intervals.

# %%
mine = from_published_ci("immediate_relief_few")
display(mine)
res = evaluate_claim("immediate_relief_few", registry=registry, dataset=data)
_ = compare_with_audit(res, mine)

# %% [markdown]
# ### Model
# No model is fitted: the two comparisons (sham and injection) answer different questions and come from
# the same review; the primary row decides.

# %%
print(f"model: {res.model}")

# %% [markdown]
# ### Forest plot

# %%
show_figure(res)

# %% [markdown]
# ### Verdict
# The threshold does not decide a `few_effect` verdict; the reason only mentions whether the estimate
# reaches it, to say how large the immediate effect is.

# %%
explain_verdict(res)

# %% [markdown]
# ## What would change the verdict
#
# No sensitivity scenarios are defined. A mean difference cannot say what *share* of patients felt
# relief: a moderate average effect is compatible with many patients improving a little or a few
# improving a lot. The verdict would change if the share of responders after one session were known and
# small; we also show what the rule gives if the other published row had decided.

# %%
what_would_change(res)
_, thr = threshold_of(res)
for _, e in res.evidence[~res.evidence["primary"]].iterrows():
    print(f"  if '{e['label']}' decided: {res.show(e['estimate'])} ({res.show(e['ci_low'])} to "
          f"{res.show(e['ci_high'])}) -> {apply_rule(res.claim['rule'], e['estimate'], e['ci_low'], e['ci_high'], thr)}")
